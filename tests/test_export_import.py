"""`eventdeck export` / `eventdeck import` through the real command, on SQLite.

A seeded store is exported and imported into new stores: the stored rows come
out identical (every column, read with sqlite3), twice adds nothing, an
interrupted import resumes exactly, and bad lines are one clear error naming
the line. PostgreSQL round trips are in test_export_import_postgres.py.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.cli_helpers import assert_one_line_error, eventdeck_argv, run_cli, run_json

END = "2026-11-01T12:00:00+00:00"
SEED_ARGS = ["--orders", "30", "--accounts", "6", "--days", "6", "--seed", "5", "--end", END]
#: Every column of `events` but the position, as stored.
EVENT_COLUMNS = (
    "event_id, stream_id, stream_type, version, type, schema_version, data, metadata, "
    "correlation_id, recorded_at"
)


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("source") / "source.db"
    run_cli(db, "seed", *SEED_ARGS, check=True)
    return db


@pytest.fixture(scope="module")
def exported(source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("export") / "events.jsonl"
    result = run_cli(source, "export", check=True)
    path.write_text(result.stdout, encoding="utf-8")
    return path


def rows(db: Path) -> list[tuple[Any, ...]]:
    """Every event row as stored, position first, in position order."""
    with sqlite3.connect(db) as conn:
        return conn.execute(
            f"SELECT position, {EVENT_COLUMNS} FROM events ORDER BY position"
        ).fetchall()


def stream_rows(db: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT * FROM streams ORDER BY stream_id").fetchall()


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def at(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(event["recorded_at"])


def write_lines(path: Path, records: list[dict[str, Any]] | list[str]) -> Path:
    text = "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records)
    path.write_text(text, encoding="utf-8")
    return path


def batch_records(db: Path) -> list[tuple[Any, ...]]:
    """Each EventsImported record in position order: first and last line, first and last
    position, events imported, user."""
    with sqlite3.connect(db) as conn:
        found = conn.execute(
            "SELECT data, metadata FROM events WHERE type = 'EventsImported' ORDER BY position"
        ).fetchall()
    return [
        (
            d["first_line"],
            d["lines"],
            d["first_position"],
            d["last_position"],
            d["imported"],
            json.loads(m)["user_id"],
        )
        for d, m in ((json.loads(data), metadata) for data, metadata in found)
    ]


def import_streams(db: Path) -> list[tuple[Any, ...]]:
    """The import operator streams (id, version), by creation."""
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT stream_id, version FROM streams WHERE stream_id LIKE 'import-%' "
            "ORDER BY created_at"
        ).fetchall()


def imported(db: Path, path: Path, *args: str, user: str = "carol") -> dict[str, Any]:
    summary: dict[str, Any] = run_json(db, "import", str(path), *args, user=user)
    return summary


def test_export_is_every_row_as_stored_in_position_order(source: Path, exported: Path) -> None:
    stored = rows(source)
    out = lines(exported)
    assert len(out) == len(stored) > 100
    assert [e["position"] for e in out] == [row[0] for row in stored]
    assert list(out[0]) == [
        "position",
        "event_id",
        "stream_id",
        "stream_type",
        "version",
        "type",
        "schema_version",
        "recorded_at",
        "data",
        "metadata",
    ]
    for event, row in zip(out, stored, strict=True):
        compact = json.dumps(event["data"], ensure_ascii=False, separators=(",", ":"))
        assert compact == row[7]  # the stored payload's text, not an upcast one
        assert json.dumps(event["metadata"], ensure_ascii=False, separators=(",", ":")) == row[8]
    legacy = [e for e in out if e["type"] == "OrderPlaced" and e["schema_version"] == 1]
    assert legacy and "product_ids" in legacy[0]["data"]  # v1 travels as v1


def test_round_trip_keeps_every_row_and_a_second_import_adds_nothing(
    source: Path, exported: Path, tmp_path: Path
) -> None:
    target = tmp_path / "target.db"
    first = imported(target, exported)
    count = len(rows(source))
    assert (first["imported"], first["skipped"]) == (count, 0)
    assert first["streams"] == len(stream_rows(source))
    after = rows(target)
    assert after[:count] == rows(source)  # every column, positions included (empty target)
    assert set(stream_rows(source)) <= set(stream_rows(target))  # versions, created/updated
    audit = after[count:]
    assert len(audit) == 1 and audit[0][3] == "Operator" and audit[0][5] == "EventsImported"
    assert json.loads(audit[0][8])["user_id"] == "carol"
    assert json.loads(audit[0][7])["imported"] == count

    again = imported(target, exported)
    assert (again["imported"], again["skipped"], again["audit_stream"]) == (0, count, None)
    assert rows(target) == after


def test_import_from_stdin(exported: Path, tmp_path: Path) -> None:
    target = tmp_path / "target.db"
    result = subprocess.run(
        [*eventdeck_argv(), "--db", str(target), "--user", "dan", "import", "-", "--json"],
        input=exported.read_text(encoding="utf-8"),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    summary = json.loads(result.stdout)
    assert summary["source"] == "stdin" and summary["imported"] == len(lines(exported))


def test_an_import_stopped_at_a_truncated_line_resumes_exactly(
    source: Path, exported: Path, tmp_path: Path
) -> None:
    text = exported.read_text(encoding="utf-8")
    all_lines = text.splitlines(keepends=True)
    truncated = tmp_path / "truncated.jsonl"
    truncated.write_text("".join(all_lines[:57]) + all_lines[57][:40], encoding="utf-8")
    target = tmp_path / "target.db"

    result = run_cli(target, "import", str(truncated), "--batch-size", "25")
    assert_one_line_error(result, "line 58: not valid JSON", "nothing from line 51 on")
    stopped = rows(target)
    # the lines of whole batches are in, each batch followed by its operator record
    assert [row[1:] for row in stopped if row[5] != "EventsImported"] == [
        row[1:] for row in rows(source)[:50]
    ]
    assert [row[0] for row in stopped if row[5] == "EventsImported"] == [26, 52]
    first_run = [(1, 25, 1, 25, 25, "tester"), (26, 50, 27, 51, 25, "tester")]
    assert batch_records(target) == first_run

    resumed = imported(target, exported, "--batch-size", "25")
    assert (resumed["imported"], resumed["skipped"]) == (len(all_lines) - 50, 50)
    moved = [row[1:] for row in rows(target) if row[5] != "EventsImported"]
    assert moved == [row[1:] for row in rows(source)]
    # the resumed run recorded the batches it wrote, from line 51 on, in a stream of its own
    records = batch_records(target)
    assert records[:2] == first_run and {r[5] for r in records[2:]} == {"carol"}
    assert records[2][0] == 51 and records[-1][1] == len(all_lines)
    assert sum(r[4] for r in records) == len(all_lines)
    streams = import_streams(target)
    assert len(streams) == 2 and streams[0][1] == 2
    assert streams[1] == (resumed["audit_stream"], len(records) - 2)


def test_a_version_gap_is_refused_naming_the_line_and_its_batch_writes_nothing(
    exported: Path, tmp_path: Path
) -> None:
    records = lines(exported)
    # the first event that is not a stream's first: drop its predecessor in the stream
    later = next(e for e in records if e["version"] == 2)
    gap = [e for e in records if (e["stream_id"], e["version"]) != (later["stream_id"], 1)]
    bad = write_lines(tmp_path / "gap.jsonl", gap)
    target = tmp_path / "target.db"
    result = run_cli(target, "import", str(bad))
    number = gap.index(later) + 1
    assert_one_line_error(
        result,
        f"line {number}:",
        f"version 2 of stream {later['stream_id']}, which is at version 0 here",
        "nothing was written",
    )
    assert rows(target) == []


def test_an_event_id_stored_elsewhere_is_refused(exported: Path, tmp_path: Path) -> None:
    records = lines(exported)
    target = tmp_path / "target.db"
    imported(target, write_lines(tmp_path / "one.jsonl", records[:1]))
    moved = dict(records[1], event_id=records[0]["event_id"])
    result = run_cli(target, "import", str(write_lines(tmp_path / "two.jsonl", [moved])))
    assert_one_line_error(result, "line 1:", f"is already stored as {records[0]['stream_id']}@1")


@pytest.mark.parametrize(
    ("third", "fragment"),
    [
        ("not json at all", "line 3: not valid JSON"),
        ("[1, 2]", "line 3: not a JSON object"),
        ("drop:recorded_at", "line 3: field 'recorded_at' is missing"),
        ("naive:recorded_at", "line 3: field 'recorded_at'"),
        ("position:1", "line 3: position 1 is not after the previous line's 2"),
    ],
)
def test_a_malformed_line_is_one_error_naming_it(
    exported: Path, tmp_path: Path, third: str, fragment: str
) -> None:
    records: list[Any] = lines(exported)[:5]
    edit, _, key = third.partition(":")
    if edit == "drop":
        records[2] = {k: v for k, v in records[2].items() if k != key}
    elif edit == "naive":
        records[2] = dict(records[2], recorded_at=records[2]["recorded_at"][:19])
    elif edit == "position":
        records[2] = dict(records[2], position=int(key))
    else:
        records[2] = third
    target = tmp_path / "target.db"
    result = run_cli(target, "import", str(write_lines(tmp_path / "bad.jsonl", records)))
    assert_one_line_error(result, fragment, "nothing was written")
    assert rows(target) == []


def test_since_exports_the_later_events_which_import_onto_the_earlier_ones(
    source: Path, exported: Path, tmp_path: Path
) -> None:
    records = lines(exported)
    since = records[len(records) // 2]["recorded_at"]
    out = run_cli(source, "export", "--since", since, check=True).stdout
    later = [json.loads(line) for line in out.splitlines()]
    assert later == [e for e in records if at(e) >= at(records[len(records) // 2])]
    assert 0 < len(later) < len(records)

    target = tmp_path / "target.db"
    result = run_cli(target, "import", str(write_lines(tmp_path / "later.jsonl", later)))
    assert_one_line_error(result, "import into a store holding the stream's earlier events")
    earlier = [e for e in records if e not in later]
    imported(target, write_lines(tmp_path / "earlier.jsonl", earlier))
    summary = imported(target, write_lines(tmp_path / "later.jsonl", later))
    assert summary["imported"] == len(later)
    moved = [row[1:] for row in rows(target) if row[5] != "EventsImported"]
    assert moved == [row[1:] for row in rows(source)]


def test_read_only_refuses_the_import_and_writes_nothing(
    source: Path, exported: Path, tmp_path: Path
) -> None:
    target = tmp_path / "target.db"
    imported(target, write_lines(tmp_path / "first.jsonl", lines(exported)[:10]))
    before = rows(target)
    result = run_cli(target, "--read-only", "import", str(exported))
    assert_one_line_error(result, "--read-only")
    assert rows(target) == before
    # reading is no write: the export works read-only
    assert run_cli(source, "--read-only", "export", check=True).stdout == exported.read_text()


def test_a_missing_file_is_one_error(tmp_path: Path) -> None:
    result = run_cli(tmp_path / "target.db", "import", str(tmp_path / "nope.jsonl"))
    assert_one_line_error(result, "nope.jsonl")


def test_after_an_import_catch_up_rebuilds_the_read_models_and_the_saga_sends_nothing(
    tmp_path: Path,
) -> None:
    """Only events travel: the target's projections are rebuilt from them, and the saga
    finds the events its commands caused (their ids are kept), so it re-sends nothing."""
    source = tmp_path / "source.db"
    run_cli(source, "seed", "--orders", "12", "--accounts", "3", "--days", "3", check=True)
    run_cli(source, "catch-up", check=True)  # the saga answers the newest orders
    path = tmp_path / "events.jsonl"
    path.write_text(run_cli(source, "export", check=True).stdout, encoding="utf-8")
    target = tmp_path / "target.db"
    imported(target, path)
    after_import = rows(target)
    run_cli(target, "catch-up", check=True)
    assert rows(target) == after_import
    for view in ("order-summary", "account-balances"):
        assert run_json(target, "query", view) == run_json(source, "query", view)


def test_a_read_only_import_is_refused_by_the_database_too(
    source: Path, exported: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Even if the front end's check were forgotten, the import's own engine is read-only."""
    from console.bootstrap import System
    from tests.bad_input import invoke

    target = tmp_path / "target.db"
    imported(target, write_lines(tmp_path / "first.jsonl", lines(exported)[:10]))
    before = rows(target)
    monkeypatch.setattr(System, "require_writable", lambda self, action: None)
    code, _, err = invoke("--db", str(target), "--read-only", "import", str(exported))
    assert code != 0 and "read-only" in err and "Traceback" not in err
    assert rows(target) == before
