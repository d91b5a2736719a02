"""The timeline of demo history: what happens to which order or account, when, and by whom.

Planning is pure: a seeded `random.Random`, the counts and the time window give
the same steps every time. `demo_data` runs them.

Orders are approved by the fulfilment saga, a few minutes after placement (a
SAGA step). Payments fail by fixed rules (`payment.payment_refusal`), so the
plan knows which orders the saga approves and which it cancels, and later steps
(ship, deliver, cancellations) only touch orders whose state is certain then.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from .demo_catalog import (
    ACCOUNT_OWNERS_EXTRA,
    APPROVAL_NOTES,
    CANCEL_REASONS,
    CARRIERS,
    IMPORTER,
    OPERATORS,
    PRODUCTS,
    Customer,
    make_address,
    make_customer,
    tracking_number,
)
from .order_events import OrderItem, OrderStatus, order_total
from .payment import CUSTOMER_LIMIT, payment_refusal

LEGACY_V1 = "place-v1"
LEGACY_V2 = "place-v2"
#: Shares of OrderPlaced written in the old schemas (the oldest orders, as in real life).
LEGACY_V1_SHARE = 0.10
LEGACY_V2_SHARE = 0.15

#: Step kind: the fulfilment saga's turn for one order, a few minutes after placement.
#: With a `tick`, seeding runs the real saga there; without, it approves the order
#: itself (or cancels it as the saga would after a failed payment).
SAGA = "saga"
#: What the saga does with an order: approve it, cancel it after a failed payment, or
#: nothing left to do (the customer cancelled before it got its turn).
APPROVE, FAIL, NOTHING = "approve", "fail", "nothing"
#: Poison rows an old importer wrote straight to the store: a shipment and a delivery
#: for an order never placed, money moving on an account never opened.
POISON_SHIPPED = "poison-shipped"
POISON_DELIVERED = "poison-delivered"
POISON_DEPOSIT = "poison-deposit"
POISON_WITHDRAW = "poison-withdraw"
POISON_ORDER_KINDS = (POISON_SHIPPED, POISON_DELIVERED)
POISON_KINDS = (*POISON_ORDER_KINDS, POISON_DEPOSIT, POISON_WITHDRAW)
#: How many poison order streams (and account streams) a seed writes.
POISON_ORDERS = 2
POISON_ACCOUNTS = 1

#: How likely each final status is (every status is also forced to occur once).
STATUS_WEIGHTS = {
    OrderStatus.DELIVERED: 45,
    OrderStatus.SHIPPED: 12,
    OrderStatus.APPROVED: 12,
    OrderStatus.PENDING: 5,
    OrderStatus.CANCELLED: 17,
}
#: Ways an order ends CANCELLED, and how likely each is.
PAYMENT_FAILED, AFTER_APPROVAL, BEFORE_SAGA = "payment-failed", "after-approval", "before-saga"
CANCEL_WEIGHTS = {PAYMENT_FAILED: 45, AFTER_APPROVAL: 40, BEFORE_SAGA: 15}
#: Share of the orders still PENDING at the end whose payment will go through.
PENDING_PAYS = 0.7
#: Orders still in flight were placed recently: how far back (seconds) they may start.
RECENT = {
    OrderStatus.APPROVED: 3 * 86400,
    OrderStatus.SHIPPED: 6 * 86400,
}
HOUR = 3600
DAY = 86400
#: Orders placed in this last stretch before `end` get no saga turn: they stay PENDING
#: for a worker to take through the saga after seeding. Every saga turn comes before it.
PENDING_WINDOW = 2 * HOUR
#: Seconds between an order's placement and the saga's turn for it.
SAGA_DELAY = (90, 8 * 60)


@dataclass(order=True)
class Step:
    """One thing that happens: `kind` to order/account number `key` at `at`, by `user`."""

    at: datetime
    seq: int
    kind: str = field(compare=False)
    key: int = field(compare=False)
    user: str = field(compare=False)
    fields: dict[str, Any] = field(compare=False, default_factory=dict)
    #: For placements: what the fulfilment saga will do (APPROVE or FAIL).
    outcome: str | None = field(compare=False, default=None)


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
    rng: random.Random,
    orders: int,
    accounts: int,
    start: datetime,
    end: datetime,
    *,
    poison: bool = True,
) -> list[Step]:
    """Every step of the demo history, sorted by time (ties keep planning order)."""
    timeline = _Timeline(rng, start, end)
    customers = _with_a_paying_customer(
        [make_customer(rng, n + 1) for n in range(max(8, orders // 3))]
    )
    _plan_orders(timeline, customers, orders)
    _plan_accounts(timeline, customers, accounts)
    if poison:
        _plan_poison(timeline, orders, accounts)
    return sorted(timeline.steps)


def _with_a_paying_customer(customers: list[Customer]) -> list[Customer]:
    """Make sure some customer's payment method is accepted (orders that pay need one)."""
    if any(payment_refusal(Decimal(0), c.payment_method) is None for c in customers):
        return customers
    return [replace(customers[0], payment_method="CARD"), *customers[1:]]


