"""Each committed batch of an import carries its operator record (EventsImported naming
the operator, the file, the batch's lines and the positions its events took), appended
in the batch's own transaction: whenever an import stops - an error, a failure inside a
batch, a process SIGKILLed at any batch - every event it wrote is covered by exactly one
record of who imported it, and a resumed or repeated import records only what it adds.

On SQLite and PostgreSQL (the import is SQL only), through `EventImport` over
`SqlEventTransfer` as `eventdeck import` runs it.
"""

from __future__ import annotations

import asyncio
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.clock import FixedClock, UuidFactory
from core.event_import import EventImport, ImportSummary
from core.event_transfer import export_line
from core.operator_events import OperatorLog, register_operator_events
from core.ports import EventTransfer
from stores import make_engine as make_sql_engine
from stores import open_stores
from stores.event_transfer import SqlEventTransfer
from stores.schema import metadata
from tests.fault_helpers import run_until_killed
from tests.projection_fixtures import T0, counter_registry, write_round_robin

EVENTS = 60
BATCH = 10


def importer(transfer: EventTransfer, events: Any, batch_size: int = BATCH) -> EventImport:
    log = OperatorLog(
        events, register_operator_events(counter_registry()), FixedClock(T0), UuidFactory()
    )
    return EventImport(transfer, log, UuidFactory(), batch_size=batch_size)


async def run_import(url: str, lines: list[str], user: str) -> ImportSummary:
    events, _ = await open_stores(url)
    try:
        transfer = SqlEventTransfer(events.engine)
        return await importer(transfer, events).run(lines, source="events.jsonl", user=user)
    finally:
        await events.close()


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An export of EVENTS events over 4 streams, one line each."""
    path = tmp_path_factory.mktemp("import-audit") / "events.jsonl"

    async def write() -> None:
        events, _ = await open_stores(str(path.with_suffix(".db")))
        try:
            await write_round_robin(events, EVENTS, streams=4)
            transfer = SqlEventTransfer(events.engine)
            lines = [export_line(e) async for e in transfer.export_events()]
        finally:
            await events.close()
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")

    asyncio.run(write())
    return path


def file_lines(export: Path) -> list[str]:
    return export.read_text(encoding="utf-8").splitlines()


@pytest.fixture(params=["sqlite", "postgres"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty SQLite file or PostgreSQL database."""
    if request.param == "sqlite":
        yield str(tmp_path / "target.db")
        return
    url: str = request.getfixturevalue("pg_db_url")
    asyncio.run(_drop_tables(url))
    yield url


async def _drop_tables(url: str) -> None:
    engine = make_sql_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.drop_all)
    await engine.dispose()


async def _coverage(url: str) -> dict[str, Any]:
    """The imported events (by position) and the import records, checked against each
    other: every imported event lies in exactly one record's range, and each record's
    range holds exactly the events it says it imported."""
    events, _ = await open_stores(url)
    try:
        stored = [e async for e in events.read_all()]
    finally:
        await events.close()
    imported = {e.position: e.event_id for e in stored if e.type == "Counted"}
    records = [e for e in stored if e.type == "EventsImported"]
    covered: dict[int, int] = {}
    for record in records:
        data = record.data
        inside = [p for p in imported if data["first_position"] <= p <= data["last_position"]]
        assert len(inside) == data["imported"], (data, inside)
        assert record.position == data["last_position"] + 1  # right after its batch
        for position in inside:
            covered[position] = covered.get(position, 0) + 1
    assert covered == dict.fromkeys(imported, 1), "events not covered exactly once"
    return {
        "imported": len(imported),
        "ids": list(imported.values()),
        "records": [
            (r.stream_id, r.version, r.data["first_line"], r.data["lines"], r.metadata.user_id)
            for r in records
        ],
    }


def coverage(url: str) -> dict[str, Any]:
    return asyncio.run(_coverage(url))


