"""Dead letters and the events parked behind them.

An event a projection keeps failing on (or cannot decode) becomes a dead
letter. Until it is retried successfully or skipped, the later events of the
same stream for that projection are parked behind it (recorded, not applied),
so per-stream order holds while other streams go on. A stream has at most one
open dead letter per projection generation: the earliest event not applied.
"""

from __future__ import annotations

import traceback
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from .events import RecordedEvent


class DeadLetterStatus(StrEnum):
    OPEN = "open"
    RETRIED = "retried"
    SKIPPED = "skipped"


class DeadLetter(BaseModel):
    """A failed event of one projection generation, with what went wrong."""

    model_config = ConfigDict(frozen=True)

    id: int
    projection: str
    generation: int
    position: int
    event_id: str
    stream_id: str
    event_type: str
    #: One line: exception type and message.
    error: str
    traceback: str
    attempts: int
    status: DeadLetterStatus
    first_failed_at: datetime
    last_failed_at: datetime
    #: Events of the same stream parked behind it (0 unless open).
    parked: int = 0

    def to_json_dict(self) -> dict[str, Any]:
        """The stable `dlq --json` shape (DESIGN.md), plus `generation` and `parked`."""
        return {
            "id": self.id,
            "projection": self.projection,
            "position": self.position,
            "stream_id": self.stream_id,
            "event_type": self.event_type,
            "error": self.error,
            "attempts": self.attempts,
            "status": self.status.value,
            "first_failed_at": self.first_failed_at.isoformat(),
            "last_failed_at": self.last_failed_at.isoformat(),
            "generation": self.generation,
            "parked": self.parked,
        }


class DeadLetterTally(BaseModel):
    """How many dead letters a filter finds, on how many streams, and how many events
    are parked behind them: what a bulk retry or skip would touch."""

    model_config = ConfigDict(frozen=True)

    entries: int = 0
    #: Distinct (projection, stream) pairs.
    streams: int = 0
    parked: int = 0


def matches_search(dead: DeadLetter, stream: str | None, text: str | None) -> bool:
    """Whether a dead letter passes the list's filters (both case-insensitive):
    `stream` a stream id prefix, `text` part of its stream id, event type or error."""
    if stream and not dead.stream_id.lower().startswith(stream.lower()):
        return False
    if not text:
        return True
    wanted = text.lower()
    return any(wanted in part.lower() for part in (dead.stream_id, dead.event_type, dead.error))


class NewDeadLetter(BaseModel):
    """A dead letter about to be stored (the store assigns its id)."""

    model_config = ConfigDict(frozen=True)

    position: int
    event_id: str
    stream_id: str
    event_type: str
    error: str
    traceback: str
    attempts: int
    failed_at: datetime

    @classmethod
    def of(
        cls, record: RecordedEvent, exc: BaseException, attempts: int, at: datetime
    ) -> NewDeadLetter:
        error, trace = describe_failure(exc)
        return cls(
            position=record.position,
            event_id=record.event_id,
            stream_id=record.stream_id,
            event_type=record.type,
            error=error,
            traceback=trace,
            attempts=attempts,
            failed_at=at,
        )


class DeadLetterUpdate(BaseModel):
    """A change to a stored dead letter: retried, skipped, or failed once more."""

    model_config = ConfigDict(frozen=True)

    id: int
    status: DeadLetterStatus
    attempts: int
    last_failed_at: datetime
    error: str | None = None
    traceback: str | None = None


class ParkedEvent(BaseModel):
    """An event held back behind its stream's open dead letter."""

    model_config = ConfigDict(frozen=True)

    position: int
    event_id: str
    stream_id: str
    event_type: str
    parked_at: datetime

    @classmethod
    def of(cls, record: RecordedEvent, at: datetime) -> ParkedEvent:
        return cls(
            position=record.position,
            event_id=record.event_id,
            stream_id=record.stream_id,
            event_type=record.type,
            parked_at=at,
        )


def describe_failure(exc: BaseException) -> tuple[str, str]:
    """(one line "Type: message", the formatted traceback) of an exception."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    message = lines[0] if lines else ""
    error = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return error, "".join(traceback.format_exception(exc))
