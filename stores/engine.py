"""Database URLs and engines: which URLs eventdeck accepts and how it connects.

SQLite runs in WAL mode with a busy timeout and `synchronous=FULL`. SQLAlchemy
takes over BEGIN from the sqlite3 driver (the recipe in SQLAlchemy's SQLite
dialect docs, "Enabling Non-Legacy SQLite Transactional Modes"): reads begin
with a plain deferred `BEGIN`, writes with `BEGIN IMMEDIATE`, so that several
processes writing one file queue on the busy timeout instead of deadlocking
when a deferred read lock tries to upgrade to a write lock.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import re
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from core.errors import StoreError

from .secrets import redact_url, remember_secrets

__all__ = ["EngineProfile", "make_engine", "normalise_url", "profile_of", "redact_url"]

#: Seconds a SQLite writer waits for another process's write lock before giving up.
BUSY_TIMEOUT_SECONDS = 10.0
#: Environment variable setting that wait instead (seconds, e.g. 30 for a busy file).
BUSY_TIMEOUT_ENV = "EVENTDECK_SQLITE_BUSY_TIMEOUT"
#: Seconds to wait for a PostgreSQL connection before reporting it unreachable.
CONNECT_TIMEOUT_SECONDS = 10.0

#: Execution option naming the statement that opens a transaction on SQLite.
BEGIN_OPTION = "eventdeck_sqlite_begin"

VALID_URLS = (
    "use a SQLite file (eventdeck.db, ./data/eventdeck.db, sqlite:///path/to/file.db) "
    "or PostgreSQL (postgresql://user@host:5432/dbname)"
)

# "scheme:" without "//" (but not a Windows drive letter): a mistyped URL, not a file name.
_SCHEME_WITHOUT_SLASHES = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]+:")


@dataclass
class EngineProfile:
    """What the stores need to know about an engine built by `make_engine`."""

    dialect: str  # "sqlite" or "postgresql"
    display_url: str  # password hidden: safe to print
    busy_timeout: float = BUSY_TIMEOUT_SECONDS
    #: Opened read-only: the database itself refuses writes (see `make_engine`).
    read_only: bool = False
    # SQLite allows one writer per file; queueing this process's writers here
    # keeps them from spinning on the file lock (other processes still wait on it).
    write_lock: asyncio.Lock | None = field(default=None)

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"


_PROFILES: weakref.WeakKeyDictionary[Engine, EngineProfile] = weakref.WeakKeyDictionary()


def normalise_url(url: str) -> URL:
    """Parse a user's `--db` value into an async SQLAlchemy URL, or raise StoreError."""
    text = url.strip()
    if not text:
        raise StoreError(f"no database URL given: {VALID_URLS}")
    if "://" not in text:
        if _SCHEME_WITHOUT_SLASHES.match(text):
            raise StoreError(f"cannot parse database URL {redact_url(text)!r}: {VALID_URLS}")
        return _sqlite_url(text, text)
    try:
        parsed = make_url(text)
    except (ArgumentError, ValueError):
        raise StoreError(f"cannot parse database URL {redact_url(text)!r}: {VALID_URLS}") from None
    backend, _, driver = parsed.drivername.partition("+")
    if backend == "sqlite" and driver in ("", "aiosqlite"):
        return _sqlite_url(parsed.database or "", text, parsed.query)
    if backend in ("postgresql", "postgres") and driver in ("", "asyncpg"):
        if not _has_asyncpg():
            raise StoreError(
                "PostgreSQL support needs the asyncpg driver, which is not installed: "
                "pip install 'eventdeck[postgres]'"
            )
        query = dict(parsed.query)
        if "sslmode" in query and "ssl" not in query:
            # libpq's name (what users write); asyncpg takes the same values as `ssl`.
            query["ssl"] = query.pop("sslmode")
        return parsed.set(drivername="postgresql+asyncpg", query=query)
    raise StoreError(f"unsupported database URL {redact_url(text)!r}: {VALID_URLS}")


def _has_asyncpg() -> bool:
    return importlib.util.find_spec("asyncpg") is not None


