"""What `eventdeck doctor` asks a store (the `StoreChecks` port) and what it reports.

The store answers with facts — counts and a few examples, each found by one
set-based query, never by loading a table — and core/doctor.py turns them into
findings: a severity, what is wrong, and the command that fixes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal, Protocol

from pydantic import BaseModel

from .checkpoints import Checkpoint

Severity = Literal["error", "warning", "info"]
CheckStatus = Literal["ok", "info", "warning", "error", "skipped"]


class Finding(BaseModel):
    """One thing the doctor found: how bad, what, and what to do about it."""

    check: str
    severity: Severity
    what: str
    #: The command (or the step) that fixes it; empty for information.
    fix: str = ""
    #: The projection or stream it is about, when there is one.
    subject: str | None = None
    #: A few examples (the count is in `what`).
    examples: list[str] = []


class CheckRun(BaseModel):
    """One check: passed (ok), found something, or skipped (and why)."""

    name: str
    status: CheckStatus
    seconds: float
    note: str = ""


class DoctorReport(BaseModel):
    """`eventdeck doctor --json`."""

    store: str
    healthy: bool
    errors: int
    warnings: int
    checks: list[CheckRun]
    findings: list[Finding]


# -- the facts a store answers with -----------------------------------------------------


class SchemaFacts(BaseModel):
    """The store's layout: the version it records and the tables it lacks."""

    stored: int | None
    expected: int
    missing_tables: list[str]
    #: The recorded version as text when it is not a number.
    unreadable: str | None = None


class StreamProblem(BaseModel):
    """A stream whose events or `streams` row disagree."""

    stream_id: str
    #: Events stored, and their lowest and highest version (0 if none).
    events: int
    first_version: int
    last_version: int
    #: The version the `streams` row records (None: no row).
    recorded_version: int | None


class StreamFacts(BaseModel):
    """Versions per stream: contiguous from 1, and matching the `streams` rows."""

    streams: int
    #: Streams whose versions are not exactly 1..N.
    gaps: int
    #: Streams whose `streams` row is missing or names another version.
    index_mismatches: int
    #: `streams` rows of streams without any event.
    rows_without_events: int
    examples: list[StreamProblem]


class PositionFacts(BaseModel):
    """The log's head, and streams whose positions do not follow their versions."""

    head: int
    head_at: datetime | None
    out_of_order: int
    examples: list[str]


class SnapshotFacts(BaseModel):
    """Snapshots without a stored event at their stream and version (or of another type)."""

    snapshots: int
    orphaned: int
    examples: list[str]


class DeadLetterFacts(BaseModel):
    """Open dead letters and the events parked behind them, per projection (active
    generations)."""

    open: dict[str, int]
    parked: dict[str, int]


class LockHolder(BaseModel):
    """A session holding the lock every append takes (PostgreSQL), and for how long."""

    what: str
    holder: str
    seconds: float | None
    waiting: int = 0


class StoreChecks(Protocol):
    """The doctor's questions, each one set-based query (stores.store_checks)."""

    @property
    def display_url(self) -> str:
        """The store's URL, password hidden."""
        ...

    async def schema(self) -> SchemaFacts: ...

    async def streams(self, examples: int) -> StreamFacts: ...

    async def positions(self, examples: int) -> PositionFacts: ...

    async def snapshots(self, examples: int) -> SnapshotFacts: ...

    async def checkpoints(self) -> Sequence[Checkpoint]: ...

    async def dead_letters(self) -> DeadLetterFacts: ...

    async def lock_holders(self) -> list[LockHolder]:
        """Who holds the append lock now; empty where the store has none to ask (SQLite)."""
        ...
