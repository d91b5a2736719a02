"""Deterministic, realistic demo history: orders in every status and busy accounts.

`seed_demo` plans a timeline over the `days` before `end` from a seeded random
source, sorts every step by time, then runs each one through the real command
bus with a fixed clock set to the step's time and seeded ids, so the same seed
and end always write the same events (ids, payloads, times), and `recorded_at`
rises with position. The oldest orders are written as legacy OrderPlaced v1 and
v2 rows, exactly as older versions stored them; later commands on them go
through the upcasters like any other read.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict

from ..clock import FixedClock, SeededIdFactory, ensure_utc
from ..commands import Command, CommandBus
from ..errors import InvalidInput
from ..events import Metadata, NewEvent
from ..ports import EventStore, SnapshotStore
from . import build_bus, build_repository
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
from .demo_plan import LEGACY_V1, LEGACY_V2, Step, plan_timeline
from .handlers import new_order_id
from .order_events import OrderStatus
from .upcasters import legacy_order_placed_v1, legacy_order_placed_v2

#: What each order step leaves the order as, for the summary.
_STATUS_AFTER = {
    "place": OrderStatus.PENDING,
    LEGACY_V1: OrderStatus.PENDING,
    LEGACY_V2: OrderStatus.PENDING,
    "approve": OrderStatus.APPROVED,
    "ship": OrderStatus.SHIPPED,
    "deliver": OrderStatus.DELIVERED,
    "cancel": OrderStatus.CANCELLED,
}


class SeedSummary(BaseModel):
    """What `seed_demo` wrote."""

    model_config = ConfigDict(frozen=True)

    orders: int
    accounts: int
    events: int
    legacy_v1: int
    legacy_v2: int
    #: Orders by final status; every status is a key, even when its count is 0.
    by_status: dict[str, int]
    first_at: datetime | None
    last_at: datetime | None


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
) -> SeedSummary:
    """Write `orders` orders and `accounts` accounts of history spread over the `days` before `end`."""
    if orders < 0 or accounts < 0:
        raise InvalidInput("the numbers of orders and accounts must be 0 or more")
    if days < 1:
        raise InvalidInput(f"days must be at least 1, not {days}")
    end = ensure_utc(end).replace(microsecond=0)
    start = end - timedelta(days=days)
    steps = plan_timeline(random.Random(f"eventdeck-demo:{seed}"), orders, accounts, start, end)

    clock = FixedClock(start)
    ids = SeededIdFactory(seed)
    repository = build_repository(store, clock=clock, ids=ids, snapshots=snapshots)
    bus = build_bus(repository)
    runner = _Runner(store, bus, ids)

    total = len(steps)
    reported = -1
    for done, step in enumerate(steps, start=1):
        clock.set(step.at)
        await runner.run(step)
        percent = done * 100 // total
        if progress is not None and percent != reported:  # about every 1 %, and at the end
            reported = percent
            progress(done, total)

    by_status = {status.value: 0 for status in OrderStatus}
    for status in runner.order_status.values():
        by_status[status.value] += 1
    return SeedSummary(
        orders=len(runner.order_ids),
        accounts=len(runner.account_ids),
        events=runner.events,
        legacy_v1=runner.legacy[LEGACY_V1],
        legacy_v2=runner.legacy[LEGACY_V2],
        by_status=by_status,
        first_at=steps[0].at if steps else None,
        last_at=steps[-1].at if steps else None,
    )


class _Runner:
    """Runs planned steps; maps the plan's order and account numbers to real stream ids."""

    def __init__(self, store: EventStore, bus: CommandBus, ids: SeededIdFactory) -> None:
        self.store = store
        self.bus = bus
        self.ids = ids
        self.order_ids: dict[int, str] = {}
        self.account_ids: dict[int, str] = {}
        self.order_status: dict[int, OrderStatus] = {}
        self.events = 0
        self.legacy = {LEGACY_V1: 0, LEGACY_V2: 0}

    async def run(self, step: Step) -> None:
        if step.kind in (LEGACY_V1, LEGACY_V2):
            await self._append_legacy(step)
        else:
            await self._dispatch(step)
        if step.kind in _STATUS_AFTER:
            self.order_status[step.key] = _STATUS_AFTER[step.kind]

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
        if kind == "approve":
            return ApproveOrder(order_id=order_id, **f)
        if kind == "ship":
            return ShipOrder(order_id=order_id, **f)
        if kind == "deliver":
            return DeliverOrder(order_id=order_id, **f)
        if kind == "cancel":
            return CancelOrder(order_id=order_id, **f)
        raise ValueError(f"unknown demo step {kind!r}")

    async def _append_legacy(self, step: Step) -> None:
        """Write OrderPlaced as schema v1 or v2 did, straight to the store."""
        f: dict[str, Any] = step.fields
        order_id = new_order_id(self.ids)
        if await self.store.stream_info(order_id) is not None:
            raise InvalidInput(f"order {order_id} already exists; seed an empty store")
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


__all__ = ["SeedSummary", "seed_demo"]
