"""`eventdeck doctor` through the real command, on SQLite and (with EVENTDECK_TEST_PG_URL)
PostgreSQL: a healthy seeded store is healthy (exit 0); each problem, made with raw
SQL, is reported with its fix (exit 1); `--repair` fixes what it can."""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text, update

from console.bootstrap import open_system
from core.clock import FixedClock, SeededIdFactory
from core.domain.demo_data import seed_demo
from stores import make_engine
from stores.schema import checkpoints, dead_letters, events, metadata, snapshots
from tests.cli_helpers import assert_one_line_error, run_cli

END = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
LONG_AGO = END - timedelta(days=30)


async def build_healthy(url: str) -> None:
    """A seeded store without poison rows, every projection caught up."""
    clock, ids = FixedClock(END), SeededIdFactory(3)
    system = await open_system(url, clock=clock, ids=ids)
    try:

        async def tick() -> None:
            await system.projections.catch_up(["fulfilment"])

        await seed_demo(
            system.store, system.snapshots, orders=10, accounts=3, days=2, seed=3, end=END,
            tick=tick, clock=clock, ids=ids, poison=False,
        )  # fmt: skip
        await system.projections.catch_up()
    finally:
        await system.close()


async def _drop_all(url: str) -> None:
    engine = make_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.drop_all)
    await engine.dispose()


@pytest.fixture(scope="module")
def healthy_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("doctor") / "healthy.db"
    asyncio.run(build_healthy(str(path)))
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, healthy_template: Path, tmp_path: Path) -> Iterator[str]:
    """A private healthy store (a copy of the SQLite template, or a fresh PG one)."""
    if request.param == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            source = healthy_template.with_name(healthy_template.name + suffix)
            if source.exists():
                shutil.copy(source, tmp_path / ("store.db" + suffix))
        yield str(tmp_path / "store.db")
        return
    url: str = request.getfixturevalue("pg_db_url")
    asyncio.run(_drop_all(url))
    asyncio.run(build_healthy(url))
    yield url


def doctor(url: str, *args: str) -> tuple[int, dict[str, Any]]:
    result = run_cli(url, "doctor", "--json", *args)
    assert result.returncode in (0, 1), result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    assert report["healthy"] is (result.returncode == 0)
    return result.returncode, report


def findings(report: dict[str, Any], check: str, severity: str | None = None) -> list[Any]:
    return [
        f
        for f in report["findings"]
        if f["check"] == check and (severity is None or f["severity"] == severity)
    ]


def execute(url: str, *statements: Any) -> None:
    async def run() -> None:
        engine = make_engine(url)
        async with engine.begin() as conn:
            for statement in statements:
                await conn.execute(text(statement) if isinstance(statement, str) else statement)
        await engine.dispose()

    asyncio.run(run())


def scalar(url: str, statement: Any) -> Any:
    async def run() -> Any:
        engine = make_engine(url)
        async with engine.connect() as conn:
            value = await conn.scalar(statement)
        await engine.dispose()
        return value

    return asyncio.run(run())


def longest_stream(url: str) -> str:
    statement = select(events.c.stream_id).group_by(events.c.stream_id)
    return str(scalar(url, statement.order_by(func.count().desc()).limit(1)))


# -- healthy ------------------------------------------------------------------------------


def test_a_healthy_seeded_store_is_healthy(store: str) -> None:
    code, report = doctor(store)
    assert code == 0, report["findings"]
    assert report["errors"] == report["warnings"] == 0
    assert {c["name"] for c in report["checks"]} == {
        "schema", "positions", "stream-versions", "snapshots", "projections", "dead-letters",
        "locks",
    }  # fmt: skip
    assert {c["status"] for c in report["checks"]} <= {"ok", "info"}
    text_run = run_cli(store, "doctor")
    assert text_run.returncode == 0 and "healthy: nothing to fix" in text_run.stdout


# -- each problem -------------------------------------------------------------------------


def test_a_gap_in_a_stream_is_an_error(store: str) -> None:
    stream = longest_stream(store)
    execute(store, events.delete().where(events.c.stream_id == stream, events.c.version == 2))
    code, report = doctor(store)
    assert code == 1
    (gap,) = findings(report, "stream-versions", "error")
    assert gap["what"].startswith("1 stream(s) have gaps") and stream in gap["examples"][0]
    assert "backup" in gap["fix"]


