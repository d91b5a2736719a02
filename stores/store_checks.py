"""The doctor's questions in SQL (`core.doctor_facts.StoreChecks`), and its repairs.

Every check is one or two set-based statements that the indexes answer: a
GROUP BY over the `(stream_id, version)` index, a window over it, anti-joins on
the primary keys. Nothing loads a table into Python, so a store of a million
events is checked in seconds; examples are fetched (a few rows) only when a
count says there is something to show.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import case, exists, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from core.checkpoints import Checkpoint
from core.dead_letters import DeadLetterStatus
from core.doctor_facts import (
    DeadLetterFacts,
    LockHolder,
    PositionFacts,
    SchemaFacts,
    SnapshotFacts,
    StreamFacts,
    StreamProblem,
)
from core.projection_store import AuditAppend

from .audit_append import append_audit
from .engine import profile_of
from .projection_rows import checkpoint_of, is_active
from .schema import (
    SCHEMA_VERSION,
    checkpoints,
    dead_letters,
    events,
    parked_events,
    snapshots,
    streams,
)
from .schema_check import read_schema_state
from .transactions import POSITION_LOCK_KEY, reading, writing

_e, _s, _sn = events.c, streams.c, snapshots.c

# Who holds (or waits for) the advisory lock that orders appends; a bigint key is
# split over classid (high 32 bits) and objid (low 32 bits), objsubid 1.
_POSITION_LOCK_SESSIONS = text(
    """
    SELECT a.pid, a.usename, a.application_name, host(a.client_addr) AS client, l.granted,
           EXTRACT(EPOCH FROM now() - COALESCE(a.xact_start, a.query_start)) AS seconds
    FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
    WHERE l.locktype = 'advisory' AND l.objsubid = 1
      AND l.classid::bigint = :high AND l.objid::bigint = :low
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND a.pid <> pg_backend_pid()
    """
)


class SqlStoreChecks:
    """The doctor's questions on one engine (best opened read-only: it only reads)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._profile = profile_of(engine)

    @property
    def display_url(self) -> str:
        return self._profile.display_url

    async def schema(self) -> SchemaFacts:
        state = await read_schema_state(self._engine)
        return SchemaFacts(
            stored=state.stored,
            expected=SCHEMA_VERSION,
            missing_tables=list(state.missing_tables),
            unreadable=state.unreadable,
        )

    async def streams(self, examples: int) -> StreamFacts:
        per_stream = (
            select(
                _e.stream_id,
                func.count().label("events"),
                func.min(_e.version).label("first"),
                func.max(_e.version).label("last"),
            )
            .group_by(_e.stream_id)
            .subquery()
        )
        stored = per_stream.c
        gap = or_(stored.events != stored.last, stored.first != 1)
        mismatch = or_(_s.version.is_(None), _s.version != stored.last)
        joined = per_stream.outerjoin(streams, _s.stream_id == stored.stream_id)
        no_events = ~exists().where(_e.stream_id == _s.stream_id)
        async with reading(self._engine) as conn:
            total, gaps, mismatches = (
                await conn.execute(
                    select(func.count(), _sum(gap), _sum(mismatch)).select_from(joined)
                )
            ).one()
            orphans = await conn.scalar(select(func.count()).where(no_events))
            found: list[StreamProblem] = []
            if examples and (gaps or mismatches):
                rows = await conn.execute(
                    select(stored.stream_id, stored.events, stored.first, stored.last, _s.version)
                    .select_from(joined)
                    .where(or_(gap, mismatch))
                    .order_by(stored.stream_id)
                    .limit(examples)
                )
                found += [StreamProblem(**_problem(row)) for row in rows]
            if examples and orphans:
                empty = await conn.execute(
                    select(_s.stream_id, _s.version)
                    .where(no_events)
                    .order_by(_s.stream_id)
                    .limit(examples)
                )
                found += [
                    StreamProblem(
                        stream_id=stream_id,
                        events=0,
                        first_version=0,
                        last_version=0,
                        recorded_version=version,
                    )
                    for stream_id, version in empty
                ]
        return StreamFacts(
            streams=int(total or 0),
            gaps=int(gaps or 0),
            index_mismatches=int(mismatches or 0),
            rows_without_events=int(orphans or 0),
            examples=found,
        )

    async def positions(self, examples: int) -> PositionFacts:
        previous = func.lag(_e.position).over(partition_by=_e.stream_id, order_by=_e.version)
        ordered = select(_e.stream_id, _e.position, previous.label("previous")).subquery()
        behind = ordered.c.previous > ordered.c.position
        async with reading(self._engine) as conn:
            head_row = (
                await conn.execute(
                    select(_e.position, _e.recorded_at).order_by(_e.position.desc()).limit(1)
                )
            ).first()
            out_of_order = 0
            names: list[str] = []
            if examples:
                out_of_order = int(
                    await conn.scalar(
                        select(func.count(func.distinct(ordered.c.stream_id))).where(behind)
                    )
                    or 0
                )
            if out_of_order:
                rows = await conn.execute(
                    select(ordered.c.stream_id)
                    .where(behind)
                    .group_by(ordered.c.stream_id)
                    .order_by(ordered.c.stream_id)
                    .limit(examples)
                )
                names = [stream_id for (stream_id,) in rows]
        return PositionFacts(
            head=head_row[0] if head_row else 0,
            head_at=head_row[1] if head_row else None,
            out_of_order=out_of_order,
            examples=names,
        )

    async def snapshots(self, examples: int) -> SnapshotFacts:
        orphan = ~exists().where(
            _e.stream_id == _sn.stream_id,
            _e.version == _sn.version,
            _e.stream_type == _sn.stream_type,
        )
        last = select(func.max(_e.version)).where(_e.stream_id == _sn.stream_id).scalar_subquery()
        async with reading(self._engine) as conn:
            total, orphaned = (
                await conn.execute(select(func.count(), _sum(orphan)).select_from(snapshots))
            ).one()
            shown: list[str] = []
            if examples and orphaned:
                rows = await conn.execute(
                    select(_sn.stream_id, _sn.version, last)
                    .where(orphan)
                    .order_by(_sn.stream_id, _sn.version)
                    .limit(examples)
                )
                shown = [
                    _orphan_snapshot(stream_id, version, top) for stream_id, version, top in rows
                ]
        return SnapshotFacts(snapshots=int(total or 0), orphaned=int(orphaned or 0), examples=shown)

    async def checkpoints(self) -> list[Checkpoint]:
        cp = checkpoints.c
        async with reading(self._engine) as conn:
            rows = (await conn.execute(select(checkpoints).order_by(cp.name, cp.generation))).all()
        return [checkpoint_of(row) for row in rows]

    async def dead_letters(self) -> DeadLetterFacts:
        d, p = dead_letters.c, parked_events.c
        open_letters = (
            select(d.projection, func.count())
            .where(d.status == DeadLetterStatus.OPEN.value, is_active(d.projection, d.generation))
            .group_by(d.projection)
        )
        parked = (
            select(p.projection, func.count())
            .where(is_active(p.projection, p.generation))
            .group_by(p.projection)
        )
        async with reading(self._engine) as conn:
            opened = {name: int(n) for name, n in await conn.execute(open_letters)}
            waiting = {name: int(n) for name, n in await conn.execute(parked)}
        return DeadLetterFacts(open=opened, parked=waiting)

    async def lock_holders(self) -> list[LockHolder]:
        if self._profile.is_sqlite:
            return []  # SQLite's locks are the file's: nothing to name
        keys = {"high": POSITION_LOCK_KEY >> 32, "low": POSITION_LOCK_KEY & 0xFFFFFFFF}
        async with reading(self._engine) as conn:
            rows = (await conn.execute(_POSITION_LOCK_SESSIONS, keys)).mappings().all()
        waiting = sum(not row["granted"] for row in rows)
        return [
            LockHolder(
                what="the append lock (it orders event positions)",
                holder=f"pid {row['pid']} ({row['application_name'] or 'no application name'}, "
                f"user {row['usename']}, from {row['client'] or 'a local socket'})",
                seconds=float(row["seconds"]) if row["seconds"] is not None else None,
                waiting=waiting,
            )
            for row in rows
            if row["granted"]
        ]

    # -- repairs (`eventdeck doctor --repair`) -----------------------------------------

    async def repair(
        self, audit: Callable[[dict[str, int]], AuditAppend] | None = None
    ) -> dict[str, int]:
        """Delete orphaned snapshots and rebuild the streams rows that disagree with the
        events, in one write transaction holding the append lock; what changed. If
        something did, `audit(changes)` is the operator event appended in that transaction."""
        orphan = ~exists().where(
            _e.stream_id == _sn.stream_id,
            _e.version == _sn.version,
            _e.stream_type == _sn.stream_type,
        )
        per_stream = (
            select(_e.stream_id)
            .add_columns(
                func.min(_e.stream_type),
                func.max(_e.version),
                func.min(_e.recorded_at),
                func.max(_e.recorded_at),
            )
            .group_by(_e.stream_id)
        )
        last = select(func.max(_e.version)).where(_e.stream_id == _s.stream_id).scalar_subquery()
        newest = (
            select(func.max(_e.recorded_at)).where(_e.stream_id == _s.stream_id).scalar_subquery()
        )
        async with writing(self._engine, ordered=True) as conn:
            deleted = (await conn.execute(snapshots.delete().where(orphan))).rowcount
            emptied = (
                await conn.execute(
                    streams.delete().where(~exists().where(_e.stream_id == _s.stream_id))
                )
            ).rowcount
            updated = (
                await conn.execute(
                    streams.update()
                    .where(_s.version != last)
                    .values(version=last, updated_at=newest)
                )
            ).rowcount
            added = (
                await conn.execute(
                    streams.insert().from_select(
                        ["stream_id", "stream_type", "version", "created_at", "updated_at"],
                        per_stream.where(~exists().where(_s.stream_id == _e.stream_id)),
                    )
                )
            ).rowcount
            changes = {
                "snapshots_deleted": int(deleted or 0),
                "stream_rows_deleted": int(emptied or 0),
                "stream_rows_updated": int(updated or 0),
                "stream_rows_added": int(added or 0),
            }
            if audit is not None and any(changes.values()):
                await append_audit(conn, audit(changes), sqlite=self._profile.is_sqlite)
        return changes


def _sum(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _problem(row: Any) -> dict[str, Any]:
    stream_id, count, first, last, recorded = row
    return {
        "stream_id": stream_id,
        "events": int(count),
        "first_version": int(first),
        "last_version": int(last),
        "recorded_version": None if recorded is None else int(recorded),
    }


def _orphan_snapshot(stream_id: str, version: int, top: int | None) -> str:
    if top is None:
        return f"{stream_id} at version {version}: no such stream"
    if version > top:
        return f"{stream_id} at version {version}: the stream ends at version {top}"
    return f"{stream_id} at version {version}: the event there is of another stream type"
