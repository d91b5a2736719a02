"""The trace screen: the correlation tree, reached from the live stream, aggregates,
the palette and its own input; Enter on an event opens it in aggregates."""

from __future__ import annotations

from rich.text import Text
from textual.pilot import Pilot
from textual.widgets.tree import TreeNode

from console.app import EventdeckApp
from console.screens.aggregates import AggregatesScreen
from console.screens.trace import TraceScreen
from console.widgets.state_panel import StatePanel
from console.widgets.trace_tree import TraceDetail, TraceTree
from console.widgets.virtual_table import VirtualTable
from core.events import RecordedEvent
from core.trace import TraceNode

from .helpers import messages, running, screen_text, static_text, wait_until


def tree(app: EventdeckApp) -> TraceTree:
    return app.screen.query_one(TraceTree)


def lines(app: EventdeckApp) -> list[TreeNode[TraceNode]]:
    """The tree's nodes as shown, top to bottom."""
    trace_tree = tree(app)
    found = (trace_tree.get_node_at_line(line) for line in range(trace_tree.last_line + 1))
    return [node for node in found if node is not None]


def shown(app: EventdeckApp, kind: str) -> list[TraceNode]:
    return [node for node in tree(app).nodes() if node.kind == kind]


def chosen(app: EventdeckApp) -> str | None:
    """The id of the node under the tree's cursor."""
    node = tree(app).cursor_node
    return node.data.id if node is not None and node.data is not None else None


def status(app: EventdeckApp) -> str:
    return static_text(app.screen.query_one("#trace-status"))  # type: ignore[arg-type]


def detail(app: EventdeckApp) -> str:
    return static_text(app.screen.query_one(TraceDetail).query_one("Static"))  # type: ignore[arg-type]


async def wait_for_trace(pilot: Pilot[None], correlation_id: str) -> TraceScreen:
    app = pilot.app

    def showing() -> bool:
        screen = app.screen
        return (
            isinstance(screen, TraceScreen)
            and screen.trace is not None
            and screen.trace.correlation_id == correlation_id
            and bool(screen.query_one(TraceTree).nodes())
        )

    await wait_until(pilot, showing, f"the trace of {correlation_id}")
    assert isinstance(app.screen, TraceScreen)
    return app.screen


async def approved_by_the_saga(app: EventdeckApp, after: int) -> RecordedEvent:
    """An OrderPlaced at a position after `after` whose order the saga approved."""
    store = app.system.store
    async for event in store.read_all(from_position=after + 1, types=["OrderPlaced"]):
        correlated = await store.read_correlated(event.metadata.correlation_id or "")
        if "OrderApproved" in {e.type for e in correlated}:
            return event
    raise AssertionError("the demo store has no order approved by the saga in its tail")


async def test_the_live_stream_trace_key_shows_the_whole_correlation(demo_db: str) -> None:
    async with running(demo_db) as (app, pilot):
        await pilot.press("s")
        await wait_until(
            pilot, lambda: app.screen.query_one("#tail", VirtualTable).row_count > 0, "the tail"
        )
        head = await app.system.store.head_position()
        placed = await approved_by_the_saga(app, head - 150)
        assert app.screen.query_one("#tail", VirtualTable).move_to_key(placed.position)
        await pilot.press("o")
        correlation = placed.metadata.correlation_id or ""
        await wait_for_trace(pilot, correlation)

        expected = await app.system.store.read_correlated(correlation)
        assert chosen(app) == placed.event_id  # the cursor on the event it came from
        events = shown(app, "event")
        assert {node.id for node in events} == {e.event_id for e in expected}
        assert len(events) == len(expected)
        # the place-order command at the root, its OrderPlaced, then the saga's commands
        [root] = tree(app).root.children
        assert root.data is not None and root.data.kind == "command"
        assert root.data.id == placed.metadata.causation_id
        [first] = root.children
        assert first.data is not None and first.data.id == placed.event_id
        sagas = [node for node in shown(app, "command") if "caused_by" in node.detail]
        caused = [e for e in expected if e.metadata.causation_id != placed.metadata.causation_id]
        assert len(sagas) == len(caused) >= 3  # reserve, pay, approve: one event each here
        assert {node.detail["stream_id"] for node in sagas} == {e.stream_id for e in caused}
        assert all(node.detail["user_id"] == "SYSTEM" for node in sagas)
        text = screen_text(app)
        assert f"{1 + len(sagas)} commands, {len(expected)} events, 0 dead letters" in text
        assert "OrderApproved" in text and f"{placed.stream_id} v2" in text


async def test_a_dead_letter_hangs_under_its_event_in_red(demo_db: str) -> None:
    async with running(demo_db) as (app, pilot):
        [letter, *_] = await app.system.projection_store.dead_letters()
        event = await app.system.store.read_event(letter.event_id)
        assert event is not None and event.metadata.correlation_id
        await pilot.press("g")
        await pilot.press("slash")
        await pilot.press(*event.metadata.correlation_id, "enter")
        await wait_for_trace(pilot, event.metadata.correlation_id)

        dead = [line for line in lines(app) if line.data and line.data.kind == "dead_letter"]
        assert [line.data.id for line in dead if line.data] == [str(letter.id)]
        parent = dead[0].parent
        assert parent is not None and parent.data is not None and parent.data.id == event.event_id
        label = dead[0].label
        assert isinstance(label, Text) and "red" in str(label.style)
        assert "1 dead letter" in status(app)
        tree(app).move_cursor(dead[0])
        await wait_until(pilot, lambda: letter.error in detail(app), "the dead letter's error")
        assert letter.projection in detail(app) and "traceback" in detail(app)
        await pilot.press("enter")  # the stream of the event it failed on
        await wait_until(
            pilot,
            lambda: getattr(app.screen, "stream_id", None) == letter.stream_id,
            "the dead letter's stream in aggregates",
        )


