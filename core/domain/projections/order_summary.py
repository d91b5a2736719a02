"""`order-summary`: one row per order (the write-up's "Simple List Projection").

Key: the order id. Status, customer and total agree with the Order aggregate's
state (`total_amount` is written exactly as the aggregate's JSON writes it).
An event after OrderPlaced for an order this projection never saw placed is
the write-up's poison case: `ProjectionError("Order not found: <id>")`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from ...events import DomainEvent, RecordedEvent
from ...projections import Document, Projection, ProjectionError, View
from ..order_events import (
    OrderApproved,
    OrderCancelled,
    OrderDelivered,
    OrderPlaced,
    OrderShipped,
    OrderStatus,
)
from .documents import iso


class OrderSummaryProjection(Projection):
    """Rows: order_id, customer_id, total_amount, item_count, status, placed_at,
    approved_at, shipped_at, tracking_number, carrier, delivered_at, cancelled_at."""

    name: ClassVar[str] = "order-summary"
    handles: ClassVar[frozenset[str]] = frozenset(
        cls.type_name
        for cls in (OrderPlaced, OrderApproved, OrderShipped, OrderCancelled, OrderDelivered)
    )
    description: ClassVar[str] = "one row per order: status, customer, total, key times"

    def prefetch_keys(self, event: DomainEvent, record: RecordedEvent) -> Iterable[str]:
        return (record.stream_id,)

    async def apply(self, event: DomainEvent, record: RecordedEvent, view: View) -> None:
        order_id = record.stream_id
        at = iso(record.recorded_at)
        if isinstance(event, OrderPlaced):
            if await view.get(order_id) is not None:
                raise ProjectionError(f"Order already placed: {order_id}")
            view.put(
                order_id,
                {
                    "order_id": order_id,
                    "customer_id": event.customer_id,
                    "total_amount": str(event.total_amount),
                    # the write-up counts order lines (`items.length`), not units
                    "item_count": len(event.items),
                    "status": OrderStatus.PENDING.value,
                    "placed_at": at,
                    "approved_at": None,
                    "shipped_at": None,
                    "tracking_number": None,
                    "carrier": None,
                    "delivered_at": None,
                    "cancelled_at": None,
                },
            )
            return
        summary = await self._existing(view, order_id)
        if isinstance(event, OrderApproved):
            summary.update(status=OrderStatus.APPROVED.value, approved_at=at)
        elif isinstance(event, OrderShipped):
            summary.update(
                status=OrderStatus.SHIPPED.value,
                shipped_at=at,
                tracking_number=event.tracking_number,
                carrier=event.carrier,
            )
        elif isinstance(event, OrderCancelled):
            summary.update(status=OrderStatus.CANCELLED.value, cancelled_at=at)
        elif isinstance(event, OrderDelivered):
            # like the aggregate: the delivery time the event reports, not when it was recorded
            summary.update(status=OrderStatus.DELIVERED.value, delivered_at=iso(event.delivered_at))
        else:
            return
        view.put(order_id, summary)

    @staticmethod
    async def _existing(view: View, order_id: str) -> Document:
        summary = await view.get(order_id)
        if summary is None:
            raise ProjectionError(f"Order not found: {order_id}")
        return summary
