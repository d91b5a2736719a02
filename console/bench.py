"""`eventdeck bench`: every figure beside its baselines, measured in the same run.

Each figure runs on a fresh store (a temporary SQLite file unless `--db` names an
empty one); nothing is cached between runs and the temporary folder is removed at
the end. The figures and their baselines are the best of `Sizes.rounds`
interleaved rounds (3, or 1 with `--db`): each round measures the sqlite3
baselines, the eventsourcing worker and eventdeck's figures in turn, and after
the last one every figure and every baseline is its best round (the highest
rate, the lowest time), each on its own. The machine may drift in speed over tens
of seconds; noise only ever slows a run, and both sides get the same treatment, so
the ratios stay fair (`bench_rounds`). The console figures build a 1,000,000-event
store and are measured once, after the rounds. The pieces, each in its own module:

- `bench_rounds`: one round, and the best of the rounds;
- `bench_store`: eventdeck's own figures on the event store (commands, batched
  append, loads with and without a snapshot, read and decode everything);
- `bench_sqlite3`: plain sqlite3 on eventdeck's own schema and rows;
- `bench_eventsourcing`: the `eventsourcing` library, in its own `python -O` process;
- `bench_projections`: projection catch-up (order-summary) on a seeded store;
- `bench_console`: the console's first screen and memory on 1,000,000 events;
- `bench_targets`: DESIGN.md's targets, checked against the same-run baselines.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import InvalidInput

from .bootstrap import open_system

#: Set to "tiny" to run every figure (the console ones too) on toy sizes: for tests only.
SIZES_ENV = "EVENTDECK_BENCH_SIZES"


#: Called with the name of each part of the bench as it starts (its progress).
Step = Callable[[str], None]
#: Reports progress: parts done, parts in all, and the part now running.
Progress = Callable[[int, int, str], None]


def no_step(_name: str) -> None:
    """A `Step` that reports nowhere."""


@dataclass
class Figure:
    """One measured value and its baselines from the same run."""

    value: float
    unit: str
    baselines: dict[str, float] = field(default_factory=dict)
    #: What was measured, in a few words (printed under the table, not part of the JSON figure).
    detail: str = ""


@dataclass
class Sizes:
    """How much work each figure does (`--quick` and the full run differ only here)."""

    #: commands_32_senders: concurrent senders, and commands each sends.
    senders: int = 32
    commands_per_sender: int = 20
    #: Events of the long aggregate (batched append, loads, read all).
    long_stream: int = 10_000
    #: Long streams written for batched_append (the median rate); loads use the first.
    batches: int = 3
    #: sqlite3_commit_per_event: single-event transactions.
    baseline_commits: int = 1_000
    #: Loads and read-alls per measurement (the median is reported).
    repeats: int = 5
    #: catch_up_order_summary: demo history (in orders, accounts) and the
    #: copies of its orders added after it (bench_fixtures.order_copies).
    demo_orders: int = 200
    demo_accounts: int = 50
    order_copies: int = 60
    #: console_first_screen_1m / console_rss_1m: events in the store (0: not measured).
    console_events: int = 1_000_000
    #: Interleaved rounds of every other figure and the baselines (the best round
    #: is reported); the console figures are measured once, after them.
    rounds: int = 3

    @classmethod
    def quick(cls) -> Sizes:
        """Under a minute on a 2-core machine (3 rounds of about 8 s); no console figures.

        The catch-up store keeps the full run's 60 order copies (of a smaller demo
        history: about 18,000 events, half the full run's 38,000). A catch-up pays
        about 45 ms that do not grow with the events (checkpoints, lease, the first
        read with nothing to overlap it, the last commit); with 15 copies (4,700
        events) that was a quarter of the measured time, so the quick figure read
        far below the full run's for the same code. At 18,000 it is about a tenth.
        Loads and read-alls take the median of 5 as in the full run (a median of 3
        let one slow repeat on a busy machine decide a figure); they cost well
        under a second.
        """
        return cls(
            commands_per_sender=8,
            batches=1,
            baseline_commits=300,
            repeats=5,
            demo_orders=100,
            demo_accounts=20,
            order_copies=60,
            console_events=0,
        )

    @classmethod
    def tiny(cls) -> Sizes:
        """Toy sizes for tests: every code path in seconds (figures meaningless)."""
        return cls(
            senders=4,
            commands_per_sender=2,
            long_stream=300,
            batches=1,
            baseline_commits=20,
            repeats=1,
            demo_orders=10,
            demo_accounts=3,
            order_copies=1,
            console_events=3_000,
            rounds=1,
        )

    @classmethod
    def choose(cls, quick: bool) -> Sizes:
        if os.environ.get(SIZES_ENV) == "tiny":
            return cls.tiny()
        return cls.quick() if quick else cls()


#: Whether the best of several measurements in this unit is the highest (a rate)
#: or the lowest (a time, memory). A figure in a unit not listed here cannot be
#: merged across rounds: add its unit here with its direction.
HIGHER_IS_BETTER = {"events/s": True, "ms": False, "MB": False}


def best_of(unit: str, values: list[float]) -> float:
    """The best of `values` measured in `unit`: the highest rate, the lowest time or memory."""
    if unit not in HIGHER_IS_BETTER:
        raise ValueError(f"no direction for the unit {unit!r}: add it to HIGHER_IS_BETTER")
    return max(values) if HIGHER_IS_BETTER[unit] else min(values)


def worker_env() -> dict[str, str]:
    """The environment for a bench worker process (`python -m console.bench_..._worker`).

    The worker modules sit in this package: its folder goes first on PYTHONPATH,
    so they import however eventdeck was installed (or not) and from any folder.
    """
    env = dict(os.environ)
    package_root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    return env


async def timed(action: Callable[[], Awaitable[Any]], repeats: int) -> float:
    """The median wall time of `action` in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        await action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@dataclass
