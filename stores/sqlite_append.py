"""A group's write transaction on SQLite, in five round trips on the driver connection.

Through SQLAlchemy's async layer every statement costs several hops to
aiosqlite's thread (cursor, execute, fetch, close) plus greenlet switches:
about 135 µs a statement against 25 µs for one call on the driver, and the
type processing of every parameter. The group's transaction is therefore run
on the pooled driver connection (as stores/sqlite_reads.py does for reads),
with statements that are still SQLAlchemy Core compiled once for the engine's
dialect:

1. `BEGIN IMMEDIATE` (the file's write lock: no other writer until COMMIT);
2. one SELECT of the head position and the group's streams (version, type);
3. one `executemany` upserting the written streams' rows;
4. one `executemany` inserting every accepted event, at positions allocated
   here: head + 1, head + 2, ... in queue order (the position is the rowid, and
   no one else can write before our COMMIT, so they are exactly what SQLite
   would have chosen; no RETURNING, so sqlite3's own executemany loop runs);
5. `COMMIT` (or `ROLLBACK`, after which nothing of the group is written).
"""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

from sqlalchemy import Insert, bindparam, func, literal_column, select, union_all
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from core.errors import ReadOnlyError, StoreError, read_only_refusal
from core.gc_pause import paused_collector

from .engine import profile_of
from .group_plan import AppendRequest, Outcome, integrity_error, plan_group
from .records import EVENT_VALUE_COLUMNS, recorded
from .schema import events as event_table
from .schema import streams
from .transactions import describe_error, process_write_lock, rollback_driver, translated_errors

_STREAM_COLUMNS = ("stream_id", "stream_type", "version", "created_at", "updated_at")


class SqliteGroupWriter:
    """Writes one group of appends per transaction on a SQLite engine."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._profile = profile_of(engine)
        self._insert_events = self._compiled(
            event_table.insert(), ("position", *EVENT_VALUE_COLUMNS)
        )
        upsert = sqlite_insert(streams)
        upsert = upsert.on_conflict_do_update(
            index_elements=[streams.c.stream_id],
            set_={"version": upsert.excluded.version, "updated_at": upsert.excluded.updated_at},
        )
        self._upsert_streams = self._compiled(upsert, _STREAM_COLUMNS)
        #: The head-and-versions SELECT for each number of streams.
        self._selects: dict[int, str] = {}

    def _compiled(self, statement: Insert, columns: tuple[str, ...]) -> str:
        compiled = statement.compile(dialect=self._engine.dialect, column_keys=list(columns))
        if tuple(compiled.positiontup or ()) != columns:
            raise AssertionError(f"{compiled.string!r} does not take {columns}")
        return compiled.string

    def _select(self, count: int) -> str:
        """Row (NULL, head, NULL), then (stream_id, version, stream_type) of each stream found."""
        found = self._selects.get(count)
        if found is None:
            head = select(
                literal_column("NULL"),
                func.coalesce(func.max(event_table.c.position), literal_column("0")),
                literal_column("NULL"),
            )
            versions = select(streams.c.stream_id, streams.c.version, streams.c.stream_type).where(
                streams.c.stream_id.in_([bindparam(f"s{i}") for i in range(count)])
            )
            compiled = union_all(head, versions).compile(dialect=self._engine.dialect)
            if tuple(compiled.positiontup or ()) != tuple(f"s{i}" for i in range(count)):
                raise AssertionError(f"{compiled.string!r} takes its parameters out of order")
            found = self._selects[count] = compiled.string
        return found

    async def commit(self, group: list[AppendRequest]) -> list[tuple[AppendRequest, Outcome]]:
        """One transaction for the group; each append's outcome, valid once this returns."""
        profile = self._profile
        if profile.read_only:  # as `stores.transactions.writing` refuses
            raise ReadOnlyError(read_only_refusal("write to the store"))
        try:
            async with (
                translated_errors(profile),
                process_write_lock(profile),
                self._engine.connect() as conn,
            ):
                driver: Any = (await conn.get_raw_connection()).driver_connection
                await driver.execute("BEGIN IMMEDIATE")
                try:
                    return await self._write(driver, group)
                except BaseException:
                    await rollback_driver(conn, driver)
                    raise
        except sqlite3.IntegrityError as exc:
            raise integrity_error(str(exc), group) from None
        except sqlite3.Error as exc:
            raise StoreError(describe_error(profile, str(exc))) from exc

    async def _write(
        self, driver: Any, group: list[AppendRequest]
    ) -> list[tuple[AppendRequest, Outcome]]:
        """Check, write and COMMIT the group (the transaction is open)."""
        ids = list(dict.fromkeys(request.stream_id for request in group))
        head = 0
        current: dict[str, tuple[int, str]] = {}
        for stream_id, version, stream_type in await driver.execute_fetchall(
            self._select(len(ids)), ids
        ):
            if stream_id is None:
                head = version
            else:
                current[stream_id] = (version, stream_type)
        plan = plan_group(group, current)
        if plan.accepted:
            await driver.executemany(self._upsert_streams, plan.streams)
            position = head
            values: list[tuple[Any, ...]] = []
            with paused_collector():
                for request in plan.accepted:
                    for row in request.rows:
                        position += 1
                        values.append((position, *row))
            await driver.executemany(self._insert_events, values)
        # The envelopes are built while the COMMIT waits for the disk in the
        # driver's thread (the GIL is free during the fsync); they are handed out
        # only if it succeeds.
        committing = asyncio.create_task(driver.execute("COMMIT"))
        await asyncio.sleep(0)  # the COMMIT is on its way
        try:
            with paused_collector():
                results = plan.decided + _envelopes(plan.accepted, head)
        finally:
            await committing
        return results


def _envelopes(accepted: list[AppendRequest], head: int) -> list[tuple[AppendRequest, Outcome]]:
    """Each accepted append's recorded events, at positions from head + 1 in queue order."""
    results: list[tuple[AppendRequest, Outcome]] = []
    position = head
    for request in accepted:
        sid, kind = request.stream_id, request.stream_type
        envelopes = [
            recorded(position + i, sid, kind, version, event)
            for i, (version, event) in enumerate(
                enumerate(request.events, start=request.expected_version + 1), start=1
            )
        ]
        position += len(envelopes)
        results.append((request, envelopes))
    return results