def _final_statuses(rng: random.Random, count: int) -> list[OrderStatus]:
    statuses = list(OrderStatus)[: min(count, len(OrderStatus))]
    if count >= 10:  # two PENDING orders, so the saga has both outcomes left to produce
        statuses.append(OrderStatus.PENDING)
    weights = list(STATUS_WEIGHTS.values())
    statuses += rng.choices(list(STATUS_WEIGHTS), weights=weights, k=count - len(statuses))
    rng.shuffle(statuses)
    return statuses


@dataclass
class _OrderPlan:
    key: int
    status: OrderStatus
    cancel: str | None  # how a CANCELLED order ends so
    pays: bool  # whether its payment goes through


def _order_plans(rng: random.Random, count: int) -> list[_OrderPlan]:
    plans: list[_OrderPlan] = []
    for key, status in enumerate(_final_statuses(rng, count)):
        cancel = None
        if status is OrderStatus.CANCELLED:
            if not any(p.cancel == PAYMENT_FAILED for p in plans):
                cancel = PAYMENT_FAILED  # the saga's compensation always shows
            else:
                cancel = rng.choices(list(CANCEL_WEIGHTS), list(CANCEL_WEIGHTS.values()))[0]
        if status is OrderStatus.PENDING:
            pays = rng.random() < PENDING_PAYS
        else:
            # a customer may cancel before the saga's turn only if its payment would go
            # through: another order's saga turn may come first and approve this one
            pays = cancel != PAYMENT_FAILED
        plans.append(_OrderPlan(key, status, cancel, pays))
    pending = [p for p in plans if p.status is OrderStatus.PENDING]
    if len(pending) >= 2 and len({p.pays for p in pending}) == 1:
        pending[0].pays = not pending[0].pays  # leave both saga outcomes to a worker
    return plans


