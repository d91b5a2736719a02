"""A seeded SQLite store exported, imported into PostgreSQL and back: identical event for event.

Needs EVENTDECK_TEST_PG_URL; through the real command, as an operator would move a store.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.cli_helpers import run_cli, run_json

END = "2026-11-01T12:00:00+00:00"
SEED_ARGS = ["--orders", "25", "--accounts", "5", "--days", "5", "--seed", "11", "--end", END]


def export(db: str | Path, path: Path) -> list[dict[str, Any]]:
    out = run_cli(db, "export", check=True).stdout
    path.write_text(out, encoding="utf-8")
    return [json.loads(line) for line in out.splitlines()]


def without_positions(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in event.items() if k != "position"} for event in events]


def stored_rows(db: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT * FROM events ORDER BY position").fetchall()


@pytest.mark.postgres
def test_sqlite_to_postgres_and_back_is_identical_event_for_event(
    empty_pg: str, tmp_path: Path
) -> None:
    source = tmp_path / "source.db"
    run_cli(source, "seed", *SEED_ARGS, check=True)
    from_sqlite = export(source, tmp_path / "sqlite.jsonl")
    count = len(from_sqlite)

    summary = run_json(empty_pg, "import", str(tmp_path / "sqlite.jsonl"), user="carol")
    assert (summary["imported"], summary["skipped"]) == (count, 0)
    from_pg = export(empty_pg, tmp_path / "pg.jsonl")
    positions = [event["position"] for event in from_pg]
    assert positions == sorted(set(positions))
    assert without_positions(from_pg[:count]) == without_positions(from_sqlite)
    audit = from_pg[count:]
    assert [(e["type"], e["metadata"]["user_id"]) for e in audit] == [("EventsImported", "carol")]

    again = run_json(empty_pg, "import", str(tmp_path / "sqlite.jsonl"))
    assert (again["imported"], again["skipped"]) == (0, count)
    assert len(export(empty_pg, tmp_path / "pg-again.jsonl")) == count + 1

    back = tmp_path / "back.db"
    summary = run_json(back, "import", str(tmp_path / "pg.jsonl"), user="dan")
    assert summary["imported"] == count + 1
    from_back = export(back, tmp_path / "back.jsonl")
    assert without_positions(from_back[: count + 1]) == without_positions(from_pg)
    assert from_back[count + 1]["metadata"]["user_id"] == "dan"
    # the rows themselves: every column, as stored, positions included
    assert stored_rows(back)[:count] == stored_rows(source)
