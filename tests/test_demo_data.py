"""Demo history: deterministic, every status, legacy rows, never overdrawn, in time order."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from core.clock import FixedClock, UuidFactory
from core.domain import Account, Order, build_repository
from core.domain.demo_data import SeedSummary, seed_demo
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
    order_ids = sorted({e.stream_id for e in events if e.stream_type == "Order"})
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
    store, _, events = history
    balances: dict[str, Decimal] = {}
    movements = Counter()
    for event in events:
        if event.stream_type != "Account":
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
