"""`eventdeck seed` and `eventdeck demo`: write realistic demo history."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime

import click

from core.clock import FixedClock, SeededIdFactory, SystemClock
from core.domain.demo_data import SeedSummary, seed_demo
from core.errors import InvalidInput, StoreError
from core.operator_events import SEED_STREAM_PREFIX, HistorySeeded

from .bootstrap import open_system
from .cli import cli, current_settings
from .demo_runtime import DEFAULT_RATE, DemoRuntime
from .output import short_time
from .parsing import parse_time
from .progress import TerminalProgress


async def seed_store(
    url: str,
    *,
    read_only: bool,
    orders: int,
    accounts: int,
    days: int,
    seed: int,
    end: datetime | None,
    label: str | None = "seeding",
    user: str | None = None,
) -> SeedSummary:
    """Seed an empty store, the fulfilment saga reacting at simulated times.

    With a `label`, a progress bar under it on the terminal; with none, silently
    (the console's demo seeds while the console owns the screen).

    The seed runs on a fixed clock moved step by step, and the saga's catch-up
    runs at each of its turns on that same clock, so the saga's commands are
    recorded when they would have happened. Refuses a store that holds events.
    With `user`, the run ends with a HistorySeeded operator event naming them (the
    seeded events carry the demo's made-up users); the screenshots' store has none.
    """
    clock = FixedClock(end or SystemClock().now())
    ids = SeededIdFactory(seed)
    system = await open_system(url, clock=clock, ids=ids, read_only=read_only)
    try:
        system.require_writable("seed")
        head = await system.store.head_position()
        if head:
            raise InvalidInput(
                f"the store already holds {head} events; seed writes into an empty store "
                "(pick a new file with --db)"
            )

        async def saga_turn() -> None:
            [summary] = await system.projections.catch_up(["fulfilment"])
            if summary.status == "failed":
                raise StoreError(summary.error or "the fulfilment saga could not run")
            if summary.status != "caught-up":
                raise StoreError(
                    f"the fulfilment saga is {summary.status}: another eventdeck process (a "
                    "worker or a catch-up) runs it on this store, and seed needs it to itself"
                )

        try:
            bar = contextlib.nullcontext() if label is None else TerminalProgress(label)
            with bar as progress:
                summary = await seed_demo(
                    system.store,
                    system.snapshots,
                    orders=orders,
                    accounts=accounts,
                    days=days,
                    seed=seed,
                    end=clock.now(),
                    progress=None if progress is None else progress.report,
                    tick=saga_turn,
                    clock=clock,
                    ids=ids,
                )
            if user is not None:
                await system.projections.operator_log.record_on(
                    f"{SEED_STREAM_PREFIX}{ids.new_id()}",
                    HistorySeeded(
                        orders=orders,
                        accounts=accounts,
                        days=days,
                        seed=seed,
                        events=summary.events,
                    ),
                    user=user,
                )
            return summary
        except StoreError as exc:
            raise StoreError(
                f"seeding stopped part-way, so the store holds a partial history (seed again "
                f"into a new file, with no other eventdeck process on it): {exc}"
            ) from exc
    finally:
        await system.close()


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
    """Write realistic demo history spread over the past N days.

    Orders are approved (or cancelled after a failed payment) by the fulfilment saga;
    the newest orders are left PENDING for `eventdeck worker` or `catch-up`, and a
    few poison streams give the projections dead letters to inspect.
    """
    end_at = parse_time(end, "--end") if end else None
    settings = current_settings()
    summary = run_seed(
        settings.db, settings.read_only, orders, accounts, days, seed, end_at, user=settings.user
    )
    click.echo(summary.model_dump_json() if as_json else describe(summary))


def run_seed(
    url: str,
    read_only: bool,
    orders: int,
    accounts: int,
    days: int,
    seed: int,
    end: datetime | None,
    user: str | None = None,
) -> SeedSummary:
    return asyncio.run(
        seed_store(
            url,
            read_only=read_only,
            orders=orders,
            accounts=accounts,
            days=days,
            seed=seed,
            end=end,
            user=user,
        )
    )


def describe(summary: SeedSummary) -> str:
    """The seed summary as a few readable lines."""
    span = ""
    if summary.first_at and summary.last_at:
        span = f" from {short_time(summary.first_at)} to {short_time(summary.last_at)}"
    statuses = ", ".join(f"{status} {count}" for status, count in summary.by_status.items())
    return (
        f"seeded {summary.events} events{span}: {summary.orders} orders, {summary.accounts} "
        f"accounts (legacy OrderPlaced rows: {summary.legacy_v1} v1, {summary.legacy_v2} v2)\n"
        f"orders by status: {statuses}\n"
        f"{summary.payment_failures} payment(s) failed; {summary.poison_streams} poison "
        "stream(s) for the projections; the newest PENDING orders wait for "
        "`eventdeck worker` or `eventdeck catch-up`"
    )


#: The demo's first history: orders, accounts, days.
DEMO_HISTORY = (60, 15, 14)


@cli.command("demo")
@click.option("--seed", type=int, default=42, show_default=True, help="Same seed, same history.")
@click.option(
    "--rate",
    type=click.FloatRange(min=0.1, max=500),
    default=DEFAULT_RATE,
    show_default=True,
    help="Demo commands per second, on average.",
)
@click.option(
    "--no-traffic",
    is_flag=True,
    help="Send no demo commands; only the projection workers and the saga run.",
)
def demo_command(seed: int, rate: float, no_traffic: bool) -> None:
    """Seed demo history if the store is empty, then open the console on a living system.

    In the background of the same process, demo traffic (new orders, shipments,
    deliveries, the odd cancellation, new accounts, deposits and withdrawals, some
    payments that fail and now and then a poison row for the dead-letter queue) goes
    through the command bus as user demo-traffic, and the projection workers and the
    fulfilment saga run live. Quitting stops both cleanly. With --read-only nothing
    runs in the background.
    """
    settings = current_settings()

    async def is_empty() -> bool:
        system = await open_system(settings.db, read_only=settings.read_only)
        try:
            return await system.store.head_position() == 0
        finally:
            await system.close()

    prepare = None
    if asyncio.run(is_empty()) and not settings.read_only:
        # Two weeks of a small shop (about 500 events, seconds to write), written
        # while the console already shows the store filling up; the traffic and the
        # workers start once it is there. `eventdeck seed` writes bigger histories.
        orders, accounts, days = DEMO_HISTORY

        async def prepare() -> None:
            await seed_store(
                settings.db,
                read_only=False,
                orders=orders,
                accounts=accounts,
                days=days,
                seed=seed,
                end=None,
                label=None,
                user=settings.user,
            )

    from .app import EventdeckApp

    runtime = DemoRuntime(traffic=not no_traffic, rate=rate, seed=seed, prepare=prepare)
    EventdeckApp(
        settings.db, read_only=settings.read_only, user=settings.user, background=runtime
    ).run()
