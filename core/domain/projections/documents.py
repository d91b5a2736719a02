"""How demo read models write values: money as Decimal strings, times as ISO 8601 UTC."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ...clock import utc_isoformat

CENTS = Decimal("0.01")
ZERO = Decimal("0.00")


def money(amount: Decimal) -> str:
    """A sum of money as a string with exactly two decimal places."""
    return str(amount.quantize(CENTS))


def amount_of(document: dict[str, Any], field: str) -> Decimal:
    """The Decimal stored as a string at `document[field]` (0.00 when absent)."""
    value = document.get(field)
    return ZERO if value is None else Decimal(value)


def average(total: Decimal, count: int) -> str:
    """`total / count` rounded half-up to cents, as money; 0.00 for no count."""
    if count <= 0:
        return money(ZERO)
    return str((total / count).quantize(CENTS, rounding=ROUND_HALF_UP))


def iso(when: datetime) -> str:
    """An aware UTC time as ISO 8601 (`2025-01-06T09:00:00+00:00`), like `events --json`."""
    return utc_isoformat(when)
