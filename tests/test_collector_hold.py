"""The garbage collector's pause from one batch to the next while a processor catches up
(core/gc_pause.py `CollectorHold`), and that it always ends."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from typing import Any

import pytest

from core.errors import StoreError
from core.gc_pause import CollectorHold, paused_collector
from core.memory_projection_store import InMemoryProjectionStore
from core.memory_store import InMemoryEventStore
from tests.projection_fixtures import (
    CounterProjection,
    documents,
    fast_config,
    make_engine,
    write_round_robin,
)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def collections() -> Iterator[list[int]]:
    """The generation of every collection the collector starts meanwhile."""
    seen: list[int] = []

    def callback(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            seen.append(info["generation"])

    gc.callbacks.append(callback)
    try:
        yield seen
    finally:
        gc.callbacks.remove(callback)
        assert gc.isenabled(), "a test left the collector off"


class Cyclic:
    def __init__(self) -> None:
        self.me = self


def test_a_hold_lasts_until_released_and_nests_with_pauses() -> None:
    hold = CollectorHold()
    hold.hold()
    hold.hold()
    assert not gc.isenabled() and hold.held
    with paused_collector():
        pass
    assert not gc.isenabled()  # a pause ending inside the hold does not end it
    hold.release()
    assert gc.isenabled() and not hold.held
    hold.release()  # nothing more to release
    assert gc.isenabled()

    with paused_collector():
        hold.hold()
    assert not gc.isenabled()  # the block ended, the hold goes on
    hold.release()
    assert gc.isenabled()


def test_a_long_hold_lets_the_collector_free_cycles_once_then_pauses_again(
    collections: list[int],
) -> None:
    clock = Clock()
    hold = CollectorHold(longest=1.0, clock=clock)
    hold.hold()
    garbage = Cyclic()
    gone = weakref.ref(garbage)
    del garbage
    clock.now = 0.9
    hold.hold()
    assert collections == [] and gone() is not None  # within a second: no collection

    clock.now = 1.5
    hold.hold()
    assert collections == [0]  # the young generation, once
    assert gone() is None  # the cycle made during the hold is freed
    assert not gc.isenabled()  # and the pause goes on, for another second
    clock.now = 2.0
    hold.hold()
    assert collections == [0]
    hold.release()


def test_a_long_hold_inside_another_pause_does_not_collect(collections: list[int]) -> None:
    clock = Clock()
    hold = CollectorHold(longest=1.0, clock=clock)
    with paused_collector():
        hold.hold()
        clock.now = 5.0
        hold.hold()
        assert collections == [] and not gc.isenabled()
        hold.release()
        assert not gc.isenabled()


async def test_catch_up_keeps_the_collector_off_between_batches_until_caught_up() -> None:
    events = InMemoryEventStore()
    store = InMemoryProjectionStore(events)
    await write_round_robin(events, 30)  # batches of 7: five of them
    engine = make_engine([CounterProjection()], events, store)
    enabled: list[bool] = []

    def on_batch(_name: str, _result: object) -> None:
        enabled.append(gc.isenabled())

    [summary] = await engine.catch_up(on_batch=on_batch)
    assert summary.status == "caught-up" and summary.events == 30
    assert enabled == [False, False, False, False, True]
    assert gc.isenabled()
    assert (await documents(store, "counter"))["_totals"]["events"] == 30


async def test_a_worker_that_stops_between_batches_lets_the_collector_run() -> None:
    events = InMemoryEventStore()
    store = InMemoryProjectionStore(events)
    await write_round_robin(events, 30)
    engine = make_engine([CounterProjection()], events, store)
    worker = engine.runner().select(["counter"])[0]

    step = await worker.step(head=30)  # one batch of 7, more to come
    assert step.kind == "batch" and not gc.isenabled()
    await engine.pause("counter", user="ops")
    assert (await worker.step(head=30)).kind == "paused"
    assert gc.isenabled()

    await engine.resume("counter", user="ops")
    assert (await worker.step(head=30)).kind == "batch" and not gc.isenabled()
    await worker.release()  # a graceful stop
    assert gc.isenabled()


async def test_a_step_that_fails_between_batches_lets_the_collector_run() -> None:
    events = InMemoryEventStore()
    store = InMemoryProjectionStore(events)
    await write_round_robin(events, 30)
    engine = make_engine([CounterProjection()], events, store, config=fast_config())
    worker = engine.runner().select(["counter"])[0]
    assert (await worker.step(head=30)).kind == "batch" and not gc.isenabled()

    async def unreachable(*_args: object, **_kwargs: object) -> None:
        raise StoreError("the store cannot be reached")

    store.cursor = unreachable  # type: ignore[method-assign]
    with pytest.raises(StoreError):
        await worker.step(head=30)
    assert gc.isenabled()


async def test_a_rebuild_that_fails_between_batches_lets_the_collector_run() -> None:
    events = InMemoryEventStore()
    store = InMemoryProjectionStore(events)
    await write_round_robin(events, 30)
    engine = make_engine([CounterProjection()], events, store)
    await engine.catch_up()
    cursor, reads = store.cursor, 0

    async def fails_after_the_first_batch(*args: Any, **kwargs: Any) -> Any:
        nonlocal reads
        reads += 1
        if reads > 1:
            raise StoreError("the store cannot be reached")
        return await cursor(*args, **kwargs)

    store.cursor = fails_after_the_first_batch  # type: ignore[method-assign]
    with pytest.raises(StoreError):
        await engine.rebuild(["counter"], user="ops")
    assert reads > 1  # it failed after a batch of 7, with 23 events to go
    assert gc.isenabled()
