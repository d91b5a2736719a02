"""Oversized payloads and odd unicode through append and every read, on SQLite and
PostgreSQL (skipped without EVENTDECK_TEST_PG_URL): what is stored reads back exactly,
and what cannot be stored (a NUL or a lone surrogate in a plain column, an id longer
than its column) is refused before anything is written, with the same message on both.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import StoreError
from core.events import Metadata, NewEvent, RecordedEvent
from stores import SqlEventStore, make_engine, open_stores
from stores.schema import metadata as schema
from tests.bad_input import invoke
from tests.store_contract import new_event

T0 = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)


class Store:
    """One open store driven from synchronous code (hypothesis examples)."""

    def __init__(self, runner: asyncio.Runner, store: SqlEventStore) -> None:
        self.runner = runner
        self.store = store

    def __call__(self, coroutine: Any) -> Any:
        return self.runner.run(coroutine)


async def _drop_tables(url: str) -> None:
    engine = make_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(schema.drop_all)
    await engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty store's URL: a SQLite file, or a PostgreSQL database without tables."""
    if request.param == "sqlite":
        return str(tmp_path / "store.db")
    pg: str = request.getfixturevalue("pg_db_url")
    asyncio.run(_drop_tables(pg))
    return pg


@pytest.fixture
def store(url: str) -> Iterator[Store]:
    with asyncio.Runner() as runner:
        events, _ = runner.run(open_stores(url))
        yield Store(runner, events)
        runner.run(events.close())


def _dicts(events: list[RecordedEvent]) -> list[dict[str, Any]]:
    return [e.to_json_dict() for e in events]


async def _every_read(store: SqlEventStore, written: list[RecordedEvent]) -> None:
    """Each read path gives back exactly what the append returned."""
    stream_id = written[0].stream_id
    first = written[0].version
    assert _dicts(await store.read_stream(stream_id, from_version=first)) == _dicts(written)
    paged = [e async for e in store.read_all(from_position=written[0].position, page_size=1)]
    assert _dicts(paged[: len(written)]) == _dicts(written)
    filtered = [
        e
        async for e in store.read_all(stream_id=stream_id, types=sorted({e.type for e in written}))
    ]
    assert _dicts(filtered[-len(written) :]) == _dicts(written)
    for event in written:
        found = await store.read_event(event.event_id)
        assert found is not None and found.to_json_dict() == event.to_json_dict()
    payloads = await store.read_payloads(stream_id, from_version=first)
    assert [json.loads(p.data_json) for p in payloads] == [e.data for e in written]
    info = await store.stream_info(stream_id)
    assert info is not None and info.version == written[-1].version
    listed = await store.list_streams(prefix=stream_id)
    assert stream_id in [s.stream_id for s in listed]
    assert all(s.stream_id.startswith(stream_id) for s in listed)
    if written[0].metadata.correlation_id:
        correlated = await store.read_correlated(written[0].metadata.correlation_id)
        assert written[0].event_id in [e.event_id for e in correlated]


async def _append_and_read(store: SqlEventStore, stream_id: str, events: list[NewEvent]) -> None:
    info = await store.stream_info(stream_id)
    written = await store.append(stream_id, "Odd", events, info.version if info else 0)
    assert [e.data for e in written] == [e.data for e in events]
    assert [e.metadata for e in written] == [e.metadata for e in events]
    await _every_read(store, written)


# -- oversized --------------------------------------------------------------------------


def test_a_5_mb_note_and_100k_items_read_back_exactly(store: Store) -> None:
    note = ("\u00e9\U0001f600 line\n\t" * 600_000)[:5_000_000]
    items = [
        {"sku": f"SKU-{i}", "qty": i, "price": f"{i}.99", "\u05e9": "\u202e"}
        for i in range(100_000)
    ]
    big = [new_event(type="BigNote", data={"note": note}), new_event(data={"items": items})]
    store(_append_and_read(store.store, "big-1", big))
    (event,) = store(store.store.read_stream("big-1", to_version=1))
    assert len(event.data["note"]) == 5_000_000 and event.data["note"] == note


# -- odd unicode ------------------------------------------------------------------------

