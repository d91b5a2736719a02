"""`eventdeck bench`: figures measured beside plain-sqlite3 baselines in the same run.

Each figure runs on a fresh temporary store. Baselines use the same durability
(WAL, synchronous=FULL). The eventsourcing-library baselines and the console
figures come with the performance issue.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from core.clock import FixedClock, SystemClock
from core.domain import build_registry
from core.domain.account import Account, AccountOpened, MoneyDeposited
from core.domain.commands import Deposit, OpenAccount
from core.errors import InvalidInput
from core.events import DomainEvent, Metadata, NewEvent

from .bootstrap import System, open_system


@dataclass
class Figure:
    """One measured value and its baselines from the same run."""

    value: float
    unit: str
    baselines: dict[str, float] = field(default_factory=dict)


@dataclass
class Sizes:
    senders: int = 32
    commands_per_sender: int = 20
    long_stream: int = 10_000
    baseline_commits: int = 1_000
    repeats: int = 5

    @classmethod
    def quick(cls) -> Sizes:
        return cls(commands_per_sender=8, baseline_commits=300, repeats=3)


async def timed(action: Callable[[], Awaitable[Any]], repeats: int) -> float:
    """The median wall time of `action` in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        await action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


async def commands_32_senders(url: str, sizes: Sizes) -> float:
    """One-event commands per second from concurrent senders through the bus."""
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
    return sizes.senders * sizes.commands_per_sender / elapsed


def deposit_events(count: int, first_version: int) -> list[NewEvent]:
    """`count` encoded deposits (and the opening first) for a long account stream."""
    registry = build_registry()
    clock = SystemClock()
    events: list[DomainEvent] = []
    if first_version == 1:
        events.append(AccountOpened(owner="bench"))
        count -= 1
    events.extend(MoneyDeposited(amount=Decimal("1.00")) for _ in range(count))
    meta = Metadata(user_id="bench")
    return [
        registry.encode(
            e, event_id=f"bench-{first_version + i}", recorded_at=clock.now(), metadata=meta
        )
        for i, e in enumerate(events)
    ]


async def write_long_stream(system: System, stream_id: str, length: int) -> None:
    version = 0
    while version < length:
        batch = deposit_events(min(1000, length - version), version + 1)
        await system.store.append(stream_id, "Account", batch, version)
        version += len(batch)


async def load_figures(url: str, sizes: Sizes) -> dict[str, Figure]:
    """Load a long aggregate with and without a snapshot; read and decode every event."""
    system = await open_system(url, clock=FixedClock(SystemClock().now()))
    try:
        stream = "acc-long"
        start = time.perf_counter()
        await write_long_stream(system, stream, sizes.long_stream)
        append_rate = sizes.long_stream / (time.perf_counter() - start)
        repo = system.repository
        snapshots, repo.snapshots = repo.snapshots, None
        no_snapshot = await timed(lambda: repo.load(Account, stream), sizes.repeats)
        repo.snapshots = snapshots
        await repo.take_snapshot(await repo.load(Account, stream, version=sizes.long_stream - 100))
        with_snapshot = await timed(lambda: repo.load(Account, stream), sizes.repeats)

        counted = 0

        async def read_all() -> None:
            nonlocal counted
            counted = 0
            async for record in system.store.read_all(page_size=5000):
                system.registry.decode(record)
                counted += 1

        read_seconds = await timed(read_all, sizes.repeats)
    finally:
        await system.close()
    events_per_s = counted / read_seconds
    return {
        "batched_append": Figure(append_rate, "events/s"),
        "load_10k_no_snapshot": Figure(no_snapshot * 1000, "ms"),
        "load_10k_snapshot_tail_100": Figure(with_snapshot * 1000, "ms"),
        "read_all_decoded": Figure(events_per_s, "events/s"),
    }


def sqlite3_baselines(folder: Path, sizes: Sizes) -> dict[str, float]:
    """Plain sqlite3 with the same durability: the physical limit of the file."""
    conn = sqlite3.connect(folder / "baseline.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute(
        "CREATE TABLE events (position INTEGER PRIMARY KEY, stream_id TEXT, "
        "version INTEGER, type TEXT, data TEXT, UNIQUE (stream_id, version))"
    )
    payload = json.dumps({"amount": "1.00"})
    start = time.perf_counter()
    for i in range(sizes.baseline_commits):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "INSERT INTO events (stream_id, version, type, data) VALUES (?, ?, ?, ?)",
            ("s", i + 1, "MoneyDeposited", payload),
        )
        conn.execute("COMMIT")
    commit_rate = sizes.baseline_commits / (time.perf_counter() - start)
    rows = [("t", i + 1, "MoneyDeposited", payload) for i in range(sizes.long_stream)]
    start = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(
        "INSERT INTO events (stream_id, version, type, data) VALUES (?, ?, ?, ?)", rows
    )
    conn.execute("COMMIT")
    executemany_rate = len(rows) / (time.perf_counter() - start)
    start = time.perf_counter()
    count = 0
    for row in conn.execute(
        "SELECT position, stream_id, version, type, data FROM events "
        "WHERE stream_id = 't' ORDER BY position"
    ):
        json.loads(row[4])
        count += 1
    select_rate = count / (time.perf_counter() - start)
    conn.close()
    return {
        "sqlite3_commit_per_event": commit_rate,
        "sqlite3_executemany": executemany_rate,
        "sqlite3_select": select_rate,
    }


async def require_empty(url: str) -> None:
    """Benchmarks write test data: refuse a store that holds anything."""
    system = await open_system(url)
    try:
        head = await system.store.head_position()
    finally:
        await system.close()
    if head:
        raise InvalidInput(
            f"bench writes test data and needs an empty store, but this one holds {head} "
            "events; give --db an empty database (or leave it out for a temporary SQLite file)"
        )


async def run_bench(db: str | None, quick: bool) -> dict[str, Figure]:
    """Every figure, each on a fresh store (a temporary SQLite file unless `db` is given)."""
    sizes = Sizes.quick() if quick else Sizes()
    if db is not None:
        await require_empty(db)
    with tempfile.TemporaryDirectory(prefix="eventdeck-bench-") as tmp:
        folder = Path(tmp)
        base = sqlite3_baselines(folder, sizes)
        commands = await commands_32_senders(db or str(folder / "commands.db"), sizes)
        figures = {
            "commands_32_senders": Figure(
                commands, "events/s", {"sqlite3_commit_per_event": base["sqlite3_commit_per_event"]}
            )
        }
        figures.update(await load_figures(db or str(folder / "load.db"), sizes))
        figures["read_all_decoded"].baselines["sqlite3_select"] = base["sqlite3_select"]
        figures["batched_append"].baselines["sqlite3_executemany"] = base["sqlite3_executemany"]
    return figures
