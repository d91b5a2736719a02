"""The Inventory aggregate: the stock held back for one order (the saga's first step).

One reservation per order, in the stream `inv-<order id>`: it is reserved once
and released at most once; releasing what was never reserved is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from ..aggregate import Aggregate
from ..errors import InvalidInput, InvalidTransition
from ..events import DomainEvent

INVENTORY_PREFIX = "inv-"


def inventory_stream_id(order_id: str) -> str:
    """The id of the stream holding the inventory reservation of `order_id`."""
    return f"{INVENTORY_PREFIX}{order_id}"


class ReservedItem(BaseModel):
    """A product and how many of it are held back."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    product_id: Annotated[str, Field(min_length=1)]
    quantity: Annotated[int, Field(gt=0)]


class ReservationStatus(StrEnum):
    RESERVED = "RESERVED"
    RELEASED = "RELEASED"


class InventoryReserved(DomainEvent):
    """Stock for an order's items was held back."""

    type_name: ClassVar[str] = "InventoryReserved"
    schema_version: ClassVar[int] = 1

    order_id: str
    items: list[ReservedItem]


class InventoryReleased(DomainEvent):
    """An order's reserved stock was given back (payment failed, order cancelled, ...)."""

    type_name: ClassVar[str] = "InventoryReleased"
    schema_version: ClassVar[int] = 1

    order_id: str
    reason: str


INVENTORY_EVENTS: tuple[type[DomainEvent], ...] = (InventoryReserved, InventoryReleased)


class InventoryState(BaseModel):
    """An order's reservation; `status` is None until reserved."""

    order_id: str | None = None
    status: ReservationStatus | None = None
    items: list[ReservedItem] = []
    reserved_at: datetime | None = None
    released_at: datetime | None = None
    release_reason: str | None = None


class Inventory(Aggregate):
    """The reservation of one order's stock: reserve once, release at most once."""

    stream_type: ClassVar[str] = "Inventory"
    state_class: ClassVar[type[BaseModel]] = InventoryState
    state: InventoryState

    def reserve(self, order_id: str, items: Sequence[ReservedItem]) -> None:
        """Hold back `items` for `order_id` (this stream's order)."""
        if not items:
            raise InvalidInput(f"reserving inventory for order {order_id} needs at least one item")
        status = self.state.status
        if status is not None:
            raise InvalidTransition(
                f"cannot reserve inventory for order {order_id}: it is already {status}; "
                "an order's stock is reserved once"
            )
        self.raise_event(InventoryReserved(order_id=order_id, items=list(items)))

    def release(self, order_id: str, reason: str) -> None:
        """Give back the stock reserved for `order_id`."""
        status = self.state.status
        if status is None:
            raise InvalidTransition(
                f"cannot release inventory for order {order_id}: nothing is reserved for it"
            )
        if status is ReservationStatus.RELEASED:
            raise InvalidTransition(
                f"cannot release inventory for order {order_id}: it was already released "
                f"({self.state.release_reason})"
            )
        self.raise_event(InventoryReleased(order_id=order_id, reason=reason))

    def on_InventoryReserved(self, event: InventoryReserved, at: datetime) -> None:
        s = self.state
        s.order_id = event.order_id
        s.status = ReservationStatus.RESERVED
        s.items = list(event.items)
        s.reserved_at = at

    def on_InventoryReleased(self, event: InventoryReleased, at: datetime) -> None:
        s = self.state
        s.status = ReservationStatus.RELEASED
        s.released_at = at
        s.release_reason = event.reason


__all__ = [
    "INVENTORY_EVENTS",
    "Inventory",
    "InventoryReleased",
    "InventoryReserved",
    "ReservationStatus",
    "ReservedItem",
    "inventory_stream_id",
]
