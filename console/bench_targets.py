"""DESIGN.md's performance targets, and whether a run's figures meet them.

A target is either a ratio against a baseline measured in the same run
(figure / baseline, compared with the bound) or an absolute limit on the figure
itself. A target whose figure was not measured (the console figures in
`--quick`) is not listed; one whose baseline is missing is "not checked".
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

Op = Literal[">=", "<=", "<"]
_COMPARE: dict[Op, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "<": operator.lt,
}


class Measured(Protocol):
    """What a target reads from a figure (`bench.Figure` has it)."""

    value: float
    unit: str
    baselines: dict[str, float]


@dataclass(frozen=True)
class Target:
    """`figure op bound` (absolute), or `figure / baseline op bound` (a same-run ratio)."""

    figure: str
    op: Op
    bound: float
    baseline: str | None = None

    def describe(self, unit: str = "") -> str:
        if self.baseline is not None:
            return f"{self.op} {self.bound:g}x {self.baseline}"
        return f"{self.op} {self.bound:,g} {unit}".rstrip()


#: DESIGN.md, "Performance, measured by `eventdeck bench`" (SQLite file).
TARGETS: tuple[Target, ...] = (
    Target("commands_32_senders", ">=", 3.0, "eventsourcing_save_per_command"),
    Target("commands_32_senders", ">=", 1.5, "sqlite3_commit_per_event"),
    Target("batched_append", ">=", 0.5, "sqlite3_executemany"),
    Target("load_10k_no_snapshot", "<=", 0.5, "eventsourcing"),
    Target("load_10k_snapshot_tail_100", "<=", 1.0, "eventsourcing"),
    Target("load_10k_snapshot_tail_100", "<", 5.0),
    Target("read_all_decoded", ">=", 2.0, "eventsourcing"),
    Target("catch_up_order_summary", ">=", 50_000.0),
    Target("console_first_screen_1m", "<", 1_000.0),
    Target("console_rss_1m", "<", 300.0),
)


@dataclass(frozen=True)
class Verdict:
    """One target checked: `holds` is None when its baseline was not measured."""

    target: Target
    unit: str
    #: The ratio (figure / baseline) or, for an absolute target, the figure.
    measured: float | None
    holds: bool | None

    @property
    def text(self) -> str:
        return self.target.describe(self.unit)

    def describe(self) -> str:
        """`ok: <target>`, `MISSES target <target>` or `not checked: <baseline> missing`."""
        if self.holds is None:
            return f"not checked: {self.target.baseline} missing"
        return f"ok: {self.text}" if self.holds else f"MISSES target {self.text}"

    def as_json(self) -> dict[str, Any]:
        return {
            "target": self.text,
            "op": self.target.op,
            "bound": self.target.bound,
            "baseline": self.target.baseline,
            "measured": self.measured,
            "holds": self.holds,
        }


def check(target: Target, figure: Measured) -> Verdict:
    """Whether `figure` meets `target`."""
    if target.baseline is None:
        measured: float | None = figure.value
    else:
        base = figure.baselines.get(target.baseline)
        measured = figure.value / base if base else None
    if measured is None:
        return Verdict(target, figure.unit, None, None)
    return Verdict(target, figure.unit, measured, _COMPARE[target.op](measured, target.bound))


def check_all(
    figures: Mapping[str, Measured], targets: tuple[Target, ...] = TARGETS
) -> dict[str, list[Verdict]]:
    """The verdicts of every target whose figure was measured, by figure."""
    verdicts: dict[str, list[Verdict]] = {}
    for target in targets:
        figure = figures.get(target.figure)
        if figure is not None:
            verdicts.setdefault(target.figure, []).append(check(target, figure))
    return verdicts


def missed(verdicts: Mapping[str, list[Verdict]]) -> list[str]:
    """`figure target` of every target that does not hold."""
    return [f"{name} {v.text}" for name, vs in verdicts.items() for v in vs if v.holds is False]
