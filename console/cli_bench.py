"""`eventdeck bench`: print the benchmark figures as a table or JSON."""

from __future__ import annotations

import asyncio
import json

import click

from .bench import Figure, run_bench
from .cli import cli
from .output import table


def figures_json(figures: dict[str, Figure]) -> dict[str, object]:
    return {
        "figures": {
            name: {"value": f.value, "unit": f.unit, "baselines": f.baselines}
            for name, f in figures.items()
        }
    }


def figures_table(figures: dict[str, Figure]) -> str:
    rows = []
    for name, figure in figures.items():
        against = ", ".join(
            f"{base} {value:,.1f} (x{figure.value / value:.2f})"
            for base, value in figure.baselines.items()
        )
        rows.append([name, f"{figure.value:,.1f} {figure.unit}", against or "-"])
    return table(rows, ["FIGURE", "VALUE", "BASELINES (same run; ratio = figure/baseline)"])


@cli.command("bench")
@click.option("--quick", is_flag=True, help="Smaller sizes: finishes in well under a minute.")
@click.option("--json", "as_json", is_flag=True, help="Print {'figures': {...}} as JSON.")
@click.option("--db", "bench_db", help="Benchmark this (empty) store instead of a temporary file.")
def bench_command(quick: bool, as_json: bool, bench_db: str | None) -> None:
    """Run the benchmarks, each figure beside its same-run baselines."""
    figures = asyncio.run(run_bench(bench_db, quick))
    click.echo(json.dumps(figures_json(figures)) if as_json else figures_table(figures))
