"""`customer-dashboard`: per customer, order counts, money and the ten latest orders
(the write-up's "Denormalized Dashboard Projection").

Keys: the customer id for the dashboard (`kind: "customer"`), and `order:<order id>`
(`kind: "order-link"`) mapping each order to its customer, because the events after
OrderPlaced do not name the customer. Like the write-up, an event for an order this
projection never saw placed is ignored: the dashboard has nothing to update.

`total_spent` and `average_order_value` follow the write-up: the totals of every
order placed, cancelled ones included. An order is active from placement until it
is delivered (then completed) or cancelled.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

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
from .documents import ZERO, amount_of, average, iso, money

ORDER_KEY_PREFIX = "order:"
#: How many recent orders a dashboard lists.
RECENT_ORDERS = 10


def order_key(order_id: str) -> str:
    """The key of the document that maps `order_id` to its customer."""
    return f"{ORDER_KEY_PREFIX}{order_id}"


def new_dashboard(customer_id: str) -> Document:
    return {
        "kind": "customer",
        "customer_id": customer_id,
        "total_orders": 0,
        "active_orders": 0,
        "completed_orders": 0,
        "cancelled_orders": 0,
        "total_spent": money(ZERO),
        "average_order_value": money(ZERO),
        "last_order_at": None,
        "recent_orders": [],
    }


class CustomerDashboardProjection(Projection):
    """Dashboard rows: customer_id, total_orders, active_orders, completed_orders,
    cancelled_orders, total_spent, average_order_value, last_order_at, recent_orders
    (newest first: order_id, total_amount, status, placed_at)."""

    name: ClassVar[str] = "customer-dashboard"
    handles: ClassVar[frozenset[str]] = frozenset(
        cls.type_name
        for cls in (OrderPlaced, OrderApproved, OrderShipped, OrderCancelled, OrderDelivered)
    )
    description: ClassVar[str] = "per customer: orders, money spent, ten most recent orders"

    def prefetch_keys(self, event: DomainEvent, record: RecordedEvent) -> Iterable[str]:
        if isinstance(event, OrderPlaced):
            return (event.customer_id, order_key(record.stream_id))
        # the customer's key is only known once the link is read
        return (order_key(record.stream_id),)

    async def apply(self, event: DomainEvent, record: RecordedEvent, view: View) -> None:
        order_id = record.stream_id
        if isinstance(event, OrderPlaced):
            await self._placed(event, record, view)
            return
        link = await view.get(order_key(order_id))
        if link is None:
            return  # never saw this order placed: nothing to update (as the write-up)
        customer_id = str(link["customer_id"])
        dashboard = await view.get(customer_id)
        if dashboard is None:
            raise ProjectionError(f"Customer dashboard not found: {customer_id}")
        if isinstance(event, OrderApproved):
            status = OrderStatus.APPROVED
        elif isinstance(event, OrderShipped):
            status = OrderStatus.SHIPPED
        elif isinstance(event, OrderDelivered):
            status = OrderStatus.DELIVERED
            dashboard["active_orders"] -= 1
            dashboard["completed_orders"] += 1
        elif isinstance(event, OrderCancelled):
            status = OrderStatus.CANCELLED
            dashboard["active_orders"] -= 1
            dashboard["cancelled_orders"] += 1
        else:
            return
        for recent in dashboard["recent_orders"]:
            if recent["order_id"] == order_id:
                recent["status"] = status.value
        view.put(customer_id, dashboard)

    async def _placed(self, event: OrderPlaced, record: RecordedEvent, view: View) -> None:
        order_id = record.stream_id
        customer_id = event.customer_id
        if customer_id.startswith(ORDER_KEY_PREFIX):
            raise ProjectionError(
                f"customer id {customer_id!r} clashes with this view's order links "
                f"({ORDER_KEY_PREFIX}<order id>)"
            )
        if await view.get(order_key(order_id)) is not None:
            raise ProjectionError(f"Order already placed: {order_id}")
        dashboard = await view.get(customer_id) or new_dashboard(customer_id)
        placed_at = iso(record.recorded_at)
        total = amount_of(dashboard, "total_spent") + event.total_amount
        dashboard["total_orders"] += 1
        dashboard["active_orders"] += 1
        dashboard["total_spent"] = money(total)
        dashboard["average_order_value"] = average(total, dashboard["total_orders"])
        dashboard["last_order_at"] = placed_at
        recent: dict[str, Any] = {
            "order_id": order_id,
            "total_amount": str(event.total_amount),
            "status": OrderStatus.PENDING.value,
            "placed_at": placed_at,
        }
        dashboard["recent_orders"] = [recent, *dashboard["recent_orders"]][:RECENT_ORDERS]
        view.put(customer_id, dashboard)
        view.put(
            order_key(order_id),
            {"kind": "order-link", "order_id": order_id, "customer_id": customer_id},
        )
