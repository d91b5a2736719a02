"""Demo history: deterministic, every status, legacy rows, never overdrawn, in time order."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from core.clock import FixedClock, SeededIdFactory, UuidFactory
from core.domain import Account, Order, build_bus, build_repository
from core.domain.demo_data import SeedSummary, seed_demo
from core.domain.fulfilment_saga import APPROVAL_NOTES, FulfilmentSaga
from core.domain.order_events import OrderStatus
from core.domain.testing import SagaDriver
from core.errors import InvalidInput
from core.events import RecordedEvent
from core.memory_store import InMemoryEventStore, InMemorySnapshotStore

END = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
DAYS = 20


async def seeded(
    seed: int = 42, orders: int = 60, accounts: int = 8, **kw: Any
) -> tuple[InMemoryEventStore, SeedSummary, list[RecordedEvent]]:
    store = InMemoryEventStore()
    summary = await seed_demo(
        store, InMemorySnapshotStore(), orders=orders, accounts=accounts, days=DAYS, seed=seed,
        end=END, **kw,
    )  # fmt: skip
    return store, summary, [e async for e in store.read_all()]


@pytest.fixture(scope="module")
def history() -> tuple[InMemoryEventStore, SeedSummary, list[RecordedEvent]]:
    import asyncio

    return asyncio.run(seeded())


def repository(store: InMemoryEventStore) -> Any:
    return build_repository(store, clock=FixedClock(END), ids=UuidFactory())


async def test_same_seed_and_end_give_identical_events() -> None:
    _, first_summary, first = await seeded()
    _, second_summary, second = await seeded()
    assert [e.to_json_dict() for e in first] == [e.to_json_dict() for e in second]
    assert first_summary == second_summary
    _, _, other = await seeded(seed=43)
    assert [e.event_id for e in other] != [e.event_id for e in first]
    assert [e.data for e in other] != [e.data for e in first]


async def test_every_order_status_occurs_and_matches_the_summary(history: Any) -> None:
    store, summary, events = history
    repo = repository(store)
    poison = set(summary.poison_stream_ids)
    order_ids = sorted({e.stream_id for e in events if e.stream_type == "Order"} - poison)
    statuses = Counter(
        [(await repo.load(Order, order_id)).state.status.value for order_id in order_ids]
    )
    assert set(statuses) == {"PENDING", "APPROVED", "SHIPPED", "DELIVERED", "CANCELLED"}
    assert dict(statuses) == {k: v for k, v in summary.by_status.items() if v}
    assert summary.orders == len(order_ids) == 60
    assert summary.accounts == 8
    assert summary.events == len(events) == await store.head_position()


async def test_every_status_occurs_even_with_five_orders() -> None:
    _, summary, _ = await seeded(orders=5, accounts=0)
    assert summary.by_status == {
        "PENDING": 1, "APPROVED": 1, "SHIPPED": 1, "DELIVERED": 1, "CANCELLED": 1,
    }  # fmt: skip


async def test_legacy_rows_exist_decode_and_take_later_commands(history: Any) -> None:
    store, summary, events = history
    repo = repository(store)
    placed = [e for e in events if e.type == "OrderPlaced"]
    by_version = Counter(e.schema_version for e in placed)
    assert by_version[1] == summary.legacy_v1 == 6  # 10 % of 60
    assert by_version[2] == summary.legacy_v2 == 9  # 15 % of 60
    assert by_version[3] == 60 - 15

    v1 = next(e for e in placed if e.schema_version == 1)
    assert set(v1.data) == {"customer_id", "product_ids"}  # exactly as v1 wrote it
    v2 = next(e for e in placed if e.schema_version == 2)
    assert set(v2.data) == {"customer_id", "items", "shipping_address"}

    for event in events:  # every row decodes to a current event
        decoded = repo.registry.decode(event)
        assert decoded.schema_version == type(decoded).schema_version

    legacy_streams = {e.stream_id for e in placed if e.schema_version < 3}
    followed_up = {e.stream_id for e in events if e.stream_id in legacy_streams and e.version > 1}
    assert followed_up, "no command ran on a legacy order"
    for stream_id in followed_up:
        state = (await repo.load(Order, stream_id)).state
        assert state.payment_method == "UNKNOWN"
        assert state.status.value != "PENDING"


async def test_accounts_are_never_overdrawn(history: Any) -> None:
    store, summary, events = history
    balances: dict[str, Decimal] = {}
    movements = Counter()
    for event in events:
        if event.stream_type != "Account" or event.stream_id in summary.poison_stream_ids:
            continue
        if event.type == "AccountOpened":
            balances[event.stream_id] = Decimal(0)
            continue
        amount = event.data["amount"]
        assert isinstance(amount, str) and Decimal(amount).as_tuple().exponent == -2
        sign = 1 if event.type == "MoneyDeposited" else -1
        balances[event.stream_id] += sign * Decimal(amount)
        movements[event.type] += 1
        assert balances[event.stream_id] >= 0, f"{event.stream_id} overdrawn at {event.position}"
    assert movements["MoneyDeposited"] > 0 and movements["MoneyWithdrawn"] > 0
    repo = repository(store)
    for account_id, balance in balances.items():
        assert (await repo.load(Account, account_id)).state.balance == balance


async def test_recorded_at_rises_with_position_inside_the_window(history: Any) -> None:
    _, summary, events = history
    assert [e.position for e in events] == list(range(1, len(events) + 1))
    times = [e.recorded_at for e in events]
    assert times == sorted(times)
    assert all(t.utcoffset() == timedelta(0) for t in times)
    assert END - timedelta(days=DAYS) <= times[0] and times[-1] <= END
    assert (summary.first_at, summary.last_at) == (times[0], times[-1])
    assert len({e.event_id for e in events}) == len(events)


async def test_realistic_payloads(history: Any) -> None:
    _, _, events = history
    current = [e for e in events if e.type == "OrderPlaced" and e.schema_version == 3]
    assert all(e.data["customer_email"] and "@" in e.data["customer_email"] for e in current)
    assert all(e.data["shipping_address"]["country"] == "USA" for e in current)
    shipped = [e for e in events if e.type == "OrderShipped"]
    assert {e.data["carrier"] for e in shipped} <= {"UPS", "FedEx", "DHL", "USPS"}
    assert all(e.data["tracking_number"] for e in shipped)
    users = {e.metadata.user_id for e in events}
    assert {"alice", "bob", "system"} <= users


async def test_progress_is_reported_up_to_the_total() -> None:
    calls: list[tuple[int, int]] = []
    _, summary, _ = await seeded(
        orders=150, accounts=3, progress=lambda done, total: calls.append((done, total))
    )
    total = calls[-1][1]
    assert calls[-1] == (total, total)
    assert total > summary.orders  # one step per command or legacy row
    done = [d for d, _ in calls]
    assert done == sorted(set(done))
    assert len(calls) == 101  # at the first step, then every 1 %, not every step


async def test_bad_arguments_are_refused() -> None:
    store = InMemoryEventStore()
    with pytest.raises(InvalidInput, match="days must be at least 1"):
        await seed_demo(store, None, orders=1, accounts=1, days=0, seed=1, end=END)
    with pytest.raises(InvalidInput, match="0 or more"):
        await seed_demo(store, None, orders=-1, accounts=1, days=1, seed=1, end=END)
    assert await store.head_position() == 0


# -- with the fulfilment saga (tick) and poison streams ----------------------------------------


class SagaSeed:
    """A seed whose saga turns run the real fulfilment saga over the same store and clock."""

    def __init__(self) -> None:
        self.store = InMemoryEventStore()
        self.clock = FixedClock(END)
        repo = build_repository(self.store, clock=self.clock, ids=SeededIdFactory(1))
        self.repository = repo
        self.driver = SagaDriver(FulfilmentSaga(), self.store, build_bus(repo), repo.registry)
        self.ticks: list[datetime] = []

    async def tick(self) -> None:
        self.ticks.append(self.clock.now())
        await self.driver.catch_up()

    async def seed(self, **kw: Any) -> tuple[SeedSummary, list[RecordedEvent]]:
        arguments: dict[str, Any] = {
            "orders": 60, "accounts": 8, "days": DAYS, "seed": 42, "end": END,
        } | kw  # fmt: skip
        summary = await seed_demo(
            self.store, InMemorySnapshotStore(), tick=self.tick, clock=self.clock, **arguments
        )
        return summary, [e async for e in self.store.read_all()]

    async def statuses(self, summary: SeedSummary, events: list[RecordedEvent]) -> Counter[str]:
        orders = {e.stream_id for e in events if e.stream_type == "Order"}
        orders -= set(summary.poison_stream_ids)
        return Counter(
            [(await self.repository.load(Order, o)).state.status.value for o in sorted(orders)]
        )


@pytest.fixture(scope="module")
def saga_history() -> tuple[SagaSeed, SeedSummary, list[RecordedEvent]]:
    import asyncio

    seed = SagaSeed()
    summary, events = asyncio.run(seed.seed())
    return seed, summary, events


async def test_with_a_tick_the_saga_approves_and_cancels_as_planned(saga_history: Any) -> None:
    seed, summary, events = saga_history
    assert summary.saga_ticks == len(seed.ticks) > 0
    assert dict(await seed.statuses(summary, events)) == {
        k: v for k, v in summary.by_status.items() if v
    }
    assert set(summary.by_status) == {s.value for s in OrderStatus}
    assert all(summary.by_status.values())
    assert summary.events == len(events) == await seed.store.head_position()

    # both saga outcomes: approvals by SYSTEM after payment, cancellations after a failure
    approved = [e for e in events if e.type == "OrderApproved"]
    assert approved and {e.metadata.user_id for e in approved} == {"SYSTEM"}
    assert {e.data["notes"] for e in approved} == {APPROVAL_NOTES}
    failed = [e for e in events if e.type == "PaymentFailed"]
    saga_cancels = [
        e for e in events if e.type == "OrderCancelled" and e.data["cancellation_type"] == "SYSTEM"
        and e.metadata.user_id == "SYSTEM"
    ]  # fmt: skip
    assert failed and len(saga_cancels) == len(failed)
    assert all(e.data["reason"].startswith("payment failed: ") for e in saga_cancels)
    released = {e.data["order_id"] for e in events if e.type == "InventoryReleased"}
    assert {e.stream_id for e in saga_cancels} <= released
    saga = seed.driver.view.documents
    assert {"APPROVED", "CANCELLED"} <= {doc["status"] for doc in saga.values()}
    legacy = {e.stream_id for e in events if e.type == "OrderPlaced" and e.schema_version < 3}
    assert legacy and legacy <= set(saga)  # the oldest orders went through the saga too
    assert {saga[o]["payment_method"] for o in legacy} == {"UNKNOWN"}
    # the payment rule the plan relied on is the one the saga met: the failures so far,
    # plus the PENDING orders the saga will cancel
    to_fail = summary.by_status_after_saga["CANCELLED"] - summary.by_status["CANCELLED"]
    assert summary.payment_failures == len(failed) + to_fail


async def test_saga_commands_are_recorded_at_the_tick_times(saga_history: Any) -> None:
    seed, summary, events = saga_history
    saga_events = [e for e in events if e.metadata.user_id == "SYSTEM"]
    assert saga_events
    assert {e.recorded_at for e in saga_events} <= set(seed.ticks)
    times = [e.recorded_at for e in events]
    assert times == sorted(times)
    assert (summary.first_at, summary.last_at) == (times[0], times[-1])


async def test_the_last_orders_stay_pending_for_a_worker(saga_history: Any) -> None:
    seed, summary, events = saga_history
    placed = {e.stream_id: e for e in events if e.type == "OrderPlaced"}
    saga = seed.driver.view.documents
    pending = [o for o in placed if o not in saga]
    assert len(pending) == summary.by_status["PENDING"] >= 2
    last_tick = max(seed.ticks)
    for order_id in pending:
        assert placed[order_id].recorded_at > last_tick
        assert placed[order_id].recorded_at >= END - timedelta(hours=2)
        assert not await seed.store.stream_info(f"inv-{order_id}")
        assert [e.type for e in events if e.stream_id == order_id] == ["OrderPlaced"]

    # a worker catching up afterwards gives both outcomes, exactly as the summary says
    await seed.driver.catch_up()
    after = await seed.statuses(summary, [e async for e in seed.store.read_all()])
    assert dict(after) == {k: v for k, v in summary.by_status_after_saga.items() if v}
    outcomes = Counter(saga[o]["status"] for o in pending)
    assert set(outcomes) == {"APPROVED", "CANCELLED"}


async def test_poison_streams_are_written_raw_and_left_alone(saga_history: Any) -> None:
    seed, summary, events = saga_history
    assert summary.poison_streams == len(summary.poison_stream_ids) == 3
    orders = [p for p in summary.poison_stream_ids if p.startswith("ord-imp-")]
    accounts = [p for p in summary.poison_stream_ids if p.startswith("acc-imp-")]
    assert len(orders) == 2 and len(accounts) == 1
    for stream_id, types in [(o, ["OrderShipped", "OrderDelivered"]) for o in orders] + [
        (a, ["MoneyDeposited", "MoneyWithdrawn"]) for a in accounts
    ]:
        stream = [e for e in events if e.stream_id == stream_id]
        assert [e.type for e in stream] == types  # never placed or opened; nothing else
        assert {e.metadata.user_id for e in stream} == {"legacy-importer"}
        for event in stream:
            seed.repository.registry.decode(event)  # valid payloads: only projections choke
    mentioned = {
        e.data.get("order_id") for e in events if e.stream_type in ("Inventory", "Payment")
    }
    assert not mentioned & set(orders)
    assert not set(seed.driver.view.documents) & set(orders)


async def test_same_seed_with_a_tick_gives_identical_events() -> None:
    first, first_events = await SagaSeed().seed(orders=30, accounts=3)
    second, second_events = await SagaSeed().seed(orders=30, accounts=3)
    assert first == second
    assert [e.to_json_dict() for e in first_events] == [e.to_json_dict() for e in second_events]


async def test_with_and_without_a_tick_the_same_statuses() -> None:
    with_saga, _ = await SagaSeed().seed(orders=40, accounts=0)
    _, without, events = await seeded(orders=40, accounts=0)
    assert with_saga.by_status == without.by_status
    assert with_saga.payment_failures == without.payment_failures
    assert without.saga_ticks == 0
    assert with_saga.by_status_after_saga == without.by_status_after_saga
    # without a saga, the plan cancels failed payments itself, as the saga would
    system = [e for e in events if e.type == "OrderCancelled" and e.metadata.user_id == "system"]
    assert any(e.data["reason"].startswith("payment failed: ") for e in system)


async def test_every_status_with_five_orders_and_a_tick() -> None:
    summary, _ = await SagaSeed().seed(orders=5, accounts=0)
    assert summary.by_status == {
        "PENDING": 1, "APPROVED": 1, "SHIPPED": 1, "DELIVERED": 1, "CANCELLED": 1,
    }  # fmt: skip
    assert summary.poison_streams == 2  # no accounts: no account poison


async def test_a_tick_that_does_not_run_the_saga_is_reported() -> None:
    store = InMemoryEventStore()

    async def idle() -> None:
        return None

    with pytest.raises(RuntimeError, match="`tick` must run the fulfilment saga"):
        await seed_demo(store, None, orders=10, accounts=0, days=5, seed=1, end=END, tick=idle)


async def test_poison_can_be_left_out() -> None:
    _, summary, events = await seeded(orders=20, accounts=2, poison=False)
    assert summary.poison_streams == 0 and summary.poison_stream_ids == []
    assert not any("-imp-" in e.stream_id for e in events)
