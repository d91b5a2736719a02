"""One batch of one projection (or saga) generation: read, apply, commit atomically.

Reads the events after the checkpoint (only the types the processor handles),
prefetches the documents they need in one query, applies each on its own
overlay (events of blocked streams are parked, failures become dead letters),
then commits documents, dead letters, parked events and the new checkpoint in
one transaction with a compare-and-set on the checkpoint it started from.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .checkpoints import Checkpoint
from .clock import Clock
from .dead_letters import NewDeadLetter, ParkedEvent, describe_failure
from .errors import StoredRecordError
from .event_applier import Decoded, EventApplier
from .events import RecordedEvent
from .gc_pause import paused_collector
from .ports import EventStore
from .projection_store import BatchCommit, Cursor, ProjectionStore
from .projections import handles_every_type
from .read_models import DocumentCache
from .throughput import RateMeter

#: Stored as the event type of a row whose columns cannot even be read.
UNREADABLE_TYPE = "(unreadable)"
#: While the next batch is read ahead, the apply loop lets it move on every so many events.
YIELD_EVERY = 256

#: A row the store could not read, which ends its batch (as a dead letter), or None.
Unreadable = NewDeadLetter | None


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
        self._events = events
        self._store = store
        self._clock = clock
        self._batch_size = max(batch_size, 1)
        #: Commit right after each event that sent commands (sagas), not only at the end.
        self._commit_after_commands = commit_after_commands
        #: Positions one batch spans at most.
        self._window = max(window or self._batch_size * 4, self._batch_size)
        self._types: list[str] | None = (
            None if handles_every_type(processor) else sorted(processor.handles)
        )
        self._ahead: _ReadAhead | None = None

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
        the database reads while Python applies. The cyclic garbage collector is paused
        meanwhile (core/gc_pause.py)."""
        with paused_collector():
            return await self._run(
                cursor, head, owner=owner, lease_expires_at=lease_expires_at, meter=meter
            )

    async def _run(
        self,
        cursor: Cursor,
        head: int,
        *,
        owner: str | None,
        lease_expires_at: datetime | None,
        meter: RateMeter | None,
    ) -> BatchResult:
        checkpoint = cursor.checkpoint
        records, unreadable, until = await self._fetch(checkpoint.position, head)
        if unreadable is not None:
            end = unreadable.position
        elif len(records) >= self._batch_size:
            end = records[-1].position
        else:
            end = until
        self._start_read_ahead(end, head)
        generation = checkpoint.generation
        cache = DocumentCache(lambda keys: self._store.get_documents(self.name, generation, keys))
        applier = self._applier
        decode, prefetch_keys = applier.decode, applier.prefetch_keys
        blocked = set(cursor.blocked_streams)
        decoded: list[Decoded] = []
        keys: set[str] = set()
        for record in records:
            event = decode(record)
            decoded.append(event)
            if record.stream_id not in blocked:
                keys.update(prefetch_keys(event, record))
        await cache.prefetch(keys)
        result = BatchResult(checkpoint=checkpoint)
        apply, commit_after_commands = applier.apply, self._commit_after_commands
        index = 0
        while True:
            group_start = index
            dead: list[NewDeadLetter] = []
            parked: list[ParkedEvent] = []
            while index < len(records):
                record = records[index]
                index += 1
                if record.stream_id in blocked:
                    parked.append(ParkedEvent.of(record, self._clock.now()))
                    continue
                if index % YIELD_EVERY == 0 and self._ahead is not None:
                    await asyncio.sleep(0)  # let the read-ahead move on meanwhile
                sent = applier.commands_sent
                failure = await apply(record, decoded[index - 1], cache)
                if failure is not None:
                    dead.append(failure)
                    blocked.add(record.stream_id)
                if commit_after_commands and applier.commands_sent != sent:
                    break  # a saga commits right after each command it sends
            group = records[group_start:index]
            last = index >= len(records)
            if last and unreadable is not None:
                if unreadable.stream_id in blocked:
                    parked.append(_parked(unreadable))
                else:
                    dead.append(unreadable)
            position = end if last else group[-1].position
            batch = BatchCommit(
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
            checkpoint = await self._store.commit(batch)
            cache.committed()
            result.events += len(group) + (1 if last and unreadable is not None else 0)
            result.applied += len(group) - len(parked) - len(dead)
            result.parked += len(parked)
            result.dead_letters.extend(dead)
            if last:
                break
        result.checkpoint = checkpoint
        result.advanced = checkpoint.position - cursor.checkpoint.position
        return result

    async def _fetch(self, after: int, head: int) -> tuple[list[RecordedEvent], Unreadable, int]:
        """The events after `after` (up to the window or the head), read ahead during the
        previous batch if that read starts here; and the position they were read up to."""
        ahead, self._ahead = self._ahead, None
        if ahead is not None:
            if ahead.after == after and ahead.until <= head:
                records, unreadable = await ahead.task
                return records, unreadable, ahead.until
            await _settle(ahead.task)
        until = min(head, after + self._window)
        records, unreadable = await self._read(after, until)
        return records, unreadable, until

    def _start_read_ahead(self, after: int, head: int) -> None:
        """Start reading the next batch (it starts at this one's end) while this one works."""
        if after >= head:
            return
        until = min(head, after + self._window)
        task = asyncio.ensure_future(self._read(after, until))
        task.add_done_callback(_retrieve)
        self._ahead = _ReadAhead(after, until, task)

    async def close(self) -> None:
        """Wait for a read ahead still running (its events are not needed any more)."""
        ahead, self._ahead = self._ahead, None
        if ahead is not None:
            await _settle(ahead.task)

    async def _read(self, after: int, head: int) -> tuple[list[RecordedEvent], Unreadable]:
        """The batch's events; a row the store cannot read ends the batch as a dead letter."""
        records: list[RecordedEvent] = []
        if self._types is not None and not self._types:
            return records, None
        stream = self._events.read_all(
            from_position=after + 1,
            to_position=head,
            types=self._types,
            page_size=self._batch_size,
        )
        try:
            async for record in stream:
                records.append(record)
                if len(records) >= self._batch_size:
                    break
        except StoredRecordError as exc:
            if exc.position is None:
                raise
            return records, _unreadable(exc, self._clock.now())
        finally:
            close = getattr(stream, "aclose", None)
            if close is not None:
                await close()
        return records, None


@dataclass(frozen=True)
class _ReadAhead:
    """The read of the batch after the current one, running meanwhile."""

    after: int
    until: int
    task: asyncio.Future[tuple[list[RecordedEvent], Unreadable]]


def _retrieve(task: asyncio.Future[Any]) -> None:
    """Mark a read-ahead's error as seen (whoever uses the read raises it again)."""
    if not task.cancelled():
        task.exception()


async def _settle(task: asyncio.Future[Any]) -> None:
    """Let an unwanted read-ahead finish (rather than cancel a query mid-way)."""
    with contextlib.suppress(Exception):
        await task


def _parked(dead: NewDeadLetter) -> ParkedEvent:
    return ParkedEvent(
        position=dead.position,
        event_id=dead.event_id,
        stream_id=dead.stream_id,
        event_type=dead.event_type,
        parked_at=dead.failed_at,
    )


def _unreadable(exc: StoredRecordError, now: datetime) -> NewDeadLetter:
    error, trace = describe_failure(exc)
    assert exc.position is not None
    return NewDeadLetter(
        position=exc.position,
        event_id="",
        stream_id=exc.stream_id,
        event_type=UNREADABLE_TYPE,
        error=error,
        traceback=trace,
        attempts=1,
        failed_at=now,
    )
