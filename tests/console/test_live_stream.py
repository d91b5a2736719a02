"""The live stream: tailing, filters, pause without loss, jump to the aggregate."""

from __future__ import annotations

from decimal import Decimal

from textual.pilot import Pilot
from textual.widgets import Input

from console.app import EventdeckApp
from console.screens.aggregates import AggregatesScreen
from console.screens.live_stream import INITIAL, LiveStreamScreen
from console.widgets.event_detail import EventDetail
from console.widgets.virtual_table import VirtualTable
from core.domain.commands import Deposit

from .helpers import running, screen_text, static_text, wait_until


async def open_live(app: EventdeckApp, pilot: Pilot[None]) -> LiveStreamScreen:
    await pilot.press("s")
    await wait_until(pilot, lambda: _tail(app).row_count > 0, "the tail")
    screen = app.screen
    assert isinstance(screen, LiveStreamScreen)
    return screen


def _tail(app: EventdeckApp) -> VirtualTable:
    return app.screen.query_one("#tail", VirtualTable)


def shown_events(screen: LiveStreamScreen) -> list[int]:
    return [int(str(key)) for key in screen.query_one("#tail", VirtualTable).row_keys()]


async def deposit(app: EventdeckApp, account: str, amount: str = "1.00") -> None:
    command = Deposit(account_id=account, amount=Decimal(amount))
    await app.system.bus.dispatch(command, user_id="tester")


async def test_tail_shows_the_newest_events_in_order(demo_db: str) -> None:
    async with running(demo_db) as (app, pilot):
        head = await app.system.store.head_position()
        screen = await open_live(app, pilot)
        assert shown_events(screen) == list(range(head - INITIAL + 1, head + 1))
        # the cursor follows the newest event and the detail shows it
        detail = static_text(screen.query_one(EventDetail).query_one("Static"))  # type: ignore[arg-type]
        assert f"position    {head}" in detail


async def test_new_events_appear_while_following(demo_db: str) -> None:
    async with running(demo_db) as (app, pilot):
        screen = await open_live(app, pilot)
        account = (await app.system.store.list_streams(stream_type="Account", limit=1))[0]
        await deposit(app, account.stream_id)
        head = await app.system.store.head_position()
        await wait_until(pilot, lambda: shown_events(screen)[-1] == head, "the new event")
        assert _tail(app).cursor_key == head


async def test_pausing_never_loses_events(demo_db: str) -> None:
    async with running(demo_db) as (app, pilot):
        screen = await open_live(app, pilot)
        before = shown_events(screen)
        await pilot.press("f")
        assert not screen.following
        account = (await app.system.store.list_streams(stream_type="Account", limit=1))[0]
        for _ in range(5):
            await deposit(app, account.stream_id)
        await wait_until(pilot, lambda: screen.behind == 5, "the count of new events")
        assert "PAUSED  5 new" in screen_text(app)
        assert shown_events(screen) == before  # nothing moved while paused
        await pilot.press("f")
        head = await app.system.store.head_position()
        await wait_until(pilot, lambda: shown_events(screen)[-1] == head, "the events on resume")
        shown = shown_events(screen)
        assert shown == list(range(shown[0], head + 1))  # no gap, nothing twice
        assert "FOLLOWING" in screen_text(app)


async def test_filters_by_type_stream_user_and_text(demo_db: str) -> None:
    async with running(demo_db) as (app, pilot):
        screen = await open_live(app, pilot)

        async def apply(field: str, text: str) -> list[str]:
            screen.query_one(f"#filter-{field}", Input).value = text
            # the bar posts its filter a moment after typing stops: wait for it, not a clock
            await wait_until(pilot, lambda: getattr(screen.filter, field) == text, "the filter")
            return [
                "|".join(str(cell) for cell in row.cells)
                for row in (_tail(app).row(key) for key in _tail(app).row_keys())
                if row is not None
            ]

        rows = await apply("type", "withdrawn")
        assert rows and all("MoneyWithdrawn" in row for row in rows)
        await pilot.press("x")
        await wait_until(pilot, lambda: not screen.filter.active, "the filters cleared")
        rows = await apply("stream", "ord-")
        assert rows and all("|ord-" in row for row in rows)
        rows = await apply("user", "carol")
        assert rows and all(row.endswith("|carol") for row in rows)
        assert "filtered" in screen_text(app)
        await pilot.press("x")
        await wait_until(pilot, lambda: not screen.filter.active, "the filters cleared")
        assert _tail(app).row_count == INITIAL
        some = screen._by_position[shown_events(screen)[-3]]
        needle = some.event_id[:13]
        rows = await apply("text", needle)
        assert len(rows) == 1 and rows[0].startswith(str(some.position))
        await apply("text", "no event contains this")
        assert _tail(app).row_count == 0


async def test_enter_opens_the_events_stream_in_aggregates(demo_db: str) -> None:
    async with running(demo_db) as (app, pilot):
        screen = await open_live(app, pilot)
        await pilot.press("up", "up")
        key = _tail(app).cursor_key
        event = screen._by_position[int(str(key))]
        await pilot.press("enter")
        await wait_until(
            pilot,
            lambda: isinstance(app.screen, AggregatesScreen) and app.screen.history != [],
            "the aggregate",
        )
        aggregates = app.screen
        assert isinstance(aggregates, AggregatesScreen)
        assert aggregates.stream_id == event.stream_id
        timeline = aggregates.query_one("#agg-timeline", VirtualTable)
        await wait_until(pilot, lambda: timeline.cursor_key == event.version, "its version")
