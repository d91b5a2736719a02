"""Reading a processor's batches: the events after a position, read ahead, in fitted spans.

A batch is at most `batch_size` events of the handled types, across at most
`window` positions after the checkpoint. While one batch is applied, the next
(from its end) is already being read, so the database reads while Python
applies. The read ahead also prepares its events (decodes them, with the
`prepare` the processor gives), but only once `prepare_ahead` says so: the
processor says so when it starts to wait for its commit, so that work fills
the wait. A row the store cannot read ends its batch as a dead letter.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from .clock import Clock
from .dead_letters import NewDeadLetter, describe_failure
from .errors import StoredRecordError
from .events import RecordedEvent
from .gc_pause import paused_collector
from .ports import EventStore

#: Stored as the event type of a row whose columns cannot even be read.
UNREADABLE_TYPE = "(unreadable)"

#: A row the store could not read, which ends its batch (as a dead letter), or None.
Unreadable = NewDeadLetter | None

#: What `prepare` makes of a batch's events (the processor's decoded events).
P = TypeVar("P")


@dataclass(frozen=True)
class Batch(Generic[P]):
    """The events after `after`, read up to position `until` (or fewer: see `end`)."""

    after: int
    until: int
    records: list[RecordedEvent]
    unreadable: Unreadable
    #: The position the batch covers up to: its checkpoint once committed.
    end: int
    #: `prepare(records)`, or None without a `prepare`.
    prepared: P | None = None


class BatchReader(Generic[P]):
    """Reads batches of one processor's event types, one read ahead."""

    def __init__(
        self,
        events: EventStore,
        clock: Clock,
        types: list[str] | None,
        batch_size: int,
        window: int,
        prepare: Callable[[list[RecordedEvent]], Awaitable[P]] | None = None,
    ) -> None:
        self._events = events
        self._clock = clock
        self._types = types
        #: Run on each batch's events as part of its read (pure work on the events: a
        #: read ahead that is not used is dropped with what it prepared).
        self._prepare = prepare
        self.batch_size = batch_size
        self._window = window
        #: Positions the next read spans: about one batch of events at the density the
        #: last read found, within [batch_size, window] (see `_fit_span`); at first one
        #: batch (every position handled: one more small batch if they are sparse).
        self._span = batch_size
        self._ahead: _ReadAhead[P] | None = None

    async def batch(self, after: int, head: int) -> Batch[P]:
        """The batch after `after` (read ahead if that read starts there); the read of the
        next one starts at once if the head is beyond this one's end."""
        ahead, self._ahead = self._ahead, None
        if ahead is not None:
            ahead.go.set()
        if ahead is not None and ahead.after == after and ahead.until <= head:
            batch = await ahead.task
        else:
            if ahead is not None:
                await _settle(ahead.task)
            batch = await self._batch(after, min(head, after + self._span))
        self._fit_span(batch)
        if batch.end < head:
            until = min(head, batch.end + self._span)
            go = asyncio.Event()
            task = asyncio.ensure_future(self._batch(batch.end, until, go))
            task.add_done_callback(_retrieve)
            self._ahead = _ReadAhead(batch.end, until, task, go)
        return batch

    def prepare_ahead(self) -> None:
        """Let the read ahead prepare its events once read (they wait for this, or for
        the next `batch` call, so that their preparing fills a wait of the caller's)."""
        if self._ahead is not None:
            self._ahead.go.set()

    async def close(self) -> None:
        """Wait for a read ahead still running (its events are not needed any more)."""
        ahead, self._ahead = self._ahead, None
        if ahead is not None:
            ahead.go.set()
            await _settle(ahead.task)

    async def _batch(self, after: int, until: int, go: asyncio.Event | None = None) -> Batch[P]:
        prepared: P | None = None
        with paused_collector():  # a read ahead may go on after its batch's run has ended
            records, unreadable = await self._read(after, until)
            if self._prepare is not None:
                if go is not None:
                    await go.wait()
                prepared = await self._prepare(records)
        if unreadable is not None:
            end = unreadable.position
        elif len(records) >= self.batch_size:
            end = records[-1].position
        else:
            end = until
        return Batch(after, until, records, unreadable, end, prepared)

    def _fit_span(self, batch: Batch[P]) -> None:
        """Fit the next read's span to how dense the handled types were in this one.

        A read collects every handled event of its span before it keeps the first
        `batch_size` (a database may sort them all), so a span of four batches of dense
        types read four times the events used. The next span covers about one batch of
        events at this read's density (10% more), within [batch_size, window]."""
        records, after, count = batch.records, batch.after, len(batch.records)
        covered = records[-1].position - after if count >= self.batch_size else batch.until - after
        if count == 0 or covered <= 0:
            self._span = self._window
            return
        wanted = covered * self.batch_size * 11 // (count * 10) + 1
        self._span = min(self._window, max(self.batch_size, wanted))

    async def _read(self, after: int, until: int) -> tuple[list[RecordedEvent], Unreadable]:
        records: list[RecordedEvent] = []
        if self._types is not None and not self._types:
            return records, None
        stream = self._events.read_all(
            from_position=after + 1,
            to_position=until,
            types=self._types,
            page_size=self.batch_size,
        )
        try:
            async for record in stream:
                records.append(record)
                if len(records) >= self.batch_size:
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
class _ReadAhead(Generic[P]):
    """The read of the batch after the current one, running meanwhile."""

    after: int
    until: int
    task: asyncio.Future[Batch[P]]
    #: Set when the read may prepare its events (see `BatchReader.prepare_ahead`).
    go: asyncio.Event


def _retrieve(task: asyncio.Future[Any]) -> None:
    """Mark a read-ahead's error as seen (whoever uses the read raises it again)."""
    if not task.cancelled():
        task.exception()


async def _settle(task: asyncio.Future[Any]) -> None:
    """Let an unwanted read-ahead finish (rather than cancel a query mid-way)."""
    with contextlib.suppress(Exception):
        await task


def _unreadable(exc: StoredRecordError, now: Any) -> NewDeadLetter:
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
