"""One processor (projection or saga) as a runner drives it: lease, cursor, one step.

A step leases the active checkpoint if needed, runs one batch towards a head
and commits it. Transient store errors retry the step with backoff; a
compare-and-set failure (another owner, a rebuild switch, an operator's retry)
only makes the next step re-read the checkpoint.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from .batch_processor import BatchProcessor, BatchResult
from .checkpoints import Checkpoint
from .clock import Clock
from .errors import StaleCheckpoint
from .event_applier import EventApplier
from .ports import EventStore
from .projection_store import Cursor, ProjectionStore
from .projections import Projection
from .retry_policy import retry_transient
from .runner_config import RunnerConfig
from .throughput import RateMeter

StepKind = Literal["batch", "caught-up", "paused", "busy", "stale"]


def default_owner(role: str = "worker") -> str:
    """A lease owner id naming this host and process, unique per call."""
    return f"{role}:{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class Step:
    """What one step did: a batch, or why there was nothing to do."""

    kind: StepKind
    checkpoint: Checkpoint | None = None
    result: BatchResult | None = None


class ProcessorWorker:
    """Drives one processor's active generation for one lease owner."""

    def __init__(
        self,
        applier: EventApplier,
        *,
        events: EventStore,
        store: ProjectionStore,
        clock: Clock,
        config: RunnerConfig,
        owner: str,
    ) -> None:
        self.processor: Projection = applier.processor
        self.name = self.processor.name
        self.is_saga = applier.is_saga
        self.owner = owner
        self._store = store
        self._clock = clock
        self._config = config
        self._batches = BatchProcessor(
            applier,
            events,
            store,
            clock,
            config.batch_size_for(applier.is_saga),
            config.window,
            commit_after_commands=applier.is_saga,
        )
        self.meter = RateMeter(config.rate_window)
        self.generation: int | None = None
        self.checkpoint: Checkpoint | None = None
        self._leased_generation: int | None = None

    async def step(self, head: int) -> Step:
        """One batch towards `head`, with transient errors retried (the last propagates)."""
        try:
            step = await retry_transient(
                lambda: self._step(head), self._config.transient, what=f"projection {self.name}"
            )
        except StaleCheckpoint:
            self.generation = None
            step = Step("stale")
        except BaseException:
            self._batches.rest()
            raise
        if step.kind != "batch":
            self._batches.rest()
        return step

    async def _step(self, head: int) -> Step:
        cursor = await self._cursor()
        checkpoint = cursor.checkpoint
        self.checkpoint = checkpoint
        if not checkpoint.is_runnable:
            return Step("paused", checkpoint)
        if checkpoint.position >= head:
            return Step("caught-up", checkpoint)
        now = self._clock.now()
        lease = timedelta(seconds=self._config.lease_seconds)
        if (
            checkpoint.owner != self.owner
            or checkpoint.lease_expires_at is None
            or checkpoint.lease_expires_at - now < lease / 2
        ):
            leased = await self._store.acquire_lease(
                self.name, checkpoint.generation, self.owner, now=now, expires_at=now + lease
            )
            if leased is None:
                return Step("busy", checkpoint)
            if self._leased_generation != checkpoint.generation:
                self.meter.reset(leased.position)
            self._leased_generation = checkpoint.generation
            cursor = Cursor(leased, cursor.blocked_streams)
        result = await self._batches.run(
            cursor,
            head,
            owner=self.owner,
            lease_expires_at=self._clock.now() + lease,
            meter=self.meter,
        )
        self.checkpoint = result.checkpoint
        return Step("batch", result.checkpoint, result)

    async def _cursor(self) -> Cursor:
        if self.generation is None:
            checkpoint = await self._store.checkpoint(self.name)
            if checkpoint is None:
                await self._store.ensure_checkpoints(
                    {self.name: self.processor.version}, self._clock.now()
                )
                checkpoint = await self._store.checkpoint(self.name)
                assert checkpoint is not None
            self.generation = checkpoint.generation
        try:
            return await self._store.cursor(self.name, self.generation)
        except StaleCheckpoint:
            self.generation = None
            raise

    async def renew(self) -> bool:
        """Renew the lease this worker holds while it is idle; whether it still holds it."""
        generation = self._leased_generation
        if generation is None:
            return False
        now = self._clock.now()
        leased = await self._store.acquire_lease(
            self.name,
            generation,
            self.owner,
            now=now,
            expires_at=now + timedelta(seconds=self._config.lease_seconds),
        )
        if leased is None:
            self._leased_generation = None
        return leased is not None

    async def release(self) -> None:
        """Give the lease up (graceful stop), so another worker can take over at once."""
        await self._batches.close()
        if self._leased_generation is not None:
            await self._store.release_lease(self.name, self._leased_generation, self.owner)
            self._leased_generation = None
