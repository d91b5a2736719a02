"""The append path's SQLite transaction and its row encoding (stores/sqlite_append.py, records.py)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy.dialects import sqlite

from core.clock import ensure_utc
from core.errors import StoreError
from core.events import Metadata
from stores import SqlEventStore, open_stores
from stores.records import (
    EVENT_VALUE_COLUMNS,
    dump_json,
    event_row,
    event_values,
    metadata_json,
    stored_time,
)
from stores.schema import UtcDateTime
from tests.store_contract import T0, collect, new_event

_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqlEventStore]:
    events, _ = await open_stores(str(tmp_path / "append.db"))
    assert isinstance(events, SqlEventStore)
    try:
        yield events
    finally:
        await events.close()


def sqlite_path(store: SqlEventStore) -> str:
    database = store.engine.url.database
    assert database is not None
    return database


async def test_positions_follow_rows_another_writer_committed(store: SqlEventStore) -> None:
    await store.append("a", "Thing", [new_event()], 0)
    # another process (here: plain sqlite3) writes position 10 while we are idle
    row = event_row("other", "Thing", 1, new_event())
    row["recorded_at"] = stored_time(row["recorded_at"], sqlite=True)
    with sqlite3.connect(sqlite_path(store)) as con:
        columns = ", ".join(["position", *EVENT_VALUE_COLUMNS])
        marks = ", ".join("?" for _ in range(len(EVENT_VALUE_COLUMNS) + 1))
        con.execute(
            f"INSERT INTO events ({columns}) VALUES ({marks})",
            [10, *(row[c] for c in EVENT_VALUE_COLUMNS)],
        )
    con.close()
    appended = await store.append("a", "Thing", [new_event(), new_event()], 1)
    assert [e.position for e in appended] == [11, 12]
    assert [e.position for e in await collect(store.read_all())] == [1, 10, 11, 12]


async def test_a_group_that_writes_nothing_ends_its_transaction(store: SqlEventStore) -> None:
    await store.append("a", "Thing", [new_event()], 0)
    assert await store.append("a", "Thing", [], 1) == []
    with pytest.raises(Exception, match="expected version 0"):
        await store.append("a", "Thing", [new_event()], 0)
    # the write lock was released: another connection can take it at once
    con = sqlite3.connect(sqlite_path(store), isolation_level=None, timeout=0.1)
    try:
        con.execute("BEGIN IMMEDIATE")
        con.execute("ROLLBACK")
    finally:
        con.close()


@pytest.mark.parametrize(
    "metadata",
    [
        Metadata(),
        Metadata(user_id="alice", correlation_id="c-1", causation_id="c-0"),
        Metadata(user_id='é "q" \\ \n\t\x01\x7f 💥 \u2028', correlation_id=None),
    ],
)
def test_metadata_json_is_what_dump_json_writes(metadata: Metadata) -> None:
    assert metadata_json(metadata) == _ENCODER.encode(metadata.model_dump())
    assert metadata_json(metadata) == dump_json(metadata.model_dump(), "m")


@pytest.mark.parametrize(
    "at",
    [
        T0,
        datetime(2024, 5, 1, 14, 0, 0, 5, tzinfo=timezone(timedelta(hours=2))),
        datetime(2024, 5, 1, 12, 0, 0),  # naive: taken as UTC
        datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone(timedelta(0))),  # UTC, not `UTC`
    ],
)
def test_stored_time_is_what_the_column_type_writes(at: datetime) -> None:
    assert stored_time(at, sqlite=True) == UtcDateTime().process_bind_param(at, sqlite.dialect())
    as_stored = stored_time(at, sqlite=False)
    assert as_stored == ensure_utc(at) and as_stored.tzinfo is UTC


def test_event_values_are_the_rows_columns_in_order() -> None:
    meta = Metadata(user_id="u", correlation_id="corr")
    first, second = new_event(data={"n": 1.5, "s": "ü"}, metadata=meta), new_event(metadata=meta)
    rows = event_values("s-1", "Thing", 4, [first, second], sqlite=True)
    assert [dict(zip(EVENT_VALUE_COLUMNS, row, strict=True)) for row in rows] == [
        {
            "event_id": e.event_id,
            "stream_id": "s-1",
            "stream_type": "Thing",
            "version": version,
            "type": e.type,
            "schema_version": e.schema_version,
            "data": _ENCODER.encode(e.data),
            "metadata": _ENCODER.encode(meta.model_dump()),
            "correlation_id": "corr",
            "recorded_at": "2024-05-01 12:00:00.123456",
        }
        for version, e in [(5, first), (6, second)]
    ]
    assert event_row("s-1", "Thing", 5, first)["recorded_at"] == T0


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"x": float("nan")}, "Out of range float"),
        ({"x": object()}, "not JSON serializable"),
        ({(1, 2): "tuple key"}, "keys must be"),
    ],
)
def test_data_that_is_not_json_is_a_store_error(data: dict[str, Any], problem: str) -> None:
    event = new_event().model_copy(update={"data": data})
    with pytest.raises(StoreError, match=problem) as caught:
        event_values("s", "Thing", 0, [event], sqlite=True)
    assert event.event_id in str(caught.value) and "nothing was written" in str(caught.value)


def test_cyclic_data_is_a_store_error() -> None:
    cyclic: dict[str, Any] = {}
    cyclic["self"] = cyclic
    with pytest.raises(StoreError, match="not JSON-serialisable"):
        dump_json(cyclic, "the data")


async def test_a_payload_that_is_not_json_writes_nothing(store: SqlEventStore) -> None:
    bad = new_event().model_copy(update={"data": {"x": float("inf")}})
    with pytest.raises(StoreError, match="nothing was written"):
        await store.append("s", "Thing", [new_event(), bad], 0)
    assert await store.head_position() == 0 and await store.stream_info("s") is None


async def test_a_failed_commit_writes_nothing_and_the_appends_retry_alone(
    store: SqlEventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    for sid in ("a", "b", "c"):
        await store.append(sid, "Thing", [new_event()], 0)
    execute = aiosqlite.Connection.execute
    failures = [sqlite3.OperationalError("disk I/O error")]

    async def failing_once(self: aiosqlite.Connection, sql: str, *args: Any) -> Any:
        if sql == "COMMIT" and failures:
            raise failures.pop()
        return await execute(self, sql, *args)

    monkeypatch.setattr(aiosqlite.Connection, "execute", failing_once)
    results = await asyncio.gather(
        *(store.append(sid, "Thing", [new_event()], 1) for sid in ("a", "b", "c"))
    )
    assert not failures and store.group_stats.retried_alone == 3
    assert [[e.version for e in r] for r in results] == [[2], [2], [2]]
    assert [e.position for e in await collect(store.read_all())] == [1, 2, 3, 4, 5, 6]
    assert [e.position for r in results for e in r] == [4, 5, 6]
