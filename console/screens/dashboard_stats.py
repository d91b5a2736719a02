"""The dashboard's figures, read cheaply: the head, the tail of recent events, the
number of streams by type, the size of the store file, each projection's lag, the
open dead letters and the fulfilment saga's outcomes. Never a table scan: the
saga's outcomes are counted once from the type index, then only for the events
appended since the last read."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from core.domain.order_events import OrderApproved, OrderCancelled
from core.events import RecordedEvent
from core.ports import EventStore
from core.projection_monitor import ProjectionState
from core.saga_context import SYSTEM_USER
from stores import normalise_url

from ..bootstrap import System

#: How many of the newest events the rate and the type counts are computed from.
TAIL_WINDOW = 2000
#: Bars in the event-rate sparkline.
RATE_BARS = 60
#: A live system (at least LIVE_EVENTS in the last LIVE_SPAN) has its rate drawn over
#: that span only, so the sparkline moves instead of being one bar beside days of history.
LIVE_SPAN = timedelta(minutes=5)
LIVE_EVENTS = 60


@dataclass(frozen=True)
class RateSeries:
    """Events per bar over the tail window, oldest bar first."""

    counts: list[int]
    bar: timedelta
    span: timedelta
    events: int

    @property
    def per_minute(self) -> float:
        minutes = self.span.total_seconds() / 60
        return self.events / minutes if minutes > 0 else 0.0


@dataclass(frozen=True)
class SagaOutcomes:
    """What the fulfilment saga decided: orders it approved after payment, and orders it
    cancelled after a failed payment (the events it issued as its user, SYSTEM)."""

    approved: int = 0
    cancelled: int = 0
    #: Every event up to this position is counted.
    position: int = 0


@dataclass(frozen=True)
class DashboardStats:
    """Everything the dashboard shows, read in one go by its worker."""

    head: int
    tail: list[RecordedEvent]
    streams_by_type: dict[str, int]
    store_bytes: int | None
    now: datetime
    by_type: list[tuple[str, int]] = field(default_factory=list)
    rate: RateSeries | None = None
    projections: list[ProjectionState] = field(default_factory=list)

    @property
    def dead_letters(self) -> int:
        """Open dead letters, every projection together."""
        return sum(state.dead_letters for state in self.projections)


async def read_tail(store: EventStore, head: int, window: int = TAIL_WINDOW) -> list[RecordedEvent]:
    """The newest `window` events, oldest first (a keyset read from the head down)."""
    start = max(head - window + 1, 1)
    return [event async for event in store.read_all(from_position=start, page_size=window)]


def store_file_size(url: str) -> int | None:
    """The SQLite file's size in bytes; None for a server database."""
    try:
        parsed = normalise_url(url)
    except Exception:  # noqa: BLE001 - the store is already open; a size is a nicety
        return None
    if not parsed.drivername.startswith("sqlite") or not parsed.database:
        return None
    try:
        return os.path.getsize(parsed.database)
    except OSError:
        return None


def rate_series(tail: list[RecordedEvent], now: datetime, bars: int = RATE_BARS) -> RateSeries:
    """Bucket the tail's recorded times into `bars` equal bars from its oldest event to now
    (from `LIVE_SPAN` ago when the store is live)."""
    if not tail:
        return RateSeries([0] * bars, timedelta(0), timedelta(0), 0)
    start = tail[0].recorded_at
    end = max(now, tail[-1].recorded_at)
    recent = [event for event in tail if event.recorded_at >= end - LIVE_SPAN]
    if len(recent) >= LIVE_EVENTS and start < end - LIVE_SPAN:
        tail, start = recent, end - LIVE_SPAN
    span = max(end - start, timedelta(seconds=bars))
    bar = span / bars
    counts = [0] * bars
    for event in tail:
        index = int((event.recorded_at - start) / bar)
        counts[min(index, bars - 1)] += 1
    return RateSeries(counts, bar, span, len(tail))


def events_by_type(tail: list[RecordedEvent]) -> list[tuple[str, int]]:
    """Types in the tail, most frequent first (ties by name)."""
    counts = Counter(event.type for event in tail)
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


async def count_saga_outcomes(store: EventStore, since: SagaOutcomes, head: int) -> SagaOutcomes:
    """The saga's outcomes up to `head`, counting only the events after `since.position`."""
    if head <= since.position:
        return since
    approved, cancelled = OrderApproved.type_name, OrderCancelled.type_name
    counts = await store.count_events(
        [approved, cancelled],
        user_id=SYSTEM_USER,
        from_position=since.position + 1,
        to_position=head,
    )
    return SagaOutcomes(
        approved=since.approved + counts[approved],
        cancelled=since.cancelled + counts[cancelled],
        position=head,
    )


async def read_stats(system: System) -> DashboardStats:
    """Every figure of the dashboard but the saga's outcomes (`count_saga_outcomes`)."""
    store = system.store
    now = system.clock.now()
    head = await store.head_position()
    tail = await read_tail(store, head)
    return DashboardStats(
        head=head,
        tail=tail,
        streams_by_type=await store.count_streams_by_type(),
        store_bytes=store_file_size(system.url),
        now=now,
        by_type=events_by_type(tail),
        rate=rate_series(tail, now),
        projections=await system.projections.status(),
    )


def human_duration(delta: timedelta) -> str:
    """A short duration: `45 s`, `12 min`, `3.5 h`, `2.0 days`."""
    seconds = delta.total_seconds()
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 36 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def human_rate(per_minute: float) -> str:
    """A rate in the unit that reads best: per second, minute, hour or day."""
    for unit, factor in (("s", 1 / 60), ("min", 1.0), ("h", 60.0), ("day", 1440.0)):
        value = per_minute * factor
        if value >= 1 or unit == "day":
            return f"{value:,.1f} events/{unit}"
    return f"{per_minute:,.1f} events/min"


def human_bytes(size: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024  # type: ignore[assignment]
    return f"{size} B"
