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
from collections.abc import Callable, Hashable, Mapping
from typing import Any

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.errors import StoreError

from .engine import profile_of
from .transactions import describe_error, translated_errors

#: A compiled statement: its SQL text and the names of its parameters in order.
Compiled = tuple[str, tuple[str, ...], dict[str, Any]]


class SqliteReads:
    """Compiled Core statements run on the driver connection of a SQLite engine."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._profile = profile_of(engine)
        self._compiled: dict[Hashable, Compiled] = {}

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
        async with translated_errors(self._profile), self._engine.connect() as conn:
            raw = await conn.get_raw_connection()
            driver: Any = raw.driver_connection
            try:
                rows = await driver.execute_fetchall(sql, values)
            except sqlite3.Error as exc:
                raise StoreError(describe_error(self._profile, str(exc))) from exc
        return list(rows)
