"""`eventdeck bench --quick --json` runs on a fresh store and reports every figure."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.cli_helpers import eventdeck_argv, run_cli


def test_bench_quick_json_reports_figures_with_baselines(tmp_path: Path) -> None:
    result = subprocess.run(
        [*eventdeck_argv(), "bench", "--quick", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)["figures"]
    assert {
        "commands_32_senders",
        "batched_append",
        "load_10k_no_snapshot",
        "load_10k_snapshot_tail_100",
        "read_all_decoded",
    } <= set(figures)
    for name, figure in figures.items():
        assert figure["value"] > 0, name
        assert all(v > 0 for v in figure["baselines"].values()), name
    assert "sqlite3_commit_per_event" in figures["commands_32_senders"]["baselines"]
    # a snapshot 100 events back must beat replaying all 10,000 events
    assert figures["load_10k_snapshot_tail_100"]["value"] < figures["load_10k_no_snapshot"]["value"]
    assert list(tmp_path.iterdir()) == [], "bench must not leave files behind"


def test_bench_refuses_a_store_with_data(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    run_cli(db, "cmd", "open-account", "--owner", "Ann", check=True)
    result = subprocess.run(
        [*eventdeck_argv(), "bench", "--quick", "--db", str(db)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0 and "empty store" in result.stderr
