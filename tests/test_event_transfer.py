"""The store side of export/import (stores/event_transfer.py) and the line format.

Odd payloads travel exactly from SQLite to SQLite and (with EVENTDECK_TEST_PG_URL)
to PostgreSQL and back; a batch with a bad line writes nothing; on PostgreSQL an
import waits for the lock that orders positions, like every append.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import text

from core.errors import CorruptRecord
from core.event_transfer import (
    ImportLine,
    ImportRejected,
    TransferredEvent,
    export_line,
    parse_line,
)
from core.events import Metadata
from stores import SqlEventStore, open_stores
from stores.event_transfer import SqlEventTransfer
from stores.transactions import POSITION_LOCK_KEY
from tests.store_contract import new_event

T0 = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
ODD_DATA = {
    "text": 'é漢字😀 \u2028 tab\t quote" back\\ nul\x00',
    "float": 0.1,
    "tiny": 1.5e-300,
    "negative_zero": -0.0,
    "big": 2**70,
    "nested": {"list": [1, None, True, {"x": "y"}], "empty": {}},
    "amount": "12.50",
}


@pytest.fixture(params=["sqlite", "postgresql"])
def target_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "target.db")
    return str(request.getfixturevalue("empty_pg"))


@pytest.fixture
async def source(tmp_path: Path) -> AsyncIterator[tuple[str, SqlEventStore]]:
    url = str(tmp_path / "source.db")
    store, _ = await open_stores(url)
    try:
        yield url, store
    finally:
        await store.close()


async def exported(store: SqlEventStore) -> list[TransferredEvent]:
    return [event async for event in SqlEventTransfer(store.engine).export_events(page_size=3)]


def batch(events: list[TransferredEvent]) -> list[ImportLine]:
    return [ImportLine(number, event) for number, event in enumerate(events, start=1)]


def without_position(events: list[TransferredEvent]) -> list[str]:
    return [export_line(event).split(",", 1)[1] for event in events]


async def seed_odd_events(url: str, store: SqlEventStore) -> None:
    await store.append(
        "odd-1",
        "Odd",
        [
            new_event(data=ODD_DATA, at=T0, metadata=Metadata(user_id="ann")),
            new_event(at=T0.astimezone(timezone(timedelta(hours=2))) + timedelta(microseconds=1)),
        ],
        0,
    )
    await store.append("odd-2", "Odd", [new_event(at=T0, schema_version=7)], 0)
    # metadata written by another tool, with a key eventdeck's model does not know
    # (compact, as eventdeck writes JSON: other whitespace would be normalised)
    foreign = {"user_id": "bot", "tenant": "t-9", "correlation_id": None}
    with sqlite3.connect(url) as conn:
        conn.execute(
            "UPDATE events SET metadata = ? WHERE stream_id = 'odd-2'",
            [json.dumps(foreign, separators=(",", ":"))],
        )


async def test_odd_payloads_travel_exactly_and_back(
    source: tuple[str, SqlEventStore], target_url: str, tmp_path: Path
) -> None:
    url, store = source
    await seed_odd_events(url, store)
    out = await exported(store)
    assert [e.version for e in out] == [1, 2, 1]
    assert out[2].metadata["tenant"] == "t-9" and out[2].schema_version == 7

    target, _ = await open_stores(target_url)
    back, _ = await open_stores(str(tmp_path / "back.db"))
    try:
        transfer = SqlEventTransfer(target.engine)
        # through the text of the file, as the command line does
        lines = [parse_line(export_line(e).encode(), n) for n, e in enumerate(out, start=1)]
        assert await transfer.import_batch(batch([e for e in lines if e])) == (3, 0)
        assert without_position(await exported(target)) == without_position(out)
        assert await SqlEventTransfer(back.engine).import_batch(batch(await exported(target)))
    finally:
        await target.close()
        await back.close()
    columns = "event_id, stream_id, version, type, schema_version, data, metadata, recorded_at"
    with sqlite3.connect(url) as a, sqlite3.connect(tmp_path / "back.db") as b:
        query = f"SELECT {columns}, correlation_id FROM events ORDER BY position"
        assert a.execute(query).fetchall() == b.execute(query).fetchall()
        streams = "SELECT * FROM streams ORDER BY stream_id"
        assert a.execute(streams).fetchall() == b.execute(streams).fetchall()


async def test_a_batch_with_a_bad_line_writes_nothing(
    source: tuple[str, SqlEventStore], target_url: str
) -> None:
    url, store = source
    await seed_odd_events(url, store)
    out = await exported(store)
    target, _ = await open_stores(target_url)
    try:
        transfer = SqlEventTransfer(target.engine)
        # odd-1@1, odd-2@1, then odd-1@2 with its predecessor already taken: fine;
        # then odd-2@1 again under another id: version 1 does not follow version 1
        clash = out[2].model_copy(update={"event_id": "another-id"})
        with pytest.raises(ImportRejected, match="line 4: .* version 1 of stream odd-2, which is"):
            await transfer.import_batch(batch([out[0], out[2], out[1], clash]))
        assert await target.head_position() == 0
        assert await target.list_streams() == []
        # a stream's type is kept: the same stream id for another type is refused
        await transfer.import_batch(batch(out[:1]))
        other = out[1].model_copy(update={"stream_type": "Thing"})
        with pytest.raises(ImportRejected, match="line 1: stream odd-1 is a Odd stream"):
            await transfer.import_batch([ImportLine(1, other)])
        assert await target.head_position() == 1
    finally:
        await target.close()


async def test_export_names_a_corrupt_row(source: tuple[str, SqlEventStore]) -> None:
    url, store = source
    await seed_odd_events(url, store)
    with sqlite3.connect(url) as conn:
        conn.execute("UPDATE events SET data = '{oops' WHERE stream_id = 'odd-2'")
    with pytest.raises(CorruptRecord, match="position 3 in stream 'odd-2': invalid JSON in data"):
        await exported(store)


async def test_export_stops_at_the_head_it_saw_first(source: tuple[str, SqlEventStore]) -> None:
    _, store = source
    await store.append("s", "Thing", [new_event() for _ in range(5)], 0)
    seen = []
    async for event in SqlEventTransfer(store.engine).export_events(page_size=2):
        seen.append(event.position)
        if event.position == 1:
            await store.append("s", "Thing", [new_event()], 5)
    assert seen == [1, 2, 3, 4, 5]


@pytest.mark.postgres
async def test_an_import_on_postgres_waits_for_the_position_lock(
    empty_pg: str, source: tuple[str, SqlEventStore]
) -> None:
    """Positions commit in order only if every writer takes the same lock first."""
    _, store = source
    await store.append("s", "Thing", [new_event(), new_event()], 0)
    events = await exported(store)
    target, _ = await open_stores(empty_pg)
    try:
        async with target.engine.connect() as holder, holder.begin():
            await holder.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": POSITION_LOCK_KEY}
            )
            importing = asyncio.create_task(
                SqlEventTransfer(target.engine).import_batch(batch(events))
            )
            await asyncio.sleep(0.5)
            assert not importing.done()
        assert await asyncio.wait_for(importing, 10) == (2, 0)
    finally:
        await target.close()


def test_parse_line_names_the_problem() -> None:
    good = export_line(TransferredEvent.model_validate_json(json.dumps(_line())))
    assert parse_line(good, 1) is not None
    assert parse_line("  \n", 2) is None
    cases = {
        b"\xff{}": "line 3: not UTF-8 text (byte 1)",
        '{"position": 1': "line 3: not valid JSON",
        json.dumps(_line(version=0)): "line 3: field 'version': Input should be greater",
        json.dumps(_line(version="1")): "line 3: field 'version': Input should be a valid integer",
        json.dumps(
            _line(event_id="x" * 37)
        ): "line 3: field 'event_id': String should have at most",
        json.dumps(_line(data=[1])): "line 3: field 'data': Input should be an object",
        json.dumps(_line(extra=1)): "line 3: field 'extra': Extra inputs are not permitted",
    }
    for raw, message in cases.items():
        with pytest.raises(ImportRejected) as caught:
            parse_line(raw, 3)
        assert str(caught.value).startswith(message), str(caught.value)


def _line(**changes: object) -> dict[str, object]:
    line: dict[str, object] = {
        "position": 1,
        "event_id": "e-1",
        "stream_id": "s",
        "stream_type": "Thing",
        "version": 1,
        "type": "ThingHappened",
        "schema_version": 1,
        "recorded_at": T0.isoformat(),
        "data": {},
        "metadata": {},
    }
    return {**line, **changes}
