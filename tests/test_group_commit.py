"""Group commit: concurrent appends share a transaction, each keeps its own outcome.

On SQLite and (with EVENTDECK_TEST_PG_URL) PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from core.errors import ConcurrencyError, StoreError
from core.events import Metadata, RecordedEvent
from stores import SqlEventStore, make_engine, open_stores
from stores.schema import metadata
from tests.store_contract import collect, new_event, seconds


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "group.db")
    return str(request.getfixturevalue("pg_db_url"))


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[SqlEventStore]:
    if store_url.startswith("postgresql"):
        engine = make_engine(store_url)
        async with engine.begin() as conn:
            await conn.run_sync(metadata.drop_all)
        await engine.dispose()
    events, _ = await open_stores(store_url)
    assert isinstance(events, SqlEventStore)
    try:
        yield events
    finally:
        await events.close()


async def streams_at_version_one(store: SqlEventStore, count: int) -> list[str]:
    ids = [f"s-{i:02d}" for i in range(count)]
    for stream_id in ids:
        await store.append(stream_id, "Thing", [new_event()], 0)
    return ids


async def outcomes(*calls: Any) -> list[list[RecordedEvent] | BaseException]:
    return list(await asyncio.gather(*calls, return_exceptions=True))


async def test_one_conflicting_append_in_a_group_fails_alone(store: SqlEventStore) -> None:
    ids = await streams_at_version_one(store, 12)
    groups_before = store.group_stats.groups
    wrong = ids[5]
    results = await outcomes(
        *(store.append(sid, "Thing", [new_event()], 3 if sid == wrong else 1) for sid in ids)
    )

    # one transaction took them all
    assert store.group_stats.groups == groups_before + 1
    assert store.group_stats.largest == len(ids)
    for sid, result in zip(ids, results, strict=True):
        if sid == wrong:
            assert isinstance(result, ConcurrencyError)
            assert (result.expected, result.actual) == (3, 1)
        else:
            assert isinstance(result, list) and [e.version for e in result] == [2]
    assert [e.version for e in await store.read_stream(wrong)] == [1]
    info = await store.stream_info(wrong)
    assert info is not None and info.version == 1
    for sid in ids:
        if sid != wrong:
            assert [e.version for e in await store.read_stream(sid)] == [1, 2]
    # positions of the group are contiguous and follow the order of the calls
    everything = await collect(store.read_all())
    assert [e.position for e in everything] == list(range(1, len(everything) + 1))
    assert [e.stream_id for e in everything[len(ids) :]] == [s for s in ids if s != wrong]


async def test_two_appends_to_one_stream_in_a_group_the_second_conflicts(
    store: SqlEventStore,
) -> None:
    [sid] = await streams_at_version_one(store, 1)
    first, second = await outcomes(
        store.append(sid, "Thing", [new_event(data={"n": 1})], 1),
        store.append(sid, "Thing", [new_event(data={"n": 2})], 1),
    )
    assert isinstance(first, list) and first[0].version == 2
    assert isinstance(second, ConcurrencyError) and second.actual == 2
    assert [e.data for e in await store.read_stream(sid)] == [{"n": 1}, {"n": 1}]


async def test_a_stream_created_and_extended_in_one_group(store: SqlEventStore) -> None:
    created, extended, twice_new = await outcomes(
        store.append("fresh", "Thing", [new_event(), new_event()], 0),
        store.append("fresh", "Thing", [new_event()], 2),
        store.append("fresh", "Thing", [new_event()], 0),
    )
    assert isinstance(created, list) and [e.version for e in created] == [1, 2]
    assert isinstance(extended, list) and [e.version for e in extended] == [3]
    assert isinstance(twice_new, ConcurrencyError)
    info = await store.stream_info("fresh")
    assert info is not None and info.version == 3


async def test_a_duplicate_event_id_fails_only_its_own_append(store: SqlEventStore) -> None:
    ids = await streams_at_version_one(store, 6)
    stored = (await store.read_stream(ids[0]))[0]
    duplicate = new_event().model_copy(update={"event_id": stored.event_id})
    results = await outcomes(
        *(
            store.append(sid, "Thing", [duplicate if sid == ids[3] else new_event()], 1)
            for sid in ids
        )
    )
    assert isinstance(results[3], StoreError)
    assert "already stored" in str(results[3])
    assert store.group_stats.retried_alone >= len(ids)
    for sid, result in zip(ids, results, strict=True):
        versions = [e.version for e in await store.read_stream(sid)]
        assert versions == ([1] if sid == ids[3] else [1, 2]), sid
        if sid != ids[3]:
            assert isinstance(result, list)


async def test_a_wrong_stream_type_is_a_conflict(store: SqlEventStore) -> None:
    [sid] = await streams_at_version_one(store, 1)
    with pytest.raises(ConcurrencyError):
        await store.append(sid, "OtherThing", [new_event()], 1)
    assert len(await store.read_stream(sid)) == 1


async def test_an_append_cancelled_before_its_group_writes_nothing(
    store: SqlEventStore,
) -> None:
    ids = await streams_at_version_one(store, 3)
    calls = [asyncio.ensure_future(store.append(sid, "Thing", [new_event()], 1)) for sid in ids]
    await asyncio.sleep(0)  # every call is queued; the writer has not run yet
    calls[1].cancel()
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert isinstance(results[1], asyncio.CancelledError)
    assert [len(await store.read_stream(sid)) for sid in ids] == [2, 1, 2]


async def test_stream_rows_of_a_group_keep_first_and_last_times(store: SqlEventStore) -> None:
    [old] = await streams_at_version_one(store, 1)
    created_before = (await store.stream_info(old)).created_at  # type: ignore[union-attr]
    results = await outcomes(
        store.append("new", "Thing", [new_event(at=seconds(10)), new_event(at=seconds(11))], 0),
        store.append("new", "Thing", [new_event(at=seconds(12))], 2),
        store.append(old, "Thing", [new_event(at=seconds(20))], 1),
        store.append(old, "Thing", [new_event(at=seconds(30))], 1),  # conflicts: not its time
    )
    assert [type(r).__name__ for r in results] == ["list", "list", "list", "ConcurrencyError"]
    new = await store.stream_info("new")
    assert new is not None and (new.version, new.stream_type) == (3, "Thing")
    assert (new.created_at, new.updated_at) == (seconds(10), seconds(12))
    moved = await store.stream_info(old)
    assert moved is not None and moved.version == 2
    assert (moved.created_at, moved.updated_at) == (created_before, seconds(20))


async def test_a_failed_group_writes_nothing_and_the_store_goes_on(store: SqlEventStore) -> None:
    ids = await streams_at_version_one(store, 3)
    stored = (await store.read_stream(ids[0]))[0]
    duplicate = new_event().model_copy(update={"event_id": stored.event_id})
    results = await outcomes(
        store.append(ids[1], "Thing", [new_event(), duplicate], 1),
        store.append("brand-new", "Thing", [new_event()], 0),
    )
    assert isinstance(results[0], StoreError) and isinstance(results[1], list)
    info = await store.stream_info(ids[1])
    assert info is not None and info.version == 1  # its stream row was not moved either
    # every pooled connection is out of its transaction: reads and appends go on
    assert (await store.append(ids[1], "Thing", [new_event()], 1))[0].version == 2
    positions = [e.position for e in await collect(store.read_all())]
    assert len(positions) == 5 and positions == sorted(set(positions))  # PostgreSQL may skip


async def test_appended_envelopes_are_what_a_read_returns(store: SqlEventStore) -> None:
    data = {"text": 'naïve ☃ "q" \\ \n', "nested": {"list": [1, 2.5, None, True]}}
    meta = Metadata(user_id="ü\t", correlation_id="c-1", causation_id=None)
    offset = datetime(2024, 5, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    events = [new_event(data=data, metadata=meta), new_event(at=offset, metadata=meta)]
    appended = await store.append("env", "Thing", events, 0)
    assert appended == await store.read_stream("env")
    assert appended[1].recorded_at == offset and appended[1].recorded_at.tzinfo is UTC
    data["text"] = "changed by the caller afterwards"
    assert appended[0].data["text"].startswith("naïve")


async def test_a_stream_id_that_is_not_text_is_refused_before_writing(
    store: SqlEventStore,
) -> None:
    with pytest.raises(StoreError, match="must be text"):
        await store.append(42, "Thing", [new_event()], 0)  # type: ignore[arg-type]
    assert await store.head_position() == 0
