"""Short read and write transactions, with driver errors turned into StoreError.

Every store operation runs in one of these: `reading` (a deferred BEGIN on
SQLite) or `writing` (BEGIN IMMEDIATE on SQLite; on PostgreSQL optionally the
advisory lock that orders event positions). Nothing else opens a transaction,
so nothing else can leak a driver traceback to the user.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from core.errors import EventdeckError, ReadOnlyError, StoreError, read_only_refusal

from .engine import BEGIN_OPTION, BUSY_TIMEOUT_ENV, EngineProfile, profile_of
from .secrets import hide_secrets

#: Key of the PostgreSQL advisory lock held by every transaction that allocates
#: event positions ("evdk" + "pos" in ASCII), so positions commit in order.
POSITION_LOCK_KEY = 0x6576646B_706F73
#: PostgreSQL's SQLSTATE for a write in a read-only transaction.
PG_READ_ONLY_TRANSACTION = "25006"


@contextlib.asynccontextmanager
async def reading(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A short read transaction (one consistent snapshot on both databases)."""
    profile = profile_of(engine)
    async with translated_errors(profile), engine.connect() as conn, conn.begin():
        yield conn


@contextlib.asynccontextmanager
async def writing(engine: AsyncEngine, *, ordered: bool = False) -> AsyncIterator[AsyncConnection]:
    """A write transaction; `ordered` also serialises position allocation on PostgreSQL.

    On PostgreSQL a BIGSERIAL value is taken at INSERT time but becomes visible
    at COMMIT, so two appends could commit positions out of order and a reader
    polling from its checkpoint would skip the lower one. Holding one advisory
    lock from before the INSERT until the commit makes positions commit in
    order. SQLite needs no such lock: BEGIN IMMEDIATE already admits one writer.
    """
    profile = profile_of(engine)
    if profile.read_only:
        raise ReadOnlyError(read_only_refusal("write to the store"))
    async with translated_errors(profile), process_write_lock(profile), engine.connect() as conn:
        if profile.is_sqlite:
            await conn.execution_options(**{BEGIN_OPTION: "BEGIN IMMEDIATE"})
        async with conn.begin():
            if ordered and not profile.is_sqlite:
                await conn.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": POSITION_LOCK_KEY}
                )
            yield conn


@contextlib.asynccontextmanager
async def process_write_lock(profile: EngineProfile) -> AsyncIterator[None]:
    """This process's writers of a SQLite file queue here rather than on its busy timeout."""
    if profile.write_lock is None:
        yield
    else:
        async with profile.write_lock:
            yield


async def rollback_driver(conn: AsyncConnection, driver: Any) -> None:
    """End a failed transaction begun on `conn`'s driver connection; a connection that
    cannot is dropped from the pool."""
    try:
        await driver.execute("ROLLBACK")
    except Exception:  # noqa: BLE001 - already failing: the first error is the one to report
        with contextlib.suppress(Exception):
            await conn.invalidate()


@contextlib.asynccontextmanager
async def translated_errors(profile: EngineProfile) -> AsyncIterator[None]:
    """Turn driver and network errors into one-line StoreErrors naming the redacted URL."""
    try:
        yield
    except EventdeckError:
        raise
    except DBAPIError as exc:
        if _refused_as_read_only(exc):
            raise ReadOnlyError(read_only_refusal("write to the store")) from exc
        raise StoreError(describe_error(profile, _reason(exc.orig or exc))) from exc
    except (OSError, TimeoutError) as exc:
        raise StoreError(describe_error(profile, _reason(exc))) from exc


def _refused_as_read_only(exc: DBAPIError) -> bool:
    """The database refused a write because it was opened read-only."""
    orig = exc.orig
    if getattr(orig, "sqlstate", None) == PG_READ_ONLY_TRANSACTION:
        return True
    if getattr(orig, "sqlite_errorname", "").startswith("SQLITE_READONLY"):
        return True
    text = str(orig or exc)
    return "attempt to write a readonly database" in text or "read-only transaction" in text


def describe_error(profile: EngineProfile, reason: str) -> str:
    """One line saying what went wrong with the store and what to check."""
    if profile.is_sqlite:
        if "locked" in reason or "busy" in reason:
            return (
                f"the SQLite store {profile.display_url} stayed locked by another writer for "
                f"more than {profile.busy_timeout:g} s; nothing was written by this operation. "
                "Retry, or look for a stuck eventdeck process using the same file "
                f"(to wait longer, set {BUSY_TIMEOUT_ENV}=30)"
            )
        return (
            f"cannot use the SQLite store {profile.display_url}: {reason}; check that the path "
            "is an eventdeck database and that its folder is writable"
        )
    return (
        f"cannot use PostgreSQL at {profile.display_url}: {reason}; check that the server is "
        "running and that the host, port, user, password and database name are right"
    )


def _reason(exc: BaseException) -> str:
    # A driver's message may quote the DSN or the connect arguments.
    lines = [line.strip() for line in hide_secrets(str(exc)).splitlines() if line.strip()]
    reason = lines[0] if lines else type(exc).__name__
    # SQLAlchemy prefixes driver messages with the exception's class path.
    return reason.split(") ", 1)[1] if reason.startswith("(") and ") " in reason else reason
