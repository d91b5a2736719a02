"""The bench's rounds: every baseline and every figure measured in turn, then the best of each.

The machine a bench runs on may change speed over tens of seconds (a shared VM
drifted by up to 1.7x): measured once each, a baseline taken in a fast phase and
a figure in a slow one (or the reverse) gave ratios that swung between runs. So
the bench measures in rounds: each round runs the plain-sqlite3 baselines, the
`eventsourcing` worker and eventdeck's own figures (commands, the long stream,
the catch-up), one after the other, each on fresh files in the round's own
folder. After the last round every figure and every baseline is its best round
(the highest rate, the lowest time or memory), each taken separately: noise on a
machine only ever slows a run down, so the best of several is the usual estimate
of what the code can do, and since both sides get the same treatment the ratios
stay fair. The direction of "best" follows the figure's unit (`bench.HIGHER_IS_BETTER`).
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .bench import Figure, Sizes, Step, best_of, no_step


@dataclass
class Round:
    """One round's figures (with their baselines attached) and its notes."""

    figures: dict[str, Figure]
    notes: list[str] = field(default_factory=list)


#: Each plain-sqlite3 baseline and the figure it is printed beside.
SQLITE3_BASELINES = {
    "sqlite3_commit_per_event": "commands_32_senders",
    "sqlite3_executemany": "batched_append",
    "sqlite3_select": "read_all_decoded",
}


#: The parts of a round, in order: `measure_round` calls its `step` with each name
#: as that part starts (the bench's progress on the terminal).
ROUND_STEPS = (
    "sqlite3 baselines",
    "eventsourcing baselines",
    "commands",
    "append, loads, read_all",
    "catch-up",
)


async def measure_round(folder: Path, db: str | None, sizes: Sizes, step: Step = no_step) -> Round:
    """One round in `folder` (created here, removed at the end): baselines, then eventdeck.

    eventdeck's figures go to `db` when it is given (then there is only one round),
    otherwise to fresh SQLite files in `folder`; the baselines always use `folder`.
    `step` is called with each name of ROUND_STEPS as that part starts.
    """
    sqlite3_step, library_step, commands_step, long_step, catch_up_step = ROUND_STEPS
    # Imported here: the figure modules import bench, which imports this module lazily.
    from .bench_eventsourcing import eventsourcing_baselines
    from .bench_projections import catch_up_figure
    from .bench_sqlite3 import sqlite3_baselines
    from .bench_store import commands_figure, long_stream_figures

    folder.mkdir()
    try:
        step(sqlite3_step)
        base = sqlite3_baselines(
            folder,
            commits=sizes.baseline_commits,
            senders=sizes.senders,
            events=sizes.long_stream,
        )
        step(library_step)
        library = eventsourcing_baselines(folder, sizes)
        step(commands_step)
        figures = {
            "commands_32_senders": await commands_figure(db or str(folder / "commands.db"), sizes)
        }
        step(long_step)
        figures.update(await long_stream_figures(db or str(folder / "long.db"), sizes))
        step(catch_up_step)
        figures["catch_up_order_summary"] = await catch_up_figure(
            db or str(folder / "catch-up.db"), sizes
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    for baseline, figure in SQLITE3_BASELINES.items():
        figures[figure].baselines[baseline] = base[baseline]
    for name, baselines in library.baselines.items():
        figures[name].baselines.update(baselines)
    return Round(figures, library.notes)


def merge_rounds(rounds: Sequence[dict[str, Figure]]) -> dict[str, Figure]:
    """Every figure at its best round, and each of its baselines at that baseline's best round.

    Figures and baselines keep the order in which they first appear; one missing
    from a round (the library's worker failed in it, say) is the best of the
    rounds that have it. A figure's `detail` is the one of its best round.
    """
    merged: dict[str, Figure] = {}
    names = list(dict.fromkeys(name for figures in rounds for name in figures))
    for name in names:
        measured = [figures[name] for figures in rounds if name in figures]
        unit = measured[0].unit
        if any(f.unit != unit for f in measured):
            raise ValueError(
                f"{name} was measured in different units: {[f.unit for f in measured]}"
            )
        top = best_of(unit, [f.value for f in measured])
        winner = next(f for f in measured if f.value == top)
        baselines: dict[str, float] = {}
        for base in dict.fromkeys(b for f in measured for b in f.baselines):
            baselines[base] = best_of(
                unit, [f.baselines[base] for f in measured if base in f.baselines]
            )
        merged[name] = Figure(top, unit, baselines, winner.detail)
    return merged


def merge_notes(rounds: Sequence[list[str]]) -> list[str]:
    """Each round's notes once: as they are when every round has them, else with the rounds.

    `rounds 1, 3 of 3: eventsourcing baselines missing: ...` says that the note is
    from those rounds only (their baselines came from the other rounds).
    """
    seen: dict[str, list[int]] = {}
    for number, notes in enumerate(rounds, start=1):
        for note in notes:
            numbers = seen.setdefault(note, [])
            if number not in numbers:
                numbers.append(number)
    total = len(rounds)
    merged = []
    for note, numbers in seen.items():
        if len(numbers) == total:
            merged.append(note)
        else:
            which = "round" if len(numbers) == 1 else "rounds"
            merged.append(f"{which} {', '.join(map(str, numbers))} of {total}: {note}")
    return merged


def rounds_note(rounds: int, planned: int, db: str | None) -> str:
    """The line under the table that says how many rounds the figures are the best of."""
    if db is not None and planned > 1:
        return (
            f"1 round, not {planned}: --db names one store, and rounds would write the "
            "same streams into it (the best of rounds needs the temporary files)"
        )
    if rounds == 1:
        return "1 round: each figure and baseline measured once"
    return (
        f"best of {rounds} interleaved rounds: each round measures the sqlite3 and "
        "eventsourcing baselines and eventdeck's figures on fresh files; every figure "
        "and every baseline is its best round"
    )
