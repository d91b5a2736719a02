"""Read-only at the ports (core/read_only.py): with the gate closed, every write path
of the core is refused, called directly, with no front end checking first."""

from __future__ import annotations

import asyncio
import inspect
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from core.clock import FixedClock, SeededIdFactory
from core.domain import Account, build_bus, build_repository
from core.domain.commands import Deposit, OpenAccount
from core.domain.demo_data import seed_demo
from core.domain.projections import DEMO_PROJECTIONS, DEMO_SAGAS
from core.errors import ReadOnlyError
from core.memory_projection_store import InMemoryProjectionStore
from core.memory_store import InMemoryEventStore, InMemorySnapshotStore
from core.ports import EventStore, SnapshotStore
from core.projection_engine import ProjectionEngine
from core.projection_store import ProjectionStore
from core.read_only import (
    GuardedEventStore,
    GuardedProjectionStore,
    GuardedSnapshotStore,
    WriteGate,
)
from core.repository import Repository

END = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@dataclass
class Shop:
    gate: WriteGate
    events: GuardedEventStore
    snapshots: GuardedSnapshotStore
    projections: GuardedProjectionStore
    repository: Repository
    engine: ProjectionEngine
    clock: FixedClock

    async def fingerprint(self) -> tuple[Any, ...]:
        """Everything a write could change, compared before and after."""
        letters = await self.projections.dead_letters()
        return (
            await self.events.head_position(),
            [c.model_dump() for c in await self.projections.checkpoints()],
            [(d.id, d.status, d.attempts) for d in letters],
            await self.projections.list_documents("order-summary"),
            {s.stream_id: await self.snapshots.versions(s.stream_id) for s in await self.events.list_streams()},
        )  # fmt: skip


@pytest.fixture
async def shop() -> Shop:
    """A seeded, caught-up demo shop (dead letters included) behind an open gate."""
    gate = WriteGate()
    memory = InMemoryEventStore()
    events = GuardedEventStore(memory, gate)
    snapshots = GuardedSnapshotStore(InMemorySnapshotStore(), gate)
    projections = GuardedProjectionStore(InMemoryProjectionStore(memory), gate)
    clock, ids = FixedClock(END), SeededIdFactory(3)
    repository = build_repository(events, clock=clock, ids=ids, snapshots=snapshots)
    engine = ProjectionEngine(
        [*DEMO_PROJECTIONS, *DEMO_SAGAS], events=events, store=projections,
        registry=repository.registry, clock=clock, ids=ids, bus=build_bus(repository),
    )  # fmt: skip

    async def tick() -> None:
        await engine.catch_up(["fulfilment"])

    await seed_demo(
        events, snapshots, orders=20, accounts=3, days=3, seed=5, end=END, tick=tick,
        clock=clock, ids=ids,
    )  # fmt: skip
    clock.set(END)
    await engine.catch_up()
    await engine.pause("audit-log", user="setup")
    assert await engine.dead_letters.list(), "the poison streams left dead letters"
    return Shop(gate, events, snapshots, projections, repository, engine, clock)


async def accounts(shop: Shop) -> list[str]:
    return [s.stream_id for s in await shop.events.list_streams(stream_type="Account")]


async def test_every_write_path_is_refused_called_directly(shop: Shop) -> None:
    before = await shop.fingerprint()
    letter = (await shop.engine.dead_letters.list())[0]
    account = (await accounts(shop))[0]
    loaded = await shop.repository.load(Account, account)
    bus = build_bus(shop.repository)
    stop = asyncio.Event()
    stop.set()
    shop.gate.read_only = True

    attempts = {
        "command": bus.dispatch(Deposit(account_id=account, amount=Decimal(5)), user_id="mallory"),
        "new stream": bus.dispatch(OpenAccount(owner="Mallory"), user_id="mallory"),
        "snapshot": shop.repository.take_snapshot(loaded),
        "seed": seed_demo(
            shop.events, shop.snapshots, orders=2, accounts=1, days=1, seed=1, end=END
        ),
        "catch-up": shop.engine.catch_up(),
        "worker": shop.engine.run_live(stop=stop),
        "rebuild": shop.engine.rebuild(["order-summary"], user="mallory"),
        "rebuild all": shop.engine.rebuild(user="mallory"),
        "retry": shop.engine.dead_letters.retry(letter.id, user="mallory"),
        "skip": shop.engine.dead_letters.skip(letter.id, user="mallory"),
        "retry all": shop.engine.dead_letters.retry_all(user="mallory"),
        "skip all": shop.engine.dead_letters.skip_all(user="mallory"),
        "pause": shop.engine.pause("order-summary", user="mallory"),
        "resume": shop.engine.resume("audit-log", user="mallory"),
    }
    for what, attempt in attempts.items():
        with pytest.raises(ReadOnlyError, match="--read-only") as refused:
            await attempt
        assert str(refused.value).startswith("cannot "), what
        assert await shop.fingerprint() == before, what
    # reads still work
    assert (await shop.engine.status())[0].head == before[0]
    assert (await shop.repository.load(Account, account)).version == loaded.version


async def test_the_gate_opens_and_closes(shop: Shop) -> None:
    account = (await accounts(shop))[0]
    bus = build_bus(shop.repository)
    shop.gate.read_only = True
    with pytest.raises(ReadOnlyError, match=f"append events to stream '{account}'"):
        await bus.dispatch(Deposit(account_id=account, amount=Decimal(5)), user_id="a")
    shop.gate.read_only = False
    result = await bus.dispatch(Deposit(account_id=account, amount=Decimal(5)), user_id="a")
    assert result.stream_id == account


@pytest.mark.parametrize(
    ("guard", "port"),
    [
        (GuardedEventStore, EventStore),
        (GuardedSnapshotStore, SnapshotStore),
        (GuardedProjectionStore, ProjectionStore),
    ],
)
def test_each_guard_covers_its_whole_port(guard: type, port: type) -> None:
    """A method added to a port must be added to its guard (and decided: read or write)."""
    wanted = {name for name in vars(port) if not name.startswith("_")}
    assert wanted <= set(vars(guard)), wanted - set(vars(guard))


WRITES = {
    GuardedEventStore: {"append"},
    GuardedSnapshotStore: {"save"},
    GuardedProjectionStore: {
        "ensure_checkpoints",
        "set_status",
        "acquire_lease",
        "release_lease",
        "commit",
        "start_generation",
        "switch_generation",
        "drop_generation",
    },
}


@pytest.mark.parametrize("guard", list(WRITES))
async def test_write_methods_refuse_before_reaching_the_store(guard: type) -> None:
    class Exploding:
        def __getattr__(self, name: str) -> Any:
            raise AssertionError(f"{name} reached the store")

    wrapped = guard(Exploding(), WriteGate(read_only=True))
    for name in WRITES[guard]:
        method = getattr(wrapped, name)
        arguments = [_dummy(p) for p in inspect.signature(method).parameters.values()]
        positional = [a for p, a in arguments if p.kind is not p.KEYWORD_ONLY]
        keywords = {p.name: a for p, a in arguments if p.kind is p.KEYWORD_ONLY}
        with pytest.raises(ReadOnlyError, match="--read-only"):
            await method(*positional, **keywords)


def _dummy(parameter: inspect.Parameter) -> tuple[inspect.Parameter, Any]:
    class Anything:
        name = stream_id = "x"
        value = "running"

    return parameter, Anything()
