"""The store contract: one test suite every EventStore/SnapshotStore pair must pass.

Subclass `EventStoreContract` and override the `store` fixture to yield
`(event_store, snapshot_store)` on an empty store (tests/test_store_*.py).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from core.errors import ConcurrencyError
from core.events import Metadata, NewEvent, RecordedEvent
from core.ports import EventStore, SnapshotStore, StreamInfo
from core.snapshots import Snapshot

T0 = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)


def new_event(
    *,
    type: str = "ThingHappened",
    at: datetime = T0,
    data: dict[str, Any] | None = None,
    metadata: Metadata | None = None,
    schema_version: int = 1,
) -> NewEvent:
    return NewEvent(
        event_id=str(uuid.uuid4()),
        type=type,
        schema_version=schema_version,
        data=data if data is not None else {"n": 1},
        metadata=metadata or Metadata(),
        recorded_at=at,
    )


async def collect(iterator: AsyncIterator[RecordedEvent]) -> list[RecordedEvent]:
    return [event async for event in iterator]


def seconds(n: float) -> datetime:
    return T0 + timedelta(seconds=n)


class EventStoreContract:
    """Semantics of core.ports.EventStore and SnapshotStore (core/memory_store.py is the reference)."""

    @pytest.fixture
    async def store(self) -> AsyncIterator[tuple[EventStore, SnapshotStore]]:
        raise NotImplementedError(
            "subclasses yield (event_store, snapshot_store) on an empty store"
        )
        yield  # pragma: no cover

    @pytest.fixture
    def es(self, store: tuple[EventStore, SnapshotStore]) -> EventStore:
        return store[0]

    @pytest.fixture
    def ss(self, store: tuple[EventStore, SnapshotStore]) -> SnapshotStore:
        return store[1]

    # -- append ---------------------------------------------------------------------------

    async def test_append_roundtrips_every_envelope_field(self, es: EventStore) -> None:
        meta = Metadata(user_id="alice", correlation_id="corr-1", causation_id="cause-1")
        data = {"text": "naïve ☃", "nested": {"list": [1, 2.5, None, True]}, "big": 2**60}
        first = new_event(type="OrderPlaced", data=data, metadata=meta, schema_version=3)
        second = new_event(type="OrderApproved", at=seconds(1.000001))
        appended = await es.append("order-1", "order", [first, second], 0)

        assert [(e.position, e.version) for e in appended] == [(1, 1), (2, 2)]
        got = appended[0]
        assert (got.event_id, got.stream_id, got.stream_type, got.type) == (
            first.event_id,
            "order-1",
            "order",
            "OrderPlaced",
        )
        assert (got.schema_version, got.data, got.metadata) == (3, data, meta)
        assert got.recorded_at == T0 and got.recorded_at.utcoffset() == timedelta(0)
        read = await es.read_stream("order-1")
        assert read == appended
        assert [e.to_json_dict() for e in read] == [e.to_json_dict() for e in appended]
        assert read[1].recorded_at == seconds(1.000001)
        assert all(e.recorded_at.utcoffset() == timedelta(0) for e in read)
        assert await collect(es.read_all()) == appended

    async def test_expected_version_mismatch_raises_and_writes_nothing(
        self, es: EventStore
    ) -> None:
        await es.append("s", "thing", [new_event(), new_event()], 0)
        before = (await es.head_position(), await es.stream_info("s"))
        with pytest.raises(ConcurrencyError) as caught:
            await es.append("s", "thing", [new_event()], 1)
        assert (caught.value.expected, caught.value.actual) == (1, 2)
        with pytest.raises(ConcurrencyError):
            await es.append("s", "thing", [new_event()], 5)
        assert (await es.head_position(), await es.stream_info("s")) == before
        assert [e.version for e in await es.read_stream("s")] == [1, 2]

    async def test_multi_event_append_on_moved_stream_writes_nothing(self, es: EventStore) -> None:
        await es.append("s", "thing", [new_event()], 0)
        await es.append("s", "thing", [new_event()], 1)  # someone else moved it to 2
        with pytest.raises(ConcurrencyError):
            await es.append("s", "thing", [new_event(), new_event(), new_event()], 1)
        assert await es.head_position() == 2
        assert len(await collect(es.read_all())) == 2
        # and the stream still takes the right version afterwards
        appended = await es.append("s", "thing", [new_event(), new_event()], 2)
        assert [(e.position, e.version) for e in appended] == [(3, 3), (4, 4)]

    async def test_new_stream_twice_second_conflicts(self, es: EventStore) -> None:
        await es.append("s", "thing", [new_event()], 0)
        with pytest.raises(ConcurrencyError) as caught:
            await es.append("s", "thing", [new_event()], 0)
        assert caught.value.actual == 1
        assert await es.head_position() == 1

    async def test_append_with_another_stream_type_conflicts(self, es: EventStore) -> None:
        await es.append("s", "thing", [new_event()], 0)
        with pytest.raises(ConcurrencyError):
            await es.append("s", "other", [new_event()], 1)
        assert await es.head_position() == 1

    async def test_empty_append_checks_the_version_only(self, es: EventStore) -> None:
        assert await es.append("s", "thing", [], 0) == []
        assert await es.stream_info("s") is None
        await es.append("s", "thing", [new_event()], 0)
        assert await es.append("s", "thing", [], 1) == []
        with pytest.raises(ConcurrencyError):
            await es.append("s", "thing", [], 0)

    async def test_versions_are_contiguous_and_positions_global(self, es: EventStore) -> None:
        for i in range(3):
            await es.append("a", "thing", [new_event(), new_event()], 2 * i)
            await es.append("b", "thing", [new_event()], i)
        assert [e.version for e in await es.read_stream("a")] == [1, 2, 3, 4, 5, 6]
        assert [e.version for e in await es.read_stream("b")] == [1, 2, 3]
        assert [e.position for e in await collect(es.read_all())] == list(range(1, 10))

    # -- reads ----------------------------------------------------------------------------

    async def test_count_events_by_type_user_and_positions(self, es: EventStore) -> None:
        saga, shop = Metadata(user_id="SYSTEM"), Metadata(user_id="system")
        await es.append("o1", "Order", [new_event(type="Placed", metadata=shop)], 0)
        await es.append("o1", "Order", [new_event(type="Approved", metadata=saga)], 1)
        await es.append("o2", "Order", [new_event(type="Placed", metadata=saga)], 0)
        await es.append("o2", "Order", [new_event(type="Approved", metadata=shop)], 1)
        await es.append("o3", "Order", [new_event(type="Approved", metadata=saga)], 0)
        await es.append("x", "Other", [new_event(type="Approved")], 0)  # no user at all
        both = ["Approved", "Cancelled"]
        assert await es.count_events(both) == {"Approved": 4, "Cancelled": 0}
        assert await es.count_events(both, user_id="SYSTEM") == {"Approved": 2, "Cancelled": 0}
        assert await es.count_events(["Placed"], user_id="system") == {"Placed": 1}
        assert await es.count_events(["Approved"], user_id="SYS") == {"Approved": 0}
        assert await es.count_events(["Approved"], from_position=3, to_position=5) == {
            "Approved": 2
        }
        assert await es.count_events(
            ["Approved"], user_id="SYSTEM", from_position=3, to_position=4
        ) == {"Approved": 0}
        assert await es.count_events(["Approved"], from_position=7) == {"Approved": 0}
        assert await es.count_events([]) == {}

    async def test_count_streams_by_type(self, es: EventStore) -> None:
        assert await es.count_streams_by_type() == {}
        await es.append("a1", "Account", [new_event(), new_event()], 0)
        await es.append("a2", "Account", [new_event()], 0)
        await es.append("o1", "Order", [new_event()], 0)
        assert await es.count_streams_by_type() == {"Account": 2, "Order": 1}

    async def test_read_correlated_in_position_order(self, es: EventStore) -> None:
        traced = Metadata(user_id="u", correlation_id="corr-1", causation_id="cmd-1")
        other = Metadata(user_id="u", correlation_id="corr-2", causation_id="cmd-2")
        await es.append("a", "thing", [new_event(metadata=traced)], 0)
        await es.append("b", "thing", [new_event(metadata=other)], 0)
        await es.append("c", "thing", [new_event(metadata=traced), new_event(metadata=traced)], 0)
        found = await es.read_correlated("corr-1")
        assert [(e.stream_id, e.position) for e in found] == [("a", 1), ("c", 3), ("c", 4)]
        assert [e.position for e in await es.read_correlated("corr-1", limit=2)] == [1, 3]
        assert await es.read_correlated("nope") == []

    async def test_read_event_by_id(self, es: EventStore) -> None:
        first, second = new_event(), new_event(type="Other")
        appended = await es.append("a", "thing", [first], 0)
        appended += await es.append("b", "thing", [second], 0)
        assert await es.read_event(second.event_id) == appended[1]
        assert await es.read_event(first.event_id) == appended[0]
        assert await es.read_event("no-such-event") is None

    async def test_read_stream_bounds(self, es: EventStore) -> None:
        await es.append("s", "thing", [new_event(at=seconds(i)) for i in range(5)], 0)
        await es.append("other", "thing", [new_event()], 0)

        async def versions(**bounds: Any) -> list[int]:
            return [e.version for e in await es.read_stream("s", **bounds)]

        assert await versions() == [1, 2, 3, 4, 5]
        assert await versions(from_version=3) == [3, 4, 5]
        assert await versions(to_version=2) == [1, 2]
        assert await versions(from_version=2, to_version=4) == [2, 3, 4]
        assert await versions(until=seconds(2)) == [1, 2, 3]  # inclusive
        assert await versions(until=seconds(2.5), from_version=2) == [2, 3]
        assert await versions(until=seconds(-1)) == []
        assert await es.read_stream("missing") == []

    async def test_read_payloads_match_read_stream(self, es: EventStore) -> None:
        data = [{"n": i, "text": "zoë ☃", "nested": {"list": [1, 2.5, None]}} for i in range(5)]
        await es.append(
            "s", "thing", [new_event(at=seconds(i), data=d) for i, d in enumerate(data)], 0
        )
        await es.append("other", "thing", [new_event()], 0)
        records = await es.read_stream("s")
        payloads = await es.read_payloads("s")
        assert [
            (p.position, p.stream_id, p.stream_type, p.version, p.type, p.schema_version)
            + (p.recorded_at,)
            for p in payloads
        ] == [
            (r.position, r.stream_id, r.stream_type, r.version, r.type, r.schema_version)
            + (r.recorded_at,)
            for r in records
        ]
        assert [json.loads(p.data_json) for p in payloads] == data
        window = await es.read_payloads("s", from_version=2, to_version=4)
        assert [p.version for p in window] == [2, 3, 4]
        assert await es.read_payloads("missing") == []

    async def test_read_all_order_and_filters(self, es: EventStore) -> None:
        await es.append("a", "thing", [new_event(type="A", at=seconds(0))], 0)
        await es.append("b", "thing", [new_event(type="B", at=seconds(1))], 0)
        await es.append("a", "thing", [new_event(type="C", at=seconds(2))], 1)
        await es.append("b", "thing", [new_event(type="A", at=seconds(3))], 1)

        async def positions(**filters: Any) -> list[int]:
            return [e.position for e in await collect(es.read_all(**filters))]

        assert await positions() == [1, 2, 3, 4]
        assert await positions(from_position=3) == [3, 4]
        assert await positions(to_position=2) == [1, 2]
        assert await positions(from_position=2, to_position=3) == [2, 3]
        assert await positions(types=["A"]) == [1, 4]
        assert await positions(types=["A", "C"]) == [1, 3, 4]
        assert await positions(types=[]) == [1, 2, 3, 4]
        assert await positions(stream_id="b") == [2, 4]
        assert await positions(since=seconds(1)) == [2, 3, 4]
        assert await positions(until=seconds(2)) == [1, 2, 3]
        assert await positions(since=seconds(0.5), until=seconds(2.5)) == [2, 3]
        assert await positions(types=["A"], stream_id="b", since=seconds(3)) == [4]
        assert await positions(from_position=5) == []

    async def test_read_all_pages_across_boundaries(self, es: EventStore) -> None:
        for i in range(11):
            await es.append(
                f"s{i % 3}", "thing", [new_event(type="odd" if i % 2 else "even")], i // 3
            )
        every = [e.position for e in await collect(es.read_all())]
        assert every == list(range(1, 12))
        for page_size in (1, 2, 3, 5, 11, 12):
            got = await collect(es.read_all(page_size=page_size))
            assert [e.position for e in got] == every
            evens = await collect(es.read_all(types=["even"], page_size=page_size))
            assert [e.position for e in evens] == [1, 3, 5, 7, 9, 11]
            window = await collect(es.read_all(from_position=4, to_position=9, page_size=page_size))
            assert [e.position for e in window] == [4, 5, 6, 7, 8, 9]
            stream = await collect(es.read_all(stream_id="s1", page_size=page_size))
            assert [e.version for e in stream] == [1, 2, 3, 4]

    async def test_read_all_stopped_early_leaves_the_store_usable(self, es: EventStore) -> None:
        await es.append("s", "thing", [new_event() for _ in range(10)], 0)
        async for event in es.read_all(page_size=3):
            if event.position == 4:
                break
        appended = await es.append("s", "thing", [new_event()], 10)
        assert appended[0].position == 11

    async def test_head_position(self, es: EventStore) -> None:
        assert await es.head_position() == 0
        await es.append("s", "thing", [new_event(), new_event()], 0)
        assert await es.head_position() == 2
        await es.append("t", "thing", [new_event()], 0)
        assert await es.head_position() == 3

    async def test_stream_info(self, es: EventStore) -> None:
        assert await es.stream_info("s") is None
        await es.append("s", "order", [new_event(at=seconds(0)), new_event(at=seconds(5))], 0)
        await es.append("s", "order", [new_event(at=seconds(9))], 2)
        assert await es.stream_info("s") == StreamInfo(
            stream_id="s", stream_type="order", version=3, created_at=T0, updated_at=seconds(9)
        )

    async def test_stream_version_at(self, es: EventStore) -> None:
        await es.append("s", "thing", [new_event(at=seconds(i * 10)) for i in range(3)], 0)
        assert await es.stream_version_at("s", seconds(-1)) == 0
        assert await es.stream_version_at("s", seconds(0)) == 1
        assert await es.stream_version_at("s", seconds(15)) == 2
        assert await es.stream_version_at("s", seconds(100)) == 3
        assert await es.stream_version_at("missing", seconds(100)) == 0

    async def test_list_streams_by_type_and_literal_prefix(self, es: EventStore) -> None:
        ids = ["a_1", "ab1", "a%x", "aXx", "a/b", "A_1", "b-1", "a\\c"]
        for i, sid in enumerate(ids):
            await es.append(sid, "order" if i % 2 else "account", [new_event(at=seconds(i))], 0)

        async def listed(**options: Any) -> list[str]:
            return [s.stream_id for s in await es.list_streams(**options)]

        assert await listed() == sorted(ids)
        assert await listed(stream_type="order") == sorted(ids[1::2])
        assert await listed(prefix="a_") == ["a_1"]  # `_` is not a wildcard
        assert await listed(prefix="a%") == ["a%x"]  # nor is `%`
        assert await listed(prefix="a/") == ["a/b"]
        assert await listed(prefix="a\\") == ["a\\c"]
        assert await listed(prefix="A") == ["A_1"]  # case-sensitive
        assert await listed(prefix="a") == sorted(s for s in ids if s.startswith("a"))
        assert await listed(prefix="a", stream_type="account") == ["a%x", "a/b", "a_1"]
        assert await listed(prefix="zz") == []
        info = (await es.list_streams(prefix="aXx"))[0]
        assert info == StreamInfo(
            stream_id="aXx",
            stream_type="order",
            version=1,
            created_at=seconds(3),
            updated_at=seconds(3),
        )

    async def test_list_streams_as_of(self, es: EventStore) -> None:
        await es.append("s1", "order", [new_event(at=seconds(0)), new_event(at=seconds(10))], 0)
        await es.append("s2", "account", [new_event(at=seconds(15))], 0)
        await es.append("s1", "order", [new_event(at=seconds(20))], 2)

        assert await es.list_streams(as_of=seconds(-1)) == []
        assert await es.list_streams(as_of=seconds(12)) == [
            StreamInfo(
                stream_id="s1",
                stream_type="order",
                version=2,
                created_at=T0,
                updated_at=seconds(10),
            )
        ]
        at_15 = await es.list_streams(as_of=seconds(15))
        assert [(s.stream_id, s.version) for s in at_15] == [("s1", 2), ("s2", 1)]
        assert [
            s.stream_id for s in await es.list_streams(as_of=seconds(15), stream_type="account")
        ] == ["s2"]
        assert [s.stream_id for s in await es.list_streams(as_of=seconds(15), prefix="s1")] == [
            "s1"
        ]
        assert [
            s.stream_id for s in await es.list_streams(as_of=seconds(99), offset=1, limit=1)
        ] == ["s2"]
        now = await es.list_streams(as_of=seconds(99))
        assert now == await es.list_streams()
        assert now[0].version == 3 and now[0].updated_at == seconds(20)

    async def test_list_streams_limit_offset(self, es: EventStore) -> None:
        ids = [f"stream-{i:02d}" for i in range(7)]
        for sid in reversed(ids):
            await es.append(sid, "thing", [new_event()], 0)

        async def listed(**options: Any) -> list[str]:
            return [s.stream_id for s in await es.list_streams(**options)]

        assert await listed(limit=3) == ids[:3]
        assert await listed(limit=3, offset=3) == ids[3:6]
        assert await listed(offset=5) == ids[5:]
        assert await listed(offset=10) == []
        assert await listed(limit=0) == []

    # -- snapshots ------------------------------------------------------------------------

    async def test_snapshots_save_latest_and_versions(self, ss: SnapshotStore) -> None:
        assert await ss.latest("s") is None
        assert await ss.versions("s") == []
        for version in (100, 10, 50):
            await ss.save(_snapshot("s", version))
        await ss.save(_snapshot("other", 70))
        assert await ss.versions("s") == [10, 50, 100]
        assert await ss.latest("s") == _snapshot("s", 100)
        latest = await ss.latest("s", at_or_below=99)
        assert latest == _snapshot("s", 50)
        assert latest is not None and latest.taken_at.utcoffset() == timedelta(0)
        assert await ss.latest("s", at_or_below=50) == _snapshot("s", 50)
        assert await ss.latest("s", at_or_below=9) is None
        assert await ss.latest("missing") is None

    async def test_snapshot_save_replaces_the_same_version(self, ss: SnapshotStore) -> None:
        await ss.save(_snapshot("s", 10, state={"v": "first"}))
        await ss.save(_snapshot("s", 10, state={"v": "second"}, state_schema=2))
        assert await ss.versions("s") == [10]
        assert await ss.latest("s") == _snapshot("s", 10, state={"v": "second"}, state_schema=2)

    # -- concurrency ----------------------------------------------------------------------

    async def test_concurrent_appenders_one_winner_per_version(self, es: EventStore) -> None:
        tasks, each = 16, 6
        winners: list[RecordedEvent] = []
        conflicts = 0

        async def writer(task: int) -> None:
            nonlocal conflicts
            for n in range(each):
                event = new_event(data={"task": task, "n": n})
                while True:
                    info = await es.stream_info("shared")
                    await asyncio.sleep(0)  # let the others read the same version
                    try:
                        winners.extend(
                            await es.append(
                                "shared", "counter", [event], info.version if info else 0
                            )
                        )
                        break
                    except ConcurrencyError:
                        conflicts += 1

        await asyncio.gather(*(writer(t) for t in range(tasks)))
        total = tasks * each
        assert sorted(e.version for e in winners) == list(range(1, total + 1))
        stored = await es.read_stream("shared")
        assert [e.version for e in stored] == list(range(1, total + 1))
        assert sorted((e.data["task"], e.data["n"]) for e in stored) == [
            (t, n) for t in range(tasks) for n in range(each)
        ]
        positions = [e.position for e in stored]
        assert positions == sorted(positions) and len(set(positions)) == total
        assert conflicts > 0  # the writers really did collide


def _snapshot(
    stream_id: str, version: int, *, state: dict[str, Any] | None = None, state_schema: int = 1
) -> Snapshot:
    return Snapshot(
        stream_id=stream_id,
        stream_type="thing",
        version=version,
        state=state if state is not None else {"version": version, "items": ["a", "b"]},
        state_schema=state_schema,
        taken_at=seconds(version),
    )
