"""The correlation trace: from a command through its events, the saga's commands and
their events, to any dead letters — as a tree (`eventdeck trace`, the console).

`read_trace` gathers what a trace is built from (the correlated events and the dead
letters on them) for every front end; `find_correlation` turns an event id or a
`stream@version` into the correlation id it belongs to.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field

from .dead_letters import DeadLetter
from .events import RecordedEvent
from .ports import EventStore
from .projection_store import ProjectionStore

#: The most events one trace reads.
TRACE_LIMIT = 10_000


class TraceNode(BaseModel):
    """A command, an event or a dead letter, with what it caused."""

    kind: Literal["command", "event", "dead_letter"]
    id: str
    label: str
    detail: dict[str, Any] = Field(default_factory=dict)
    children: list[TraceNode] = Field(default_factory=list)

    def count(self, kind: str) -> int:
        own = 1 if self.kind == kind else 0
        return own + sum(child.count(kind) for child in self.children)


def build_trace(
    correlation_id: str, events: Iterable[RecordedEvent], dead_letters: Iterable[DeadLetter]
) -> list[TraceNode]:
    """Roots of the trace: the commands (by causation id) that no traced event caused.

    An event's parent is the event whose id is its causation id (a saga reacting to
    it) or else the command whose id is its causation id; a dead letter hangs under
    the event it failed on.
    """
    ordered = sorted(events, key=lambda e: e.position)
    event_nodes = {e.event_id: _event_node(e) for e in ordered}
    by_position = {e.position: event_nodes[e.event_id] for e in ordered}
    commands: dict[str, TraceNode] = {}
    roots: list[TraceNode] = []
    for record in ordered:
        node = event_nodes[record.event_id]
        cause = record.metadata.causation_id or correlation_id
        parent = event_nodes.get(cause)
        if parent is None:
            parent = commands.get(cause)
            if parent is None:
                parent = commands[cause] = TraceNode(
                    kind="command",
                    id=cause,
                    label=f"command {cause} by {record.metadata.user_id or '-'}",
                    detail={"user_id": record.metadata.user_id},
                )
                roots.append(parent)
        parent.children.append(node)
    for dead in sorted(dead_letters, key=lambda d: (d.position, d.projection)):
        target = by_position.get(dead.position)
        if target is None:
            continue
        target.children.append(
            TraceNode(
                kind="dead_letter",
                id=str(dead.id),
                label=f"dead letter {dead.id} in {dead.projection} ({dead.status.value}): "
                f"{dead.error}",
                detail=dead.to_json_dict(),
            )
        )
    return roots


def _event_node(record: RecordedEvent) -> TraceNode:
    return TraceNode(
        kind="event",
        id=record.event_id,
        label=f"{record.stream_id}@{record.version} {record.type} "
        f"(position {record.position}, by {record.metadata.user_id or '-'})",
        detail={
            "position": record.position,
            "stream_id": record.stream_id,
            "stream_type": record.stream_type,
            "version": record.version,
            "type": record.type,
            "recorded_at": record.recorded_at.isoformat(),
            "user_id": record.metadata.user_id,
            "causation_id": record.metadata.causation_id,
        },
    )


@dataclass(frozen=True)
class Trace:
    """A correlation's tree, with the events and dead letters it was built from."""

    correlation_id: str
    roots: list[TraceNode]
    events: list[RecordedEvent]
    dead_letters: list[DeadLetter]

    @property
    def truncated(self) -> bool:
        """True when the correlation has more events than one trace reads."""
        return len(self.events) >= TRACE_LIMIT

    def count(self, kind: str) -> int:
        return sum(root.count(kind) for root in self.roots)


async def read_trace(
    correlation_id: str, events: EventStore, projections: ProjectionStore
) -> Trace | None:
    """The trace of `correlation_id`, None when no event carries it.

    Reads the correlated events (one indexed query) and only the dead letters on
    their positions, never the whole dead-letter table.
    """
    found = await events.read_correlated(correlation_id, limit=TRACE_LIMIT)
    if not found:
        return None
    letters = await projections.dead_letters_at([e.position for e in found])
    return Trace(correlation_id, build_trace(correlation_id, found, letters), found, letters)


async def find_correlation(reference: str, events: EventStore) -> str | None:
    """The correlation id of the event `reference` names: an event id, or a stream and
    version as `stream@version`; None if no such event (or it carries none)."""
    event = await events.read_event(reference)
    if event is None:
        stream_id, at, version = reference.rpartition("@")
        if not at or not stream_id or not version.isdigit():
            return None
        wanted = int(version)
        records = await events.read_stream(stream_id, from_version=wanted, to_version=wanted)
        event = records[0] if records else None
    return event.metadata.correlation_id if event is not None else None


async def find_trace(
    reference: str, events: EventStore, projections: ProjectionStore
) -> Trace | None:
    """The trace `reference` names: a correlation id, else the correlation of the event
    it names (see `find_correlation`); None if it names neither."""
    trace = await read_trace(reference, events, projections)
    if trace is None:
        correlation = await find_correlation(reference, events)
        if correlation is not None:
            trace = await read_trace(correlation, events, projections)
    return trace


async def newest_event(events: EventStore) -> RecordedEvent | None:
    """The event at the head of the store, None if the store is empty."""
    head = await events.head_position()
    newest = None
    # positions may have gaps (a rolled-back append); a few before the head will do
    async for event in events.read_all(from_position=max(head - 100, 1), to_position=head):
        newest = event
    return newest


def with_saga_commands(nodes: list[TraceNode]) -> list[TraceNode]:
    """The tree with each reaction made visible: the events an event caused are grouped,
    per stream they were written to, under a `command` node (a saga's command).

    The store records no id for a saga's command (its events' causation id is the
    event the saga reacted to), and one command writes to one stream, so the
    stream identifies the command.
    """
    shown = []
    for node in nodes:
        if node.kind != "event":
            shown.append(node.model_copy(update={"children": with_saga_commands(node.children)}))
            continue
        letters = [child for child in node.children if child.kind != "event"]
        by_stream: dict[str, list[TraceNode]] = {}
        for child in node.children:
            if child.kind == "event":
                by_stream.setdefault(str(child.detail.get("stream_id")), []).append(child)
        commands = [
            TraceNode(
                kind="command",
                id=f"{node.id}>{stream_id}",
                label=f"saga command to {stream_id} by {caused[0].detail.get('user_id') or '-'}",
                detail={
                    "user_id": caused[0].detail.get("user_id"),
                    "stream_id": stream_id,
                    "caused_by": node.id,
                },
                children=with_saga_commands(caused),
            )
            for stream_id, caused in by_stream.items()
        ]
        shown.append(node.model_copy(update={"children": letters + commands}))
    return shown
