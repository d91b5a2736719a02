"""Live demo traffic: what a busy shop and bank do next, one move at a time.

`TrafficPlanner` is pure. It learns what exists from recorded events (orders and
where they are, accounts and their balances, customers) and picks the next move
with a seeded random source: new orders (some whose payment the rules refuse: a
declined PREPAID_CARD or a bulk order over the customer's limit), shipments of
approved orders, deliveries of shipped ones, the odd cancellation, new accounts,
deposits and withdrawals, and now and then a poison row, as the old importer
wrote them, that the projections cannot apply.

`DemoTraffic` drives it over a command bus: it reads the events appended since
it last looked (its own, the fulfilment saga's, anyone's), asks the planner,
and sends the command as `demo-traffic`, or appends the poison row straight to
the store. Approvals are the saga's job, so traffic never approves. A command
the domain refuses (shipping an order the saga cancelled meanwhile) is a normal
outcome, reported in the `Outcome`, never raised.
"""

from __future__ import annotations

import random
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal

from ..commands import Command, CommandBus
from ..errors import ConcurrencyError, InvalidInput, InvalidTransition, StoredRecordError
from ..events import DomainEvent, Metadata, RecordedEvent
from .account import AccountOpened, MoneyDeposited, MoneyWithdrawn
from .commands import (
    CancelOrder,
    DeliverOrder,
    Deposit,
    OpenAccount,
    PlaceOrder,
    ShipOrder,
    Withdraw,
)
from .demo_catalog import (
    ACCOUNT_OWNERS_EXTRA,
    CANCEL_REASONS,
    CARRIERS,
    IMPORTER,
    PRODUCTS,
    Customer,
    make_address,
    make_customer,
    tracking_number,
)
from .order_events import (
    CancellationType,
    OrderApproved,
    OrderCancelled,
    OrderDelivered,
    OrderItem,
    OrderPlaced,
    OrderShipped,
    OrderStatus,
    order_total,
)
from .payment import CUSTOMER_LIMIT, DECLINED_METHODS, payment_refusal

#: Who the demo's commands are issued as.
TRAFFIC_USER = "demo-traffic"
#: Move kinds: the command names, and POISON for a raw row the projections cannot apply.
POISON = "poison"
#: How likely each move is, when it is possible at all.
WEIGHTS = {
    PlaceOrder.command_name: 30.0,
    ShipOrder.command_name: 14.0,
    DeliverOrder.command_name: 10.0,
    CancelOrder.command_name: 3.0,
    OpenAccount.command_name: 3.0,
    Deposit.command_name: 14.0,
    Withdraw.command_name: 9.0,
    POISON: 0.4,
}
#: Share of new orders whose payment the rules refuse (the saga cancels them).
FAILING_ORDERS = 0.12
#: Share of orders placed by a customer never seen before.
NEW_CUSTOMERS = 0.15
#: How many orders of each status, customers and accounts the planner remembers.
MEMORY = 500
#: Below this many known accounts, opening one is much more likely.
FEW_ACCOUNTS = 3


@dataclass(frozen=True)
class PoisonRow:
    """A row to append straight to the store, as the old importer did: an order never
    placed that ships, or an account never opened that takes a deposit."""

    stream_id: str
    stream_type: str
    event: DomainEvent


@dataclass(frozen=True)
class Move:
    """What traffic does next: a command to send, or a poison row to append."""

    kind: str
    command: Command | None = None
    poison: PoisonRow | None = None


@dataclass(frozen=True)
class Outcome:
    """What became of a move: the stream it touched and the events written, or why the
    domain refused it (`refused`)."""

    move: Move
    stream_id: str | None
    events: int
    refused: str | None = None


