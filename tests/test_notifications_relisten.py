"""LISTEN/NOTIFY wake-ups come back after the listening connection is lost.

A PostgreSQL restart cuts every connection, the listening one included. The
listener must LISTEN again on a new connection (with backoff while the server is
away), so live runners are woken by notifications again, not only by the fallback
poll. Here the server terminates the listening backend (what a restart does to it)
while the poll interval is a minute: anything applied within seconds afterwards was
woken by a notification on the new connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from core.clock import SystemClock, UuidFactory
from core.projection_engine import ProjectionEngine
from stores import SqlProjectionStore, open_stores
from stores.event_store import SqlEventStore
from stores.notifications import NOTIFY_CHANNEL, PgEventNotifications, open_wakeups
from tests.projection_fixtures import CounterProjection, counter_registry, fast_config, new_counted
from tests.test_projection_postgres import wait_until

pytestmark = pytest.mark.postgres


@pytest.fixture
async def events(empty_pg: str) -> AsyncIterator[SqlEventStore]:
    store, _ = await open_stores(empty_pg)
    yield store
    await store.close()


async def terminate_listeners(events: SqlEventStore) -> int:
    """Terminate every backend of this database LISTENing (as a restart would)."""
    async with events.engine.connect() as conn:
        killed = await conn.scalar(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND query ILIKE 'LISTEN%'"
            )
        )
    return int(killed or 0)


async def notify(events: SqlEventStore) -> None:
    async with events.engine.begin() as conn:
        await conn.execute(text("SELECT pg_notify(:c, '1')"), {"c": NOTIFY_CHANNEL})


async def test_the_listener_listens_again_after_its_connection_is_killed(
    events: SqlEventStore,
) -> None:
    listener = PgEventNotifications(events.engine, first_retry=0.1)
    await listener.start()
    try:
        await notify(events)
        assert await listener.wait(5)
        assert await terminate_listeners(events) == 1
        # the loss wakes the waiter (read the head now), then it listens again
        woken = False
        for _ in range(50):
            if await listener.wait(0.1) and await terminate_listeners(events) == 0:
                woken = True
                break
        assert woken, "the listener did not come back"
        await notify(events)
        assert await listener.wait(5), "a notification after the reconnect did not wake it"
    finally:
        await listener.close()


async def test_a_live_runner_is_woken_by_notifications_after_the_listener_was_cut(
    events: SqlEventStore,
) -> None:
    store = SqlProjectionStore(events.engine)
    engine = ProjectionEngine(
        [CounterProjection()],
        events=events,
        store=store,
        registry=counter_registry(),
        clock=SystemClock(),
        ids=UuidFactory(),
        # polling only every minute: anything faster comes from NOTIFY
        config=fast_config(poll_interval=60.0, notified_poll_interval=60.0, renew_interval=60.0),
        wakeups=lambda: open_wakeups(events.engine),
    )
    stop = asyncio.Event()
    task = asyncio.create_task(engine.run_live(stop=stop))
    try:

        async def listening() -> bool:
            async with events.engine.connect() as conn:
                found = await conn.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                        "current_database() AND query ILIKE 'LISTEN%'"
                    )
                )
            return bool(found)

        await wait_until(listening, 10)
        await events.append("s0", "Counter", [new_counted(0)], 0)

        async def applied(version: int) -> bool:
            doc = await store.get_document("counter", "s0")
            return doc is not None and len(doc["seen"]) == version

        await wait_until(lambda: applied(1), 5)
        assert await terminate_listeners(events) >= 1
        await asyncio.sleep(0.2)
        await wait_until(listening, 10)  # listening again, on a new connection

        await events.append("s0", "Counter", [new_counted(1)], 1)
        assert await wait_until(lambda: applied(2), 5) < 3
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
