"""The timeline of demo history: what happens to which order or account, when, and by whom.

Planning is pure: a seeded `random.Random`, the counts and the time window give
the same steps every time. `demo_data` runs them.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from .demo_catalog import (
    ACCOUNT_OWNERS_EXTRA,
    APPROVAL_NOTES,
    CANCEL_REASONS,
    CARRIERS,
    OPERATORS,
    PRODUCTS,
    Customer,
    make_customer,
    tracking_number,
)
from .order_events import OrderItem, OrderStatus

LEGACY_V1 = "place-v1"
LEGACY_V2 = "place-v2"
#: Shares of OrderPlaced written in the old schemas (the oldest orders, as in real life).
LEGACY_V1_SHARE = 0.10
LEGACY_V2_SHARE = 0.15

#: How likely each final status is (every status is also forced to occur once).
STATUS_WEIGHTS = {
    OrderStatus.DELIVERED: 45,
    OrderStatus.SHIPPED: 12,
    OrderStatus.APPROVED: 12,
    OrderStatus.PENDING: 14,
    OrderStatus.CANCELLED: 17,
}
#: Orders still in flight were placed recently: how far back (seconds) they may start.
RECENT = {
    OrderStatus.PENDING: 36 * 3600,
    OrderStatus.APPROVED: 3 * 86400,
    OrderStatus.SHIPPED: 6 * 86400,
}
HOUR = 3600
DAY = 86400


@dataclass(order=True)
class Step:
    """One thing that happens: `kind` to order/account number `key` at `at`, by `user`."""

    at: datetime
    seq: int
    kind: str = field(compare=False)
    key: int = field(compare=False)
    user: str = field(compare=False)
    fields: dict[str, Any] = field(compare=False, default_factory=dict)


class _Timeline:
    def __init__(self, rng: random.Random, start: datetime, end: datetime) -> None:
        self.rng = rng
        self.start = start
        self.window = int((end - start).total_seconds())
        self.steps: list[Step] = []
        self._seq = itertools.count()

    def at(self, offset: int) -> datetime:
        return self.start + timedelta(seconds=offset)

    def add(self, offset: int, kind: str, key: int, user: str, **fields: Any) -> Step:
        step = Step(self.at(offset), next(self._seq), kind, key, user, fields)
        self.steps.append(step)
        return step


def plan_timeline(
    rng: random.Random, orders: int, accounts: int, start: datetime, end: datetime
) -> list[Step]:
    """Every step of the demo history, sorted by time (ties keep planning order)."""
    timeline = _Timeline(rng, start, end)
    customers = [make_customer(rng, n + 1) for n in range(max(8, orders // 3))]
    _plan_orders(timeline, customers, orders)
    _plan_accounts(timeline, customers, accounts)
    return sorted(timeline.steps)


def _final_statuses(rng: random.Random, count: int) -> list[OrderStatus]:
    statuses = list(OrderStatus)[: min(count, len(OrderStatus))]
    weights = list(STATUS_WEIGHTS.values())
    statuses += rng.choices(list(STATUS_WEIGHTS), weights=weights, k=count - len(statuses))
    rng.shuffle(statuses)
    return statuses


def _plan_orders(timeline: _Timeline, customers: list[Customer], count: int) -> None:
    rng = timeline.rng
    places: list[Step] = []
    for key, status in enumerate(_final_statuses(rng, count)):
        cancel_after_approval = status is OrderStatus.CANCELLED and rng.random() < 0.4
        gaps: list[tuple[str, int]] = []
        if status in (OrderStatus.APPROVED, OrderStatus.SHIPPED, OrderStatus.DELIVERED) or (
            cancel_after_approval
        ):
            gaps.append(("approve", rng.randint(10 * 60, 8 * HOUR)))
        if status in (OrderStatus.SHIPPED, OrderStatus.DELIVERED):
            gaps.append(("ship", rng.randint(2 * HOUR, 2 * DAY)))
        if status is OrderStatus.DELIVERED:
            gaps.append(("deliver", rng.randint(20 * HOUR, 5 * DAY)))
        if status is OrderStatus.CANCELLED:
            gaps.append(("cancel", rng.randint(5 * 60, 30 * HOUR)))
        offsets = _place_chain(timeline, status, [gap for _, gap in gaps])

        customer = rng.choice(customers)
        places.append(_plan_place(timeline, key, offsets[0], customer))
        for (kind, _), offset in zip(gaps, offsets[1:], strict=True):
            _plan_order_step(timeline, key, kind, offset, customer)

    # The oldest orders predate schema v3: write them as v1, the next ones as v2.
    places.sort()
    v1 = round(len(places) * LEGACY_V1_SHARE)
    v2 = round(len(places) * LEGACY_V2_SHARE)
    for index, step in enumerate(places[: v1 + v2]):
        step.kind = LEGACY_V1 if index < v1 else LEGACY_V2
        step.user = "legacy-shop"


def _place_chain(timeline: _Timeline, status: OrderStatus, gaps: list[int]) -> list[int]:
    """Offsets of the order's steps: placed at a random time, each gap after the last."""
    window = timeline.window
    if sum(gaps) > window * 0.8:  # a short window: squeeze the order's life to fit
        factor = window * 0.8 / sum(gaps)
        gaps = [max(1, int(gap * factor)) for gap in gaps]
    latest = max(0, window - sum(gaps) - 60)
    earliest = min(latest, max(0, window - RECENT.get(status, window)))
    offsets = [timeline.rng.randint(earliest, latest)]
    for gap in gaps:
        offsets.append(offsets[-1] + gap)
    return offsets


