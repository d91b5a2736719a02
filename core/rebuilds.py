"""Rebuilding read models into a new generation while the current one keeps serving.

A full rebuild replays every event into an empty new generation of the view;
the active generation keeps answering queries (and live workers keep it
current) until the rebuilt one has reached the head. Then one transaction
makes the new generation active, deletes the old one's documents, dead
letters and parked events, and appends the operator event recording the
rebuild (ProjectionRebuilt, naming the user): a crash leaves all or none. Progress is reported after every batch, and dead
letters as they happen. If the process dies mid-rebuild, the old generation
simply goes on serving; the next rebuild drops the half-built one and starts
clean (after waiting for the dead rebuild's lease to expire).

A rebuild *from a time* copies the active generation's documents (and its dead
letters and parked events before the replay) into the new generation, then
replays the events from the first position recorded at or after that time
(or from the active checkpoint, if that is earlier, so nothing is skipped).
The events between that position and the active checkpoint are applied a
second time on top of documents that already include them: the result is
only consistent for projections whose handlers are idempotent (they set
values, like order-summary's status) — counters and sums would count those
events twice. Use a full rebuild when in doubt; `from_time` is for a quick
repair of a recent stretch after fixing a handler of that kind.

Sagas are never rebuilt: replaying them would send commands.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel

from .batch_processor import BatchProcessor
from .checkpoints import Checkpoint
from .clock import Clock
from .dead_letters import NewDeadLetter
from .errors import InvalidInput, RebuildInProgress, StaleCheckpoint, UnknownProjection
from .event_applier import EventApplier
from .operator_events import OperatorLog, ProjectionRebuildStarted, ProjectionRebuilt
from .ports import EventStore
from .processor_worker import default_owner
from .projection_store import ProjectionStore
from .retry_policy import retry_transient
from .runner_config import RunnerConfig
from .throughput import RateMeter, eta_seconds


@dataclass(frozen=True)
class RebuildProgress:
    """Reported after every batch of a rebuild (positions replayed so far of the total)."""

    name: str
    generation: int
    done: int
    total: int
    #: Positions per second over the recent window.
    rate: float
    #: Seconds to the head at that rate (None while unknown).
    eta: float | None


OnProgress = Callable[[RebuildProgress], None]
OnDeadLetter = Callable[[str, NewDeadLetter], None]


class RebuildSummary(BaseModel):
    """What one projection's rebuild did (`rebuild --json`)."""

    name: str
    generation: int
    from_time: datetime | None = None
    #: The first position replayed.
    from_position: int = 1
    #: The active checkpoint after the switch.
    position: int = 0
    events: int = 0
    applied: int = 0
    dead_letters: int = 0
    parked: int = 0
    documents: int = 0
    seconds: float = 0.0
    events_per_second: float = 0.0


