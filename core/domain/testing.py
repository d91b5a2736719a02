"""Given/when/then for the demo domain, over the in-memory stores.

    scenario = Scenario()
    await scenario.given("ord-1", placed_order())
    result = await scenario.when(ApproveOrder(order_id="ord-1"), user="alice")
    assert scenario.decoded(result) == [OrderApproved(approved_by="alice", notes="")]

`refused` runs a command that must fail and checks that nothing was appended.
Used by the domain's tests; handy for anyone testing projections on demo events.

`DictView` is a read model in a dict; `SagaDriver` runs a saga over a store the
way the projection runner does (position order, its own commands included), with
`DirectSagaContext` sending its commands through a real command bus.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from ..clock import FixedClock, SeededIdFactory
from ..commands import Command, CommandBus, CommandResult
from ..errors import EventdeckError
from ..events import DomainEvent, Metadata, RecordedEvent
from ..memory_store import InMemoryEventStore, InMemorySnapshotStore
from ..ports import EventStore
from ..projections import Document, Saga
from ..registry import EventRegistry
from ..snapshots import SnapshotPolicy
from . import build_bus, build_repository
from .account import ACCOUNT_EVENTS
from .inventory import INVENTORY_EVENTS
from .order_events import ORDER_EVENTS, Address, OrderItem, OrderPlaced, order_total
from .payment import PAYMENT_EVENTS

DEFAULT_START = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


class Scenario:
    """A fresh in-memory system with a fixed clock and seeded ids."""

    def __init__(
        self,
        *,
        start: datetime = DEFAULT_START,
        seed: int = 7,
        snapshot_every: int = 100,
        max_attempts: int = 8,
        store: InMemoryEventStore | None = None,
    ) -> None:
        self.clock = FixedClock(start)
        self.ids = SeededIdFactory(seed)
        self.store = store or InMemoryEventStore()
        self.snapshots = InMemorySnapshotStore()
        self.repository = build_repository(
            self.store,
            clock=self.clock,
            ids=self.ids,
            snapshots=self.snapshots,
            policy=SnapshotPolicy(snapshot_every),
        )
        self.registry = self.repository.registry
        self.bus = build_bus(self.repository, max_attempts=max_attempts)

    async def given(
        self,
        stream_id: str,
        *events: DomainEvent,
        user: str = "tester",
        step: timedelta = timedelta(minutes=1),
    ) -> list[RecordedEvent]:
        """Append `events` to `stream_id` as history, one `step` apart (the clock moves on)."""
        info = await self.store.stream_info(stream_id)
        recorded: list[RecordedEvent] = []
        for event in events:
            new = self.registry.encode(
                event,
                event_id=self.ids.new_id(),
                recorded_at=self.clock.now(),
                metadata=Metadata(user_id=user),
            )
            version = (info.version if info else 0) + len(recorded)
            recorded += await self.store.append(stream_id, stream_type_of(event), [new], version)
            self.clock.advance(step)
        return recorded

    async def when(self, command: Command, *, user: str = "alice") -> CommandResult:
        """Dispatch `command` through the bus as `user`."""
        return await self.bus.dispatch(command, user_id=user)

    async def refused(self, command: Command, *, user: str = "alice") -> EventdeckError:
        """Dispatch a command that must fail; returns its error after checking nothing was written."""
        head = await self.store.head_position()
        try:
            await self.bus.dispatch(command, user_id=user)
        except EventdeckError as error:
            assert await self.store.head_position() == head, "a refused command wrote events"
            return error
        raise AssertionError(f"{command.command_name} was accepted but should have been refused")

    def decoded(self, result: CommandResult) -> list[DomainEvent]:
        """The events a command wrote, as domain events."""
        return [self.registry.decode(record) for record in result.events]

    async def stream(self, stream_id: str) -> list[DomainEvent]:
        return [self.registry.decode(r) for r in await self.store.read_stream(stream_id)]


def stream_type_of(event: DomainEvent) -> str:
    if isinstance(event, ORDER_EVENTS):
        return "Order"
    if isinstance(event, ACCOUNT_EVENTS):
        return "Account"
    if isinstance(event, INVENTORY_EVENTS):
        return "Inventory"
    if isinstance(event, PAYMENT_EVENTS):
        return "Payment"
    raise TypeError(f"{event.type_name} is not a demo domain event")


def placed_order(
    customer_id: str = "cust-0001",
    items: list[OrderItem] | None = None,
    *,
    payment_method: str = "CARD",
    address: Address | None = None,
) -> OrderPlaced:
    """An `OrderPlaced` as `Order.place` would raise it (two widgets and a cable by default)."""
    items = items or [
        OrderItem(product_id="WIDGET-1", quantity=2, price=Decimal("9.99")),
        OrderItem(product_id="CABLE-USB-C", quantity=1, price=Decimal("12.99")),
    ]
    return OrderPlaced(
        customer_id=customer_id,
        customer_name="Ada Lovelace",
        customer_email="ada@example.com",
        items=items,
        shipping_address=address
        or Address(street="1 Main St", city="Boston", state="MA", zip_code="02110", country="USA"),
        total_amount=order_total(items),
        payment_method=payment_method,
    )


class DictView:
    """A read model in a dict. `put` insists on JSON-able documents (it stores a JSON
    round trip) and `get` hands out copies, like the runner's views."""

    def __init__(self) -> None:
        self.documents: dict[str, Document] = {}

    async def get(self, key: str) -> Document | None:
        document = self.documents.get(key)
        return None if document is None else json.loads(json.dumps(document))

    def put(self, key: str, document: Document) -> None:
        self.documents[key] = json.loads(json.dumps(document))

    def delete(self, key: str) -> None:
        self.documents.pop(key, None)


