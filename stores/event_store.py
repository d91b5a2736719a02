"""The SQL event store: `core.ports.EventStore` on SQLite or PostgreSQL.

Semantics match `core.memory_store.InMemoryEventStore` exactly; the contract
tests (tests/store_contract.py) run against both.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.errors import CorruptRecord, StoreError
from core.events import NewEvent, RecordedEvent, StoredPayload
from core.ports import StreamInfo

from .engine import profile_of
from .group_commit import GroupCommitter, GroupStats
from .pages import event_pages
from .records import EVENT_COLUMNS, PAYLOAD_COLUMNS, decode_event, json_member
from .schema import events as event_table
from .schema import parse_stored_time, streams
from .sqlite_reads import SqliteReads, release_held_reader
from .storable import caused_by_unicode, check_append, findable, not_unicode
from .transactions import reading

if TYPE_CHECKING:
    from core.ports import EventStore


class SqlEventStore:
    """Append-only event store in the `events` table, with `streams` kept beside it.

    Build the engine with `stores.make_engine` (or use `stores.open_stores`).
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._profile = profile_of(engine)
        self._committer = GroupCommitter(engine)
        #: The row-heavy reads on SQLite skip SQLAlchemy's execution layer (stores/sqlite_reads.py).
        self._fast = SqliteReads(engine) if self._profile.is_sqlite else None

    @property
    def group_stats(self) -> GroupStats:
        """How the appends were grouped into transactions so far."""
        return self._committer.stats

    @property
    def engine(self) -> AsyncEngine:
        """The engine, shared with the snapshot store and (later) projections."""
        return self._engine

    async def append(
        self,
        stream_id: str,
        stream_type: str,
        events: Sequence[NewEvent],
        expected_version: int,
    ) -> list[RecordedEvent]:
        """Append in one transaction; ConcurrencyError (writing nothing) on a version mismatch.

        Concurrent appends commit together (stores/group_commit.py), each with
        its own expected-version check and its own outcome.
        """
        # the same refusal on both databases, before anything is written
        check_append(stream_id, stream_type, events)
        try:
            return await self._committer.append(stream_id, stream_type, events, expected_version)
        except (UnicodeEncodeError, StoreError) as exc:
            if caused_by_unicode(exc):
                raise not_unicode(stream_id) from None
            raise

    async def read_stream(
        self,
        stream_id: str,
        *,
        from_version: int = 1,
        to_version: int | None = None,
        until: datetime | None = None,
    ) -> list[RecordedEvent]:
        """A stream's events in version order, optionally bounded by version or time."""
        if not findable(stream_id):
            return []
        if self._fast is not None and until is None:
            raw = await self._fast.fetch(
                ("read_stream", to_version is not None),
                lambda: _stream_range(EVENT_COLUMNS, to_version is not None),
                {"stream_id": stream_id, "from_version": from_version, "to_version": to_version},
            )
            return [decode_event(row) for row in raw]
        conditions = [event_table.c.stream_id == stream_id, event_table.c.version >= from_version]
        if to_version is not None:
            conditions.append(event_table.c.version <= to_version)
        if until is not None:
            conditions.append(event_table.c.recorded_at <= until)
        statement = select(*EVENT_COLUMNS).where(*conditions).order_by(event_table.c.version)
        async with reading(self._engine) as conn:
            rows = (await conn.execute(statement)).all()
        return [decode_event(row) for row in rows]

    async def read_payloads(
        self, stream_id: str, *, from_version: int = 1, to_version: int | None = None
    ) -> list[StoredPayload]:
        """A stream's payloads as stored JSON text, in version order (aggregate loads)."""
        if not findable(stream_id):
            return []
        if self._fast is not None:
            raw = await self._fast.fetch(
                ("read_payloads", to_version is not None),
                lambda: _stream_range(PAYLOAD_COLUMNS, to_version is not None),
                {"stream_id": stream_id, "from_version": from_version, "to_version": to_version},
            )
            return [_payload(row) for row in raw]
        conditions = [event_table.c.stream_id == stream_id, event_table.c.version >= from_version]
        if to_version is not None:
            conditions.append(event_table.c.version <= to_version)
        statement = select(*PAYLOAD_COLUMNS).where(*conditions).order_by(event_table.c.version)
        async with reading(self._engine) as conn:
            rows = (await conn.execute(statement)).all()
        return [StoredPayload(*row) for row in rows]

    async def read_correlated(
        self, correlation_id: str, *, limit: int = 10_000
    ) -> list[RecordedEvent]:
        """Events carrying `correlation_id` in their metadata, in position order."""
        if not findable(correlation_id):
            return []
        statement = (
            select(*EVENT_COLUMNS)
            .where(event_table.c.correlation_id == correlation_id)
            .order_by(event_table.c.position)
            .limit(limit)
        )
        async with reading(self._engine) as conn:
            rows = (await conn.execute(statement)).all()
        return [decode_event(row) for row in rows]

    async def read_event(self, event_id: str) -> RecordedEvent | None:
        """The event with `event_id` (the unique constraint's index finds it)."""
        if not findable(event_id):
            return None
        statement = select(*EVENT_COLUMNS).where(event_table.c.event_id == event_id)
        async with reading(self._engine) as conn:
            row = (await conn.execute(statement)).first()
        return decode_event(row) if row is not None else None

    async def read_all(
        self,
        *,
        from_position: int = 1,
        to_position: int | None = None,
        types: Sequence[str] | None = None,
        stream_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        page_size: int = 1000,
    ) -> AsyncIterator[RecordedEvent]:
        """Matching events in position order, one short transaction per page.

        Keyset pagination (`position > last`), so each page costs the same however
        deep the reader is, and no transaction is held while the caller works.
        """
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        if not findable(stream_id, *(types or ())):
            return
        conditions: list[ColumnElement[bool]] = []
        if to_position is not None:
            conditions.append(event_table.c.position <= to_position)
        if types:
            conditions.append(event_table.c.type.in_(list(types)))
        if stream_id is not None:
            conditions.append(event_table.c.stream_id == stream_id)
        if since is not None:
            conditions.append(event_table.c.recorded_at >= since)
        if until is not None:
            conditions.append(event_table.c.recorded_at <= until)
        last = from_position - 1
        if self._fast is not None and since is None and until is None:
            # SQLite: each page is one round trip on the driver connection, its rows
            # handed out here (not through a second generator: a resumption per
            # event). A short span is walked in position order rather than found
            # through the type index and sorted: a projection's batch reads most of
            # its span (see _page).
            scan = bool(types) and to_position is not None and to_position - last <= SCAN_SPAN
            shape = (
                "read_all",
                to_position is not None,
                len(types or ()),
                stream_id is not None,
                scan,
            )
            params: dict[str, object] = {f"type{i}": t for i, t in enumerate(types or ())}
            params.update(to_position=to_position, stream_id=stream_id, limit=page_size)
            fetch = self._fast.fetch

            def build() -> Select[Any]:
                return _page(*shape[1:])

            while True:
                params["after"] = last
                page = await fetch(shape, build, params)
                for row in page:
                    yield decode_event(row)
                if len(page) < page_size:
                    return
                last = page[-1][0]
        async for rows in event_pages(
            self._engine, EVENT_COLUMNS, conditions, after=last, page_size=page_size
        ):
            for row in rows:
                yield decode_event(row)

    async def count_streams_by_type(self) -> dict[str, int]:
        """Streams per type, from the `streams` table (one row per stream, no event scan)."""
        statement = (
            select(streams.c.stream_type, func.count())
            .group_by(streams.c.stream_type)
            .order_by(streams.c.stream_type)
        )
        async with reading(self._engine) as conn:
            rows = (await conn.execute(statement)).all()
        return {str(kind): int(count) for kind, count in rows}

    async def count_events(
        self,
        types: Sequence[str],
        *,
        user_id: str | None = None,
        from_position: int = 1,
        to_position: int | None = None,
    ) -> dict[str, int]:
        """Events of each type between the positions, per type, from the type index.

        `user_id` is matched in the metadata text as `dump_json` wrote it (a substring
        search, case-sensitive on both databases), so no row's JSON is parsed and one
        corrupt row cannot fail the count.
        """
        counts = dict.fromkeys(types, 0)
        if not counts:
            return counts
        conditions: list[ColumnElement[bool]] = [
            event_table.c.type.in_(list(counts)),
            event_table.c.position >= from_position,
        ]
        if to_position is not None:
            conditions.append(event_table.c.position <= to_position)
        if user_id is not None:
            find = func.instr if self._engine.dialect.name == "sqlite" else func.strpos
            member = json_member("user_id", user_id)
            conditions.append(find(event_table.c["metadata"], member) > 0)
        statement = (
            select(event_table.c.type, func.count()).where(*conditions).group_by(event_table.c.type)
        )
        async with reading(self._engine) as conn:
            rows = (await conn.execute(statement)).all()
        counts.update({str(kind): int(count) for kind, count in rows})
        return counts

    async def head_position(self) -> int:
        """The highest committed position, 0 for an empty store."""
        async with reading(self._engine) as conn:
            head = await conn.scalar(select(func.max(event_table.c.position)))
        return int(head or 0)

    async def stream_info(self, stream_id: str) -> StreamInfo | None:
        """The stream's type, version and first and last change, or None if it does not exist."""
        if not findable(stream_id):
            return None
        statement = _stream_columns().where(streams.c.stream_id == stream_id)
        async with reading(self._engine) as conn:
            row = (await conn.execute(statement)).first()
        return _info(row) if row else None

    async def stream_version_at(self, stream_id: str, at: datetime) -> int:
        """The stream's version as of time `at` (0 if it did not exist yet)."""
        if not findable(stream_id):
            return 0
        statement = (
            select(func.count())
            .select_from(event_table)
            .where(event_table.c.stream_id == stream_id, event_table.c.recorded_at <= at)
        )
        async with reading(self._engine) as conn:
            count = await conn.scalar(statement)
        return int(count or 0)

    async def list_streams(
        self,
        *,
        stream_type: str | None = None,
        prefix: str | None = None,
        as_of: datetime | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[StreamInfo]:
        """Streams ordered by id; `as_of` gives them as they were at that time."""
        if not findable(stream_type, prefix):
            return []
        if as_of is None:
            table = streams
            statement = _stream_columns()
        else:
            # The streams table only knows the present; the past comes from the events.
            table = event_table
            statement = (
                select(
                    event_table.c.stream_id,
                    func.min(event_table.c.stream_type).label("stream_type"),
                    func.max(event_table.c.version).label("version"),
                    func.min(event_table.c.recorded_at).label("created_at"),
                    func.max(event_table.c.recorded_at).label("updated_at"),
                )
                .where(event_table.c.recorded_at <= as_of)
                .group_by(event_table.c.stream_id)
            )
        if stream_type is not None:
            statement = statement.where(table.c.stream_type == stream_type)
        if prefix:
            statement = statement.where(_starts_with(table.c.stream_id, prefix))
        statement = statement.order_by(table.c.stream_id).offset(max(offset, 0))
        if limit is not None:
            statement = statement.limit(max(limit, 0))
        async with reading(self._engine) as conn:
            rows = (await conn.execute(statement)).all()
        return [_info(row) for row in rows]

    async def close(self) -> None:
        """Close every pooled connection (shared with the snapshot store)."""
        await release_held_reader(self._engine)
        await self._engine.dispose()


def _stream_range(columns: Sequence[Any], bounded: bool) -> Select[Any]:
    """A stream's rows from `:from_version` (to `:to_version` if `bounded`), in version order."""
    statement = select(*columns).where(
        event_table.c.stream_id == bindparam("stream_id"),
        event_table.c.version >= bindparam("from_version"),
    )
    if bounded:
        statement = statement.where(event_table.c.version <= bindparam("to_version"))
    return statement.order_by(event_table.c.version)


#: The widest span of positions (`to_position` - `from_position`) `read_all` of
#: some types scans in position order on SQLite instead of using the type index.
SCAN_SPAN = 50_000


def _page(bounded: bool, type_count: int, one_stream: bool, scan: bool = False) -> Select[Any]:
    """One keyset page of `read_all`: rows after `:after`, at most `:limit` of them.

    `scan`: the type condition is written `+type IN (...)`, which SQLite cannot
    answer from an index, so it walks the position range in order (no sort)."""
    conditions = [event_table.c.position > bindparam("after")]
    if bounded:
        conditions.append(event_table.c.position <= bindparam("to_position"))
    if type_count:
        type_column = literal_column("+events.type") if scan else event_table.c.type
        conditions.append(type_column.in_([bindparam(f"type{i}") for i in range(type_count)]))
    if one_stream:
        conditions.append(event_table.c.stream_id == bindparam("stream_id"))
    return (
        select(*EVENT_COLUMNS)
        .where(*conditions)
        .order_by(event_table.c.position)
        .limit(bindparam("limit"))
    )


def _payload(row: Any) -> StoredPayload:
    """A raw SQLite row of PAYLOAD_COLUMNS (its time still the stored text)."""
    position, stream_id, stream_type, version, type_, schema_version, data, stored_at = row
    try:
        recorded_at = parse_stored_time(stored_at)
    except ValueError as exc:
        raise CorruptRecord(position, stream_id, f"invalid recorded_at: {exc}") from None
    return StoredPayload(
        position, stream_id, stream_type, version, type_, schema_version, data, recorded_at
    )


def _stream_columns() -> Select[Any]:
    return select(
        streams.c.stream_id,
        streams.c.stream_type,
        streams.c.version,
        streams.c.created_at,
        streams.c.updated_at,
    )


def _starts_with(column: Any, prefix: str) -> ColumnElement[bool]:
    # LIKE with the wildcards escaped can use the index; the substr comparison
    # makes the match exact, because SQLite's LIKE ignores ASCII case.
    return and_(
        column.startswith(prefix, autoescape=True),
        func.substr(column, 1, len(prefix)) == prefix,
    )


def _info(row: Any) -> StreamInfo:
    return StreamInfo(
        stream_id=row.stream_id,
        stream_type=row.stream_type,
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


if TYPE_CHECKING:

    def _conforms(store: SqlEventStore) -> EventStore:
        return store
