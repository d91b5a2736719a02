"""The correlation trace: from a command through its events, the saga's commands and
their events, to any dead letters — as a tree (`eventdeck trace`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, Field

from .dead_letters import DeadLetter
from .events import RecordedEvent


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
