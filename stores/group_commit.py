"""Group commit: concurrent appends share one write transaction (one fsync).

Every `SqlEventStore.append` becomes a request in a queue. One writer task
takes all the requests waiting, opens one write transaction, checks each
request's expected version against the streams as they are (and as the earlier
requests of the group leave them: stores/group_plan.py), writes the accepted
ones with one statement per table, and commits once. Each request keeps its own
outcome: a request whose expected version is wrong gets its ConcurrencyError
alone and writes nothing, while the rest of its group commits. If the group's
transaction fails as a whole (a duplicate event id, a lost connection), each of
its requests is committed again on its own, so only the one at fault fails.

SQLite runs the transaction on the driver connection (stores/sqlite_append.py);
PostgreSQL through SQLAlchemy, holding the advisory lock that makes positions
commit in order (stores/transactions.py).

The writer runs only while there is work: it starts with the first request and
ends when the queue is empty, so no task outlives the appends that needed it.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from core.errors import StoreError
from core.events import NewEvent, RecordedEvent
from core.gc_pause import paused_collector

from .engine import profile_of
from .group_plan import AppendRequest, Outcome, integrity_error, plan_group
from .notifications import NOTIFY_CHANNEL
from .records import EVENT_VALUE_COLUMNS, event_values, recorded
from .schema import events as event_table
from .schema import streams
from .sqlite_append import SqliteGroupWriter
from .transactions import writing

__all__ = ["MAX_GROUP", "AppendRequest", "GroupCommitter", "GroupStats"]

#: The most appends one transaction takes (bounds the statement sizes).
MAX_GROUP = 500


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
        self._sqlite = SqliteGroupWriter(engine) if profile_of(engine).is_sqlite else None
        self._max_group = max_group
        self._queue: list[AppendRequest] = []
        self._writer: asyncio.Task[None] | None = None
        self.stats = GroupStats()

    async def append(
        self,
        stream_id: str,
        stream_type: str,
        events: Sequence[NewEvent],
        expected_version: int,
    ) -> list[RecordedEvent]:
        """Queue one append and wait for its own outcome."""
        # Encoded before queueing: a bad payload fails without taking any lock.
        # The collector is paused while rows are built: most die by refcount at the
        # commit, unwalked (core/gc_pause.py).
        with paused_collector():
            rows = event_values(
                stream_id, stream_type, expected_version, events, sqlite=self._sqlite is not None
            )
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
        if self._sqlite is not None:
            results = await self._sqlite.commit(group)
        else:
            results = await self._commit_postgres(group)
        self.stats.groups += 1
        self.stats.appends += len(group)
        self.stats.largest = max(self.stats.largest, len(group))
        for request, outcome in results:
            _settle(request, outcome)

    async def _commit_postgres(
        self, group: list[AppendRequest]
    ) -> list[tuple[AppendRequest, Outcome]]:
        async with writing(self._engine, ordered=True) as conn:
            plan = plan_group(group, await _versions(conn, {r.stream_id for r in group}))
            results = plan.decided
            if not plan.accepted:
                return results
            await conn.execute(
                _upsert_stream(),
                [dict(zip(_STREAM_KEYS, row, strict=True)) for row in plan.streams],
            )
            rows = [
                dict(zip(EVENT_VALUE_COLUMNS, row, strict=True))
                for request in plan.accepted
                for row in request.rows
            ]
            try:
                # The rows come back keyed by (stream, version), so their order does
                # not matter: no `sort_by_parameter_order`.
                inserted = await conn.execute(_INSERT_RETURNING, rows)
            except IntegrityError as exc:
                raise integrity_error(str(exc.orig), plan.accepted) from None
            positions = {(row.stream_id, row.version): row.position for row in inserted}
            for request in plan.accepted:
                results.append((request, _recorded(request, positions)))
            # Delivered at commit, to live runners LISTENing (stores/notifications.py).
            await conn.execute(
                text("SELECT pg_notify(:channel, :payload)"),
                {"channel": NOTIFY_CHANNEL, "payload": str(max(positions.values()))},
            )
        return results


_STREAM_KEYS = ("stream_id", "stream_type", "version", "created_at", "updated_at")


@functools.cache
def _upsert_stream() -> Any:
    """A stream's row: created, or moved to its new version (the plan checked which).

    Built on first use: importing SQLAlchemy's PostgreSQL dialect costs ~25 ms, which
    a SQLite store (the console's first screen among them) need not pay.
    """
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    upsert = pg_insert(streams)
    return upsert.on_conflict_do_update(
        index_elements=[streams.c.stream_id],
        set_={"version": upsert.excluded.version, "updated_at": upsert.excluded.updated_at},
    )


_INSERT_RETURNING = event_table.insert().returning(
    event_table.c.position, event_table.c.stream_id, event_table.c.version
)


async def _versions(conn: AsyncConnection, stream_ids: set[str]) -> dict[str, tuple[int, str]]:
    """Each stream's version and type now (under the write lock)."""
    found: dict[str, tuple[int, str]] = {}
    ids = sorted(stream_ids)
    for start in range(0, len(ids), 500):
        rows = await conn.execute(
            select(streams.c.stream_id, streams.c.version, streams.c.stream_type).where(
                streams.c.stream_id.in_(ids[start : start + 500])
            )
        )
        found.update({row.stream_id: (row.version, row.stream_type) for row in rows})
    return found


def _recorded(request: AppendRequest, positions: dict[tuple[str, int], int]) -> list[RecordedEvent]:
    sid, kind = request.stream_id, request.stream_type
    return [
        recorded(positions[(sid, version)], sid, kind, version, event)
        for version, event in enumerate(request.events, start=request.expected_version + 1)
    ]


def _settle(request: AppendRequest, outcome: list[RecordedEvent] | BaseException) -> None:
    if request.outcome.done():
        return  # the caller was cancelled; the outcome has no one to go to
    if isinstance(outcome, BaseException):
        request.outcome.set_exception(outcome)
    else:
        request.outcome.set_result(outcome)
