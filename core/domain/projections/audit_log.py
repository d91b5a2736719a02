"""`audit-log`: a row per event of every type, operator actions included.

Keys are the position zero-padded to 12 digits, so they sort in log order. Rows:
position, event_id, recorded_at, stream_id, stream_type, version, type, user_id,
correlation_id, causation_id and a one-line summary. Only the stored envelope and
payload are read, so events of types this process does not know are logged too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from ...events import DomainEvent, RecordedEvent
from ...projections import ALL_EVENT_TYPES, Projection, View
from .documents import iso

KEY_DIGITS = 12


def position_key(position: int) -> str:
    """The audit-log key of a position: zero-padded so keys sort like positions."""
    return f"{position:0{KEY_DIGITS}d}"


def _items(data: dict[str, Any]) -> str:
    items = data.get("items")
    if isinstance(items, list):
        return f"{len(items)} item{'s' if len(items) != 1 else ''}"
    ids = data.get("product_ids")  # OrderPlaced v1
    return f"{len(ids)} item{'s' if len(ids) != 1 else ''}" if isinstance(ids, list) else ""


def _order_placed(d: dict[str, Any]) -> str:
    total = d.get("total_amount")
    return f"order for {d.get('customer_id')}: {_items(d)}" + (f", total {total}" if total else "")


#: One line per known event type, from its stored payload (any schema version).
SUMMARIES: dict[str, Callable[[dict[str, Any]], str]] = {
    "OrderPlaced": _order_placed,
    "OrderApproved": lambda d: (
        f"approved by {d.get('approved_by')}" + (f": {d['notes']}" if d.get("notes") else "")
    ),
    "OrderShipped": lambda d: f"shipped by {d.get('carrier')}, tracking {d.get('tracking_number')}",
    "OrderCancelled": lambda d: (
        f"cancelled ({d.get('cancellation_type')}) by {d.get('cancelled_by')}: {d.get('reason')}"
    ),
    "OrderDelivered": lambda d: (
        "delivered" + (f", signed by {d['signed_by']}" if d.get("signed_by") else "")
    ),
    "AccountOpened": lambda d: f"account opened for {d.get('owner')}",
    "MoneyDeposited": lambda d: f"deposit of {d.get('amount')}",
    "MoneyWithdrawn": lambda d: f"withdrawal of {d.get('amount')}",
    "InventoryReserved": lambda d: f"stock reserved for order {d.get('order_id')}: {_items(d)}",
    "InventoryReleased": lambda d: (
        f"stock released for order {d.get('order_id')}: {d.get('reason')}"
    ),
    "PaymentProcessed": lambda d: (
        f"payment of {d.get('amount')} by {d.get('method')} for order {d.get('order_id')}"
    ),
    "PaymentFailed": lambda d: (
        f"payment of {d.get('amount')} by {d.get('method')} failed "
        f"for order {d.get('order_id')}: {d.get('reason')}"
    ),
}
SUMMARY_LENGTH = 200


def summarise(record: RecordedEvent) -> str:
    """A one-line description of an event, for any type (others list their scalar fields)."""
    data = record.data
    describe = SUMMARIES.get(record.type)
    text = ""
    if describe is not None:
        try:
            text = describe(data)
        except Exception:  # noqa: BLE001 - a malformed payload still gets a row
            text = ""
    if not text:
        scalars = [
            f"{key}={value}"
            for key, value in data.items()
            if isinstance(value, (str, int, float, bool)) and value != ""
        ]
        text = ", ".join(scalars[:6])
    text = text or record.type
    return text if len(text) <= SUMMARY_LENGTH else text[: SUMMARY_LENGTH - 1] + "…"


class AuditLogProjection(Projection):
    """Every event, as who did what to which stream, when and why."""

    name: ClassVar[str] = "audit-log"
    handles: ClassVar[frozenset[str]] = ALL_EVENT_TYPES
    description: ClassVar[str] = "a row per event, operator actions included"

    def prefetch_keys(self, event: DomainEvent, record: RecordedEvent) -> Iterable[str]:
        return ()  # rows are only written, never read

    async def apply(self, event: DomainEvent, record: RecordedEvent, view: View) -> None:
        meta = record.metadata
        view.put(
            position_key(record.position),
            {
                "position": record.position,
                "event_id": record.event_id,
                "recorded_at": iso(record.recorded_at),
                "stream_id": record.stream_id,
                "stream_type": record.stream_type,
                "version": record.version,
                "type": record.type,
                "user_id": meta.user_id,
                "correlation_id": meta.correlation_id,
                "causation_id": meta.causation_id,
                "summary": summarise(record),
            },
        )
