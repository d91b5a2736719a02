"""Projections and process managers (sagas): what the projection runner drives.

A projection names the event types it handles and keeps one read model (a
"view" of JSON documents by key, named like the projection). Its `apply`
reads and writes documents through a `View`; the runner gives each event its
own copy-on-write overlay, so a failing event leaves no half-written
documents, and it commits the documents of a whole batch together with the new
checkpoint in one transaction.

A saga is a projection whose handler may also send commands (through
`SagaContext.send`); its state is its view, so it lives in the store too.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar, Protocol

from .commands import Command, CommandResult
from .events import DomainEvent, RecordedEvent

Document = dict[str, Any]


class ProjectionError(Exception):
    """This event cannot be applied (e.g. "order not found"): it becomes a dead letter."""


class _AllEventTypes(frozenset[str]):
    """`handles` of a projection that sees every event type: contains any name."""

    def __contains__(self, item: object) -> bool:
        return isinstance(item, str)

    def __repr__(self) -> str:
        return "ALL_EVENT_TYPES"

    def __reduce__(self) -> str:
        return "ALL_EVENT_TYPES"  # unpickles as this same object


#: `handles = ALL_EVENT_TYPES` makes a projection see every event, of any type, also
#: ones this process cannot decode (e.g. an audit log). `type in handles` is always
#: true; the set iterates as empty, so never build a read filter from its members:
#: test `handles_every_type(projection)` first (an empty type filter reads everything).
ALL_EVENT_TYPES: frozenset[str] = _AllEventTypes()


def handles_every_type(projection: Projection | type[Projection]) -> bool:
    """Whether a projection declared `handles = ALL_EVENT_TYPES`."""
    return projection.handles is ALL_EVENT_TYPES


class UndecodedEvent(DomainEvent):
    """What a projection with `handles = ALL_EVENT_TYPES` is given for a stored row this
    process cannot decode (unknown type, newer schema, payload not matching its class):
    the row itself is `record` (payload as stored in `record.data`). Projections that
    name their types get a dead letter for such a row instead."""

    type_name: ClassVar[str] = "(undecoded)"
    type: str
    problem: str


class View(Protocol):
    """The documents of one read model, as a projection handler sees them."""

    async def get(self, key: str) -> Document | None:
        """The document at `key` (a copy the handler may change), or None."""
        ...

    def put(self, key: str, document: Document) -> None:
        """Create or replace the document at `key` (JSON-able values only)."""
        ...

    def delete(self, key: str) -> None:
        """Remove the document at `key` if present."""
        ...


class Projection:
    """Base of projections: a name, the event types handled and the apply step."""

    #: Stable name: the checkpoint's and the read model's (`order-summary`).
    name: ClassVar[str]
    #: Event type names this projection handles; others only advance its checkpoint.
    #: `ALL_EVENT_TYPES` for every type.
    handles: ClassVar[frozenset[str]]
    #: Bump when `apply` changes meaning: the stored read model must be rebuilt.
    version: ClassVar[int] = 1
    #: One line for listings.
    description: ClassVar[str] = ""

    async def apply(self, event: DomainEvent, record: RecordedEvent, view: View) -> None:
        """Apply one event to the read model; raise ProjectionError for a poison event."""
        raise NotImplementedError

    def prefetch_keys(self, event: DomainEvent, record: RecordedEvent) -> Iterable[str]:
        """Keys `apply` will read for this event, so a runner can fetch a batch's at once."""
        return ()


class SagaContext(Protocol):
    """What a saga handler may do besides reading and writing its state view."""

    async def send(self, command: Command, *, caused_by: RecordedEvent) -> CommandResult | None:
        """Dispatch `command` as user SYSTEM with the trigger's correlation id and the
        trigger's event id as causation id. Returns None when a command caused by this
        same event was already written to the target stream (at-most-once after a
        restart)."""
        ...


class Saga(Projection):
    """A process manager: reacts to events by sending commands; state in its view."""

    async def apply(self, event: DomainEvent, record: RecordedEvent, view: View) -> None:
        raise TypeError("a saga is applied with react(), which can send commands")

    async def react(
        self, event: DomainEvent, record: RecordedEvent, view: View, context: SagaContext
    ) -> None:
        """Update the saga's state for this event and send the commands that follow."""
        raise NotImplementedError
