"""Export and import of stored events: `core.ports.EventTransfer` on SQLite or PostgreSQL.

The export reads the raw rows (payload and metadata as stored, never upcast)
page by page up to the head it saw first, so a live store exports a consistent
prefix. The import writes one batch per transaction with one `executemany` per
table, under the same lock as every append (`writing(ordered=True)`: BEGIN
IMMEDIATE on SQLite, the position advisory lock on PostgreSQL), so the versions
it checks cannot move before it commits and the positions it takes commit in
order for live readers. A batch that writes events appends its operator record
(EventsImported, built by the caller once the positions are known) after them
in the same transaction (stores/audit_append.py).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from core.clock import ensure_utc
from core.errors import CorruptRecord, StoreError
from core.event_transfer import (
    ImportAudit,
    ImportBatchResult,
    ImportedBatch,
    ImportLine,
    ImportRejected,
    TransferredEvent,
)

from .audit_append import append_audit
from .engine import profile_of
from .notifications import NOTIFY_CHANNEL
from .pages import event_pages
from .records import dump_json
from .schema import events as event_table
from .schema import streams
from .transactions import reading, writing

if TYPE_CHECKING:
    from core.ports import EventTransfer

#: The columns an export reads, in `_exported`'s order.
_EXPORT_COLUMNS = (
    event_table.c.position,
    event_table.c.event_id,
    event_table.c.stream_id,
    event_table.c.stream_type,
    event_table.c.version,
    event_table.c.type,
    event_table.c.schema_version,
    event_table.c.recorded_at,
    event_table.c.data,
    event_table.c["metadata"],
)
#: The most ids one `IN (...)` lists.
_IN_CHUNK = 500
#: The correlation_id column's size.
_CORRELATION_LENGTH = 255


class SqlEventTransfer:
    """Moves events out of and into the store of `engine` exactly (see the module doc)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._is_sqlite = profile_of(engine).is_sqlite

    async def export_events(
        self, *, since: datetime | None = None, page_size: int = 1000
    ) -> AsyncIterator[TransferredEvent]:
        """Every event up to the current head (recorded at or after `since`), in position
        order, one short transaction per page (keyset pagination, constant memory)."""
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        async with reading(self._engine) as conn:
            head = int(await conn.scalar(select(func.max(event_table.c.position))) or 0)
        conditions = [event_table.c.position <= head]
        if since is not None:
            conditions.append(event_table.c.recorded_at >= since)
        async for rows in event_pages(
            self._engine, _EXPORT_COLUMNS, conditions, after=0, page_size=page_size
        ):
            for row in rows:
                yield _exported(row)

    async def import_batch(
        self, batch: Sequence[ImportLine], *, audit: ImportAudit | None = None
    ) -> ImportBatchResult:
        """Append the batch's new events in its order, then (if it wrote any) `audit`'s
        operator event recording them, in one transaction (see the port)."""
        if not batch:
            return ImportBatchResult(0, 0)
        # Encode before taking the lock: a line the store cannot hold fails alone.
        encoded = [_row(line) for line in batch]
        async with writing(self._engine, ordered=True) as conn:
            if not self._is_sqlite:
                # The look-ups below are up to 1,000 keys on unique indexes. Right after
                # a bulk import the planner's statistics still see a small table and
                # pick sequential scans, one per batch; an index scan is always right.
                await conn.execute(text("SET LOCAL enable_seqscan = off"))
            present = await _stored_places(conn, [line.event.event_id for line in batch])
            current = await _stream_versions(conn, {line.event.stream_id for line in batch})
            rows, skipped = _accept(batch, encoded, present, current)
            if rows:
                await self._write(conn, batch[0].number, rows, current)
                if audit is not None:
                    first, last = await _positions(conn, rows[0], rows[-1])
                    record = audit(ImportedBatch(len(rows), skipped, first, last))
                    await append_audit(conn, record, sqlite=self._is_sqlite)
        return ImportBatchResult(len(rows), skipped)

    async def _write(
        self,
        conn: AsyncConnection,
        first_line: int,
        rows: list[dict[str, Any]],
        before: dict[str, tuple[int, str]],
    ) -> None:
        """Insert the streams' rows and the events (one executemany each)."""
        created: dict[str, dict[str, Any]] = {}
        moved: dict[str, dict[str, Any]] = {}
        for row in rows:
            sid = row["stream_id"]
            if sid in created:
                created[sid].update(version=row["version"], updated_at=row["recorded_at"])
            elif sid not in before:
                created[sid] = {
                    "stream_id": sid,
                    "stream_type": row["stream_type"],
                    "version": row["version"],
                    "created_at": row["recorded_at"],
                    "updated_at": row["recorded_at"],
                }
            else:
                moved[sid] = {
                    "sid": sid,
                    "new_version": row["version"],
                    "new_updated_at": row["recorded_at"],
                }
        try:
            if created:
                await conn.execute(streams.insert(), list(created.values()))
            if moved:
                await conn.execute(
                    update(streams)
                    .where(streams.c.stream_id == bindparam("sid"))
                    .values(
                        version=bindparam("new_version"), updated_at=bindparam("new_updated_at")
                    ),
                    list(moved.values()),
                )
            # No RETURNING: a plain executemany, in file order, so positions follow it.
            await conn.execute(event_table.insert(), rows)
        except IntegrityError as exc:
            # Cannot happen under the lock unless something wrote without it.
            raise ImportRejected(
                first_line,
                f"the store took a conflicting event meanwhile ({exc.orig})",
                "nothing from this line on was written; run the same import again",
            ) from None
        if not self._is_sqlite:
            # Wake live runners LISTENing (stores/notifications.py), at commit.
            head = await conn.scalar(select(func.max(event_table.c.position)))
            await conn.execute(
                text("SELECT pg_notify(:channel, :payload)"),
                {"channel": NOTIFY_CHANNEL, "payload": str(head)},
            )


