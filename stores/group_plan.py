"""One group's decisions: which appends of a group commit, and what they write.

The single writer (stores/group_commit.py) reads the versions of the group's
streams under the write lock, then `plan_group` checks each append's expected
version against them, in queue order, as the earlier appends of the group
leave them. Both databases' transactions (stores/sqlite_append.py and the
PostgreSQL path in stores/group_commit.py) write what the plan says.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from core.errors import ConcurrencyError, StoreError
from core.events import NewEvent, RecordedEvent

from .records import EVENT_VALUE_COLUMNS

#: Where a row of `stores.records.event_values` holds its version and its time.
VERSION = EVENT_VALUE_COLUMNS.index("version")
RECORDED_AT = EVENT_VALUE_COLUMNS.index("recorded_at")

#: What an append gets back: its recorded events, or the error that is its own.
Outcome = list[RecordedEvent] | Exception


@dataclass
class AppendRequest:
    """One caller's append: its rows are encoded before it joins the queue."""

    stream_id: str
    stream_type: str
    expected_version: int
    #: `stores.records.event_values` rows, versions from expected_version + 1.
    rows: list[tuple[Any, ...]]
    events: Sequence[NewEvent]
    outcome: asyncio.Future[list[RecordedEvent]] = field(repr=False)


@dataclass
class GroupPlan:
    """The appends of a group that commit, and the outcomes decided without writing."""

    #: Appends whose expected version is wrong (their ConcurrencyError) or empty ([]).
    decided: list[tuple[AppendRequest, Outcome]]
    #: Appends to write, in queue order (positions follow this order).
    accepted: list[AppendRequest]
    #: Per stream written: (stream_id, stream_type, version, created_at, updated_at).
    streams: list[tuple[str, str, int, Any, Any]]
    #: The streams of `streams` that this group creates.
    created: set[str]


def plan_group(group: list[AppendRequest], current: dict[str, tuple[int, str]]) -> GroupPlan:
    """Check each append against `current` (stream -> version, type), in queue order."""
    decided: list[tuple[AppendRequest, Outcome]] = []
    accepted: list[AppendRequest] = []
    created: set[str] = set()
    written: dict[str, tuple[str, str, int, Any, Any]] = {}
    for request in group:
        sid = request.stream_id
        actual, kind = current.get(sid, (0, request.stream_type))
        if actual != request.expected_version or kind != request.stream_type:
            error = ConcurrencyError(sid, request.expected_version, actual)
            decided.append((request, error))
            continue
        rows = request.rows
        if not rows:
            decided.append((request, []))
            continue
        last = rows[-1]
        current[sid] = (last[VERSION], request.stream_type)
        accepted.append(request)
        before = written.get(sid)
        if before is None and request.expected_version == 0:
            created.add(sid)
        created_at = rows[0][RECORDED_AT] if before is None else before[3]
        written[sid] = (sid, request.stream_type, last[VERSION], created_at, last[RECORDED_AT])
    return GroupPlan(decided, accepted, list(written.values()), created)


def integrity_error(message: str, group: list[AppendRequest]) -> Exception:
    """The error of a group whose write broke a unique constraint (`message`: the driver's)."""
    first = group[0]
    if "event_id" in message:
        where = f"stream {first.stream_id!r}" if len(group) == 1 else "a stream"
        return StoreError(
            f"an event id appended to {where} is already stored; every event "
            "needs a new id. Nothing was written"
        )
    # The (stream_id, version) constraint: another writer got there first.
    return ConcurrencyError(first.stream_id, first.expected_version, None)
