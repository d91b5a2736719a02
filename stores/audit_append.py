"""An operator event appended inside another write transaction (BatchCommit.audit).

A dead-letter retry or skip and the operator event recording it commit together:
the projection store writes the event into the `events` table (and its stream's
row) within its own commit's transaction, which shares the event store's
database. On PostgreSQL the position advisory lock is taken first, as every
append takes it (stores/transactions.py), so positions still commit in order
and the stream's version read here cannot move before the commit; on SQLite
the transaction already holds the file's write lock (BEGIN IMMEDIATE).
"""

from __future__ import annotations

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from core.errors import StoreError
from core.projection_store import AuditAppend

from .notifications import NOTIFY_CHANNEL
from .records import event_row
from .schema import events as event_table
from .schema import streams
from .storable import check_append
from .transactions import POSITION_LOCK_KEY


async def append_audit(conn: AsyncConnection, audit: AuditAppend, *, sqlite: bool) -> int:
    """Append `audit.event` at its stream's next version in `conn`'s open write
    transaction; its position. StoreError (the transaction then writes nothing) if the
    stream exists with another type."""
    check_append(audit.stream_id, audit.stream_type, [audit.event])
    if not sqlite:
        await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": POSITION_LOCK_KEY})
    current = (
        await conn.execute(
            select(streams.c.version, streams.c.stream_type).where(
                streams.c.stream_id == audit.stream_id
            )
        )
    ).first()
    if current is not None and current.stream_type != audit.stream_type:
        raise StoreError(
            f"stream {audit.stream_id!r} is a {current.stream_type}, not an "
            f"{audit.stream_type} stream; the operator event and what it records were not written"
        )
    version = (current.version if current is not None else 0) + 1
    row = event_row(audit.stream_id, audit.stream_type, version, audit.event)
    at = row["recorded_at"]
    if current is None:
        await conn.execute(
            streams.insert().values(
                stream_id=audit.stream_id,
                stream_type=audit.stream_type,
                version=version,
                created_at=at,
                updated_at=at,
            )
        )
    else:
        await conn.execute(
            update(streams)
            .where(streams.c.stream_id == audit.stream_id)
            .values(version=version, updated_at=at)
        )
    await conn.execute(event_table.insert().values(row))
    position = int(await conn.scalar(select(func.max(event_table.c.position))) or 0)
    if not sqlite:
        # Delivered at commit, to live runners LISTENing (stores/notifications.py).
        await conn.execute(
            text("SELECT pg_notify(:channel, :payload)"),
            {"channel": NOTIFY_CHANNEL, "payload": str(position)},
        )
    return position