def _plan_orders(timeline: _Timeline, customers: list[Customer], count: int) -> None:
    rng = timeline.rng
    payers = _by_payment(customers)
    places: list[Step] = []
    for plan in _order_plans(rng, count):
        status = plan.status
        before: list[tuple[str, int]] = []  # up to and including the saga's turn
        after: list[tuple[str, int]] = []
        if status is not OrderStatus.PENDING:
            delay = rng.randint(*SAGA_DELAY)
            if plan.cancel == BEFORE_SAGA:
                early = rng.randint(20, delay - 30)
                before = [("cancel", early), (SAGA, delay - early)]
            else:
                before = [(SAGA, delay)]
        if status in (OrderStatus.SHIPPED, OrderStatus.DELIVERED):
            after.append(("ship", rng.randint(2 * HOUR, 2 * DAY)))
        if status is OrderStatus.DELIVERED:
            after.append(("deliver", rng.randint(20 * HOUR, 5 * DAY)))
        if plan.cancel == AFTER_APPROVAL:
            after.append(("cancel", rng.randint(5 * 60, 30 * HOUR)))
        offsets = _place_chain(timeline, status, before, after)

        customer, items = _purchase(rng, payers, plan.pays)
        place = _plan_place(timeline, plan.key, offsets[0], customer, items)
        place.outcome = APPROVE if plan.pays else FAIL
        places.append(place)
        for (kind, _), offset in zip(before + after, offsets[1:], strict=True):
            if kind == SAGA:
                _plan_saga_turn(timeline, plan, offset, order_total(items), customer)
            else:
                _plan_order_step(
                    timeline,
                    plan.key,
                    kind,
                    offset,
                    customer,
                    early=kind == "cancel" and plan.cancel == BEFORE_SAGA,
                )

    # The oldest orders predate schema v3: write them as v1, the next ones as v2. Their
    # payment method reads as UNKNOWN (and a v1 total as 0), so only orders whose payment
    # goes through anyway may become legacy rows: the saga's outcome stays the planned one.
    places.sort()
    v1 = round(len(places) * LEGACY_V1_SHARE)
    v2 = round(len(places) * LEGACY_V2_SHARE)
    paying = [step for step in places if step.outcome == APPROVE]
    for index, step in enumerate(paying[: v1 + v2]):
        step.kind = LEGACY_V1 if index < v1 else LEGACY_V2
        step.user = "legacy-shop"


def _place_chain(
    timeline: _Timeline,
    status: OrderStatus,
    before: list[tuple[str, int]],
    after: list[tuple[str, int]],
) -> list[int]:
    """Offsets of the order's steps: placed at a random time, each gap after the last.

    A PENDING order is placed inside the last PENDING_WINDOW; any other order has its
    saga turn before that window, so no saga turn ever sees a PENDING order."""
    rng = timeline.rng
    window = timeline.window
    if status is OrderStatus.PENDING:
        return [rng.randint(window - PENDING_WINDOW, window - 60)]
    lead = sum(gap for _, gap in before)
    gaps = [gap for _, gap in after]
    room = int((window - 60 - lead) * 0.8)
    if sum(gaps) > room:  # a short window: squeeze the order's later life to fit
        factor = room / sum(gaps)
        gaps = [max(1, int(gap * factor)) for gap in gaps]
    latest = max(0, min(window - PENDING_WINDOW - 1 - lead, window - 60 - lead - sum(gaps)))
    earliest = min(latest, max(0, window - RECENT.get(status, window)))
    offsets = [rng.randint(earliest, latest)]
    for gap in [gap for _, gap in before] + gaps:
        offsets.append(offsets[-1] + gap)
    return offsets


def _draw_items(rng: random.Random) -> list[OrderItem]:
    lines = rng.choices((1, 2, 3, 4), weights=(50, 28, 15, 7))[0]
    return [
        OrderItem(
            product_id=product.sku,
            quantity=rng.choices((1, 2, 3, 5), weights=(70, 18, 8, 4))[0],
            price=product.price,
        )
        for product in rng.sample(PRODUCTS, lines)
    ]


def _by_payment(customers: list[Customer]) -> tuple[list[Customer], list[Customer]]:
    """The customers whose payment method is accepted, and the others, in order (once
    per plan: split per order, with `not in`, planning was cubic in the orders)."""
    refused = [payment_refusal(Decimal(0), c.payment_method) is not None for c in customers]
    accepted = [c for c, no in zip(customers, refused, strict=True) if not no]
    return accepted, [c for c, no in zip(customers, refused, strict=True) if no]


