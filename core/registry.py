"""The registry of event types: encodes events for storage, decodes stored rows.

Decoding a recorded row gives the *current* event class whatever schema the
row was written with; every way a row can be bad becomes a named error.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from .errors import CorruptRecord, UnknownEventType, UnsupportedSchema
from .events import DomainEvent, Metadata, NewEvent, RecordedEvent
from .upcasting import Upcaster, UpcasterChain


class EventRegistry:
    """Known event classes by stable type name, with their upcasters."""

    def __init__(self, events: Iterable[type[DomainEvent]] = ()) -> None:
        self._classes: dict[str, type[DomainEvent]] = {}
        self.upcasters = UpcasterChain()
        for cls in events:
            self.register(cls)

    def register(
        self, cls: type[DomainEvent], upcasters: dict[int, Upcaster] | None = None
    ) -> None:
        """Register an event class and the steps lifting its old schema versions."""
        name = cls.type_name
        if name in self._classes and self._classes[name] is not cls:
            raise ValueError(f"event type {name!r} is registered twice")
        self._classes[name] = cls
        for from_version, step in (upcasters or {}).items():
            self.upcasters.register(name, from_version, step)

    def __contains__(self, type_name: str) -> bool:
        return type_name in self._classes

    def type_names(self) -> list[str]:
        return sorted(self._classes)

    def class_for(self, type_name: str) -> type[DomainEvent]:
        return self._classes[type_name]

    def encode(
        self,
        event: DomainEvent,
        *,
        event_id: str,
        recorded_at: datetime,
        metadata: Metadata,
    ) -> NewEvent:
        """Turn a domain event into a row ready to append, at its current schema."""
        if event.type_name not in self._classes:
            raise ValueError(f"event type {event.type_name!r} is not registered")
        return NewEvent(
            event_id=event_id,
            type=event.type_name,
            schema_version=event.schema_version,
            data=event.model_dump(mode="json"),
            metadata=metadata,
            recorded_at=recorded_at,
        )

    def current_payload(self, record: RecordedEvent) -> dict[str, Any]:
        """The row's payload lifted to the current schema (not validated)."""
        cls = self._classes.get(record.type)
        if cls is None:
            raise UnknownEventType(record.position, record.stream_id, record.type)
        known = cls.schema_version
        if record.schema_version > known:
            raise UnsupportedSchema(
                record.position, record.stream_id, record.type, record.schema_version, known
            )
        if record.schema_version < 1:
            raise CorruptRecord(
                record.position, record.stream_id, f"invalid schema version {record.schema_version}"
            )
        if record.schema_version == known:
            return record.data
        try:
            return self.upcasters.lift(record.type, record.schema_version, known, dict(record.data))
        except KeyError as exc:
            raise CorruptRecord(record.position, record.stream_id, str(exc.args[0])) from None
        except Exception as exc:  # noqa: BLE001 - an upcaster choked on a malformed old payload
            raise CorruptRecord(
                record.position,
                record.stream_id,
                f"cannot upcast {record.type} v{record.schema_version}: {exc}",
            ) from None

    def decode(self, record: RecordedEvent) -> DomainEvent:
        """The row as an instance of the current event class."""
        payload = self.current_payload(record)
        cls = self._classes[record.type]
        try:
            return cls.model_validate(payload)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(part) for part in first["loc"]) or "payload"
            raise CorruptRecord(
                record.position,
                record.stream_id,
                f"{record.type} payload does not match its schema ({field}: {first['msg']})",
            ) from None

    def upcast(self, record: RecordedEvent) -> RecordedEvent:
        """The row with its payload lifted and re-encoded at the current schema version."""
        event = self.decode(record)
        if record.schema_version == event.schema_version:
            return record
        return record.model_copy(
            update={"schema_version": event.schema_version, "data": event.model_dump(mode="json")}
        )
