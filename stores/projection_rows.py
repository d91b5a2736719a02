"""Rows of the projection tables and the statements a batch commit runs.

Kept apart from `SqlProjectionStore`, which decides *when* they run (in which
transaction, after which compare-and-set).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Iterator, Mapping, Sequence
from types import SimpleNamespace
from typing import Any, TypeVar

import orjson
from sqlalchemy import ColumnElement, Select, bindparam, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from core.checkpoints import Checkpoint, ProjectionStatus
from core.dead_letters import (
    DeadLetter,
    DeadLetterStatus,
    DeadLetterUpdate,
    NewDeadLetter,
    ParkedEvent,
)
from core.errors import StoreError
from core.projection_store import Cursor
from core.projections import Document

from .engine import profile_of
from .schema import checkpoints, dead_letters, parked_events, parse_stored_time, read_models
from .transactions import describe_error

#: Items per `IN (...)` list or multi-row statement: far below SQLite's variable limit.
CHUNK = 900

T = TypeVar("T")
REBUILDING = ProjectionStatus.REBUILDING.value


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def checkpoint_of(row: Any) -> Checkpoint:
    return Checkpoint(
        name=row.name,
        generation=row.generation,
        position=row.position,
        status=ProjectionStatus(row.status),
        revision=row.revision,
        projection_version=row.projection_version,
        last_event_at=row.last_event_at,
        updated_at=row.updated_at,
        owner=row.owner,
        lease_expires_at=row.lease_expires_at,
        events_per_second=row.events_per_second,
    )


def cursor_query() -> Select[Any]:
    """A generation's checkpoint row and, as a JSON array, its blocked streams (those of
    its open dead letters): one statement, so one snapshot (for SqliteReads)."""
    d, c = dead_letters.c, checkpoints.c
    blocked = (
        select(func.json_group_array(d.stream_id.distinct()))
        .where(
            d.projection == c.name,
            d.generation == c.generation,
            d.status == DeadLetterStatus.OPEN.value,
        )
        .scalar_subquery()
    )
    return select(*checkpoints.c, blocked).where(
        c.name == bindparam("name"), c.generation == bindparam("generation")
    )


def cursor_of(values: Sequence[Any]) -> Cursor:
    """A Cursor from a `cursor_query` row as the driver returns it (times as stored text)."""
    *columns, blocked = values
    row = dict(zip(checkpoints.c.keys(), columns, strict=True))
    for name in ("last_event_at", "updated_at", "lease_expires_at"):
        if row[name] is not None:
            row[name] = parse_stored_time(row[name])
    return Cursor(checkpoint_of(SimpleNamespace(**row)), frozenset(json.loads(blocked)))


def documents_query() -> Select[Any]:
    """The documents of some keys (a JSON array) of one generation (for SqliteReads: one
    statement whatever the number of keys)."""
    r = read_models.c
    wanted = func.json_each(bindparam("keys")).table_valued("value")
    return select(r.key, r.doc).where(
        r.view == bindparam("view"),
        r.generation == bindparam("generation"),
        r.key.in_(select(wanted.c.value)),
    )


def checkpoint_row(checkpoint: Checkpoint) -> dict[str, Any]:
    return checkpoint.model_dump() | {"status": checkpoint.status.value}


def active_generation(name: Any) -> Any:
    """A scalar subquery: the generation of `name`'s active checkpoint."""
    return (
        select(checkpoints.c.generation)
        .where(checkpoints.c.name == name, checkpoints.c.status != REBUILDING)
        .scalar_subquery()
    )


def is_active(projection_column: Any, generation_column: Any) -> ColumnElement[bool]:
    """Whether a row's (projection, generation) is that projection's active generation."""
    condition: ColumnElement[bool] = generation_column == (
        select(checkpoints.c.generation)
        .where(checkpoints.c.name == projection_column, checkpoints.c.status != REBUILDING)
        .scalar_subquery()
    )
    return condition


def parked_count() -> Any:
    """A correlated count of the events parked behind each open dead letter."""
    return (
        select(func.count())
        .select_from(parked_events)
        .where(
            parked_events.c.projection == dead_letters.c.projection,
            parked_events.c.generation == dead_letters.c.generation,
            parked_events.c.stream_id == dead_letters.c.stream_id,
            parked_events.c.position > dead_letters.c.position,
            dead_letters.c.status == DeadLetterStatus.OPEN.value,
        )
        .scalar_subquery()
    )


def dead_letter_query() -> Select[Any]:
    return select(*dead_letters.c, parked_count().label("parked"))


def dead_letter_filters(
    *,
    projection: str | None,
    status: DeadLetterStatus | None,
    stream: str | None,
    text: str | None,
) -> list[ColumnElement[bool]]:
    """The WHERE conditions of a dead-letter listing (see `core.dead_letters.matches_search`:
    case-insensitive, `%` and `_` taken literally)."""
    d = dead_letters.c
    conditions: list[ColumnElement[bool]] = []
    if projection is not None:
        conditions.append(d.projection == projection)
    if status is not None:
        conditions.append(d.status == status.value)
    if stream:
        conditions.append(d.stream_id.istartswith(stream, autoescape=True))
    if text:
        conditions.append(
            or_(
                *(
                    column.icontains(text, autoescape=True)
                    for column in (d.stream_id, d.event_type, d.error)
                )
            )
        )
    return conditions


def dead_letter_of(row: Any) -> DeadLetter:
    return DeadLetter(
        id=row.id,
        projection=row.projection,
        generation=row.generation,
        position=row.position,
        event_id=row.event_id,
        stream_id=row.stream_id,
        event_type=row.event_type,
        error=row.error,
        traceback=row.traceback,
        attempts=row.attempts,
        status=DeadLetterStatus(row.status),
        first_failed_at=row.first_failed_at,
        last_failed_at=row.last_failed_at,
        parked=row.parked or 0,
    )


