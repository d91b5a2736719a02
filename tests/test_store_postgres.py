"""The store contract on PostgreSQL, plus real-concurrency tests of position order.

Needs EVENTDECK_TEST_PG_URL (e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/test).
The tests run in a private database created for this module, so they never
touch tables someone else's run is using; each test starts from empty tables.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select, text, update

from core.errors import ConcurrencyError, StoreError
from core.ports import EventStore, SnapshotStore
from stores import SCHEMA_VERSION, ensure_schema, make_engine, normalise_url, open_stores
from stores.schema import schema_info
from tests.store_contract import (
    EventStoreContract,
    new_event,
)
from tests.store_processes import append_from_processes, assert_all_process_events_present


@pytest.mark.postgres
class TestPostgresStore(EventStoreContract):
    @pytest.fixture
    async def store(self, empty_pg: str) -> AsyncIterator[tuple[EventStore, SnapshotStore]]:
        events, snapshots = await open_stores(empty_pg)
        yield events, snapshots
        await events.close()


SLOW_INSERT_FUNCTION = """
CREATE FUNCTION slow_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.stream_id = 'slow' THEN PERFORM pg_sleep(0.01); END IF;
    RETURN NEW;
END $$
"""
SLOW_INSERT_TRIGGER = (
    "CREATE TRIGGER slow_insert AFTER INSERT ON events FOR EACH ROW EXECUTE FUNCTION slow_insert()"
)


@pytest.mark.postgres
async def test_polling_reader_never_skips_a_position_under_concurrent_writers(
    empty_pg: str,
) -> None:
    """Writers on separate connections commit out of order unless positions are serialised."""
    es, _ = await open_stores(empty_pg)
    async with es.engine.begin() as conn:
        # Widen the window between taking a position and committing it, as a slow
        # network or a busy server would: rows of stream "slow" take 10 ms to insert.
        await conn.execute(text(SLOW_INSERT_FUNCTION))
        await conn.execute(text(SLOW_INSERT_TRIGGER))
    writers, appends_each = 8, 25
    done = asyncio.Event()
    seen: list[int] = []
    written = 0

    async def writer(w: int) -> None:
        nonlocal written
        # Half the writers share one stream (conflicts and retries), half own one.
        stream_id = "shared" if w % 2 else f"own-{w}"
        stream_id = "slow" if w == 0 else stream_id
        for n in range(appends_each):
            batch = [new_event(data={"w": w, "n": n}) for _ in range(1 + n % 3)]
            while True:
                info = await es.stream_info(stream_id)
                try:
                    await es.append(stream_id, "counter", batch, info.version if info else 0)
                    written += len(batch)
                    break
                except ConcurrencyError:
                    continue

    async def reader() -> None:
        checkpoint = 0
        while True:
            finished = done.is_set()  # read before the poll: the last poll sees everything
            async for event in es.read_all(from_position=checkpoint + 1, page_size=5):
                seen.append(event.position)
                checkpoint = event.position
            if finished:
                return
            await asyncio.sleep(0.001)

    try:
        polling = asyncio.create_task(reader())
        await asyncio.gather(*(writer(w) for w in range(writers)))
        done.set()
        await polling
        final = [event.position async for event in es.read_all()]
    finally:
        await es.close()
    assert final == list(range(1, written + 1))
    assert seen == final


@pytest.mark.postgres
@pytest.mark.slow
async def test_several_processes_append_to_one_stream(empty_pg: str) -> None:
    processes, each = 4, 25
    append_from_processes(empty_pg, "counter-1", processes, each)
    es, _ = await open_stores(empty_pg)
    try:
        await assert_all_process_events_present(es, "counter-1", processes, each)
    finally:
        await es.close()


@pytest.mark.postgres
async def test_racing_schema_creation_is_safe(empty_pg: str) -> None:
    engines = [make_engine(empty_pg) for _ in range(4)]
    try:
        await asyncio.gather(*(ensure_schema(engine) for engine in engines))
        async with engines[0].connect() as conn:
            rows = (await conn.execute(select(schema_info))).all()
        assert {row.key: row.value for row in rows}["schema_version"] == str(SCHEMA_VERSION)
        assert len(rows) == 2
    finally:
        for engine in engines:
            await engine.dispose()


@pytest.mark.postgres
async def test_store_from_a_newer_eventdeck_is_refused(empty_pg: str) -> None:
    es, _ = await open_stores(empty_pg)
    async with es.engine.begin() as conn:
        await conn.execute(
            update(schema_info).where(schema_info.c.key == "schema_version").values(value="7")
        )
    await es.close()
    with pytest.raises(StoreError, match=r"newer eventdeck \(schema 7; this eventdeck reads up to"):
        await open_stores(empty_pg)


@pytest.mark.postgres
async def test_unknown_database_is_a_store_error_naming_the_url(pg_url: str) -> None:
    url = normalise_url(pg_url).set(database="eventdeck_no_such_db", password="s3cret")
    with pytest.raises(StoreError) as caught:
        await open_stores(url.render_as_string(hide_password=False))
    message = str(caught.value)
    assert "eventdeck_no_such_db" in message and "***" in message
    assert "s3cret" not in message and "\n" not in message


async def test_unreachable_server_is_a_store_error_without_the_password() -> None:
    # Needs no server: nothing listens on port 1.
    with pytest.raises(StoreError) as caught:
        await open_stores("postgresql://ops:s3cret@127.0.0.1:1/events")
    message = str(caught.value)
    assert message.startswith("cannot use PostgreSQL at postgresql+asyncpg://ops:***@127.0.0.1:1/")
    assert "check that the server is running" in message
    assert "s3cret" not in message and "\n" not in message
