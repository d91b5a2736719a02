"""`eventdeck bench`: print the benchmark figures, their baselines and targets."""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
import textwrap

import click

from .bench import BenchResult, Figure, run_bench
from .bench_targets import Verdict, check_all, missed
from .cli import cli
from .output import table
from .progress import TerminalProgress


def figures_json(result: BenchResult) -> dict[str, object]:
    """`{"figures": {NAME: {value, unit, baselines}}, "targets": {...}, "notes": [...]}`."""
    verdicts = check_all(result.figures)
    return {
        "figures": {
            name: {"value": f.value, "unit": f.unit, "baselines": f.baselines}
            for name, f in result.figures.items()
        },
        "targets": {name: [v.as_json() for v in vs] for name, vs in verdicts.items()},
        "notes": result.notes,
        "seconds": round(result.seconds, 1),
    }


def _number(value: float) -> str:
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def _baselines(figure: Figure) -> str:
    return ", ".join(
        f"{base} {_number(value)} (x{figure.value / value:.2f})"
        for base, value in figure.baselines.items()
    )


def _targets(verdicts: list[Verdict]) -> str:
    return "; ".join(v.describe() for v in verdicts) or "-"


def _stacked(rows: list[list[str]], width: int) -> str:
    """The rows as one block per figure, wrapped to `width`: for a terminal too narrow
    for the table (it is about 200 columns wide)."""
    blocks = []
    for name, value, baselines, targets in rows:
        lines = [f"{name}: {value}"]
        for label, text in (("baselines", baselines), ("targets", targets)):
            lines.extend(
                textwrap.wrap(
                    text,
                    width=max(width, 40),
                    initial_indent=f"  {label + ':':<11}",
                    subsequent_indent=" " * 13,
                    break_on_hyphens=False,
                )
            )
        blocks.append("\n".join(lines))
    return "\n".join(blocks)


def figures_table(result: BenchResult, width: int | None = None) -> str:
    """The table, then a line on the targets, any notes, and the run's duration.

    With a `width` (a terminal's) that the table does not fit in, each figure is a
    block of lines instead, wrapped to that width."""
    verdicts = check_all(result.figures)
    rows = [
        [
            name,
            f"{_number(figure.value)} {figure.unit}",
            _baselines(figure) or "-",
            _targets(verdicts.get(name, [])),
        ]
        for name, figure in result.figures.items()
    ]
    text = table(
        rows,
        ["FIGURE", "VALUE", "BASELINES (same run; x = figure/baseline)", "TARGET (DESIGN.md)"],
    )
    if width is not None and max(map(len, text.splitlines())) > width:
        text = _stacked(rows, width)
    lines = [text, ""]
    checked = [v for vs in verdicts.values() for v in vs if v.holds is not None]
    misses = missed(verdicts)
    held = len(checked) - len(misses)
    lines.append(f"targets: {held} of {len(checked)} checked hold, {len(misses)} missed")
    for note in result.notes:  # wrapped on a terminal, one line each otherwise
        lines.extend(textwrap.wrap(note, width=max(width, 40)) if width else [note])
    lines.append(f"measured in {result.seconds:.1f}s")
    return "\n".join(lines)


@cli.command("bench")
@click.option("--quick", is_flag=True, help="Smaller sizes, no console figures: under a minute.")
@click.option("--json", "as_json", is_flag=True, help="Print {'figures': {...}} as JSON.")
@click.option("--db", "bench_db", help="Benchmark this (empty) store instead of a temporary file.")
def bench_command(quick: bool, as_json: bool, bench_db: str | None) -> None:
    """Run the benchmarks, each figure beside its same-run baselines and its target.

    Missed targets are reported, not turned into a failing exit status.
    """
    with TerminalProgress("measuring") as progress:
        result = asyncio.run(run_bench(bench_db, quick, progress=progress.report))
    if as_json:
        click.echo(json.dumps(figures_json(result)))
        return
    width = shutil.get_terminal_size().columns if sys.stdout.isatty() else None
    click.echo(figures_table(result, width))
