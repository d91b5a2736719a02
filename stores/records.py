"""Rows to envelopes and back: JSON text columns, decoded one row at a time.

A row whose JSON cannot be read becomes `CorruptRecord` naming its position
and stream, so one bad row never hides the rest of the store. Types and
payloads are not interpreted here: upcasting is core's job (core/registry.py).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from json.encoder import encode_basestring
from typing import Any

import orjson
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
_orjson_loads = orjson.loads
_OrjsonError = orjson.JSONDecodeError


def _decode(text: str) -> Any:
    # orjson reads a small object several times faster than the json module; it
    # refuses a few things json reads (an integer over 64 bits, a lone surrogate
    # escape, NaN), so those are read again by json, and what json refuses is
    # corrupt. raw_decode skips json.loads' whitespace regexes; we write no
    # padding, so a value that does not end where the text ends is as corrupt.
    try:
        return _orjson_loads(text)
    except _OrjsonError:
        pass
    value, end = _raw_decode(text)
    if end != len(text):
        raise ValueError(f"extra data at character {end}")
    return value


def dump_json(value: Mapping[str, Any], what: str) -> str:
    """Compact JSON text of `value`; StoreError (before anything is written) if it is not JSON."""
    try:
        return _encode(value)
    except (TypeError, ValueError, RecursionError) as exc:
        raise StoreError(f"{what} is not JSON-serialisable ({exc}); nothing was written") from None


# `_encoder.encode` builds the C encoder again on every call (a third of its cost on
# a small payload); built once here, without the circular-reference bookkeeping (a
# cycle ends in RecursionError instead, also a StoreError).
_c_make_encoder: Any = getattr(json.encoder, "c_make_encoder", None)
_c_encode = (
    _c_make_encoder(None, _encoder.default, encode_basestring, None, ":", ",", False, False, False)
    if _c_make_encoder is not None
    else None
)


def _encode(value: Any) -> str:
    if _c_encode is not None and type(value) is dict:
        return "".join(_c_encode(value, 0))
    return _encoder.encode(value)


def json_member(key: str, value: str) -> str:
    """`"key":"value"` exactly as `dump_json` writes that member inside an object, so a
    substring search finds it in stored JSON (case-sensitively, no JSON parsing)."""
    return f"{_encoder.encode(key)}:{_encoder.encode(value)}"


#: The columns an append writes besides `position`, in the table's order: the
#: values of `event_values`.
EVENT_VALUE_COLUMNS = tuple(c.name for c in event_table.columns if c.name != "position")
#: `metadata_json` writes these members itself while they are Metadata's only fields.
_PLAIN_METADATA = tuple(Metadata.model_fields) == ("user_id", "correlation_id", "causation_id")


def metadata_json(metadata: Metadata) -> str:
    """`dump_json(metadata.model_dump())`, written directly for the plain Metadata model."""
    if type(metadata) is not Metadata or not _PLAIN_METADATA:
        return dump_json(metadata.model_dump(), "the metadata")
    return (
        f'{{"user_id":{_text(metadata.user_id)},'
        f'"correlation_id":{_text(metadata.correlation_id)},'
        f'"causation_id":{_text(metadata.causation_id)}}}'
    )


def _text(value: str | None) -> str:
    return "null" if value is None else encode_basestring(value)


def stored_time(at: datetime, sqlite: bool) -> Any:
    """`recorded_at` as the `events` table takes it: aware UTC; on SQLite the text
    that `stores.schema.UtcDateTime` writes (tested to match)."""
    if at.tzinfo is not UTC:
        at = ensure_utc(at)
    # "YYYY-MM-DD HH:MM:SS.ffffff+00:00" without its offset (fixed width)
    return at.isoformat(" ", "microseconds")[:26] if sqlite else at


def event_values(
    stream_id: str,
    stream_type: str,
    expected_version: int,
    events: Sequence[NewEvent],
    *,
    sqlite: bool,
) -> list[tuple[Any, ...]]:
    """The `events` rows (EVENT_VALUE_COLUMNS) of an append after `expected_version`.

    StoreError, before anything is written, if a payload is not JSON. The
    metadata shared by consecutive events is encoded once.
    """
    if not (type(stream_id) is str and type(stream_type) is str):
        raise StoreError(
            f"a stream's id and type must be text, not {stream_id!r} and {stream_type!r}; "
            "nothing was written"
        )
    rows: list[tuple[Any, ...]] = []
    append = rows.append
    encode = _c_encode
    last_metadata: Metadata | None = None
    metadata_text = ""
    for version, event in enumerate(events, start=expected_version + 1):
        metadata = event.metadata
        if metadata is not last_metadata:
            metadata_text = metadata_json(metadata)
            last_metadata = metadata
        data = event.data
        try:
            if encode is None or type(data) is not dict:
                raise TypeError
            data_text = "".join(encode(data, 0))
        except (TypeError, ValueError, RecursionError):
            data_text = dump_json(data, f"the data of event {event.event_id}")
        at = event.recorded_at
        if at.tzinfo is UTC:
            stored = at.isoformat(" ", "microseconds")[:26] if sqlite else at
        else:
            stored = stored_time(at, sqlite)
        append(
            (
                event.event_id,
                stream_id,
                stream_type,
                version,
                event.type,
                event.schema_version,
                data_text,
                metadata_text,
                metadata.correlation_id,
                stored,
            )
        )
    return rows


def event_row(stream_id: str, stream_type: str, version: int, event: NewEvent) -> dict[str, Any]:
    """The `events` row for a new event at `version` (`recorded_at` an aware datetime)."""
    (values,) = event_values(stream_id, stream_type, version - 1, [event], sqlite=False)
    return dict(zip(EVENT_VALUE_COLUMNS, values, strict=True))


def recorded(
    position: int, stream_id: str, stream_type: str, version: int, event: NewEvent
) -> RecordedEvent:
    """The envelope of a just-appended event, as a later read will return it.

    Built without validating again what NewEvent validated (half the cost of
    the append's envelopes); `event_values` checked the stream's id and type.
    """
    at = event.recorded_at
    return recorded_event_from_checked(
        {
            "position": position,
            "event_id": event.event_id,
            "stream_id": stream_id,
            "stream_type": stream_type,
            "version": version,
            "type": event.type,
            "schema_version": event.schema_version,
            # a copy, as validation made it: the caller's dict stays the caller's
            "data": dict(event.data),
            "metadata": event.metadata,
            "recorded_at": at if at.tzinfo is UTC else ensure_utc(at),
        }
    )


def decode_event(row: Any) -> RecordedEvent:
    """One `events` row (EVENT_COLUMNS, from SQLAlchemy or the raw driver) as a RecordedEvent.

    The columns' types are checked here, then the envelope is built without a
    second validation (`recorded_event_from_checked`); a row that fails a check
    is decoded again through pydantic, whose error names the bad field.
    """
    # Unpacking the row as a tuple is much cheaper than attribute access per column.
    (
        position,
        event_id,
        stream_id,
        stream_type,
        version,
        type_,
        schema_version,
        data_text,
        metadata_text,
        stored_at,
    ) = row
    try:  # the common case inline (this runs for every event read): see _load_object
        data = _orjson_loads(data_text)
    except _OrjsonError:
        data = None
    if type(data) is not dict:
        data = _load_object(data_text, "data", position, stream_id)
    metadata: Metadata | None
    recorded_at: datetime | None
    try:
        metadata = _metadata(metadata_text)
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


#: The last metadata decoded, by its stored text: the events of one command are
#: consecutive and share their metadata, and `Metadata` is frozen, so they can
#: share one instance instead of each parsing and validating the same text.
_last_metadata: tuple[str, Metadata] | None = None
#: The validator itself: `Metadata.model_validate_json` wraps it in Python that
#: costs as much again as the validation (about 4,000 instructions a call).
_metadata_from_json = Metadata.__pydantic_validator__.validate_json


def _metadata(text: Any) -> Metadata:
    global _last_metadata
    last = _last_metadata
    if last is not None and last[0] == text:
        return last[1]
    metadata: Metadata = _metadata_from_json(text)
    _last_metadata = (text, metadata)
    return metadata


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