class _Bounded(OrderedDict[str, object]):
    """Insertion-ordered, forgetting the oldest entries beyond `limit`."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def remember(self, key: str, value: object) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.limit:
            self.popitem(last=False)


class TrafficPlanner:
    """Decides the next move from what it has seen; no I/O."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        #: By status: order id -> the customer's name, for orders whose placement was seen.
        self.orders: dict[OrderStatus, _Bounded] = {
            status: _Bounded(MEMORY)
            for status in (OrderStatus.PENDING, OrderStatus.APPROVED, OrderStatus.SHIPPED)
        }
        self.customers = _Bounded(MEMORY)
        #: Account id -> balance, for accounts whose opening was seen.
        self.accounts = _Bounded(MEMORY)
        self._new_customers = 0

    # -- learning ---------------------------------------------------------------------

    def observe(self, record: RecordedEvent, event: DomainEvent) -> None:
        """Learn from one recorded event (decoded to its current class)."""
        stream_id = record.stream_id
        if isinstance(event, OrderPlaced):
            self._forget_order(stream_id)
            self.orders[OrderStatus.PENDING].remember(stream_id, event.customer_name)
            if event.shipping_address is not None:
                self.customers.remember(
                    event.customer_id,
                    Customer(
                        customer_id=event.customer_id,
                        name=event.customer_name or event.customer_id,
                        email=event.customer_email or f"{event.customer_id}@example.com",
                        address=event.shipping_address,
                        payment_method=event.payment_method,
                    ),
                )
        elif isinstance(event, OrderApproved):
            self._advance(stream_id, OrderStatus.PENDING, OrderStatus.APPROVED)
        elif isinstance(event, OrderShipped):
            self._advance(stream_id, OrderStatus.APPROVED, OrderStatus.SHIPPED)
        elif isinstance(event, (OrderDelivered, OrderCancelled)):
            self._forget_order(stream_id)
        elif isinstance(event, AccountOpened):
            self.accounts.remember(stream_id, Decimal("0.00"))
        elif isinstance(event, (MoneyDeposited, MoneyWithdrawn)) and stream_id in self.accounts:
            balance = self.balance(stream_id)
            sign = 1 if isinstance(event, MoneyDeposited) else -1
            self.accounts.remember(stream_id, balance + sign * event.amount)

    def balance(self, account_id: str) -> Decimal:
        value = self.accounts.get(account_id, Decimal(0))
        assert isinstance(value, Decimal)
        return value

    def _advance(self, order_id: str, before: OrderStatus, after: OrderStatus) -> None:
        if order_id in self.orders[before]:
            self.orders[after].remember(order_id, self.orders[before].pop(order_id))

    def _forget_order(self, order_id: str) -> None:
        for known in self.orders.values():
            known.pop(order_id, None)

    # -- deciding ---------------------------------------------------------------------

    def decide(self, now: datetime) -> Move:
        """The next move, among those possible with what is known."""
        weights = dict(WEIGHTS)
        pending = self.orders[OrderStatus.PENDING]
        approved = self.orders[OrderStatus.APPROVED]
        if not approved:
            weights[ShipOrder.command_name] = 0
        if not self.orders[OrderStatus.SHIPPED]:
            weights[DeliverOrder.command_name] = 0
        if not pending and not approved:
            weights[CancelOrder.command_name] = 0
        if len(self.accounts) < FEW_ACCOUNTS:
            weights[OpenAccount.command_name] += 20
        if not self.accounts:
            weights[Deposit.command_name] = 0
        if not self._rich_accounts():
            weights[Withdraw.command_name] = 0
        kind = self.rng.choices(list(weights), list(weights.values()))[0]
        if kind == POISON:
            return Move(kind, poison=self._poison(now))
        return Move(kind, command=self._command(kind))

    def _command(self, kind: str) -> Command:
        rng = self.rng
        if kind == PlaceOrder.command_name:
            return self._place_order()
        if kind == ShipOrder.command_name:
            carrier = rng.choice(CARRIERS)
            return ShipOrder(
                order_id=self._pick(self.orders[OrderStatus.APPROVED]),
                tracking_number=tracking_number(rng, carrier),
                carrier=carrier,
            )
        if kind == DeliverOrder.command_name:
            shipped = self.orders[OrderStatus.SHIPPED]
            order_id = self._pick(shipped)
            return DeliverOrder(order_id=order_id, signed_by=self._signature(shipped[order_id]))
        if kind == CancelOrder.command_name:
            return self._cancel_order()
        if kind == OpenAccount.command_name:
            return OpenAccount(owner=self._owner())
        if kind == Deposit.command_name:
            salary = rng.random() < 0.2
            low, high = (800, 4200) if salary else (20, 450)
            return Deposit(account_id=self._pick(self.accounts), amount=_cents(rng, low, high))
        if kind == Withdraw.command_name:
            account_id = rng.choice(self._rich_accounts())
            most = max(self.balance(account_id) * Decimal("0.6"), Decimal("5.00"))
            return Withdraw(account_id=account_id, amount=_cents(rng, Decimal(5), most))
        raise ValueError(f"unknown traffic move {kind!r}")

    def _place_order(self) -> PlaceOrder:
        rng = self.rng
        customer = self._customer()
        items = _draw_items(rng)
        method = customer.payment_method
        if rng.random() < FAILING_ORDERS:
            if rng.random() < 0.5:
                method = min(DECLINED_METHODS)
            else:
                product = rng.choice([p for p in PRODUCTS if p.price >= 100])
                bulk = int(CUSTOMER_LIMIT // product.price) + 1
                items = [OrderItem(product_id=product.sku, quantity=bulk, price=product.price)]
        elif payment_refusal(order_total(items), method) is not None:
            method = "CARD"  # a regular customer's order: make it one that goes through
            items = items[:1]
        return PlaceOrder(
            customer_id=customer.customer_id,
            customer_name=customer.name,
            customer_email=customer.email,
            items=items,
            shipping_address=customer.address,
            payment_method=method,
        )

    def _cancel_order(self) -> CancelOrder:
        rng = self.rng
        pending = self.orders[OrderStatus.PENDING]
        approved = self.orders[OrderStatus.APPROVED]
        early = bool(pending) and (not approved or rng.random() < 0.5)
        if early:  # the customer changed their mind within seconds; the saga may win the race
            return CancelOrder(
                order_id=self._pick(pending),
                reason=rng.choice(CANCEL_REASONS["CUSTOMER"]),
                cancellation_type=CancellationType.CUSTOMER,
            )
        kind = rng.choice((CancellationType.CUSTOMER, CancellationType.ADMIN))
        return CancelOrder(
            order_id=self._pick(approved),
            reason=rng.choice(CANCEL_REASONS[kind.value]),
            cancellation_type=kind,
        )

    def _poison(self, now: datetime) -> PoisonRow:
        rng = self.rng
        suffix = f"{rng.getrandbits(48):012x}"
        if rng.random() < 0.5:
            carrier = rng.choice(CARRIERS)
            shipped = OrderShipped(
                tracking_number=tracking_number(rng, carrier),
                carrier=carrier,
                shipping_address=make_address(rng),
                estimated_delivery=now + timedelta(days=rng.randint(2, 4)),
            )
            return PoisonRow(f"ord-imp-{suffix}", "Order", shipped)
        deposit = MoneyDeposited(amount=_cents(rng, Decimal(100), Decimal(900)))
        return PoisonRow(f"acc-imp-{suffix}", "Account", deposit)

    def _customer(self) -> Customer:
        rng = self.rng
        if self.customers and rng.random() >= NEW_CUSTOMERS:
            chosen = self.customers[self._pick(self.customers)]
            assert isinstance(chosen, Customer)
            return chosen
        self._new_customers += 1
        fresh = make_customer(rng, self._new_customers)
        customer_id = f"cust-live-{rng.getrandbits(32):08x}"
        return replace(fresh, customer_id=customer_id, payment_method=_accepted(fresh))

    def _owner(self) -> str:
        if self.customers and self.rng.random() < 0.8:
            customer = self.customers[self._pick(self.customers)]
            assert isinstance(customer, Customer)
            return customer.name
        return self.rng.choice(ACCOUNT_OWNERS_EXTRA)

    def _signature(self, customer_name: object) -> str | None:
        roll = self.rng.random()
        if roll < 0.6 and isinstance(customer_name, str):
            return customer_name
        return "Front desk" if roll < 0.75 else None

    def _rich_accounts(self) -> list[str]:
        return [key for key in self.accounts if self.balance(key) >= 10]

    def _pick(self, known: _Bounded) -> str:
        # the newest entries most often: work flows through recent orders first
        keys = list(known)
        index = len(keys) - 1 - min(int(self.rng.expovariate(0.15)), len(keys) - 1)
        return keys[index]


def _accepted(customer: Customer) -> str:
    """A new customer's payment method, one the provider accepts (failures are chosen
    on purpose, at the FAILING_ORDERS rate)."""
    method = customer.payment_method
    return method if payment_refusal(Decimal(0), method) is None else "CARD"


def _cents(rng: random.Random, low: Decimal | int, high: Decimal | int) -> Decimal:
    return Decimal(rng.randint(int(Decimal(low) * 100), int(Decimal(high) * 100))) / 100


def _draw_items(rng: random.Random) -> list[OrderItem]:
    lines = rng.choices((1, 2, 3), weights=(60, 28, 12))[0]
    return [
        OrderItem(
            product_id=product.sku,
            quantity=rng.choices((1, 2, 3), weights=(75, 18, 7))[0],
            price=product.price,
        )
        for product in rng.sample(PRODUCTS, lines)
    ]


class DemoTraffic:
    """Runs the planner's moves through a command bus, learning from the store as it goes."""

    def __init__(
        self,
        bus: CommandBus,
        *,
        seed: int = 42,
        user: str = TRAFFIC_USER,
        history: int = 2000,
    ) -> None:
        self.bus = bus
        self.repository = bus.repository
        self.user = user
        self.planner = TrafficPlanner(random.Random(f"eventdeck-traffic:{seed}"))
        #: How many of the newest events `start` learns from.
        self.history = history
        #: The last position the planner has seen.
        self.position = 0

    async def start(self) -> None:
        """Learn from the newest events, so traffic carries on with what exists."""
        head = await self.repository.store.head_position()
        self.position = max(head - self.history, 0)
        await self.catch_up()

    async def catch_up(self) -> int:
        """Learn from every event appended since the last look; how many were read."""
        store = self.repository.store
        registry = self.repository.registry
        read = 0
        while True:
            try:
                async for record in store.read_all(from_position=self.position + 1):
                    self.position = record.position
                    read += 1
                    try:
                        event = registry.decode(record)
                    except StoredRecordError:
                        continue  # an unreadable payload: nothing to learn from it
                    self.planner.observe(record, event)
            except StoredRecordError as exc:  # a row that cannot even be read: step over it
                if exc.position is None or exc.position <= self.position:
                    raise
                self.position = exc.position
                continue
            return read

    async def step(self) -> Outcome:
        """Catch up, then make one move."""
        await self.catch_up()
        move = self.planner.decide(self.repository.clock.now())
        if move.poison is not None:
            return await self._append_poison(move, move.poison)
        assert move.command is not None
        try:
            result = await self.bus.dispatch(move.command, user_id=self.user)
        except (InvalidTransition, InvalidInput, ConcurrencyError) as refusal:
            return Outcome(move, move.command.target_stream(), 0, refused=str(refusal))
        return Outcome(move, result.stream_id, len(result.events))

    async def _append_poison(self, move: Move, row: PoisonRow) -> Outcome:
        repository = self.repository
        correlation = repository.ids.new_id()
        new = repository.registry.encode(
            row.event,
            event_id=repository.ids.new_id(),
            recorded_at=repository.clock.now(),
            metadata=Metadata(
                user_id=IMPORTER, correlation_id=correlation, causation_id=correlation
            ),
        )
        try:
            written = await repository.store.append(row.stream_id, row.stream_type, [new], 0)
        except ConcurrencyError as clash:  # the same id drawn twice: vanishingly rare
            return Outcome(move, row.stream_id, 0, refused=str(clash))
        return Outcome(move, row.stream_id, len(written))


__all__ = [
    "POISON",
    "TRAFFIC_USER",
    "DemoTraffic",
    "Move",
    "Outcome",
    "PoisonRow",
    "TrafficPlanner",
]
