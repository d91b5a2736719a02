"""Read-only in the database: a store opened read-only refuses writes itself (SQLite
`mode=ro`, PostgreSQL read-only transactions), and opening one never creates or
upgrades a schema. On SQLite and, with EVENTDECK_TEST_PG_URL, PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from core.errors import ReadOnlyError, StoreError
from core.snapshots import Snapshot
from stores import ensure_schema, make_engine, open_stores
from stores.projection_store import SqlProjectionStore
from stores.schema import metadata
from stores.schema_check import read_schema_state
from stores.transactions import reading
from tests.store_contract import new_event

NOW = datetime(2025, 1, 1, tzinfo=UTC)
RAW_WRITES = [
    "INSERT INTO schema_info (key, value) VALUES ('intruder', 'x')",
    "UPDATE streams SET version = 99",
    "DELETE FROM events",
    "CREATE TABLE intruder (x INTEGER)",
]


def database(request: pytest.FixtureRequest, tmp_path: Path, name: str) -> str:
    """A SQLite file path, or this module's PostgreSQL database emptied of eventdeck tables."""
    if request.param == "sqlite":
        return str(tmp_path / name)
    pg: str = request.getfixturevalue("pg_db_url")
    asyncio.run(_drop_all(pg))
    return pg


async def _drop_all(pg: str) -> None:
    engine = make_engine(pg)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.drop_all)
        await conn.execute(text("DROP TABLE IF EXISTS intruder"))
    await engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store holding one event (stream `acc-1`), on each database."""
    store_url = database(request, tmp_path, "store.db")

    async def one_event() -> None:
        events, _ = await open_stores(store_url)
        await events.append("acc-1", "Account", [new_event()], 0)
        await events.close()

    asyncio.run(one_event())
    return store_url


async def head_of(url: str) -> int:
    events, _ = await open_stores(url)
    try:
        return await events.head_position()
    finally:
        await events.close()


@pytest.mark.parametrize("statement", RAW_WRITES)
async def test_a_raw_write_on_a_read_only_engine_fails(url: str, statement: str) -> None:
    engine = make_engine(url, read_only=True)
    try:
        with pytest.raises(DBAPIError, match="(?i)read.?only"):
            async with engine.begin() as conn:
                await conn.execute(text(statement))
    finally:
        await engine.dispose()
    assert await head_of(url) == 1
    assert (await _schema_tables(url)) == set()


async def _schema_tables(url: str) -> set[str]:
    """Tables beyond eventdeck's (none may appear)."""
    engine = make_engine(url)
    try:
        state = await read_schema_state(engine)
        async with reading(engine) as conn:
            names = await conn.run_sync(lambda sync: set(sync.dialect.get_table_names(sync)))
    finally:
        await engine.dispose()
    assert state.current
    return {name for name in names if name == "intruder"}


async def test_a_database_refusal_is_a_read_only_error(url: str) -> None:
    """A write that got past every guard still ends as one clear ReadOnlyError."""
    engine = make_engine(url, read_only=True)
    try:
        with pytest.raises(ReadOnlyError, match="--read-only"):
            async with reading(engine) as conn:
                await conn.execute(text(RAW_WRITES[0]))
    finally:
        await engine.dispose()


async def test_store_writes_are_refused_and_reads_work(url: str) -> None:
    events, snapshots = await open_stores(url, read_only=True)
    projections = SqlProjectionStore(events.engine)
    try:
        assert await events.head_position() == 1
        assert [e.stream_id for e in await events.read_stream("acc-1")] == ["acc-1"]
        snapshot = Snapshot(
            stream_id="acc-1", stream_type="Account", version=1, state={}, state_schema=1,
            taken_at=NOW,
        )  # fmt: skip
        writes = {
            "append": events.append("acc-1", "Account", [new_event()], 1),
            "snapshot": snapshots.save(snapshot),
            "checkpoints": projections.ensure_checkpoints({"p": 1}, NOW),
            "lease": projections.acquire_lease("p", 1, "me", now=NOW, expires_at=NOW),
        }
        for what, write in writes.items():
            with pytest.raises(ReadOnlyError, match="--read-only"):
                await write
            assert await events.head_position() == 1, what
        assert await snapshots.versions("acc-1") == []
        assert await projections.checkpoints() == []
    finally:
        await events.close()


