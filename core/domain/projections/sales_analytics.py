"""`sales-analytics`: sales by day, by product and by customer segment
(the write-up's "Analytics Projection"; it counts orders as they are placed).

Keys and rows:

- `daily:YYYY-MM-DD` (UTC day of placement): kind, date, order_count, total_revenue,
  average_order_value, item_count (order lines, as the write-up's `items.length`);
- `product:<sku>`: kind, product_id, order_count (orders with the product),
  quantity_sold, total_revenue;
- `segment:BASIC|STANDARD|PREMIUM` (by the order's total: PREMIUM above 1000,
  STANDARD above 100, else BASIC): kind, segment, order_count, total_revenue,
  average_order_value.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from enum import StrEnum
from typing import ClassVar

from ...clock import ensure_utc
from ...events import DomainEvent, RecordedEvent
from ...projections import Projection, View
from ..order_events import OrderPlaced
from .documents import ZERO, amount_of, average, money

PREMIUM_ABOVE = Decimal(1000)
STANDARD_ABOVE = Decimal(100)


class Segment(StrEnum):
    BASIC = "BASIC"
    STANDARD = "STANDARD"
    PREMIUM = "PREMIUM"


def segment_of(total: Decimal) -> Segment:
    """The write-up's customer segment of an order total."""
    if total > PREMIUM_ABOVE:
        return Segment.PREMIUM
    if total > STANDARD_ABOVE:
        return Segment.STANDARD
    return Segment.BASIC


def daily_key(record: RecordedEvent) -> str:
    return f"daily:{ensure_utc(record.recorded_at).date().isoformat()}"


def product_key(product_id: str) -> str:
    return f"product:{product_id}"


def segment_key(segment: Segment) -> str:
    return f"segment:{segment.value}"


def _units_by_product(event: OrderPlaced) -> dict[str, tuple[int, Decimal]]:
    """Quantity and revenue per product of one order (a product may fill several lines)."""
    totals: dict[str, tuple[int, Decimal]] = {}
    for item in event.items:
        quantity, revenue = totals.get(item.product_id, (0, ZERO))
        totals[item.product_id] = (quantity + item.quantity, revenue + item.line_total)
    return totals


class SalesAnalyticsProjection(Projection):
    """Daily, per-product and per-segment sales from OrderPlaced."""

    name: ClassVar[str] = "sales-analytics"
    handles: ClassVar[frozenset[str]] = frozenset({OrderPlaced.type_name})
    description: ClassVar[str] = "sales per day, per product and per segment"

    def prefetch_keys(self, event: DomainEvent, record: RecordedEvent) -> Iterable[str]:
        if not isinstance(event, OrderPlaced):
            return ()
        return (
            daily_key(record),
            *(product_key(sku) for sku in _units_by_product(event)),
            segment_key(segment_of(event.total_amount)),
        )

    async def apply(self, event: DomainEvent, record: RecordedEvent, view: View) -> None:
        if not isinstance(event, OrderPlaced):
            return
        total = event.total_amount

        key = daily_key(record)
        day = await view.get(key) or {
            "kind": "daily",
            "date": key.removeprefix("daily:"),
            "order_count": 0,
            "total_revenue": money(ZERO),
            "average_order_value": money(ZERO),
            "item_count": 0,
        }
        revenue = amount_of(day, "total_revenue") + total
        day["order_count"] += 1
        day["total_revenue"] = money(revenue)
        day["average_order_value"] = average(revenue, day["order_count"])
        day["item_count"] += len(event.items)
        view.put(key, day)

        for sku, (quantity, line_revenue) in _units_by_product(event).items():
            key = product_key(sku)
            product = await view.get(key) or {
                "kind": "product",
                "product_id": sku,
                "order_count": 0,
                "quantity_sold": 0,
                "total_revenue": money(ZERO),
            }
            product["order_count"] += 1
            product["quantity_sold"] += quantity
            product["total_revenue"] = money(amount_of(product, "total_revenue") + line_revenue)
            view.put(key, product)

        segment = segment_of(total)
        key = segment_key(segment)
        stats = await view.get(key) or {
            "kind": "segment",
            "segment": segment.value,
            "order_count": 0,
            "total_revenue": money(ZERO),
            "average_order_value": money(ZERO),
        }
        revenue = amount_of(stats, "total_revenue") + total
        stats["order_count"] += 1
        stats["total_revenue"] = money(revenue)
        stats["average_order_value"] = average(revenue, stats["order_count"])
        view.put(key, stats)
