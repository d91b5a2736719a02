"""The store contract on a SQLite file, plus what only SQLite can get wrong."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import sqlite3
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import text

import stores.engine
from core.errors import CorruptRecord, StoreError
from core.events import Metadata
from core.ports import EventStore, SnapshotStore
from core.snapshots import Snapshot
from stores import (
    SCHEMA_VERSION,
    SqlEventStore,
    SqlSnapshotStore,
    ensure_schema,
    make_engine,
    open_stores,
    redact_url,
)
from tests.store_contract import (
    T0,
    EventStoreContract,
    collect,
    new_event,
    seconds,
)
from tests.store_processes import append_from_processes, assert_all_process_events_present


class TestSqliteStore(EventStoreContract):
    @pytest.fixture
    async def store(self, tmp_path: Path) -> AsyncIterator[tuple[EventStore, SnapshotStore]]:
        events, snapshots = await open_stores(str(tmp_path / "store.db"))
        yield events, snapshots
        await events.close()


@pytest.fixture
async def sql(tmp_path: Path) -> AsyncIterator[tuple[SqlEventStore, SqlSnapshotStore, Path]]:
    path = tmp_path / "store.db"
    events, snapshots = await open_stores(str(path))
    yield events, snapshots, path
    await events.close()


def execute(path: Path, statement: str, *params: object) -> None:
    """Change the file behind the store's back, as a crash or another tool might."""
    with sqlite3.connect(path) as con:
        con.execute(statement, params)
    con.close()


# -- the file and its settings ------------------------------------------------------------


async def test_file_is_wal_with_full_sync_busy_timeout_and_rowid_positions(
    sql: tuple[SqlEventStore, SqlSnapshotStore, Path],
) -> None:
    es, _, path = sql
    await es.append("s", "thing", [new_event()], 0)
    async with es.engine.connect() as conn:
        assert (await conn.scalar(text("PRAGMA journal_mode"))) == "wal"
        assert (await conn.scalar(text("PRAGMA synchronous"))) == 2  # FULL
        assert (await conn.scalar(text("PRAGMA busy_timeout"))) == 10_000
    with sqlite3.connect(path) as con:
        # `position` is the rowid: an INTEGER PRIMARY KEY gets no index of origin "pk".
        origins = [row[3] for row in con.execute("PRAGMA index_list(events)")]
        assert "pk" not in origins and origins.count("u") == 2
        assert con.execute("SELECT rowid = position FROM events").fetchone() == (1,)
        assert dict(con.execute("SELECT key, value FROM schema_info").fetchall())[
            "schema_version"
        ] == str(SCHEMA_VERSION)
    con.close()


async def test_times_are_stored_as_utc_and_compare_across_offsets(
    sql: tuple[SqlEventStore, SqlSnapshotStore, Path],
) -> None:
    es, _, _ = sql
    plus_two = timezone(timedelta(hours=2))
    await es.append("s", "thing", [new_event(at=T0.astimezone(plus_two))], 0)
    await es.append("s", "thing", [new_event(at=seconds(60).replace(tzinfo=None))], 1)
    first, second = await es.read_stream("s")
    assert first.recorded_at == T0 and first.recorded_at.tzinfo is UTC
    assert second.recorded_at == seconds(60) and second.recorded_at.tzinfo is UTC
    before = (T0 - timedelta(minutes=1)).astimezone(plus_two)
    after = (T0 + timedelta(seconds=1)).astimezone(plus_two)
    assert [e.version for e in await collect(es.read_all(since=before, until=after))] == [1]
    assert await es.stream_version_at("s", after) == 1


# -- bad rows -----------------------------------------------------------------------------


async def test_corrupt_rows_name_position_and_stream_while_other_streams_read(
    sql: tuple[SqlEventStore, SqlSnapshotStore, Path],
) -> None:
    es, _, path = sql
    await es.append("good", "thing", [new_event(), new_event()], 0)
    await es.append("bad", "thing", [new_event(), new_event(), new_event()], 0)
    await es.append("good", "thing", [new_event()], 2)
    execute(path, "UPDATE events SET data = '{not json' WHERE position = 4")
    execute(path, "UPDATE events SET metadata = '[1]' WHERE position = 5")

    with pytest.raises(CorruptRecord) as caught:
        await es.read_stream("bad")
    assert (caught.value.position, caught.value.stream_id) == (4, "bad")
    assert "position 4" in str(caught.value) and "'bad'" in str(caught.value)
    assert "invalid JSON in data" in str(caught.value)
    with pytest.raises(CorruptRecord, match="invalid JSON in metadata"):
        await es.read_stream("bad", from_version=3)
    assert [e.version for e in await es.read_stream("bad", to_version=1)] == [1]

    assert [e.version for e in await es.read_stream("good")] == [1, 2, 3]
    assert [e.position for e in await collect(es.read_all(stream_id="good"))] == [1, 2, 6]
    seen: list[int] = []
    with pytest.raises(CorruptRecord):
        async for event in es.read_all(page_size=2):
            seen.append(event.position)
    assert seen == [1, 2, 3]
    assert [s.stream_id for s in await es.list_streams()] == ["bad", "good"]


