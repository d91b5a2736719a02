"""Aggregates: search, stepping through versions, time travel, snapshots, blame."""

from __future__ import annotations

from datetime import timedelta

from textual.pilot import Pilot
from textual.widgets import Input, Static

from console.app import EventdeckApp
from console.screens.aggregates import HISTORY_WINDOW, PAGE, AggregatesScreen, history_window
from console.screenshots import DEMO_END
from console.widgets.state_panel import StatePanel, blame
from console.widgets.virtual_table import VirtualTable
from core.events import Metadata, NewEvent
from core.ports import StreamInfo
from core.snapshots import Snapshot

from .helpers import running, screen_text, static_text, wait_until

OPENED = NewEvent(
    event_id="open-long",
    type="AccountOpened",
    schema_version=1,
    data={"owner": "Long Stream"},
    metadata=Metadata(user_id="teller"),
    recorded_at=DEMO_END,
)


async def busiest_order(app: EventdeckApp) -> StreamInfo:
    orders = await app.system.store.list_streams(stream_type="Order")
    return max(orders, key=lambda info: info.version)


async def show(
    app: EventdeckApp, pilot: Pilot[None], stream_id: str, version: int | None
) -> StatePanel:
    app.open_stream(stream_id, version)

    def ready() -> bool:
        screen = app.screen
        if not isinstance(screen, AggregatesScreen):
            return False
        view = screen.query_one(StatePanel).view
        return (
            view is not None
            and view.stream_id == stream_id
            and (version is None or view.version == version)
        )

    await wait_until(pilot, ready, f"{stream_id} at version {version}")
    return app.screen.query_one(StatePanel)


def state_version(app: EventdeckApp) -> int:
    view = app.screen.query_one(StatePanel).view
    assert view is not None
    return view.version


async def test_stepping_through_versions_changes_the_state(demo_db: str) -> None:
    async with running(demo_db) as (app, pilot):
        order = await busiest_order(app)
        panel = await show(app, pilot, order.stream_id, None)
        assert panel.view is not None and panel.view.version == order.version
        latest = dict(panel.view.state)
        await pilot.press("left_square_bracket")
        await wait_until(pilot, lambda: state_version(app) == order.version - 1, "one older")
        older = dict(panel.view.state)
        assert older != latest
        changed = panel.history[order.version - 1].changes
        assert all(latest[field] == change["to"] for field, change in changed.items())
        assert all(older.get(field) == change["from"] for field, change in changed.items())
        await pilot.press("up")  # the timeline has focus: arrows step too
        await wait_until(pilot, lambda: state_version(app) == order.version - 2, "two older")
        await pilot.press("right_square_bracket", "right_square_bracket")
        await wait_until(pilot, lambda: state_version(app) == order.version, "back to latest")
        assert panel.view.state == latest


async def test_changed_fields_are_marked_and_blame_names_the_event(demo_db: str) -> None:
    async with running(demo_db) as (app, pilot):
        order = await busiest_order(app)
        panel = await show(app, pilot, order.stream_id, 2)
        entry = panel.history[1]
        marked = {
            str(row[0]).removeprefix("● ").strip()
            for row in (panel.table.get_row_at(index) for index in range(panel.table.row_count))
            if str(row[0]).startswith("●")
        }
        assert marked == set(entry.changes)
        panel.table.move_cursor(row=panel.table.get_row_index("status"))
        await pilot.pause()
        line = static_text(panel.query_one("#state-blame", Static))
        assert f"status last changed by v2 {entry.type}" in line
        assert blame(panel.history, 2, "customer_id") == panel.history[0]


async def test_t_shows_the_state_at_a_typed_time(demo_db: str) -> None:
    async with running(demo_db) as (app, pilot):
        order = await busiest_order(app)
        panel = await show(app, pilot, order.stream_id, None)
        second = panel.history[1].recorded_at
        between = second - timedelta(seconds=1)
        await pilot.press("t")
        await pilot.pause()
        await pilot.press(*between.isoformat())
        await pilot.press("enter")
        await wait_until(pilot, lambda: state_version(app) == 1, "the state at that time")
        timeline = app.screen.query_one("#agg-timeline", VirtualTable)
        assert timeline.cursor_key == 1
        assert "(time travel)" in screen_text(app)
        # before the stream existed: a clear message, nothing else changes
        await pilot.press("t")
        await pilot.pause()
        await pilot.press(*"2000-01-01", "enter")
        await wait_until(pilot, lambda: "did not exist yet" in screen_text(app), "the refusal")
        # a time that is not a time: the reason, as a notification
        await pilot.press("t")
        await pilot.pause()
        await pilot.press(*"yesterday", "enter")
        await wait_until(pilot, lambda: "use ISO 8601" in screen_text(app), "the parse error")


