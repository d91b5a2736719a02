"""Inside one batch: documents checked per event and encoded once, the next batch read
ahead, and the garbage collector paused (on the in-memory stores)."""

from __future__ import annotations

import asyncio
import gc
import json
import math
from collections.abc import AsyncIterator, Iterable
from decimal import Decimal
from typing import Any, ClassVar

import pytest

from core.batch_reader import BatchReader
from core.clock import SystemClock
from core.errors import StoreError
from core.events import DomainEvent, RecordedEvent
from core.gc_pause import paused_collector
from core.memory_projection_store import InMemoryProjectionStore
from core.memory_store import InMemoryEventStore
from core.projections import Projection, View
from core.read_models import DocumentCache, InvalidDocument, OverlayView
from tests.projection_fixtures import (
    Counted,
    CounterProjection,
    documents,
    fast_config,
    make_engine,
    write_round_robin,
)

#: What a poison event of WritesJunk writes (none of it is JSON).
JUNK: dict[str, Any] = {
    "decimal": {"amount": Decimal("1.50")},
    "nan": {"ratio": math.nan},
    "set": {"tags": {"a"}},
    "object key": {("a", "b"): 1},
}


class WritesJunk(Projection):
    """Per stream, the versions seen, and `_all` counting events; a poison event writes
    `junk` to `_all` (then, with `overwrite`, the count over it in the same event)."""

    name: ClassVar[str] = "junk"
    handles: ClassVar[frozenset[str]] = frozenset({"Counted"})

    def __init__(self, junk: dict[str, Any], overwrite: bool = False) -> None:
        self.junk = junk
        self.overwrite = overwrite

    def prefetch_keys(self, event: DomainEvent, record: RecordedEvent) -> Iterable[str]:
        return (record.stream_id, "_all")

    async def apply(self, event: DomainEvent, record: RecordedEvent, view: View) -> None:
        assert isinstance(event, Counted)
        doc = await view.get(record.stream_id) or {"seen": []}
        doc["seen"].append(record.version)
        view.put(record.stream_id, doc)
        every = await view.get("_all") or {"n": 0}
        every["n"] += 1
        if event.poison:
            view.put("_all", self.junk)
            if not self.overwrite:
                return
        view.put("_all", every)


@pytest.mark.parametrize("kind", list(JUNK))
async def test_a_document_that_is_not_json_fails_its_event_alone(kind: str) -> None:
    events, store = InMemoryEventStore(), InMemoryProjectionStore()
    await write_round_robin(events, 12, streams=3, poison=[("s1", 2)])
    engine = make_engine([WritesJunk(JUNK[kind])], events, store, config=fast_config())

    summary = (await engine.catch_up())[0]

    assert (summary.dead_letters, summary.parked, summary.applied) == (1, 2, 9)
    [dead] = await engine.dead_letters.list()
    assert dead.stream_id == "s1" and dead.error.startswith("InvalidDocument: ")
    docs = await documents(store, "junk")
    # nothing of the failing event survives; the events before and after it in the
    # same batches (fast_config: 7 events a batch) all do
    assert docs["s1"] == {"seen": [1]}
    assert docs["s0"] == {"seen": [1, 2, 3, 4]} and docs["s2"] == {"seen": [1, 2, 3, 4]}
    assert docs["_all"] == {"n": 9}


async def test_a_bad_document_the_same_event_replaces_is_never_written() -> None:
    """An event's writes are checked when it ends: only the last put of each key counts."""
    events, store = InMemoryEventStore(), InMemoryProjectionStore()
    await write_round_robin(events, 6, streams=2, poison=[("s1", 2)])
    engine = make_engine([WritesJunk(JUNK["nan"], overwrite=True)], events, store)

    summary = (await engine.catch_up())[0]

    assert (summary.dead_letters, summary.applied) == (0, 6)
    assert (await documents(store, "junk"))["_all"] == {"n": 6}


async def test_a_bad_document_replaced_by_a_later_event_of_the_batch_is_still_a_dead_letter() -> (
    None
):
    """Each event's writes are checked when it ends, not once per batch: a later event
    overwriting the key in the same batch does not hide the bad one."""
    events, store = InMemoryEventStore(), InMemoryProjectionStore()
    await write_round_robin(events, 6, streams=3, poison=[("s0", 1)])
    engine = make_engine(
        [WritesJunk(JUNK["decimal"])], events, store, config=fast_config(batch_size=100)
    )

    summary = (await engine.catch_up())[0]

    assert (summary.dead_letters, summary.parked, summary.applied) == (1, 1, 4)
    assert (await documents(store, "junk"))["_all"] == {"n": 4}