def _accept(
    batch: Sequence[ImportLine],
    encoded: list[dict[str, Any]],
    present: dict[str, tuple[str, int]],
    current: dict[str, tuple[int, str]],
) -> tuple[list[dict[str, Any]], int]:
    """The rows to insert, in order, and how many lines were already stored.

    `present` gains the accepted events (a line repeated in the batch is skipped
    like a stored one). Raises ImportRejected for the first line that does not fit.
    """
    rows: list[dict[str, Any]] = []
    skipped = 0
    versions = dict(current)
    for line, row in zip(batch, encoded, strict=True):
        event = line.event
        place = present.get(event.event_id)
        if place is not None:
            if place != (event.stream_id, event.version):
                raise ImportRejected(
                    line.number,
                    f"event id {event.event_id} is already stored as {place[0]}@{place[1]}, "
                    f"not {event.stream_id}@{event.version}; an event id names one event",
                )
            skipped += 1
            continue
        version, kind = versions.get(event.stream_id, (0, event.stream_type))
        if kind != event.stream_type:
            raise ImportRejected(
                line.number,
                f"stream {event.stream_id} is a {kind} stream in this store, "
                f"the line's event is for a {event.stream_type} stream",
            )
        if event.version != version + 1:
            raise ImportRejected(
                line.number,
                f"event {event.event_id} is version {event.version} of stream "
                f"{event.stream_id}, which is at version {version} here (the next must be "
                f"{version + 1}); import into a store holding the stream's earlier events, "
                "or export them too (without --since)",
            )
        versions[event.stream_id] = (event.version, event.stream_type)
        present[event.event_id] = (event.stream_id, event.version)
        rows.append(row)
    return rows, skipped


def _row(line: ImportLine) -> dict[str, Any]:
    """The `events` row of an imported line (ImportRejected if the store cannot hold it)."""
    event = line.event
    correlation = event.correlation_id
    if correlation is not None and len(correlation) > _CORRELATION_LENGTH:
        raise ImportRejected(
            line.number, f"metadata.correlation_id is longer than {_CORRELATION_LENGTH}"
        )
    try:
        data = dump_json(event.data, "data")
        metadata = dump_json(event.metadata, "metadata")
    except StoreError as exc:
        raise ImportRejected(line.number, str(exc).split(";")[0]) from None
    return {
        "event_id": event.event_id,
        "stream_id": event.stream_id,
        "stream_type": event.stream_type,
        "version": event.version,
        "type": event.type,
        "schema_version": event.schema_version,
        "data": data,
        "metadata": metadata,
        "correlation_id": correlation,
        "recorded_at": ensure_utc(event.recorded_at),
    }


async def _positions(
    conn: AsyncConnection, first: dict[str, Any], last: dict[str, Any]
) -> tuple[int, int]:
    """The positions the first and the last row just inserted took (by event id)."""
    rows = await conn.execute(
        select(event_table.c.event_id, event_table.c.position).where(
            event_table.c.event_id.in_([first["event_id"], last["event_id"]])
        )
    )
    taken = {row.event_id: int(row.position) for row in rows}
    return taken[first["event_id"]], taken[last["event_id"]]


async def _stored_places(conn: AsyncConnection, event_ids: list[str]) -> dict[str, tuple[str, int]]:
    """Where each of `event_ids` already stored is: event id -> (stream, version)."""
    found: dict[str, tuple[str, int]] = {}
    ids = sorted(set(event_ids))
    for start in range(0, len(ids), _IN_CHUNK):
        rows = await conn.execute(
            select(event_table.c.event_id, event_table.c.stream_id, event_table.c.version).where(
                event_table.c.event_id.in_(ids[start : start + _IN_CHUNK])
            )
        )
        found.update({row.event_id: (row.stream_id, row.version) for row in rows})
    return found


async def _stream_versions(
    conn: AsyncConnection, stream_ids: set[str]
) -> dict[str, tuple[int, str]]:
    """Each existing stream's version and type now (under the write lock)."""
    found: dict[str, tuple[int, str]] = {}
    ids = sorted(stream_ids)
    for start in range(0, len(ids), _IN_CHUNK):
        rows = await conn.execute(
            select(streams.c.stream_id, streams.c.version, streams.c.stream_type).where(
                streams.c.stream_id.in_(ids[start : start + _IN_CHUNK])
            )
        )
        found.update({row.stream_id: (row.version, row.stream_type) for row in rows})
    return found


def _exported(row: Any) -> TransferredEvent:
    (position, event_id, stream_id, stream_type, version, type_, schema_version) = row[:7]
    recorded_at, data_text, metadata_text = row[7:]
    return TransferredEvent.model_construct(
        position=position,
        event_id=event_id,
        stream_id=stream_id,
        stream_type=stream_type,
        version=version,
        type=type_,
        schema_version=schema_version,
        recorded_at=ensure_utc(recorded_at),
        data=_stored_object(data_text, "data", position, stream_id),
        metadata=_stored_object(metadata_text, "metadata", position, stream_id),
    )


def _stored_object(text: str, column: str, position: int, stream_id: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except (TypeError, ValueError) as exc:
        raise CorruptRecord(
            position, stream_id, f"invalid JSON in {column} ({exc}); the export stops here"
        ) from None
    if not isinstance(value, dict):
        raise CorruptRecord(
            position, stream_id, f"{column} is not a JSON object; the export stops here"
        )
    return value


if TYPE_CHECKING:

    def _conforms(transfer: SqlEventTransfer) -> EventTransfer:
        return transfer
