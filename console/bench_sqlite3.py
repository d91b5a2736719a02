"""Plain `sqlite3` baselines: what the file itself can do with eventdeck's rows.

Fair by construction: the baseline file has eventdeck's own `events` and
`streams` tables, created from `stores.schema` compiled for SQLite (same
columns, types, constraints and indexes), runs in WAL mode with
`synchronous=FULL` like eventdeck's engine, and holds exactly the rows
eventdeck writes for a one-event deposit command: each row is built by the
store's own `stores.records.event_row` from an encoded `MoneyDeposited`
(event id, stream id and type, version, type, schema version, data and metadata
JSON, correlation id, `recorded_at` as the schema stores it). Rows are built
before the clock starts: the baselines time the database, not the encoding.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Table
from sqlalchemy.dialects import sqlite
from sqlalchemy.schema import CreateIndex, CreateTable

from core.clock import SystemClock
from core.domain import build_registry
from core.domain.account import AccountOpened, MoneyDeposited
from core.events import DomainEvent, Metadata
from stores.records import event_row
from stores.schema import UtcDateTime
from stores.schema import events as event_table
from stores.schema import streams as stream_table

#: Every column an append writes (the position is SQLite's rowid, given by the database).
WRITTEN_COLUMNS = tuple(c.name for c in event_table.columns if c.name != "position")
#: The columns `read_all` selects, in the store's order (stores/records.py EVENT_COLUMNS).
READ_COLUMNS = (
    "position",
    "event_id",
    "stream_id",
    "stream_type",
    "version",
    "type",
    "schema_version",
    "data",
    "metadata",
    "recorded_at",
)
INSERT_EVENT = (
    f"INSERT INTO events ({', '.join(WRITTEN_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in WRITTEN_COLUMNS)})"
)
#: The optimistic check of eventdeck's append (stores/event_store.py `_advance_stream`).
ADVANCE_STREAM = (
    "UPDATE streams SET version = ?, updated_at = ? "
    "WHERE stream_id = ? AND version = ? AND stream_type = ?"
)
INSERT_STREAM = (
    "INSERT INTO streams (stream_id, stream_type, version, created_at, updated_at) "
    "VALUES (?, ?, ?, ?, ?)"
)
SELECT_ALL = f"SELECT {', '.join(READ_COLUMNS)} FROM events ORDER BY position"

_DIALECT = sqlite.dialect()
_TIME = UtcDateTime()
_REGISTRY = build_registry()

Row = tuple[object, ...]


def eventdeck_ddl(*tables: Table) -> list[str]:
    """CREATE TABLE and CREATE INDEX statements of eventdeck's tables, compiled for SQLite."""
    statements = []
    for table in tables or (event_table, stream_table):
        statements.append(str(CreateTable(table).compile(dialect=_DIALECT)).strip())
        for index in sorted(table.indexes, key=lambda ix: str(ix.name)):
            statements.append(str(CreateIndex(index).compile(dialect=_DIALECT)).strip())
    return statements


