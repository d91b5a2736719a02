"""Stores for the bench, built fast: demo history, copies of its orders, bulk deposits.

The demo history is real: `seed_demo` runs the demo domain's commands (legacy
OrderPlaced v1/v2 rows and poison streams included) against the in-memory store,
which takes a second where the SQL store would take minutes of one-transaction
commands. Its events are then written to the bench store in position order.

Writing: on SQLite, rows go straight into eventdeck's `events` and `streams`
tables with plain sqlite3 `executemany` (each row built by the store's own
`event_row`, or, for the million synthetic deposits, in exactly its format), in
large transactions. Elsewhere (PostgreSQL) they go through `store.append`, one
call per run of consecutive events of one stream. Either way the store is then
what eventdeck itself would have written; only how fast it got there differs.
"""

from __future__ import annotations

import json
import random
import sqlite3
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from core.clock import SystemClock
from core.domain.account import Account, AccountOpened, MoneyDeposited
from core.domain.demo_data import SeedSummary, seed_demo
from core.domain.order import Order
from core.events import Metadata, NewEvent, RecordedEvent
from core.memory_store import InMemoryEventStore
from stores.engine import normalise_url
from stores.records import dump_json, event_row

from .bench_sqlite3 import INSERT_EVENT, INSERT_STREAM, WRITTEN_COLUMNS, Row, stored_time
from .bootstrap import open_system

#: Rows per transaction when writing straight to SQLite.
CHUNK = 20_000
#: Events per stream (and per append) of the synthetic deposit accounts.
DEPOSITS_PER_STREAM = 1_000
DEPOSIT_AMOUNTS = ("1.00", "12.50", "25.00", "49.99", "100.00", "7.25")


@dataclass(frozen=True)
class Pending:
    """An event on its way into the bench store, at its stream's version."""

    stream_id: str
    stream_type: str
    version: int
    event: NewEvent

    def row(self) -> Row:
        """The `events` row eventdeck writes for it (columns in WRITTEN_COLUMNS order)."""
        row = event_row(self.stream_id, self.stream_type, self.version, self.event)
        row["recorded_at"] = stored_time(row["recorded_at"])
        return tuple(row[column] for column in WRITTEN_COLUMNS)


def new_event(record: RecordedEvent, event_id: str | None = None) -> NewEvent:
    return NewEvent(
        event_id=event_id or record.event_id,
        type=record.type,
        schema_version=record.schema_version,
        data=record.data,
        metadata=record.metadata,
        recorded_at=record.recorded_at,
    )


async def demo_history(
    orders: int, accounts: int, seed: int, end: datetime
) -> tuple[list[RecordedEvent], SeedSummary]:
    """The demo seed's events in position order (run on the in-memory store)."""
    memory = InMemoryEventStore()
    summary = await seed_demo(
        memory, None, orders=orders, accounts=accounts, days=30, seed=seed, end=end
    )
    return [record async for record in memory.read_all(page_size=10_000)], summary


def as_pending(history: Iterable[RecordedEvent]) -> Iterator[Pending]:
    for record in history:
        yield Pending(record.stream_id, record.stream_type, record.version, new_event(record))


def order_copies(
    history: list[RecordedEvent], copies: int, skip_streams: Iterable[str]
) -> Iterator[Pending]:
    """`copies` copies of every Order stream of `history` (but `skip_streams`), in order.

    Copy k of stream `ord-x` is `ord-x-k`, with new event ids and the same
    payloads, metadata and times: order payloads do not name their order, so each
    copy is an order of its own to the projections (legacy payloads included).
    """
    skipped = set(skip_streams)
    orders = [
        r for r in history if r.stream_type == Order.stream_type and r.stream_id not in skipped
    ]
    for copy in range(1, copies + 1):
        for record in orders:
            event = new_event(record, event_id=str(uuid.uuid4()))
            yield Pending(f"{record.stream_id}-{copy}", record.stream_type, record.version, event)


def deposit_rows(events: int, start: datetime, end: datetime, seed: int) -> Iterator[Row]:
    """`events` rows of accounts of DEPOSITS_PER_STREAM events, times from start to end.

    Each account is opened (AccountOpened) and then takes deposits
    (MoneyDeposited). Row for row what `store.append` writes for those encoded
    events with a command's metadata (user, correlation and causation ids), built
    directly because a million pydantic envelopes would take minutes. Event and
    correlation ids are UUID-shaped, from a seeded source.
    """
    rng = random.Random(f"eventdeck-bench-deposits:{seed}")  # not the demo seed's ids
    step = (end - start) / max(events, 1)
    # The schema's SQLite time format (stores.schema.UtcDateTime), without its per-call checks.
    naive_start = start.astimezone(UTC).replace(tzinfo=None)
    deposit = (MoneyDeposited.type_name, MoneyDeposited.schema_version)
    opened = (AccountOpened.type_name, AccountOpened.schema_version)
    payloads = [dump_json({"amount": amount}, "deposit") for amount in DEPOSIT_AMOUNTS]
    index = {name: i for i, name in enumerate(WRITTEN_COLUMNS)}
    for n in range(events):
        stream, version = divmod(n, DEPOSITS_PER_STREAM)
        command = _uuid4(rng)
        row: list[object] = [None] * len(WRITTEN_COLUMNS)
        row[index["event_id"]] = _uuid4(rng)
        row[index["stream_id"]] = f"acc-bulk-{stream:06d}"
        row[index["stream_type"]] = Account.stream_type
        row[index["version"]] = version + 1
        if version == 0:
            row[index["type"]], row[index["schema_version"]] = opened
            row[index["data"]] = dump_json({"owner": f"Bulk owner {stream}"}, "opening")
        else:
            row[index["type"]], row[index["schema_version"]] = deposit
            row[index["data"]] = payloads[n % len(payloads)]
        # dump_json's output for {"user_id", "correlation_id", "causation_id"} (test-checked)
        row[index["metadata"]] = (
            f'{{"user_id":"bench","correlation_id":"{command}","causation_id":"{command}"}}'
        )
        row[index["correlation_id"]] = command
        row[index["recorded_at"]] = (naive_start + step * n).isoformat(" ", "microseconds")
        yield tuple(row)


