"""The projection store port: checkpoints, read models, dead letters and parked events.

Read models are JSON documents by (view, generation, key) in one generic
table; a projection's view is named like the projection, and queries see the
generation of its active checkpoint. A batch's document changes, dead letters,
parked events and new checkpoint are written by one `commit`, in one
transaction, after a compare-and-set on the checkpoint it read.

`stores.projection_store.SqlProjectionStore` implements it on SQLite and
PostgreSQL; `core.memory_projection_store.InMemoryProjectionStore` in memory.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from .checkpoints import Checkpoint, ProjectionStatus
from .dead_letters import (
    DeadLetter,
    DeadLetterStatus,
    DeadLetterTally,
    DeadLetterUpdate,
    NewDeadLetter,
    ParkedEvent,
)
from .events import NewEvent
from .projections import Document


@dataclass(frozen=True)
class AuditAppend:
    """An operator event a commit appends to the event log in its own transaction.

    It goes to `stream_id` (of type `stream_type`) at that stream's next version,
    so a dead-letter retry or skip, a pause or resume, or a rebuild's switch, and
    the operator event recording it are one atomic unit: after a crash either both are stored or neither is. The store
    shares the event store's database (SQL) or holds the event store (memory).
    """

    stream_id: str
    stream_type: str
    event: NewEvent


@dataclass(frozen=True)
class Cursor:
    """A checkpoint and the streams blocked behind its open dead letters, read together."""

    checkpoint: Checkpoint
    blocked_streams: frozenset[str]


@dataclass(frozen=True)
class BatchCommit:
    """Everything one batch (or one dead-letter operation) writes, in one transaction.

    The commit applies only if the checkpoint `(name, generation)` is still at
    `expected_position` and `expected_revision` and, when `owner` is given, is
    leased to `owner`; otherwise it raises StaleCheckpoint and writes nothing.
    """

    name: str
    generation: int
    expected_position: int
    expected_revision: int
    position: int
    now: datetime
    last_event_at: datetime | None = None
    #: The lease holder (a runner); None for an operator's dead-letter retry or skip.
    owner: str | None = None
    #: With `owner`: the renewed lease's expiry (None keeps it).
    lease_expires_at: datetime | None = None
    #: None keeps the stored figure.
    events_per_second: float | None = None
    #: Documents to create or replace, as JSON text (object).
    upserts: Mapping[str, str] = field(default_factory=dict)
    deletes: Collection[str] = ()
    new_dead_letters: Collection[NewDeadLetter] = ()
    dead_letter_updates: Collection[DeadLetterUpdate] = ()
    parked: Collection[ParkedEvent] = ()
    #: Positions of parked events now applied (or now dead letters themselves).
    unparked: Collection[int] = ()
    #: The operator event recording this commit (a dead-letter retry or skip), appended
    #: to the event log in the same transaction; a stale commit appends nothing.
    audit: AuditAppend | None = None


class ProjectionStore(Protocol):
    """Where projections keep their checkpoints, read models and dead letters."""

    # -- checkpoints ------------------------------------------------------------------

    async def ensure_checkpoints(self, versions: Mapping[str, int], now: datetime) -> None:
        """Create the active checkpoint (generation 1, position 0) of each name missing one;
        `versions` maps names to their `Projection.version`."""
        ...

    async def checkpoint(self, name: str, generation: int | None = None) -> Checkpoint | None:
        """The active checkpoint of `name` (or the one of `generation`), None if none."""
        ...

    async def checkpoints(self) -> list[Checkpoint]:
        """Every checkpoint (active and rebuilding), by name then generation."""
        ...

    async def cursor(self, name: str, generation: int) -> Cursor:
        """The checkpoint of `(name, generation)` and its blocked streams, in one read.

        StaleCheckpoint if that generation no longer exists (a rebuild replaced it).
        """
        ...

    async def set_status(
        self,
        name: str,
        status: ProjectionStatus,
        now: datetime,
        *,
        audit: AuditAppend | None = None,
    ) -> Checkpoint:
        """Set the active checkpoint's status (running, paused, stopped); `audit`, the
        operator event recording it, is appended in the same transaction."""
        ...

    async def acquire_lease(
        self, name: str, generation: int, owner: str, *, now: datetime, expires_at: datetime
    ) -> Checkpoint | None:
        """Take or renew the lease of `(name, generation)` for `owner` until `expires_at`:
        granted if it is free, expired or already `owner`'s; None otherwise."""
        ...

    async def release_lease(self, name: str, generation: int, owner: str) -> None:
        """Give the lease up if `owner` holds it."""
        ...

    async def commit(self, batch: BatchCommit) -> Checkpoint:
        """Write a batch atomically (see BatchCommit); the checkpoint afterwards."""
        ...

    # -- generations (rebuild) --------------------------------------------------------

    async def start_generation(
        self,
        name: str,
        *,
        owner: str,
        now: datetime,
        expires_at: datetime,
        projection_version: int,
        position: int = 0,
        copy_active: bool = False,
    ) -> Checkpoint:
        """Start a new generation of `name`, leased to `owner`, with status rebuilding.

        A half-built generation left by an earlier rebuild is dropped first
        (RebuildInProgress if its lease is still held by someone else). The new
        one starts at `position`, empty; with `copy_active` (a rebuild from a
        time) it starts at the lower of `position` and the active checkpoint,
        from a copy of the active generation's documents, and of its dead
        letters and parked events up to that position — read atomically, so no
        batch of the active generation lands in between.
        """
        ...

    async def switch_generation(
        self,
        name: str,
        generation: int,
        *,
        owner: str,
        now: datetime,
        audit: AuditAppend | None = None,
    ) -> Checkpoint:
        """Make the rebuilt `generation` the active one and delete the old one's documents,
        dead letters and parked events, atomically. It keeps the old one's status
        (a paused projection stays paused) and its lease is released. `audit`, the
        operator event recording the rebuild (ProjectionRebuilt), is appended in the same
        transaction: the switch and its record are stored together or not at all."""
        ...

    async def drop_generation(self, name: str, generation: int) -> None:
        """Delete a non-active generation (checkpoint, documents, dead letters, parked)."""
        ...

    # -- read models ------------------------------------------------------------------

    async def get_documents(
        self, view: str, generation: int, keys: Collection[str]
    ) -> dict[str, Document]:
        """The documents at `keys` that exist (one query for the lot)."""
        ...

    async def get_document(self, view: str, key: str) -> Document | None:
        """The document at `key` in the view's active generation."""
        ...

    async def list_documents(
        self, view: str, *, limit: int | None = None, offset: int = 0
    ) -> list[tuple[str, Document]]:
        """`(key, document)` of the active generation, ordered by key."""
        ...

    async def count_documents(self, view: str, generation: int | None = None) -> int:
        """How many documents the view has (active generation unless given)."""
        ...

    # -- dead letters -----------------------------------------------------------------

    async def dead_letters(
        self,
        *,
        projection: str | None = None,
        status: DeadLetterStatus | None = None,
        generation: int | None = None,
        stream: str | None = None,
        text: str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[DeadLetter]:
        """Dead letters by projection then position; of the active generations unless
        `generation` is given (with `projection`). `stream` and `text` filter as
        `dead_letters.matches_search` does."""
        ...

    async def dead_letters_at(self, positions: Collection[int]) -> list[DeadLetter]:
        """Dead letters of the active generations on the events at `positions`, any
        status, by position then projection (a trace's few events, not every letter)."""
        ...

    async def dead_letter(self, dead_letter_id: int) -> DeadLetter | None: ...

    async def dead_letter_counts(self) -> dict[str, int]:
        """Open dead letters per projection, active generations only."""
        ...

    async def dead_letter_tally(
        self,
        *,
        projection: str | None = None,
        status: DeadLetterStatus | None = None,
        stream: str | None = None,
        text: str | None = None,
    ) -> DeadLetterTally:
        """How many dead letters of the active generations match (filters as in
        `dead_letters`), on how many streams, with how many events parked behind them;
        counted by the store, not by loading the letters."""
        ...

    async def parked_events(
        self, name: str, generation: int, stream_id: str | None = None
    ) -> list[ParkedEvent]:
        """Parked events of a generation (of one stream if given), by position."""
        ...
