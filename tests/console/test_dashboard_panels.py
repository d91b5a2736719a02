"""The dashboard's projection lag table, open dead letters and fulfilment saga outcomes,
checked against what the store holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from textual.widgets import Static

from console.app import EventdeckApp
from console.screens.dashboard_stats import LIVE_EVENTS, LIVE_SPAN, rate_series
from core.dead_letters import DeadLetterStatus
from core.domain.commands import PlaceOrder
from core.events import Metadata, RecordedEvent
from core.saga_context import SYSTEM_USER

from .helpers import running, static_text, wait_until


def panel(app: EventdeckApp, widget_id: str) -> str:
    return static_text(app.screen.query_one(widget_id, Static))


async def saga_counts_in_store(app: EventdeckApp) -> tuple[int, int]:
    """OrderApproved and OrderCancelled issued by the saga, counted from every event."""
    events = [event async for event in app.system.store.read_all()]
    by_saga = [event for event in events if event.metadata.user_id == SYSTEM_USER]
    return (
        sum(1 for event in by_saga if event.type == "OrderApproved"),
        sum(1 for event in by_saga if event.type == "OrderCancelled"),
    )


async def test_lag_table_lists_every_projection_caught_up(demo_db: str) -> None:
    async with running(demo_db) as (app, pilot):
        await wait_until(pilot, lambda: "audit-log" in panel(app, "#lag"), "the lag table")
        lines = panel(app, "#lag").splitlines()
        open_letters = await app.system.projection_store.dead_letters(status=DeadLetterStatus.OPEN)
        for name in app.system.projections.processors:
            row = next(line for line in lines if line.split()[:1] == [name]).split()
            row = [cell for cell in row if cell != "saga"]
            mine = sum(1 for letter in open_letters if letter.projection == name)
            # name, status, lag in events, lag in time ("0 s"), dead letters
            assert row == [name, "running", "0", "0", "s", str(mine)], row


async def test_dead_letter_card_counts_the_open_dead_letters(demo_db: str) -> None:
    async with running(demo_db) as (app, pilot):
        open_letters = await app.system.projection_store.dead_letters(status=DeadLetterStatus.OPEN)
        assert len(open_letters) >= 2  # the demo's poison streams
        await wait_until(pilot, lambda: "open" in panel(app, "#card-dead"), "the dead letters")
        card = panel(app, "#card-dead")
        projections = {letter.projection for letter in open_letters}
        assert f"{len(open_letters)} open" in card
        assert f"in {len(projections)} projections" in card


async def test_saga_outcomes_match_the_store_and_follow_new_events(demo_db: str) -> None:
    async with running(demo_db) as (app, pilot):
        await wait_until(pilot, lambda: "approved" in panel(app, "#saga"), "the saga outcomes")
        approved, cancelled = await saga_counts_in_store(app)
        assert approved > 0 and cancelled > 0
        shown = panel(app, "#saga")
        assert f" {approved} approved" in shown and f" {cancelled} cancelled" in shown

        # the saga's own read model agrees
        documents = await app.system.projections.query_page("fulfilment")
        statuses = [document["status"] for document in documents]
        assert (statuses.count("APPROVED"), statuses.count("CANCELLED")) == (approved, cancelled)

        # a new order, taken through the saga: the next read counts only the new events
        system = app.system
        for method in ("CARD", "PREPAID_CARD"):
            order = PlaceOrder.model_validate(
                {"customer_id": "cust-0001", "items": ["WIDGET-1:1:9.99"], "payment_method": method}
            )
            await system.bus.dispatch(order, user_id="tester")
        await system.projections.catch_up(["fulfilment"])
        assert await saga_counts_in_store(app) == (approved + 1, cancelled + 1)
        await wait_until(
            pilot,
            lambda: f" {approved + 1} approved" in panel(app, "#saga"),
            "the new approval",
        )
        assert f" {cancelled + 1} cancelled" in panel(app, "#saga")


def test_a_live_store_has_its_rate_drawn_over_the_last_minutes() -> None:
    now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)

    def at(when: datetime, position: int) -> RecordedEvent:
        return RecordedEvent(
            position=position, event_id=f"e{position}", stream_id="s", stream_type="T",
            version=position, type="T", schema_version=1, data={}, metadata=Metadata(),
            recorded_at=when,
        )  # fmt: skip

    history = [at(now - timedelta(days=3, minutes=n), n) for n in range(100, 0, -1)]
    live = [at(now - timedelta(seconds=n), 200 - n) for n in range(100, 0, -1)]
    quiet = rate_series(history + live[:20], now)
    assert quiet.span > timedelta(days=3) and quiet.events == 120
    busy = rate_series(history + live, now)
    assert busy.span == LIVE_SPAN and busy.events == len(live) >= LIVE_EVENTS
    assert busy.bar == LIVE_SPAN / 60 and sum(busy.counts[-21:]) == len(live)
