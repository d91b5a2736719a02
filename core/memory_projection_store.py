"""In-memory projection store: the reference implementation of `ProjectionStore`,
used by fast unit tests. Documents are kept as JSON text, as in the SQL store,
so the two behave alike. Not durable; one process only."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from datetime import datetime

from .checkpoints import Checkpoint, ProjectionStatus
from .dead_letters import (
    DeadLetter,
    DeadLetterStatus,
    DeadLetterTally,
    ParkedEvent,
    matches_search,
)
from .errors import RebuildInProgress, StaleCheckpoint, StoreError, UnknownProjection
from .memory_store import InMemoryEventStore
from .projection_store import AuditAppend, BatchCommit, Cursor
from .projections import Document

Key = tuple[str, int]


class InMemoryProjectionStore:
    """Checkpoints, documents, dead letters and parked events in dicts."""

    def __init__(self, events: InMemoryEventStore | None = None) -> None:
        #: Where a commit's operator event (BatchCommit.audit) goes, in the same step.
        self._events = events
        self._checkpoints: dict[Key, Checkpoint] = {}
        self._documents: dict[Key, dict[str, str]] = {}
        self._dead: dict[int, DeadLetter] = {}
        self._parked: dict[Key, dict[int, ParkedEvent]] = {}
        self._next_id = 1

    # -- checkpoints ------------------------------------------------------------------

    def _active(self, name: str) -> Checkpoint | None:
        for (cp_name, _), checkpoint in self._checkpoints.items():
            if cp_name == name and not checkpoint.is_rebuild:
                return checkpoint
        return None

    async def ensure_checkpoints(self, versions: Mapping[str, int], now: datetime) -> None:
        for name, version in versions.items():
            if self._active(name) is None:
                self._checkpoints[(name, 1)] = Checkpoint(
                    name=name, projection_version=version, updated_at=now
                )

    async def checkpoint(self, name: str, generation: int | None = None) -> Checkpoint | None:
        if generation is None:
            return self._active(name)
        return self._checkpoints.get((name, generation))

    async def checkpoints(self) -> list[Checkpoint]:
        return [self._checkpoints[key] for key in sorted(self._checkpoints)]

    async def cursor(self, name: str, generation: int) -> Cursor:
        checkpoint = self._checkpoints.get((name, generation))
        if checkpoint is None:
            raise StaleCheckpoint(f"projection {name!r} has no generation {generation}")
        blocked = frozenset(
            dl.stream_id
            for dl in self._dead.values()
            if dl.projection == name
            and dl.generation == generation
            and dl.status is DeadLetterStatus.OPEN
        )
        return Cursor(checkpoint, blocked)

    async def set_status(
        self,
        name: str,
        status: ProjectionStatus,
        now: datetime,
        *,
        audit: AuditAppend | None = None,
    ) -> Checkpoint:
        active = self._active(name)
        if active is None:
            raise UnknownProjection(name, sorted({n for n, _ in self._checkpoints}))
        if audit is not None:
            self._append_audit(audit)
        updated = active.model_copy(update={"status": status, "updated_at": now})
        self._checkpoints[(name, active.generation)] = updated
        return updated

    async def acquire_lease(
        self, name: str, generation: int, owner: str, *, now: datetime, expires_at: datetime
    ) -> Checkpoint | None:
        checkpoint = self._checkpoints.get((name, generation))
        if checkpoint is None or checkpoint.leased_to_other(owner, now):
            return None
        updated = checkpoint.model_copy(update={"owner": owner, "lease_expires_at": expires_at})
        self._checkpoints[(name, generation)] = updated
        return updated

    async def release_lease(self, name: str, generation: int, owner: str) -> None:
        checkpoint = self._checkpoints.get((name, generation))
        if checkpoint is not None and checkpoint.owner == owner:
            self._checkpoints[(name, generation)] = checkpoint.model_copy(
                update={"owner": None, "lease_expires_at": None}
            )

    async def commit(self, batch: BatchCommit) -> Checkpoint:
        key = (batch.name, batch.generation)
        current = self._checkpoints.get(key)
        if (
            current is None
            or current.position != batch.expected_position
            or current.revision != batch.expected_revision
            or (batch.owner is not None and current.owner != batch.owner)
        ):
            raise StaleCheckpoint(
                f"checkpoint of {batch.name!r} generation {batch.generation} moved; "
                "nothing was written"
            )
        # Validate everything before changing anything: the commit is all or nothing.
        for text in batch.upserts.values():
            json.loads(text)
        taken = {
            dl.position
            for dl in self._dead.values()
            if dl.projection == batch.name and dl.generation == batch.generation
        }
        positions = [new.position for new in batch.new_dead_letters]
        if len(set(positions)) != len(positions) or taken & set(positions):
            raise StoreError(
                f"a dead letter of {batch.name!r} at one of positions {positions} already "
                "exists; nothing was written"
            )
        missing = [c.id for c in batch.dead_letter_updates if c.id not in self._dead]
        if missing:
            raise StoreError(f"no dead letters {missing}; nothing was written")
        if batch.audit is not None:
            # Appended first (it checks its stream): what follows cannot fail.
            self._append_audit(batch.audit)
        update: dict[str, object] = {
            "position": batch.position,
            "revision": current.revision + 1,
            "last_event_at": batch.last_event_at,
            "updated_at": batch.now,
        }
        if batch.owner is not None and batch.lease_expires_at is not None:
            update["lease_expires_at"] = batch.lease_expires_at
        if batch.events_per_second is not None:
            update["events_per_second"] = batch.events_per_second
        documents = self._documents.setdefault(key, {})
        documents.update(batch.upserts)
        for doc_key in batch.deletes:
            documents.pop(doc_key, None)
        for new in batch.new_dead_letters:
            self._dead[self._next_id] = DeadLetter(
                id=self._next_id,
                projection=batch.name,
                generation=batch.generation,
                position=new.position,
                event_id=new.event_id,
                stream_id=new.stream_id,
                event_type=new.event_type,
                error=new.error,
                traceback=new.traceback,
                attempts=new.attempts,
                status=DeadLetterStatus.OPEN,
                first_failed_at=new.failed_at,
                last_failed_at=new.failed_at,
            )
            self._next_id += 1
        for change in batch.dead_letter_updates:
            old = self._dead[change.id]
            self._dead[change.id] = old.model_copy(
                update={
                    "status": change.status,
                    "attempts": change.attempts,
                    "last_failed_at": change.last_failed_at,
                    "error": change.error if change.error is not None else old.error,
                    "traceback": change.traceback
                    if change.traceback is not None
                    else old.traceback,
                }
            )
        parked = self._parked.setdefault(key, {})
        for event in batch.parked:
            parked[event.position] = event
        for position in batch.unparked:
            parked.pop(position, None)
        updated = current.model_copy(update=update)
        self._checkpoints[key] = updated
        return updated

    def _append_audit(self, audit: AuditAppend) -> None:
        """Append an operator event as part of the caller's all-or-nothing step (first:
        StoreError, with nothing written, if its stream holds another type)."""
        if self._events is None:
            raise StoreError(
                "this in-memory projection store has no event log for the operator event "
                "of its change; build it as InMemoryProjectionStore(events)"
            )
        stream = self._events.read_stream_now(audit.stream_id)
        if stream and stream[0].stream_type != audit.stream_type:
            raise StoreError(
                f"stream {audit.stream_id!r} is a {stream[0].stream_type}, not an "
                f"{audit.stream_type} stream; the operator event and what it records were "
                "not written"
            )
        self._events.append_now(audit.stream_id, audit.stream_type, [audit.event])

    # -- generations ------------------------------------------------------------------

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
        active = self._active(name)
        generations = [gen for (n, gen) in self._checkpoints if n == name]
        for gen in generations:
            old = self._checkpoints[(name, gen)]
            if old.is_rebuild:
                if old.leased_to_other(owner, now):
                    raise RebuildInProgress(
                        f"projection {name!r} is being rebuilt by {old.owner}; wait for it "
                        "to finish (or for its lease to expire if it died)"
                    )
                await self.drop_generation(name, gen)
        generation = max(generations, default=0) + 1
        if active is not None and copy_active:
            position = min(position, active.position)
            key = (name, active.generation)
            self._documents[(name, generation)] = dict(self._documents.get(key, {}))
            for dl in list(self._dead.values()):
                if (
                    dl.projection == name
                    and dl.generation == active.generation
                    and dl.position <= position
                ):
                    self._dead[self._next_id] = dl.model_copy(
                        update={"id": self._next_id, "generation": generation}
                    )
                    self._next_id += 1
            self._parked[(name, generation)] = {
                p: event for p, event in self._parked.get(key, {}).items() if p <= position
            }
        checkpoint = Checkpoint(
            name=name,
            generation=generation,
            position=position,
            status=ProjectionStatus.REBUILDING,
            projection_version=projection_version,
            last_event_at=active.last_event_at if (active and copy_active) else None,
            updated_at=now,
            owner=owner,
            lease_expires_at=expires_at,
        )
        self._checkpoints[(name, generation)] = checkpoint
        return checkpoint

    async def switch_generation(
        self,
        name: str,
        generation: int,
        *,
        owner: str,
        now: datetime,
        audit: AuditAppend | None = None,
    ) -> Checkpoint:
        new = self._checkpoints.get((name, generation))
        if new is None or not new.is_rebuild or new.owner != owner:
            raise StaleCheckpoint(
                f"the rebuild of {name!r} (generation {generation}) is no longer this one's"
            )
        if audit is not None:
            # Appended first (it checks its stream): what follows cannot fail.
            self._append_audit(audit)
        active = self._active(name)
        status = active.status if active is not None else ProjectionStatus.RUNNING
        if active is not None:
            await self.drop_generation(name, active.generation)
        switched = new.model_copy(
            update={
                "status": status,
                "owner": None,
                "lease_expires_at": None,
                "updated_at": now,
                "revision": new.revision + 1,
            }
        )
        self._checkpoints[(name, generation)] = switched
        return switched

    async def drop_generation(self, name: str, generation: int) -> None:
        key = (name, generation)
        self._checkpoints.pop(key, None)
        self._documents.pop(key, None)
        self._parked.pop(key, None)
        for dl_id in [
            i
            for i, dl in self._dead.items()
            if dl.projection == name and dl.generation == generation
        ]:
            del self._dead[dl_id]

    # -- read models ------------------------------------------------------------------

    async def get_documents(
        self, view: str, generation: int, keys: Collection[str]
    ) -> dict[str, Document]:
        documents = self._documents.get((view, generation), {})
        return {key: json.loads(documents[key]) for key in keys if key in documents}

    async def get_document(self, view: str, key: str) -> Document | None:
        active = self._active(view)
        if active is None:
            return None
        found = await self.get_documents(view, active.generation, [key])
        return found.get(key)

    async def list_documents(
        self, view: str, *, limit: int | None = None, offset: int = 0
    ) -> list[tuple[str, Document]]:
        active = self._active(view)
        if active is None:
            return []
        documents = self._documents.get((view, active.generation), {})
        keys = sorted(documents)[max(offset, 0) :]
        if limit is not None:
            keys = keys[: max(limit, 0)]
        return [(key, json.loads(documents[key])) for key in keys]

    async def count_documents(self, view: str, generation: int | None = None) -> int:
        if generation is None:
            active = self._active(view)
            if active is None:
                return 0
            generation = active.generation
        return len(self._documents.get((view, generation), {}))

    # -- dead letters -----------------------------------------------------------------

    def _with_parked(self, dl: DeadLetter) -> DeadLetter:
        if dl.status is not DeadLetterStatus.OPEN:
            return dl
        parked = self._parked.get((dl.projection, dl.generation), {})
        count = sum(
            1 for e in parked.values() if e.stream_id == dl.stream_id and e.position > dl.position
        )
        return dl.model_copy(update={"parked": count})

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
        found = []
        for dl in self._dead.values():
            if projection is not None and dl.projection != projection:
                continue
            if status is not None and dl.status is not status:
                continue
            if not matches_search(dl, stream, text):
                continue
            if generation is not None:
                if dl.generation != generation:
                    continue
            else:
                active = self._active(dl.projection)
                if active is None or active.generation != dl.generation:
                    continue
            found.append(dl)
        found.sort(key=lambda dl: (dl.projection, dl.position, dl.id))
        found = found[max(offset, 0) :]
        if limit is not None:
            found = found[: max(limit, 0)]
        return [self._with_parked(dl) for dl in found]

    async def dead_letters_at(self, positions: Collection[int]) -> list[DeadLetter]:
        wanted = set(positions)
        found = [dl for dl in await self.dead_letters() if dl.position in wanted]
        return sorted(found, key=lambda dl: (dl.position, dl.projection, dl.id))

    async def dead_letter(self, dead_letter_id: int) -> DeadLetter | None:
        dl = self._dead.get(dead_letter_id)
        return None if dl is None else self._with_parked(dl)

    async def dead_letter_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for dl in await self.dead_letters(status=DeadLetterStatus.OPEN):
            counts[dl.projection] = counts.get(dl.projection, 0) + 1
        return counts

    async def dead_letter_tally(
        self,
        *,
        projection: str | None = None,
        status: DeadLetterStatus | None = None,
        stream: str | None = None,
        text: str | None = None,
    ) -> DeadLetterTally:
        found = await self.dead_letters(
            projection=projection, status=status, stream=stream, text=text
        )
        return DeadLetterTally(
            entries=len(found),
            streams=len({(dl.projection, dl.stream_id) for dl in found}),
            parked=sum(dl.parked for dl in found),
        )

    async def parked_events(
        self, name: str, generation: int, stream_id: str | None = None
    ) -> list[ParkedEvent]:
        parked = self._parked.get((name, generation), {})
        return [
            parked[p]
            for p in sorted(parked)
            if stream_id is None or parked[p].stream_id == stream_id
        ]
