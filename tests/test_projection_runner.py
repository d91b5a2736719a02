"""The projection runner on the in-memory stores: batches, crashes, failures, leases, lag."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from core.checkpoints import ProjectionStatus
from core.clock import FixedClock
from core.dead_letters import DeadLetterStatus
from core.errors import StaleCheckpoint, StoreError, UnknownProjection
from core.memory_projection_store import InMemoryProjectionStore
from core.memory_store import InMemoryEventStore
from core.projection_store import BatchCommit
from tests.projection_fixtures import (
    T0,
    CounterProjection,
    EchoProjection,
    documents,
    fast_config,
    make_engine,
    write_round_robin,
)


class Crash(BaseException):
    """A process dying (not an Exception: nothing may catch it)."""


class FlakyStore(InMemoryProjectionStore):
    """Commits fail: `transient` times with StoreError, or crash at commit number `crash_at`."""

    def __init__(self, *, transient: int = 0, crash_at: int | None = None, after: bool = False):
        super().__init__()
        self.transient = transient
        self.crash_at = crash_at
        self.crash_after_commit = after
        self.commits = 0

    async def commit(self, batch: BatchCommit) -> Any:
        self.commits += 1
        if self.transient > 0:
            self.transient -= 1
            raise StoreError("database is locked")
        if self.commits == self.crash_at and not self.crash_after_commit:
            raise Crash
        result = await super().commit(batch)
        if self.commits == self.crash_at and self.crash_after_commit:
            raise Crash
        return result


async def reference_documents(count: int, **writes: Any) -> dict[str, Any]:
    """The counter's read model after one uninterrupted run."""
    events, store = InMemoryEventStore(), InMemoryProjectionStore()
    await write_round_robin(events, count, **writes)
    await make_engine([CounterProjection()], events, store).catch_up()
    return await documents(store, "counter")


async def test_catch_up_applies_every_event_once_in_stream_order() -> None:
    events, store = InMemoryEventStore(), InMemoryProjectionStore()
    await write_round_robin(events, 50, streams=4, noted_every=5)
    # echo without prefetch: every document is fetched on demand
    engine = make_engine([CounterProjection(), EchoProjection(prefetch=False)], events, store)

    summaries = await engine.catch_up()

    head = await events.head_position()
    assert {s.name: (s.status, s.position, s.head) for s in summaries} == {
        "counter": ("caught-up", head, head),
        "echo": ("caught-up", head, head),
    }
    counter = next(s for s in summaries if s.name == "counter")
    assert (counter.events, counter.applied, counter.dead_letters) == (50, 50, 0)
    docs = await documents(store, "counter")
    assert docs["_totals"] == {"events": 50}
    for stream in ("s0", "s1", "s2", "s3"):
        versions = [e.version for e in await events.read_stream(stream) if e.type == "Counted"]
        assert docs[stream]["seen"] == versions
    assert len(await documents(store, "echo")) == head
    assert [s.lag_events for s in await engine.status()] == [0, 0]


async def test_a_second_catch_up_does_nothing() -> None:
    events, store = InMemoryEventStore(), InMemoryProjectionStore()
    await write_round_robin(events, 20)
    engine = make_engine([CounterProjection()], events, store)
    await engine.catch_up()
    again = await engine.catch_up()
    assert (again[0].events, again[0].status) == (0, "caught-up")


@pytest.mark.parametrize("after", [False, True], ids=["before-commit", "after-commit"])
@pytest.mark.parametrize("crash_at", [1, 3, 6])
async def test_a_crash_between_batches_applies_nothing_twice(crash_at: int, after: bool) -> None:
    expected = await reference_documents(40)
    events = InMemoryEventStore()
    await write_round_robin(events, 40)
    store = FlakyStore(crash_at=crash_at, after=after)
    clock = FixedClock(T0)
    with pytest.raises(Crash):
        await make_engine([CounterProjection()], events, store, clock=clock).catch_up()
    checkpoint = await store.checkpoint("counter")
    assert checkpoint is not None
    assert checkpoint.position == min(40, 7 * (crash_at if after else crash_at - 1))

    # A new process: the dead one's lease must expire first.
    clock.advance(timedelta(seconds=6))
    await make_engine([CounterProjection()], events, store, clock=clock).catch_up()

    assert await documents(store, "counter") == expected


async def test_a_failing_event_leaves_none_of_its_writes() -> None:
    events, store = InMemoryEventStore(), InMemoryProjectionStore()
    await write_round_robin(events, 10, streams=2, poison=[("s0", 2)])
    await make_engine([CounterProjection()], events, store).catch_up()
    docs = await documents(store, "counter")
    # s0 v2 wrote its stream and _totals before raising: neither write survives
    assert docs["s0"]["seen"] == [1]
    assert docs["_totals"] == {"events": 1 + 5}


