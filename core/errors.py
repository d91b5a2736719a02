"""One error hierarchy for everything a user or a stored row can get wrong.

Every error carries a message that says what was wrong and what to do; the
command line prints it as one line and exits non-zero.
"""

from __future__ import annotations


class EventdeckError(Exception):
    """Base of every error eventdeck reports to a user."""

    exit_code = 1


class InvalidInput(EventdeckError):
    """A command or option was malformed (bad amount, bad item syntax, ...)."""

    exit_code = 2


class InvalidTransition(EventdeckError):
    """A business rule refused the command (e.g. shipping a PENDING order)."""

    exit_code = 3


class StreamNotFound(EventdeckError):
    """No stream has the given id."""

    exit_code = 4

    def __init__(self, stream_id: str, hint: str = "") -> None:
        self.stream_id = stream_id
        message = f"stream {stream_id!r} not found"
        super().__init__(
            message + (f"; {hint}" if hint else "; list streams with `eventdeck streams`")
        )


class ConcurrencyError(EventdeckError):
    """The stream's version was not the expected one; nothing was written."""

    exit_code = 5

    def __init__(
        self, stream_id: str, expected: int, actual: int | None, attempts: int | None = None
    ) -> None:
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual
        self.attempts = attempts
        tried = f" after {attempts} attempts" if attempts else ""
        super().__init__(
            f"concurrency conflict on stream {stream_id!r}{tried}: expected version {expected}, "
            f"found {actual if actual is not None else 'another'}; nothing was written, "
            "retry the command"
        )


class StoredRecordError(EventdeckError):
    """Base of the errors about one stored row: names its position and stream."""

    exit_code = 6

    def __init__(self, position: int | None, stream_id: str, problem: str) -> None:
        self.position = position
        self.stream_id = stream_id
        self.problem = problem
        where = f"event at position {position}" if position is not None else "stored record"
        super().__init__(f"{where} in stream {stream_id!r}: {problem}")


class CorruptRecord(StoredRecordError):
    """A stored row cannot be decoded (invalid JSON, wrong shape)."""


class UnknownEventType(StoredRecordError):
    """A stored row names an event type this eventdeck does not know."""

    def __init__(self, position: int | None, stream_id: str, event_type: str) -> None:
        self.event_type = event_type
        super().__init__(
            position,
            stream_id,
            f"unknown event type {event_type!r}; is this store used by another application?",
        )


class UnsupportedSchema(StoredRecordError):
    """A stored row has a schema version newer than this eventdeck knows."""

    def __init__(
        self, position: int | None, stream_id: str, event_type: str, found: int, known: int
    ) -> None:
        self.event_type = event_type
        self.found = found
        self.known = known
        super().__init__(
            position,
            stream_id,
            f"{event_type} has schema version {found}, newer than the {known} this eventdeck "
            "knows; upgrade eventdeck",
        )


class StoreError(EventdeckError):
    """The store cannot be opened or used (bad URL, newer schema, unreachable)."""

    exit_code = 7


class ReadOnlyError(EventdeckError):
    """A write was attempted on a store opened read-only."""

    exit_code = 8


def read_only_refusal(action: str) -> str:
    """The one message every read-only refusal gives, from the console to the database."""
    return f"cannot {action}: eventdeck was started with --read-only"


class UnknownProjection(InvalidInput):
    """A projection, saga or view name that this eventdeck does not know."""

    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        super().__init__(
            f"unknown projection {name!r}; known: {', '.join(sorted(known)) or 'none'} "
            "(list them with `eventdeck projections`)"
        )


class DeadLetterNotFound(EventdeckError):
    """No dead letter has the given id."""

    exit_code = 4

    def __init__(self, dead_letter_id: int) -> None:
        self.dead_letter_id = dead_letter_id
        super().__init__(f"dead letter {dead_letter_id} not found; list them with `eventdeck dlq`")


class StaleCheckpoint(EventdeckError):
    """A checkpoint moved since it was read (another worker, a rebuild or an operator
    committed first); nothing was written. The runner re-reads it and goes on."""

    exit_code = 5


class RebuildInProgress(EventdeckError):
    """Another process is rebuilding this projection right now."""

    exit_code = 5