class Rebuilder:
    """Rebuilds projections (one, several or all) for an operator."""

    def __init__(
        self,
        appliers: Mapping[str, EventApplier],
        *,
        events: EventStore,
        store: ProjectionStore,
        clock: Clock,
        operator_log: OperatorLog,
        config: RunnerConfig | None = None,
    ) -> None:
        self._appliers = appliers
        self._events = events
        self._store = store
        self._clock = clock
        self._log = operator_log
        self._config = config or RunnerConfig()

    def rebuildable(self) -> list[str]:
        """The names a rebuild of "all" covers (every projection, no saga)."""
        return [name for name, applier in self._appliers.items() if not applier.is_saga]

    async def rebuild(
        self,
        names: Sequence[str] | None = None,
        *,
        user: str,
        from_time: datetime | None = None,
        progress: OnProgress | None = None,
        on_error: OnDeadLetter | None = None,
    ) -> list[RebuildSummary]:
        """Rebuild `names` (all projections if None or empty), one after the other."""
        chosen = list(dict.fromkeys(names)) if names else self.rebuildable()
        for name in chosen:
            applier = self._appliers.get(name)
            if applier is None:
                raise UnknownProjection(name, list(self._appliers))
            if applier.is_saga:
                raise InvalidInput(
                    f"{name!r} is a saga: it cannot be rebuilt, because replaying it would "
                    "send its commands again"
                )
        return [
            await self._rebuild_one(self._appliers[name], user, from_time, progress, on_error)
            for name in chosen
        ]

    async def _rebuild_one(
        self,
        applier: EventApplier,
        user: str,
        from_time: datetime | None,
        progress: OnProgress | None,
        on_error: OnDeadLetter | None,
    ) -> RebuildSummary:
        processor = applier.processor
        name = processor.name
        owner = default_owner("rebuild")
        started = time.monotonic()
        await self._store.ensure_checkpoints({name: processor.version}, self._clock.now())
        start = await self._start_position(name, from_time)
        shadow = await self._start(name, owner, processor.version, start, from_time is not None)
        generation = shadow.generation
        await self._log.record(
            name,
            ProjectionRebuildStarted(
                projection=name,
                generation=generation,
                from_time=from_time,
                from_position=shadow.position + 1,
            ),
            user=user,
        )
        summary = RebuildSummary(
            name=name, generation=generation, from_time=from_time, from_position=shadow.position + 1
        )
        try:
            await self._replay(applier, shadow, owner, summary, progress, on_error)
            switched = await self._switch(name, generation, owner, summary, started, user)
        except StaleCheckpoint:
            raise RebuildInProgress(
                f"the rebuild of {name!r} was taken over by another process (its lease "
                "expired); nothing was switched"
            ) from None
        except BaseException:
            with contextlib.suppress(Exception):
                await self._store.drop_generation(name, generation)
            raise
        summary.position = switched.position
        summary.documents = await self._store.count_documents(name)
        return summary

    async def _switch(
        self,
        name: str,
        generation: int,
        owner: str,
        summary: RebuildSummary,
        started: float,
        user: str,
    ) -> Checkpoint:
        """Make the rebuilt generation live together with its operator event
        (ProjectionRebuilt), in one transaction: a crash leaves both or neither."""
        done = await self._store.checkpoint(name, generation)
        if done is None or done.owner != owner:
            raise StaleCheckpoint(
                f"the rebuild of {name!r} (generation {generation}) is no longer this one's"
            )
        summary.seconds = round(time.monotonic() - started, 3)
        if summary.seconds > 0:
            summary.events_per_second = round(summary.events / summary.seconds, 1)
        # The rebuild's lease keeps every other writer off this generation, so the
        # position read above is the one the switch makes live.
        audit = self._log.prepare(
            name,
            ProjectionRebuilt(
                projection=name,
                generation=generation,
                position=done.position,
                events=summary.events,
                dead_letters=summary.dead_letters,
                seconds=summary.seconds,
            ),
            user=user,
        )
        return await self._store.switch_generation(
            name, generation, owner=owner, now=self._clock.now(), audit=audit
        )

    async def _start_position(self, name: str, from_time: datetime | None) -> int:
        """The position the new generation starts after (0 for a full rebuild)."""
        if from_time is None:
            return 0
        first = None
        async for record in self._events.read_all(since=from_time, page_size=1):
            first = record.position
            break
        if first is None:
            first = await self._events.head_position() + 1
        return first - 1  # the store starts at the active checkpoint if that is lower

    async def _start(
        self, name: str, owner: str, version: int, start: int, copy_active: bool
    ) -> Checkpoint:
        """Start the new generation, waiting out the lease of a rebuild that died."""
        deadline = time.monotonic() + self._config.lease_wait
        while True:
            now = self._clock.now()
            try:
                return await self._store.start_generation(
                    name,
                    owner=owner,
                    now=now,
                    expires_at=now + timedelta(seconds=self._config.lease_seconds),
                    projection_version=version,
                    position=start,
                    copy_active=copy_active,
                )
            except RebuildInProgress:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(min(0.5, self._config.lease_seconds / 4))

    async def _replay(
        self,
        applier: EventApplier,
        shadow: Checkpoint,
        owner: str,
        summary: RebuildSummary,
        progress: OnProgress | None,
        on_error: OnDeadLetter | None,
    ) -> None:
        name, generation, start = shadow.name, shadow.generation, shadow.position
        batches = BatchProcessor(
            applier,
            self._events,
            self._store,
            self._clock,
            self._config.batch_size,
            self._config.window,
        )
        meter = RateMeter(self._config.rate_window)
        meter.reset(start)
        lease = timedelta(seconds=self._config.lease_seconds)
        try:
            while True:
                head = await retry_transient(
                    self._events.head_position, self._config.transient, what="reading the head"
                )

                async def one_batch(head: int = head) -> Checkpoint | None:
                    cursor = await self._store.cursor(name, generation)
                    if cursor.checkpoint.position >= head:
                        return None
                    result = await batches.run(
                        cursor,
                        head,
                        owner=owner,
                        lease_expires_at=self._clock.now() + lease,
                        meter=meter,
                    )
                    summary.events += result.events
                    summary.applied += result.applied
                    summary.parked += result.parked
                    summary.dead_letters += len(result.dead_letters)
                    if on_error is not None:
                        for dead in result.dead_letters:
                            on_error(name, dead)
                    return result.checkpoint

                checkpoint = await retry_transient(
                    one_batch, self._config.transient, what=f"rebuilding {name}"
                )
                if checkpoint is None:
                    return
                if progress is not None:
                    position, rate = checkpoint.position, checkpoint.events_per_second
                    progress(
                        RebuildProgress(
                            name=name,
                            generation=generation,
                            done=position - start,
                            total=max(head - start, position - start),
                            rate=rate,
                            eta=eta_seconds(head - position, rate),
                        )
                    )
        finally:
            batches.rest()  # the collector runs again however the replay ended