def parked_of(row: Any) -> ParkedEvent:
    return ParkedEvent(
        position=row.position,
        event_id=row.event_id,
        stream_id=row.stream_id,
        event_type=row.event_type,
        parked_at=row.parked_at,
    )


def load_document(text: str, view: str = "", key: str = "") -> Document:
    """A stored document; StoreError if it is not a JSON object (damaged outside eventdeck)."""
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise StoreError(
            f"document {key!r} of read model {view!r} is not a JSON object; "
            f"rebuild it with `eventdeck rebuild {view}`"
        )
    return value


# -- writes of a batch ------------------------------------------------------------------


#: SQLite's upsert of a batch's documents in one statement: parameters view, generation
#: and a JSON object of key -> document text, which `json_each` takes apart in C. One
#: statement is one step of the driver, so the driver's thread holds the GIL once rather
#: than once a row (an executemany), and Python goes on meanwhile. `WHERE true` tells the
#: parser that ON CONFLICT belongs to the INSERT, not to the SELECT's join.
_SQLITE_UPSERT = (
    'INSERT INTO read_models ("view", generation, "key", doc) '
    "SELECT ?, ?, entry.key, entry.value FROM json_each(?) AS entry WHERE true "
    'ON CONFLICT ("view", generation, "key") DO UPDATE SET doc = excluded.doc'
)
_json_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _json_object(docs: Mapping[str, str]) -> str:
    """The documents as one JSON object of key -> document text, for json_each.

    orjson writes it several times faster than the json module (a batch's object is
    hundreds of kilobytes, encoded while the commit holds the write lock); what
    orjson refuses (a lone surrogate) is written by the json module as before."""
    try:
        return orjson.dumps(docs).decode()
    except TypeError:  # orjson.JSONEncodeError: a lone surrogate, a dict subclass...
        return _json_encode(docs)


async def upsert_documents(
    conn: AsyncConnection, is_sqlite: bool, view: str, generation: int, docs: Mapping[str, str]
) -> None:
    if not docs:
        return
    if is_sqlite:
        # On the driver connection, in the transaction `conn` began: no per-row
        # parameter processing by SQLAlchemy either (a batch writes thousands).
        driver: Any = (await conn.get_raw_connection()).driver_connection
        try:
            await driver.execute(_SQLITE_UPSERT, (view, generation, _json_object(docs)))
        except sqlite3.Error as exc:
            raise StoreError(describe_error(profile_of(conn.engine), str(exc))) from exc
        return
    from sqlalchemy.dialects import postgresql  # ~25 ms to import: PostgreSQL only

    insert = postgresql.insert(read_models)
    statement = insert.on_conflict_do_update(
        index_elements=[read_models.c.view, read_models.c.generation, read_models.c.key],
        set_={"doc": insert.excluded.doc},
    )
    params = [{"view": view, "generation": generation, "key": k, "doc": d} for k, d in docs.items()]
    await conn.execute(statement, params)


async def delete_documents(
    conn: AsyncConnection, view: str, generation: int, keys: Collection[str]
) -> None:
    for part in chunks(sorted(keys)):
        await conn.execute(
            delete(read_models).where(
                read_models.c.view == view,
                read_models.c.generation == generation,
                read_models.c.key.in_(part),
            )
        )


async def insert_dead_letters(
    conn: AsyncConnection, name: str, generation: int, new: Collection[NewDeadLetter]
) -> None:
    if not new:
        return
    rows = [
        {
            "projection": name,
            "generation": generation,
            "position": d.position,
            "event_id": d.event_id,
            "stream_id": d.stream_id,
            "event_type": d.event_type,
            "error": d.error,
            "traceback": d.traceback,
            "attempts": d.attempts,
            "status": DeadLetterStatus.OPEN.value,
            "first_failed_at": d.failed_at,
            "last_failed_at": d.failed_at,
        }
        for d in new
    ]
    await conn.execute(dead_letters.insert(), rows)


async def update_dead_letters(conn: AsyncConnection, changes: Collection[DeadLetterUpdate]) -> None:
    for change in changes:
        values: dict[str, Any] = {
            "status": change.status.value,
            "attempts": change.attempts,
            "last_failed_at": change.last_failed_at,
        }
        if change.error is not None:
            values["error"] = change.error
        if change.traceback is not None:
            values["traceback"] = change.traceback
        await conn.execute(
            update(dead_letters).where(dead_letters.c.id == change.id).values(values)
        )


async def park(
    conn: AsyncConnection, name: str, generation: int, events: Collection[ParkedEvent]
) -> None:
    if not events:
        return
    rows = [event.model_dump() | {"projection": name, "generation": generation} for event in events]
    await conn.execute(parked_events.insert(), rows)


async def unpark(
    conn: AsyncConnection, name: str, generation: int, positions: Collection[int]
) -> None:
    if not positions:
        return
    statement = delete(parked_events).where(
        parked_events.c.projection == name,
        parked_events.c.generation == generation,
        parked_events.c.position == bindparam("p"),
    )
    await conn.execute(statement, [{"p": position} for position in positions])


async def delete_generation_data(conn: AsyncConnection, name: str, generation: int) -> None:
    """A generation's documents, dead letters and parked events (not its checkpoint)."""
    for table, column in (
        (read_models, read_models.c.view),
        (dead_letters, dead_letters.c.projection),
        (parked_events, parked_events.c.projection),
    ):
        await conn.execute(delete(table).where(column == name, table.c.generation == generation))