def test_each_batch_is_recorded_and_a_second_import_records_nothing(
    target: str, export: Path
) -> None:
    lines = file_lines(export)
    summary = asyncio.run(run_import(target, lines, "carol"))
    assert (summary.imported, summary.skipped) == (EVENTS, 0)
    after = coverage(target)
    assert after["imported"] == EVENTS
    assert [r[1:] for r in after["records"]] == [
        (n + 1, n * BATCH + 1, (n + 1) * BATCH, "carol") for n in range(EVENTS // BATCH)
    ]
    assert {r[0] for r in after["records"]} == {summary.audit_stream}

    again = asyncio.run(run_import(target, lines, "dan"))
    assert (again.imported, again.skipped, again.audit_stream) == (0, EVENTS, None)
    assert coverage(target) == after


class Boom(Exception):
    pass


def test_a_batch_failing_after_its_record_writes_neither_and_the_rerun_resumes(
    target: str, export: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import stores.audit_append
    import stores.event_transfer as module

    real = stores.audit_append.append_audit
    calls = 0

    async def third_fails(*args: Any, **kwargs: Any) -> int:
        nonlocal calls
        calls += 1
        position = await real(*args, **kwargs)
        if calls == 3:
            raise Boom("died after the operator record")
        return position

    lines = file_lines(export)
    with monkeypatch.context() as patch:
        patch.setattr(module, "append_audit", third_fails)
        with pytest.raises(Boom):
            asyncio.run(run_import(target, lines, "carol"))

    stopped = coverage(target)  # the third batch: neither its events nor its record
    assert stopped["imported"] == 2 * BATCH and len(stopped["records"]) == 2

    resumed = asyncio.run(run_import(target, lines, "dan"))
    assert (resumed.imported, resumed.skipped) == (EVENTS - 2 * BATCH, 2 * BATCH)
    after = coverage(target)
    assert after["imported"] == EVENTS
    assert [r[2:] for r in after["records"]] == [
        (n * BATCH + 1, (n + 1) * BATCH, "carol" if n < 2 else "dan")
        for n in range(EVENTS // BATCH)
    ]


_KILLED = textwrap.dedent(
    """
    import asyncio, os, signal, sys
    import stores.event_transfer as module
    from stores import open_stores
    from stores.event_transfer import SqlEventTransfer
    from tests.test_import_audit import importer

    url, path, where, at = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    batches = 0

    class DiesAfterCommit(SqlEventTransfer):
        async def import_batch(self, batch, **kwargs):
            global batches
            result = await super().import_batch(batch, **kwargs)
            batches += 1
            if where == "after-commit" and batches == at:
                os.kill(os.getpid(), signal.SIGKILL)  # the batch and its record committed
            return result

    if where == "before-commit":
        real = module.append_audit

        async def dies_inside(*args, **kwargs):
            position = await real(*args, **kwargs)
            if batches + 1 == at:
                os.kill(os.getpid(), signal.SIGKILL)  # the record written, not committed
            return position

        module.append_audit = dies_inside

    async def main():
        events, _ = await open_stores(url)
        lines = open(path, encoding="utf-8").read().splitlines()
        await importer(DiesAfterCommit(events.engine), events).run(
            lines, source="events.jsonl", user="ops"
        )

    asyncio.run(main())
    """
)


@pytest.mark.parametrize(
    ("where", "at"), [("after-commit", 1), ("after-commit", 4), ("before-commit", 3)]
)
def test_an_import_killed_at_a_batch_leaves_every_event_recorded_and_resumes(
    target: str, export: Path, where: str, at: int
) -> None:
    run_until_killed(_KILLED, target, str(export), where, str(at))

    written = at if where == "after-commit" else at - 1
    killed = coverage(target)
    assert killed["imported"] == written * BATCH
    assert [r[2:] for r in killed["records"]] == [
        (n * BATCH + 1, (n + 1) * BATCH, "ops") for n in range(written)
    ]

    resumed = asyncio.run(run_import(target, file_lines(export), "dan"))
    assert (resumed.imported, resumed.skipped) == (EVENTS - written * BATCH, written * BATCH)
    after = coverage(target)
    assert after["imported"] == EVENTS and len(after["records"]) == EVENTS // BATCH
    assert {r[4] for r in after["records"][written:]} == {"dan"}
    assert len({r[0] for r in after["records"]}) == (2 if written else 1)

    again = asyncio.run(run_import(target, file_lines(export), "erin"))
    assert again.imported == 0 and coverage(target) == after
