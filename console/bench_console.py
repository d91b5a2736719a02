"""`console_first_screen_1m` and `console_rss_1m`: the console on a million events."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import timedelta

from stores.secrets import hide_secrets

from .bench import Figure, Sizes, Step, no_step, worker_env
from .bench_fixtures import as_pending, demo_history, deposit_rows, history_end, write_events
from .bootstrap import open_system

WORKER = "console.bench_console_worker"
#: The demo seed of this store (another seed than the catch-up store's: other stream ids).
SEED = 6
#: The demo history ends this long ago; the bulk deposits fill the time since.
BULK_SPAN = timedelta(days=1)
WORKER_TIMEOUT = 600


async def build_console_store(url: str, sizes: Sizes) -> int:
    """Fill the store at `url` up to `console_events` events; the head at the end.

    First the demo history (`demo_orders` orders, `demo_accounts` accounts, the
    saga's commands and the poison streams: every screen has something real to
    show) ending a day ago, then
    deposits on accounts of 1,000 events each spread over the last day until the
    store holds `console_events` (bench_fixtures.deposit_rows). Projections are
    not caught up: the dashboard shows them lagging by the whole store.
    """
    end = history_end(BULK_SPAN)
    history, _ = await demo_history(sizes.demo_orders, sizes.demo_accounts, SEED, end)
    system = await open_system(url)
    try:
        head = await system.store.head_position()
    finally:
        await system.close()
    bulk = max(sizes.console_events - head - len(history), 0)
    rows = deposit_rows(bulk, end, end + BULK_SPAN, seed=SEED)
    await write_events(url, as_pending(history), rows)
    system = await open_system(url)
    try:
        return await system.store.head_position()
    finally:
        await system.close()


def run_console_worker(url: str) -> dict[str, float]:
    """Start the console in a new process; its first-screen time and peak memory."""
    started_at = time.time()
    # The URL goes by environment, not argv: a password in argv is on every `ps` listing.
    result = subprocess.run(
        [sys.executable, "-m", WORKER, "--started-at", repr(started_at)],
        capture_output=True,
        text=True,
        env=worker_env() | {"EVENTDECK_DB": url},
        timeout=WORKER_TIMEOUT,
        check=False,
    )
    lines = result.stdout.strip().splitlines()
    output = json.loads(lines[-1]) if lines else {}
    if result.returncode != 0 or "error" in output:
        problem = output.get("error") or (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"the console worker failed: {hide_secrets(problem)}")
    return {key: float(value) for key, value in output.items()}


#: The parts of `console_figures`, in order (see `bench_rounds.ROUND_STEPS`).
CONSOLE_STEPS = ("console: building the store", "console: first screen")


async def console_figures(url: str, sizes: Sizes, step: Step = no_step) -> dict[str, Figure]:
    """`console_first_screen_1m` (ms) and `console_rss_1m` (MB) on a `console_events` store.

    The store is built first (`build_console_store`, not timed), then the console
    is started in a separate process (`console.bench_console_worker`): the time
    from starting that process until the dashboard shows its first figures, and
    the process's peak RSS after one more dashboard refresh.
    """
    build_step, screen_step = CONSOLE_STEPS
    step(f"{build_step} ({sizes.console_events:,} events)")
    head = await build_console_store(url, sizes)
    step(screen_step)
    measured = run_console_worker(url)
    detail = f"a store of {head:,} events, {measured['reads']:.0f} dashboard reads"
    return {
        "console_first_screen_1m": Figure(measured["first_screen_ms"], "ms", detail=detail),
        "console_rss_1m": Figure(measured["rss_mb"], "MB"),
    }