async def test_transient_store_errors_retry_the_batch_with_backoff() -> None:
    events = InMemoryEventStore()
    await write_round_robin(events, 20)
    store = FlakyStore(transient=3)
    summaries = await make_engine([CounterProjection()], events, store).catch_up()
    assert summaries[0].status == "caught-up"
    assert await documents(store, "counter") == await reference_documents(20)


async def test_transient_errors_that_do_not_stop_fail_the_catch_up_boundedly() -> None:
    events = InMemoryEventStore()
    await write_round_robin(events, 20)
    store = FlakyStore(transient=100)
    summaries = await make_engine([CounterProjection()], events, store).catch_up()
    assert summaries[0].status == "failed"
    assert "database is locked" in (summaries[0].error or "")
    assert store.commits == 4  # fast_config: 4 attempts


async def test_poison_event_becomes_one_dead_letter_and_parks_its_stream() -> None:
    events, store = InMemoryEventStore(), InMemoryProjectionStore()
    await write_round_robin(events, 30, streams=3, poison=[("s1", 3)])
    projection = CounterProjection()
    engine = make_engine([projection], events, store)

    summary = (await engine.catch_up())[0]

    assert (summary.dead_letters, summary.parked, summary.applied) == (1, 7, 22)
    [dead] = await engine.dead_letters.list()
    assert (dead.projection, dead.stream_id, dead.event_type) == ("counter", "s1", "Counted")
    assert dead.error == "ProjectionError: poison event s1 v3"
    assert "Traceback" in dead.traceback and "raise ProjectionError" in dead.traceback
    assert dead.attempts == fast_config().handler_attempts
    assert dead.parked == 7
    docs = await documents(store, "counter")
    assert docs["s1"]["seen"] == [1, 2]
    assert docs["s0"]["seen"] == list(range(1, 11))
    assert docs["s2"]["seen"] == list(range(1, 11))
    parked = await store.parked_events("counter", 1, "s1")
    assert [p.position for p in parked] == [e.position for e in await events.read_stream("s1")][3:]
    assert (await engine.status())[0].dead_letters == 1


async def test_new_events_of_a_parked_stream_park_too() -> None:
    events, store = InMemoryEventStore(), InMemoryProjectionStore()
    await write_round_robin(events, 6, streams=2, poison=[("s0", 1)])
    engine = make_engine([CounterProjection()], events, store)
    await engine.catch_up()
    await write_round_robin(events, 0)
    info = await events.stream_info("s0")
    assert info is not None
    from tests.projection_fixtures import new_counted

    await events.append("s0", "Counter", [new_counted(99)], info.version)
    summary = (await engine.catch_up())[0]
    assert (summary.parked, summary.applied) == (1, 0)
    [dead] = await engine.dead_letters.list()
    assert dead.parked == 3


async def test_retry_after_the_fix_applies_the_dead_event_then_the_parked_ones_in_order() -> None:
    events = InMemoryEventStore()
    store = InMemoryProjectionStore(events)
    await write_round_robin(events, 30, streams=3, poison=[("s1", 3)])
    projection = CounterProjection()
    engine = make_engine([projection], events, store)
    await engine.catch_up()
    [dead] = await engine.dead_letters.list()

    still = await engine.dead_letters.retry(dead.id, user="alice")
    assert (still.succeeded, still.released) == (False, 0)
    again = await store.dead_letter(dead.id)
    assert again is not None
    assert (again.status, again.attempts, again.parked) == (
        DeadLetterStatus.OPEN,
        dead.attempts + 1,
        7,
    )
    assert (await documents(store, "counter"))["s1"]["seen"] == [1, 2]

    projection.poisoned = False  # the fix
    outcome = await engine.dead_letters.retry(dead.id, user="alice")

    assert (outcome.succeeded, outcome.released, outcome.still_parked) == (True, 7, 0)
    assert await documents(store, "counter") == await reference_documents(30, streams=3)
    retried = await store.dead_letter(dead.id)
    assert retried is not None and retried.status is DeadLetterStatus.RETRIED
    assert await store.parked_events("counter", 1) == []
    audit = await events.read_stream("projection-counter")
    assert [(e.type, e.data["succeeded"], e.metadata.user_id) for e in audit] == [
        ("DeadLetterRetried", False, "alice"),
        ("DeadLetterRetried", True, "alice"),
    ]
    # the stream is free again: new events apply at once
    await engine.catch_up()
    assert (await engine.status())[0].dead_letters == 0


