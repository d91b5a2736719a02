"""Group commit: concurrent appends share one write transaction (one fsync).

Every `SqlEventStore.append` becomes a request in a queue. One writer task
takes all the requests waiting, opens one write transaction, checks each
request's expected version against the streams as they are (and as the earlier
requests of the group leave them), writes the accepted ones with one
`executemany` per table, and commits once. Each request keeps its own outcome:
a request whose expected version is wrong gets its ConcurrencyError alone and
writes nothing, while the rest of its group commits. If the group's transaction
fails as a whole (a duplicate event id, a lost connection), each of its
requests is committed again on its own, so only the one at fault fails.

The writer runs only while there is work: it starts with the first request and
ends when the queue is empty, so no task outlives the appends that needed it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from core.errors import ConcurrencyError, StoreError
from core.events import NewEvent, RecordedEvent

from .engine import profile_of
from .notifications import NOTIFY_CHANNEL
from .records import recorded
from .schema import events as event_table
from .schema import streams
from .transactions import writing

#: The most appends one transaction takes (bounds the statement sizes).
MAX_GROUP = 500


@dataclass
class AppendRequest:
    """One caller's append: its rows are encoded before it joins the queue."""

    stream_id: str
    stream_type: str
    expected_version: int
    rows: list[dict[str, Any]]
    events: Sequence[NewEvent]
    outcome: asyncio.Future[list[RecordedEvent]] = field(repr=False)


@dataclass
class GroupStats:
    """What the writer did (for tests and the benchmark)."""

    groups: int = 0
    appends: int = 0
    largest: int = 0
    retried_alone: int = 0


