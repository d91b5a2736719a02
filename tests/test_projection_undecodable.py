"""Rows a projection cannot decode become dead letters (and park their stream); a
projection that sees every type gets them as UndecodedEvent instead."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path
from typing import ClassVar

from core.events import DomainEvent, NewEvent, RecordedEvent
from core.memory_projection_store import InMemoryProjectionStore
from core.memory_store import InMemoryEventStore
from core.projections import ALL_EVENT_TYPES, Projection, UndecodedEvent, View
from stores import SqlProjectionStore, open_stores
from tests.projection_fixtures import T0, CounterProjection, documents, make_engine, new_counted


class EverythingProjection(Projection):
    """Sees every event type, decodable or not."""

    name: ClassVar[str] = "everything"
    handles: ClassVar[frozenset[str]] = ALL_EVENT_TYPES

    async def apply(self, event: DomainEvent, record: RecordedEvent, view: View) -> None:
        problem = event.problem if isinstance(event, UndecodedEvent) else None
        view.put(f"{record.position:04d}", {"type": record.type, "problem": problem})


def raw(type_: str, data: dict[str, object], schema_version: int = 1) -> NewEvent:
    return NewEvent(
        event_id=str(uuid.uuid4()),
        type=type_,
        schema_version=schema_version,
        data=data,
        recorded_at=T0,
    )


async def test_undecodable_rows_are_dead_letters_that_park_their_stream() -> None:
    events, store = InMemoryEventStore(), InMemoryProjectionStore()
    await events.append("a", "Counter", [new_counted(1), raw("Counted", {"n": "many"})], 0)
    await events.append("b", "Counter", [raw("Counted", {"n": 2}, schema_version=9)], 0)
    await events.append("a", "Counter", [new_counted(3)], 2)
    await events.append("c", "Counter", [new_counted(4), raw("Mystery", {})], 0)
    engine = make_engine([CounterProjection(), EverythingProjection()], events, store)

    summaries = {s.name: s for s in await engine.catch_up()}

    assert (summaries["counter"].dead_letters, summaries["counter"].parked) == (2, 1)
    letters = await engine.dead_letters.list(projection="counter")
    assert [(d.stream_id, d.attempts, d.parked) for d in letters] == [("a", 1, 1), ("b", 1, 0)]
    assert "payload does not match its schema" in letters[0].error
    assert "schema version 9" in letters[1].error and "upgrade eventdeck" in letters[1].error
    assert (await documents(store, "counter"))["c"]["seen"] == [1]
    # the audit-log kind of projection logs them all, with the problem
    everything = await documents(store, "everything")
    assert len(everything) == 6 and summaries["everything"].dead_letters == 0
    assert everything["0006"]["type"] == "Mystery"
    assert "unknown event type 'Mystery'" in everything["0006"]["problem"]
    assert everything["0001"]["problem"] is None


async def test_a_row_the_store_cannot_read_is_a_dead_letter_and_the_rest_goes_on(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store.db"
    events, _ = await open_stores(str(path))
    try:
        await events.append("a", "Counter", [new_counted(1), new_counted(2)], 0)
        await events.append("b", "Counter", [new_counted(3)], 0)
        await events.append("a", "Counter", [new_counted(4)], 2)
        with sqlite3.connect(path) as con:  # damaged behind eventdeck's back
            con.execute("UPDATE events SET data = '{broken' WHERE position = 2")
        con.close()
        store = SqlProjectionStore(events.engine)
        engine = make_engine([CounterProjection()], events, store)

        [summary] = await engine.catch_up()

        assert (summary.status, summary.position, summary.dead_letters) == ("caught-up", 4, 1)
        [letter] = await engine.dead_letters.list()
        assert (letter.position, letter.stream_id, letter.event_type) == (2, "a", "(unreadable)")
        assert "invalid JSON in data" in letter.error
        docs = await documents(store, "counter")
        assert (docs["a"]["seen"], docs["b"]["seen"]) == ([1], [1])
        assert [p.position for p in await store.parked_events("counter", 1)] == [4]
        # skipping it releases what was parked behind it
        outcome = await engine.dead_letters.skip(letter.id, user="ops")
        assert outcome.released == 1
        assert (await documents(store, "counter"))["a"]["seen"] == [1, 3]
    finally:
        await events.close()


def test_the_projection_engine_keeps_to_its_layers() -> None:
    from tests.test_layering import imported_modules

    core = imported_modules(
        "import core.projection_engine, core.memory_projection_store, core.operator_events"
    )
    assert not core & {"sqlalchemy", "textual", "aiosqlite", "asyncpg", "stores", "console"}
    stores = imported_modules("import stores.projection_store, stores.notifications")
    assert not stores & {"textual", "console"}
