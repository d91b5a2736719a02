"""Operators' dead-letter work: list, count, show, retry and skip (one or all).

A retry re-runs the dead event with the current projection code; if it
succeeds, the events parked behind it are applied in position order (one that
fails becomes the stream's new dead letter, and the rest stay parked behind
it). If the dead event fails again it stays a dead letter with one more
attempt and nothing is released. A skip marks it skipped and releases the
parked events the same way. Each is one atomic commit (compare-and-set on the
checkpoint, so it cannot interleave with a runner's batch) which also appends
the operator event naming the user (DeadLetterRetried or DeadLetterSkipped) to
the event log: the resolution and its audit record are stored together or not
at all, whatever moment a crash comes.
"""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel

from .clock import Clock
from .dead_letters import (
    DeadLetter,
    DeadLetterStatus,
    DeadLetterTally,
    DeadLetterUpdate,
    NewDeadLetter,
    ParkedEvent,
    describe_failure,
)
from .errors import DeadLetterNotFound, InvalidInput, StaleCheckpoint, StoredRecordError
from .event_applier import EventApplier
from .events import RecordedEvent
from .operator_events import DeadLetterRetried, DeadLetterSkipped, OperatorLog
from .ports import EventStore
from .projection_store import AuditAppend, BatchCommit, ProjectionStore
from .read_models import DocumentCache

#: Compare-and-set conflicts with a busy runner tolerated before giving up.
MAX_CONFLICTS = 50


class DeadLetterDetail(BaseModel):
    """A dead letter with its event and the events parked behind it (`dlq show`)."""

    dead_letter: DeadLetter
    event: RecordedEvent | None
    parked: list[ParkedEvent]


class ResolveOutcome(BaseModel):
    """What a retry or skip did."""

    dead_letter_id: int
    projection: str
    action: Literal["retry", "skip"]
    #: The dead event was applied (retry) or skipped; False: it failed again.
    succeeded: bool
    #: Parked events applied after it.
    released: int = 0
    #: Parked events still waiting (behind a new dead letter).
    still_parked: int = 0
    #: The error of the dead event (failed retry) or of a released event that failed.
    error: str | None = None


