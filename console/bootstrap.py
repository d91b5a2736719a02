"""The composition root: builds a running system from a database URL.

The command line and the console both start here; nothing opens a database at
import time. Read-only is enforced twice below the front ends: the stores are
handed to the core behind one `WriteGate` (core/read_only.py), and the
database itself is opened read-only (stores/engine.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.clock import Clock, IdFactory, SystemClock, UuidFactory
from core.commands import CommandBus
from core.domain import AGGREGATES, build_bus, build_registry
from core.domain.projections import DEMO_PROJECTIONS, DEMO_SAGAS
from core.operator_events import register_operator_events
from core.ports import EventStore, SnapshotStore
from core.projection_engine import ProjectionEngine
from core.projection_store import ProjectionStore
from core.read_only import (
    GuardedEventStore,
    GuardedProjectionStore,
    GuardedSnapshotStore,
    WriteGate,
)
from core.registry import EventRegistry
from core.repository import Repository
from core.runner_config import RunnerConfig
from core.time_travel import TimeTravel
from stores import open_stores
from stores.notifications import open_wakeups
from stores.projection_store import SqlProjectionStore


@dataclass
class System:
    """Everything a front end needs, wired to one store."""

    #: As given (it may hold a password): print it only through `stores.redact_url`.
    url: str
    store: EventStore
    snapshots: SnapshotStore
    registry: EventRegistry
    repository: Repository
    bus: CommandBus
    time_travel: TimeTravel
    clock: Clock
    #: Checkpoints, read models, dead letters (the projection engine's store).
    projection_store: ProjectionStore
    #: Everything projections do: catch-up, worker, status, rebuild, dead letters, queries.
    projections: ProjectionEngine
    #: Closed when read-only: every store write of the core is refused at its port.
    gate: WriteGate = field(default_factory=WriteGate)

    @property
    def read_only(self) -> bool:
        return self.gate.read_only

    @read_only.setter
    def read_only(self, value: bool) -> None:
        # Closing the gate later (the console's --read-only over a store opened by a
        # factory) still guards every port; the database stays as it was opened.
        self.gate.read_only = value

    def require_writable(self, action: str) -> None:
        """Refuse a write when the system is read-only (the front ends ask first, to
        refuse before any work; the ports refuse anyway)."""
        self.gate.check(action)

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
    """Open the store at `url` (creating its schema on first use) and wire the domain.

    `read_only`: the database is opened read-only (a missing or older store is an
    error) and every write of the core is refused at its port.
    """
    sql_store, sql_snapshots = await open_stores(url, read_only=read_only)
    gate = WriteGate(read_only)
    store = GuardedEventStore(sql_store, gate)
    snapshots = GuardedSnapshotStore(sql_snapshots, gate)
    clock = clock or SystemClock()
    ids = ids or UuidFactory()
    # The operator audit trail (retry, skip, rebuild, pause, resume) is in the event log.
    registry = register_operator_events(build_registry())
    repository = Repository(store, registry, AGGREGATES, clock, ids, snapshots=snapshots)
    bus = build_bus(repository)
    projection_store = GuardedProjectionStore(SqlProjectionStore(sql_store.engine), gate)
    engine = ProjectionEngine(
        [*DEMO_SAGAS, *DEMO_PROJECTIONS],
        events=store,
        store=projection_store,
        registry=registry,
        clock=clock,
        ids=ids,
        bus=bus,
        config=runner_config,
        wakeups=lambda: open_wakeups(sql_store.engine),
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
        gate=gate,
    )