#: Text every column can keep: no NUL, no lone surrogate (hypothesis makes none).
KEEPABLE = st.text(st.characters(codec="utf-8", exclude_characters="\x00"))
ODD = st.sampled_from(
    [
        "e\u0301\u0301",
        "\u202eevil\u202c",
        "\U0001f469\u200d\U0001f469\u200d\U0001f467",
        "\u05e9\u05dc\u05d5\u05dd",
        "%_\\'\"",
        "a b",
        "\ufeff",
        "\uffff\U0010ffff",
        "[/]",
        "\n\r\u2028",
    ]
)
JSON_TEXT = st.one_of(st.text(), ODD, st.just("\x00"), st.just("a\x00b"))
JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), JSON_TEXT),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(JSON_TEXT, inner, max_size=3)
    ),
    max_leaves=12,
)
STREAM_IDS = st.one_of(
    st.builds(lambda a, b: a + b, ODD, KEEPABLE.filter(lambda s: len(s) < 200)),
    KEEPABLE.filter(lambda s: 0 < len(s) <= 255),
    st.just("\U0001f600" * 255),
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    stream_id=STREAM_IDS,
    data=st.dictionaries(JSON_TEXT, JSON_VALUES, max_size=4),
    user=st.one_of(st.none(), JSON_TEXT),
    correlation=st.one_of(st.none(), KEEPABLE.filter(lambda s: 0 < len(s) <= 255)),
    kind=st.one_of(ODD, KEEPABLE.filter(lambda s: 0 < len(s) <= 200)),
)
def test_odd_unicode_in_ids_data_and_metadata_reads_back_exactly(
    store: Store,
    stream_id: str,
    data: dict[str, Any],
    user: str | None,
    correlation: str | None,
    kind: str,
) -> None:
    """NUL in a payload or in the metadata is JSON-escaped and comes back as written."""
    meta = Metadata(user_id=user, correlation_id=correlation, causation_id=user)
    events = [new_event(type=kind, data=data, metadata=meta), new_event(type=kind, at=T0)]
    store(_append_and_read(store.store, stream_id, events))


# -- what cannot be stored --------------------------------------------------------------

NUL_OR_SURROGATE = ("a\x00b", "caf\udce9")


@pytest.mark.parametrize(
    ("stream_id", "stream_type", "event", "problem"),
    [
        ("s\x00", "Odd", new_event(), "the stream id 's\\x00' contains a NUL character"),
        ("s", "O\x00", new_event(), "the stream type 'O\\x00' contains a NUL character"),
        ("s", "Odd", new_event(type="T\x00"), "the event type 'T\\x00' contains a NUL"),
        (
            "s",
            "Odd",
            new_event(metadata=Metadata(correlation_id="c\x00")),
            "the correlation id 'c\\x00' contains a NUL character",
        ),
        ("caf\udce9", "Odd", new_event(), "is not valid Unicode text"),
        ("s" * 256, "Odd", new_event(), "is 256 characters long, more than the 255"),
        ("s", "Odd", new_event(type="T" * 201), "more than the 200"),
        (
            "s",
            "Odd",
            NewEvent(event_id="e" * 37, type="T", schema_version=1, data={}, recorded_at=T0),
            "more than the 36",
        ),
        ("s", "Odd", new_event(data={"a": "caf\udce9"}), "its data or metadata holds text"),
        (
            "s",
            "Odd",
            new_event(metadata=Metadata(user_id="caf\udce9")),
            "its data or metadata holds text",
        ),
    ],
)
def test_what_a_store_cannot_keep_is_refused_the_same_way_on_both(
    store: Store, stream_id: str, stream_type: str, event: NewEvent, problem: str
) -> None:
    """PostgreSQL cannot keep NUL in text nor more than a VARCHAR's length; SQLite could,
    so both refuse it before writing: the same StoreError, one line, nothing written,
    and the store goes on (the refused append did not poison a group or the pool)."""
    es = store.store
    store(es.append("before", "Odd", [new_event()], 0))
    head = store(es.head_position())

    async def append_beside_good_ones() -> list[Any]:
        return await asyncio.gather(
            es.append(stream_id, stream_type, [event], 0),
            es.append("good-1", "Odd", [new_event()], 0),
            es.append("good-2", "Odd", [new_event()], 0),
            return_exceptions=True,
        )

    refused, *good = store(append_beside_good_ones())
    assert isinstance(refused, StoreError), refused
    message = str(refused)
    assert problem in message and message.endswith("; nothing was written"), message
    assert len(message.splitlines()) == 1 and len(message) < 400
    assert all(isinstance(result, list) for result in good), good
    assert store(es.head_position()) == head + 2
    assert store(es.stream_info(stream_id)) is None
    assert [s.stream_id for s in store(es.list_streams())] == ["before", "good-1", "good-2"]


