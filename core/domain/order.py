"""The Order aggregate: the write-up's "Complete Order Aggregate Example".

State rules: a placed order is PENDING; only PENDING orders are approved, only
APPROVED ones shipped, only SHIPPED ones delivered; an order can be cancelled
until it ships (and only once).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import ClassVar

from pydantic import BaseModel

from ..aggregate import Aggregate
from ..clock import Clock
from ..errors import InvalidInput, InvalidTransition
from .order_events import (
    Address,
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


class OrderState(BaseModel):
    """Everything known about one order; `None` until the event that sets it."""

    status: OrderStatus | None = None
    customer_id: str | None = None
    customer_name: str | None = None
    customer_email: str | None = None
    items: list[OrderItem] = []
    shipping_address: Address | None = None
    payment_method: str | None = None
    total_amount: Decimal = Decimal("0.00")
    placed_at: datetime | None = None
    approved_at: datetime | None = None
    approved_by: str | None = None
    notes: str | None = None
    shipped_at: datetime | None = None
    tracking_number: str | None = None
    carrier: str | None = None
    estimated_delivery: datetime | None = None
    cancelled_at: datetime | None = None
    cancellation_reason: str | None = None
    cancelled_by: str | None = None
    cancellation_type: CancellationType | None = None
    refund_issued: bool | None = None
    delivered_at: datetime | None = None
    signed_by: str | None = None


class Order(Aggregate):
    """An order, rebuilt from its events; business methods enforce the state rules."""

    stream_type: ClassVar[str] = "Order"
    state_class: ClassVar[type[BaseModel]] = OrderState
    state: OrderState

    # -- deciding ---------------------------------------------------------------------

    @classmethod
    def place(
        cls,
        order_id: str,
        *,
        customer_id: str,
        items: Sequence[OrderItem],
        payment_method: str,
        shipping_address: Address | None = None,
        customer_name: str | None = None,
        customer_email: str | None = None,
        clock: Clock | None = None,
    ) -> Order:
        """A new order with one pending `OrderPlaced`; the total is computed here."""
        if not items:
            raise InvalidInput(f"order {order_id} needs at least one item")
        order = cls(order_id, clock)
        order.raise_event(
            OrderPlaced(
                customer_id=customer_id,
                customer_name=customer_name,
                customer_email=customer_email,
                items=list(items),
                shipping_address=shipping_address,
                total_amount=order_total(list(items)),
                payment_method=payment_method,
            )
        )
        return order

    def approve(self, approved_by: str, notes: str = "") -> None:
        """Approve a PENDING order."""
        self._require({OrderStatus.PENDING}, "approve", "only PENDING orders can be approved")
        self.raise_event(OrderApproved(approved_by=approved_by, notes=notes))

    def ship(self, tracking_number: str, carrier: str, estimated_delivery: datetime) -> None:
        """Ship an APPROVED order to the address it was placed with."""
        self._require({OrderStatus.APPROVED}, "ship", "only APPROVED orders can be shipped")
        now = self._clock.now()
        if estimated_delivery < now:
            raise InvalidInput(
                f"estimated delivery {estimated_delivery.isoformat()} is before now "
                f"({now.isoformat()}); give a later date"
            )
        self.raise_event(
            OrderShipped(
                tracking_number=tracking_number,
                carrier=carrier,
                shipping_address=self.state.shipping_address,
                estimated_delivery=estimated_delivery,
            )
        )

    def cancel(
        self,
        cancelled_by: str,
        reason: str,
        cancellation_type: CancellationType = CancellationType.ADMIN,
    ) -> None:
        """Cancel an order that has not shipped; the write-up always issues a refund."""
        self._require_placed()
        if self.state.status is OrderStatus.CANCELLED:
            raise InvalidTransition(f"cannot cancel order {self.id}: it is already CANCELLED")
        self._require(
            {OrderStatus.PENDING, OrderStatus.APPROVED},
            "cancel",
            "only PENDING or APPROVED orders can be cancelled",
        )
        self.raise_event(
            OrderCancelled(
                cancelled_by=cancelled_by,
                reason=reason,
                cancellation_type=cancellation_type,
                refund_issued=True,
            )
        )

    def deliver(self, signed_by: str | None = None) -> None:
        """Mark a SHIPPED order delivered, now."""
        self._require({OrderStatus.SHIPPED}, "deliver", "only SHIPPED orders can be delivered")
        self.raise_event(OrderDelivered(delivered_at=self._clock.now(), signed_by=signed_by))

    def _require_placed(self) -> None:
        if self.state.status is None:
            raise InvalidTransition(f"order {self.id} has not been placed")

    def _require(self, allowed: set[OrderStatus], verb: str, rule: str) -> None:
        self._require_placed()
        status = self.state.status
        if status not in allowed:
            raise InvalidTransition(f"cannot {verb} order {self.id}: it is {status}; {rule}")

    # -- applying -----------------------------------------------------------------------

    def on_OrderPlaced(self, event: OrderPlaced, at: datetime) -> None:
        s = self.state
        s.status = OrderStatus.PENDING
        s.customer_id = event.customer_id
        s.customer_name = event.customer_name
        s.customer_email = event.customer_email
        s.items = list(event.items)
        s.shipping_address = event.shipping_address
        s.payment_method = event.payment_method
        s.total_amount = event.total_amount
        s.placed_at = at

    def on_OrderApproved(self, event: OrderApproved, at: datetime) -> None:
        s = self.state
        s.status = OrderStatus.APPROVED
        s.approved_at = at
        s.approved_by = event.approved_by
        s.notes = event.notes

    def on_OrderShipped(self, event: OrderShipped, at: datetime) -> None:
        s = self.state
        s.status = OrderStatus.SHIPPED
        s.shipped_at = at
        s.tracking_number = event.tracking_number
        s.carrier = event.carrier
        s.estimated_delivery = event.estimated_delivery
        if event.shipping_address is not None:
            s.shipping_address = event.shipping_address

    def on_OrderCancelled(self, event: OrderCancelled, at: datetime) -> None:
        s = self.state
        s.status = OrderStatus.CANCELLED
        s.cancelled_at = at
        s.cancellation_reason = event.reason
        s.cancelled_by = event.cancelled_by
        s.cancellation_type = event.cancellation_type
        s.refund_issued = event.refund_issued

    def on_OrderDelivered(self, event: OrderDelivered, at: datetime) -> None:
        s = self.state
        s.status = OrderStatus.DELIVERED
        s.delivered_at = event.delivered_at
        s.signed_by = event.signed_by
