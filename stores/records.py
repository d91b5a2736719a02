"""Rows to envelopes and back: JSON text columns, decoded one row at a time.

A row whose JSON cannot be read becomes `CorruptRecord` naming its position
and stream, so one bad row never hides the rest of the store. Types and
payloads are not interpreted here: upcasting is core's job (core/registry.py).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from core.clock import ensure_utc
from core.errors import CorruptRecord, StoreError
from core.events import Metadata, NewEvent, RecordedEvent, recorded_event_from_checked

from .schema import events as event_table
from .schema import parse_stored_time

#: The columns `decode_event` reads, in one place so every query selects the same.
EVENT_COLUMNS = (
    event_table.c.position,
    event_table.c.event_id,
    event_table.c.stream_id,
    event_table.c.stream_type,
    event_table.c.version,
    event_table.c.type,
    event_table.c.schema_version,
    event_table.c.data,
    event_table.c["metadata"],
    event_table.c.recorded_at,
)

#: The columns of `core.events.StoredPayload`, in its order.
PAYLOAD_COLUMNS = (
    event_table.c.position,
    event_table.c.stream_id,
    event_table.c.stream_type,
    event_table.c.version,
    event_table.c.type,
    event_table.c.schema_version,
    event_table.c.data,
    event_table.c.recorded_at,
)

_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
_raw_decode = json.JSONDecoder().raw_decode


def _decode(text: str) -> Any:
    # raw_decode skips json.loads' whitespace regexes; we write no padding, so a
    # value that does not end where the text ends is as corrupt as any other.
    value, end = _raw_decode(text)
    if end != len(text):
        raise ValueError(f"extra data at character {end}")
    return value


def dump_json(value: Mapping[str, Any], what: str) -> str:
    """Compact JSON text of `value`; StoreError (before anything is written) if it is not JSON."""
    try:
        return _encoder.encode(value)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"{what} is not JSON-serialisable ({exc}); nothing was written") from None


def json_member(key: str, value: str) -> str:
    """`"key":"value"` exactly as `dump_json` writes that member inside an object, so a
    substring search finds it in stored JSON (case-sensitively, no JSON parsing)."""
    return f"{_encoder.encode(key)}:{_encoder.encode(value)}"


def event_row(stream_id: str, stream_type: str, version: int, event: NewEvent) -> dict[str, Any]:
    """The `events` row for a new event at `version`."""
    return {
        "event_id": event.event_id,
        "stream_id": stream_id,
        "stream_type": stream_type,
        "version": version,
        "type": event.type,
        "schema_version": event.schema_version,
        "data": dump_json(event.data, f"the data of event {event.event_id}"),
        "metadata": dump_json(event.metadata.model_dump(), f"the metadata of {event.event_id}"),
        "correlation_id": event.metadata.correlation_id,
        "recorded_at": ensure_utc(event.recorded_at),
    }


def recorded(
    position: int, stream_id: str, stream_type: str, version: int, event: NewEvent
) -> RecordedEvent:
    """The envelope of a just-appended event, as a later read will return it."""
    return RecordedEvent(
        position=position,
        event_id=event.event_id,
        stream_id=stream_id,
        stream_type=stream_type,
        version=version,
        type=event.type,
        schema_version=event.schema_version,
        data=event.data,
        metadata=event.metadata,
        recorded_at=ensure_utc(event.recorded_at),
    )


def decode_event(row: Any) -> RecordedEvent:
    """One `events` row (EVENT_COLUMNS, from SQLAlchemy or the raw driver) as a RecordedEvent.

    The columns' types are checked here, then the envelope is built without a
    second validation (`recorded_event_from_checked`); a row that fails a check
    is decoded again through pydantic, whose error names the bad field.
    """
    # Unpacking the row as a tuple is much cheaper than attribute access per column.
    (position, event_id, stream_id, stream_type, version, type_, schema_version) = row[:7]
    data_text, metadata_text, stored_at = row[7:]
    data = _load_object(data_text, "data", position, stream_id)
    metadata: Metadata | None
    recorded_at: datetime | None
    try:
        metadata = Metadata.model_validate_json(metadata_text)
        recorded_at = parse_stored_time(stored_at)
    except (ValidationError, ValueError, TypeError):
        metadata = recorded_at = None
    if (
        type(position) is int
        and type(version) is int
        and type(schema_version) is int
        and type(event_id) is str
        and type(stream_id) is str
        and type(stream_type) is str
        and type(type_) is str
        and metadata is not None
    ):
        return recorded_event_from_checked(
            {
                "position": position,
                "event_id": event_id,
                "stream_id": stream_id,
                "stream_type": stream_type,
                "version": version,
                "type": type_,
                "schema_version": schema_version,
                "data": data,
                "metadata": metadata,
                "recorded_at": recorded_at,
            }
        )
    fields = {
        "position": position,
        "event_id": event_id,
        "stream_id": stream_id,
        "stream_type": stream_type,
        "version": version,
        "type": type_,
        "schema_version": schema_version,
        "data": data,
        "metadata": _load_object(metadata_text, "metadata", position, stream_id),
        "recorded_at": recorded_at if recorded_at is not None else stored_at,
    }
    try:
        return RecordedEvent.model_validate(fields)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        raise CorruptRecord(position, stream_id, f"invalid {where}: {error['msg']}") from None


def load_state(text: str) -> dict[str, Any] | None:
    """A snapshot's state, or None if its JSON is unreadable (the snapshot is then ignored)."""
    try:
        state = json.loads(text)
    except (TypeError, ValueError):
        return None
    return state if isinstance(state, dict) else None


def _load_object(text: str, column: str, position: int, stream_id: str) -> dict[str, Any]:
    try:
        value = _decode(text)
    except (TypeError, ValueError) as exc:
        raise CorruptRecord(position, stream_id, f"invalid JSON in {column}: {exc}") from None
    if not isinstance(value, dict):
        problem = f"invalid JSON in {column}: expected an object, found {type(value).__name__}"
        raise CorruptRecord(position, stream_id, problem)
    return value
