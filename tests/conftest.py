"""Shared fixtures. Keep each one small; several test modules rely on them."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator

import pytest

from stores import make_engine, normalise_url
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


@pytest.fixture
async def empty_pg(pg_db_url: str) -> str:
    """The URL of a database without any eventdeck tables."""
    engine = make_engine(pg_db_url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.drop_all)
    await engine.dispose()
    return pg_db_url