class BenchResult:
    """The figures, and notes on what could not be measured (one line each)."""

    figures: dict[str, Figure]
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


async def require_empty(url: str) -> None:
    """Benchmarks write test data: refuse a store that holds anything."""
    system = await open_system(url)
    try:
        head = await system.store.head_position()
    finally:
        await system.close()
    if head:
        raise InvalidInput(
            f"bench writes test data and needs an empty store, but this one holds {head} "
            "events; give --db an empty database (or leave it out for a temporary SQLite file)"
        )


class _Steps:
    """Counts the parts of a run for a `Progress`: each part reports as it starts."""

    def __init__(self, total: int, progress: Progress | None) -> None:
        self.total = total
        self.done = 0
        self._progress = progress

    def within(self, prefix: str) -> Step:
        """A `Step` whose parts are reported as `prefix` + their name."""

        def step(name: str) -> None:
            if self._progress is not None:
                self._progress(self.done, self.total, prefix + name)
            self.done += 1

        return step

    def finish(self) -> None:
        if self._progress is not None:
            self._progress(self.total, self.total, "done")


async def run_bench(db: str | None, quick: bool, progress: Progress | None = None) -> BenchResult:
    """Every figure, each on a fresh store (a temporary SQLite file unless `db` is given).

    The best of `sizes.rounds` interleaved rounds (`bench_rounds`); one round with
    `db`, whose store is not emptied between rounds. Then the console figures, once.
    `progress` hears of each part (a round's baselines and figures, the console's)
    as it starts, and once more at the end.
    """
    # Imported here: the figure modules import this one for Figure and Sizes.
    from . import bench_rounds
    from .bench_console import CONSOLE_STEPS, console_figures

    started = time.perf_counter()
    sizes = Sizes.choose(quick)
    if db is not None:
        await require_empty(db)
    count = 1 if db is not None else sizes.rounds
    console_parts = len(CONSOLE_STEPS) if sizes.console_events else 0
    steps = _Steps(count * len(bench_rounds.ROUND_STEPS) + console_parts, progress)
    with tempfile.TemporaryDirectory(prefix="eventdeck-bench-") as tmp:
        folder = Path(tmp)
        rounds = [
            await bench_rounds.measure_round(
                folder / f"round-{n}", db, sizes, step=steps.within(f"round {n}/{count}: ")
            )
            for n in range(1, count + 1)
        ]
        figures = bench_rounds.merge_rounds([r.figures for r in rounds])
        if sizes.console_events:
            figures.update(
                await console_figures(
                    db or str(folder / "console.db"), sizes, step=steps.within("")
                )
            )
        steps.finish()
    notes = [bench_rounds.rounds_note(count, sizes.rounds, db)]
    notes.extend(bench_rounds.merge_notes([r.notes for r in rounds]))
    if not sizes.console_events:
        notes.append("console_first_screen_1m, console_rss_1m: measured in the full run only")
    notes.extend(f"{name}: {f.detail}" for name, f in figures.items() if f.detail)
    return BenchResult(figures, notes, time.perf_counter() - started)