class GroupCommitter:
    """The single writer of one engine's appends."""

    def __init__(self, engine: AsyncEngine, max_group: int = MAX_GROUP) -> None:
        self._engine = engine
        self._is_sqlite = profile_of(engine).is_sqlite
        self._max_group = max_group
        self._queue: list[AppendRequest] = []
        self._writer: asyncio.Task[None] | None = None
        self.stats = GroupStats()

    async def append(
        self,
        stream_id: str,
        stream_type: str,
        expected_version: int,
        rows: list[dict[str, Any]],
        events: Sequence[NewEvent],
    ) -> list[RecordedEvent]:
        """Queue one append and wait for its own outcome."""
        loop = asyncio.get_running_loop()
        request = AppendRequest(
            stream_id, stream_type, expected_version, rows, events, loop.create_future()
        )
        self._queue.append(request)
        if self._writer is None or self._writer.done():
            self._writer = loop.create_task(self._write(), name="eventdeck-group-commit")
        return await request.outcome

    async def drain(self) -> None:
        """Wait until every queued append has its outcome."""
        writer = self._writer
        if writer is not None and not writer.done():
            await asyncio.wait([writer])

    async def _write(self) -> None:
        while self._queue:
            group = [r for r in self._queue[: self._max_group] if not r.outcome.done()]
            del self._queue[: self._max_group]
            if not group:
                continue  # every caller of this group was cancelled: write nothing
            try:
                await self._commit(group)
            except Exception as exc:  # noqa: BLE001 - handed to its caller
                if len(group) == 1:
                    _settle(group[0], exc)
                    continue
                # the group failed as a whole: once more one by one, so only the
                # request at fault fails
                self.stats.retried_alone += len(group)
                for request in group:
                    try:
                        await self._commit([request])
                    except Exception as alone:  # noqa: BLE001 - handed to its caller
                        _settle(request, alone)
            except BaseException as exc:  # cancelled with the loop: tell every caller
                for request in group + self._queue:
                    _settle(request, StoreError(f"the write was interrupted ({exc!r})"))
                self._queue.clear()
                raise

    async def _commit(self, group: list[AppendRequest]) -> None:
        """One transaction for the whole group; outcomes are set after the commit."""
        results: list[tuple[AppendRequest, list[RecordedEvent] | Exception]] = []
        async with writing(self._engine, ordered=True) as conn:
            current = await self._versions(conn, {r.stream_id for r in group})
            accepted: list[AppendRequest] = []
            for request in group:
                actual, kind = current.get(request.stream_id, (0, None))
                mismatch = kind is not None and kind != request.stream_type
                if actual != request.expected_version or mismatch:
                    error = ConcurrencyError(request.stream_id, request.expected_version, actual)
                    results.append((request, error))
                    continue
                if request.rows:
                    current[request.stream_id] = (
                        request.rows[-1]["version"],
                        request.stream_type,
                    )
                    accepted.append(request)
                else:
                    results.append((request, []))
            positions = await self._insert(conn, accepted, current) if accepted else {}
            for request in accepted:
                results.append((request, _recorded(request, positions)))
            if positions and not self._is_sqlite:
                # Delivered at commit, to live runners LISTENing (stores/notifications.py).
                await conn.execute(
                    text("SELECT pg_notify(:channel, :payload)"),
                    {"channel": NOTIFY_CHANNEL, "payload": str(max(positions.values()))},
                )
        self.stats.groups += 1
        self.stats.appends += len(group)
        self.stats.largest = max(self.stats.largest, len(group))
        for request, outcome in results:
            _settle(request, outcome)

    @staticmethod
    async def _versions(
        conn: AsyncConnection, stream_ids: set[str]
    ) -> dict[str, tuple[int, str | None]]:
        """Each stream's version and type now (under the write lock)."""
        found: dict[str, tuple[int, str | None]] = {}
        ids = sorted(stream_ids)
        for start in range(0, len(ids), 500):
            rows = await conn.execute(
                select(streams.c.stream_id, streams.c.version, streams.c.stream_type).where(
                    streams.c.stream_id.in_(ids[start : start + 500])
                )
            )
            found.update({row.stream_id: (row.version, row.stream_type) for row in rows})
        return found

    async def _insert(
        self,
        conn: AsyncConnection,
        accepted: list[AppendRequest],
        current: dict[str, tuple[int, str | None]],
    ) -> dict[tuple[str, int], int]:
        """Write the accepted requests' streams and events; (stream, version) -> position."""
        first_of: dict[str, AppendRequest] = {}
        last_at: dict[str, datetime] = {}
        for request in accepted:
            first_of.setdefault(request.stream_id, request)
            last_at[request.stream_id] = request.rows[-1]["recorded_at"]
        created = [
            {
                "stream_id": sid,
                "stream_type": first.stream_type,
                "version": current[sid][0],
                "created_at": first.rows[0]["recorded_at"],
                "updated_at": last_at[sid],
            }
            for sid, first in first_of.items()
            if first.expected_version == 0
        ]
        moved = [
            {"sid": sid, "new_version": current[sid][0], "new_updated_at": last_at[sid]}
            for sid, first in first_of.items()
            if first.expected_version != 0
        ]
        if created:
            await conn.execute(streams.insert(), created)
        if moved:
            await conn.execute(
                update(streams)
                .where(streams.c.stream_id == bindparam("sid"))
                .values(version=bindparam("new_version"), updated_at=bindparam("new_updated_at")),
                moved,
            )
        rows = [row for request in accepted for row in request.rows]
        try:
            result = await conn.execute(
                # The rows come back keyed by (stream, version), so their order does
                # not matter: no `sort_by_parameter_order`, which would make SQLite
                # run one INSERT per row instead of multi-row INSERTs.
                event_table.insert().returning(
                    event_table.c.position, event_table.c.stream_id, event_table.c.version
                ),
                rows,
            )
        except IntegrityError as exc:
            raise _integrity_error(exc, accepted) from None
        return {(row.stream_id, row.version): row.position for row in result}


def _recorded(request: AppendRequest, positions: dict[tuple[str, int], int]) -> list[RecordedEvent]:
    return [
        recorded(
            positions[(request.stream_id, row["version"])],
            request.stream_id,
            request.stream_type,
            row["version"],
            event,
        )
        for row, event in zip(request.rows, request.events, strict=True)
    ]


def _settle(request: AppendRequest, outcome: list[RecordedEvent] | BaseException) -> None:
    if request.outcome.done():
        return  # the caller was cancelled; the outcome has no one to go to
    if isinstance(outcome, BaseException):
        request.outcome.set_exception(outcome)
    else:
        request.outcome.set_result(outcome)


def _integrity_error(exc: IntegrityError, group: list[AppendRequest]) -> Exception:
    message = str(exc.orig)
    first = group[0]
    if "event_id" in message:
        where = f"stream {first.stream_id!r}" if len(group) == 1 else "a stream"
        return StoreError(
            f"an event id appended to {where} is already stored; every event "
            "needs a new id. Nothing was written"
        )
    # The (stream_id, version) constraint: another writer got there first.
    return ConcurrencyError(first.stream_id, first.expected_version, None)
