"""Persistence for eventdeck: the event and snapshot stores on SQLite or PostgreSQL.

SQLAlchemy 2 Core, async (aiosqlite, asyncpg). Imports `core`, never the console.
"""

from __future__ import annotations

from core.errors import StoreError

from .engine import make_engine, normalise_url, profile_of, redact_url
from .event_store import SqlEventStore
from .projection_store import SqlProjectionStore
from .schema import SCHEMA_VERSION, ensure_schema
from .schema_check import check_schema
from .snapshot_store import SqlSnapshotStore
from .transactions import _reason, describe_error

__all__ = [
    "SCHEMA_VERSION",
    "SqlEventStore",
    "SqlProjectionStore",
    "SqlSnapshotStore",
    "check_schema",
    "ensure_schema",
    "make_engine",
    "normalise_url",
    "open_stores",
    "redact_url",
]


async def open_stores(
    url: str, *, read_only: bool = False
) -> tuple[SqlEventStore, SqlSnapshotStore]:
    """Open the store at `url`: build the engine, create or check the schema.

    Both stores share one engine; `SqlEventStore.close()` disposes it. Every
    problem (bad URL, unreachable server, newer schema) is a StoreError.
    `read_only` opens the database read-only (see `make_engine`) and only checks
    the schema: a missing or older store is an error, never created or upgraded.
    """
    try:
        engine = make_engine(url, read_only=read_only)
    except (OSError, TypeError, ValueError) as exc:
        # a path the file system refuses (too long), a query argument the dialect refuses
        raise StoreError(f"cannot open the store {redact_url(url)!r}: {_reason(exc)}") from None
    try:
        await (check_schema(engine) if read_only else ensure_schema(engine))
    except (TypeError, ValueError, OverflowError) as exc:
        # the driver refused the URL's connect arguments (an unknown or malformed query
        # argument, a port beyond 65535) before reaching the database
        await engine.dispose()
        raise StoreError(describe_error(profile_of(engine), _reason(exc))) from None
    except BaseException:
        await engine.dispose()
        raise
    return SqlEventStore(engine), SqlSnapshotStore(engine)