async def test_an_unknown_id_says_so_and_shows_no_tree(demo_db: str) -> None:
    async with running(demo_db) as (app, pilot):
        await pilot.press("g")
        await wait_until(pilot, lambda: bool(tree(app).nodes()), "the newest trace")
        await pilot.press("slash")
        await pilot.press(*"no-such-id", "enter")
        await wait_until(pilot, lambda: "No event carries" in status(app), "the message")
        assert "'no-such-id'" in status(app)
        assert tree(app).nodes() == []
        assert isinstance(app.screen, TraceScreen) and app.screen.trace is None
        assert not any("Error" in message for message in messages(app))


async def test_opened_empty_it_shows_the_newest_events_trace(demo_db: str) -> None:
    async with running(demo_db) as (app, pilot):
        head = await app.system.store.head_position()
        [newest] = [e async for e in app.system.store.read_all(from_position=head)]
        await pilot.press("g")
        await wait_for_trace(pilot, newest.metadata.correlation_id or "")
        assert f"the newest event (position {head:,})" in status(app)
        assert chosen(app) == newest.event_id


async def test_an_event_id_is_traced_to_its_correlation(demo_db: str) -> None:
    async with running(demo_db) as (app, pilot):
        placed = await approved_by_the_saga(app, 0)
        [approved] = [
            e
            for e in await app.system.store.read_correlated(placed.metadata.correlation_id or "")
            if e.type == "OrderApproved"
        ]
        await pilot.press("g")
        await pilot.press("slash")
        await pilot.press(*approved.event_id, "enter")
        await wait_for_trace(pilot, placed.metadata.correlation_id or "")
        assert f"the correlation of {approved.event_id}" in status(app)


async def test_enter_on_an_event_opens_its_stream_at_that_version(demo_db: str) -> None:
    async with running(demo_db) as (app, pilot):
        placed = await approved_by_the_saga(app, 0)
        app.open_trace(placed.metadata.correlation_id or "")
        await wait_for_trace(pilot, placed.metadata.correlation_id or "")
        [approved] = [
            line
            for line in lines(app)
            if line.data and line.data.detail.get("type") == "OrderApproved"
        ]
        tree(app).move_cursor(approved)
        await pilot.pause()
        assert "OrderApproved" in detail(app)
        await pilot.press("enter")

        def opened() -> bool:
            screen = app.screen
            if not isinstance(screen, AggregatesScreen):
                return False
            view = screen.query_one(StatePanel).view
            return view is not None and view.stream_id == placed.stream_id and view.version == 2

        await wait_until(pilot, opened, "the order at version 2 in aggregates")
        assert app.screen.query_one("#agg-timeline", VirtualTable).cursor_key == 2


async def test_the_aggregates_trace_key_traces_the_chosen_version(demo_db: str) -> None:
    async with running(demo_db) as (app, pilot):
        placed = await approved_by_the_saga(app, 0)
        app.open_stream(placed.stream_id, version=2)

        def at_version_2() -> bool:
            screen = app.screen
            if not isinstance(screen, AggregatesScreen):
                return False
            view = screen.query_one(StatePanel).view
            return view is not None and view.version == 2

        await wait_until(pilot, at_version_2, "the order at version 2")
        await pilot.press("o")
        screen = await wait_for_trace(pilot, placed.metadata.correlation_id or "")
        assert f"the correlation of {placed.stream_id}@2" in status(app)
        version_2 = await app.system.store.read_stream(placed.stream_id, from_version=2)
        assert chosen(app) == version_2[0].event_id
        assert screen.trace is not None and placed.event_id in {
            e.event_id for e in screen.trace.events
        }


async def test_the_palette_opens_a_trace(demo_db: str) -> None:
    async with running(demo_db) as (app, pilot):
        placed = await approved_by_the_saga(app, 0)
        correlation = placed.metadata.correlation_id or ""
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*f"trace {correlation}")
        await wait_until(
            pilot, lambda: f"Show the trace of {correlation}" in screen_text(app), "hit"
        )
        await pilot.press("enter")
        await wait_for_trace(pilot, correlation)
        assert placed.event_id in {node.id for node in shown(app, "event")}


async def test_the_palette_offers_a_pasted_event_id(demo_db: str) -> None:
    async with running(demo_db) as (app, pilot):
        placed = await approved_by_the_saga(app, 0)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*placed.event_id)
        await wait_until(
            pilot, lambda: f"Show the trace of {placed.event_id}" in screen_text(app), "hit"
        )
        await pilot.press("enter")
        await wait_for_trace(pilot, placed.metadata.correlation_id or "")
