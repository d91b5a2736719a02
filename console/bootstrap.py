"""The composition root: builds a running system from a database URL.

The command line and the console both start here; nothing opens a database at
import time.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.clock import Clock, IdFactory, SystemClock, UuidFactory
from core.commands import CommandBus
from core.domain import AGGREGATES, build_bus, build_registry
from core.domain.projections import DEMO_PROJECTIONS, DEMO_SAGAS
from core.errors import ReadOnlyError
from core.operator_events import register_operator_events
from core.projection_engine import ProjectionEngine
from core.registry import EventRegistry
from core.repository import Repository
from core.runner_config import RunnerConfig
from core.time_travel import TimeTravel
from stores import open_stores
from stores.event_store import SqlEventStore
from stores.notifications import open_wakeups
from stores.projection_store import SqlProjectionStore
from stores.snapshot_store import SqlSnapshotStore


@dataclass
class System:
    """Everything a front end needs, wired to one store."""

    url: str
    store: SqlEventStore
    snapshots: SqlSnapshotStore
    registry: EventRegistry
    repository: Repository
    bus: CommandBus
    time_travel: TimeTravel
    clock: Clock
    #: Checkpoints, read models, dead letters (the projection engine's store).
    projection_store: SqlProjectionStore
    #: Everything projections do: catch-up, worker, status, rebuild, dead letters, queries.
    projections: ProjectionEngine
    read_only: bool = False

    def require_writable(self, action: str) -> None:
        """Refuse a write when the system was opened read-only."""
        if self.read_only:
            raise ReadOnlyError(f"cannot {action}: eventdeck was started with --read-only")

    async def close(self) -> None:
        await self.store.close()


async def open_system(
    url: str,
    *,
    clock: Clock | None = None,
    ids: IdFactory | None = None,
    read_only: bool = False,
    runner_config: RunnerConfig | None = None,
) -> System:
    """Open the store at `url` (creating its schema on first use) and wire the domain."""
    store, snapshots = await open_stores(url)
    clock = clock or SystemClock()
    ids = ids or UuidFactory()
    # The operator audit trail (retry, skip, rebuild, pause, resume) is in the event log.
    registry = register_operator_events(build_registry())
    repository = Repository(store, registry, AGGREGATES, clock, ids, snapshots=snapshots)
    bus = build_bus(repository)
    projection_store = SqlProjectionStore(store.engine)
    engine = ProjectionEngine(
        [*DEMO_SAGAS, *DEMO_PROJECTIONS],
        events=store,
        store=projection_store,
        registry=registry,
        clock=clock,
        ids=ids,
        bus=bus,
        config=runner_config,
        wakeups=lambda: open_wakeups(store.engine),
    )
    return System(
        url=url,
        store=store,
        snapshots=snapshots,
        registry=registry,
        repository=repository,
        bus=bus,
        time_travel=TimeTravel(repository),
        clock=clock,
        projection_store=projection_store,
        projections=engine,
        read_only=read_only,
    )
