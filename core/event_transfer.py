"""The export file: one stored event per JSON line, exactly as it is stored.

`eventdeck export` writes every event in position order in the DESIGN.md event
shape (position, event_id, stream_id, stream_type, version, type,
schema_version, recorded_at, data, metadata); `eventdeck import` reads the same
lines back. Payloads travel as stored, never upcast, and metadata keeps every
key it has, so nothing changes in transit: the target stores the same JSON text
(written compactly, as eventdeck writes it; only the whitespace of JSON another
tool wrote would be normalised). A line that cannot be read, or that
the target store cannot take, is an `ImportRejected` naming its line number.

Only events travel: they are the source of truth. Snapshots are a cache and
read models, checkpoints and dead letters are derived from the events at their
positions (which the target may allocate anew), so the target rebuilds them
(`eventdeck catch-up`); the saga re-sends nothing, because it finds the event
ids its commands were caused by, and those are kept.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from .clock import utc_isoformat
from .errors import InvalidInput

if TYPE_CHECKING:
    from .projection_store import AuditAppend

#: The store's `correlation_id` column size.
MAX_CORRELATION_ID = 255


class TransferredEvent(BaseModel):
    """One event of an export file: the stored row, payload and metadata untouched.

    The length limits are the store's column sizes, so a line the store could not
    hold is refused with its line number rather than by the database.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    position: int = Field(ge=1)
    event_id: str = Field(min_length=1, max_length=36)
    stream_id: str = Field(min_length=1, max_length=255)
    stream_type: str = Field(min_length=1, max_length=100)
    version: int = Field(ge=1)
    type: str = Field(min_length=1, max_length=200)
    schema_version: int = Field(ge=1)
    recorded_at: AwareDatetime
    data: dict[str, Any]
    metadata: dict[str, Any]

    @field_validator("event_id", "stream_id", "stream_type", "type")
    @classmethod
    def _storable(cls, value: str) -> str:
        # SQLite would keep a NUL in these plain text columns, PostgreSQL cannot: refused
        # on both, as an append refuses it (stores/storable.py)
        if "\x00" in value:
            raise ValueError("contains a NUL character, which PostgreSQL cannot store")
        return value

    @model_validator(mode="after")
    def _storable_correlation(self) -> TransferredEvent:
        value = self.correlation_id
        if value is not None and ("\x00" in value or len(value) > MAX_CORRELATION_ID):
            raise ValueError("metadata.correlation_id must be at most 255 characters without NUL")
        return self

    @property
    def correlation_id(self) -> str | None:
        """The correlation id the store indexes (traces), taken from the metadata."""
        value = self.metadata.get("correlation_id")
        return value if isinstance(value, str) else None

    def to_json_dict(self) -> dict[str, Any]:
        """The DESIGN.md event shape, keys in its order."""
        return {
            "position": self.position,
            "event_id": self.event_id,
            "stream_id": self.stream_id,
            "stream_type": self.stream_type,
            "version": self.version,
            "type": self.type,
            "schema_version": self.schema_version,
            "recorded_at": utc_isoformat(self.recorded_at),
            "data": self.data,
            "metadata": self.metadata,
        }


class ImportLine(NamedTuple):
    """An event read from line `number` of an import (numbers count from 1)."""

    number: int
    event: TransferredEvent


class ImportBatchResult(NamedTuple):
    """What one batch did: events written, and events already in the store (by id)."""

    imported: int
    skipped: int


@dataclass(frozen=True)
class ImportedBatch:
    """What a batch that wrote something did, known inside its transaction: events
    written and skipped, and the positions its new events took (first to last)."""

    imported: int
    skipped: int
    first_position: int
    last_position: int


#: Builds the operator event recording a batch (EventsImported naming the operator),
#: which the batch's transaction appends after its events: a committed batch always
#: carries its record. Called only for a batch that writes at least one event.
ImportAudit = Callable[[ImportedBatch], "AuditAppend"]


class ImportRejected(InvalidInput):
    """A line of an import that cannot be read or does not fit the target store."""

    def __init__(self, line: int, problem: str, outcome: str = "nothing was written") -> None:
        self.line = line
        self.problem = problem
        super().__init__(f"line {line}: {problem}; {outcome}")


def export_line(event: TransferredEvent) -> str:
    """The JSON line of `event` (without the newline)."""
    return json.dumps(event.to_json_dict(), ensure_ascii=False, separators=(",", ":"))


def parse_line(raw: bytes | str, number: int) -> TransferredEvent | None:
    """The event on line `number`; None for a blank line; ImportRejected if malformed."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ImportRejected(number, f"not UTF-8 text (byte {exc.start + 1})") from None
    if not raw.strip():
        return None
    try:
        return TransferredEvent.model_validate_json(raw)
    except ValidationError as exc:
        raise ImportRejected(number, _describe(exc)) from None


def check_order(previous: int | None, event: TransferredEvent, number: int) -> None:
    """Refuse a line whose position is not after the previous line's: an export lists
    events in position order, and the import keeps that order."""
    if previous is not None and event.position <= previous:
        raise ImportRejected(
            number,
            f"position {event.position} is not after the previous line's {previous}; an "
            "export lists events in position order (was the file edited or concatenated?)",
        )


def _describe(exc: ValidationError) -> str:
    error = exc.errors(include_url=False)[0]
    if error["type"] == "json_invalid":
        return f"not valid JSON ({error['ctx'].get('error', error['msg'])})"
    if error["type"] == "model_type":
        return "not a JSON object with an event's fields"
    where = ".".join(str(part) for part in error["loc"])
    count = exc.error_count()
    more = f" (and {count - 1} more problem{'s' if count > 2 else ''})" if count > 1 else ""
    if error["type"] == "missing":
        return f"field {where!r} is missing{more}"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"field {where!r}: {message}{more}" if where else f"{message}{more}"
