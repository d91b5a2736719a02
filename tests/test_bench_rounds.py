"""The bench's rounds: how many, and the best of them for figures and baselines alike."""

from __future__ import annotations

from pathlib import Path

import pytest

from console import bench, bench_console, bench_rounds
from console.bench import SIZES_ENV, Figure, Sizes, Step, no_step
from console.bench_rounds import Round, merge_notes, merge_rounds, rounds_note


def test_quick_and_full_runs_do_three_rounds_and_tiny_sizes_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(SIZES_ENV, raising=False)
    assert Sizes.choose(quick=True).rounds == 3
    assert Sizes.choose(quick=False).rounds == 3
    monkeypatch.setenv(SIZES_ENV, "tiny")
    assert Sizes.choose(quick=True).rounds == 1
    assert Sizes.choose(quick=False).rounds == 1


def test_a_rate_takes_its_highest_round_and_a_time_its_lowest_baselines_too() -> None:
    rounds = [
        {
            "read_all_decoded": Figure(90.0, "events/s", {"sqlite3_select": 200.0, "es": 60.0}),
            "load_10k_no_snapshot": Figure(50.0, "ms", {"eventsourcing": 120.0}),
        },
        {
            "read_all_decoded": Figure(120.0, "events/s", {"sqlite3_select": 150.0, "es": 70.0}),
            "load_10k_no_snapshot": Figure(40.0, "ms", {"eventsourcing": 130.0}),
        },
        {
            "read_all_decoded": Figure(100.0, "events/s", {"sqlite3_select": 180.0, "es": 50.0}),
            "load_10k_no_snapshot": Figure(45.0, "ms", {"eventsourcing": 110.0}),
        },
    ]
    merged = merge_rounds(rounds)
    assert list(merged) == ["read_all_decoded", "load_10k_no_snapshot"]
    read_all = merged["read_all_decoded"]
    # each value on its own: the figure's best round is not its baselines' best round
    assert (read_all.value, read_all.unit) == (120.0, "events/s")
    assert read_all.baselines == {"sqlite3_select": 200.0, "es": 70.0}
    load = merged["load_10k_no_snapshot"]
    assert (load.value, load.unit, load.baselines) == (40.0, "ms", {"eventsourcing": 110.0})


def test_a_baseline_missing_from_a_round_is_the_best_of_the_others() -> None:
    rounds = [
        {"commands_32_senders": Figure(5000.0, "events/s", {"sqlite3_commit_per_event": 4000.0})},
        {
            "commands_32_senders": Figure(
                6000.0,
                "events/s",
                {"sqlite3_commit_per_event": 3000.0, "eventsourcing_save_per_command": 900.0},
            )
        },
        {
            "commands_32_senders": Figure(
                5500.0,
                "events/s",
                {"sqlite3_commit_per_event": 3500.0, "eventsourcing_save_per_command": 1000.0},
            )
        },
    ]
    (figure,) = merge_rounds(rounds).values()
    assert figure.value == 6000.0
    assert figure.baselines == {
        "sqlite3_commit_per_event": 4000.0,
        "eventsourcing_save_per_command": 1000.0,
    }


def test_the_detail_is_the_best_rounds() -> None:
    rounds = [
        {"catch_up_order_summary": Figure(30_000.0, "events/s", detail="read in 0.60s")},
        {"catch_up_order_summary": Figure(36_000.0, "events/s", detail="read in 0.50s")},
        {"catch_up_order_summary": Figure(18_000.0, "events/s", detail="read in 1.00s")},
    ]
    assert merge_rounds(rounds)["catch_up_order_summary"].detail == "read in 0.50s"


def test_a_unit_without_a_direction_is_refused() -> None:
    with pytest.raises(ValueError, match="furlongs"):
        merge_rounds([{"odd": Figure(1.0, "furlongs")}, {"odd": Figure(2.0, "furlongs")}])


