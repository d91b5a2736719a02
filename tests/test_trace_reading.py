"""Reading a correlation trace: the events, only their dead letters, ids resolved to
their correlation, and the saga's commands made visible (core/trace.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from core.dead_letters import NewDeadLetter
from core.events import Metadata, NewEvent, RecordedEvent
from core.memory_projection_store import InMemoryProjectionStore
from core.memory_store import InMemoryEventStore
from core.projection_store import BatchCommit
from core.trace import (
    TraceNode,
    find_correlation,
    find_trace,
    newest_event,
    read_trace,
    with_saga_commands,
)

T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def event(kind: str, correlation: str, causation: str, user: str, n: int = 0) -> NewEvent:
    return NewEvent(
        event_id=str(uuid.uuid4()),
        type=kind,
        schema_version=1,
        data={},
        metadata=Metadata(user_id=user, correlation_id=correlation, causation_id=causation),
        recorded_at=T0 + timedelta(seconds=n),
    )


async def dead_letter(ps: InMemoryProjectionStore, on: RecordedEvent) -> None:
    await ps.ensure_checkpoints({"p": 1}, T0)
    cursor = await ps.cursor("p", 1)
    letter = NewDeadLetter(
        position=on.position,
        event_id=on.event_id,
        stream_id=on.stream_id,
        event_type=on.type,
        error="ProjectionError: boom",
        traceback="Traceback ...",
        attempts=3,
        failed_at=T0,
    )
    await ps.commit(
        BatchCommit(
            name="p",
            generation=1,
            expected_position=cursor.checkpoint.position,
            expected_revision=cursor.checkpoint.revision,
            position=cursor.checkpoint.position,
            now=T0,
            new_dead_letters=[letter],
        )
    )


async def saga_story() -> tuple[InMemoryEventStore, InMemoryProjectionStore, list[RecordedEvent]]:
    """c1: alice places o1; the saga reserves on i1 (two events), which it reacts to
    by approving o1 and releasing on i1. c2, unrelated, has a dead letter too."""
    es, ps = InMemoryEventStore(), InMemoryProjectionStore()
    [placed] = await es.append("o1", "Order", [event("Placed", "c1", "c1", "alice")], 0)
    reserved = await es.append(
        "i1",
        "Stock",
        [
            event("Reserved", "c1", placed.event_id, "SYSTEM", 1),
            event("Noted", "c1", placed.event_id, "SYSTEM", 1),
        ],
        0,
    )
    [approved] = await es.append(
        "o1", "Order", [event("Approved", "c1", reserved[0].event_id, "SYSTEM", 2)], 1
    )
    [released] = await es.append(
        "i1", "Stock", [event("Released", "c1", reserved[0].event_id, "SYSTEM", 2)], 2
    )
    [other] = await es.append("x1", "Order", [event("Placed", "c2", "c2", "bob", 3)], 0)
    await dead_letter(ps, reserved[0])
    await dead_letter(ps, other)
    return es, ps, [placed, *reserved, approved, released, other]


def shape(node: TraceNode) -> object:
    """A node as (kind, type or stream, children) for comparing whole trees."""
    detail = node.detail
    what = detail.get("projection") or detail.get("type") or detail.get("stream_id")
    return (node.kind, what, [shape(child) for child in node.children])


async def test_read_trace_reads_the_correlation_and_only_its_dead_letters() -> None:
    es, ps, events = await saga_story()
    trace = await read_trace("c1", es, ps)
    assert trace is not None
    assert [e.event_id for e in trace.events] == [e.event_id for e in events[:5]]
    assert [(d.position, d.projection) for d in trace.dead_letters] == [(events[1].position, "p")]
    assert (trace.count("command"), trace.count("event"), trace.count("dead_letter")) == (1, 5, 1)
    assert not trace.truncated
    assert await read_trace("nope", es, ps) is None


async def test_the_saga_commands_are_grouped_per_stream_they_wrote_to() -> None:
    es, ps, _ = await saga_story()
    trace = await read_trace("c1", es, ps)
    assert trace is not None
    [root] = with_saga_commands(trace.roots)
    assert shape(root) == (
        "command",
        None,
        [
            (
                "event",
                "Placed",
                [
                    (
                        "command",
                        "i1",
                        [
                            (
                                "event",
                                "Reserved",
                                [
                                    ("dead_letter", "p", []),
                                    ("command", "o1", [("event", "Approved", [])]),
                                    ("command", "i1", [("event", "Released", [])]),
                                ],
                            ),
                            ("event", "Noted", []),
                        ],
                    )
                ],
            )
        ],
    )
    # the plain tree (the CLI's JSON) is unchanged: events hang under events
    assert [child.kind for child in trace.roots[0].children[0].children] == ["event", "event"]


async def test_an_event_id_or_stream_at_version_finds_its_correlation() -> None:
    es, ps, events = await saga_story()
    approved = events[3]
    assert await find_correlation(approved.event_id, es) == "c1"
    assert await find_correlation("o1@2", es) == "c1"
    assert await find_correlation("x1@1", es) == "c2"
    for unknown in ("o1@3", "o1@two", "@1", "o1", "nope"):
        assert await find_correlation(unknown, es) is None, unknown
    found = await find_trace(approved.event_id, es, ps)
    assert found is not None and found.correlation_id == "c1"
    assert (await find_trace("c2", es, ps)).correlation_id == "c2"  # type: ignore[union-attr]
    assert await find_trace("nope", es, ps) is None


async def test_newest_event() -> None:
    es, _, events = await saga_story()
    assert await newest_event(es) == events[-1]
    assert await newest_event(InMemoryEventStore()) is None
