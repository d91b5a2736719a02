"""The store's tables, and `ensure_schema`, which creates them on first use.

To add a table: define it on `metadata` and bump `SCHEMA_VERSION`; existing
stores get the missing tables the next time they are opened. A migration that
changes an existing table goes in `_migrate`.
"""

from __future__ import annotations

import importlib.metadata
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    inspect,
    select,
    update,
)
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.types import TypeDecorator, TypeEngine

from core.clock import ensure_utc
from core.errors import StoreError

from .transactions import reading, writing

#: The layout version this eventdeck writes; it reads stores up to this version.
#: 1: events, streams, snapshots. 2: + checkpoints, read_models, dead_letters, parked_events.
SCHEMA_VERSION = 2


class UtcDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on both databases; naive values are taken as UTC.

    PostgreSQL stores `timestamptz`. SQLite has no time type, so the value is
    stored as fixed-width UTC text (`2024-05-01 12:00:00.000000`), which sorts
    and compares in time order and reads back quickly with `fromisoformat`.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(26))
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        value = ensure_utc(value)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return parse_stored_time(value)


def parse_stored_time(value: Any) -> datetime:
    """A stored time as an aware UTC datetime: SQLite's naive UTC text, or a datetime.

    ValueError if it is neither (a corrupt row).
    """
    if isinstance(value, str):
        # Stored naive in UTC; parsing with the offset appended is several times
        # faster than `.replace(tzinfo=UTC)` on the parsed value (hot in reads).
        try:
            return datetime.fromisoformat(value + "+00:00")
        except ValueError:  # a value written with its own offset
            return ensure_utc(datetime.fromisoformat(value))
    if isinstance(value, datetime):
        return ensure_utc(value)
    raise ValueError(f"not a time: {value!r}")


def _stream_id() -> TypeEngine[str]:
    # Byte-order collation on PostgreSQL, as on SQLite: streams list in the same
    # order on both, and `LIKE 'prefix%'` can use the index whatever the locale.
    return String(255).with_variant(String(255, collation="C"), "postgresql")


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)

