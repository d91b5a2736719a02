"""The aggregate base: rebuilt from its history, raises events, tracks pending ones.

An aggregate's state is a pydantic model, so it snapshots to JSON, restores
from JSON and diffs field by field (time travel) without extra code in each
aggregate. Subclasses define `on_<EventType>(event, at)` methods that mutate
`self.state`, and business methods that check invariants and call
`raise_event`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel

from .clock import Clock, SystemClock
from .events import DomainEvent, StoredPayload


class Aggregate:
    """Base of event-sourced aggregates."""

    stream_type: ClassVar[str]
    state_class: ClassVar[type[BaseModel]]
    #: Bump when the state model changes shape: older snapshots are then ignored.
    state_schema: ClassVar[int] = 1

    _appliers: ClassVar[dict[str, Callable[[Any, Any, datetime], None]]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._appliers = {
            name[3:]: getattr(cls, name) for name in dir(cls) if name.startswith("on_")
        }

    def __init__(self, stream_id: str, clock: Clock | None = None) -> None:
        self.id = stream_id
        self.version = 0
        self.state: Any = self.state_class()
        self._clock: Clock = clock or SystemClock()
        self._pending: list[tuple[DomainEvent, datetime]] = []

    # -- rebuilding -----------------------------------------------------------------

    def apply(self, event: DomainEvent, at: datetime) -> None:
        """Apply one event (from history or just raised) and count its version."""
        applier = self._appliers.get(event.type_name)
        if applier is None:
            raise TypeError(f"{type(self).__name__} cannot apply {event.type_name}")
        applier(self, event, at)
        self.version += 1

    def replay(
        self, payloads: Iterable[StoredPayload], decode: Callable[[StoredPayload], DomainEvent]
    ) -> None:
        """`apply` each stored payload, decoded by `decode`, in order (an aggregate load:
        the same steps as `apply`, with the lookups done once for the whole history)."""
        appliers = self._appliers
        for payload in payloads:
            event = decode(payload)
            applier = appliers.get(event.type_name)
            if applier is None:
                raise TypeError(f"{type(self).__name__} cannot apply {event.type_name}")
            applier(self, event, payload[7])  # its recorded_at
            self.version += 1

    @classmethod
    def rebuild(
        cls,
        stream_id: str,
        history: Iterable[tuple[DomainEvent, datetime]],
        clock: Clock | None = None,
    ) -> Aggregate:
        """A new instance with every event of `history` applied in order."""
        aggregate = cls(stream_id, clock)
        for event, at in history:
            aggregate.apply(event, at)
        return aggregate

    # -- snapshots --------------------------------------------------------------------

    def snapshot_state(self) -> dict[str, Any]:
        """The state as JSON-able data, for a snapshot."""
        return self.state.model_dump(mode="json")  # type: ignore[no-any-return]

    @classmethod
    def from_snapshot(
        cls, stream_id: str, version: int, state: dict[str, Any], clock: Clock | None = None
    ) -> Aggregate:
        """An instance restored from snapshot data taken at `version`."""
        aggregate = cls(stream_id, clock)
        aggregate.state = cls.state_class.model_validate(state)
        aggregate.version = version
        return aggregate

    def state_dict(self) -> dict[str, Any]:
        """The state as JSON-able data for display (`state --json`)."""
        return self.snapshot_state()

    # -- deciding ---------------------------------------------------------------------

    def raise_event(self, event: DomainEvent) -> None:
        """Apply a new event now and keep it pending until saved."""
        at = self._clock.now()
        self.apply(event, at)
        self._pending.append((event, at))

    @property
    def pending(self) -> list[tuple[DomainEvent, datetime]]:
        return list(self._pending)

    @property
    def base_version(self) -> int:
        """The version the stream had when loaded: the expected version for saving."""
        return self.version - len(self._pending)

    def mark_saved(self) -> None:
        self._pending.clear()
