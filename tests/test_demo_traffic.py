"""Demo traffic (core/domain/demo_traffic.py): every kind of move, valid commands, failing
payments, poison rows, and the same moves for the same seed — over the memory stores, with
the real fulfilment saga caught up after each move as the live worker would."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from core.clock import FixedClock, SeededIdFactory
from core.domain import build_bus, build_repository
from core.domain.commands import CancelOrder, DeliverOrder, PlaceOrder, ShipOrder, Withdraw
from core.domain.demo_data import seed_demo
from core.domain.demo_traffic import POISON, TRAFFIC_USER, DemoTraffic, Outcome, TrafficPlanner
from core.domain.order_events import OrderStatus, order_total
from core.domain.payment import payment_refusal
from core.domain.projections import DEMO_PROJECTIONS, DEMO_SAGAS
from core.events import RecordedEvent
from core.memory_projection_store import InMemoryProjectionStore
from core.memory_store import InMemoryEventStore
from core.projection_engine import ProjectionEngine

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
EVERY_KIND = {
    "place-order",
    "ship-order",
    "deliver-order",
    "cancel-order",
    "open-account",
    "deposit",
    "withdraw",
    POISON,
}


class Shop:
    """Memory stores, a bus, the demo projections and saga, and traffic over them."""

    def __init__(self, seed: int = 3, events: InMemoryEventStore | None = None) -> None:
        self.clock = FixedClock(START)
        self.ids = SeededIdFactory(seed)
        self.events = events or InMemoryEventStore()
        self.repository = build_repository(self.events, clock=self.clock, ids=self.ids)
        self.bus = build_bus(self.repository)
        self.engine = ProjectionEngine(
            [*DEMO_SAGAS, *DEMO_PROJECTIONS],
            events=self.events,
            store=InMemoryProjectionStore(),
            registry=self.repository.registry,
            clock=self.clock,
            ids=self.ids,
            bus=self.bus,
        )
        self.traffic = DemoTraffic(self.bus, seed=seed)

    async def run(self, steps: int) -> list[Outcome]:
        await self.traffic.start()
        outcomes = []
        for _ in range(steps):
            self.clock.advance(timedelta(seconds=1))
            outcomes.append(await self.traffic.step())
            await self.engine.catch_up(["fulfilment"])
        return outcomes

    async def all_events(self) -> list[RecordedEvent]:
        return [event async for event in self.events.read_all()]


async def test_traffic_makes_every_kind_of_move_and_the_domain_accepts_them() -> None:
    shop = Shop()
    outcomes = await shop.run(400)

    kinds = Counter(outcome.move.kind for outcome in outcomes)
    assert set(kinds) == EVERY_KIND, kinds
    refused = [outcome.refused for outcome in outcomes if outcome.refused]
    assert refused == []  # it only ever acts on what it knows, and it knows everything here
    assert all(outcome.events >= 1 for outcome in outcomes)

    events = await shop.all_events()
    types = Counter(event.type for event in events)
    for kind in ("OrderShipped", "OrderDelivered", "MoneyWithdrawn", "PaymentProcessed"):
        assert types[kind] > 0, kind
    ours = [e for e in events if e.metadata.user_id == TRAFFIC_USER]
    assert {e.type for e in ours} >= {"OrderPlaced", "OrderShipped", "AccountOpened"}
    assert "OrderApproved" not in {e.type for e in ours}  # approvals are the saga's job


async def test_some_payments_fail_and_the_saga_cancels_those_orders() -> None:
    shop = Shop(seed=5)
    outcomes = await shop.run(300)

    placed = [o.move.command for o in outcomes if isinstance(o.move.command, PlaceOrder)]
    failing = [p for p in placed if payment_refusal(order_total(p.items), p.payment_method)]
    assert 0.04 < len(failing) / len(placed) < 0.3
    assert {p.payment_method for p in failing} & {"PREPAID_CARD"}
    assert any(order_total(p.items) > Decimal(1500) for p in failing)

    events = await shop.all_events()
    failed = [e for e in events if e.type == "PaymentFailed"]
    assert len(failed) == len(failing)
    saga_cancels = [
        e for e in events if e.type == "OrderCancelled" and e.metadata.user_id == "SYSTEM"
    ]
    assert len(saga_cancels) == len(failing)


async def test_poison_rows_become_dead_letters() -> None:
    shop = Shop(seed=11)
    outcomes = await shop.run(600)

    poison = [o for o in outcomes if o.move.kind == POISON]
    assert poison
    poisoned = {o.stream_id for o in poison}
    assert all(s and s.startswith(("ord-imp-", "acc-imp-")) for s in poisoned)
    await shop.engine.catch_up()
    letters = await shop.engine.store.dead_letters()
    assert poisoned <= {letter.stream_id for letter in letters}


async def test_same_seed_same_moves() -> None:
    first, second = Shop(seed=8), Shop(seed=8)
    moves = [[o.move for o in await shop.run(120)] for shop in (first, second)]
    assert moves[0] == moves[1]
    other = [o.move for o in await Shop(seed=9).run(120)]
    assert other != moves[0]


async def test_traffic_carries_on_with_the_seeded_history() -> None:
    """Started on seeded history, it ships and delivers orders it did not place itself
    and moves money on accounts it did not open."""
    events = InMemoryEventStore()
    seeding = Shop(seed=4, events=events)
    summary = await seed_demo(
        events, None, orders=40, accounts=6, days=5, seed=4, end=START,
        clock=seeding.clock, ids=seeding.ids,
    )  # fmt: skip
    shop = Shop(seed=4, events=events)
    shop.clock.set(START)
    await shop.traffic.start()
    planner = shop.traffic.planner
    assert len(planner.accounts) == summary.accounts
    assert planner.orders[OrderStatus.APPROVED]

    seeded_orders = {e.stream_id for e in await shop.all_events() if e.type == "OrderPlaced"}
    outcomes = await shop.run(150)
    touched = {
        o.stream_id
        for o in outcomes
        if isinstance(o.move.command, (ShipOrder, DeliverOrder, CancelOrder)) and not o.refused
    }
    assert touched & seeded_orders
    withdrawals = [o for o in outcomes if isinstance(o.move.command, Withdraw)]
    assert withdrawals and not any(o.refused for o in withdrawals)


def test_the_planner_only_proposes_what_is_possible() -> None:
    planner = TrafficPlanner(random.Random(1))
    kinds = {planner.decide(START).kind for _ in range(300)}
    # nothing is known: no order to ship, deliver or cancel, no account to move money on
    assert kinds <= {"place-order", "open-account", POISON}
    assert "place-order" in kinds and "open-account" in kinds
