"""The SQL projection store: `core.projection_store.ProjectionStore` on SQLite or PostgreSQL.

Semantics match `core.memory_projection_store.InMemoryProjectionStore`; the
contract tests (tests/projection_store_contract.py) run against both.

Concurrency: every commit starts with the compare-and-set UPDATE of its
checkpoint row, which on PostgreSQL also locks that row until the commit; a
rebuild's switch deletes the old checkpoint row *before* the old documents, so
a worker's in-flight commit either finishes first (and its documents are then
deleted with the rest) or finds its checkpoint gone and writes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, delete, func, insert, literal, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from core.checkpoints import Checkpoint, ProjectionStatus
from core.dead_letters import DeadLetterStatus
from core.errors import RebuildInProgress, StaleCheckpoint, UnknownProjection
from core.projection_store import AuditAppend, BatchCommit, Cursor
from core.projections import Document

from .audit_append import append_audit
from .engine import profile_of
from .projection_queries import ProjectionQueries
from .projection_rows import (
    REBUILDING,
    checkpoint_of,
    checkpoint_row,
    cursor_of,
    cursor_query,
    delete_documents,
    delete_generation_data,
    documents_query,
    insert_dead_letters,
    load_document,
    park,
    unpark,
    update_dead_letters,
    upsert_documents,
)
from .schema import checkpoints, dead_letters, parked_events, read_models
from .sqlite_reads import SqliteReads
from .transactions import reading, writing

if TYPE_CHECKING:
    from core.projection_store import ProjectionStore

_cp = checkpoints.c


class SqlProjectionStore(ProjectionQueries):
    """Checkpoints, read models, dead letters and parked events in SQL tables.

    Shares the engine of the event store (build it with `stores.make_engine`).
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._is_sqlite = profile_of(engine).is_sqlite
        #: SQLite: a batch's cursor and its documents in one round trip each, outside
        #: SQLAlchemy's execution layer (stores/sqlite_reads.py).
        self._fast = SqliteReads(engine) if self._is_sqlite else None

    # -- checkpoints ------------------------------------------------------------------

    async def ensure_checkpoints(self, versions: Mapping[str, int], now: datetime) -> None:
        async with reading(self._engine) as conn:
            existing = set(
                (
                    await conn.scalars(
                        select(_cp.name).where(
                            _cp.name.in_(list(versions)), _cp.status != REBUILDING
                        )
                    )
                ).all()
            )
        missing = {name: v for name, v in versions.items() if name not in existing}
        if not missing:
            return
        async with writing(self._engine) as conn:
            for name, version in missing.items():
                found = await conn.scalar(
                    select(func.count()).select_from(checkpoints).where(_cp.name == name)
                )
                if found:
                    continue  # created meanwhile (or only a rebuild exists: leave it)
                row = Checkpoint(name=name, projection_version=version, updated_at=now)
                await conn.execute(checkpoints.insert().values(checkpoint_row(row)))

    async def checkpoint(self, name: str, generation: int | None = None) -> Checkpoint | None:
        where = _cp.status != REBUILDING if generation is None else _cp.generation == generation
        async with reading(self._engine) as conn:
            row = (await conn.execute(select(checkpoints).where(_cp.name == name, where))).first()
        return checkpoint_of(row) if row is not None else None

    async def checkpoints(self) -> list[Checkpoint]:
        statement = select(checkpoints).order_by(_cp.name, _cp.generation)
        async with reading(self._engine) as conn:
            rows = (await conn.execute(statement)).all()
        return [checkpoint_of(row) for row in rows]

    async def cursor(self, name: str, generation: int) -> Cursor:
        if self._fast is not None:
            rows = await self._fast.fetch(
                "cursor", cursor_query, {"name": name, "generation": generation}
            )
            if not rows:
                raise StaleCheckpoint(f"projection {name!r} has no generation {generation}")
            return cursor_of(rows[0])
        blocked = select(dead_letters.c.stream_id).where(
            dead_letters.c.projection == name,
            dead_letters.c.generation == generation,
            dead_letters.c.status == DeadLetterStatus.OPEN.value,
        )
        async with reading(self._engine) as conn:
            row = (
                await conn.execute(
                    select(checkpoints).where(_cp.name == name, _cp.generation == generation)
                )
            ).first()
            if row is None:
                raise StaleCheckpoint(f"projection {name!r} has no generation {generation}")
            streams = frozenset((await conn.scalars(blocked)).all())
        return Cursor(checkpoint_of(row), streams)

    async def get_documents(
        self, view: str, generation: int, keys: Collection[str]
    ) -> dict[str, Document]:
        if self._fast is None or not keys:
            return await super().get_documents(view, generation, keys)
        params = {"view": view, "generation": generation, "keys": json.dumps(list(keys))}
        rows = await self._fast.fetch("documents", documents_query, params)
        return {key: load_document(doc, view, key) for key, doc in rows}

    async def set_status(
        self,
        name: str,
        status: ProjectionStatus,
        now: datetime,
        *,
        audit: AuditAppend | None = None,
    ) -> Checkpoint:
        statement = (
            update(checkpoints)
            .where(_cp.name == name, _cp.status != REBUILDING)
            .values(status=status.value, updated_at=now)
            .returning(*checkpoints.c)
        )
        async with writing(self._engine) as conn:
            row = (await conn.execute(statement)).first()
            if row is None:
                known = (await conn.scalars(select(_cp.name).distinct())).all()
                raise UnknownProjection(name, list(known))
            if audit is not None:
                await append_audit(conn, audit, sqlite=self._is_sqlite)
        return checkpoint_of(row)

    async def acquire_lease(
        self, name: str, generation: int, owner: str, *, now: datetime, expires_at: datetime
    ) -> Checkpoint | None:
        statement = (
            update(checkpoints)
            .where(
                _cp.name == name,
                _cp.generation == generation,
                or_(
                    _cp.owner.is_(None),
                    _cp.owner == owner,
                    _cp.lease_expires_at.is_(None),
                    _cp.lease_expires_at <= now,
                ),
            )
            .values(owner=owner, lease_expires_at=expires_at)
            .returning(*checkpoints.c)
        )
        async with writing(self._engine) as conn:
            row = (await conn.execute(statement)).first()
        return checkpoint_of(row) if row is not None else None

    async def release_lease(self, name: str, generation: int, owner: str) -> None:
        statement = (
            update(checkpoints)
            .where(_cp.name == name, _cp.generation == generation, _cp.owner == owner)
            .values(owner=None, lease_expires_at=None)
        )
        async with writing(self._engine) as conn:
            await conn.execute(statement)

    async def commit(self, batch: BatchCommit) -> Checkpoint:
        conditions = [
            _cp.name == batch.name,
            _cp.generation == batch.generation,
            _cp.position == batch.expected_position,
            _cp.revision == batch.expected_revision,
        ]
        values: dict[str, Any] = {
            "position": batch.position,
            "revision": _cp.revision + 1,
            "last_event_at": batch.last_event_at,
            "updated_at": batch.now,
        }
        if batch.owner is not None:
            conditions.append(_cp.owner == batch.owner)
            if batch.lease_expires_at is not None:
                values["lease_expires_at"] = batch.lease_expires_at
        if batch.events_per_second is not None:
            values["events_per_second"] = batch.events_per_second
        statement = update(checkpoints).where(*conditions).values(values).returning(*checkpoints.c)
        name, generation = batch.name, batch.generation
        async with writing(self._engine) as conn:
            row = (await conn.execute(statement)).first()
            if row is None:
                raise StaleCheckpoint(
                    f"checkpoint of {name!r} generation {generation} moved; nothing was written"
                )
            if batch.audit is not None:
                await append_audit(conn, batch.audit, sqlite=self._is_sqlite)
            await upsert_documents(conn, self._is_sqlite, name, generation, batch.upserts)
            await delete_documents(conn, name, generation, batch.deletes)
            await insert_dead_letters(conn, name, generation, batch.new_dead_letters)
            await update_dead_letters(conn, batch.dead_letter_updates)
            await unpark(conn, name, generation, batch.unparked)
            await park(conn, name, generation, batch.parked)
        return checkpoint_of(row)

    # -- generations ------------------------------------------------------------------

    async def start_generation(
        self,
        name: str,
        *,
        owner: str,
        now: datetime,
        expires_at: datetime,
        projection_version: int,
        position: int = 0,
        copy_active: bool = False,
    ) -> Checkpoint:
        async with writing(self._engine) as conn:
            # Locks the rows (PostgreSQL): no batch commits on the active one meanwhile.
            rows = (
                await conn.execute(select(checkpoints).where(_cp.name == name).with_for_update())
            ).all()
            existing = [checkpoint_of(row) for row in rows]
            for old in existing:
                if old.is_rebuild:
                    if old.leased_to_other(owner, now):
                        raise RebuildInProgress(
                            f"projection {name!r} is being rebuilt by {old.owner}; wait for it "
                            "to finish (or for its lease to expire if it died)"
                        )
                    await self._drop(conn, name, old.generation)
            active = next((c for c in existing if not c.is_rebuild), None)
            generation = max((c.generation for c in existing), default=0) + 1
            if active is not None and copy_active:
                position = min(position, active.position)
            new = Checkpoint(
                name=name,
                generation=generation,
                position=position,
                status=ProjectionStatus.REBUILDING,
                projection_version=projection_version,
                last_event_at=active.last_event_at if (active and copy_active) else None,
                updated_at=now,
                owner=owner,
                lease_expires_at=expires_at,
            )
            try:
                await conn.execute(checkpoints.insert().values(checkpoint_row(new)))
            except IntegrityError:
                raise RebuildInProgress(
                    f"another process started rebuilding {name!r} at the same moment"
                ) from None
            if active is not None and copy_active:
                await _copy_generation(conn, name, active.generation, generation, position)
        return new

    async def switch_generation(
        self,
        name: str,
        generation: int,
        *,
        owner: str,
        now: datetime,
        audit: AuditAppend | None = None,
    ) -> Checkpoint:
        async with writing(self._engine) as conn:
            active = (
                await conn.execute(
                    select(checkpoints)
                    .where(_cp.name == name, _cp.status != REBUILDING)
                    .with_for_update()
                )
            ).first()
            status = active.status if active is not None else ProjectionStatus.RUNNING.value
            row = (
                await conn.execute(
                    update(checkpoints)
                    .where(
                        _cp.name == name,
                        _cp.generation == generation,
                        _cp.owner == owner,
                        _cp.status == REBUILDING,
                    )
                    .values(
                        status=status,
                        owner=None,
                        lease_expires_at=None,
                        updated_at=now,
                        revision=_cp.revision + 1,
                    )
                    .returning(*checkpoints.c)
                )
            ).first()
            if row is None:
                raise StaleCheckpoint(
                    f"the rebuild of {name!r} (generation {generation}) is no longer this one's"
                )
            if audit is not None:
                await append_audit(conn, audit, sqlite=self._is_sqlite)
            if active is not None:
                await self._drop(conn, name, active.generation)
        return checkpoint_of(row)

    async def drop_generation(self, name: str, generation: int) -> None:
        async with writing(self._engine) as conn:
            await self._drop(conn, name, generation)

    @staticmethod
    async def _drop(conn: AsyncConnection, name: str, generation: int) -> None:
        # The checkpoint first: an in-flight commit on it finishes (or fails) before
        # the generation's documents are deleted.
        await conn.execute(
            delete(checkpoints).where(_cp.name == name, _cp.generation == generation)
        )
        await delete_generation_data(conn, name, generation)