def test_a_streams_index_mismatch_is_reported_and_repaired(store: str) -> None:
    stream = longest_stream(store)
    execute(store, f"UPDATE streams SET version = version + 3 WHERE stream_id = '{stream}'")
    code, report = doctor(store)
    assert code == 1
    (mismatch,) = findings(report, "stream-versions", "error")
    assert "streams index" in mismatch["what"] and mismatch["fix"].startswith(
        "eventdeck doctor --repair"
    )
    _, report = doctor(store, "--repair")
    assert report["repaired"]["stream_rows_updated"] == 1
    assert_repaired_and_recorded(store, report)


def test_an_orphaned_snapshot_is_reported_and_repaired(store: str) -> None:
    stream = longest_stream(store)
    kind = scalar(store, select(events.c.stream_type).where(events.c.stream_id == stream).limit(1))
    orphans = [
        {"stream_id": stream, "version": 999, "stream_type": kind},  # beyond the stream
        {"stream_id": "nobody-1", "version": 1, "stream_type": "Account"},  # no such stream
    ]
    execute(
        store,
        snapshots.insert().values(
            [o | {"state": "{}", "state_schema": 1, "taken_at": END} for o in orphans]
        ),
    )
    code, report = doctor(store)
    assert code == 1
    (orphan,) = findings(report, "snapshots", "error")
    assert orphan["what"].startswith("2 of ") and orphan["fix"].startswith("eventdeck doctor")
    assert any("ends at version" in e for e in orphan["examples"])
    assert any("no such stream" in e for e in orphan["examples"])
    _, report = doctor(store, "--repair")
    assert report["repaired"]["snapshots_deleted"] == 2
    assert_repaired_and_recorded(store, report)


def assert_repaired_and_recorded(url: str, report: dict[str, Any]) -> None:
    """Healthy but for the repair's own operator event (StoreRepaired, naming the user),
    which the projections have not processed yet."""
    left = [f for f in report["findings"] if f["severity"] != "info"]
    assert left and all(
        f["check"] == "projections" and " 1 event(s) behind" in f["what"] for f in left
    ), left
    last = scalar(url, select(events.c.type).order_by(events.c.position.desc()).limit(1))
    assert last == "StoreRepaired"
    assert run_cli(url, "catch-up").returncode == 0
    code, report = doctor(url)
    assert code == 0, report["findings"]


def test_positions_out_of_version_order_are_an_error(store: str) -> None:
    stream = longest_stream(store)
    head = scalar(store, select(func.max(events.c.position)))
    moved = update(events).where(events.c.stream_id == stream, events.c.version == 1)
    execute(store, moved.values(position=head + 10))
    _, report = doctor(store)
    (order,) = findings(report, "positions", "error")
    assert order["examples"] == [stream]


def test_a_paused_projection_behind_is_stuck(store: str) -> None:
    execute(
        store,
        update(checkpoints)
        .where(checkpoints.c.name == "order-summary")
        .values(status="paused", position=checkpoints.c.position - 5),
    )
    code, report = doctor(store)
    assert code == 1
    (paused,) = findings(report, "projections", "warning")
    assert paused["what"] == "order-summary is paused, 5 event(s) behind"
    assert paused["fix"] == "eventdeck resume order-summary"


def test_a_dead_worker_and_an_expired_lease_are_stuck(store: str) -> None:
    execute(
        store,
        update(checkpoints)
        .where(checkpoints.c.name == "audit-log")
        .values(
            owner="worker-on-host-1",
            lease_expires_at=LONG_AGO,
            updated_at=LONG_AGO,
            position=checkpoints.c.position - 3,
        ),
    )
    _, report = doctor(store)
    (stuck,) = findings(report, "projections", "warning")
    assert stuck["subject"] == "audit-log" and "3 event(s) behind" in stuck["what"]
    assert "worker-on-host-1 stopped renewing its lease" in stuck["what"]
    assert stuck["fix"].startswith("eventdeck worker")