async def test_documents_are_kept_as_the_store_gives_them_back() -> None:
    """Tuples become lists, a dict subclass a dict: what a later event of the batch
    reads equals what a later batch reads from the store."""

    class Flavour(dict[str, Any]):
        pass

    cache = DocumentCache(_no_documents)
    first = OverlayView(cache)
    first.put("k", Flavour(pair=(1, 2), nested=[{"x": (3,)}], f=1.5, none=None))
    first.commit()
    second = OverlayView(cache)
    seen = await second.get("k")
    assert seen == {"pair": [1, 2], "nested": [{"x": [3]}], "f": 1.5, "none": None}
    assert type(seen) is dict and type(seen["pair"]) is list
    assert cache.upserts() == {"k": '{"pair":[1,2],"nested":[{"x":[3]}],"f":1.5,"none":null}'}


async def test_a_key_changed_by_many_events_is_encoded_once_with_its_last_state() -> None:
    cache = DocumentCache(_no_documents)
    for n in range(5):
        view = OverlayView(cache)
        doc = await view.get("k") or {"n": 0, "log": []}
        doc["n"] += 1
        doc["log"].append(n)
        view.put("k", doc)
        view.delete("gone")
        view.commit()
    assert cache.upserts() == {"k": '{"n":5,"log":[0,1,2,3,4]}'}
    assert cache.deletes() == ["gone"]
    cache.committed()
    assert (cache.upserts(), cache.deletes()) == ({}, [])


async def test_documents_are_stored_as_compact_json_whatever_they_hold() -> None:
    """However a document is encoded (flat ones take a faster encoder), the text is what
    `json` writes: compact, non-ASCII as is, control characters escaped."""
    odd = '\x00\x1f\x7f"\\/\n\t\u2028\ufeff naïve ☃ 😀'
    documents: dict[str, Any] = {
        "flat": {odd: odd, "big": 2**70, "neg": -(2**64), "t": True, "f": False, "none": None},
        "floats": {"x": 0.1, "tiny": 1e-05, "huge": 1e16, "whole": 2.0},
        "nested": {"list": [1, "a", None, [odd]], "map": {"k": {odd: 2**65}}},
        "surrogate": {"s": "\ud800"},
    }
    cache = DocumentCache(_no_documents)
    view = OverlayView(cache)
    for key, document in documents.items():
        view.put(key, document)
    view.commit()
    compact = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    assert cache.upserts() == {key: compact.encode(doc) for key, doc in documents.items()}


async def test_a_handler_changing_what_it_read_or_put_does_not_change_the_cache() -> None:
    cache = DocumentCache(_no_documents)
    view = OverlayView(cache)
    doc = {"items": [{"sku": "a"}]}
    view.put("k", doc)
    view.commit()
    doc["items"][0]["sku"] = "changed after the event"  # the handler kept a reference
    read = await OverlayView(cache).get("k")
    assert read is not None
    read["items"].append({"sku": "b"})  # a failing event's change in place
    assert await OverlayView(cache).get("k") == {"items": [{"sku": "a"}]}
    assert cache.upserts() == {"k": '{"items":[{"sku":"a"}]}'}


async def test_an_invalid_write_leaves_the_cache_as_it_was() -> None:
    cache = DocumentCache(_no_documents)
    view = OverlayView(cache)
    view.put("good", {"n": 1})
    view.put("bad", {"when": Decimal(1)})
    with pytest.raises(InvalidDocument, match="'bad' is not JSON-serialisable"):
        view.commit()
    assert (cache.upserts(), cache.documents) == ({}, {})


async def test_a_circular_document_is_invalid() -> None:
    cache = DocumentCache(_no_documents)
    view = OverlayView(cache)
    loop: dict[str, Any] = {}
    loop["self"] = loop
    view.put("k", loop)
    with pytest.raises(InvalidDocument, match="Circular reference"):
        view.commit()


async def _no_documents(keys: Any) -> dict[str, Any]:
    return {}


# -- reading ahead -----------------------------------------------------------------------


class FlakyReads(InMemoryEventStore):
    """read_all fails (StoreError) on the calls listed in `fail_on` (1-based)."""

    def __init__(self, fail_on: set[int]) -> None:
        super().__init__()
        self.fail_on = fail_on
        self.reads = 0

    async def read_all(self, **options: Any) -> AsyncIterator[RecordedEvent]:  # type: ignore[override]
        self.reads += 1
        if self.reads in self.fail_on:
            await asyncio.sleep(0)
            raise StoreError("database is locked")
        async for record in super().read_all(**options):
            yield record


