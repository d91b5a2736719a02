"""Time travel over demo streams, snapshots, and the bus's retries on conflicts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from core.domain import Account, Order, build_repository
from core.domain.commands import (
    ApproveOrder,
    DeliverOrder,
    Deposit,
    OpenAccount,
    PlaceOrder,
    ShipOrder,
    Withdraw,
)
from core.domain.testing import Scenario
from core.errors import ConcurrencyError, InvalidInput, InvalidTransition
from core.events import Metadata, NewEvent, RecordedEvent
from core.memory_store import InMemoryEventStore
from core.snapshots import Snapshot
from core.time_travel import TimeTravel

HOUR = timedelta(hours=1)


async def order_through_its_life(s: Scenario) -> tuple[str, list[RecordedEvent]]:
    """Place, approve, ship and deliver one order, an hour or a day apart."""
    rows = []
    result = await s.when(PlaceOrder(customer_id="c1", items=["A:2:5.00"]), user="storefront")
    order_id = result.stream_id
    rows += result.events
    for gap, command in (
        (HOUR, ApproveOrder(order_id=order_id, notes="ok")),
        (HOUR, ShipOrder(order_id=order_id, tracking_number="1Z1", carrier="UPS")),
        (timedelta(days=1), DeliverOrder(order_id=order_id, signed_by="Ada")),
    ):
        s.clock.advance(gap)
        rows += (await s.when(command, user="alice")).events
    return order_id, rows


async def test_state_at_a_version() -> None:
    s = Scenario()
    order_id, rows = await order_through_its_life(s)
    travel = TimeTravel(s.repository)
    view = await travel.state(order_id, version=2)
    assert view.version == 2
    assert view.stream_type == "Order"
    assert view.state["status"] == "APPROVED"
    assert view.state["tracking_number"] is None
    assert view.as_of == rows[1].recorded_at
    assert (await travel.state(order_id)).state["status"] == "DELIVERED"
    with pytest.raises(InvalidInput, match="has versions 1 to 4; version 5 does not exist"):
        await travel.state(order_id, version=5)


async def test_state_at_a_time_just_before_it_shipped() -> None:
    s = Scenario()
    order_id, rows = await order_through_its_life(s)
    shipped_at = rows[2].recorded_at
    travel = TimeTravel(s.repository)

    before = await travel.state(order_id, at=shipped_at - timedelta(seconds=1))
    assert before.version == 2
    assert before.state["status"] == "APPROVED"
    assert before.state["shipped_at"] is None

    at = await travel.state(order_id, at=shipped_at)
    assert at.state["status"] == "SHIPPED"
    assert at.state["tracking_number"] == "1Z1"

    with pytest.raises(InvalidInput, match="did not exist yet"):
        await travel.state(order_id, at=rows[0].recorded_at - timedelta(seconds=1))


async def test_history_lists_the_fields_each_event_changed() -> None:
    s = Scenario()
    order_id, rows = await order_through_its_life(s)
    history = await TimeTravel(s.repository).history(order_id)

    assert [(h.version, h.type) for h in history] == [
        (1, "OrderPlaced"), (2, "OrderApproved"), (3, "OrderShipped"), (4, "OrderDelivered"),
    ]  # fmt: skip
    assert [h.user_id for h in history] == ["storefront", "alice", "alice", "alice"]
    placed = history[0].changes
    assert placed["status"] == {"from": None, "to": "PENDING"}
    assert placed["total_amount"] == {"from": "0.00", "to": "10.00"}
    assert placed["items"]["to"] == [{"product_id": "A", "quantity": 2, "price": "5.00"}]
    approved_at = rows[1].recorded_at.isoformat().replace("+00:00", "Z")
    assert history[1].changes == {
        "status": {"from": "PENDING", "to": "APPROVED"},
        "approved_at": {"from": None, "to": approved_at},
        "approved_by": {"from": None, "to": "alice"},
        "notes": {"from": None, "to": "ok"},
    }
    assert set(history[2].changes) == {
        "status", "shipped_at", "tracking_number", "carrier", "estimated_delivery",
    }  # fmt: skip
    assert history[3].changes["status"] == {"from": "SHIPPED", "to": "DELIVERED"}
    assert history[3].changes["signed_by"] == {"from": None, "to": "Ada"}


async def test_a_history_window_equals_that_slice_of_the_whole_history() -> None:
    s = Scenario(snapshot_every=10)
    opened = await s.when(OpenAccount(owner="Ada"))
    account = opened.stream_id
    for i in range(1, 36):
        s.clock.advance(HOUR)
        command = Deposit if i % 3 else Withdraw
        await s.when(command(account_id=account, amount=Decimal(i)))
    assert await s.snapshots.versions(account)  # windows start from snapshots
    travel = TimeTravel(s.repository)
    whole = await travel.history(account)
    assert len(whole) == 36

    for first, last in ((1, 5), (12, 12), (11, 30), (31, 36), (20, 99)):
        window = await travel.history(account, from_version=first, to_version=last)
        assert window == whole[first - 1 : last], (first, last)
    assert await travel.history(account, from_version=40) == []
    assert await travel.history(account, to_version=3) == whole[:3]


async def test_streams_as_of_a_time() -> None:
    s = Scenario()
    first = await s.when(OpenAccount(owner="Ada"))
    s.clock.advance(HOUR)
    await s.when(Deposit(account_id=first.stream_id, amount=Decimal(5)))
    between = s.clock.now() + timedelta(minutes=30)
    s.clock.advance(HOUR)
    second = await s.when(PlaceOrder(customer_id="c", items=["A:1:1"]))
    await s.when(Deposit(account_id=first.stream_id, amount=Decimal(5)))

    travel = TimeTravel(s.repository)
    then = await travel.streams_as_of(between)
    assert [(i.stream_id, i.version) for i in then] == [(first.stream_id, 2)]
    now = await travel.streams_as_of(s.clock.now())
    assert {(i.stream_id, i.version) for i in now} == {(first.stream_id, 3), (second.stream_id, 1)}
    assert [
        i.stream_id for i in await travel.streams_as_of(s.clock.now(), stream_type="Order")
    ] == [second.stream_id]


# -- snapshots ----------------------------------------------------------------------------


async def account_with_deposits(s: Scenario, count: int) -> str:
    opened = await s.when(OpenAccount(owner="Ada", account_id="acc-snap"))
    for n in range(1, count + 1):
        s.clock.advance(timedelta(minutes=1))
        await s.when(Deposit(account_id=opened.stream_id, amount=Decimal(n)))
    return opened.stream_id


async def test_loading_with_a_snapshot_gives_the_same_state_as_without() -> None:
    s = Scenario(snapshot_every=10)
    account_id = await account_with_deposits(s, 24)  # versions 1..25
    assert await s.snapshots.versions(account_id) == [10, 20]

    plain = build_repository(s.store, clock=s.clock, ids=s.ids)  # no snapshot store
    for version in (None, 9, 10, 15, 20, 25):
        with_snapshot = await s.repository.load(Account, account_id, version=version)
        without = await plain.load(Account, account_id, version=version)
        assert with_snapshot.version == without.version
        assert with_snapshot.state_dict() == without.state_dict()
    assert (await s.repository.load(Account, account_id)).state.balance == Decimal(sum(range(25)))


async def snapshot_at(s: Scenario, stream_id: str, version: int, state: dict, schema: int) -> None:
    await s.snapshots.save(
        Snapshot(stream_id=stream_id, stream_type="Account", version=version, state=state,
                 state_schema=schema, taken_at=s.clock.now())
    )  # fmt: skip


async def test_a_current_snapshot_is_used() -> None:
    # proves loading reads the snapshot: a (deliberately wrong) balance in it shows through
    s = Scenario()
    account_id = await account_with_deposits(s, 3)
    state = (await s.repository.load(Account, account_id, version=2)).snapshot_state()
    await snapshot_at(s, account_id, 2, {**state, "balance": "1000.00"}, Account.state_schema)
    loaded = await s.repository.load(Account, account_id)
    assert loaded.state.balance == Decimal("1005.00")  # 1000 + deposits of v3 and v4


@pytest.mark.parametrize(
    ("state", "schema"),
    [
        ({"owner": "Mallory", "balance": "1000.00"}, Account.state_schema - 1),  # stale schema
        ({"owner": "Mallory", "balance": "lots"}, Account.state_schema),  # invalid state
        ({"owner": "Mallory", "balance": "1.00", "surprise": 1}, Account.state_schema + 1),
    ],
)
async def test_a_stale_or_invalid_snapshot_is_ignored(state: dict, schema: int) -> None:
    s = Scenario()
    account_id = await account_with_deposits(s, 3)
    await snapshot_at(s, account_id, 3, state, schema)
    loaded = await s.repository.load(Account, account_id)
    assert loaded.state.owner == "Ada"
    assert loaded.state.balance == Decimal("6.00")
    assert loaded.version == 4


# -- retries on concurrency conflicts --------------------------------------------------------


class RacingStore(InMemoryEventStore):
    """Before each of the first `races` appends, another writer sneaks in an event."""

    def __init__(self, races: int, sneak: NewEvent) -> None:
        super().__init__()
        self.races = races
        self.sneak = sneak
        self.appends = 0

    async def append(
        self, stream_id: str, stream_type: str, events: Sequence[NewEvent], expected_version: int
    ) -> list[RecordedEvent]:
        self.appends += 1
        if self.races > 0 and expected_version > 0:
            self.races -= 1
            info = await self.stream_info(stream_id)
            assert info is not None
            sneak = self.sneak.model_copy(update={"event_id": f"sneak-{self.appends}"})
            await super().append(stream_id, stream_type, [sneak], info.version)
        return await super().append(stream_id, stream_type, events, expected_version)


def competing_withdrawal(amount: str) -> NewEvent:
    return NewEvent(
        event_id="sneak",
        type="MoneyWithdrawn",
        schema_version=1,
        data={"amount": amount},
        metadata=Metadata(user_id="mallory"),
        recorded_at=datetime(2025, 1, 6, 9, tzinfo=UTC),
    )


async def funded_account(s: Scenario, amount: str) -> str:
    await s.when(OpenAccount(owner="Ada", account_id="acc-race"))
    await s.when(Deposit(account_id="acc-race", amount=Decimal(amount)))
    return "acc-race"


async def test_the_bus_retries_a_conflict_on_fresh_state_and_succeeds() -> None:
    store = RacingStore(races=0, sneak=competing_withdrawal("10.00"))
    s = Scenario(store=store)
    account_id = await funded_account(s, "100.00")
    store.races = 2  # two other writers get in first
    result = await s.when(Withdraw(account_id=account_id, amount=Decimal("30.00")), user="alice")
    assert result.version == 5  # opened, deposited, two competing withdrawals, ours
    assert [e.metadata.user_id for e in await store.read_stream(account_id)][-3:] == [
        "mallory", "mallory", "alice",
    ]  # fmt: skip
    assert (await s.repository.load(Account, account_id)).state.balance == Decimal("50.00")


async def test_a_retry_decides_again_and_may_refuse() -> None:
    store = RacingStore(races=0, sneak=competing_withdrawal("80.00"))
    s = Scenario(store=store)
    account_id = await funded_account(s, "100.00")
    store.races = 1
    with pytest.raises(InvalidTransition, match="balance 20.00, withdrawal 30.00"):
        await s.when(Withdraw(account_id=account_id, amount=Decimal("30.00")))
    assert (await s.repository.load(Account, account_id)).state.balance == Decimal("20.00")


async def test_the_bus_gives_up_after_max_attempts() -> None:
    store = RacingStore(races=0, sneak=competing_withdrawal("1.00"))
    s = Scenario(store=store, max_attempts=3)
    account_id = await funded_account(s, "100.00")
    store.races = 1000
    with pytest.raises(ConcurrencyError) as caught:
        await s.when(Deposit(account_id=account_id, amount=Decimal("5.00")), user="alice")
    error = caught.value
    assert error.attempts == 3
    assert error.stream_id == account_id
    assert "after 3 attempts" in str(error) and "nothing was written" in str(error)
    rows = await store.read_stream(account_id)
    assert [r.metadata.user_id for r in rows[2:]] == ["mallory"] * 3  # none of ours
    assert store.races == 1000 - 3


async def test_order_commands_also_retry() -> None:
    store = RacingStore(races=0, sneak=competing_withdrawal("1.00"))
    s = Scenario(store=store)
    placed = await s.when(PlaceOrder(customer_id="c", items=["A:1:1"]))
    # a competing approval gets in first: the retry then sees APPROVED and refuses cleanly
    store.sneak = NewEvent(
        event_id="x", type="OrderApproved", schema_version=1,
        data={"approved_by": "bob", "notes": ""}, metadata=Metadata(user_id="bob"),
        recorded_at=s.clock.now(),
    )  # fmt: skip
    store.races = 1
    with pytest.raises(InvalidTransition, match="it is APPROVED; only PENDING orders"):
        await s.when(ApproveOrder(order_id=placed.stream_id))
    order = await s.repository.load(Order, placed.stream_id)
    assert order.version == 2 and order.state.approved_by == "bob"
