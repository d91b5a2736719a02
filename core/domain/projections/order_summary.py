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

# The statuses' text, looked up once (an enum member's `.value` is a property call).
PENDING = OrderStatus.PENDING.value
APPROVED = OrderStatus.APPROVED.value
SHIPPED = OrderStatus.SHIPPED.value
CANCELLED = OrderStatus.CANCELLED.value
DELIVERED = OrderStatus.DELIVERED.value


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
                    "status": PENDING,
                    "placed_at": iso(record.recorded_at),
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
            summary["status"] = APPROVED
            summary["approved_at"] = iso(record.recorded_at)
        elif isinstance(event, OrderShipped):
            summary["status"] = SHIPPED
            summary["shipped_at"] = iso(record.recorded_at)
            summary["tracking_number"] = event.tracking_number
            summary["carrier"] = event.carrier
        elif isinstance(event, OrderCancelled):
            summary["status"] = CANCELLED
            summary["cancelled_at"] = iso(record.recorded_at)
        elif isinstance(event, OrderDelivered):
            # like the aggregate: the delivery time the event reports, not when it was recorded
            summary["status"] = DELIVERED
            summary["delivered_at"] = iso(event.delivered_at)
        else:
            return
        view.put(order_id, summary)

    @staticmethod
    async def _existing(view: View, order_id: str) -> Document:
        summary = await view.get(order_id)
        if summary is None:
            raise ProjectionError(f"Order not found: {order_id}")
        return summary
