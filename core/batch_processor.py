"""One batch of one projection (or saga) generation: read, apply, commit atomically.

Reads the events after the checkpoint (only the types the processor handles;
core/batch_reader.py) and decodes them as part of that read (the next batch's
read runs ahead, so its decoding fills the wait for this one's commit),
prefetches the documents they need in one query,
applies each on its own overlay (events of blocked streams are parked,
failures become dead letters), then commits documents, dead letters, parked
events and the new checkpoint in one transaction with a compare-and-set on the
checkpoint it started from.

The documents a batch has read and written stay with the processor for its next
batch if that one starts from the checkpoint this commit wrote (nothing else has
committed since: every writer of a generation's documents bumps its checkpoint's
revision), and the documents the next batch needs beyond them are read while
this one commits (they are ones this batch has not touched, so its commit cannot
change them). Either way the next commit's compare-and-set on the checkpoint
guards against any other writer in between.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime

from .batch_reader import BatchReader
from .checkpoints import Checkpoint
from .clock import Clock
from .dead_letters import NewDeadLetter, ParkedEvent
from .errors import StoreError
from .event_applier import Decoded, EventApplier
from .events import RecordedEvent
from .gc_pause import CollectorHold
from .gil_handoff import prompt_gil_handoff
from .ports import EventStore
from .projection_store import BatchCommit, Cursor, ProjectionStore
from .projections import Document, handles_every_type
from .read_models import DocumentCache
from .throughput import RateMeter

#: Events decoded between two looks at the event loop (about a millisecond's work).
DECODE_CHUNK = 200
#: Documents kept for the next batch at most (beyond this, the next batch starts
#: afresh): a bound on each processor's memory, as a worker runs several (a read
#: model's document takes one to a few kilobytes as Python objects).
CARRY_LIMIT = 10_000


@dataclass(frozen=True)
class ReadAhead:
    """Documents read for a batch while the one before it committed, for that one's cache."""

    cache: DocumentCache
    documents: dict[str, Document | None]


#: A batch's events decoded, the document keys each will read (`prefetch_keys`), and
#: the documents beyond the committing batch's cache those keys need, if read ahead.
DecodedBatch = tuple[list[Decoded], list[tuple[str, ...]], ReadAhead | None]


@dataclass(frozen=True)
class _Carry:
    """A committed batch's documents, for a next batch starting at its checkpoint."""

    checkpoint: Checkpoint
    cache: DocumentCache

    def continues(self, checkpoint: Checkpoint) -> bool:
        mine = self.checkpoint
        return (mine.name, mine.generation, mine.position, mine.revision) == (
            checkpoint.name,
            checkpoint.generation,
            checkpoint.position,
            checkpoint.revision,
        )


@dataclass
class BatchResult:
    """What one committed batch did."""

    checkpoint: Checkpoint
    #: Events read for the processor (applied + dead-lettered + parked).
    events: int = 0
    applied: int = 0
    parked: int = 0
    dead_letters: list[NewDeadLetter] = field(default_factory=list)
    #: Positions the checkpoint moved (events of other types included).
    advanced: int = 0


