"""Hot reads on SQLite: one SELECT on the pooled driver connection, in one round trip.

Through SQLAlchemy's async layer a read costs a BEGIN, the execute, the fetch
and a COMMIT (each a hop to aiosqlite's thread), then a `Row` and the type
processing for every row: about 2.5 µs a row on top of what sqlite3 itself
needs. The reads that carry many rows (aggregate loads, `read_stream`, pages
of `read_all`, the newest snapshot) skip that: the statement is still
SQLAlchemy Core, compiled once per shape for the engine's dialect, and runs
with aiosqlite's `execute_fetchall` (one hop) on a connection from the
engine's pool. A single SELECT needs no transaction: SQLite reads it from one
consistent snapshot, and the driver runs in autocommit (stores/engine.py
issues every BEGIN itself). Rows come back as plain tuples; times are the
stored UTC text (stores/schema.py `parse_stored_time`).

PostgreSQL keeps the SQLAlchemy path (stores/event_store.py decides).
"""

from __future__ import annotations

import sqlite3
import weakref
from collections.abc import Callable, Hashable, Mapping
from typing import Any

from sqlalchemy import Engine, Select, event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from core.errors import StoreError

from .engine import profile_of
from .transactions import describe_error, translated_errors

#: A compiled statement: its SQL text and the names of its parameters in order.
Compiled = tuple[str, tuple[str, ...], dict[str, Any]]


class _HeldReader:
    """One pooled connection an engine's hot reads keep checked out.

    Checking a connection out of SQLAlchemy's pool and back costs about 60 µs
    (two greenlet switches and the pool's bookkeeping), more than a short read
    itself; an aggregate load makes two reads. The reads of an engine (event,
    snapshot and projection stores share it) take turns on this connection and
    use the pool only while it is busy. It never holds a transaction (the
    driver runs in autocommit), so it keeps no snapshot of the file open.
    Released by `release_held_reader` (the event store's close), or when the
    engine is disposed.
    """

    def __init__(self) -> None:
        self.conn: AsyncConnection | None = None
        self.driver: Any = None
        self.busy = False

    async def release(self) -> None:
        conn, self.conn, self.driver = self.conn, None, None
        if conn is not None:
            await conn.close()

    def drop_on_dispose(self, _engine: Engine) -> None:
        # Inside AsyncEngine.dispose (a greenlet): the pool it came from is gone, so
        # the connection is closed, not checked in.
        conn, self.conn, self.driver = self.conn, None, None
        if conn is not None:
            conn.sync_connection.invalidate()  # type: ignore[union-attr]


_held_readers: weakref.WeakKeyDictionary[Engine, _HeldReader] = weakref.WeakKeyDictionary()


def _held_reader(engine: AsyncEngine) -> _HeldReader:
    held = _held_readers.get(engine.sync_engine)
    if held is None:
        held = _held_readers[engine.sync_engine] = _HeldReader()
        event.listen(engine.sync_engine, "engine_disposed", held.drop_on_dispose)
    return held


async def release_held_reader(engine: AsyncEngine) -> None:
    """Give the connection the engine's hot reads keep back to its pool (before dispose)."""
    held = _held_readers.get(engine.sync_engine)
    if held is not None and not held.busy:
        await held.release()


class SqliteReads:
    """Compiled Core statements run on the driver connection of a SQLite engine."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._profile = profile_of(engine)
        self._compiled: dict[Hashable, Compiled] = {}
        self._held = _held_reader(engine)

    def compiled(self, shape: Hashable, build: Callable[[], Select[Any]]) -> Compiled:
        """The statement of `shape` (built by `build` the first time), compiled once."""
        found = self._compiled.get(shape)
        if found is None:
            compiled = build().compile(dialect=self._engine.dialect)
            names = tuple(compiled.positiontup or ())
            # Values fixed in the statement itself (an OFFSET 0, a literal) come
            # from the compiler; the named parameters are given on each call.
            fixed = {
                name: value
                for name, value in compiled.construct_params(_check=False).items()
                if value is not None
            }
            found = (compiled.string, names, fixed)
            self._compiled[shape] = found
        return found

    async def fetch(
        self, shape: Hashable, build: Callable[[], Select[Any]], params: Mapping[str, Any]
    ) -> list[tuple[Any, ...]]:
        """Every row of the statement, as tuples, in one round trip."""
        sql, names, fixed = self.compiled(shape, build)
        values = [params[name] if name in params else fixed[name] for name in names]
        held = self._held
        if not held.busy:
            held.busy = True
            try:
                async with translated_errors(self._profile):
                    if held.driver is None:
                        conn = await self._engine.connect()
                        held.driver = (await conn.get_raw_connection()).driver_connection
                        held.conn = conn
                    try:
                        rows = await held.driver.execute_fetchall(sql, values)
                    except sqlite3.Error as exc:
                        await held.release()  # a fresh connection next time
                        raise StoreError(describe_error(self._profile, str(exc))) from exc
            finally:
                held.busy = False
            return list(rows)
        async with translated_errors(self._profile), self._engine.connect() as conn:
            raw = await conn.get_raw_connection()
            driver: Any = raw.driver_connection
            try:
                rows = await driver.execute_fetchall(sql, values)
            except sqlite3.Error as exc:
                raise StoreError(describe_error(self._profile, str(exc))) from exc
        return list(rows)
