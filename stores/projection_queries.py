"""The read side of the SQL projection store: documents (active generation unless
told), dead letters with their parked counts, parked events.

A mixin of `SqlProjectionStore` (stores/projection_store.py), which owns the writes.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.dead_letters import DeadLetter, DeadLetterStatus, DeadLetterTally, ParkedEvent
from core.projections import Document

from .projection_rows import (
    active_generation,
    chunks,
    dead_letter_filters,
    dead_letter_of,
    dead_letter_query,
    is_active,
    load_document,
    parked_count,
    parked_of,
)
from .schema import dead_letters, parked_events, read_models
from .transactions import reading


class ProjectionQueries:
    """Reads of read models, dead letters and parked events."""

    _engine: AsyncEngine

    # -- read models ------------------------------------------------------------------

    async def get_documents(
        self, view: str, generation: int, keys: Collection[str]
    ) -> dict[str, Document]:
        found: dict[str, Document] = {}
        wanted = sorted(keys)
        if not wanted:
            return found
        async with reading(self._engine) as conn:
            for part in chunks(wanted):
                rows = await conn.execute(
                    select(read_models.c.key, read_models.c.doc).where(
                        read_models.c.view == view,
                        read_models.c.generation == generation,
                        read_models.c.key.in_(part),
                    )
                )
                for key, doc in rows:
                    found[key] = load_document(doc, view, key)
        return found

    async def get_document(self, view: str, key: str) -> Document | None:
        statement = select(read_models.c.doc).where(
            read_models.c.view == view,
            read_models.c.generation == active_generation(view),
            read_models.c.key == key,
        )
        async with reading(self._engine) as conn:
            doc = await conn.scalar(statement)
        return load_document(doc, view, key) if doc is not None else None

    async def list_documents(
        self, view: str, *, limit: int | None = None, offset: int = 0
    ) -> list[tuple[str, Document]]:
        statement = (
            select(read_models.c.key, read_models.c.doc)
            .where(
                read_models.c.view == view,
                read_models.c.generation == active_generation(view),
            )
            .order_by(read_models.c.key)
            .offset(max(offset, 0))
        )
        if limit is not None:
            statement = statement.limit(max(limit, 0))
        async with reading(self._engine) as conn:
            rows = (await conn.execute(statement)).all()
        return [(key, load_document(doc, view, key)) for key, doc in rows]

    async def count_documents(self, view: str, generation: int | None = None) -> int:
        wanted = active_generation(view) if generation is None else generation
        statement = (
            select(func.count())
            .select_from(read_models)
            .where(read_models.c.view == view, read_models.c.generation == wanted)
        )
        async with reading(self._engine) as conn:
            return int(await conn.scalar(statement) or 0)

    # -- dead letters -----------------------------------------------------------------

    async def dead_letters(
        self,
        *,
        projection: str | None = None,
        status: DeadLetterStatus | None = None,
        generation: int | None = None,
        stream: str | None = None,
        text: str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[DeadLetter]:
        d = dead_letters.c
        statement = dead_letter_query().where(
            *dead_letter_filters(projection=projection, status=status, stream=stream, text=text)
        )
        if generation is not None:
            statement = statement.where(d.generation == generation)
        else:
            statement = statement.where(is_active(d.projection, d.generation))
        statement = statement.order_by(d.projection, d.position, d.id).offset(max(offset, 0))
        if limit is not None:
            statement = statement.limit(max(limit, 0))
        async with reading(self._engine) as conn:
            rows = (await conn.execute(statement)).all()
        return [dead_letter_of(row) for row in rows]

    async def dead_letters_at(self, positions: Collection[int]) -> list[DeadLetter]:
        d = dead_letters.c
        found: list[DeadLetter] = []
        async with reading(self._engine) as conn:
            for part in chunks(sorted(set(positions))):
                statement = dead_letter_query().where(
                    d.position.in_(part), is_active(d.projection, d.generation)
                )
                found.extend(dead_letter_of(row) for row in await conn.execute(statement))
        return sorted(found, key=lambda dl: (dl.position, dl.projection, dl.id))

    async def dead_letter(self, dead_letter_id: int) -> DeadLetter | None:
        statement = dead_letter_query().where(dead_letters.c.id == dead_letter_id)
        async with reading(self._engine) as conn:
            row = (await conn.execute(statement)).first()
        return dead_letter_of(row) if row is not None else None

    async def dead_letter_counts(self) -> dict[str, int]:
        d = dead_letters.c
        statement = (
            select(d.projection, func.count())
            .where(d.status == DeadLetterStatus.OPEN.value, is_active(d.projection, d.generation))
            .group_by(d.projection)
        )
        async with reading(self._engine) as conn:
            rows = (await conn.execute(statement)).all()
        return {name: int(count) for name, count in rows}

    async def dead_letter_tally(
        self,
        *,
        projection: str | None = None,
        status: DeadLetterStatus | None = None,
        stream: str | None = None,
        text: str | None = None,
    ) -> DeadLetterTally:
        d = dead_letters.c
        matching = select(d.projection, d.stream_id, parked_count().label("parked")).where(
            *dead_letter_filters(projection=projection, status=status, stream=stream, text=text),
            is_active(d.projection, d.generation),
        )
        found = matching.subquery()
        totals = select(func.count(), func.coalesce(func.sum(found.c.parked), 0)).select_from(found)
        pairs = select(found.c.projection, found.c.stream_id).distinct().subquery()
        async with reading(self._engine) as conn:
            entries, parked = (await conn.execute(totals)).one()
            streams = await conn.scalar(select(func.count()).select_from(pairs))
        return DeadLetterTally(entries=int(entries), streams=int(streams or 0), parked=int(parked))

    async def parked_events(
        self, name: str, generation: int, stream_id: str | None = None
    ) -> list[ParkedEvent]:
        p = parked_events.c
        statement = select(parked_events).where(p.projection == name, p.generation == generation)
        if stream_id is not None:
            statement = statement.where(p.stream_id == stream_id)
        async with reading(self._engine) as conn:
            rows = (await conn.execute(statement.order_by(p.position))).all()
        return [parked_of(row) for row in rows]