async def test_read_only_never_creates_a_sqlite_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.db"
    with pytest.raises(StoreError, match="never creates"):
        await open_stores(str(missing), read_only=True)
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database without eventdeck tables (an empty SQLite file, an empty PG database)."""
    found = database(request, tmp_path, "empty.db")
    if request.param == "sqlite":
        sqlite3.connect(found).close()
    return found


async def test_read_only_never_creates_a_schema(empty_url: str) -> None:
    with pytest.raises(StoreError, match="not an eventdeck store") as refused:
        await open_stores(empty_url, read_only=True)
    assert "Traceback" not in str(refused.value) and "\n" not in str(refused.value)
    engine = make_engine(empty_url)
    try:
        state = await read_schema_state(engine)
    finally:
        await engine.dispose()
    assert state.stored is None and "events" in state.missing_tables


async def test_read_only_never_upgrades_an_older_schema(url: str) -> None:
    engine = make_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE schema_info SET value = '1' WHERE key = 'schema_version'"))
        await conn.execute(text("DROP TABLE parked_events"))
    await engine.dispose()
    with pytest.raises(StoreError, match="older eventdeck.*without --read-only"):
        await open_stores(url, read_only=True)
    engine = make_engine(url)
    try:
        state = await read_schema_state(engine)
        assert (state.stored, state.missing_tables) == (1, ("parked_events",))
        await ensure_schema(engine)  # a writable open upgrades it, as the message says
        assert (await read_schema_state(engine)).current
    finally:
        await engine.dispose()
    events, _ = await open_stores(url, read_only=True)
    await events.close()


async def test_sqlite_read_only_follows_a_writer_live(tmp_path: Path) -> None:
    """WAL: the console (read-only) and a writer on one file at once. The reader
    uses the writer's -wal/-shm files, sees each commit, and never blocks it."""
    path = tmp_path / "live.db"
    writer, _ = await open_stores(str(path))
    await writer.append("s", "Thing", [new_event()], 0)
    reader, _ = await open_stores(str(path), read_only=True)
    try:
        for version in range(1, 6):
            await writer.append("s", "Thing", [new_event()], version)
            assert await reader.head_position() == version + 1
        async with reading(reader.engine) as conn:  # a reader holding a snapshot open
            assert (await conn.execute(text("SELECT count(*) FROM events"))).scalar() == 6
            await writer.append("s", "Thing", [new_event()], 6)  # the writer is not blocked
        assert await reader.head_position() == 7
    finally:
        await writer.close()
    try:
        assert await reader.head_position() == 7  # after the writer has gone
    finally:
        await reader.close()
    # a later read-only open of the closed store (no writer) works and writes nothing
    size = os.path.getsize(path)
    reader, _ = await open_stores(str(path), read_only=True)
    try:
        assert await reader.head_position() == 7
    finally:
        await reader.close()
    assert os.path.getsize(path) == size


async def test_sqlite_read_only_path_with_uri_characters(tmp_path: Path) -> None:
    """The file name goes into a `file:` URI: `?`, `#` and `%` must not cut it short."""
    folder = tmp_path / "odd ?#% name"
    folder.mkdir()
    path = folder / "store 100%.db"
    writer, _ = await open_stores(str(path))
    await writer.append("s", "Thing", [new_event()], 0)
    await writer.close()
    reader, _ = await open_stores(str(path), read_only=True)
    try:
        assert await reader.head_position() == 1
    finally:
        await reader.close()
    assert sorted(p.name for p in folder.iterdir() if p.suffix == ".db") == ["store 100%.db"]