async def test_search_by_prefix_and_type_pages_the_list(demo_db: str) -> None:
    async with running(demo_db) as (app, pilot):
        await pilot.press("a")
        await wait_until(pilot, lambda: isinstance(app.screen, AggregatesScreen), "aggregates")
        streams = app.screen.query_one("#agg-streams", VirtualTable)
        await wait_until(pilot, lambda: streams.row_count > 0, "the stream list")
        total = len(await app.system.store.list_streams())
        assert streams.row_count == min(total, 100)
        await pilot.press("slash")
        await pilot.press(*"acc-")
        await wait_until(
            pilot,
            lambda: (
                streams.row_count > 0
                and all(str(key).startswith("acc-") for key in streams.row_keys())
            ),
            "only accounts",
        )
        assert app.screen.query_one("#agg-search", Input).value == "acc-"


async def test_snapshots_are_marked_on_the_timeline(demo_db: str) -> None:
    async with running(demo_db) as (app, pilot):
        accounts = await app.system.store.list_streams(stream_type="Account")
        busiest = max(accounts, key=lambda info: info.version)
        # take a snapshot at version 2 so there is one to show
        aggregate = await app.system.repository.load_any(busiest.stream_id, version=2)
        await app.system.snapshots.save(
            Snapshot(
                stream_id=aggregate.id,
                stream_type=aggregate.stream_type,
                version=2,
                state=aggregate.snapshot_state(),
                state_schema=aggregate.state_schema,
                taken_at=app.system.clock.now(),
            )
        )
        await show(app, pilot, busiest.stream_id, None)
        timeline = app.screen.query_one("#agg-timeline", VirtualTable)
        row = timeline.row(2)
        assert row is not None and str(row.cells[1]) == "◆"
        assert "snapshot at 2" in screen_text(app)


async def test_the_stream_list_grows_a_page_at_a_time(demo_db: str) -> None:
    async with running(demo_db) as (app, pilot):
        total = len(await app.system.store.list_streams())
        assert total > PAGE  # the demo store holds more streams than one page
        await pilot.press("a")
        await wait_until(pilot, lambda: isinstance(app.screen, AggregatesScreen), "aggregates")
        streams = app.screen.query_one("#agg-streams", VirtualTable)
        await wait_until(pilot, lambda: streams.row_count == PAGE, "the first page")
        streams.focus()
        await pilot.press("end")
        await wait_until(pilot, lambda: streams.row_count == total, "the next page")
        assert streams.row_keys() == sorted(streams.row_keys())
        assert f"{total} streams" in screen_text(app)


def test_the_history_window_keeps_the_wanted_version_inside() -> None:
    assert history_window(1000, 1000, size=400) == (601, 1000)
    assert history_window(700, 1000, size=400) == (601, 1000)
    assert history_window(500, 1000, size=400) == (301, 700)
    assert history_window(3, 1000, size=400) == (1, 400)
    assert history_window(5, 12, size=400) == (1, 12)
    assert history_window(700, 1000, size=400, centre=True) == (501, 900)
    assert history_window(950, 1000, size=400, centre=True) == (601, 1000)


async def test_a_long_stream_shows_a_window_that_slides_with_the_cursor(demo_db: str) -> None:
    async with running(demo_db) as (app, pilot):
        store = app.system.store
        deposits = [
            NewEvent(
                event_id=f"dep-{i}",
                type="MoneyDeposited",
                schema_version=1,
                data={"amount": "1.00"},
                metadata=Metadata(user_id="teller"),
                recorded_at=DEMO_END + timedelta(seconds=i),
            )
            for i in range(1, HISTORY_WINDOW + 301)
        ]
        await store.append("acc-long", "Account", [OPENED, *deposits], expected_version=0)
        latest = len(deposits) + 1
        panel = await show(app, pilot, "acc-long", None)
        screen = app.screen
        assert isinstance(screen, AggregatesScreen)
        # the newest window only, and the title says which part of the stream it is
        assert [e.version for e in screen.history] == list(range(latest - 399, latest + 1))
        title = static_text(screen.query_one("#agg-timeline-title", Static))
        assert f"v{latest - 399:,}-{latest:,} of {latest:,} events" in title
        assert panel.view is not None and panel.view.state["balance"] == f"{latest - 1}.00"

        # moving up to the window's top reads the window around the cursor
        timeline = screen.query_one("#agg-timeline", VirtualTable)
        timeline.move_cursor(0)
        await wait_until(pilot, lambda: screen.history[0].version < latest - 399, "an older window")
        await wait_until(pilot, lambda: state_version(app) == latest - 399, "the state there")
        assert panel.view is not None and panel.view.state["balance"] == f"{latest - 400}.00"
        assert timeline.cursor_key == latest - 399
        assert len(screen.history) == HISTORY_WINDOW
