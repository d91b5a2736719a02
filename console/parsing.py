"""Parsing of command-line values into domain types, with one-line errors."""

from __future__ import annotations

from datetime import UTC, datetime

from core.clock import ensure_utc
from core.errors import InvalidInput


def parse_time(text: str, option: str = "time") -> datetime:
    """An ISO 8601 time (date only means midnight UTC; no zone means UTC)."""
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(
            f"bad {option} {text!r}: use ISO 8601, e.g. 2026-11-30T14:05:00Z or 2026-11-30"
        ) from None
    try:
        return ensure_utc(when) if when.tzinfo else when.replace(tzinfo=UTC)
    except OverflowError:  # e.g. 9999-12-31T23:59-05:00 is after year 9999 in UTC
        raise InvalidInput(
            f"bad {option} {text!r}: it is out of range; give a time between years 1 and 9999 "
            "in UTC"
        ) from None
