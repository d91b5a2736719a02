"""Helpers for the demo projection tests: apply events the way the runner does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from core.domain.commands import (
    ApproveOrder,
    DeliverOrder,
    PlaceOrder,
    ShipOrder,
)
from core.domain.order_events import OrderItem
from core.domain.testing import DictView, Scenario
from core.events import RecordedEvent
from core.projections import Projection
from core.registry import EventRegistry

START = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


class RecordingView(DictView):
    """A DictView that remembers which keys were read."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: list[str] = []

    async def get(self, key: str) -> dict[str, Any] | None:
        self.reads.append(key)
        return await super().get(key)


async def project(
    projection: Projection,
    records: list[RecordedEvent],
    registry: EventRegistry,
    view: DictView | None = None,
) -> DictView:
    """Apply `records` the way the runner does: only handled types, in position order,
    each event on its own (a failing event leaves no writes), and the prefetch keys
    name every key the handler reads first."""
    view = view or DictView()
    for record in records:
        if record.type not in projection.handles:
            continue
        event = registry.decode(record)
        before = dict(view.documents)
        recording = RecordingView()
        recording.documents = view.documents
        try:
            await projection.apply(event, record, recording)
        except BaseException:
            view.documents = before
            raise
        # what a handler reads first is always prefetched (a dashboard's customer is only
        # known once it has read the order's link)
        prefetched = set(projection.prefetch_keys(event, record))
        reads = recording.reads
        assert set(reads[:1]) <= prefetched, f"{projection.name} read {reads} for {record.type}"
    return view


async def history(s: Scenario) -> list[RecordedEvent]:
    return [e async for e in s.store.read_all()]


def item(sku: str, quantity: int, price: str) -> OrderItem:
    return OrderItem(product_id=sku, quantity=quantity, price=Decimal(price))


async def place(
    s: Scenario, order_id: str, customer: str = "cust-1", *items: OrderItem, **kw: Any
) -> None:
    await s.when(
        PlaceOrder(
            order_id=order_id,
            customer_id=customer,
            items=list(items) or [item("WIDGET-1", 2, "9.99")],
            **kw,
        ),
        user="storefront",
    )
    s.clock.advance(timedelta(minutes=5))


async def lifecycle(s: Scenario, order_id: str) -> None:
    """Approve, ship and deliver an order, an hour apart."""
    for command in (
        ApproveOrder(order_id=order_id),
        ShipOrder(order_id=order_id, tracking_number="1Z999", carrier="UPS"),
        DeliverOrder(order_id=order_id, signed_by="Ada"),
    ):
        s.clock.advance(timedelta(hours=1))
        await s.when(command)
