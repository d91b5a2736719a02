"""`eventdeck bench` through the real script: every figure, its baselines and targets."""

from __future__ import annotations

import importlib.util
import json
import os
import pty
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest

from console.bench import SIZES_ENV
from tests.cli_helpers import eventdeck_argv, run_cli

HAS_LIBRARY = importlib.util.find_spec("eventsourcing") is not None

#: Every figure of `--quick`, its unit and the baselines it is printed beside.
QUICK_FIGURES = {
    "commands_32_senders": (
        "events/s",
        {"sqlite3_commit_per_event", "eventsourcing_save_per_command"},
    ),
    "batched_append": ("events/s", {"sqlite3_executemany", "eventsourcing_batched"}),
    "load_10k_no_snapshot": ("ms", {"eventsourcing"}),
    "load_10k_snapshot_tail_100": ("ms", {"eventsourcing"}),
    "read_all_decoded": ("events/s", {"sqlite3_select", "eventsourcing"}),
    "catch_up_order_summary": ("events/s", set()),
}
CONSOLE_FIGURES = {"console_first_screen_1m": "ms", "console_rss_1m": "MB"}
LIBRARY_BASELINES = {"eventsourcing_save_per_command", "eventsourcing_batched", "eventsourcing"}


def run_bench(cwd: Path, *args: str, sizes: str | None = None) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVENTDECK_")}
    if sizes:
        env[SIZES_ENV] = sizes
    result = subprocess.run(
        [*eventdeck_argv(), "bench", *args, "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=cwd,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    output: dict[str, Any] = json.loads(result.stdout)
    return output


def assert_figures(output: dict[str, Any], expected: dict[str, tuple[str, set[str]]]) -> None:
    figures = output["figures"]
    for name, (unit, baselines) in expected.items():
        figure = figures[name]
        assert figure["value"] > 0, name
        assert figure["unit"] == unit, name
        wanted = baselines if HAS_LIBRARY else baselines - LIBRARY_BASELINES
        assert set(figure["baselines"]) == wanted, name
        assert all(v > 0 for v in figure["baselines"].values()), name
    if not HAS_LIBRARY:
        assert any("pip install -e '.[bench]'" in note for note in output["notes"])


@pytest.mark.slow
def test_bench_quick_json_reports_every_figure_with_its_baselines(tmp_path: Path) -> None:
    output = run_bench(tmp_path, "--quick")
    assert_figures(output, QUICK_FIGURES)
    assert set(output["figures"]) == set(QUICK_FIGURES), "console figures are full-run only"
    # a snapshot 100 events back must beat replaying all 10,000 events
    figures = output["figures"]
    assert figures["load_10k_snapshot_tail_100"]["value"] < figures["load_10k_no_snapshot"]["value"]
    targets = output["targets"]
    assert {t["target"] for t in targets["commands_32_senders"]} == {
        ">= 3x eventsourcing_save_per_command",
        ">= 1.5x sqlite3_commit_per_event",
    }
    assert all(isinstance(t["holds"], bool) for ts in targets.values() for t in ts)
    assert "console_first_screen_1m" not in targets
    notes = output["notes"]
    assert any(n.startswith("console_first_screen_1m, console_rss_1m: ") for n in notes)
    assert any(n.startswith("catch_up_order_summary: ") and "events read" in n for n in notes)
    assert any(n.startswith("best of 3 interleaved rounds") for n in notes)
    assert list(tmp_path.iterdir()) == [], "bench must not leave files behind"


def run_bench_on_a_terminal(cwd: Path, sizes: str) -> tuple[dict[str, Any], str]:
    """`eventdeck bench --json` with its stderr on a pseudo-terminal: the JSON and what
    the terminal showed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVENTDECK_")}
    env[SIZES_ENV] = sizes
    env["COLUMNS"] = "200"  # wide enough for every part's name in full
    master, slave = pty.openpty()
    shown: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:  # EIO: the process closed its side
                return
            if not data:
                return
            shown.append(data)

    reader = threading.Thread(target=drain, daemon=True)
    try:
        process = subprocess.Popen(
            [*eventdeck_argv(), "bench", "--json"],
            stdout=subprocess.PIPE,
            stderr=slave,
            cwd=cwd,
            env=env,
        )
        os.close(slave)
        reader.start()
        out, _ = process.communicate(timeout=300)
        reader.join(timeout=10)
    finally:
        os.close(master)
    terminal = b"".join(shown).decode(errors="replace")
    assert process.returncode == 0, terminal
    assert "Traceback" not in terminal
    output: dict[str, Any] = json.loads(out)
    return output, terminal


@pytest.mark.slow
def test_bench_console_figures_on_tiny_sizes(tmp_path: Path) -> None:
    """The full run's path (console process included), on toy sizes; its progress on the
    terminal names each part as it starts, while stdout stays one JSON object."""
    output, terminal = run_bench_on_a_terminal(tmp_path, sizes="tiny")
    for part in (
        "measuring",
        "round 1/1: sqlite3 baselines",
        "round 1/1: eventsourcing baselines",
        "round 1/1: catch-up",
        "console: building the store (3,000 events)",
        "console: first screen",
        "7/7",
    ):
        assert part in terminal, part
    expected: dict[str, tuple[str, set[str]]] = {
        name: (unit, set()) for name, unit in CONSOLE_FIGURES.items()
    }
    assert_figures(output, {**QUICK_FIGURES, **expected})
    assert {t["target"] for t in output["targets"]["console_rss_1m"]} == {"< 300 MB"}
    assert any(n.startswith("1 round: ") for n in output["notes"])
    assert list(tmp_path.iterdir()) == []


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
