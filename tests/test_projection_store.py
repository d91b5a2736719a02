"""The projection store contract on memory, a SQLite file and PostgreSQL (when
EVENTDECK_TEST_PG_URL is set), plus the schema upgrade from a version-1 store."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.memory_projection_store import InMemoryProjectionStore
from core.memory_store import InMemoryEventStore
from core.ports import EventStore
from core.projection_store import ProjectionStore
from stores import SCHEMA_VERSION, SqlProjectionStore, open_stores
from tests.projection_store_contract import ProjectionStoreContract


class TestMemoryProjectionStore(ProjectionStoreContract):
    @pytest.fixture
    async def stores(self) -> AsyncIterator[tuple[EventStore, ProjectionStore]]:
        events = InMemoryEventStore()
        yield events, InMemoryProjectionStore(events)


class TestSqliteProjectionStore(ProjectionStoreContract):
    @pytest.fixture
    async def stores(self, tmp_path: Path) -> AsyncIterator[tuple[EventStore, ProjectionStore]]:
        events, _ = await open_stores(str(tmp_path / "store.db"))
        yield events, SqlProjectionStore(events.engine)
        await events.close()


@pytest.mark.postgres
class TestPostgresProjectionStore(ProjectionStoreContract):
    @pytest.fixture
    async def stores(self, empty_pg: str) -> AsyncIterator[tuple[EventStore, ProjectionStore]]:
        events, _ = await open_stores(empty_pg)
        yield events, SqlProjectionStore(events.engine)
        await events.close()


VERSION_1_TABLES = {"events", "streams", "snapshots", "schema_info"}


async def test_a_version_1_store_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    events, _ = await open_stores(str(path))
    from tests.store_contract import new_event

    await events.append("s", "thing", [new_event()], 0)
    await events.close()
    with sqlite3.connect(path) as con:  # make it look like a store written by schema 1
        for table in ("checkpoints", "read_models", "dead_letters", "parked_events"):
            con.execute(f"DROP TABLE {table}")
        con.execute("UPDATE schema_info SET value = '1' WHERE key = 'schema_version'")
    con.close()

    events, _ = await open_stores(str(path))
    try:
        assert await events.head_position() == 1
        projections = SqlProjectionStore(events.engine)
        await projections.ensure_checkpoints({"p": 1}, new_event().recorded_at)
        assert (await projections.checkpoint("p")) is not None
    finally:
        await events.close()
    with sqlite3.connect(path) as con:
        tables = {
            row[0] for row in con.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
        version = con.execute("SELECT value FROM schema_info WHERE key='schema_version'").fetchone()
    con.close()
    assert (
        VERSION_1_TABLES | {"checkpoints", "read_models", "dead_letters", "parked_events"} <= tables
    )
    assert version == (str(SCHEMA_VERSION),) == ("2",)
