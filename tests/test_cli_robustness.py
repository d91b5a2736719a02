"""Corrupt stored rows and several processes writing one stream, through the real command."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from console.cli import opens_console
from tests.cli_helpers import (
    assert_one_line_error,
    eventdeck_argv,
    run_cli,
    run_json,
    run_json_lines,
)


@pytest.fixture
def two_accounts(tmp_path: Path) -> Path:
    db = tmp_path / "store.db"
    for account in ("acc-1", "acc-2"):
        run_json(db, "cmd", "open-account", "--owner", "Ann", "--account", account)
        run_json(db, "cmd", "deposit", "--account", account, "--amount", "10")
    return db


def corrupt(db: Path, stream_id: str, version: int, **columns: object) -> int:
    with sqlite3.connect(db) as conn:
        sets = ", ".join(f"{name} = ?" for name in columns)
        conn.execute(
            f"UPDATE events SET {sets} WHERE stream_id = ? AND version = ?",
            [*columns.values(), stream_id, version],
        )
        (position,) = conn.execute(
            "SELECT position FROM events WHERE stream_id = ? AND version = ?", (stream_id, version)
        ).fetchone()
    return int(position)


@pytest.mark.parametrize(
    ("columns", "problem"),
    [
        ({"data": "{not json"}, "invalid JSON"),
        ({"type": "MoneyTeleported"}, "unknown event type"),
        ({"schema_version": 9}, "schema version 9"),
        ({"data": json.dumps({"amount": "lots"})}, "amount"),
    ],
)
def test_corrupt_row_names_position_and_stream_while_others_still_read(
    two_accounts: Path, columns: dict[str, object], problem: str
) -> None:
    db = two_accounts
    position = corrupt(db, "acc-1", 2, **columns)
    for args in (
        ["events"],
        ["events", "--json"],
        ["state", "acc-1"],
        ["history", "acc-1"],
        ["cmd", "deposit", "--account", "acc-1", "--amount", "1"],
    ):
        result = run_cli(db, *args)
        assert result.returncode != 0, args
        last = result.stderr.strip().splitlines()
        assert len(last) == 1 and last[0].startswith("error: "), result.stderr
        assert f"position {position}" in last[0] and "acc-1" in last[0] and problem in last[0]
        assert "Traceback" not in result.stderr
    assert run_json(db, "state", "acc-2")["state"]["balance"] in ("10", "10.00")
    assert len(run_json(db, "streams")) == 2
    with sqlite3.connect(db) as conn:  # reading never rewrote or added anything
        assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == 4


def test_events_prints_rows_before_a_corrupt_one(two_accounts: Path) -> None:
    position = corrupt(two_accounts, "acc-2", 2, data="[")
    result = run_cli(two_accounts, "events", "--json")
    assert [json.loads(line)["position"] for line in result.stdout.splitlines()] == list(
        range(1, position)
    )
    assert_one_line_error(
        subprocess.CompletedProcess(result.args, result.returncode, "", result.stderr),
        f"position {position}",
    )


def test_legacy_rows_are_never_rewritten_by_reading(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    run_cli(
        db,
        "seed",
        "--orders",
        "40",
        "--accounts",
        "2",
        "--days",
        "3",
        "--seed",
        "5",
        "--end",
        "2026-11-01T00:00:00Z",
        check=True,
    )
    with sqlite3.connect(db) as conn:
        before = conn.execute(
            "SELECT position, schema_version, data FROM events "
            "WHERE type = 'OrderPlaced' ORDER BY position"
        ).fetchall()
    assert {row[1] for row in before} >= {1, 2, 3}, "the seed wrote no legacy payloads"
    shown = run_json_lines(db, "events", "--type", "OrderPlaced")
    assert {e["schema_version"] for e in shown} == {3}
    legacy = next(row for row in before if row[1] == 1)
    stream = next(e["stream_id"] for e in shown if e["position"] == legacy[0])
    run_json(db, "state", stream)
    run_json(db, "history", stream)
    with sqlite3.connect(db) as conn:
        after = conn.execute(
            "SELECT position, schema_version, data FROM events "
            "WHERE type = 'OrderPlaced' ORDER BY position"
        ).fetchall()
    assert after == before


def test_several_processes_commanding_one_stream(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    run_json(db, "cmd", "open-account", "--owner", "Ann", "--account", "acc-1")
    procs = []
    for i in range(8):
        amount = f"{i + 1}.00"
        procs.append(
            (
                amount,
                subprocess.Popen(
                    [
                        *eventdeck_argv(),
                        "--db",
                        str(db),
                        "--user",
                        f"proc{i}",
                        "cmd",
                        "deposit",
                        "--account",
                        "acc-1",
                        "--amount",
                        amount,
                        "--json",
                    ],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                ),
            )
        )
    succeeded = Decimal(0)
    count = 0
    for amount, proc in procs:
        _out, err = proc.communicate(timeout=120)
        if proc.returncode == 0:
            succeeded += Decimal(amount)
            count += 1
        else:  # allowed only as a clear conflict message
            assert err.startswith("error: concurrency conflict") and "Traceback" not in err, err
    assert count >= 1
    events = run_json_lines(db, "events", "--stream", "acc-1")
    assert [e["version"] for e in events] == list(range(1, count + 2))
    assert Decimal(run_json(db, "state", "acc-1")["state"]["balance"]) == succeeded


@pytest.mark.parametrize(
    ("args", "console"),
    [
        ([], True),
        (["--db", "x.db", "--user", "ann", "--read-only"], True),
        (["--db=x.db"], True),
        (["--db", "demo"], True),  # a store named like a subcommand is still a store
        (["demo"], False),
        (["--db", "x.db", "events", "--json"], False),
        (["--help"], False),
        (["-h"], False),
        (["--version"], False),
    ],
)
def test_the_console_alone_skips_loading_the_subcommands(args: list[str], console: bool) -> None:
    assert opens_console(args) is console


def test_every_subcommand_is_there_when_one_is_asked_for(tmp_path: Path) -> None:
    """The subcommand modules load only when a subcommand (or help) is asked for."""
    script = (
        "import sys; from console.cli import cli, main; "
        "assert 'events' not in cli.commands; "
        "main(['--db', sys.argv[1], 'events', '--json'])"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "s.db")],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
