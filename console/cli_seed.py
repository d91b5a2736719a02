"""`eventdeck seed` and `eventdeck demo`: write realistic demo history."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import datetime

import click

from core.domain.demo_data import SeedSummary, seed_demo
from core.errors import InvalidInput

from .bootstrap import System
from .cli import cli, current_settings, run_with_system
from .output import short_time
from .parsing import parse_time


def progress_reporter(label: str) -> tuple[Callable[[int, int], None] | None, Callable[[], None]]:
    """A progress bar on stderr when it is a terminal; silence otherwise."""
    if not sys.stderr.isatty():
        return None, lambda: None
    state: dict[str, object] = {}

    def report(done: int, total: int) -> None:
        bar = state.get("bar")
        if bar is None:
            bar = click.progressbar(length=total, label=label, file=sys.stderr, show_eta=True)
            bar.__enter__()
            state["bar"] = bar
            state["done"] = 0
        bar.update(done - int(state["done"]))  # type: ignore[attr-defined,call-overload]
        state["done"] = done

    def finish() -> None:
        bar = state.get("bar")
        if bar is not None:
            bar.__exit__(None, None, None)  # type: ignore[attr-defined]

    return report, finish


async def seed_store(
    system: System,
    *,
    orders: int,
    accounts: int,
    days: int,
    seed: int,
    end: datetime,
    progress: Callable[[int, int], None] | None,
) -> SeedSummary:
    """Seed an empty store; refuses a store that already holds events."""
    system.require_writable("seed")
    head = await system.store.head_position()
    if head:
        raise InvalidInput(
            f"the store already holds {head} events; seed writes into an empty store "
            "(pick a new file with --db)"
        )
    return await seed_demo(
        system.store,
        system.snapshots,
        orders=orders,
        accounts=accounts,
        days=days,
        seed=seed,
        end=end,
        progress=progress,
    )


@cli.command("seed")
@click.option("--orders", type=click.IntRange(min=0), default=200, show_default=True)
@click.option("--accounts", type=click.IntRange(min=0), default=50, show_default=True)
@click.option("--days", type=click.IntRange(min=1), default=30, show_default=True)
@click.option("--seed", type=int, default=42, show_default=True, help="Same seed, same history.")
@click.option("--end", help="ISO time the history ends at (default: now).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def seed_command(
    orders: int, accounts: int, days: int, seed: int, end: str | None, as_json: bool
) -> None:
    """Write realistic demo history spread over the past N days."""
    end_at = parse_time(end, "--end") if end else None
    report, finish = progress_reporter("seeding")

    async def body(system: System) -> SeedSummary:
        try:
            return await seed_store(
                system,
                orders=orders,
                accounts=accounts,
                days=days,
                seed=seed,
                end=end_at or system.clock.now(),
                progress=report,
            )
        finally:
            finish()

    summary = run_with_system(body)
    click.echo(summary.model_dump_json() if as_json else describe(summary))


def describe(summary: SeedSummary) -> str:
    """The seed summary as two readable lines."""
    span = ""
    if summary.first_at and summary.last_at:
        span = f" from {short_time(summary.first_at)} to {short_time(summary.last_at)}"
    statuses = ", ".join(f"{status} {count}" for status, count in summary.by_status.items())
    return (
        f"seeded {summary.events} events{span}: {summary.orders} orders, {summary.accounts} "
        f"accounts (legacy OrderPlaced rows: {summary.legacy_v1} v1, {summary.legacy_v2} v2)\n"
        f"orders by status: {statuses}"
    )


@cli.command("demo")
@click.option("--seed", type=int, default=42, show_default=True)
def demo_command(seed: int) -> None:
    """Seed demo history if the store is empty, then open the console."""
    settings = current_settings()
    report, finish = progress_reporter("seeding demo history")

    async def body(system: System) -> None:
        if await system.store.head_position() == 0 and not system.read_only:
            try:
                await seed_store(
                    system,
                    orders=200,
                    accounts=40,
                    days=30,
                    seed=seed,
                    end=system.clock.now(),
                    progress=report,
                )
            finally:
                finish()

    run_with_system(body)
    from .app import run_console

    run_console(settings)