def _uuid4(rng: random.Random) -> str:
    """A random (version 4) UUID's text, as `str(uuid.uuid4())` gives, from `rng`."""
    bits = rng.getrandbits(128) & ~(0xF000 << 64 | 0xC << 60) | (0x4000 << 64 | 0x8 << 60)
    h = f"{bits:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def deposit_pending(rows: Iterable[Row]) -> Iterator[Pending]:
    """The rows of `deposit_rows` as envelopes (for stores written through `append`)."""
    index = {name: i for i, name in enumerate(WRITTEN_COLUMNS)}
    for row in rows:
        at = datetime.fromisoformat(str(row[index["recorded_at"]])).replace(tzinfo=UTC)
        event = NewEvent(
            event_id=str(row[index["event_id"]]),
            type=str(row[index["type"]]),
            schema_version=int(str(row[index["schema_version"]])),
            data=json.loads(str(row[index["data"]])),
            metadata=Metadata.model_validate_json(str(row[index["metadata"]])),
            recorded_at=at,
        )
        stream_id, version = str(row[index["stream_id"]]), int(str(row[index["version"]]))
        yield Pending(stream_id, Account.stream_type, version, event)


def sqlite_path(url: str) -> str | None:
    """The file of a SQLite URL, None for any other database."""
    parsed = normalise_url(url)
    return parsed.database if parsed.drivername.startswith("sqlite") else None


class SqliteBulkWriter:
    """Rows straight into a SQLite store's `events` and `streams` tables.

    The streams must be new to the store, and each stream's rows must come in
    version order (the `streams` rows are written at `close`).
    """

    def __init__(self, path: str) -> None:
        self._conn = sqlite3.connect(path, isolation_level=None, timeout=30.0)
        self._conn.execute("PRAGMA synchronous = FULL")
        # Random event and correlation ids land all over their indexes: keep them in memory.
        self._conn.execute("PRAGMA cache_size = -262144")  # KiB: 256 MB
        self._streams: dict[str, list[object]] = {}
        self._chunk: list[Row] = []
        self._stream = WRITTEN_COLUMNS.index("stream_id")
        self._type = WRITTEN_COLUMNS.index("stream_type")
        self._version = WRITTEN_COLUMNS.index("version")
        self._at = WRITTEN_COLUMNS.index("recorded_at")
        self.written = 0

    def add(self, row: Row) -> None:
        stream_id, at = str(row[self._stream]), row[self._at]
        known = self._streams.get(stream_id)
        if known is None:
            self._streams[stream_id] = [stream_id, row[self._type], row[self._version], at, at]
        else:
            known[2], known[4] = row[self._version], at
        self._chunk.append(row)
        if len(self._chunk) >= CHUNK:
            self._flush()

    def _flush(self) -> None:
        if not self._chunk:
            return
        self._conn.execute("BEGIN IMMEDIATE")
        self._conn.executemany(INSERT_EVENT, self._chunk)
        self._conn.execute("COMMIT")
        self.written += len(self._chunk)
        self._chunk = []

    def close(self) -> None:
        self._flush()
        self._conn.execute("BEGIN IMMEDIATE")
        self._conn.executemany(INSERT_STREAM, self._streams.values())
        self._conn.execute("COMMIT")
        self._conn.close()


async def write_events(url: str, pending: Iterable[Pending], rows: Iterable[Row] = ()) -> int:
    """Write `pending` events, then the raw `rows`, to the (schema-ready) store at `url`."""
    path = sqlite_path(url)
    if path is not None:
        writer = SqliteBulkWriter(path)
        try:
            for item in pending:
                writer.add(item.row())
            for row in rows:
                writer.add(row)
        finally:
            writer.close()
        return writer.written
    return await append_runs(url, [*pending, *deposit_pending(rows)])


async def append_runs(url: str, pending: list[Pending]) -> int:
    """Through `store.append`: one call per run of consecutive events of one stream."""
    system = await open_system(url)
    written = 0
    try:
        run: list[Pending] = []
        for item in [*pending, None]:
            if run and (item is None or item.stream_id != run[0].stream_id or len(run) >= 1000):
                first = run[0]
                events = [p.event for p in run]
                await system.store.append(
                    first.stream_id, first.stream_type, events, first.version - 1
                )
                written += len(run)
                run = []
            if item is not None:
                run.append(item)
    finally:
        await system.close()
    return written


def history_end(before_now: timedelta = timedelta(0)) -> datetime:
    """Where a demo history ends: `before_now` ago, to the second."""
    return (SystemClock().now() - before_now).replace(microsecond=0)
