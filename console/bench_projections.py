"""`catch_up_order_summary`: how fast a projection catches up from zero."""

from __future__ import annotations

import time

from .bench import Figure, Sizes
from .bench_fixtures import as_pending, demo_history, history_end, order_copies, write_events
from .bootstrap import open_system

PROJECTION = "order-summary"
#: The demo seed of this store (another seed than the console store's: other stream ids).
SEED = 5


async def catch_up_figure(url: str, sizes: Sizes) -> Figure:
    """`catch_up_order_summary` (events/s): `catch_up(["order-summary"])` from position 0.

    The store holds the demo history (`demo_orders` orders and `demo_accounts`
    accounts with their payments, inventory and the saga's commands, legacy
    OrderPlaced v1/v2 rows and the poison streams that become dead letters),
    followed by `order_copies` copies of its orders (see
    `bench_fixtures.order_copies`). The figure is the events the catch-up read
    for the projection (its CatchUpSummary's `events`: applied, dead-lettered and
    parked) divided by the wall time of the `catch_up` call, which reads, applies
    and commits the read model and checkpoint.
    """
    await _write_store(url, sizes)
    system = await open_system(url)
    try:
        start = time.perf_counter()
        results = await system.projections.catch_up([PROJECTION])
        elapsed = time.perf_counter() - start
    finally:
        await system.close()
    (result,) = [r for r in results if r.name == PROJECTION]
    if result.status != "caught-up" or not result.events:
        raise RuntimeError(
            f"{PROJECTION} did not catch up ({result.status}, {result.events} events): "
            f"{result.error or 'no error given'}"
        )
    detail = (
        f"{result.events:,} events read in {elapsed:.2f}s ({result.applied:,} applied, "
        f"{result.dead_letters} dead letters, {result.parked} parked)"
    )
    return Figure(result.events / elapsed, "events/s", detail=detail)


async def _write_store(url: str, sizes: Sizes) -> None:
    """The figure's store (its events in memory are gone before the catch-up is timed)."""
    history, summary = await demo_history(
        sizes.demo_orders, sizes.demo_accounts, SEED, history_end()
    )
    system = await open_system(url)  # creates the schema
    await system.close()
    copies = order_copies(history, sizes.order_copies, summary.poison_stream_ids)
    await write_events(url, [*as_pending(history), *copies])
