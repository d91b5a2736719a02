"""The order's events and the value objects they carry (the write-up's
"Complete Event Hierarchy Example").

`OrderPlaced` is at schema version 3; versions 1 and 2 are still in stores and
are lifted by `core.domain.upcasters`. Money is `Decimal`, stored as a string.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from ..events import DomainEvent

#: A non-negative finite amount of money (a legacy item may have price 0).
Price = Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]


class OrderStatus(StrEnum):
    """Where an order is in its life (the write-up's state machine)."""

    PENDING = "PENDING"
    APPROVED = "APPROVED"
    SHIPPED = "SHIPPED"
    DELIVERED = "DELIVERED"
    CANCELLED = "CANCELLED"


class CancellationType(StrEnum):
    """Who asked for a cancellation."""

    CUSTOMER = "CUSTOMER"
    ADMIN = "ADMIN"
    SYSTEM = "SYSTEM"


class OrderItem(BaseModel):
    """One line of an order: a product, how many, and the unit price."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    product_id: Annotated[str, Field(min_length=1)]
    quantity: Annotated[int, Field(gt=0)]
    price: Price

    @property
    def line_total(self) -> Decimal:
        return self.price * self.quantity


class Address(BaseModel):
    """A postal address."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    street: str
    city: str
    state: str
    zip_code: str
    country: str


def order_total(items: list[OrderItem]) -> Decimal:
    """Sum of price * quantity, in Decimal (never float)."""
    return sum((item.line_total for item in items), Decimal("0.00"))


class OrderPlaced(DomainEvent):
    """A customer placed an order (schema v3: adds payment method to v2)."""

    type_name: ClassVar[str] = "OrderPlaced"
    schema_version: ClassVar[int] = 3

    customer_id: str
    customer_name: str | None = None
    customer_email: str | None = None
    items: list[OrderItem]
    shipping_address: Address | None = None
    total_amount: Price
    payment_method: str


class OrderApproved(DomainEvent):
    """Someone approved a pending order."""

    type_name: ClassVar[str] = "OrderApproved"
    schema_version: ClassVar[int] = 1

    approved_by: str
    notes: str = ""


class OrderShipped(DomainEvent):
    """An approved order left the warehouse."""

    type_name: ClassVar[str] = "OrderShipped"
    schema_version: ClassVar[int] = 1

    tracking_number: str
    carrier: str
    shipping_address: Address | None = None
    estimated_delivery: AwareDatetime


class OrderCancelled(DomainEvent):
    """An order that had not shipped was cancelled."""

    type_name: ClassVar[str] = "OrderCancelled"
    schema_version: ClassVar[int] = 1

    cancelled_by: str
    reason: str
    cancellation_type: CancellationType
    refund_issued: bool


class OrderDelivered(DomainEvent):
    """A shipped order reached the customer."""

    type_name: ClassVar[str] = "OrderDelivered"
    schema_version: ClassVar[int] = 1

    delivered_at: AwareDatetime
    signed_by: str | None = None


ORDER_EVENTS: tuple[type[DomainEvent], ...] = (
    OrderPlaced,
    OrderApproved,
    OrderShipped,
    OrderCancelled,
    OrderDelivered,
)

__all__ = [
    "ORDER_EVENTS",
    "Address",
    "CancellationType",
    "OrderApproved",
    "OrderCancelled",
    "OrderDelivered",
    "OrderItem",
    "OrderPlaced",
    "OrderShipped",
    "OrderStatus",
    "order_total",
]
