"""The operator audit trail: each retry, skip, rebuild, pause, resume, import and seed.

They are events of stream `projection-<name>` (an import or a seed has its own
stream, `import-<id>` or `seed-<id>`; stream type "Operator") with the operator's user id in the metadata, so the
audit trail is part of the event log (and the audit-log projection can show it). Register them with
`register_operator_events` in every registry that reads the log.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import ClassVar

from .clock import Clock, IdFactory
from .errors import ConcurrencyError
from .events import DomainEvent, Metadata, NewEvent, RecordedEvent
from .operator_streams import (
    OPERATOR_STREAM_PREFIXES,
    OPERATOR_STREAM_TYPE,
    REPAIR_STREAM_PREFIX,
    SEED_STREAM_PREFIX,
    is_operator_stream,
    operator_stream,
    reserved_stream_refusal,
)
from .ports import EventStore
from .projection_store import AuditAppend
from .registry import EventRegistry

__all__ = [
    "OPERATOR_STREAM_PREFIXES",
    "OPERATOR_STREAM_TYPE",
    "REPAIR_STREAM_PREFIX",
    "SEED_STREAM_PREFIX",
    "is_operator_stream",
    "operator_stream",
    "reserved_stream_refusal",
]


class ProjectionPaused(DomainEvent):
    type_name: ClassVar[str] = "ProjectionPaused"
    projection: str


class ProjectionResumed(DomainEvent):
    type_name: ClassVar[str] = "ProjectionResumed"
    projection: str


class ProjectionRebuildStarted(DomainEvent):
    type_name: ClassVar[str] = "ProjectionRebuildStarted"
    projection: str
    generation: int
    from_time: datetime | None = None
    from_position: int = 1


class ProjectionRebuilt(DomainEvent):
    type_name: ClassVar[str] = "ProjectionRebuilt"
    projection: str
    generation: int
    position: int
    events: int
    dead_letters: int
    seconds: float


class DeadLetterRetried(DomainEvent):
    type_name: ClassVar[str] = "DeadLetterRetried"
    projection: str
    dead_letter_id: int
    position: int
    stream_id: str
    event_type: str
    succeeded: bool
    #: Parked events applied after it.
    released: int = 0
    error: str | None = None


class DeadLetterSkipped(DomainEvent):
    type_name: ClassVar[str] = "DeadLetterSkipped"
    projection: str
    dead_letter_id: int
    position: int
    stream_id: str
    event_type: str
    released: int = 0


class EventsImported(DomainEvent):
    """One batch of an `eventdeck import` wrote events (the imported events keep their own
    metadata); appended in the batch's own transaction, so every imported event is
    covered by the record of the batch that wrote it, whenever the import stopped. The
    batches of one run are the versions of its stream `import-<id>`.

    Records written before batches were recorded one by one (`first_line` None) sum up a
    whole run: `lines` read, and `complete`/`error` for a run stopped at an error.
    """

    type_name: ClassVar[str] = "EventsImported"
    #: The file (or "stdin").
    source: str
    #: Events the batch wrote, and those of its lines already stored (skipped).
    imported: int
    skipped: int
    #: Distinct streams of the batch's lines.
    streams: int
    #: The batch's last line (a whole-run record: the lines read).
    lines: int
    #: Whole-run records only (None in a batch's): False when the run stopped at an error.
    complete: bool | None = None
    error: str | None = None
    #: The batch's first line, and the first and last positions its events took here.
    first_line: int | None = None
    first_position: int | None = None
    last_position: int | None = None


class HistorySeeded(DomainEvent):
    """`eventdeck seed` (or `demo` on an empty store) wrote demo history; its events carry
    the demo's own made-up users, this one the operator who ran it."""

    type_name: ClassVar[str] = "HistorySeeded"
    orders: int
    accounts: int
    days: int
    seed: int
    events: int


class StoreRepaired(DomainEvent):
    """`eventdeck doctor --repair` changed the store's index rows or snapshots (never an
    event); written in the repair's own transaction."""

    type_name: ClassVar[str] = "StoreRepaired"
    snapshots_deleted: int = 0
    stream_rows_deleted: int = 0
    stream_rows_updated: int = 0
    stream_rows_added: int = 0


OPERATOR_EVENTS: tuple[type[DomainEvent], ...] = (
    ProjectionPaused,
    ProjectionResumed,
    ProjectionRebuildStarted,
    ProjectionRebuilt,
    DeadLetterRetried,
    DeadLetterSkipped,
    EventsImported,
    HistorySeeded,
    StoreRepaired,
)


def register_operator_events(registry: EventRegistry) -> EventRegistry:
    """Add the operator events to `registry` (idempotent); returns it."""
    for cls in OPERATOR_EVENTS:
        registry.register(cls)
    return registry


class OperatorLog:
    """Appends operator actions to the event log."""

    def __init__(
        self, events: EventStore, registry: EventRegistry, clock: Clock, ids: IdFactory
    ) -> None:
        self._events = events
        self._registry = registry
        self._clock = clock
        self._ids = ids

    async def record(self, projection: str, event: DomainEvent, *, user: str) -> RecordedEvent:
        """Append `event` to the projection's operator stream as done by `user`."""
        return await self.record_on(operator_stream(projection), event, user=user)

    def prepare(self, projection: str, event: DomainEvent, *, user: str) -> AuditAppend:
        """`event` on the projection's operator stream as done by `user`, encoded for a
        projection-store commit to append in its own transaction (BatchCommit.audit)."""
        return self.prepare_on(operator_stream(projection), event, user=user)

    def prepare_on(self, stream_id: str, event: DomainEvent, *, user: str) -> AuditAppend:
        """`event` on operator stream `stream_id` as done by `user`, for a store write to
        append in its own transaction."""
        return AuditAppend(stream_id, OPERATOR_STREAM_TYPE, self._encode(event, user))

    async def record_on(self, stream_id: str, event: DomainEvent, *, user: str) -> RecordedEvent:
        """Append `event` to operator stream `stream_id` as done by `user`."""
        command_id = self._ids.new_id()
        metadata = Metadata(user_id=user, correlation_id=command_id, causation_id=command_id)
        for attempt in range(20):
            info = await self._events.stream_info(stream_id)
            new = self._encode(event, user, metadata)
            try:
                recorded = await self._events.append(
                    stream_id, OPERATOR_STREAM_TYPE, [new], info.version if info else 0
                )
            except ConcurrencyError:
                await asyncio.sleep(0.002 * (attempt + 1))
                continue
            return recorded[0]
        raise ConcurrencyError(stream_id, -1, None, attempts=20)

    def _encode(self, event: DomainEvent, user: str, metadata: Metadata | None = None) -> NewEvent:
        if event.type_name not in self._registry:
            self._registry.register(type(event))
        if metadata is None:
            command_id = self._ids.new_id()
            metadata = Metadata(user_id=user, correlation_id=command_id, causation_id=command_id)
        return self._registry.encode(
            event, event_id=self._ids.new_id(), recorded_at=self._clock.now(), metadata=metadata
        )
