"""The registry of event types: encodes events for storage, decodes stored rows.

Decoding a recorded row gives the *current* event class whatever schema the
row was written with; every way a row can be bad becomes a named error.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from .errors import CorruptRecord, UnknownEventType, UnsupportedSchema
from .events import DomainEvent, Metadata, NewEvent, RecordedEvent, StoredPayload
from .upcasting import Upcaster, UpcasterChain


class EventRegistry:
    """Known event classes by stable type name, with their upcasters."""

    def __init__(self, events: Iterable[type[DomainEvent]] = ()) -> None:
        self._classes: dict[str, type[DomainEvent]] = {}
        #: type name -> (current schema version, the class's validate_python and
        #: validate_json): the hot path of decode and decode_payload.
        self._current: dict[str, tuple[int, Any, Any]] = {}
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
        validator = cls.__pydantic_validator__
        self._current[name] = (
            cls.schema_version,
            validator.validate_python,
            validator.validate_json,
        )
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
        cls = self._class_of(record.type, record.schema_version, record.position, record.stream_id)
        return self._lift(cls, record.type, record.schema_version, record.data, record)

    def decode(self, record: RecordedEvent) -> DomainEvent:
        """The row as an instance of the current event class."""
        current = self._current.get(record.type)
        if current is not None and record.schema_version == current[0]:
            validate, payload = current[1], record.data  # the common case: hot in reads
        else:
            payload = self.current_payload(record)
            validate = self._current[record.type][1]
        try:
            return validate(payload)  # type: ignore[no-any-return]
        except ValidationError as exc:
            raise _payload_error(record.position, record.stream_id, record.type, exc) from None

    def decode_payload(self, stored: StoredPayload) -> DomainEvent:
        """A stored payload (JSON text) as an instance of the current event class.

        A payload at the current schema is validated straight from its JSON text
        (parsing and validation in one pass in pydantic-core); an older one is
        parsed, upcast, then validated.
        """
        current = self._current.get(stored.type)
        if current is not None and stored.schema_version == current[0]:
            try:  # the common case, checked inline: this is the hot loop of a load
                return current[2](stored.data_json)  # type: ignore[no-any-return]
            except ValidationError as exc:
                raise _payload_error(stored.position, stored.stream_id, stored.type, exc) from None
        cls = self._class_of(stored.type, stored.schema_version, stored.position, stored.stream_id)
        try:
            data = json.loads(stored.data_json)
        except ValidationError as exc:
            raise _payload_error(stored.position, stored.stream_id, stored.type, exc) from None
        except ValueError as exc:
            raise CorruptRecord(
                stored.position, stored.stream_id, f"invalid JSON in data: {exc}"
            ) from None
        if not isinstance(data, dict):
            raise CorruptRecord(
                stored.position, stored.stream_id, "invalid JSON in data: expected an object"
            )
        payload = self._lift(cls, stored.type, stored.schema_version, data, stored)
        try:
            return cls.model_validate(payload)
        except ValidationError as exc:
            raise _payload_error(stored.position, stored.stream_id, stored.type, exc) from None

    def _class_of(
        self, type_name: str, schema_version: int, position: int, stream_id: str
    ) -> type[DomainEvent]:
        cls = self._classes.get(type_name)
        if cls is None:
            raise UnknownEventType(position, stream_id, type_name)
        known = cls.schema_version
        if schema_version > known:
            raise UnsupportedSchema(position, stream_id, type_name, schema_version, known)
        if schema_version < 1:
            raise CorruptRecord(position, stream_id, f"invalid schema version {schema_version}")
        return cls

    def _lift(
        self,
        cls: type[DomainEvent],
        type_name: str,
        schema_version: int,
        data: dict[str, Any],
        where: RecordedEvent | StoredPayload,
    ) -> dict[str, Any]:
        known = cls.schema_version
        if schema_version == known:
            return data
        try:
            return self.upcasters.lift(type_name, schema_version, known, dict(data))
        except KeyError as exc:
            raise CorruptRecord(where.position, where.stream_id, str(exc.args[0])) from None
        except Exception as exc:  # noqa: BLE001 - an upcaster choked on a malformed old payload
            raise CorruptRecord(
                where.position,
                where.stream_id,
                f"cannot upcast {type_name} v{schema_version}: {exc}",
            ) from None

    def upcast(self, record: RecordedEvent) -> RecordedEvent:
        """The row with its payload lifted and re-encoded at the current schema version."""
        event = self.decode(record)
        if record.schema_version == event.schema_version:
            return record
        return record.model_copy(
            update={"schema_version": event.schema_version, "data": event.model_dump(mode="json")}
        )


def _payload_error(
    position: int, stream_id: str, type_name: str, exc: ValidationError
) -> CorruptRecord:
    first = exc.errors()[0]
    if first["type"] == "json_invalid":
        return CorruptRecord(position, stream_id, f"invalid JSON in data: {first['msg']}")
    field = ".".join(str(part) for part in first["loc"]) or "payload"
    return CorruptRecord(
        position,
        stream_id,
        f"{type_name} payload does not match its schema ({field}: {first['msg']})",
    )