class DirectSagaContext:
    """`SagaContext` over a command bus: sends as `user` with the trigger's correlation id
    and event id as causation id; None when the target stream already holds an event
    caused by that trigger (the runner's at-most-once rule)."""

    def __init__(self, bus: CommandBus, store: EventStore, user: str = "SYSTEM") -> None:
        self.bus = bus
        self.store = store
        self.user = user
        #: (command, outcome) of every send: "sent", "already sent" or the error's class name.
        self.sent: list[tuple[Command, str]] = []

    async def send(self, command: Command, *, caused_by: RecordedEvent) -> CommandResult | None:
        target = command.target_stream()
        if target is not None:
            for event in await self.store.read_stream(target):
                if event.metadata.causation_id == caused_by.event_id:
                    self.sent.append((command, "already sent"))
                    return None
        try:
            result = await self.bus.dispatch(
                command,
                user_id=self.user,
                correlation_id=caused_by.metadata.correlation_id or caused_by.event_id,
                causation_id=caused_by.event_id,
            )
        except Exception as error:
            self.sent.append((command, type(error).__name__))
            raise
        self.sent.append((command, "sent"))
        return result


class SagaDriver:
    """Runs `saga` over `store` from a checkpoint, in position order, like the runner:
    a failing event leaves the view untouched and stops the catch-up."""

    def __init__(
        self, saga: Saga, store: EventStore, bus: CommandBus, registry: EventRegistry
    ) -> None:
        self.saga = saga
        self.store = store
        self.registry = registry
        self.view = DictView()
        self.context = DirectSagaContext(bus, store)
        self.checkpoint = 0

    async def catch_up(self) -> int:
        """React to every event after the checkpoint, including those the saga's own
        commands write, until none are left; returns how many events were read."""
        read = 0
        while self.checkpoint < await self.store.head_position():
            async for record in self.store.read_all(from_position=self.checkpoint + 1):
                if record.type in self.saga.handles:
                    await self.react(record)
                self.checkpoint = record.position
                read += 1
        return read

    async def next(self) -> RecordedEvent | None:
        """Read only the next event after the checkpoint (None at the head)."""
        async for record in self.store.read_all(
            from_position=self.checkpoint + 1, to_position=self.checkpoint + 1
        ):
            if record.type in self.saga.handles:
                await self.react(record)
            self.checkpoint = record.position
            return record
        return None

    async def react(self, record: RecordedEvent) -> None:
        """React to one event; on an error the view is as it was before."""
        before = dict(self.view.documents)
        try:
            await self.saga.react(self.registry.decode(record), record, self.view, self.context)
        except BaseException:
            self.view.documents = before
            raise
