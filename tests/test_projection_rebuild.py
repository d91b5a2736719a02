"""Rebuilds on the in-memory stores: same rows as incremental processing, the old
generation serving until the switch, progress, from a time, after a crash."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from core.clock import FixedClock
from core.errors import InvalidInput, RebuildInProgress
from core.memory_projection_store import InMemoryProjectionStore
from core.memory_store import InMemoryEventStore
from core.projection_store import BatchCommit
from core.rebuilds import RebuildProgress
from tests.projection_fixtures import (
    T0,
    CounterProjection,
    EchoProjection,
    LatestProjection,
    PayerSaga,
    documents,
    make_engine,
    write_round_robin,
)


async def dead_letter_view(store: InMemoryProjectionStore) -> list[tuple[int, str, int, str]]:
    return [
        (d.position, d.stream_id, d.parked, d.status.value)
        for d in await store.dead_letters(projection="counter")
    ]


async def test_rebuild_gives_exactly_the_rows_of_incremental_processing() -> None:
    events = InMemoryEventStore()
    store = InMemoryProjectionStore(events)
    await write_round_robin(events, 60, streams=4, poison=[("s2", 3), ("s3", 9)])
    engine = make_engine([CounterProjection(), EchoProjection()], events, store)
    # incremental: several catch-ups as events arrive
    await engine.catch_up()
    await write_round_robin(events, 0)
    incremental = await documents(store, "counter")
    incremental_dead = await dead_letter_view(store)
    assert len(incremental_dead) == 2

    [summary] = await engine.rebuild(["counter"], user="ops")

    assert summary.generation == 2 and summary.dead_letters == 2
    assert await documents(store, "counter") == incremental
    assert await dead_letter_view(store) == incremental_dead
    checkpoint = await store.checkpoint("counter")
    assert checkpoint is not None
    assert (checkpoint.generation, checkpoint.position) == (2, await events.head_position() - 1)
    assert await store.count_documents("counter", 1) == 0  # the old generation is gone
    audit = await events.read_stream("projection-counter")
    assert [(e.type, e.metadata.user_id) for e in audit] == [
        ("ProjectionRebuildStarted", "ops"),
        ("ProjectionRebuilt", "ops"),
    ]


async def test_the_old_generation_serves_queries_until_the_switch() -> None:
    events = InMemoryEventStore()
    store = InMemoryProjectionStore(events)
    await write_round_robin(events, 30)
    projection = CounterProjection()
    engine = make_engine([projection], events, store)
    await engine.catch_up()
    before = await documents(store, "counter")

    projection.gate = asyncio.Event()  # the rebuild stops inside its first batch
    task = asyncio.create_task(engine.rebuild(["counter"], user="ops"))
    for _ in range(50):
        await asyncio.sleep(0)
    state = (await engine.status())[0]
    assert state.status == "rebuilding" and state.rebuild is not None
    assert await documents(store, "counter") == before
    assert await engine.query("counter", "s0") == before["s0"]

    projection.gate.set()
    await task
    assert await documents(store, "counter") == before
    assert (await engine.status())[0].status == "running"


async def test_rebuild_reports_progress_to_the_head() -> None:
    events = InMemoryEventStore()
    store = InMemoryProjectionStore(events)
    await write_round_robin(events, 50)
    engine = make_engine([CounterProjection()], events, store)
    reports: list[RebuildProgress] = []
    errors: list[tuple[str, int]] = []

    await engine.rebuild(
        None,
        user="ops",
        progress=reports.append,
        on_error=lambda name, dead: errors.append((name, dead.position)),
    )

    head = await events.head_position() - 1  # the rebuild-started event came after
    assert [r.done for r in reports] == [7, 14, 21, 28, 35, 42, 49, head]
    assert all(r.total == head and r.name == "counter" for r in reports)
    assert reports[-1].eta == 0.0 and all(r.rate >= 0 for r in reports)
    assert errors == []


async def test_rebuild_reports_dead_letters_as_they_happen() -> None:
    events = InMemoryEventStore()
    store = InMemoryProjectionStore(events)
    await write_round_robin(events, 20, poison=[("s1", 2)])
    engine = make_engine([CounterProjection()], events, store)
    errors: list[tuple[str, str]] = []
    await engine.rebuild(["counter"], user="ops", on_error=lambda n, d: errors.append((n, d.error)))
    assert errors == [("counter", "ProjectionError: poison event s1 v2")]


async def test_a_crashed_rebuild_leaves_the_old_generation_and_the_next_starts_clean() -> None:
    events = InMemoryEventStore()
    store = InMemoryProjectionStore(events)
    await write_round_robin(events, 30)
    clock = FixedClock(T0)
    engine = make_engine([CounterProjection()], events, store, clock=clock)
    await engine.catch_up()
    before = await documents(store, "counter")
    # A rebuild that died half-way: its generation, with a few documents, is left behind.
    dead = await store.start_generation(
        "counter",
        owner="dead-rebuild",
        now=clock.now(),
        expires_at=clock.now() + timedelta(seconds=5),
        projection_version=1,
    )
    await store.commit(
        BatchCommit(
            name="counter",
            generation=dead.generation,
            expected_position=0,
            expected_revision=0,
            position=3,
            now=clock.now(),
            owner="dead-rebuild",
            upserts={"s0": '{"half": true}'},
        )
    )
    assert await documents(store, "counter") == before
    assert (await engine.status())[0].status == "rebuilding"

    with pytest.raises(RebuildInProgress):  # its lease has not expired yet
        await engine.rebuild(["counter"], user="ops")
    clock.advance(timedelta(seconds=6))
    assert (await engine.status())[0].status == "running"  # known dead now
    [summary] = await engine.rebuild(["counter"], user="ops")

    assert summary.generation > dead.generation
    assert await documents(store, "counter") == before
    assert [c.generation for c in await store.checkpoints()] == [summary.generation]


async def test_a_cancelled_rebuild_drops_its_generation() -> None:
    events = InMemoryEventStore()
    store = InMemoryProjectionStore(events)
    await write_round_robin(events, 30)
    projection = CounterProjection()
    engine = make_engine([projection], events, store)
    await engine.catch_up()
    projection.gate = asyncio.Event()
    task = asyncio.create_task(engine.rebuild(["counter"], user="ops"))
    for _ in range(50):
        await asyncio.sleep(0)
    assert len(await store.checkpoints()) == 2
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert [c.generation for c in await store.checkpoints()] == [1]


async def test_rebuild_from_a_time_replays_onto_a_copy_of_the_active_generation() -> None:
    events = InMemoryEventStore()
    store = InMemoryProjectionStore(events)
    await write_round_robin(events, 20, poison=[("s1", 1)])
    engine = make_engine([LatestProjection(), CounterProjection()], events, store)
    await engine.catch_up()
    latest_before = await documents(store, "latest")

    [summary] = await engine.rebuild(["latest"], user="ops", from_time=T0 + timedelta(seconds=10))

    assert (summary.from_position, summary.events) == (11, 10)
    assert await documents(store, "latest") == latest_before

    # the counter's dead letter (before the time) is carried into the new generation
    [summary] = await engine.rebuild(["counter"], user="ops", from_time=T0 + timedelta(days=9))
    assert summary.events == 0
    dead = await store.dead_letters(projection="counter")
    assert [(d.position, d.generation, d.parked) for d in dead] == [(2, summary.generation, 3)]


async def test_sagas_are_not_rebuilt() -> None:
    engine = make_engine(
        [CounterProjection(), PayerSaga()], InMemoryEventStore(), InMemoryProjectionStore()
    )
    with pytest.raises(InvalidInput, match="saga"):
        await engine.rebuild(["payer"], user="ops")
    assert engine.rebuilder.rebuildable() == ["counter"]
