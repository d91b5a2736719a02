"""The projection engine: one object the CLI and the console use for everything
projections do — catch up, run live, status and lag, pause and resume, rebuild,
dead letters and read-model queries.

It only composes the parts, each in the module named after it: the runner
(core/projection_runner.py), rebuilds (core/rebuilds.py), the dead-letter desk
(core/dead_letter_desk.py) and the monitor (core/projection_monitor.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from .clock import Clock, IdFactory
from .commands import CommandBus
from .dead_letter_desk import DeadLetterDesk
from .errors import UnknownProjection
from .event_applier import EventApplier
from .operator_events import OperatorLog, register_operator_events
from .ports import EventStore
from .projection_monitor import ProjectionMonitor, ProjectionState
from .projection_runner import CatchUpSummary, OnBatch, OnError, ProjectionRunner, WakeupFactory
from .projection_store import ProjectionStore
from .projections import Document, Projection
from .rebuilds import OnDeadLetter, OnProgress, Rebuilder, RebuildSummary
from .registry import EventRegistry
from .runner_config import RunnerConfig


class ProjectionEngine:
    """Projections and sagas over one event store and one projection store."""

    def __init__(
        self,
        processors: Sequence[Projection],
        *,
        events: EventStore,
        store: ProjectionStore,
        registry: EventRegistry,
        clock: Clock,
        ids: IdFactory,
        bus: CommandBus | None = None,
        config: RunnerConfig | None = None,
        wakeups: WakeupFactory | None = None,
    ) -> None:
        names = [processor.name for processor in processors]
        if len(set(names)) != len(names):
            raise ValueError(f"projection names must be unique: {names}")
        self.processors: dict[str, Projection] = {p.name: p for p in processors}
        self.events = events
        self.store = store
        self.registry = register_operator_events(registry)
        self.clock = clock
        self.bus = bus
        self.config = config or RunnerConfig()
        self._wakeups = wakeups
        self.operator_log = OperatorLog(events, self.registry, clock, ids)
        appliers = {
            p.name: EventApplier(
                p,
                self.registry,
                clock,
                attempts=self.config.handler_attempts,
                events=events,
                bus=bus,
            )
            for p in processors
        }
        self.dead_letters = DeadLetterDesk(
            appliers, events=events, store=store, clock=clock, operator_log=self.operator_log
        )
        self.rebuilder = Rebuilder(
            appliers,
            events=events,
            store=store,
            clock=clock,
            operator_log=self.operator_log,
            config=self.config,
        )
        self.monitor = ProjectionMonitor(
            self.processors, events=events, store=store, clock=clock, operator_log=self.operator_log
        )

    def runner(self, owner: str | None = None) -> ProjectionRunner:
        """A runner (one lease owner) over every processor."""
        return ProjectionRunner(
            list(self.processors.values()),
            events=self.events,
            store=self.store,
            registry=self.registry,
            clock=self.clock,
            bus=self.bus,
            config=self.config,
            owner=owner,
            wakeups=self._wakeups,
        )

    async def catch_up(
        self, names: Sequence[str] | None = None, *, on_batch: OnBatch | None = None
    ) -> list[CatchUpSummary]:
        """Run `names` (all if None) to the head and stop."""
        return await self.runner().catch_up(names, on_batch=on_batch)

    async def run_live(
        self,
        names: Sequence[str] | None = None,
        stop: asyncio.Event | None = None,
        *,
        on_batch: OnBatch | None = None,
        on_error: OnError | None = None,
    ) -> None:
        """Keep `names` (all if None) current until `stop` is set (graceful)."""
        await self.runner().run_live(names, stop, on_batch=on_batch, on_error=on_error)

    async def status(self, names: Sequence[str] | None = None) -> list[ProjectionState]:
        return await self.monitor.status(names)

    async def pause(self, name: str, *, user: str) -> None:
        await self.monitor.pause(name, user=user)

    async def resume(self, name: str, *, user: str) -> None:
        await self.monitor.resume(name, user=user)

    async def rebuild(
        self,
        names: Sequence[str] | None = None,
        *,
        user: str,
        from_time: datetime | None = None,
        progress: OnProgress | None = None,
        on_error: OnDeadLetter | None = None,
    ) -> list[RebuildSummary]:
        """Rebuild `names` (every projection if None); see core/rebuilds.py."""
        return await self.rebuilder.rebuild(
            names, user=user, from_time=from_time, progress=progress, on_error=on_error
        )

    def require_view(self, view: str) -> Projection:
        """The processor whose view is `view`, or UnknownProjection."""
        processor = self.processors.get(view)
        if processor is None:
            raise UnknownProjection(view, list(self.processors))
        return processor

    async def query(self, view: str, key: str) -> Document | None:
        """One document of a read model (active generation), None if absent."""
        self.require_view(view)
        return await self.store.get_document(view, key)

    async def query_page(
        self, view: str, *, limit: int | None = None, offset: int = 0
    ) -> list[dict[str, Any]]:
        """A page of a read model's documents, ordered by key."""
        self.require_view(view)
        return [doc for _, doc in await self.store.list_documents(view, limit=limit, offset=offset)]