def test_a_checkpoint_beyond_the_head_and_an_abandoned_rebuild(store: str) -> None:
    row = checkpoints.c
    execute(
        store,
        update(checkpoints).where(row.name == "audit-log").values(position=row.position + 100),
        checkpoints.insert().values(
            name="sales-analytics",
            generation=9,
            position=4,
            status="rebuilding",
            revision=1,
            projection_version=1,
            updated_at=LONG_AGO,
            owner="rebuild-1",
            lease_expires_at=LONG_AGO,
            events_per_second=0.0,
        ),
    )
    _, report = doctor(store)
    (beyond,) = findings(report, "projections", "error")
    assert "beyond the head" in beyond["what"] and beyond["fix"] == "eventdeck rebuild audit-log"
    (abandoned,) = findings(report, "projections", "warning")
    assert "abandoned rebuild of sales-analytics" in abandoned["what"]
    assert abandoned["fix"].startswith("eventdeck rebuild sales-analytics")


def test_an_open_dead_letter_is_a_warning(store: str) -> None:
    first = select(events.c.event_id, events.c.stream_id, events.c.type).where(
        events.c.position == 1
    )
    event_id = scalar(store, first.with_only_columns(events.c.event_id))
    stream_id = scalar(store, first.with_only_columns(events.c.stream_id))
    execute(
        store,
        dead_letters.insert().values(
            projection="customer-dashboard",
            generation=1,
            position=1,
            event_id=event_id,
            stream_id=stream_id,
            event_type="OrderPlaced",
            error="boom",
            traceback="",
            attempts=3,
            status="open",
            first_failed_at=END,
            last_failed_at=END,
        ),
    )
    _, report = doctor(store)
    (letter,) = findings(report, "dead-letters", "warning")
    assert letter["what"] == "customer-dashboard has 1 open dead letter(s)"
    assert "eventdeck dlq --projection customer-dashboard" in letter["fix"]


def test_an_older_schema_is_an_error_and_read_only_stays_so(store: str) -> None:
    execute(store, "UPDATE schema_info SET value = '1' WHERE key = 'schema_version'")
    _, report = doctor(store)
    (schema,) = findings(report, "schema", "error")
    assert "schema version 1" in schema["what"] and "without --read-only" in schema["fix"]
    assert scalar(store, text("SELECT value FROM schema_info WHERE key = 'schema_version'")) == "1"


def test_not_an_eventdeck_store(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.close()
    code, report = doctor(str(path))
    assert code == 1 and "not an eventdeck store" in report["findings"][0]["what"]
    assert {c["status"] for c in report["checks"][1:]} == {"skipped"}
    assert_one_line_error(run_cli(tmp_path / "missing.db", "doctor"), "no eventdeck store")
    assert not (tmp_path / "missing.db").exists()


def test_repair_is_refused_read_only(store: str) -> None:
    assert_one_line_error(run_cli(store, "--read-only", "doctor", "--repair"), "--read-only")


def test_leases_are_listed_as_information(store: str) -> None:
    execute(
        store,
        update(checkpoints)
        .where(checkpoints.c.name == "order-summary")
        .values(owner="worker-7", lease_expires_at=datetime.now(UTC) + timedelta(hours=1)),
    )
    code, report = doctor(store)
    assert code == 0
    (lease,) = findings(report, "projections", "info")
    assert lease["what"].startswith("order-summary is leased to worker-7 until")


@pytest.mark.slow
def test_a_million_events_are_checked_in_seconds(tmp_path: Path) -> None:
    """Set-based queries: the whole check of a 1,000,000-event store takes seconds."""
    from console.bench import Sizes
    from console.bench_console import build_console_store

    url = str(tmp_path / "big.db")
    head = asyncio.run(build_console_store(url, Sizes()))
    assert head >= 1_000_000
    _, report = doctor(url)
    checked = {c["name"]: c["seconds"] for c in report["checks"]}
    assert set(checked) >= {"positions", "stream-versions", "snapshots", "projections"}
    assert sum(checked.values()) < 10, checked
    assert not findings(report, "positions") and not findings(report, "stream-versions")
