"""eventdeck's own figures on its event store: commands, batched append, loads, read all."""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from decimal import Decimal

from core.clock import FixedClock, SystemClock
from core.domain.account import Account, AccountOpened, MoneyDeposited
from core.domain.commands import Deposit, OpenAccount
from core.events import DomainEvent, Metadata, NewEvent

from .bench import Figure, Sizes, timed
from .bootstrap import System, open_system

#: Events per append call when writing a long stream: the whole stream in one
#: append (one transaction), as both baselines write it (sqlite3's one
#: executemany, the eventsourcing library's one save).
APPEND_BATCH = 10_000
#: The snapshot for load_10k_snapshot_tail_100 is this many events behind the head.
SNAPSHOT_TAIL = 100
#: Page size of read_all (the same as the eventsourcing baseline's).
READ_PAGE = 5000


async def commands_figure(url: str, sizes: Sizes) -> Figure:
    """`commands_32_senders` (events/s): one-event commands from concurrent senders.

    `senders` accounts are opened (not timed); then every sender at once sends
    `commands_per_sender` Deposit commands to its own account, one after the other,
    through the command bus (load, decide, append with the expected version).
    """
    system = await open_system(url)
    try:
        accounts = [f"acc-bench-{i}" for i in range(sizes.senders)]
        for account in accounts:
            await system.bus.dispatch(OpenAccount(owner="bench", account_id=account), user_id="b")

        async def sender(account: str) -> None:
            for _ in range(sizes.commands_per_sender):
                await system.bus.dispatch(
                    Deposit(account_id=account, amount=Decimal("1.00")), user_id="b"
                )

        start = time.perf_counter()
        await asyncio.gather(*(sender(a) for a in accounts))
        elapsed = time.perf_counter() - start
    finally:
        await system.close()
    return Figure(sizes.senders * sizes.commands_per_sender / elapsed, "events/s")


def deposit_events(system: System, count: int, first_version: int) -> list[NewEvent]:
    """`count` encoded deposits (an opening first, at version 1) for a long account stream."""
    clock = SystemClock()
    events: list[DomainEvent] = []
    if first_version == 1:
        events.append(AccountOpened(owner="bench"))
        count -= 1
    events.extend(MoneyDeposited(amount=Decimal("1.00")) for _ in range(count))
    meta = Metadata(user_id="bench")
    return [
        system.registry.encode(
            e, event_id=str(uuid.uuid4()), recorded_at=clock.now(), metadata=meta
        )
        for e in events
    ]


async def append_long_stream(system: System, stream_id: str, length: int) -> float:
    """Write `stream_id` in appends of APPEND_BATCH events; the seconds the appends took.

    The events are encoded before the clock starts, as the sqlite3 and eventsourcing
    baselines build theirs first: this times the store.
    """
    batches = []
    version = 0
    while version < length:
        batch = deposit_events(system, min(APPEND_BATCH, length - version), version + 1)
        batches.append((version, batch))
        version += len(batch)
    start = time.perf_counter()
    for expected, batch in batches:
        await system.store.append(stream_id, "Account", batch, expected)
    return time.perf_counter() - start


async def long_stream_figures(url: str, sizes: Sizes) -> dict[str, Figure]:
    """`batched_append`, `load_10k_no_snapshot`, `load_10k_snapshot_tail_100`, `read_all_decoded`.

    - batched_append (events/s): `batches` new accounts of `long_stream` events,
      each written in one append (one transaction, like the baselines); the median.
    - load_10k_no_snapshot (ms): the repository loads the first of them with its
      snapshot store switched off (every event replayed); the median of `repeats`.
    - load_10k_snapshot_tail_100 (ms): after a snapshot at `long_stream - 100`,
      the same load (the snapshot, then the last 100 events).
    - read_all_decoded (events/s): `read_all` over the whole store in pages of
      5,000, every record decoded to its domain event by the registry.
    """
    system = await open_system(url, clock=FixedClock(SystemClock().now()))
    try:
        rates = []
        for n in range(sizes.batches):
            seconds = await append_long_stream(system, f"acc-long-{n}", sizes.long_stream)
            rates.append(sizes.long_stream / seconds)
        stream = "acc-long-0"
        repo = system.repository
        snapshots, repo.snapshots = repo.snapshots, None
        no_snapshot = await timed(lambda: repo.load(Account, stream), sizes.repeats)
        repo.snapshots = snapshots
        tail_version = sizes.long_stream - SNAPSHOT_TAIL
        await repo.take_snapshot(await repo.load(Account, stream, version=tail_version))
        with_snapshot = await timed(lambda: repo.load(Account, stream), sizes.repeats)

        counted = 0

        async def read_all() -> None:
            nonlocal counted
            counted = 0
            async for record in system.store.read_all(page_size=READ_PAGE):
                system.registry.decode(record)
                counted += 1

        read_seconds = await timed(read_all, sizes.repeats)
    finally:
        await system.close()
    return {
        "batched_append": Figure(statistics.median(rates), "events/s"),
        "load_10k_no_snapshot": Figure(no_snapshot * 1000, "ms"),
        "load_10k_snapshot_tail_100": Figure(with_snapshot * 1000, "ms"),
        "read_all_decoded": Figure(counted / read_seconds, "events/s"),
    }
