"""Projection workers on PostgreSQL: one owner per projection, take-over when the owner
dies, LISTEN/NOTIFY wake-ups. Needs EVENTDECK_TEST_PG_URL."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import textwrap
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from core.clock import SystemClock, UuidFactory
from core.memory_projection_store import InMemoryProjectionStore
from core.memory_store import InMemoryEventStore
from core.projection_engine import ProjectionEngine
from stores import SqlProjectionStore, open_stores
from stores.event_store import SqlEventStore
from stores.notifications import open_wakeups
from tests.projection_fixtures import (
    CounterProjection,
    EchoProjection,
    counter_registry,
    documents,
    fast_config,
    make_engine,
    new_counted,
)

pytestmark = pytest.mark.postgres

REPO = Path(__file__).resolve().parent.parent
LEASE = 1.0

_LIVE_WORKER = textwrap.dedent(
    """
    import asyncio, signal, sys
    from core.clock import SystemClock, UuidFactory
    from stores import SqlProjectionStore, open_stores
    from stores.notifications import open_wakeups
    from tests.projection_fixtures import CounterProjection, EchoProjection, fast_config
    from core.projection_engine import ProjectionEngine
    from tests.projection_fixtures import counter_registry
    from core.clock import UuidFactory

    async def main(url, owner, lease):
        events, _ = await open_stores(url)
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        engine = ProjectionEngine(
            [CounterProjection(), EchoProjection()], events=events,
            store=SqlProjectionStore(events.engine), registry=counter_registry(),
            clock=SystemClock(), ids=UuidFactory(),
            config=fast_config(batch_size=50, lease_seconds=float(lease)),
            wakeups=lambda: open_wakeups(events.engine),
        )
        runner = engine.runner(owner)
        print("ready", flush=True)
        await runner.run_live(stop=stop, on_batch=lambda n, r: print("batch", n, flush=True))
        await events.close()

    asyncio.run(main(*sys.argv[1:]))
    """
)


async def start_worker(url: str, owner: str, lease: float) -> asyncio.subprocess.Process:
    """A live worker process (owner id `owner`), once it is ready."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _LIVE_WORKER,
        url,
        owner,
        str(lease),
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    assert (await proc.stdout.readline()).strip() == b"ready"
    return proc


@pytest.fixture
async def pg(empty_pg: str) -> AsyncIterator[tuple[str, SqlEventStore, SqlProjectionStore]]:
    events, _ = await open_stores(empty_pg)
    yield empty_pg, events, SqlProjectionStore(events.engine)
    await events.close()


async def append_counted(events: Any, count: int, streams: int = 10) -> None:
    for i in range(count):
        stream = f"s{i % streams}"
        info = await events.stream_info(stream)
        await events.append(stream, "Counter", [new_counted(i)], info.version if info else 0)


async def expected_documents(events: SqlEventStore) -> dict[str, Any]:
    """The counter's read model from an uninterrupted in-memory run over the same events."""
    memory = InMemoryEventStore()
    async for record in events.read_all():
        info = await memory.stream_info(record.stream_id)
        await memory.append(
            record.stream_id,
            record.stream_type,
            [new_counted(record.data["n"]).model_copy(update={"recorded_at": record.recorded_at})],
            info.version if info else 0,
        )
    store = InMemoryProjectionStore()
    await make_engine([CounterProjection()], memory, store).catch_up()
    return await documents(store, "counter")


def engine_for(events: SqlEventStore, store: SqlProjectionStore, **config: Any) -> ProjectionEngine:
    return make_engine(
        [CounterProjection(), EchoProjection()],
        events,
        store,
        clock=SystemClock(),
        config=fast_config(batch_size=50, lease_seconds=LEASE, **config),
    )