def connect(path: Path) -> sqlite3.Connection:
    """A connection with eventdeck's settings: WAL, synchronous=FULL, explicit transactions."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=10.0)
    conn.execute("PRAGMA busy_timeout = 10000")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    return conn


def create_schema(conn: sqlite3.Connection) -> None:
    for statement in eventdeck_ddl():
        conn.execute(statement)


def stored_time(at: datetime) -> str:
    """`recorded_at` as the schema writes it on SQLite."""
    return str(_TIME.process_bind_param(at, _DIALECT))


def event_rows(stream_id: str, first_version: int, count: int) -> list[Row]:
    """`count` rows of the account `stream_id` from `first_version`, as eventdeck appends them.

    Version 1 is the account's opening; every other row is a 1.00 deposit. Each
    row has its own correlation id, as if each came from its own command.
    """
    clock = SystemClock()
    rows: list[Row] = []
    for version in range(first_version, first_version + count):
        domain: DomainEvent = (
            AccountOpened(owner="bench") if version == 1 else MoneyDeposited(amount=Decimal("1.00"))
        )
        command_id = str(uuid.uuid4())
        encoded = _REGISTRY.encode(
            domain,
            event_id=str(uuid.uuid4()),
            recorded_at=clock.now(),
            metadata=Metadata(user_id="bench", correlation_id=command_id, causation_id=command_id),
        )
        row = event_row(stream_id, "Account", version, encoded)
        row["recorded_at"] = stored_time(row["recorded_at"])
        rows.append(tuple(row[column] for column in WRITTEN_COLUMNS))
    return rows


def _column(row: Row, name: str) -> object:
    return row[WRITTEN_COLUMNS.index(name)]


def open_streams(conn: sqlite3.Connection, stream_ids: list[str]) -> None:
    """Each stream with its opening event and its `streams` row, in one transaction."""
    conn.execute("BEGIN IMMEDIATE")
    for stream_id in stream_ids:
        (row,) = event_rows(stream_id, 1, 1)
        at = _column(row, "recorded_at")
        conn.execute(INSERT_STREAM, (stream_id, "Account", 1, at, at))
        conn.execute(INSERT_EVENT, row)
    conn.execute("COMMIT")


def commit_per_event(conn: sqlite3.Connection, commits: int, senders: int) -> float:
    """`sqlite3_commit_per_event` (events/s): what one append of one event costs the file.

    `senders` accounts are opened first (not timed). Then, `commits` times, one
    deposit on the next account in turn, in its own transaction, doing the
    statements of eventdeck's append: `BEGIN IMMEDIATE`, the `streams` row moved
    from the expected version to the next (`UPDATE ... WHERE version = ?`, checked
    to hit one row), the `events` INSERT, `COMMIT`. One thread, no reads.
    """
    stream_ids = [f"acc-sqlite3-{i}" for i in range(senders)]
    open_streams(conn, stream_ids)
    per_stream = -(-commits // senders)
    planned = {s: iter(event_rows(s, 2, per_stream)) for s in stream_ids}
    order = _round_robin(stream_ids, commits)
    versions = dict.fromkeys(stream_ids, 1)
    work = []
    for stream_id in order:
        row = next(planned[stream_id])
        at = _column(row, "recorded_at")
        version = versions[stream_id]
        work.append(((version + 1, at, stream_id, version, "Account"), row))
        versions[stream_id] = version + 1
    start = time.perf_counter()
    for advance, row in work:
        conn.execute("BEGIN IMMEDIATE")
        if conn.execute(ADVANCE_STREAM, advance).rowcount != 1:
            conn.execute("ROLLBACK")
            raise RuntimeError(f"stream {advance[2]} was not at version {advance[3]}")
        conn.execute(INSERT_EVENT, row)
        conn.execute("COMMIT")
    return commits / (time.perf_counter() - start)


def _round_robin(stream_ids: list[str], count: int) -> Iterator[str]:
    return (stream_ids[i % len(stream_ids)] for i in range(count))


def executemany(conn: sqlite3.Connection, events: int) -> float:
    """`sqlite3_executemany` (events/s): a new `events`-event account written in one go.

    One transaction: `BEGIN IMMEDIATE`, the stream's `streams` row inserted, one
    `executemany` of the `events` INSERT with every row, `COMMIT`.
    """
    stream_id = "acc-sqlite3-batch"
    rows = event_rows(stream_id, 1, events)
    first_at, last_at = _column(rows[0], "recorded_at"), _column(rows[-1], "recorded_at")
    start = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    conn.execute(INSERT_STREAM, (stream_id, "Account", events, first_at, last_at))
    conn.executemany(INSERT_EVENT, rows)
    conn.execute("COMMIT")
    return events / (time.perf_counter() - start)


def select_decoded(conn: sqlite3.Connection) -> tuple[float, int]:
    """`sqlite3_select` (events/s): every row in position order, its JSON decoded.

    One `SELECT` of the columns eventdeck reads (`ORDER BY position`), iterated
    with the cursor; `json.loads` of each row's `data` and `metadata`. No objects
    are built from the rows: this is the file's and the JSON parser's limit.
    """
    start = time.perf_counter()
    count = 0
    for row in conn.execute(SELECT_ALL):
        json.loads(row[7])
        json.loads(row[8])
        count += 1
    return count / (time.perf_counter() - start), count


def sqlite3_baselines(folder: Path, *, commits: int, senders: int, events: int) -> dict[str, float]:
    """The three plain-sqlite3 baselines on one fresh file in `folder`."""
    conn = connect(folder / "sqlite3-baseline.db")
    try:
        create_schema(conn)
        per_event = commit_per_event(conn, commits, senders)
        many = executemany(conn, events)
        selected, _ = select_decoded(conn)
    finally:
        conn.close()
    return {
        "sqlite3_commit_per_event": per_event,
        "sqlite3_executemany": many,
        "sqlite3_select": selected,
    }
