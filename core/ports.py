"""The ports `stores` implements: the event store, the snapshot store, event transfer."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from .event_transfer import ImportAudit, ImportBatchResult, ImportLine, TransferredEvent
from .events import NewEvent, RecordedEvent, StoredPayload
from .snapshots import Snapshot


class StreamInfo(BaseModel):
    """One stream: its type, current version and first and last change."""

    model_config = ConfigDict(frozen=True)

    stream_id: str
    stream_type: str
    version: int
    created_at: datetime
    updated_at: datetime


class EventStore(Protocol):
    """Append-only store of events, one global order (`position`)."""

    async def append(
        self,
        stream_id: str,
        stream_type: str,
        events: Sequence[NewEvent],
        expected_version: int,
    ) -> list[RecordedEvent]:
        """Append in one transaction. `expected_version` 0 means a new stream.

        Raises ConcurrencyError (writing nothing) if the stream's version differs.
        """
        ...

    async def read_stream(
        self,
        stream_id: str,
        *,
        from_version: int = 1,
        to_version: int | None = None,
        until: datetime | None = None,
    ) -> list[RecordedEvent]:
        """A stream's events in version order, optionally bounded by version or time."""
        ...

    async def read_payloads(
        self, stream_id: str, *, from_version: int = 1, to_version: int | None = None
    ) -> list[StoredPayload]:
        """The payloads of a stream's events in version order (loading aggregates)."""
        ...

    async def read_correlated(
        self, correlation_id: str, *, limit: int = 10_000
    ) -> list[RecordedEvent]:
        """Events whose metadata carries `correlation_id`, in position order (traces)."""
        ...

    async def read_event(self, event_id: str) -> RecordedEvent | None:
        """The event with `event_id` (unique), None if there is none."""
        ...

    def read_all(
        self,
        *,
        from_position: int = 1,
        to_position: int | None = None,
        types: Sequence[str] | None = None,
        stream_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        page_size: int = 1000,
    ) -> AsyncIterator[RecordedEvent]:
        """Every matching event in position order, read page by page (constant memory)."""
        ...

    async def count_streams_by_type(self) -> dict[str, int]:
        """How many streams of each type, by type name."""
        ...

    async def count_events(
        self,
        types: Sequence[str],
        *,
        user_id: str | None = None,
        from_position: int = 1,
        to_position: int | None = None,
    ) -> dict[str, int]:
        """How many events of each of `types` (issued by `user_id`, if given) lie between
        the positions; every type asked for is a key. Reads the type index, never the
        whole table: cheap for rare types, and for a window of positions."""
        ...

    async def head_position(self) -> int:
        """The highest committed position, 0 for an empty store."""
        ...

    async def stream_info(self, stream_id: str) -> StreamInfo | None: ...

    async def stream_version_at(self, stream_id: str, at: datetime) -> int:
        """The stream's version as of time `at` (0 if it did not exist yet)."""
        ...

    async def list_streams(
        self,
        *,
        stream_type: str | None = None,
        prefix: str | None = None,
        as_of: datetime | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[StreamInfo]:
        """Streams ordered by id; `as_of` gives them as they were at that time."""
        ...

    async def close(self) -> None: ...


class SnapshotStore(Protocol):
    """Several snapshots per stream, by version."""

    async def save(self, snapshot: Snapshot) -> None: ...

    async def latest(self, stream_id: str, *, at_or_below: int | None = None) -> Snapshot | None:
        """The newest snapshot at or below a version (any version if None)."""
        ...

    async def versions(self, stream_id: str) -> list[int]:
        """The versions at which the stream has snapshots, ascending."""
        ...


class EventTransfer(Protocol):
    """Events out of one store and into another exactly (core/event_transfer.py)."""

    def export_events(
        self, *, since: datetime | None = None, page_size: int = 1000
    ) -> AsyncIterator[TransferredEvent]:
        """Every event up to the head as it is now (recorded at or after `since`), in
        position order, payload and metadata as stored; read page by page."""
        ...

    async def import_batch(
        self, batch: Sequence[ImportLine], *, audit: ImportAudit | None = None
    ) -> ImportBatchResult:
        """Append the lines' events in their order, in one transaction, keeping every field
        but the position (allocated anew, in the same order). An event whose id is stored
        already at the same stream and version is skipped; one that does not continue its
        stream's versions is an ImportRejected naming its line, and the batch writes nothing.
        If the batch writes any event, `audit`'s operator event recording it is appended
        after them in the same transaction (a batch that only skips appends nothing)."""
        ...
