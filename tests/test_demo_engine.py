"""The demo domain through the real projection engine (memory stores): seed with the
engine's saga catch-up as `tick`, then catch everything up, as `seed` + `catch-up` do."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from core.clock import FixedClock, SeededIdFactory
from core.domain import Order, build_bus, build_repository
from core.domain.demo_data import seed_demo
from core.domain.projections import DEMO_PROJECTIONS, DEMO_SAGAS
from core.memory_projection_store import InMemoryProjectionStore
from core.memory_store import InMemoryEventStore, InMemorySnapshotStore
from core.projection_engine import ProjectionEngine

END = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


async def test_seed_and_catch_up_through_the_engine() -> None:
    events = InMemoryEventStore()
    clock = FixedClock(END)
    ids = SeededIdFactory(9)
    repo = build_repository(events, clock=clock, ids=ids)
    projections = InMemoryProjectionStore()

    def engine() -> ProjectionEngine:
        return ProjectionEngine(
            [*DEMO_PROJECTIONS, *DEMO_SAGAS],
            events=events,
            store=projections,
            registry=repo.registry,
            clock=clock,
            ids=ids,
            bus=build_bus(repo),
        )

    seeding = engine()

    async def tick() -> None:
        await seeding.catch_up(["fulfilment"])

    summary = await seed_demo(
        events, InMemorySnapshotStore(), orders=80, accounts=6, days=15, seed=4, end=END,
        tick=tick, clock=clock, ids=ids,
    )  # fmt: skip
    assert summary.saga_ticks > 0 and summary.by_status["PENDING"] >= 2

    clock.set(END)
    worker = engine()  # a fresh process after the seed
    results = {s.name: s for s in await worker.catch_up()}
    head = await events.head_position()
    assert {s.position for s in results.values()} == {head}

    dead = await worker.dead_letters.list()
    poison = set(summary.poison_stream_ids)
    assert {(d.projection, d.stream_id) for d in dead} == {
        ("order-summary" if p.startswith("ord-") else "account-balances", p) for p in poison
    }
    assert all(d.parked == 1 for d in dead)

    statuses = Counter()
    for doc in await worker.query_page("order-summary"):
        state = (await repo.load(Order, doc["order_id"])).state_dict()
        assert (doc["status"], doc["customer_id"], doc["total_amount"]) == (
            state["status"], state["customer_id"], state["total_amount"],
        )  # fmt: skip
        statuses[doc["status"]] += 1
    assert dict(statuses) == {k: v for k, v in summary.by_status_after_saga.items() if v}
    assert len(await worker.query_page("audit-log")) == head

    # a restart that catches up again sends nothing twice
    assert {s.events for s in await engine().catch_up()} == {0}
    assert await events.head_position() == head
