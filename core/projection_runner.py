"""The projection runner: catches projections and sagas up, or keeps them live.

Each processor (a Projection or a Saga) is read from its checkpoint in
batches; each batch's documents, dead letters, parked events and new
checkpoint are committed in one transaction (core/batch_processor.py), so
after a crash nothing is applied twice and nothing is skipped. Each processor
is leased to one runner at a time (core/processor_worker.py); paused ones are
skipped. Sagas commit after every event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Literal

from pydantic import BaseModel

from .batch_processor import BatchResult
from .clock import Clock
from .commands import CommandBus
from .errors import StoreError, UnknownProjection
from .event_applier import EventApplier
from .head_watcher import HeadWatcher, WakeupSource
from .ports import EventStore
from .processor_worker import ProcessorWorker, default_owner
from .projection_store import ProjectionStore
from .projections import Projection
from .registry import EventRegistry
from .retry_policy import retry_transient
from .runner_config import RunnerConfig

log = logging.getLogger(__name__)

OnBatch = Callable[[str, BatchResult], None]
OnError = Callable[[str, BaseException], None]
WakeupFactory = Callable[[], Awaitable[WakeupSource | None]]

#: Catch-up passes at most (sagas' commands create events the next pass processes).
MAX_PASSES = 100


class CatchUpSummary(BaseModel):
    """What `catch_up` did for one processor (`catch-up --json`)."""

    name: str
    kind: Literal["projection", "saga"]
    #: caught-up, paused, stopped, busy (leased to another live worker) or failed.
    status: str = "caught-up"
    #: Events read for it: applied + dead-lettered + parked.
    events: int = 0
    applied: int = 0
    dead_letters: int = 0
    parked: int = 0
    #: Its checkpoint and the head at the end.
    position: int = 0
    head: int = 0
    seconds: float = 0.0
    events_per_second: float = 0.0
    error: str | None = None


class ProjectionRunner:
    """Runs projections and sagas for one lease owner (one worker process)."""

    def __init__(
        self,
        processors: Sequence[Projection],
        *,
        events: EventStore,
        store: ProjectionStore,
        registry: EventRegistry,
        clock: Clock,
        bus: CommandBus | None = None,
        config: RunnerConfig | None = None,
        owner: str | None = None,
        wakeups: WakeupFactory | None = None,
    ) -> None:
        self.config = config or RunnerConfig()
        self.owner = owner or default_owner()
        self._events = events
        self._store = store
        self._clock = clock
        self._wakeups = wakeups
        self._outage = StoreOutage()
        self.appliers: dict[str, EventApplier] = {}
        self.workers: dict[str, ProcessorWorker] = {}
        for processor in processors:
            applier = EventApplier(
                processor,
                registry,
                clock,
                attempts=self.config.handler_attempts,
                events=events,
                bus=bus,
            )
            self.appliers[processor.name] = applier
            self.workers[processor.name] = ProcessorWorker(
                applier,
                events=events,
                store=store,
                clock=clock,
                config=self.config,
                owner=self.owner,
            )

    def select(self, names: Sequence[str] | None = None) -> list[ProcessorWorker]:
        """The workers of `names` (every one if None or empty), sagas first."""
        if names:
            unknown = [name for name in names if name not in self.workers]
            if unknown:
                raise UnknownProjection(unknown[0], list(self.workers))
            chosen = [self.workers[name] for name in dict.fromkeys(names)]
        else:
            chosen = list(self.workers.values())
        for worker in chosen:
            self.appliers[worker.name].require_runnable()
        return sorted(chosen, key=lambda worker: not worker.is_saga)

    async def _ensure(self, workers: list[ProcessorWorker]) -> None:
        versions = {worker.name: worker.processor.version for worker in workers}
        await retry_transient(
            lambda: self._store.ensure_checkpoints(versions, self._clock.now()),
            self.config.transient,
            what="creating checkpoints",
        )

    # -- catch up ---------------------------------------------------------------------

    async def catch_up(
        self, names: Sequence[str] | None = None, *, on_batch: OnBatch | None = None
    ) -> list[CatchUpSummary]:
        """Run the processors to the head and stop; a summary per processor.

        Passes repeat while sagas send commands, so the events those commands
        write are processed too. Leases are released at the end.
        """
        workers = self.select(names)
        await self._ensure(workers)
        summaries = {
            w.name: CatchUpSummary(name=w.name, kind="saga" if w.is_saga else "projection")
            for w in workers
        }
        try:
            for _ in range(MAX_PASSES):
                sent = sum(self.appliers[w.name].commands_sent for w in workers)
                for worker in workers:
                    if summaries[worker.name].status != "failed":
                        await self._catch_up_one(worker, summaries[worker.name], on_batch)
                if sum(self.appliers[w.name].commands_sent for w in workers) == sent:
                    break
        finally:
            for worker in workers:
                with contextlib.suppress(StoreError):
                    await worker.release()
        for summary in summaries.values():
            if summary.seconds > 0:
                summary.events_per_second = round(summary.events / summary.seconds, 1)
            summary.seconds = round(summary.seconds, 3)
        return [summaries[w.name] for w in workers]

    async def _catch_up_one(
        self, worker: ProcessorWorker, summary: CatchUpSummary, on_batch: OnBatch | None
    ) -> None:
        started = time.monotonic()
        waiting_since: float | None = None
        if worker.checkpoint is not None:  # a later pass: measure this pass only
            worker.meter.reset(worker.checkpoint.position)
        try:
            head = await retry_transient(
                self._events.head_position, self.config.transient, what="reading the head"
            )
            while True:
                step = await worker.step(head)
                if step.kind == "stale":
                    continue
                if step.kind == "batch":
                    assert step.result is not None
                    _add(summary, step.result)
                    if on_batch is not None:
                        on_batch(worker.name, step.result)
                    continue
                if step.kind == "busy":
                    waiting_since = waiting_since or time.monotonic()
                    if time.monotonic() - waiting_since > self.config.lease_wait:
                        summary.status = "busy"
                        break
                    await asyncio.sleep(min(0.25, self.config.lease_seconds / 4))
                    continue
                assert step.checkpoint is not None
                summary.status = (
                    "caught-up" if step.kind == "caught-up" else step.checkpoint.status.value
                )
                break
        except StoreError as exc:
            summary.status = "failed"
            summary.error = str(exc)
            head = summary.head
        summary.head = head
        if worker.checkpoint is not None:
            summary.position = worker.checkpoint.position
        summary.seconds += time.monotonic() - started

    # -- live -------------------------------------------------------------------------

    async def run_live(
        self,
        names: Sequence[str] | None = None,
        stop: asyncio.Event | None = None,
        *,
        on_batch: OnBatch | None = None,
        on_error: OnError | None = None,
    ) -> None:
        """Keep the processors up to date until `stop` is set.

        Graceful: the batch in progress is finished and committed, then the
        leases are released. A processor whose store keeps failing (a server
        restart, a lock held too long) is retried with exponential backoff, never
        dropped: its first error goes to `on_error`, and the log says once that the
        store cannot be used and once that it answers again (no traceback).
        """
        stop = stop or asyncio.Event()
        workers = self.select(names)
        await self._ensure(workers)
        wakeups = await self._wakeups() if self._wakeups is not None else None
        watcher = HeadWatcher(
            self._events,
            poll_interval=self.config.poll_interval,
            wakeups=wakeups,
            notified_poll_interval=self.config.notified_poll_interval,
        )
        await watcher.start()

        async def close_on_stop() -> None:
            await stop.wait()
            await watcher.close()

        closer = asyncio.create_task(close_on_stop())
        try:
            await asyncio.gather(
                *(self._live(w, watcher, stop, on_batch, on_error) for w in workers)
            )
        finally:
            closer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await closer
            await watcher.close()
            for worker in workers:
                with contextlib.suppress(StoreError):
                    await worker.release()

    async def _live(
        self,
        worker: ProcessorWorker,
        watcher: HeadWatcher,
        stop: asyncio.Event,
        on_batch: OnBatch | None,
        on_error: OnError | None,
    ) -> None:
        config = self.config
        next_renewal = 0.0
        failures = 0  # steps in a row that failed with a StoreError
        while not stop.is_set():
            try:
                if failures:
                    # one cheap read first: no full step (with its own retries) while the
                    # store cannot be reached
                    await self._events.head_position()
                step = await worker.step(watcher.head)
                if failures:
                    failures = 0
                    self._outage.ended(worker.name)
                if step.kind == "batch":
                    assert step.result is not None
                    if on_batch is not None:
                        on_batch(worker.name, step.result)
                    await asyncio.sleep(0)  # let the other processors have a turn
                    continue
                if step.kind == "stale":
                    continue
                if step.kind == "caught-up" and time.monotonic() >= next_renewal:
                    await worker.renew()
                    next_renewal = time.monotonic() + config.renew_interval
                if step.kind == "caught-up":
                    assert step.checkpoint is not None
                    await watcher.wait_beyond(step.checkpoint.position, config.renew_interval)
                else:  # paused, or leased to another worker: look again soon
                    await _wait(stop, config.renew_interval)
            except StoreError as exc:  # unreachable or locked: wait with backoff, no traceback
                failures += 1
                delay = config.transient.delay_after(failures)
                self._outage.began(worker.name, exc, delay)
                if on_error is not None and failures == 1:
                    on_error(worker.name, exc)
                await _wait(stop, delay)
            except Exception as exc:  # a live worker reports and carries on
                log.exception("projection %s failed; retrying", worker.name)
                if on_error is not None:
                    on_error(worker.name, exc)
                await _wait(stop, config.transient.max_delay)


class StoreOutage:
    """What a live runner says while its store cannot be used: one line when the first
    projection fails (after its step's own retries), one when the store answers again;
    the tries in between are only logged at debug level."""

    def __init__(self) -> None:
        self.since: float | None = None

    def began(self, name: str, error: StoreError, delay: float) -> None:
        if self.since is not None:
            log.debug(
                "projection %s still cannot use the store (%s); next try in %.2f s",
                name,
                error,
                delay,
            )
            return
        self.since = time.monotonic()
        log.warning(
            "projection %s cannot use the store: %s. Live projections wait and retry "
            "with backoff; nothing is lost",
            name,
            error,
        )

    def ended(self, name: str) -> None:
        if self.since is None:
            return
        log.warning(
            "the store answers again after %.1f s; live projections resume (%s first)",
            time.monotonic() - self.since,
            name,
        )
        self.since = None


def _add(summary: CatchUpSummary, result: BatchResult) -> None:
    summary.events += result.events
    summary.applied += result.applied
    summary.dead_letters += len(result.dead_letters)
    summary.parked += result.parked


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