async def test_metadata_of_the_wrong_shape_is_corrupt(
    sql: tuple[SqlEventStore, SqlSnapshotStore, Path],
) -> None:
    es, _, path = sql
    await es.append("s", "thing", [new_event()], 0)
    execute(path, """UPDATE events SET metadata = '{"user_id": 5}'""")
    with pytest.raises(CorruptRecord, match="invalid metadata"):
        await es.read_stream("s")


async def test_columns_of_the_wrong_type_are_corrupt_on_every_read_path(
    sql: tuple[SqlEventStore, SqlSnapshotStore, Path],
) -> None:
    """SQLite keeps whatever a column is given: the fast reads check each column's type."""
    es, _, path = sql
    await es.append("s", "thing", [new_event(), new_event(), new_event()], 0)
    execute(path, "UPDATE events SET schema_version = 'one' WHERE position = 2")
    execute(path, "UPDATE events SET recorded_at = 'yesterday' WHERE position = 3")
    with pytest.raises(CorruptRecord, match="invalid schema_version") as caught:
        await es.read_stream("s", from_version=2, to_version=2)
    assert (caught.value.position, caught.value.stream_id) == (2, "s")
    with pytest.raises(CorruptRecord, match="invalid recorded_at"):
        await es.read_stream("s", from_version=3)
    with pytest.raises(CorruptRecord, match="invalid recorded_at"):
        await es.read_payloads("s", from_version=3)
    with pytest.raises(CorruptRecord, match="invalid schema_version"):
        await collect(es.read_all(from_position=2))
    # The reads that still go through SQLAlchemy (a time bound) agree with the fast ones.
    bounded = await es.read_stream("s", to_version=1, until=seconds(3600))
    assert await es.read_stream("s", to_version=1) == bounded and len(bounded) == 1


async def test_json_the_fast_reader_refuses_is_read_as_the_json_module_reads_it(
    sql: tuple[SqlEventStore, SqlSnapshotStore, Path],
) -> None:
    """Rows are read with orjson, which refuses integers over 64 bits, lone surrogate
    escapes and NaN: those rows read exactly as the json module reads them, a time
    stored with its own offset is still understood, and what neither reads is corrupt."""
    es, _, path = sql
    await es.append("s", "thing", [new_event() for _ in range(5)], 0)
    odd = '{"big": 123456789012345678901234567890, "lone": "\\ud800", "nan": NaN}'
    execute(path, "UPDATE events SET data = ? WHERE position = 2", odd)
    execute(path, "UPDATE events SET metadata = ? WHERE position = 3", '{"user_id": "\\udfff"}')
    execute(path, "UPDATE events SET recorded_at = '2026-01-02 03:04:05+02:00' WHERE position = 4")
    execute(path, "UPDATE events SET data = '{\"a\": 1} {}' WHERE position = 5")

    expected = json.loads(odd)
    for read in (
        await es.read_stream("s", to_version=4),
        await collect(es.read_all(to_position=4)),
    ):
        assert [e.position for e in read] == [1, 2, 3, 4]
        assert read[1].data["big"] == expected["big"] and read[1].data["lone"] == "\ud800"
        assert math.isnan(read[1].data["nan"])
        assert read[2].metadata.user_id == "\udfff"
        assert read[3].recorded_at == datetime(2026, 1, 2, 1, 4, 5, tzinfo=UTC)
    with pytest.raises(CorruptRecord, match="invalid JSON in data: extra data"):
        await es.read_stream("s", from_version=5)


