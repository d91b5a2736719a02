"""Upcasters for OrderPlaced (the write-up's "Event Versioning" and "Upcasting").

v1 stored only product ids; v2 added item details and a shipping address; v3
added the payment method, the customer's name and email and the total. Each
step is a pure function on the stored dict (the row itself never changes);
a malformed old payload raises ValueError or TypeError, which the registry reports as a
CorruptRecord naming the row.

The `legacy_*` builders write payloads exactly as the older versions did; the
demo seeding and the tests use them to put old rows in a store.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from ..upcasting import Payload, Upcaster
from .order_events import Address, OrderItem

#: What v1 -> v2 assumes for an order that recorded no address (the write-up's defaults).
UNKNOWN_ADDRESS: dict[str, str] = {
    "street": "Unknown",
    "city": "Unknown",
    "state": "Unknown",
    "zip_code": "00000",
    "country": "Unknown",
}
#: What v2 -> v3 assumes for an order that recorded no payment method.
UNKNOWN_PAYMENT_METHOD = "UNKNOWN"


def order_placed_v1_to_v2(payload: Payload) -> Payload:
    """v1 `{customer_id, product_ids}` -> v2: one of each product at an unknown price (0)."""
    customer_id = _require(payload, "customer_id", str, 1)
    product_ids = _require(payload, "product_ids", list, 1)
    for product_id in product_ids:
        if not isinstance(product_id, str) or not product_id:
            raise ValueError(f"product_ids must be non-empty strings, found {product_id!r}")
    return {
        "customer_id": customer_id,
        "items": [{"product_id": pid, "quantity": 1, "price": "0"} for pid in product_ids],
        "shipping_address": dict(UNKNOWN_ADDRESS),
    }


def order_placed_v2_to_v3(payload: Payload) -> Payload:
    """v2 -> v3: payment method UNKNOWN, no name or email, total computed from the items."""
    customer_id = _require(payload, "customer_id", str, 2)
    items = _require(payload, "items", list, 2)
    total = Decimal(0)
    for item in items:
        if not isinstance(item, Mapping):
            raise TypeError(f"items must be objects, found {item!r}")
        try:
            total += Decimal(str(item["price"])) * int(item["quantity"])
        except (KeyError, InvalidOperation, TypeError, ValueError):
            raise ValueError(f"item {dict(item)!r} needs a numeric price and quantity") from None
    if not total.is_finite():
        raise ValueError(f"item prices add up to {total}, not an amount of money")
    return {
        "customer_id": customer_id,
        "customer_name": None,
        "customer_email": None,
        "items": [dict(item) for item in items],
        "shipping_address": payload.get("shipping_address"),
        "total_amount": str(total),
        "payment_method": UNKNOWN_PAYMENT_METHOD,
    }


#: OrderPlaced's upcasters by the schema version they lift from.
ORDER_PLACED_UPCASTERS: dict[int, Upcaster] = {
    1: order_placed_v1_to_v2,
    2: order_placed_v2_to_v3,
}


def legacy_order_placed_v1(customer_id: str, product_ids: Sequence[str]) -> Payload:
    """An OrderPlaced payload exactly as schema v1 wrote it."""
    return {"customer_id": customer_id, "product_ids": list(product_ids)}


def legacy_order_placed_v2(
    customer_id: str,
    items: Sequence[OrderItem | Mapping[str, Any]],
    address: Address | Mapping[str, Any],
) -> Payload:
    """An OrderPlaced payload exactly as schema v2 wrote it (no payment method or total)."""
    return {
        "customer_id": customer_id,
        "items": [OrderItem.model_validate(item).model_dump(mode="json") for item in items],
        "shipping_address": Address.model_validate(address).model_dump(mode="json"),
    }


def _require(payload: Payload, key: str, kind: type, version: int) -> Any:
    value = payload.get(key)
    if not isinstance(value, kind):
        found = "missing" if key not in payload else f"a {type(value).__name__}"
        raise TypeError(
            f"OrderPlaced v{version} payload needs {key!r} as a {kind.__name__}, found {found}"
        )
    return value