async def wait_until(predicate: Any, timeout: float) -> float:
    """Seconds until `await predicate()` is true (fails after `timeout`)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if await predicate():
            return time.monotonic() - started
        await asyncio.sleep(0.05)
    raise AssertionError(f"not true within {timeout} s")


async def test_two_runners_contending_only_one_applies_and_the_other_takes_over(
    pg: tuple[str, SqlEventStore, SqlProjectionStore],
) -> None:
    url, events, store = pg
    await append_counted(events, 600)
    # a second connection pool, as a second process would have
    other_events, _ = await open_stores(url)
    try:
        first = engine_for(events, store)
        second = engine_for(other_events, SqlProjectionStore(other_events.engine))
        batches: dict[str, Counter[str]] = {"first": Counter(), "second": Counter()}
        stop_first, stop_second = asyncio.Event(), asyncio.Event()
        tasks = [
            asyncio.create_task(
                first.run_live(
                    stop=stop_first, on_batch=lambda n, r: batches["first"].update({n: r.events})
                )
            ),
            asyncio.create_task(
                second.run_live(
                    stop=stop_second,
                    on_batch=lambda n, r: batches["second"].update({n: r.events}),
                )
            ),
        ]

        async def caught_up() -> bool:
            states = await first.status()
            return all(s.lag_events == 0 for s in states)

        await wait_until(caught_up, 30)
        for name in ("counter", "echo"):
            # each projection was processed by exactly one of them, never both
            assert (batches["first"][name] == 0) != (batches["second"][name] == 0)
            assert batches["first"][name] + batches["second"][name] == 600
        owners = {s.name: s.owner for s in await first.status()}

        # stop whichever owns the counter: the other takes over at once (lease released)
        counter_owner = "first" if batches["first"]["counter"] else "second"
        (stop_first if counter_owner == "first" else stop_second).set()
        await asyncio.wait_for(tasks[0 if counter_owner == "first" else 1], 10)
        before = Counter(batches["first"] + batches["second"])
        await append_counted(events, 100)
        took = await wait_until(caught_up, 10)
        assert took < 5
        survivor = "second" if counter_owner == "first" else "first"
        assert batches[survivor]["counter"] == (
            before["counter"] - batches[counter_owner]["counter"] + 100
        )
        assert await documents(store, "counter") == await expected_documents(events)
        assert len(await documents(store, "echo")) == 700
        assert None not in owners.values()
    finally:
        stop_first.set()
        stop_second.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        await other_events.close()


async def test_a_killed_owner_is_replaced_within_seconds(
    pg: tuple[str, SqlEventStore, SqlProjectionStore],
) -> None:
    url, events, store = pg
    await append_counted(events, 100)
    proc = await start_worker(url, "worker-A", LEASE)
    stop = asyncio.Event()
    task: asyncio.Task[None] | None = None
    try:
        engine = engine_for(events, store)

        async def owned_by_a_and_caught_up() -> bool:
            states = await engine.status()
            return all(s.lag_events == 0 and s.owner == "worker-A" for s in states)

        await wait_until(owned_by_a_and_caught_up, 30)
        task = asyncio.create_task(engine.runner("worker-B").run_live(stop=stop))
        await append_counted(events, 50)
        await wait_until(owned_by_a_and_caught_up, 10)  # B waits: A holds the leases

        os.kill(proc.pid, signal.SIGKILL)
        await asyncio.wait_for(proc.wait(), 10)
        await append_counted(events, 50)

        async def taken_over() -> bool:
            states = await engine.status()
            return all(s.lag_events == 0 and s.owner == "worker-B" for s in states)

        took = await wait_until(taken_over, 15)
        assert took < LEASE + 4
        assert await documents(store, "counter") == await expected_documents(events)
        assert len(await documents(store, "echo")) == 200
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        stop.set()
        if task is not None:
            await asyncio.wait_for(task, 10)


async def test_a_graceful_stop_releases_the_leases(
    pg: tuple[str, SqlEventStore, SqlProjectionStore],
) -> None:
    url, events, store = pg
    await append_counted(events, 20)
    proc = await start_worker(url, "worker-A", 30)
    engine = engine_for(events, store)

    async def caught_up() -> bool:
        return all(s.lag_events == 0 for s in await engine.status())

    await wait_until(caught_up, 30)
    proc.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(proc.wait(), 10) == 0
    assert [s.owner for s in await engine.status()] == [None, None]


async def test_live_runners_wake_on_notifications_not_polls(
    pg: tuple[str, SqlEventStore, SqlProjectionStore],
) -> None:
    _, events, store = pg
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
        await asyncio.sleep(0.5)  # listening

        async def applied() -> bool:
            return (await store.get_document("counter", "s0")) is not None

        await append_counted(events, 1)
        assert await wait_until(applied, 5) < 2
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


_WRITER = textwrap.dedent(
    """
    import asyncio, sys, time
    from stores import open_stores
    from tests.projection_fixtures import new_counted

    async def main(url, name, seconds):
        events, _ = await open_stores(url)
        print("ready", flush=True)
        sys.stdin.readline()  # "go": every writer starts its clock together
        versions, n, deadline = {}, 0, time.monotonic() + float(seconds)
        while time.monotonic() < deadline:
            stream = f"{name}-{n % 7}"
            await events.append(stream, "Counter", [new_counted(n)], versions.get(stream, 0))
            versions[stream] = versions.get(stream, 0) + 1
            n += 1
        await events.close()
        print(n, flush=True)

    asyncio.run(main(*sys.argv[1:]))
    """
)


@pytest.mark.slow
async def test_two_workers_four_writers_and_the_owner_killed_midway(
    pg: tuple[str, SqlEventStore, SqlProjectionStore],
) -> None:
    """Issue 6's scale-out test: 2 workers share the projections, 4 writers append for
    20 s, the counter's owner is SIGKILLed midway; the other takes over within seconds
    and every projection ends exactly consistent (each event applied once, in order)."""
    url, events, store = pg
    seconds = 20.0  # of writing, once every process is up (starting takes seconds when busy)
    workers = {owner: await start_worker(url, owner, LEASE) for owner in ("A", "B")}
    writers = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            _WRITER,
            url,
            f"w{i}",
            str(seconds),
            cwd=REPO,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        for i in range(4)
    ]
    engine = engine_for(events, store)
    try:
        for writer in writers:
            assert writer.stdout is not None and writer.stdin is not None
            assert await asyncio.wait_for(writer.stdout.readline(), 60) == b"ready\n"
        for writer in writers:
            assert writer.stdin is not None
            writer.stdin.write(b"go\n")
            await writer.stdin.drain()
        await asyncio.sleep(seconds / 2)

        async def counter_owner() -> str | None:
            return next(s.owner for s in await engine.status() if s.name == "counter")

        async def owned() -> bool:
            return await counter_owner() is not None

        await wait_until(owned, 30)
        owner = await counter_owner()
        assert owner in workers
        os.kill(workers[owner].pid, signal.SIGKILL)
        await asyncio.wait_for(workers[owner].wait(), 30)
        survivor = "B" if owner == "A" else "A"

        async def taken_over() -> bool:
            return await counter_owner() == survivor

        # failover within seconds, while the writers go on
        assert await wait_until(taken_over, 30) < LEASE + 9
        written = 0
        for writer in writers:
            out, _ = await asyncio.wait_for(writer.communicate(), seconds + 60)
            written += int(out)
        assert written > 400

        async def caught_up() -> bool:
            head = await events.head_position()
            return all(s.lag_events == 0 and s.head == head for s in await engine.status())

        await wait_until(caught_up, 60)
        assert {s.owner for s in await engine.status()} == {survivor}
        assert await events.head_position() == written
        assert len(await documents(store, "echo")) == written
        assert await documents(store, "counter") == await expected_documents(events)
        assert await store.dead_letters() == []
    finally:
        for proc in [*workers.values(), *writers]:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
