"""Checking a store's layout without changing it: for read-only opens and `doctor`.

`ensure_schema` (stores/schema.py) creates and upgrades; a store opened
read-only must do neither, so `check_schema` only reads and says what to do.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import inspect, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from core.errors import StoreError

from .engine import profile_of
from .schema import SCHEMA_VERSION, metadata, schema_info
from .transactions import reading


@dataclass(frozen=True)
class SchemaState:
    """A store's layout: the version it records and the tables it lacks."""

    #: None when the store has no eventdeck schema at all.
    stored: int | None
    missing_tables: tuple[str, ...]
    #: The recorded version as text when it is not a number.
    unreadable: str | None = None

    @property
    def current(self) -> bool:
        return self.stored == SCHEMA_VERSION and not self.missing_tables

    @property
    def newer(self) -> bool:
        return self.stored is not None and self.stored > SCHEMA_VERSION


async def read_schema_state(engine: AsyncEngine) -> SchemaState:
    """The store's schema version and missing tables; only reads."""

    def tables(sync: Connection) -> set[str]:
        return set(inspect(sync).get_table_names())

    async with reading(engine) as conn:
        present = await conn.run_sync(tables)
        value = None
        if schema_info.name in present:
            value = await conn.scalar(
                select(schema_info.c.value).where(schema_info.c.key == "schema_version")
            )
    missing = tuple(sorted(set(metadata.tables) - present))
    if value is None:
        return SchemaState(None, missing)
    try:
        return SchemaState(int(value), missing)
    except ValueError:
        return SchemaState(None, missing, unreadable=str(value))


async def check_schema(engine: AsyncEngine) -> None:
    """For a store opened read-only: its layout must be there and current. Nothing
    is created or upgraded; a StoreError says what is wrong and what to do."""
    state = await read_schema_state(engine)
    where = profile_of(engine).display_url
    if state.unreadable is not None:
        raise StoreError(
            f"the store's schema_info has an unreadable schema version {state.unreadable!r}; "
            "is this an eventdeck database?"
        )
    if state.newer:
        raise StoreError(
            f"this store was written by a newer eventdeck (schema {state.stored}; this eventdeck "
            f"reads up to {SCHEMA_VERSION}): upgrade eventdeck"
        )
    if state.stored is None:
        raise StoreError(
            f"{where} is not an eventdeck store (no eventdeck tables), and --read-only never "
            "creates one: check the --db value, or create the store without --read-only"
        )
    if not state.current:
        raise StoreError(
            f"{where} has the layout of an older eventdeck (schema {state.stored}; this one uses "
            f"{SCHEMA_VERSION}), and --read-only never upgrades it: run any eventdeck command "
            "on it once without --read-only"
        )
