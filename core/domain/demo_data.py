"""Deterministic, realistic demo history: orders in every status and busy accounts.

`seed_demo` plans a timeline over the `days` before `end` from a seeded random
source, sorts every step by time, then runs each one through the real command
bus with a fixed clock set to the step's time and seeded ids, so the same seed
and end always write the same events (ids, payloads, times), and `recorded_at`
rises with position. The oldest orders are written as legacy OrderPlaced v1 and
v2 rows, exactly as older versions stored them; later commands on them go
through the upcasters like any other read.

Orders are approved by the fulfilment saga. With `tick`, each planned saga turn
(a few minutes after a placement) sets the clock to that moment and awaits
`tick()`, which must run the saga until it has caught up, its own commands'
events included, through a command bus on the same clock (pass `clock` to share
it). The saga then reserves stock, takes payment and approves the order, or
releases the stock and cancels it: payments fail by fixed rules, so the plan
knows which, and ships, delivers or cancels only orders whose state is certain.
Orders placed in the last `PENDING_WINDOW` get no turn and stay PENDING for a
worker. Without `tick`, seeding approves (or cancels after a failed payment)
those orders itself, with the same final statuses.

A few poison streams are written raw, as an old importer did (see
`demo_plan._plan_poison`); nothing else in the seed touches them.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict

from ..clock import FixedClock, IdFactory, SeededIdFactory, ensure_utc
from ..commands import Command, CommandBus
from ..errors import InvalidInput
from ..events import DomainEvent, Metadata, NewEvent
from ..ports import EventStore, SnapshotStore
from ..repository import Repository
from . import build_bus, build_repository
from .account import MoneyDeposited, MoneyWithdrawn
from .commands import (
    ApproveOrder,
    CancelOrder,
    DeliverOrder,
    Deposit,
    OpenAccount,
    PlaceOrder,
    ShipOrder,
    Withdraw,
)
from .demo_plan import (
    APPROVE,
    FAIL,
    LEGACY_V1,
    LEGACY_V2,
    POISON_DELIVERED,
    POISON_DEPOSIT,
    POISON_KINDS,
    POISON_ORDER_KINDS,
    POISON_SHIPPED,
    SAGA,
    Step,
    plan_timeline,
)
from .handlers import new_order_id, new_stream_id
from .order import Order
from .order_events import CancellationType, OrderDelivered, OrderShipped, OrderStatus
from .upcasters import legacy_order_placed_v1, legacy_order_placed_v2

#: What each order step leaves the order as, for the summary.
_STATUS_AFTER = {
    "place": OrderStatus.PENDING,
    LEGACY_V1: OrderStatus.PENDING,
    LEGACY_V2: OrderStatus.PENDING,
    "ship": OrderStatus.SHIPPED,
    "deliver": OrderStatus.DELIVERED,
    "cancel": OrderStatus.CANCELLED,
}
#: What the saga's turn leaves the order as, by planned outcome.
_STATUS_AFTER_SAGA = {APPROVE: OrderStatus.APPROVED, FAIL: OrderStatus.CANCELLED}

Tick = Callable[[], Awaitable[object]]


class SeedSummary(BaseModel):
    """What `seed_demo` wrote."""

    model_config = ConfigDict(frozen=True)

    #: Orders placed (poison streams not included).
    orders: int
    accounts: int
    #: Events in the store after seeding, the saga's included.
    events: int
    legacy_v1: int
    legacy_v2: int
    #: Orders by final status; every status is a key, even when its count is 0.
    by_status: dict[str, int]
    first_at: datetime | None
    last_at: datetime | None
    #: Orders by status once the saga has handled the PENDING ones (a worker's job).
    by_status_after_saga: dict[str, int] = {}
    #: Orders whose payment fails by the rules (cancelled, or to be, by the saga).
    payment_failures: int = 0
    #: Saga turns run through `tick` (0 without one).
    saga_ticks: int = 0
    #: Streams written raw that projections cannot apply (they become dead letters).
    poison_streams: int = 0
    poison_stream_ids: list[str] = []


async def seed_demo(
    store: EventStore,
    snapshots: SnapshotStore | None,
    *,
    orders: int,
    accounts: int,
    days: int,
    seed: int,
    end: datetime,
    progress: Callable[[int, int], None] | None = None,
    tick: Tick | None = None,
    poison: bool = True,
    clock: FixedClock | None = None,
    ids: IdFactory | None = None,
) -> SeedSummary:
    """Write `orders` orders and `accounts` accounts of history spread over the `days` before `end`.

    `tick`: awaited at each saga turn with the clock at that time; it must run the
    fulfilment saga until caught up (see the module docstring). `clock`: the fixed
    clock to move (share it with the bus `tick` uses); `ids`: the id factory
    (default: seeded by `seed`). `poison`: write the poison streams.
    """
    if orders < 0 or accounts < 0:
        raise InvalidInput("the numbers of orders and accounts must be 0 or more")
    if days < 1:
        raise InvalidInput(f"days must be at least 1, not {days}")
    end = ensure_utc(end).replace(microsecond=0)
    try:
        start = end - timedelta(days=days)
        rng = random.Random(f"eventdeck-demo:{seed}")
        steps = plan_timeline(rng, orders, accounts, start, end, poison=poison)
    except OverflowError:  # planned before anything is written
        raise InvalidInput(
            f"cannot seed {days} day(s) of history ending at {end.isoformat()}: its times "
            "fall outside the years 1 to 9999; give another end time or fewer days"
        ) from None

    clock = clock or FixedClock(start)
    clock.set(start)
    ids = ids or SeededIdFactory(seed)
    repository = build_repository(store, clock=clock, ids=ids, snapshots=snapshots)
    runner = _Runner(store, repository, build_bus(repository), ids, tick)

    total = len(steps)
    reported = -1
    for done, step in enumerate(steps, start=1):
        clock.set(step.at)
        await runner.run(step)
        percent = done * 100 // total
        if progress is not None and percent != reported:  # about every 1 %, and at the end
            reported = percent
            progress(done, total)
    return runner.summary()


class _Runner:
    """Runs planned steps; maps the plan's order and account numbers to real stream ids."""

    def __init__(
        self,
        store: EventStore,
        repository: Repository,
        bus: CommandBus,
        ids: IdFactory,
        tick: Tick | None,
    ) -> None:
        self.store = store
        self.repository = repository
        self.bus = bus
        self.ids = ids
        self.tick = tick
        self.order_ids: dict[int, str] = {}
        self.account_ids: dict[int, str] = {}
        self.poison_ids: dict[tuple[str, int], str] = {}
        self.order_status: dict[int, OrderStatus] = {}
        self.outcome: dict[int, str] = {}
        self.events = 0
        self.ticks = 0
        self.legacy = {LEGACY_V1: 0, LEGACY_V2: 0}
        self.first_at: datetime | None = None
        self.last_at: datetime | None = None

    async def run(self, step: Step) -> None:
        before = self.events
        if step.kind in (LEGACY_V1, LEGACY_V2):
            await self._append_legacy(step)
        elif step.kind in POISON_KINDS:
            await self._append_poison(step)
        elif step.kind == SAGA:
            await self._saga_turn(step)
        else:
            await self._dispatch(step)
        if step.kind in _STATUS_AFTER:
            self.order_status[step.key] = _STATUS_AFTER[step.kind]
        if step.outcome is not None:
            self.outcome[step.key] = step.outcome
        if self.events > before:
            self.first_at = self.first_at or step.at
            self.last_at = step.at

    def summary(self) -> SeedSummary:
        by_status = {status.value: 0 for status in OrderStatus}
        after_saga = dict(by_status)
        for key, status in self.order_status.items():
            by_status[status.value] += 1
            if status is OrderStatus.PENDING:
                status = _STATUS_AFTER_SAGA[self.outcome[key]]
            after_saga[status.value] += 1
        poison = sorted(self.poison_ids.values())
        return SeedSummary(
            orders=len(self.order_ids),
            accounts=len(self.account_ids),
            events=self.events,
            legacy_v1=self.legacy[LEGACY_V1],
            legacy_v2=self.legacy[LEGACY_V2],
            by_status=by_status,
            first_at=self.first_at,
            last_at=self.last_at,
            by_status_after_saga=after_saga,
            payment_failures=sum(1 for outcome in self.outcome.values() if outcome == FAIL),
            saga_ticks=self.ticks,
            poison_streams=len(poison),
            poison_stream_ids=poison,
        )

    async def _dispatch(self, step: Step) -> None:
        command = self._command(step)
        result = await self.bus.dispatch(command, user_id=step.user)
        self.events += len(result.events)
        if step.kind == "place":
            self.order_ids[step.key] = result.stream_id
        elif step.kind == "open":
            self.account_ids[step.key] = result.stream_id

    def _command(self, step: Step) -> Command:
        f = step.fields
        kind = step.kind
        if kind == "place":
            return PlaceOrder(**f)
        if kind == "open":
            return OpenAccount(**f)
        if kind in ("deposit", "withdraw"):
            cls = Deposit if kind == "deposit" else Withdraw
            return cls(account_id=self.account_ids[step.key], **f)
        order_id = self.order_ids[step.key]
        if kind == "ship":
            return ShipOrder(order_id=order_id, **f)
        if kind == "deliver":
            return DeliverOrder(order_id=order_id, **f)
        if kind == "cancel":
            return CancelOrder(order_id=order_id, **f)
        raise ValueError(f"unknown demo step {kind!r}")

    async def _saga_turn(self, step: Step) -> None:
        """The saga's turn for one order: run it through `tick`, or do what it would do."""
        outcome = step.fields["outcome"]
        order_id = self.order_ids[step.key]
        if self.tick is None:
            command: Command
            if outcome == APPROVE:
                command = ApproveOrder(order_id=order_id, notes=step.fields["notes"])
                user = step.user
            elif outcome == FAIL:
                command = CancelOrder(
                    order_id=order_id,
                    reason=step.fields["reason"],
                    cancellation_type=CancellationType.SYSTEM,
                )
                user = "system"
            else:
                return  # already cancelled by the customer
            result = await self.bus.dispatch(command, user_id=user)
            self.events += len(result.events)
        else:
            head = await self.store.head_position()
            await self.tick()
            self.events += await self.store.head_position() - head
            self.ticks += 1
            await self._check_saga_outcome(step, order_id)
        if outcome in _STATUS_AFTER_SAGA:
            self.order_status[step.key] = _STATUS_AFTER_SAGA[outcome]

    async def _check_saga_outcome(self, step: Step, order_id: str) -> None:
        expected = _STATUS_AFTER_SAGA.get(step.fields["outcome"], OrderStatus.CANCELLED)
        actual = (await self.repository.load(Order, order_id)).state.status
        if actual is not expected:
            raise RuntimeError(
                f"after the saga's turn at {step.at.isoformat()}, order {order_id} is {actual}, "
                f"not {expected}: `tick` must run the fulfilment saga until it has caught up, "
                "through a command bus on the seed's clock"
            )

    async def _append_legacy(self, step: Step) -> None:
        """Write OrderPlaced as schema v1 or v2 did, straight to the store."""
        f: dict[str, Any] = step.fields
        order_id = new_order_id(self.ids)
        await self._require_new(order_id)
        if step.kind == LEGACY_V1:
            version = 1
            data = legacy_order_placed_v1(f["customer_id"], [i.product_id for i in f["items"]])
        else:
            version = 2
            data = legacy_order_placed_v2(f["customer_id"], f["items"], f["shipping_address"])
        correlation = self.ids.new_id()
        event = NewEvent(
            event_id=self.ids.new_id(),
            type="OrderPlaced",
            schema_version=version,
            data=data,
            metadata=Metadata(
                user_id=step.user, correlation_id=correlation, causation_id=correlation
            ),
            recorded_at=step.at,
        )
        await self.store.append(order_id, "Order", [event], 0)
        self.order_ids[step.key] = order_id
        self.events += 1
        self.legacy[step.kind] += 1

    async def _append_poison(self, step: Step) -> None:
        """Append one poison row straight to the store, as the old importer did."""
        is_order = step.kind in POISON_ORDER_KINDS
        family = "Order" if is_order else "Account"
        stream_id = self.poison_ids.get((family, step.key))
        if stream_id is None:
            stream_id = new_stream_id("ord-imp" if is_order else "acc-imp", self.ids)
            await self._require_new(stream_id)
            self.poison_ids[(family, step.key)] = stream_id
        f = step.fields
        event: DomainEvent
        if step.kind == POISON_SHIPPED:
            event = OrderShipped(**f)
        elif step.kind == POISON_DELIVERED:
            event = OrderDelivered(delivered_at=step.at, **f)
        elif step.kind == POISON_DEPOSIT:
            event = MoneyDeposited(**f)
        else:
            event = MoneyWithdrawn(**f)
        correlation = self.ids.new_id()
        new = self.repository.registry.encode(
            event,
            event_id=self.ids.new_id(),
            recorded_at=step.at,
            metadata=Metadata(
                user_id=step.user, correlation_id=correlation, causation_id=correlation
            ),
        )
        info = await self.store.stream_info(stream_id)
        await self.store.append(stream_id, family, [new], info.version if info else 0)
        self.events += 1

    async def _require_new(self, stream_id: str) -> None:
        if await self.store.stream_info(stream_id) is not None:
            raise InvalidInput(f"stream {stream_id} already exists; seed an empty store")


__all__ = ["SeedSummary", "Tick", "seed_demo"]