class BatchProcessor:
    """Processes and commits batches for one processor."""

    def __init__(
        self,
        applier: EventApplier,
        events: EventStore,
        store: ProjectionStore,
        clock: Clock,
        batch_size: int,
        window: int | None = None,
        commit_after_commands: bool = False,
    ) -> None:
        processor = applier.processor
        self.name = processor.name
        self._applier = applier
        self._store = store
        self._clock = clock
        batch_size = max(batch_size, 1)
        #: Commit right after each event that sent commands (sagas), not only at the end.
        self._commit_after_commands = commit_after_commands
        types = None if handles_every_type(processor) else sorted(processor.handles)
        window = max(window or batch_size * 4, batch_size)
        self._reader = BatchReader(events, clock, types, batch_size, window, self._decode)
        #: The last committed batch's documents (see the module's docstring).
        self._carry: _Carry | None = None
        #: The cache of the batch committing right now (the next batch reads ahead beyond it).
        self._committing: DocumentCache | None = None
        #: The collector's pause from a batch to the next while there are more to run.
        self._collector = CollectorHold()

    async def run(
        self,
        cursor: Cursor,
        head: int,
        *,
        owner: str | None,
        lease_expires_at: datetime | None,
        meter: RateMeter | None = None,
    ) -> BatchResult:
        """Process the events after the cursor's position towards `head`: at most
        `batch_size` events, across at most `window` positions, committed together —
        with `commit_after_commands` (sagas), also right after each event that sent a
        command, so a saga's state and checkpoint follow each command closely.

        While it works, the next batch (from its end towards `head`) is read ahead, so
        the database reads while Python applies, and decoded while this one waits for
        its commit. The cyclic garbage collector is paused meanwhile, and stays paused
        until a batch reaches `head` (core/gc_pause.py `CollectorHold`); the GIL is
        handed over promptly to the store's threads (core/gil_handoff.py)."""
        self._collector.hold()
        with prompt_gil_handoff():
            try:
                result = await self._run(cursor, head, owner, lease_expires_at, meter)
            except BaseException:
                self._carry = None
                self._collector.release()
                raise
            finally:
                self._committing = None
                # the read ahead prepares its events now if no commit started it (an
                # error): it ends on its own, as a read that is not used
                self._reader.prepare_ahead()
        if result.checkpoint.position >= head:  # nothing more to read for now
            self._collector.release()
        return result

    def rest(self) -> None:
        """No batch follows at once (caught up, paused, failed): the collector runs again."""
        self._collector.release()

    async def close(self) -> None:
        """Wait for a read ahead still running (its events are not needed any more)."""
        self._carry = None
        self._collector.release()
        await self._reader.close()

    async def _run(
        self,
        cursor: Cursor,
        head: int,
        owner: str | None,
        lease_expires_at: datetime | None,
        meter: RateMeter | None,
    ) -> BatchResult:
        checkpoint = cursor.checkpoint
        batch = await self._reader.batch(checkpoint.position, head)
        records = batch.records
        generation = checkpoint.generation
        carry, self._carry = self._carry, None
        if carry is not None and carry.continues(checkpoint):
            cache = carry.cache
        else:
            cache = DocumentCache(
                lambda keys: self._store.get_documents(self.name, generation, keys)
            )
        blocked = set(cursor.blocked_streams)
        assert batch.prepared is not None
        decoded, keys, read_ahead = batch.prepared
        if read_ahead is not None and read_ahead.cache is cache:
            cache.learn(read_ahead.documents)
        await cache.prefetch(_wanted(records, keys, blocked))
        result = BatchResult(checkpoint=checkpoint)
        index = 0
        while True:
            group_start = index
            dead: list[NewDeadLetter] = []
            parked: list[ParkedEvent] = []
            index = await self._apply(records, decoded, index, cache, blocked, dead, parked)
            group = records[group_start:index]
            last = index >= len(records)
            if last and batch.unreadable is not None:
                if batch.unreadable.stream_id in blocked:
                    parked.append(_parked(batch.unreadable))
                else:
                    dead.append(batch.unreadable)
            position = batch.end if last else group[-1].position
            commit = BatchCommit(
                name=self.name,
                generation=generation,
                expected_position=checkpoint.position,
                expected_revision=checkpoint.revision,
                position=position,
                now=self._clock.now(),
                last_event_at=group[-1].recorded_at if group else checkpoint.last_event_at,
                owner=owner,
                lease_expires_at=lease_expires_at,
                events_per_second=meter.observe(position) if meter is not None else None,
                upserts=cache.upserts(),
                deletes=cache.deletes(),
                new_dead_letters=dead,
                parked=parked,
            )
            # the next batch's decoding (and reading the documents it needs beyond
            # this cache) fills this wait
            self._committing = cache
            self._reader.prepare_ahead()
            checkpoint = await self._store.commit(commit)
            self._committing = None
            cache.committed()
            result.events += len(group) + (1 if last and batch.unreadable is not None else 0)
            result.applied += len(group) - len(parked) - len(dead)
            result.parked += len(parked)
            result.dead_letters.extend(dead)
            if last:
                break
        result.checkpoint = checkpoint
        result.advanced = checkpoint.position - cursor.checkpoint.position
        if len(cache.documents) <= CARRY_LIMIT:
            self._carry = _Carry(checkpoint, cache)
        return result

    async def _decode(self, records: list[RecordedEvent]) -> DecodedBatch:
        """The batch's events decoded, and the document keys each one will read (run by
        the reader as part of the batch's read)."""
        # the batch committing as this starts (it may be done before the decoding is:
        # the documents it did not touch are still what its commit left)
        committing = self._committing
        applier = self._applier
        decode, prefetch_keys = applier.decode, applier.prefetch_keys
        decoded: list[Decoded] = []
        keys: list[tuple[str, ...]] = []
        for start in range(0, len(records), DECODE_CHUNK):
            if start:
                await asyncio.sleep(0)  # let a commit meanwhile go on to its next statement
            for record in records[start : start + DECODE_CHUNK]:
                event = decode(record)
                decoded.append(event)
                keys.append(prefetch_keys(event, record))
        if committing is None:
            return decoded, keys, None
        return decoded, keys, await self._read_documents_ahead(committing, keys)

    async def _read_documents_ahead(
        self, cache: DocumentCache, keys: list[tuple[str, ...]]
    ) -> ReadAhead | None:
        """While a batch commits, the documents the next one needs beyond that batch's
        cache (untouched by it, so its commit cannot change them). Best effort: on a
        store error the next batch reads them itself."""
        wanted: set[str] = set()
        for its_keys in keys:
            wanted.update(its_keys)
        try:
            documents = await cache.read_ahead(wanted)
        except StoreError:
            return None
        return ReadAhead(cache, documents)

    async def _apply(
        self,
        records: list[RecordedEvent],
        decoded: list[Decoded],
        index: int,
        cache: DocumentCache,
        blocked: set[str],
        dead: list[NewDeadLetter],
        parked: list[ParkedEvent],
    ) -> int:
        """Apply events from `index` on, to the end or (sagas) to the first one that sent a
        command; the index after the last one applied. An event of a blocked stream is
        parked; one that keeps failing is a dead letter and blocks its stream."""
        applier = self._applier
        apply, commit_after_commands = applier.apply, self._commit_after_commands
        while index < len(records):
            record = records[index]
            event = decoded[index]
            index += 1
            if record.stream_id in blocked:
                parked.append(ParkedEvent.of(record, self._clock.now()))
                continue
            sent = applier.commands_sent
            failure = await apply(record, event, cache)
            if failure is not None:
                dead.append(failure)
                blocked.add(record.stream_id)
            if commit_after_commands and applier.commands_sent != sent:
                break  # a saga commits right after each command it sends
        return index


def _wanted(
    records: list[RecordedEvent], keys: list[tuple[str, ...]], blocked: set[str]
) -> set[str]:
    """The documents the events of streams not blocked will read."""
    wanted: set[str] = set()
    if blocked:
        for record, its_keys in zip(records, keys, strict=True):
            if record.stream_id not in blocked:
                wanted.update(its_keys)
    else:
        for its_keys in keys:
            wanted.update(its_keys)
    return wanted


def _parked(dead: NewDeadLetter) -> ParkedEvent:
    return ParkedEvent(
        position=dead.position,
        event_id=dead.event_id,
        stream_id=dead.stream_id,
        event_type=dead.event_type,
        parked_at=dead.failed_at,
    )
