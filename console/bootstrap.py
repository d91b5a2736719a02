"""The composition root: builds a running system from a database URL.

The command line and the console both start here; nothing opens a database at
import time.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.clock import Clock, IdFactory, SystemClock, UuidFactory
from core.commands import CommandBus
from core.domain import AGGREGATES, build_bus, build_registry
from core.errors import ReadOnlyError
from core.registry import EventRegistry
from core.repository import Repository
from core.time_travel import TimeTravel
from stores import open_stores
from stores.event_store import SqlEventStore
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
) -> System:
    """Open the store at `url` (creating its schema on first use) and wire the domain."""
    store, snapshots = await open_stores(url)
    clock = clock or SystemClock()
    registry = build_registry()
    repository = Repository(
        store, registry, AGGREGATES, clock, ids or UuidFactory(), snapshots=snapshots
    )
    return System(
        url=url,
        store=store,
        snapshots=snapshots,
        registry=registry,
        repository=repository,
        bus=build_bus(repository),
        time_travel=TimeTravel(repository),
        clock=clock,
        read_only=read_only,
    )