def test_notes_of_every_round_once_and_the_others_with_their_rounds() -> None:
    notes = merge_notes(
        [
            ["eventsourcing 9.5.6: python -O"],
            ["eventsourcing baselines missing: the worker failed: boom"],
            ["eventsourcing 9.5.6: python -O"],
        ]
    )
    assert notes == [
        "rounds 1, 3 of 3: eventsourcing 9.5.6: python -O",
        "round 2 of 3: eventsourcing baselines missing: the worker failed: boom",
    ]
    assert merge_notes([["same"], ["same"]]) == ["same"]


def fake_rounds(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """`measure_round` replaced: each round's folder is recorded, its figure improves."""
    folders: list[Path] = []

    async def measure_round(
        folder: Path, db: str | None, sizes: Sizes, step: Step = no_step
    ) -> Round:
        for name in bench_rounds.ROUND_STEPS:
            step(name)
        folders.append(folder)
        rate = 1000.0 * len(folders)
        figure = Figure(rate, "events/s", {"sqlite3_select": 2 * rate}, f"round {len(folders)}")
        return Round({"read_all_decoded": figure}, ["eventsourcing 9.5.6: python -O"])

    monkeypatch.setattr(bench_rounds, "measure_round", measure_round)
    monkeypatch.delenv(SIZES_ENV, raising=False)
    return folders


async def test_quick_runs_three_rounds_each_in_its_own_folder(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folders = fake_rounds(monkeypatch)
    result = await bench.run_bench(None, quick=True)
    assert [f.name for f in folders] == ["round-1", "round-2", "round-3"]
    assert len({f.parent for f in folders}) == 1
    figure = result.figures["read_all_decoded"]
    assert (figure.value, figure.baselines, figure.detail) == (
        3000.0,
        {"sqlite3_select": 6000.0},
        "round 3",
    )
    assert result.notes[0].startswith("best of 3 interleaved rounds")
    assert result.notes.count("eventsourcing 9.5.6: python -O") == 1
    assert "read_all_decoded: round 3" in result.notes


async def test_a_given_store_gets_one_round_and_a_note_saying_why(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    folders = fake_rounds(monkeypatch)
    result = await bench.run_bench(str(tmp_path / "empty.db"), quick=True)
    assert len(folders) == 1
    assert result.notes[0].startswith("1 round, not 3: --db")


def test_the_rounds_note() -> None:
    assert rounds_note(3, 3, None).startswith("best of 3 interleaved rounds")
    assert rounds_note(1, 1, None).startswith("1 round: ")
    assert rounds_note(1, 3, "postgresql+asyncpg://x/y").startswith("1 round, not 3: --db")


async def test_progress_hears_of_each_part_of_every_round_in_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_rounds(monkeypatch)
    heard: list[tuple[int, int, str]] = []
    await bench.run_bench(None, quick=True, progress=lambda *report: heard.append(report))
    parts = [f"round {n}/3: {name}" for n in (1, 2, 3) for name in bench_rounds.ROUND_STEPS]
    assert heard == [(i, 15, part) for i, part in enumerate(parts)] + [(15, 15, "done")]


async def test_progress_counts_the_console_parts_of_a_full_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_rounds(monkeypatch)
    monkeypatch.setenv(SIZES_ENV, "tiny")  # one round, and the console figures

    async def console_figures(url: str, sizes: Sizes, step: Step = no_step) -> dict[str, Figure]:
        step("console: building the store")
        step("console: first screen")
        return {"console_rss_1m": Figure(80.0, "MB")}

    monkeypatch.setattr(bench_console, "console_figures", console_figures)
    heard: list[tuple[int, int, str]] = []
    result = await bench.run_bench(None, quick=False, progress=lambda *r: heard.append(r))
    assert "console_rss_1m" in result.figures
    assert [total for _, total, _ in heard] == [7] * 8
    assert [done for done, _, _ in heard] == list(range(8))
    assert [name for _, _, name in heard][4:] == [
        "round 1/1: catch-up",
        "console: building the store",
        "console: first screen",
        "done",
    ]