def _purchase(
    rng: random.Random, payers: tuple[list[Customer], list[Customer]], pays: bool
) -> tuple[Customer, list[OrderItem]]:
    """A customer (of `_by_payment`'s) and items whose payment goes through (`pays`) or
    fails, by the payment rules: a declined method, or a bulk order over the limit."""
    accepted, declined = payers
    if pays:
        customer = rng.choice(accepted)
        for _ in range(50):
            items = _draw_items(rng)
            if order_total(items) <= CUSTOMER_LIMIT:
                return customer, items
        return customer, [
            OrderItem(product_id=PRODUCTS[0].sku, quantity=1, price=PRODUCTS[0].price)
        ]
    if declined and rng.random() < 0.6:
        return rng.choice(declined), _draw_items(rng)
    items = _draw_items(rng)
    skus = {item.product_id for item in items}
    product = rng.choice([p for p in PRODUCTS if p.price >= 100 and p.sku not in skus])
    bulk = int(CUSTOMER_LIMIT // product.price) + 1 + rng.randint(0, 2)
    items.append(OrderItem(product_id=product.sku, quantity=bulk, price=product.price))
    return rng.choice(accepted), items


def _plan_place(
    timeline: _Timeline, key: int, offset: int, customer: Customer, items: list[OrderItem]
) -> Step:
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


def _plan_saga_turn(
    timeline: _Timeline, plan: _OrderPlan, offset: int, total: Decimal, customer: Customer
) -> None:
    """The saga's turn; its fields also say what seeding does itself when there is no saga."""
    rng = timeline.rng
    user = "system" if rng.random() < 0.3 else rng.choice(OPERATORS)
    notes = rng.choice(APPROVAL_NOTES)
    if plan.cancel == BEFORE_SAGA:
        outcome, reason = NOTHING, None
    elif plan.pays:
        outcome, reason = APPROVE, None
    else:
        outcome = FAIL
        reason = f"payment failed: {payment_refusal(total, customer.payment_method)}"
    timeline.add(offset, SAGA, plan.key, user, outcome=outcome, notes=notes, reason=reason)


def _plan_order_step(
    timeline: _Timeline, key: int, kind: str, offset: int, customer: Customer, *, early: bool
) -> None:
    rng = timeline.rng
    if kind == "ship":
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
    elif early:  # the customer changed their mind within minutes
        timeline.add(
            offset,
            "cancel",
            key,
            "storefront",
            reason=rng.choice(CANCEL_REASONS["CUSTOMER"][:3]),
            cancellation_type="CUSTOMER",
        )
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


def _plan_poison(timeline: _Timeline, orders: int, accounts: int) -> None:
    """Rows an old importer wrote straight to the store, that projections cannot apply:
    a shipment then a delivery of an order never placed (order-summary's "Order not
    found"), a deposit then a withdrawal on an account never opened. They come before
    the PENDING window and no later step touches them."""
    rng = timeline.rng
    last = timeline.window - PENDING_WINDOW
    for key in range(POISON_ORDERS if orders else 0):
        shipped = rng.randint(0, last)
        carrier = rng.choice(CARRIERS)
        timeline.add(
            shipped,
            POISON_SHIPPED,
            key,
            IMPORTER,
            carrier=carrier,
            tracking_number=tracking_number(rng, carrier),
            shipping_address=make_address(rng),
            estimated_delivery=timeline.at(shipped) + timedelta(days=rng.randint(2, 4)),
        )
        delivered = min(shipped + rng.randint(DAY, 3 * DAY), timeline.window - 60)
        timeline.add(delivered, POISON_DELIVERED, key, IMPORTER, signed_by=None)
    for key in range(POISON_ACCOUNTS if accounts else 0):
        deposited = rng.randint(0, last)
        amount = _cents(rng, Decimal("100.00"), Decimal("900.00"))
        timeline.add(deposited, POISON_DEPOSIT, key, IMPORTER, amount=amount)
        withdrawn = min(deposited + rng.randint(HOUR, 2 * DAY), timeline.window - 60)
        timeline.add(
            withdrawn, POISON_WITHDRAW, key, IMPORTER, amount=(amount / 2).quantize(Decimal("0.01"))
        )
