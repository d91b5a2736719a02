"""The SQL snapshot store: `core.ports.SnapshotStore`, several snapshots per stream."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.snapshots import Snapshot

from .engine import profile_of
from .records import dump_json, load_state
from .schema import parse_stored_time, snapshots
from .sqlite_reads import SqliteReads
from .transactions import reading, writing

if TYPE_CHECKING:
    from core.ports import SnapshotStore

log = logging.getLogger(__name__)


class SqlSnapshotStore:
    """Snapshots in the `snapshots` table, keyed by (stream_id, version).

    A snapshot whose stored state cannot be read is ignored (a warning is
    logged): the caller then rebuilds from events, never from a bad snapshot.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._profile = profile_of(engine)
        self._fast = SqliteReads(engine) if self._profile.is_sqlite else None

    async def save(self, snapshot: Snapshot) -> None:
        """Store `snapshot`, replacing any earlier one at the same version."""
        state = dump_json(snapshot.state, f"the snapshot of {snapshot.stream_id!r}")
        upsert: Any
        # the dialect's module on first use (PostgreSQL's costs ~25 ms to import)
        if self._profile.is_sqlite:
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            upsert = sqlite_insert(snapshots)
        else:
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            upsert = pg_insert(snapshots)
        values = {
            "stream_type": snapshot.stream_type,
            "state": state,
            "state_schema": snapshot.state_schema,
            "taken_at": snapshot.taken_at,
        }
        statement: Any = upsert.values(
            stream_id=snapshot.stream_id, version=snapshot.version, **values
        ).on_conflict_do_update(
            index_elements=[snapshots.c.stream_id, snapshots.c.version], set_=values
        )
        async with writing(self._engine) as conn:
            await conn.execute(statement)

    async def latest(self, stream_id: str, *, at_or_below: int | None = None) -> Snapshot | None:
        """The newest snapshot at or below a version (any version if None)."""
        bounded = at_or_below is not None
        params = {"stream_id": stream_id, "at_or_below": at_or_below}
        if self._fast is not None:  # SQLite: one round trip (stores/sqlite_reads.py)
            rows = await self._fast.fetch(("latest", bounded), lambda: _latest(bounded), params)
            row = rows[0] if rows else None
        else:
            async with reading(self._engine) as conn:
                row = (await conn.execute(_latest(bounded), params)).first()
        if row is None:
            return None
        stream_id, stream_type, version, state_text, state_schema, taken_at = row
        state = load_state(state_text)
        try:
            taken_at = parse_stored_time(taken_at)
        except ValueError:
            state = None
        if state is None:
            log.warning(
                "ignoring the snapshot of stream %r at version %s: its state is not a JSON object",
                stream_id,
                version,
            )
            return None
        return Snapshot(
            stream_id=stream_id,
            stream_type=stream_type,
            version=version,
            state=state,
            state_schema=state_schema,
            taken_at=taken_at,
        )

    async def versions(self, stream_id: str) -> list[int]:
        """The versions at which the stream has snapshots, ascending."""
        statement = (
            select(snapshots.c.version)
            .where(snapshots.c.stream_id == stream_id)
            .order_by(snapshots.c.version)
        )
        async with reading(self._engine) as conn:
            return list((await conn.scalars(statement)).all())


def _latest(bounded: bool) -> Select[Any]:
    """The newest snapshot of `:stream_id` (at or below `:at_or_below` if `bounded`)."""
    statement = select(
        snapshots.c.stream_id,
        snapshots.c.stream_type,
        snapshots.c.version,
        snapshots.c.state,
        snapshots.c.state_schema,
        snapshots.c.taken_at,
    ).where(snapshots.c.stream_id == bindparam("stream_id"))
    if bounded:
        statement = statement.where(snapshots.c.version <= bindparam("at_or_below"))
    return statement.order_by(snapshots.c.version.desc()).limit(1)


if TYPE_CHECKING:

    def _conforms(store: SqlSnapshotStore) -> SnapshotStore:
        return store