async def _copy_generation(
    conn: AsyncConnection, name: str, source: int, target: int, position: int
) -> None:
    """Copy a generation's documents, and its dead letters and parked events up to
    `position`, into generation `target` (a rebuild from a time)."""
    r, d, p = read_models.c, dead_letters.c, parked_events.c
    await conn.execute(
        insert(read_models).from_select(
            ["view", "generation", "key", "doc"],
            select(r.view, literal(target), r.key, r.doc).where(
                r.view == name, r.generation == source
            ),
        )
    )
    dead_columns = [c.name for c in dead_letters.c if c.name not in ("id", "generation")]
    await conn.execute(
        insert(dead_letters).from_select(
            [*dead_columns, "generation"],
            select(*(d[c] for c in dead_columns), literal(target)).where(
                and_(d.projection == name, d.generation == source, d.position <= position)
            ),
        )
    )
    parked_columns = [c.name for c in parked_events.c if c.name != "generation"]
    await conn.execute(
        insert(parked_events).from_select(
            [*parked_columns, "generation"],
            select(*(p[c] for c in parked_columns), literal(target)).where(
                and_(p.projection == name, p.generation == source, p.position <= position)
            ),
        )
    )


if TYPE_CHECKING:

    def _conforms(store: SqlProjectionStore) -> ProjectionStore:
        return store
