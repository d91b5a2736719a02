"""Keyset pages of the `events` table: the way every whole-log reader walks it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Row, select
from sqlalchemy.ext.asyncio import AsyncEngine

from .schema import events as event_table
from .transactions import reading


async def event_pages(
    engine: AsyncEngine,
    columns: Sequence[Any],
    conditions: Sequence[ColumnElement[bool]],
    *,
    after: int,
    page_size: int,
) -> AsyncIterator[Sequence[Row[Any]]]:
    """Rows after position `after` matching `conditions`, in position order, a page at
    a time: `position > last` each time, so every page costs the same however deep
    the reader is, and each is its own short read (no transaction held while the
    caller works). `columns` must start with the position."""
    last = after
    while True:
        statement = (
            select(*columns)
            .where(event_table.c.position > last, *conditions)
            .order_by(event_table.c.position)
            .limit(page_size)
        )
        async with reading(engine) as conn:
            rows = (await conn.execute(statement)).all()
        if rows:
            yield rows
        if len(rows) < page_size:
            return
        last = rows[-1][0]
