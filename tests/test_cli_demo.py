"""`eventdeck demo`: its options, documented in --help, and refused when wrong."""

from __future__ import annotations

from pathlib import Path

from tests.cli_helpers import run_cli


def test_demo_help_documents_traffic_rate_and_workers(tmp_path: Path) -> None:
    db = tmp_path / "help.db"
    result = run_cli(db, "demo", "--help", check=True)
    text = " ".join(result.stdout.split())
    for option in ("--rate", "--no-traffic", "--seed"):
        assert option in text, option
    assert "commands per second" in text
    assert "[default: 3.0;" in text
    assert "projection workers" in text and "--read-only" in text
    assert not db.exists()  # help opens no store


def test_demo_refuses_a_rate_of_zero(tmp_path: Path) -> None:
    db = tmp_path / "zero.db"
    result = run_cli(db, "demo", "--rate", "0")
    assert result.returncode != 0
    assert "--rate" in result.stderr and "0" in result.stderr
    assert not db.exists()  # refused before anything was seeded