async def test_a_failed_read_ahead_is_retried_like_any_read() -> None:
    reference, events = InMemoryEventStore(), FlakyReads(set())
    await write_round_robin(reference, 40)
    await write_round_robin(events, 40)
    events.fail_on = {2, 3, 5}  # read-aheads (the first read is the first batch's)
    expected_store = InMemoryProjectionStore()
    await make_engine([CounterProjection()], reference, expected_store).catch_up()
    store = InMemoryProjectionStore()

    summary = (await make_engine([CounterProjection()], events, store).catch_up())[0]

    assert (summary.status, summary.events, summary.applied) == ("caught-up", 40, 40)
    assert await documents(store, "counter") == await documents(expected_store, "counter")
    assert events.reads >= 7  # 40 events in batches of 7, three reads failed


async def test_catch_up_leaves_no_read_ahead_running() -> None:
    events, store = InMemoryEventStore(), InMemoryProjectionStore()
    await write_round_robin(events, 30)
    engine = make_engine([CounterProjection()], events, store)
    await engine.catch_up()
    assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []


# -- the garbage collector ---------------------------------------------------------------


def test_pauses_nest_and_restore_the_collector() -> None:
    assert gc.isenabled()
    with paused_collector():
        assert not gc.isenabled()
        with paused_collector():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_collector_switched_off_by_someone_else_stays_off() -> None:
    gc.disable()
    try:
        with paused_collector():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


async def test_the_collector_runs_again_after_a_batch_even_one_that_failed() -> None:
    events = FlakyReads({1})
    await write_round_robin(events, 10)
    store = InMemoryProjectionStore()
    summary = (await make_engine([CounterProjection()], events, store).catch_up())[0]
    assert summary.status == "caught-up"
    assert gc.isenabled()


# -- the span of each read ---------------------------------------------------------------


class RecordingReads(InMemoryEventStore):
    """Remembers the positions each read_all spans."""

    def __init__(self) -> None:
        super().__init__()
        self.spans: list[tuple[int, int | None]] = []

    async def read_all(self, **options: Any) -> AsyncIterator[RecordedEvent]:  # type: ignore[override]
        self.spans.append((options["from_position"], options.get("to_position")))
        async for record in super().read_all(**options):
            yield record


async def test_dense_types_are_read_about_a_batch_at_a_time_sparse_ones_a_window() -> None:
    events = RecordingReads()
    await write_round_robin(events, 200, noted_every=10)  # Counted: 200 of 220 positions
    reader = BatchReader(events, SystemClock(), ["Counted"], batch_size=20, window=80)
    position, head, sizes = 0, await events.head_position(), []
    while position < head:
        batch = await reader.batch(position, head)
        sizes.append(len(batch.records))
        position = batch.end
    await reader.close()
    assert sum(sizes) == 200 and set(sizes[1:-1]) == {20}  # full batches after the first
    first, *others = [(until or 0) - start + 1 for start, until in events.spans]
    assert first == 20  # one batch, before anything is known
    assert all(20 <= span <= 26 for span in others[:-1])  # 22 positions a batch, +10%

    sparse = BatchReader(events, SystemClock(), ["Noted"], batch_size=20, window=80)
    events.spans.clear()
    batch = await sparse.batch(0, head)
    batch = await sparse.batch(batch.end, head)
    await sparse.close()
    assert [(until or 0) - start + 1 for start, until in events.spans[:2]] == [20, 80]


async def test_the_read_ahead_prepares_its_events_only_when_told_or_when_taken() -> None:
    events = RecordingReads()
    await write_round_robin(events, 60)
    prepared: list[list[int]] = []

    async def prepare(records: list[RecordedEvent]) -> int:
        prepared.append([r.position for r in records])
        return len(records)

    reader = BatchReader(events, SystemClock(), None, batch_size=20, window=80, prepare=prepare)
    head = await events.head_position()
    first = await reader.batch(0, head)
    assert first.prepared == 20 and len(prepared) == 1  # a batch read when asked: at once
    for _ in range(5):
        await asyncio.sleep(0)  # the read ahead has read its events...
    assert len(events.spans) == 2 and len(prepared) == 1  # ...but waits to prepare them
    reader.prepare_ahead()  # what a processor says when it starts waiting for its commit
    for _ in range(5):
        await asyncio.sleep(0)
    assert len(prepared) == 2
    second = await reader.batch(first.end, head)
    assert second.prepared == 20 and prepared[1] == [r.position for r in second.records]
    third = await reader.batch(second.end, head)  # taken without being told: prepared then
    assert third.prepared == 20 and len(prepared) == 3
    await reader.close()
