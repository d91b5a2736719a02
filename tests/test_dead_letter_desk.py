"""The dead-letter desk's bulk skip and its tally (what a bulk action touches)."""

from __future__ import annotations

from core.dead_letters import DeadLetterStatus, DeadLetterTally
from core.memory_projection_store import InMemoryProjectionStore
from core.memory_store import InMemoryEventStore
from tests.projection_fixtures import (
    CounterProjection,
    EchoProjection,
    make_engine,
    write_round_robin,
)


async def test_skip_all_skips_one_projections_open_dead_letters_and_records_each() -> None:
    events = InMemoryEventStore()
    store = InMemoryProjectionStore(events)
    await write_round_robin(events, 30, streams=3, poison=[("s0", 2), ("s2", 5)])
    engine = make_engine([CounterProjection(), EchoProjection()], events, store)
    await engine.catch_up()
    desk = engine.dead_letters
    assert await desk.tally(projection="counter") == DeadLetterTally(
        entries=2, streams=2, parked=8 + 5
    )
    assert (await desk.tally(projection="counter", stream="s2")).entries == 1

    outcomes = await desk.skip_all(user="erin", projection="counter")

    assert [(o.action, o.succeeded) for o in outcomes] == [("skip", True), ("skip", True)]
    assert await desk.list(projection="counter") == []
    assert await desk.tally(projection="counter") == DeadLetterTally()
    skipped = await desk.list(projection="counter", status=DeadLetterStatus.SKIPPED)
    assert [d.stream_id for d in skipped] == ["s0", "s2"]
    audit = await events.read_stream("projection-counter")
    assert [(e.type, e.metadata.user_id) for e in audit] == [("DeadLetterSkipped", "erin")] * 2
    assert await desk.skip_all(user="erin", projection="counter") == []