class DeadLetterDesk:
    """Dead-letter operations over the processors' appliers."""

    def __init__(
        self,
        appliers: Mapping[str, EventApplier],
        *,
        events: EventStore,
        store: ProjectionStore,
        clock: Clock,
        operator_log: OperatorLog,
    ) -> None:
        self._appliers = appliers
        self._events = events
        self._store = store
        self._clock = clock
        self._log = operator_log

    async def list(
        self,
        *,
        projection: str | None = None,
        status: DeadLetterStatus | None = DeadLetterStatus.OPEN,
        stream: str | None = None,
        text: str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> builtins.list[DeadLetter]:
        """Dead letters of the active generations, by projection and position; `stream`
        (an id prefix) and `text` (in the stream id, event type or error) narrow them."""
        return await self._store.dead_letters(
            projection=projection,
            status=status,
            stream=stream,
            text=text,
            limit=limit,
            offset=offset,
        )

    async def tally(
        self,
        *,
        projection: str | None = None,
        status: DeadLetterStatus | None = DeadLetterStatus.OPEN,
        stream: str | None = None,
        text: str | None = None,
    ) -> DeadLetterTally:
        """How many dead letters `list` would give, on how many streams, with how many
        events parked behind them (what a bulk retry or skip touches), without loading them."""
        return await self._store.dead_letter_tally(
            projection=projection, status=status, stream=stream, text=text
        )

    async def show(self, dead_letter_id: int) -> DeadLetterDetail:
        dead = await self._get(dead_letter_id)
        parked = (
            await self._store.parked_events(dead.projection, dead.generation, dead.stream_id)
            if dead.status is DeadLetterStatus.OPEN
            else []
        )
        found = await self._read(dead.stream_id, [dead.position])
        event = found.get(dead.position)
        return DeadLetterDetail(
            dead_letter=dead,
            event=event if isinstance(event, RecordedEvent) else None,
            parked=parked,
        )

    async def retry(self, dead_letter_id: int, *, user: str) -> ResolveOutcome:
        """Re-run a dead event, then release what was parked behind it."""
        return await self._resolve(dead_letter_id, "retry", user)

    async def skip(self, dead_letter_id: int, *, user: str) -> ResolveOutcome:
        """Give up on a dead event (recorded), then release what was parked behind it."""
        return await self._resolve(dead_letter_id, "skip", user)

    async def retry_all(
        self, *, user: str, projection: str | None = None
    ) -> builtins.list[ResolveOutcome]:
        """Retry every open dead letter (of one projection if given), oldest first."""
        return await self._resolve_all("retry", user, projection)

    async def skip_all(
        self, *, user: str, projection: str | None = None
    ) -> builtins.list[ResolveOutcome]:
        """Skip every open dead letter (of one projection if given), oldest first; each
        skip is recorded. A parked event that fails on release becomes a new dead letter
        and is left open (it was not among those the operator chose to skip)."""
        return await self._resolve_all("skip", user, projection)

    async def _resolve_all(
        self, action: Literal["retry", "skip"], user: str, projection: str | None
    ) -> builtins.list[ResolveOutcome]:
        outcomes = []
        for dead in await self.list(projection=projection):
            current = await self._store.dead_letter(dead.id)
            if current is None or current.status is not DeadLetterStatus.OPEN:
                continue
            outcomes.append(await self._resolve(dead.id, action, user))
        return outcomes

    async def _get(self, dead_letter_id: int) -> DeadLetter:
        dead = await self._store.dead_letter(dead_letter_id)
        if dead is None:
            raise DeadLetterNotFound(dead_letter_id)
        return dead

    async def _resolve(
        self, dead_letter_id: int, action: Literal["retry", "skip"], user: str
    ) -> ResolveOutcome:
        for conflict in range(MAX_CONFLICTS):
            dead = await self._get(dead_letter_id)
            if dead.status is not DeadLetterStatus.OPEN:
                raise InvalidInput(
                    f"dead letter {dead_letter_id} is already {dead.status.value}; nothing to do"
                )
            applier = self._appliers.get(dead.projection)
            if applier is None:
                raise InvalidInput(
                    f"dead letter {dead_letter_id} belongs to {dead.projection!r}, which this "
                    "eventdeck does not know; it cannot be retried or skipped here"
                )
            applier.require_runnable()
            try:
                return await self._attempt(dead, applier, action, user)
            except StaleCheckpoint:
                await asyncio.sleep(min(0.01 * (conflict + 1), 0.2))
                continue
        raise StaleCheckpoint(
            f"could not {action} dead letter {dead_letter_id}: its projection kept moving; retry"
        )

    async def _attempt(
        self, dead: DeadLetter, applier: EventApplier, action: Literal["retry", "skip"], user: str
    ) -> ResolveOutcome:
        name, generation = dead.projection, dead.generation
        try:
            cursor = await self._store.cursor(name, generation)
        except StaleCheckpoint:
            raise DeadLetterNotFound(dead.id) from None
        checkpoint = cursor.checkpoint
        parked = await self._store.parked_events(name, generation, dead.stream_id)
        records = await self._read(dead.stream_id, [dead.position, *(p.position for p in parked)])
        cache = DocumentCache(lambda keys: self._store.get_documents(name, generation, keys))
        now = self._clock.now()
        outcome = ResolveOutcome(
            dead_letter_id=dead.id, projection=name, action=action, succeeded=True
        )
        updates: list[DeadLetterUpdate] = []
        if action == "retry":
            failure = await self._apply(
                applier, dead.position, dead.event_type, dead.stream_id, records, cache, attempts=1
            )
            if failure is not None:
                outcome.succeeded = False
                outcome.error = failure.error
                outcome.still_parked = len(parked)
                updates.append(
                    DeadLetterUpdate(
                        id=dead.id,
                        status=DeadLetterStatus.OPEN,
                        attempts=dead.attempts + 1,
                        last_failed_at=now,
                        error=failure.error,
                        traceback=failure.traceback,
                    )
                )
        status = DeadLetterStatus.RETRIED if action == "retry" else DeadLetterStatus.SKIPPED
        new_dead: list[NewDeadLetter] = []
        unparked: list[int] = []
        if outcome.succeeded:
            updates.append(
                DeadLetterUpdate(
                    id=dead.id,
                    status=status,
                    attempts=dead.attempts,
                    last_failed_at=dead.last_failed_at,
                )
            )
            for index, event in enumerate(parked):
                failure = await self._apply(
                    applier, event.position, event.event_type, dead.stream_id, records, cache
                )
                unparked.append(event.position)
                if failure is not None:
                    new_dead.append(failure)
                    outcome.error = failure.error
                    outcome.still_parked = len(parked) - index - 1
                    break
                outcome.released += 1
        await self._store.commit(
            BatchCommit(
                name=name,
                generation=generation,
                expected_position=checkpoint.position,
                expected_revision=checkpoint.revision,
                position=checkpoint.position,
                now=now,
                last_event_at=checkpoint.last_event_at,
                upserts=cache.upserts(),
                deletes=cache.deletes(),
                new_dead_letters=new_dead,
                dead_letter_updates=updates,
                unparked=unparked,
                audit=self._audit(dead, outcome, user),
            )
        )
        return outcome

    async def _apply(
        self,
        applier: EventApplier,
        position: int,
        event_type: str,
        stream_id: str,
        records: dict[int, RecordedEvent | StoredRecordError],
        cache: DocumentCache,
        attempts: int | None = None,
    ) -> NewDeadLetter | None:
        record = records.get(position)
        if isinstance(record, RecordedEvent):
            return await applier.apply(record, applier.decode(record), cache, attempts=attempts)
        problem = record or LookupError(f"the event at position {position} cannot be found")
        message, trace = describe_failure(problem)
        return NewDeadLetter(
            position=position,
            event_id="",
            stream_id=stream_id,
            event_type=event_type,
            error=message,
            traceback=trace,
            attempts=attempts or 1,
            failed_at=self._clock.now(),
        )

    async def _read(
        self, stream_id: str, positions: builtins.list[int]
    ) -> dict[int, RecordedEvent | StoredRecordError]:
        """The events at `positions` of one stream (a row that cannot be read: its error)."""
        wanted = set(positions)
        found: dict[int, RecordedEvent | StoredRecordError] = {}
        start, end = min(wanted), max(wanted)
        while start <= end:
            try:
                async for record in self._events.read_all(
                    from_position=start, to_position=end, stream_id=stream_id
                ):
                    if record.position in wanted:
                        found[record.position] = record
                break
            except StoredRecordError as exc:
                if exc.position is None:
                    raise
                found[exc.position] = exc
                start = exc.position + 1
        return found

    def _audit(self, dead: DeadLetter, outcome: ResolveOutcome, user: str) -> AuditAppend:
        """The operator event recording `outcome`, for the commit that makes it so."""
        event: DeadLetterRetried | DeadLetterSkipped
        if outcome.action == "retry":
            event = DeadLetterRetried(
                projection=dead.projection,
                dead_letter_id=dead.id,
                position=dead.position,
                stream_id=dead.stream_id,
                event_type=dead.event_type,
                succeeded=outcome.succeeded,
                released=outcome.released,
                error=outcome.error,
            )
        else:
            event = DeadLetterSkipped(
                projection=dead.projection,
                dead_letter_id=dead.id,
                position=dead.position,
                stream_id=dead.stream_id,
                event_type=dead.event_type,
                released=outcome.released,
            )
        return self._log.prepare(dead.projection, event, user=user)