async def test_a_parked_event_that_fails_on_release_becomes_the_new_dead_letter() -> None:
    events = InMemoryEventStore()
    store = InMemoryProjectionStore(events)
    await write_round_robin(events, 30, streams=3, poison=[("s1", 3), ("s1", 6)])
    projection = CounterProjection()
    engine = make_engine([projection], events, store)
    await engine.catch_up()
    [dead] = await engine.dead_letters.list()
    assert dead.parked == 7

    outcome = await engine.dead_letters.skip(dead.id, user="bob")

    assert (outcome.succeeded, outcome.released, outcome.still_parked) == (True, 2, 4)
    [new_dead] = await engine.dead_letters.list()
    assert new_dead.position > dead.position and new_dead.parked == 4
    assert (await documents(store, "counter"))["s1"]["seen"] == [1, 2, 4, 5]


async def test_skip_is_recorded_with_the_operator_and_releases_the_parked_events() -> None:
    events = InMemoryEventStore()
    store = InMemoryProjectionStore(events)
    await write_round_robin(events, 30, streams=3, poison=[("s1", 3)])
    engine = make_engine([CounterProjection()], events, store)
    await engine.catch_up()
    [dead] = await engine.dead_letters.list()

    outcome = await engine.dead_letters.skip(dead.id, user="carol")

    assert (outcome.action, outcome.released) == ("skip", 7)
    skipped = await store.dead_letter(dead.id)
    assert skipped is not None and skipped.status is DeadLetterStatus.SKIPPED
    assert (await documents(store, "counter"))["s1"]["seen"] == [1, 2, *range(4, 11)]
    [audit] = await events.read_stream("projection-counter")
    assert audit.type == "DeadLetterSkipped"
    assert audit.stream_type == "Operator"
    assert audit.metadata.user_id == "carol"
    assert audit.data["dead_letter_id"] == dead.id and audit.data["released"] == 7
    with pytest.raises(Exception, match="already skipped"):
        await engine.dead_letters.skip(dead.id, user="carol")


async def test_retry_all_retries_every_open_dead_letter() -> None:
    events = InMemoryEventStore()
    store = InMemoryProjectionStore(events)
    await write_round_robin(events, 30, streams=3, poison=[("s0", 2), ("s2", 5)])
    projection = CounterProjection()
    engine = make_engine([projection], events, store)
    await engine.catch_up()
    projection.poisoned = False
    outcomes = await engine.dead_letters.retry_all(user="dave", projection="counter")
    assert [o.succeeded for o in outcomes] == [True, True]
    assert await documents(store, "counter") == await reference_documents(30, streams=3)


async def test_dead_letter_show_has_the_event_and_what_is_parked() -> None:
    events, store = InMemoryEventStore(), InMemoryProjectionStore()
    await write_round_robin(events, 12, streams=2, poison=[("s0", 4)])
    engine = make_engine([CounterProjection()], events, store)
    await engine.catch_up()
    [dead] = await engine.dead_letters.list()
    detail = await engine.dead_letters.show(dead.id)
    assert detail.event is not None and detail.event.position == dead.position
    assert [p.stream_id for p in detail.parked] == ["s0", "s0"]
    assert detail.dead_letter.to_json_dict()["status"] == "open"


async def test_pause_and_resume_are_recorded_and_paused_projections_are_skipped() -> None:
    events = InMemoryEventStore()
    store = InMemoryProjectionStore(events)
    await write_round_robin(events, 10)
    engine = make_engine([CounterProjection(), EchoProjection()], events, store)
    await engine.pause("counter", user="erin")

    summaries = {s.name: s for s in await engine.catch_up()}
    assert (summaries["counter"].status, summaries["counter"].events) == ("paused", 0)
    assert summaries["echo"].status == "caught-up"
    state = {s.name: s for s in await engine.status()}
    assert (state["counter"].status, state["counter"].lag_events) == (
        "paused",
        11,
    )  # the pause is an event too

    await engine.resume("counter", user="erin")
    summaries = {s.name: s for s in await engine.catch_up()}
    assert (summaries["counter"].status, summaries["counter"].events) == ("caught-up", 10)
    audit = await events.read_stream("projection-counter")
    assert [(e.type, e.metadata.user_id) for e in audit] == [
        ("ProjectionPaused", "erin"),
        ("ProjectionResumed", "erin"),
    ]
    with pytest.raises(UnknownProjection):
        await engine.pause("nope", user="erin")


