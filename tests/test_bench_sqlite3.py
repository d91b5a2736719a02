"""The plain-sqlite3 baselines use eventdeck's own table, rows and settings."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from console import bench_sqlite3
from console.bench_fixtures import Pending, deposit_pending, deposit_rows
from console.bootstrap import open_system
from core.domain.commands import Deposit, OpenAccount


def layout(path: Path, table: str) -> dict[str, object]:
    """Columns (name, type, not null, pk) and indexes (uniqueness, columns) of `table`."""
    conn = sqlite3.connect(path)
    try:
        columns = [
            tuple(row[1:4]) + (row[5],) for row in conn.execute(f"PRAGMA table_info({table})")
        ]
        indexes = sorted(
            (
                bool(unique),
                origin,
                tuple(info[2] for info in conn.execute(f"PRAGMA index_info('{name}')")),
            )
            for _, name, unique, origin, _ in conn.execute(f"PRAGMA index_list({table})")
        )
    finally:
        conn.close()
    return {"columns": columns, "indexes": indexes}


async def eventdeck_store(path: Path) -> None:
    """A store eventdeck created, holding one deposit command's event."""
    system = await open_system(str(path))
    try:
        await system.bus.dispatch(OpenAccount(owner="Ann", account_id="acc-1"), user_id="ann")
        await system.bus.dispatch(Deposit(account_id="acc-1", amount=Decimal("1.00")), user_id="u")
    finally:
        await system.close()


async def test_the_baseline_tables_have_eventdeck_columns_and_indexes(tmp_path: Path) -> None:
    await eventdeck_store(tmp_path / "eventdeck.db")
    conn = bench_sqlite3.connect(tmp_path / "baseline.db")
    bench_sqlite3.create_schema(conn)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    conn.close()
    for table in ("events", "streams"):
        theirs = layout(tmp_path / "eventdeck.db", table)
        assert layout(tmp_path / "baseline.db", table) == theirs, table
    assert len(layout(tmp_path / "baseline.db", "events")["indexes"]) == 5  # type: ignore[arg-type]


async def test_baseline_rows_look_like_a_deposit_eventdeck_wrote(tmp_path: Path) -> None:
    await eventdeck_store(tmp_path / "eventdeck.db")
    conn = sqlite3.connect(tmp_path / "eventdeck.db")
    conn.row_factory = sqlite3.Row
    theirs = dict(conn.execute("SELECT * FROM events WHERE version = 2").fetchone())
    conn.close()
    (row,) = bench_sqlite3.event_rows("acc-1", 2, 1)
    ours = dict(zip(bench_sqlite3.WRITTEN_COLUMNS, row, strict=True))
    assert set(ours) == set(theirs) - {"position"}
    for same in ("stream_id", "stream_type", "version", "type", "schema_version", "data"):
        assert ours[same] == theirs[same], same
    for sized in ("event_id", "correlation_id", "recorded_at"):
        assert len(str(ours[sized])) == len(str(theirs[sized])), sized
    assert list(json.loads(str(ours["metadata"]))) == list(json.loads(theirs["metadata"]))


def test_the_baselines_measure_and_leave_every_row_readable(tmp_path: Path) -> None:
    figures = bench_sqlite3.sqlite3_baselines(tmp_path, commits=10, senders=3, events=50)
    assert set(figures) == {"sqlite3_commit_per_event", "sqlite3_executemany", "sqlite3_select"}
    assert all(value > 0 for value in figures.values())
    conn = bench_sqlite3.connect(tmp_path / "sqlite3-baseline.db")
    # 3 openings + 10 single-event commits + 50 in one executemany
    assert bench_sqlite3.select_decoded(conn)[1] == 63
    versions = dict(conn.execute("SELECT stream_id, version FROM streams").fetchall())
    conn.close()
    assert versions == {
        "acc-sqlite3-0": 5,
        "acc-sqlite3-1": 4,
        "acc-sqlite3-2": 4,
        "acc-sqlite3-batch": 50,
    }


def test_bulk_deposit_rows_are_exactly_what_the_store_writes() -> None:
    start = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    rows = list(deposit_rows(1_002, start, start + timedelta(hours=1), seed=1))
    stream, kind = (bench_sqlite3.WRITTEN_COLUMNS.index(c) for c in ("stream_id", "type"))
    assert [(r[stream], r[kind]) for r in rows[999:1001]] == [
        ("acc-bulk-000000", "MoneyDeposited"),
        ("acc-bulk-000001", "AccountOpened"),
    ]
    for raw, pending in zip(rows, deposit_pending(rows), strict=True):
        assert isinstance(pending, Pending)
        assert pending.row() == raw
