"""Sagas driven by the runner: commands as SYSTEM with correlation and causation ids,
never sent twice after a crash, business refusals handed to the saga."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.aggregate import Aggregate
from core.checkpoints import Checkpoint
from core.clock import FixedClock
from core.domain.commands import Deposit
from core.memory_projection_store import InMemoryProjectionStore
from core.memory_store import InMemoryEventStore
from core.projection_store import BatchCommit
from tests.projection_fixtures import (
    T0,
    CounterProjection,
    PayerSaga,
    demo_bus,
    make_engine,
    new_counted,
)
from tests.test_projection_runner import Crash, FlakyStore


async def pay(events: InMemoryEventStore, *amounts: int, corr: str = "corr-1") -> None:
    info = await events.stream_info("pay")
    version = info.version if info else 0
    await events.append("pay", "Counter", [new_counted(n, corr=corr) for n in amounts], version)


async def account_events(events: InMemoryEventStore) -> list[tuple[str, str]]:
    return [(e.type, e.data.get("amount", "")) for e in await events.read_stream("acc-1")]


async def test_saga_commands_carry_system_user_correlation_and_causation() -> None:
    events, store = InMemoryEventStore(), InMemoryProjectionStore()
    clock = FixedClock(T0)
    bus = await demo_bus(events, clock)
    await pay(events, 5, 7)
    engine = make_engine([PayerSaga(), CounterProjection()], events, store, clock=clock, bus=bus)

    summaries = {s.name: s for s in await engine.catch_up()}

    assert summaries["payer"].applied == 2
    deposits = (await events.read_stream("acc-1"))[1:]
    triggers = await events.read_stream("pay")
    assert [
        (d.metadata.user_id, d.metadata.correlation_id, d.metadata.causation_id) for d in deposits
    ] == [("SYSTEM", "corr-1", t.event_id) for t in triggers]
    assert await store.get_document("payer", "acc-1") == {
        "sent": 2,
        "deduplicated": 0,
        "refused": 0,
    }


@pytest.mark.parametrize("crash_at", [1, 2])
async def test_a_crash_after_the_command_before_the_checkpoint_sends_nothing_twice(
    crash_at: int,
) -> None:
    events = InMemoryEventStore()
    clock = FixedClock(T0)
    bus = await demo_bus(events, clock)
    await pay(events, 5, 7)
    store = FlakyStore(crash_at=crash_at)  # the saga commits after every event
    with pytest.raises(Crash):
        await make_engine([PayerSaga()], events, store, clock=clock, bus=bus).catch_up()
    assert len(await account_events(events)) == 1 + crash_at  # the command was written

    await make_engine([PayerSaga()], events, store, clock=clock, bus=bus).catch_up()

    assert await account_events(events) == [
        ("AccountOpened", ""),
        ("MoneyDeposited", "5.00"),
        ("MoneyDeposited", "7.00"),
    ]
    state = await store.get_document("payer", "acc-1")
    assert state == {"sent": 1, "deduplicated": 1, "refused": 0}


async def test_business_refusals_go_to_the_saga() -> None:
    events, store = InMemoryEventStore(), InMemoryProjectionStore()
    clock = FixedClock(T0)
    bus = await demo_bus(events, clock)
    await pay(events, 5, -50)  # withdrawing 50 from 5: refused by the domain
    engine = make_engine([PayerSaga()], events, store, clock=clock, bus=bus)
    [summary] = await engine.catch_up()
    assert (summary.applied, summary.dead_letters) == (2, 0)
    assert await store.get_document("payer", "acc-1") == {
        "sent": 1,
        "deduplicated": 0,
        "refused": 1,
    }
    assert Decimal((await account_events(events))[-1][1]) == Decimal(5)


@pytest.mark.parametrize("swallow_all", [False, True])
async def test_other_command_failures_become_dead_letters(swallow_all: bool) -> None:
    events, store = InMemoryEventStore(), InMemoryProjectionStore()
    clock = FixedClock(T0)
    bus = await demo_bus(events, clock)
    await events.append("pay", "Counter", [new_counted(5)], 0)
    saga = PayerSaga(swallow_all=swallow_all)
    engine = make_engine([saga], events, store, clock=clock, bus=bus)

    async def broken(*args: object) -> Aggregate:
        raise RuntimeError("ledger offline")

    bus.register(Deposit, broken)
    [summary] = await engine.catch_up()
    assert summary.dead_letters == 1
    [dead] = await engine.dead_letters.list(projection="payer")
    assert dead.error == "RuntimeError: ledger offline"
    assert await store.get_document("payer", "acc-1") is None


class RecordingStore(InMemoryProjectionStore):
    def __init__(self) -> None:
        super().__init__()
        self.committed: list[int] = []

    async def commit(self, batch: BatchCommit) -> Checkpoint:
        self.committed.append(batch.position)
        return await super().commit(batch)


async def test_a_saga_commits_right_after_each_command_it_sends() -> None:
    events, store = InMemoryEventStore(), RecordingStore()
    clock = FixedClock(T0)
    bus = await demo_bus(events, clock)  # position 1: the account
    await pay(events, 5)  # 2
    await events.append("other", "Counter", [new_counted(1), new_counted(2)], 0)  # 3, 4
    await pay(events, 7)  # 5
    await events.append("other", "Counter", [new_counted(3)], 2)  # 6
    engine = make_engine([PayerSaga()], events, store, clock=clock, bus=bus)
    await engine.catch_up()
    # commits right after each trigger (2, 5) and at the end of the batch (6); the next
    # pass (the saga sent commands) moves past its own deposits (7, 8)
    assert store.committed == [2, 5, 6, 8]