def _sqlite_url(database: str, original: str, query: Any = None) -> URL:
    if database in ("", ":memory:") or database.startswith("file::memory:"):
        raise StoreError(
            f"in-memory SQLite ({redact_url(original)!r}) is not supported: "
            "give a file path such as eventdeck.db"
        )
    path = Path(database).expanduser()
    parent = path.parent
    if not parent.is_dir():
        raise StoreError(
            f"cannot open SQLite file {str(path)!r}: folder {str(parent)!r} does not exist; "
            "create it or choose another --db path"
        )
    if path.is_dir():
        raise StoreError(f"cannot open SQLite file {str(path)!r}: it is a folder; give a file path")
    if query:
        # The driver would ignore most of them with a SQLAlchemy warning (and `mode=ro`
        # would not make the store read-only): eventdeck sets up the file itself.
        raise StoreError(
            f"the SQLite URL {redact_url(original)!r} has parameters ({', '.join(query)}), "
            "which eventdeck does not take: give the file alone; to refuse writes use "
            f"--read-only, to wait longer for another writer set {BUSY_TIMEOUT_ENV}"
        )
    return URL.create("sqlite+aiosqlite", database=str(path))


def busy_timeout_setting() -> float:
    """The SQLite busy timeout: `EVENTDECK_SQLITE_BUSY_TIMEOUT` seconds if set, else
    `BUSY_TIMEOUT_SECONDS`; a value that is not a number of seconds is a StoreError."""
    text = os.environ.get(BUSY_TIMEOUT_ENV, "").strip()
    if not text:
        return BUSY_TIMEOUT_SECONDS
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= 86_400:
        raise StoreError(
            f"{BUSY_TIMEOUT_ENV}={text!r} is not a number of seconds between 0 and 86400; "
            "set it to how long a SQLite writer may wait for another's lock, e.g. 30"
        )
    return seconds


def make_engine(
    url: str, *, busy_timeout: float | None = None, read_only: bool = False
) -> AsyncEngine:
    """An async engine for `url` (see `normalise_url`); connects lazily, on first use.

    `busy_timeout` is how long a SQLite writer waits for another process's lock
    (default: `busy_timeout_setting()`).
    `read_only` opens the database so that it refuses every write itself, whatever
    the code above it does: SQLite through a `file:...?mode=ro` URI (the file must
    exist; a WAL store's -wal and -shm files are used as by any reader, so a
    read-only console follows a writer live), PostgreSQL with every transaction
    read-only (`default_transaction_read_only`).
    """
    remember_secrets(url)
    parsed = normalise_url(url)
    display = redact_url(parsed)
    try:
        if parsed.drivername.startswith("sqlite"):
            if busy_timeout is None:
                busy_timeout = busy_timeout_setting()
            # Every use ends its transaction itself (stores/transactions.py), so the
            # pool's rollback on check-in would be one more thread hop for nothing.
            engine = create_async_engine(
                _read_only_sqlite(parsed) if read_only else parsed,
                connect_args={"timeout": busy_timeout},
                pool_reset_on_return=None,
            )
            _configure_sqlite(engine.sync_engine, busy_timeout, read_only)
            profile = EngineProfile(
                "sqlite", display, busy_timeout, read_only=read_only, write_lock=asyncio.Lock()
            )
        else:
            connect_args: dict[str, Any] = {"timeout": CONNECT_TIMEOUT_SECONDS}
            if read_only:
                connect_args["server_settings"] = {"default_transaction_read_only": "on"}
            engine = create_async_engine(parsed, connect_args=connect_args)
            profile = EngineProfile("postgresql", display, read_only=read_only)
    except ImportError as exc:  # the driver is missing although find_spec saw it
        raise StoreError(f"cannot load the database driver for {display}: {exc}") from None
    _PROFILES[engine.sync_engine] = profile
    return engine


def _read_only_sqlite(parsed: URL) -> URL:
    """The SQLite URI filename that opens the file read-only (SQLAlchemy's pysqlite
    "URI connections": `uri=true` in the query, the rest goes to SQLite)."""
    path = Path(parsed.database or "").resolve()
    if not path.is_file():
        raise StoreError(
            f"no eventdeck store at {str(path)!r}: a read-only open (--read-only, doctor) never "
            "creates one; check the --db path"
        )
    return parsed.set(
        database="file:" + quote(str(path)),
        query={**parsed.query, "mode": "ro", "uri": "true"},
    )


def profile_of(engine: AsyncEngine) -> EngineProfile:
    """The profile `make_engine` recorded for `engine`."""
    try:
        return _PROFILES[engine.sync_engine]
    except KeyError:
        raise ValueError(
            "this engine was not built by stores.make_engine; build it there so SQLite "
            "transactions begin correctly"
        ) from None


def _configure_sqlite(engine: Engine, busy_timeout: float, read_only: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Stop the driver from issuing its own (late) BEGIN; `_on_begin` does it.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            cursor.execute("PRAGMA journal_mode")
            if str(cursor.fetchone()[0]).lower() != "wal" and not read_only:
                # Persistent in the file; only the first opener pays for the switch.
                cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = FULL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql(conn.get_execution_options().get(BEGIN_OPTION, "BEGIN"))