async def test_hot_reads_share_one_held_connection_and_close_leaves_no_thread(
    tmp_path: Path,
) -> None:
    """Reads keep one pooled connection checked out (stores/sqlite_reads.py); reads at
    the same moment use the pool beside it, see every commit, and closing the store
    stops every driver thread."""
    before = {t.ident for t in threading.enumerate()}
    es, ss = await open_stores(str(tmp_path / "store.db"))
    await es.append("s", "thing", [new_event() for _ in range(3)], 0)
    assert len(await es.read_stream("s")) == 3
    reads = await asyncio.gather(*(es.read_stream("s") for _ in range(8)))
    assert [len(r) for r in reads] == [3] * 8
    await es.append("s", "thing", [new_event()], 3)
    assert [e.version for e in await es.read_stream("s")] == [1, 2, 3, 4]
    assert await ss.latest("s") is None
    await es.close()
    for _ in range(100):
        left = [t for t in threading.enumerate() if t.ident not in before]
        if not left:
            break
        await asyncio.sleep(0.02)
    assert left == []


async def test_a_disposed_engine_closes_the_held_connection(tmp_path: Path) -> None:
    before = {t.ident for t in threading.enumerate()}
    es, _ = await open_stores(str(tmp_path / "store.db"))
    await es.append("s", "thing", [new_event()], 0)
    assert len(await es.read_stream("s")) == 1
    await es._engine.dispose()  # not through close(): the held connection still goes
    for _ in range(100):
        left = [t for t in threading.enumerate() if t.ident not in before]
        if not left:
            break
        await asyncio.sleep(0.02)
    assert left == []


async def test_unreadable_snapshot_is_ignored_with_a_warning(
    sql: tuple[SqlEventStore, SqlSnapshotStore, Path], caplog: pytest.LogCaptureFixture
) -> None:
    _, ss, path = sql
    for version in (10, 20):
        await ss.save(
            Snapshot(
                stream_id="s",
                stream_type="thing",
                version=version,
                state={"v": version},
                state_schema=1,
                taken_at=T0,
            )
        )
    execute(path, "UPDATE snapshots SET state = 'oops' WHERE version = 20")
    with caplog.at_level(logging.WARNING):
        assert await ss.latest("s") is None
    assert "ignoring the snapshot of stream 's' at version 20" in caplog.text
    older = await ss.latest("s", at_or_below=19)
    assert older is not None and older.state == {"v": 10}
    assert older.taken_at == T0 and older.taken_at.tzinfo is UTC
    execute(path, "UPDATE snapshots SET taken_at = 'soon' WHERE version = 10")
    assert await ss.latest("s", at_or_below=19) is None


# -- schema -------------------------------------------------------------------------------


def dump(path: Path) -> list[str]:
    with sqlite3.connect(path) as con:
        lines = list(con.iterdump())
    con.close()
    return lines


async def test_store_from_a_newer_eventdeck_is_refused_and_untouched(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    es, _ = await open_stores(str(path))
    await es.append("s", "thing", [new_event()], 0)
    await es.close()
    execute(path, "UPDATE schema_info SET value = '99' WHERE key = 'schema_version'")
    execute(path, "DROP TABLE snapshots")  # a table the newer layout might not have
    before = dump(path)

    with pytest.raises(StoreError) as caught:
        await open_stores(str(path))
    assert str(caught.value) == (
        f"this store was written by a newer eventdeck (schema 99; this eventdeck reads up to "
        f"{SCHEMA_VERSION}): upgrade eventdeck"
    )
    assert dump(path) == before


async def test_schema_is_created_once_and_reopening_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    es, _ = await open_stores(str(path))
    await ensure_schema(es.engine)
    await es.close()
    before = dump(path)
    es, _ = await open_stores(str(path))
    await es.close()
    assert dump(path) == before
    with sqlite3.connect(path) as con:
        info = dict(con.execute("SELECT key, value FROM schema_info").fetchall())
    con.close()
    assert info["schema_version"] == str(SCHEMA_VERSION)
    assert info["created_by"].startswith("eventdeck ")


async def test_unreadable_schema_version_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    es, _ = await open_stores(str(path))
    await es.close()
    execute(path, "UPDATE schema_info SET value = 'x' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match="unreadable schema version"):
        await open_stores(str(path))


# -- URLs ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("mysql://root:s3cret@localhost/db", "unsupported database URL"),
        ("postgresql+psycopg2://u:s3cret@host/db", "unsupported database URL"),
        ("http://u:s3cret@example.com/x", "unsupported database URL"),
        ("postgresql://u:s3cret@host:notaport/db", "cannot parse database URL"),
        ("postgres:/u:s3cret@host/db", "cannot parse database URL"),
        ("sqlite:///no/such/folder/x.db", "folder 'no/such/folder' does not exist"),
        ("no/such/folder/x.db", "folder 'no/such/folder' does not exist"),
        ("", "no database URL given"),
        ("   ", "no database URL given"),
        (":memory:", "in-memory SQLite"),
        ("sqlite://", "in-memory SQLite"),
    ],
)
def test_bad_urls_are_one_line_store_errors_without_passwords(url: str, problem: str) -> None:
    with pytest.raises(StoreError) as caught:
        make_engine(url)
    message = str(caught.value)
    assert problem in message
    assert "\n" not in message and "s3cret" not in message