events = Table(
    "events",
    metadata,
    # INTEGER on SQLite so the column is the rowid (an "INTEGER PRIMARY KEY").
    Column(
        "position",
        BigInteger().with_variant(Integer(), "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    Column("event_id", String(36), nullable=False),
    Column("stream_id", _stream_id(), nullable=False),
    Column("stream_type", String(100), nullable=False),
    Column("version", Integer, nullable=False),
    Column("type", String(200), nullable=False),
    Column("schema_version", Integer, nullable=False),
    # JSON kept as text so that one corrupt row is reported by position, not by the driver.
    Column("data", Text, nullable=False),
    Column("metadata", Text, nullable=False),
    Column("correlation_id", String(255), nullable=True),
    Column("recorded_at", UtcDateTime, nullable=False),
    UniqueConstraint("event_id"),
    UniqueConstraint("stream_id", "version"),
    Index(None, "type"),
    Index(None, "recorded_at"),
    Index(None, "correlation_id"),
)

streams = Table(
    "streams",
    metadata,
    Column("stream_id", _stream_id(), primary_key=True),
    Column("stream_type", String(100), nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index(None, "stream_type"),
)

snapshots = Table(
    "snapshots",
    metadata,
    Column("stream_id", _stream_id(), nullable=False),
    Column("version", Integer, nullable=False),
    Column("stream_type", String(100), nullable=False),
    Column("state", Text, nullable=False),
    Column("state_schema", Integer, nullable=False),
    Column("taken_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("stream_id", "version"),
)


def _name() -> TypeEngine[str]:
    # Projection, view and document-key names: byte order on both databases, like ids.
    return String(200).with_variant(String(200, collation="C"), "postgresql")


def _document_key() -> TypeEngine[str]:
    return Text().with_variant(Text(collation="C"), "postgresql")


def _position() -> TypeEngine[int]:
    return BigInteger().with_variant(Integer(), "sqlite")


# -- projections (schema 2) ------------------------------------------------------------

#: One row per projection generation: the active one (running, paused, stopped) and,
#: during a rebuild, the one being built (rebuilding). Leases live here too.
checkpoints = Table(
    "checkpoints",
    metadata,
    Column("name", _name(), nullable=False),
    Column("generation", Integer, nullable=False),
    Column("position", _position(), nullable=False),
    Column("status", String(20), nullable=False),
    Column("revision", _position(), nullable=False),
    Column("projection_version", Integer, nullable=False),
    Column("last_event_at", UtcDateTime, nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("owner", String(200), nullable=True),
    Column("lease_expires_at", UtcDateTime, nullable=True),
    Column("events_per_second", Float, nullable=False),
    PrimaryKeyConstraint("name", "generation"),
)

#: Every read model's JSON documents, by (view, generation, key).
read_models = Table(
    "read_models",
    metadata,
    Column("view", _name(), nullable=False),
    Column("generation", Integer, nullable=False),
    Column("key", _document_key(), nullable=False),
    Column("doc", Text, nullable=False),
    PrimaryKeyConstraint("view", "generation", "key"),
)

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", _position(), primary_key=True, autoincrement=True),
    Column("projection", _name(), nullable=False),
    Column("generation", Integer, nullable=False),
    Column("position", _position(), nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("stream_id", _stream_id(), nullable=False),
    Column("event_type", String(200), nullable=False),
    Column("error", Text, nullable=False),
    Column("traceback", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("status", String(20), nullable=False),
    Column("first_failed_at", UtcDateTime, nullable=False),
    Column("last_failed_at", UtcDateTime, nullable=False),
    UniqueConstraint("projection", "generation", "position"),
    Index(None, "projection", "generation", "status", "stream_id"),
)

#: Events held back behind their stream's open dead letter.
parked_events = Table(
    "parked_events",
    metadata,
    Column("projection", _name(), nullable=False),
    Column("generation", Integer, nullable=False),
    Column("position", _position(), nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("stream_id", _stream_id(), nullable=False),
    Column("event_type", String(200), nullable=False),
    Column("parked_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("projection", "generation", "position"),
    Index(None, "projection", "generation", "stream_id", "position"),
)

schema_info = Table(
    "schema_info",
    metadata,
    Column("key", String(100), primary_key=True),
    Column("value", String(200), nullable=False),
)


async def ensure_schema(engine: AsyncEngine) -> None:
    """Create the tables on first use and check the store is not from a newer eventdeck.

    Idempotent and safe when several processes race: the creating transaction
    holds the write lock (SQLite) or the position lock (PostgreSQL), and
    rechecks under it. A store that is already current is only read.
    """
    async with reading(engine) as conn:
        stored = await _stored_version(conn)
        complete = stored == SCHEMA_VERSION and await _has_all_tables(conn)
    _refuse_newer(stored)
    if complete:
        return
    async with writing(engine, ordered=True) as conn:
        stored = await _stored_version(conn)
        _refuse_newer(stored)
        await conn.run_sync(metadata.create_all)
        if stored is None:
            await conn.execute(
                schema_info.insert(),
                [
                    {"key": "schema_version", "value": str(SCHEMA_VERSION)},
                    {"key": "created_by", "value": f"eventdeck {_eventdeck_version()}"},
                ],
            )
        elif stored < SCHEMA_VERSION:
            await _migrate(conn, stored)
            await conn.execute(
                update(schema_info)
                .where(schema_info.c.key == "schema_version")
                .values(value=str(SCHEMA_VERSION))
            )


def _refuse_newer(stored: int | None) -> None:
    if stored is not None and stored > SCHEMA_VERSION:
        raise StoreError(
            f"this store was written by a newer eventdeck (schema {stored}; this eventdeck "
            f"reads up to {SCHEMA_VERSION}): upgrade eventdeck"
        )


async def _migrate(conn: AsyncConnection, stored: int) -> None:
    """Bring an older layout up to SCHEMA_VERSION.

    1 -> 2 only adds the projection tables (checkpoints, read_models, dead_letters,
    parked_events), which `create_all` has just created; no existing table changes.
    """


async def _stored_version(conn: AsyncConnection) -> int | None:
    if not await conn.run_sync(lambda sync: inspect(sync).has_table("schema_info")):
        return None
    value = await conn.scalar(
        select(schema_info.c.value).where(schema_info.c.key == "schema_version")
    )
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise StoreError(
            f"the store's schema_info has an unreadable schema version {value!r}; "
            "is this an eventdeck database?"
        ) from None


async def _has_all_tables(conn: AsyncConnection) -> bool:
    def names(sync: Connection) -> set[str]:
        return set(inspect(sync).get_table_names())

    return set(metadata.tables) <= await conn.run_sync(names)


def _eventdeck_version() -> str:
    try:
        return importlib.metadata.version("eventdeck")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"