def _plan_place(timeline: _Timeline, key: int, offset: int, customer: Customer) -> Step:
    rng = timeline.rng
    lines = rng.choices((1, 2, 3, 4), weights=(50, 28, 15, 7))[0]
    items = [
        OrderItem(
            product_id=product.sku,
            quantity=rng.choices((1, 2, 3, 5), weights=(70, 18, 8, 4))[0],
            price=product.price,
        )
        for product in rng.sample(PRODUCTS, lines)
    ]
    return timeline.add(
        offset,
        "place",
        key,
        "storefront",
        customer_id=customer.customer_id,
        customer_name=customer.name,
        customer_email=customer.email,
        items=items,
        shipping_address=customer.address,
        payment_method=customer.payment_method,
    )


def _plan_order_step(
    timeline: _Timeline, key: int, kind: str, offset: int, customer: Customer
) -> None:
    rng = timeline.rng
    if kind == "approve":
        user = "system" if rng.random() < 0.3 else rng.choice(OPERATORS)
        timeline.add(offset, kind, key, user, notes=rng.choice(APPROVAL_NOTES))
    elif kind == "ship":
        carrier = rng.choice(CARRIERS)
        timeline.add(
            offset,
            kind,
            key,
            rng.choice(("system", *OPERATORS)),
            carrier=carrier,
            tracking_number=tracking_number(rng, carrier),
            estimated_delivery=timeline.at(offset) + timedelta(days=rng.randint(2, 5)),
        )
    elif kind == "deliver":
        roll = rng.random()
        signed_by = customer.name if roll < 0.6 else "Front desk" if roll < 0.7 else None
        timeline.add(offset, kind, key, "system", signed_by=signed_by)
    else:  # cancel
        cancellation_type = rng.choices(("CUSTOMER", "ADMIN", "SYSTEM"), weights=(5, 3, 2))[0]
        by = {"CUSTOMER": "storefront", "SYSTEM": "system"}.get(cancellation_type)
        timeline.add(
            offset,
            kind,
            key,
            by or rng.choice(OPERATORS),
            reason=rng.choice(CANCEL_REASONS[cancellation_type]),
            cancellation_type=cancellation_type,
        )


def _cents(rng: random.Random, low: Decimal, high: Decimal) -> Decimal:
    return Decimal(rng.randint(int(low * 100), int(high * 100))) / 100


def _plan_accounts(timeline: _Timeline, customers: list[Customer], count: int) -> None:
    rng = timeline.rng
    window = timeline.window
    for key in range(count):
        if rng.random() < 0.15:
            owner = rng.choice(ACCOUNT_OWNERS_EXTRA)
        else:
            owner = rng.choice(customers).name
        opened = rng.randint(0, int(window * 0.4))
        timeline.add(opened, "open", key, rng.choice(OPERATORS), owner=owner)
        moments = sorted(rng.randint(opened + 60, window) for _ in range(rng.randint(4, 24)))
        balance = Decimal("0.00")
        for index, offset in enumerate(moments):
            if index > 0 and balance >= 10 and rng.random() < 0.45:
                amount = _cents(
                    rng, Decimal("5.00"), (balance * Decimal("0.6")).quantize(Decimal("0.01"))
                )
                balance -= amount
                user = rng.choice(("system", *OPERATORS))
                timeline.add(offset, "withdraw", key, user, amount=amount)
            else:
                salary = rng.random() < 0.3
                low, high = (Decimal(800), Decimal(4200)) if salary else (Decimal(20), Decimal(450))
                amount = _cents(rng, low, high)
                balance += amount
                user = "system" if salary else rng.choice(OPERATORS)
                timeline.add(offset, "deposit", key, user, amount=amount)
