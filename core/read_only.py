"""Read-only mode, enforced at the ports: every write of the core goes through one.

The composition root wraps the event store, the snapshot store and the
projection store in the guards below, all sharing one `WriteGate`. While the
gate is closed (`--read-only`), every write method raises ReadOnlyError before
it reaches the store — commands and seeding (appends), snapshots, projection
catch-up, workers and rebuilds (checkpoints, leases, batches, generations),
dead-letter retry and skip (batch commits) and pause and resume (status, and
the operator event) — whichever front end asked, and whether or not it checked
first. Reads pass straight through. The database is opened read-only as well
(stores/engine.py), so a write that bypassed the ports would still fail.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from datetime import datetime

from .checkpoints import Checkpoint, ProjectionStatus
from .dead_letters import DeadLetter, DeadLetterStatus, DeadLetterTally, ParkedEvent
from .errors import ReadOnlyError, read_only_refusal
from .events import NewEvent, RecordedEvent, StoredPayload
from .ports import EventStore, SnapshotStore, StreamInfo
from .projection_store import AuditAppend, BatchCommit, Cursor, ProjectionStore
from .projections import Document
from .snapshots import Snapshot


class WriteGate:
    """Open (writes allowed) or read-only; shared by every guard of one system."""

    def __init__(self, read_only: bool = False) -> None:
        self.read_only = read_only

    def check(self, action: str) -> None:
        """Raise ReadOnlyError naming `action` when the gate is read-only."""
        if self.read_only:
            raise ReadOnlyError(read_only_refusal(action))


class GuardedEventStore:
    """An EventStore whose `append` the gate can refuse."""

    def __init__(self, inner: EventStore, gate: WriteGate) -> None:
        self.inner = inner
        self.gate = gate

    async def append(
        self,
        stream_id: str,
        stream_type: str,
        events: Sequence[NewEvent],
        expected_version: int,
    ) -> list[RecordedEvent]:
        self.gate.check(f"append events to stream {stream_id!r}")
        return await self.inner.append(stream_id, stream_type, events, expected_version)

    async def read_stream(
        self,
        stream_id: str,
        *,
        from_version: int = 1,
        to_version: int | None = None,
        until: datetime | None = None,
    ) -> list[RecordedEvent]:
        return await self.inner.read_stream(
            stream_id, from_version=from_version, to_version=to_version, until=until
        )

    async def read_payloads(
        self, stream_id: str, *, from_version: int = 1, to_version: int | None = None
    ) -> list[StoredPayload]:
        return await self.inner.read_payloads(
            stream_id, from_version=from_version, to_version=to_version
        )

    async def read_correlated(
        self, correlation_id: str, *, limit: int = 10_000
    ) -> list[RecordedEvent]:
        return await self.inner.read_correlated(correlation_id, limit=limit)

    async def read_event(self, event_id: str) -> RecordedEvent | None:
        return await self.inner.read_event(event_id)

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
        return self.inner.read_all(
            from_position=from_position,
            to_position=to_position,
            types=types,
            stream_id=stream_id,
            since=since,
            until=until,
            page_size=page_size,
        )

    async def count_streams_by_type(self) -> dict[str, int]:
        return await self.inner.count_streams_by_type()

    async def count_events(
        self,
        types: Sequence[str],
        *,
        user_id: str | None = None,
        from_position: int = 1,
        to_position: int | None = None,
    ) -> dict[str, int]:
        return await self.inner.count_events(
            types, user_id=user_id, from_position=from_position, to_position=to_position
        )

    async def head_position(self) -> int:
        return await self.inner.head_position()

    async def stream_info(self, stream_id: str) -> StreamInfo | None:
        return await self.inner.stream_info(stream_id)

    async def stream_version_at(self, stream_id: str, at: datetime) -> int:
        return await self.inner.stream_version_at(stream_id, at)

    async def list_streams(
        self,
        *,
        stream_type: str | None = None,
        prefix: str | None = None,
        as_of: datetime | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[StreamInfo]:
        return await self.inner.list_streams(
            stream_type=stream_type, prefix=prefix, as_of=as_of, limit=limit, offset=offset
        )

    async def close(self) -> None:
        await self.inner.close()


class GuardedSnapshotStore:
    """A SnapshotStore whose `save` the gate can refuse."""

    def __init__(self, inner: SnapshotStore, gate: WriteGate) -> None:
        self.inner = inner
        self.gate = gate

    async def save(self, snapshot: Snapshot) -> None:
        self.gate.check(f"save a snapshot of stream {snapshot.stream_id!r}")
        await self.inner.save(snapshot)

    async def latest(self, stream_id: str, *, at_or_below: int | None = None) -> Snapshot | None:
        return await self.inner.latest(stream_id, at_or_below=at_or_below)

    async def versions(self, stream_id: str) -> list[int]:
        return await self.inner.versions(stream_id)


class GuardedProjectionStore:
    """A ProjectionStore whose every write (checkpoints, leases, batches,
    generations) the gate can refuse."""

    def __init__(self, inner: ProjectionStore, gate: WriteGate) -> None:
        self.inner = inner
        self.gate = gate

    # -- writes -----------------------------------------------------------------------

    async def ensure_checkpoints(self, versions: Mapping[str, int], now: datetime) -> None:
        self.gate.check("create projection checkpoints")
        await self.inner.ensure_checkpoints(versions, now)

    async def set_status(
        self,
        name: str,
        status: ProjectionStatus,
        now: datetime,
        *,
        audit: AuditAppend | None = None,
    ) -> Checkpoint:
        self.gate.check(f"set projection {name} {status.value}")
        return await self.inner.set_status(name, status, now, audit=audit)

    async def acquire_lease(
        self, name: str, generation: int, owner: str, *, now: datetime, expires_at: datetime
    ) -> Checkpoint | None:
        self.gate.check(f"take the lease of projection {name}")
        return await self.inner.acquire_lease(
            name, generation, owner, now=now, expires_at=expires_at
        )

    async def release_lease(self, name: str, generation: int, owner: str) -> None:
        self.gate.check(f"release the lease of projection {name}")
        await self.inner.release_lease(name, generation, owner)

    async def commit(self, batch: BatchCommit) -> Checkpoint:
        self.gate.check(f"commit projection {batch.name}")
        return await self.inner.commit(batch)

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
        self.gate.check(f"rebuild projection {name}")
        return await self.inner.start_generation(
            name,
            owner=owner,
            now=now,
            expires_at=expires_at,
            projection_version=projection_version,
            position=position,
            copy_active=copy_active,
        )

    async def switch_generation(
        self,
        name: str,
        generation: int,
        *,
        owner: str,
        now: datetime,
        audit: AuditAppend | None = None,
    ) -> Checkpoint:
        self.gate.check(f"switch projection {name} to its rebuilt read model")
        return await self.inner.switch_generation(
            name, generation, owner=owner, now=now, audit=audit
        )

    async def drop_generation(self, name: str, generation: int) -> None:
        self.gate.check(f"drop a generation of projection {name}")
        await self.inner.drop_generation(name, generation)

    # -- reads ------------------------------------------------------------------------

    async def checkpoint(self, name: str, generation: int | None = None) -> Checkpoint | None:
        return await self.inner.checkpoint(name, generation)

    async def checkpoints(self) -> list[Checkpoint]:
        return await self.inner.checkpoints()

    async def cursor(self, name: str, generation: int) -> Cursor:
        return await self.inner.cursor(name, generation)

    async def get_documents(
        self, view: str, generation: int, keys: Collection[str]
    ) -> dict[str, Document]:
        return await self.inner.get_documents(view, generation, keys)

    async def get_document(self, view: str, key: str) -> Document | None:
        return await self.inner.get_document(view, key)

    async def list_documents(
        self, view: str, *, limit: int | None = None, offset: int = 0
    ) -> list[tuple[str, Document]]:
        return await self.inner.list_documents(view, limit=limit, offset=offset)

    async def count_documents(self, view: str, generation: int | None = None) -> int:
        return await self.inner.count_documents(view, generation)

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
        return await self.inner.dead_letters(
            projection=projection,
            status=status,
            generation=generation,
            stream=stream,
            text=text,
            limit=limit,
            offset=offset,
        )

    async def dead_letters_at(self, positions: Collection[int]) -> list[DeadLetter]:
        return await self.inner.dead_letters_at(positions)

    async def dead_letter(self, dead_letter_id: int) -> DeadLetter | None:
        return await self.inner.dead_letter(dead_letter_id)

    async def dead_letter_counts(self) -> dict[str, int]:
        return await self.inner.dead_letter_counts()

    async def dead_letter_tally(
        self,
        *,
        projection: str | None = None,
        status: DeadLetterStatus | None = None,
        stream: str | None = None,
        text: str | None = None,
    ) -> DeadLetterTally:
        return await self.inner.dead_letter_tally(
            projection=projection, status=status, stream=stream, text=text
        )

    async def parked_events(
        self, name: str, generation: int, stream_id: str | None = None
    ) -> list[ParkedEvent]:
        return await self.inner.parked_events(name, generation, stream_id)


def _conforms(
    events: GuardedEventStore, snapshots: GuardedSnapshotStore, projections: GuardedProjectionStore
) -> tuple[EventStore, SnapshotStore, ProjectionStore]:
    # mypy checks here that each guard still implements its whole port.
    return events, snapshots, projections