@pytest.mark.parametrize("text", NUL_OR_SURROGATE)
def test_reads_for_what_no_row_can_hold_find_nothing_on_both(store: Store, text: str) -> None:
    """PostgreSQL would refuse a NUL as a query argument; no row can hold one, so the
    answer is "nothing" on both databases, without asking either."""
    es = store.store
    store(es.append("s", "Odd", [new_event()], 0))
    assert store(es.read_stream(text)) == []
    assert store(es.read_payloads(text)) == []
    assert store(es.stream_info(text)) is None
    assert store(es.stream_version_at(text, T0)) == 0
    assert store(es.read_event(text)) is None
    assert store(es.read_correlated(text)) == []
    assert store(es.list_streams(prefix=text)) == []
    assert store(es.list_streams(stream_type=text)) == []

    async def all_events(**filters: Any) -> list[RecordedEvent]:
        return [e async for e in es.read_all(**filters)]

    assert store(all_events(stream_id=text)) == []
    assert store(all_events(types=[text])) == []
    assert len(store(all_events())) == 1


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["cmd", "open-account", "--owner", "caf\udce9"], "unable to parse raw data"),
        (["--user", "caf\udce9", "cmd", "open-account", "--owner", "Ann"], "not valid Unicode"),
    ],
)
def test_bytes_that_are_not_utf8_on_the_command_line_are_refused_in_one_line(
    tmp_path: Path, args: list[str], fragment: str
) -> None:
    """An argument with bytes that are not UTF-8 reaches Python as a lone surrogate
    (surrogateescape). A command's field refuses it; the operator's name (--user) went
    into the metadata and ended as `error: unexpected UnicodeEncodeError` on SQLite."""
    db = str(tmp_path / "store.db")
    code, _, err = invoke("--db", db, *args)
    assert code != 0 and err.startswith("error: ") and len(err.splitlines()) == 1, err
    assert fragment in err
    assert invoke("--db", db, "streams", "--json")[1].strip() == "[]"


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"stream_id": "a\x00b"}, "field 'stream_id': contains a NUL character"),
        ({"type": "X\x00"}, "field 'type': contains a NUL character"),
        ({"metadata": {"correlation_id": "c\x00"}}, "correlation_id must be at most 255"),
        ({"metadata": {"correlation_id": "c" * 256}}, "correlation_id must be at most 255"),
    ],
)
def test_an_import_line_no_store_can_keep_is_refused_on_both(
    url: str, tmp_path: Path, fields: dict[str, Any], problem: str
) -> None:
    """SQLite imported a NUL in a stream id that PostgreSQL then refused as 'check that
    the server is running'; now the line is refused, naming it, on both."""
    line = {
        "position": 1,
        "event_id": "e-1",
        "stream_id": "s",
        "stream_type": "T",
        "version": 1,
        "type": "X",
        "schema_version": 1,
        "recorded_at": "2026-01-01T00:00:00+00:00",
        "data": {"note": "a\x00b"},
        "metadata": {},
        **fields,
    }
    good = {**line, "position": 2, "event_id": "e-2", "stream_id": "t", "type": "X"}
    good["metadata"] = {}
    source = tmp_path / "events.jsonl"
    source.write_text(json.dumps(good) + "\n" + json.dumps({**line, "position": 3}) + "\n")
    code, _, err = invoke("--db", url, "import", str(source))
    assert code == 2 and err.startswith("error: line 2: ") and problem in err, err
    assert len(err.splitlines()) == 1 and "nothing was written" in err
    assert invoke("--db", url, "streams", "--json")[1].strip() == "[]"
