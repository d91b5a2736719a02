"""Injectable time and id sources, so tests and demo data are deterministic."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Tells the current time, always timezone-aware UTC."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that only moves when told to (tests, seeding, screenshots)."""

    def __init__(self, start: datetime) -> None:
        self._now = ensure_utc(start)

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        self._now = ensure_utc(when)

    def advance(self, delta: timedelta) -> None:
        self._now += delta


class IdFactory(Protocol):
    """Makes new unique string ids (event ids, correlation ids, stream ids)."""

    def new_id(self) -> str: ...


class UuidFactory:
    """Random UUID4 ids."""

    def new_id(self) -> str:
        return str(uuid.uuid4())


class SeededIdFactory:
    """Deterministic UUID-shaped ids from a seed."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)

    def new_id(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))


def ensure_utc(when: datetime) -> datetime:
    """Return `when` as an aware UTC datetime; naive datetimes are taken as UTC."""
    if when.tzinfo is None:
        return when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


#: "YYYY-MM-DDTHH:MM" of the minutes utc_isoformat has formatted (bounded: cleared when full).
_minutes: dict[int, str] = {}
_MINUTES_KEPT = 4096
_SECONDS_WITH_FRACTION = tuple(f":{second:02d}." for second in range(60))
_SECONDS_WHOLE = tuple(f":{second:02d}+00:00" for second in range(60))


def utc_isoformat(when: datetime) -> str:
    """`ensure_utc(when).isoformat()`, e.g. `2025-01-06T09:00:00.250000+00:00`.

    About half the work of `isoformat()` for an aware UTC datetime (what the stores
    give), which formats through a printf-style parser: read models write a time
    per event. The date and minute are formatted once per minute seen."""
    if when.tzinfo is not UTC:
        return ensure_utc(when).isoformat()
    key = when.toordinal() * 1440 + when.hour * 60 + when.minute
    minute = _minutes.get(key)
    if minute is None:
        if len(_minutes) >= _MINUTES_KEPT:
            _minutes.clear()
        minute = _minutes[key] = when.replace(second=0, microsecond=0, tzinfo=None).isoformat()[:16]
    micro = when.microsecond
    if micro:
        return minute + _SECONDS_WITH_FRACTION[when.second] + str(1_000_000 + micro)[1:] + "+00:00"
    return minute + _SECONDS_WHOLE[when.second]