async def test_a_file_that_is_not_a_database_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("these are my notes, not a database\n" * 10)
    with pytest.raises(StoreError) as caught:
        await open_stores(str(path))
    assert "file is not a database" in str(caught.value) and "\n" not in str(caught.value)
    assert path.read_text().startswith("these are my notes")


def test_a_folder_is_not_a_sqlite_file(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="it is a folder"):
        make_engine(str(tmp_path))


def test_postgresql_without_asyncpg_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stores.engine, "_has_asyncpg", lambda: False)
    with pytest.raises(StoreError, match=r"pip install 'eventdeck\[postgres\]'") as caught:
        make_engine("postgresql://u:s3cret@host/db")
    assert "s3cret" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "driver", "database"),
    [
        ("eventdeck.db", "sqlite+aiosqlite", "eventdeck.db"),
        ("./x/y.db", "sqlite+aiosqlite", "x/y.db"),
        ("sqlite:///x/y.db", "sqlite+aiosqlite", "x/y.db"),
        ("sqlite+aiosqlite:///x/y.db", "sqlite+aiosqlite", "x/y.db"),
        ("postgresql://u:pw@h:5432/db", "postgresql+asyncpg", "db"),
        ("postgres://u:pw@h/db", "postgresql+asyncpg", "db"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg", "db"),
    ],
)
async def test_accepted_urls(
    url: str, driver: str, database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x").mkdir()
    engine = make_engine(url)
    try:
        assert (engine.url.drivername, engine.url.database) == (driver, database)
    finally:
        await engine.dispose()


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://u:s3cret@h:5432/db", "postgresql://u:***@h:5432/db"),
        ("postgresql+asyncpg://u:p@s3cret@h/db", "postgresql+asyncpg://u:***@h/db"),
        ("postgresql://u@h/db?password=s3cret&x=1", "postgresql://u@h/db?password=***&x=1"),
        ("postgresql://h:5432/db", "postgresql://h:5432/db"),
        ("eventdeck.db", "eventdeck.db"),
    ],
)
def test_redact_url_hides_passwords(url: str, shown: str) -> None:
    assert redact_url(url) == shown


# -- locking and several processes --------------------------------------------------------


async def test_a_file_locked_past_the_busy_timeout_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    es, _ = await open_stores(str(path))
    await es.close()
    engine = make_engine(str(path), busy_timeout=0.2)
    es = SqlEventStore(engine)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreError) as caught:
            await es.append("s", "thing", [new_event()], 0)
        message = str(caught.value)
        assert "locked by another writer" in message and str(path) in message
        assert "\n" not in message
        assert [e async for e in es.read_all()] == []  # readers are not blocked in WAL mode
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert (await es.append("s", "thing", [new_event()], 0))[0].position == 1
    await es.close()


@pytest.mark.slow
async def test_several_processes_append_to_one_stream(tmp_path: Path) -> None:
    # A fresh file: the processes also race to create the schema.
    url = str(tmp_path / "shared.db")
    processes, each = 4, 25
    append_from_processes(url, "counter-1", processes, each)
    es, _ = await open_stores(url)
    try:
        await assert_all_process_events_present(es, "counter-1", processes, each)
        assert await es.head_position() == processes * each
    finally:
        await es.close()


async def test_events_sharing_metadata_read_back_with_their_own(
    sql: tuple[SqlEventStore, SqlSnapshotStore, Path],
) -> None:
    """Consecutive events of one command share one decoded Metadata; others keep theirs."""
    es, _, _ = sql
    ann = Metadata(user_id="ann", correlation_id="c1", causation_id="c1")
    bob = Metadata(user_id="bob", correlation_id="c2")
    written = [ann, ann, bob, ann, Metadata()]
    await es.append("s", "thing", [new_event(metadata=m) for m in written], 0)
    read = [event.metadata for event in await es.read_stream("s")]
    assert read == written
    assert read[0] is read[1] and read[2] is not read[3]
