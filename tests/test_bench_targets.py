"""The bench's target check and its output, on made-up figures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from console import bench_eventsourcing
from console.bench import BenchResult, Figure, Sizes
from console.bench_targets import TARGETS, Target, check, check_all, missed
from console.cli_bench import figures_json, figures_table


def test_a_ratio_just_above_an_at_least_target_holds_and_just_below_misses() -> None:
    target = Target("commands_32_senders", ">=", 3.0, "eventsourcing_save_per_command")
    above = check(target, Figure(3001.0, "events/s", {"eventsourcing_save_per_command": 1000.0}))
    below = check(target, Figure(2999.0, "events/s", {"eventsourcing_save_per_command": 1000.0}))
    assert above.holds is True and above.measured == pytest.approx(3.001)
    assert below.holds is False and below.measured == pytest.approx(2.999)
    assert above.describe() == "ok: >= 3x eventsourcing_save_per_command"
    assert below.describe() == "MISSES target >= 3x eventsourcing_save_per_command"


def test_an_at_most_ratio_target_holds_for_a_smaller_time() -> None:
    target = Target("load_10k_no_snapshot", "<=", 0.5, "eventsourcing")
    assert check(target, Figure(129.9, "ms", {"eventsourcing": 260.0})).holds is True
    assert check(target, Figure(130.1, "ms", {"eventsourcing": 260.0})).holds is False


def test_an_absolute_limit_is_strict_and_names_the_unit() -> None:
    target = Target("console_first_screen_1m", "<", 1000.0)
    assert check(target, Figure(999.9, "ms")).holds is True
    missed_it = check(target, Figure(1000.0, "ms"))
    assert missed_it.holds is False and missed_it.measured == 1000.0
    assert missed_it.describe() == "MISSES target < 1,000 ms"


def test_a_missing_baseline_is_not_checked() -> None:
    target = Target("read_all_decoded", ">=", 2.0, "eventsourcing")
    verdict = check(target, Figure(50_000.0, "events/s", {"sqlite3_select": 80_000.0}))
    assert verdict.holds is None
    assert verdict.describe() == "not checked: eventsourcing missing"


def test_every_design_target_names_a_figure_the_bench_reports() -> None:
    figures = {
        "commands_32_senders",
        "batched_append",
        "load_10k_no_snapshot",
        "load_10k_snapshot_tail_100",
        "read_all_decoded",
        "catch_up_order_summary",
        "console_first_screen_1m",
        "console_rss_1m",
    }
    assert {t.figure for t in TARGETS} == figures
    # the snapshot load has two targets: against the library, and under 5 ms
    snapshot = [t.describe("ms") for t in TARGETS if t.figure == "load_10k_snapshot_tail_100"]
    assert snapshot == ["<= 1x eventsourcing", "< 5 ms"]


def made_up_result() -> BenchResult:
    figures = {
        "commands_32_senders": Figure(
            3100.0,
            "events/s",
            {"sqlite3_commit_per_event": 2500.0, "eventsourcing_save_per_command": 1000.0},
        ),
        "catch_up_order_summary": Figure(49_000.0, "events/s"),
    }
    return BenchResult(figures, ["eventsourcing ran somewhere odd"], 12.0)


def test_only_measured_figures_are_checked() -> None:
    verdicts = check_all(made_up_result().figures)
    assert set(verdicts) == {"commands_32_senders", "catch_up_order_summary"}
    assert missed(verdicts) == [
        "commands_32_senders >= 1.5x sqlite3_commit_per_event",
        "catch_up_order_summary >= 50,000 events/s",
    ]


def test_the_table_says_per_figure_whether_its_targets_hold() -> None:
    text = figures_table(made_up_result())
    commands = next(line for line in text.splitlines() if line.startswith("commands_32_senders"))
    assert "ok: >= 3x eventsourcing_save_per_command" in commands
    assert "MISSES target >= 1.5x sqlite3_commit_per_event" in commands
    assert "eventsourcing_save_per_command 1,000 (x3.10)" in commands
    assert "targets: 1 of 3 checked hold, 2 missed" in text
    assert "eventsourcing ran somewhere odd" in text


def test_a_narrow_terminal_gets_one_wrapped_block_per_figure() -> None:
    result = made_up_result()
    wide = figures_table(result, width=400)
    assert wide == figures_table(result), "the table fits: unchanged"
    result.notes.append("a note " * 20)
    text = figures_table(result, width=80)
    assert max(len(line) for line in text.splitlines()) <= 80
    lines = text.splitlines()
    start = lines.index("commands_32_senders: 3,100 events/s")
    block = " ".join(" ".join(lines[start + 1 : start + 5]).split())
    assert "baselines: sqlite3_commit_per_event" in block
    assert "eventsourcing_save_per_command 1,000 (x3.10)" in block
    assert "targets: ok: >= 3x eventsourcing_save_per_command;" in block
    assert "MISSES target >= 1.5x sqlite3_commit_per_event" in block
    assert "targets: 1 of 3 checked hold, 2 missed" in text


def test_json_keeps_the_figures_shape_and_adds_targets() -> None:
    output = json.loads(json.dumps(figures_json(made_up_result())))
    assert output["figures"]["catch_up_order_summary"] == {
        "value": 49_000.0,
        "unit": "events/s",
        "baselines": {},
    }
    (catch_up,) = output["targets"]["catch_up_order_summary"]
    assert catch_up == {
        "target": ">= 50,000 events/s",
        "op": ">=",
        "bound": 50_000.0,
        "baseline": None,
        "measured": 49_000.0,
        "holds": False,
    }


def test_without_the_library_the_baselines_are_missing_with_one_line_on_installing_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bench_eventsourcing, "library_installed", lambda: False)
    library = bench_eventsourcing.eventsourcing_baselines(tmp_path, Sizes.tiny())
    assert library.baselines == {}
    (note,) = library.notes
    assert "\n" not in note and "pip install -e '.[bench]'" in note


def test_worker_figures_map_onto_the_figures_baselines() -> None:
    output = {
        "eventsourcing_save_per_command": 1450.0,
        "eventsourcing_batched": 14_700.0,
        "eventsourcing_load_ms": 260.0,
        "eventsourcing_load_snapshot_ms": 3.0,
        "eventsourcing_read_all_decoded": 47_000.0,
        "settings": {"journal_mode": "wal", "synchronous": 2},
    }
    library = bench_eventsourcing.map_worker_figures(output)
    assert library.baselines == {
        "commands_32_senders": {"eventsourcing_save_per_command": 1450.0},
        "batched_append": {"eventsourcing_batched": 14_700.0},
        "load_10k_no_snapshot": {"eventsourcing": 260.0},
        "load_10k_snapshot_tail_100": {"eventsourcing": 3.0},
        "read_all_decoded": {"eventsourcing": 47_000.0},
    }
    (settings,) = library.notes
    assert "journal_mode=wal synchronous=2" in settings
    output["settings"] = {"journal_mode": "delete", "synchronous": 1}
    assert "not WAL + FULL" in bench_eventsourcing.map_worker_figures(output).notes[-1]