async def test_lag_in_events_and_seconds_with_throughput_and_eta() -> None:
    events, store = InMemoryEventStore(), InMemoryProjectionStore()
    await write_round_robin(events, 30, step=timedelta(seconds=10))
    clock = FixedClock(T0 + timedelta(hours=1))
    engine = make_engine([CounterProjection()], events, store, clock=clock)

    [before] = await engine.status()
    assert (before.checkpoint, before.head, before.lag_events) == (0, 30, 30)
    assert before.lag_seconds == 290.0  # first event to head
    assert (before.events_per_second, before.eta_seconds) == (0.0, None)

    runner = engine.runner()
    worker = runner.select(["counter"])[0]
    await worker.step(head=30)  # one batch of 7
    [during] = await engine.status()
    assert (during.checkpoint, during.lag_events) == (7, 23)
    assert during.lag_seconds == (29 - 6) * 10.0
    assert during.owner == runner.owner

    await runner.catch_up()
    [after] = await engine.status()
    assert (after.lag_events, after.lag_seconds, after.eta_seconds) == (0, 0.0, 0.0)
    assert after.events_per_second > 0
    assert after.to_json_dict()["name"] == "counter"
    assert list(after.to_json_dict())[:8] == [
        "name",
        "status",
        "checkpoint",
        "head",
        "lag_events",
        "lag_seconds",
        "events_per_second",
        "dead_letters",
    ]


async def test_compare_and_set_refuses_a_stale_writer() -> None:
    store = InMemoryProjectionStore()
    await store.ensure_checkpoints({"counter": 1}, T0)
    cursor = await store.cursor("counter", 1)
    first = BatchCommit(
        name="counter",
        generation=1,
        expected_position=0,
        expected_revision=cursor.checkpoint.revision,
        position=5,
        now=T0,
        upserts={"a": '{"v":1}'},
    )
    await store.commit(first)
    stale = BatchCommit(
        name="counter",
        generation=1,
        expected_position=0,
        expected_revision=0,
        position=9,
        now=T0,
        upserts={"a": '{"v":2}'},
    )
    with pytest.raises(StaleCheckpoint):
        await store.commit(stale)
    assert await store.get_document("counter", "a") == {"v": 1}


async def test_a_projection_leased_to_a_live_worker_is_left_to_it() -> None:
    events, store = InMemoryEventStore(), InMemoryProjectionStore()
    await write_round_robin(events, 10)
    clock = FixedClock(T0)
    await store.ensure_checkpoints({"counter": 1}, T0)
    taken = await store.acquire_lease(
        "counter", 1, "other-worker", now=T0, expires_at=T0 + timedelta(seconds=5)
    )
    assert taken is not None
    engine = make_engine([CounterProjection()], events, store, clock=clock)

    [busy] = await engine.catch_up()
    assert (busy.status, busy.events) == ("busy", 0)

    clock.advance(timedelta(seconds=6))  # the other worker died: its lease expired
    [done] = await engine.catch_up()
    assert (done.status, done.events) == ("caught-up", 10)


async def test_live_runner_follows_new_events_and_stops_gracefully() -> None:
    events, store = InMemoryEventStore(), InMemoryProjectionStore()
    await write_round_robin(events, 10)
    engine = make_engine([CounterProjection()], events, store)
    stop = asyncio.Event()
    batches: list[int] = []
    task = asyncio.create_task(
        engine.run_live(stop=stop, on_batch=lambda name, result: batches.append(result.events))
    )
    for _ in range(100):
        await asyncio.sleep(0.01)
        if (await engine.status())[0].lag_events == 0:
            break
    await write_round_robin(events, 0)
    from tests.projection_fixtures import new_counted

    await events.append("new", "Counter", [new_counted(1)], 0)
    for _ in range(100):
        await asyncio.sleep(0.01)
        if (await engine.status())[0].lag_events == 0:
            break
    stop.set()
    await asyncio.wait_for(task, 2)
    docs = await documents(store, "counter")
    assert docs["new"]["seen"] == [1] and docs["_totals"] == {"events": 11}
    assert sum(batches) == 11
    checkpoint = await store.checkpoint("counter")
    assert checkpoint is not None and checkpoint.owner is None  # lease released


async def test_unknown_names_are_refused() -> None:
    engine = make_engine([CounterProjection()], InMemoryEventStore(), InMemoryProjectionStore())
    with pytest.raises(UnknownProjection, match="unknown projection 'nope'; known: counter"):
        await engine.catch_up(["nope"])
    with pytest.raises(UnknownProjection):
        await engine.query("nope", "x")


async def test_status_of_a_stopped_projection() -> None:
    events, store = InMemoryEventStore(), InMemoryProjectionStore()
    await write_round_robin(events, 3)
    engine = make_engine([CounterProjection()], events, store)
    await store.ensure_checkpoints({"counter": 1}, T0)
    await store.set_status("counter", ProjectionStatus.STOPPED, T0)
    [summary] = await engine.catch_up()
    assert summary.status == "stopped"
