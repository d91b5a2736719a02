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
