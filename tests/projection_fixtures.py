"""Tiny projections, a tiny saga and event writers for the projection-engine tests.

`CounterProjection` keeps, per stream, the versions it applied in order
(`seen`), so anything applied twice, skipped or out of order shows; and one
cross-stream document (`_totals`), so batches touch shared documents too.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar

from core.clock import Clock, FixedClock, UuidFactory
from core.commands import CommandBus
from core.domain import build_bus, build_repository
from core.domain.commands import Deposit, OpenAccount, Withdraw
from core.errors import InvalidTransition
from core.events import DomainEvent, Metadata, NewEvent, RecordedEvent
from core.memory_store import InMemoryEventStore
from core.ports import EventStore
from core.projection_engine import ProjectionEngine
from core.projection_store import ProjectionStore
from core.projections import Projection, ProjectionError, Saga, SagaContext, View
from core.registry import EventRegistry
from core.retry_policy import RetryPolicy
from core.runner_config import RunnerConfig

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


class Counted(DomainEvent):
    type_name: ClassVar[str] = "Counted"
    n: int
    poison: bool = False


class Noted(DomainEvent):
    """An event type the counter does not handle (only advances its checkpoint)."""

    type_name: ClassVar[str] = "Noted"
    text: str = ""


def counter_registry() -> EventRegistry:
    return EventRegistry([Counted, Noted])


class CounterProjection(Projection):
    """Per stream: count, total and the versions applied; `_totals` across streams."""

    name: ClassVar[str] = "counter"
    handles: ClassVar[frozenset[str]] = frozenset({"Counted"})
    description: ClassVar[str] = "counts per stream"

    def __init__(self) -> None:
        #: While True, events with poison=True fail.
        self.poisoned = True
        #: When set, apply waits for it (to hold a batch mid-way in a test).
        self.gate: asyncio.Event | None = None
        self.calls = 0

    def prefetch_keys(self, event: DomainEvent, record: RecordedEvent) -> Iterable[str]:
        return (record.stream_id, "_totals")

    async def apply(self, event: DomainEvent, record: RecordedEvent, view: View) -> None:
        assert isinstance(event, Counted)
        self.calls += 1
        if self.gate is not None:
            await self.gate.wait()
        doc = await view.get(record.stream_id) or {"count": 0, "total": 0, "seen": []}
        doc["count"] += 1
        doc["total"] += event.n
        doc["seen"].append(record.version)
        view.put(record.stream_id, doc)
        totals = await view.get("_totals") or {"events": 0}
        totals["events"] += 1
        view.put("_totals", totals)
        if event.poison and self.poisoned:
            # after writing: the overlay must drop these writes
            raise ProjectionError(f"poison event {record.stream_id} v{record.version}")


class EchoProjection(Projection):
    """Writes one document per event, refusing to write one twice."""

    name: ClassVar[str] = "echo"
    handles: ClassVar[frozenset[str]] = frozenset({"Counted", "Noted"})

    def __init__(self, prefetch: bool = True) -> None:
        #: False: every get is a fetch on demand (one query each).
        self.prefetch = prefetch

    def prefetch_keys(self, event: DomainEvent, record: RecordedEvent) -> Iterable[str]:
        return (f"{record.position:08d}",) if self.prefetch else ()

    async def apply(self, event: DomainEvent, record: RecordedEvent, view: View) -> None:
        key = f"{record.position:08d}"
        if await view.get(key) is not None:
            raise ProjectionError(f"{key} applied twice")
        view.put(key, {"type": record.type, "stream": record.stream_id})


class LatestProjection(Projection):
    """The last event of each stream: idempotent (sets values), so a from-time rebuild works."""

    name: ClassVar[str] = "latest"
    handles: ClassVar[frozenset[str]] = frozenset({"Counted"})

    async def apply(self, event: DomainEvent, record: RecordedEvent, view: View) -> None:
        assert isinstance(event, Counted)
        view.put(record.stream_id, {"version": record.version, "n": event.n})


class PayerSaga(Saga):
    """On each Counted event of stream `pay`: deposit n into acc-1; n < 0: withdraw -n."""

    name: ClassVar[str] = "payer"
    handles: ClassVar[frozenset[str]] = frozenset({"Counted"})

    def __init__(self, swallow_all: bool = False) -> None:
        self.swallow_all = swallow_all

    async def react(
        self, event: DomainEvent, record: RecordedEvent, view: View, context: SagaContext
    ) -> None:
        assert isinstance(event, Counted)
        if record.stream_id != "pay":
            return
        state = await view.get("acc-1") or {"sent": 0, "deduplicated": 0, "refused": 0}
        amount = Decimal(abs(event.n))
        command = (
            Deposit(account_id="acc-1", amount=amount)
            if event.n >= 0
            else Withdraw(account_id="acc-1", amount=amount)
        )
        try:
            result = await context.send(command, caused_by=record)
        except InvalidTransition:
            state["refused"] += 1
        except Exception:
            if not self.swallow_all:
                raise
            state["swallowed"] = state.get("swallowed", 0) + 1
        else:
            state["sent" if result is not None else "deduplicated"] += 1
        view.put("acc-1", state)


def new_counted(
    n: int, *, poison: bool = False, at: datetime = T0, corr: str | None = None
) -> NewEvent:
    return NewEvent(
        event_id=str(uuid.uuid4()),
        type="Counted",
        schema_version=1,
        data={"n": n, "poison": poison},
        metadata=Metadata(user_id="test", correlation_id=corr, causation_id=corr),
        recorded_at=at,
    )


def new_noted(at: datetime = T0) -> NewEvent:
    return NewEvent(
        event_id=str(uuid.uuid4()),
        type="Noted",
        schema_version=1,
        data={"text": "x"},
        recorded_at=at,
    )


async def write_round_robin(
    events: EventStore,
    count: int,
    *,
    streams: int = 5,
    poison: Sequence[tuple[str, int]] = (),
    start: datetime = T0,
    step: timedelta = timedelta(seconds=1),
    noted_every: int = 0,
) -> None:
    """`count` Counted events over streams s0..s<streams-1>, one at a time, in turn;
    `poison` lists (stream, version) pairs to mark poison; Noted ones in between."""
    versions: dict[str, int] = {}
    for i in range(count):
        stream = f"s{i % streams}"
        version = versions.get(stream, 0)
        at = start + step * i
        new = [new_counted(i, poison=(stream, version + 1) in poison, at=at)]
        if noted_every and i % noted_every == 0:
            new.append(new_noted(at))
        await events.append(stream, "Counter", new, version)
        versions[stream] = version + len(new)


def fast_config(**changes: Any) -> RunnerConfig:
    """Small batches, no real waiting: for tests."""
    values: dict[str, Any] = {
        "batch_size": 7,
        "transient": RetryPolicy(attempts=4, first_delay=0.001, max_delay=0.01),
        "lease_seconds": 5.0,
        "renew_interval": 0.05,
        "poll_interval": 0.02,
        "lease_wait": 0.5,
    }
    values.update(changes)
    return RunnerConfig(**values)


def make_engine(
    processors: Sequence[Projection],
    events: EventStore,
    store: ProjectionStore,
    *,
    clock: Clock | None = None,
    bus: CommandBus | None = None,
    config: RunnerConfig | None = None,
) -> ProjectionEngine:
    return ProjectionEngine(
        processors,
        events=events,
        store=store,
        registry=counter_registry(),
        clock=clock or FixedClock(T0 + timedelta(days=1)),
        ids=UuidFactory(),
        bus=bus,
        config=config or fast_config(),
    )


async def demo_bus(events: InMemoryEventStore, clock: Clock) -> CommandBus:
    """The demo domain's bus over `events`, with account acc-1 open."""
    bus = build_bus(build_repository(events, clock=clock, ids=UuidFactory()))
    await bus.dispatch(OpenAccount(owner="ann", account_id="acc-1"), user_id="test")
    return bus


async def documents(store: ProjectionStore, view: str) -> dict[str, Any]:
    return dict(await store.list_documents(view))


class Boom(Exception):
    """A failure injected into a store write by a test."""


def fail_after_memory_append(monkeypatch: Any, events: InMemoryEventStore) -> None:
    """Make the in-memory event log fail right after its next append is stored (the
    moment between an operator event and the rest of the step that wrote it)."""
    real = events.append_now

    def append_then_fail(*args: Any, **kwargs: Any) -> Any:
        real(*args, **kwargs)
        raise Boom("died after the operator event")

    monkeypatch.setattr(events, "append_now", append_then_fail)
