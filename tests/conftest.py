"""Shared fixtures. Keep each one small; several test modules rely on them."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from core.memory_projection_store import InMemoryProjectionStore
from core.memory_store import InMemoryEventStore
from core.ports import EventStore
from core.projection_store import ProjectionStore
from stores import SqlProjectionStore, make_engine, normalise_url, open_stores
from stores.schema import metadata


@pytest.fixture(scope="session")
def pg_url() -> str:
    """The PostgreSQL URL from EVENTDECK_TEST_PG_URL; skips the test when it is unset."""
    url = os.environ.get("EVENTDECK_TEST_PG_URL")
    if not url:
        pytest.skip("set EVENTDECK_TEST_PG_URL to run the PostgreSQL tests")
    return url


@pytest.fixture(scope="module")
def pg_db_url(pg_url: str) -> Iterator[str]:
    """A database of our own on the test server, dropped at the end."""
    import asyncpg  # type: ignore[import-untyped]

    server = normalise_url(pg_url)
    admin_dsn = server.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"eventdeck_stores_test_{os.getpid()}"

    async def admin(statement: str) -> None:
        conn = await asyncpg.connect(admin_dsn)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    try:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    except asyncpg.InsufficientPrivilegeError:
        yield pg_url  # no CREATEDB right: share the given database (tables are dropped per test)
        return
    yield server.set(database=name).render_as_string(hide_password=False)
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def drop_tables(url: str) -> None:
    """Every eventdeck table of the database at `url` dropped."""
    engine = make_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.drop_all)
    await engine.dispose()


@pytest.fixture
async def empty_pg(pg_db_url: str) -> str:
    """The URL of a database without any eventdeck tables."""
    await drop_tables(pg_db_url)
    return pg_db_url


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each backend in turn: the word memory, or the URL of an empty SQLite file or
    PostgreSQL database (skipped without EVENTDECK_TEST_PG_URL)."""
    if request.param == "memory":
        return "memory"
    if request.param == "sqlite":
        return str(tmp_path / "events.db")
    url: str = request.getfixturevalue("pg_db_url")
    asyncio.run(drop_tables(url))
    return url


@pytest.fixture
async def stores(backend: str) -> AsyncIterator[tuple[EventStore, ProjectionStore]]:
    """The event store and projection store of `backend` (in memory, the projection
    store holds the event log its operator events go to), closed after the test."""
    if backend == "memory":
        events = InMemoryEventStore()
        yield events, InMemoryProjectionStore(events)
        return
    sql_events, _ = await open_stores(backend)
    try:
        yield sql_events, SqlProjectionStore(sql_events.engine)
    finally:
        await sql_events.close()
