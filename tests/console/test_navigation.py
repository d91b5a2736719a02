"""The shell: screens one key away, Esc back, help from the registry, the palette."""

from __future__ import annotations

from textual.widgets import Static

from console.actions import REGISTRY
from console.screens import SCREENS
from console.screens.aggregates import AggregatesScreen
from console.screens.commands import CommandsScreen
from console.screens.dashboard import DashboardScreen
from console.screens.help import HelpScreen
from console.screens.live_stream import LiveStreamScreen
from console.widgets.state_panel import StatePanel

from .helpers import running, screen_text, static_text, wait_until


async def test_each_screen_is_one_key_away_and_esc_goes_back(demo_db: str) -> None:
    async with running(demo_db) as (app, pilot):
        expected = {
            "s": LiveStreamScreen,
            "a": AggregatesScreen,
            "c": CommandsScreen,
            "d": DashboardScreen,
        }
        for key, screen_type in expected.items():
            await pilot.press(key)
            await pilot.pause()
            assert isinstance(app.screen, screen_type), key
        # back through the history: commands, aggregates, live stream, dashboard
        for screen_type in (CommandsScreen, AggregatesScreen, LiveStreamScreen, DashboardScreen):
            await pilot.press("escape")
            await pilot.pause()
            assert isinstance(app.screen, screen_type)


async def test_every_screen_has_a_key_in_the_registry() -> None:
    keys = {item.key for item in REGISTRY.actions("app")}
    assert {spec.key for spec in SCREENS} <= keys
    assert len({spec.key for spec in SCREENS}) == len(SCREENS)


async def test_help_lists_every_registered_key(demo_db: str) -> None:
    async with running(demo_db) as (app, pilot):
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        shown = static_text(app.screen.query_one("#help-body", Static))
        for item in REGISTRY.all():
            line = next((line for line in shown.splitlines() if item.description in line), "")
            assert line.split()[:2] == [item.key_display, item.label.split()[0]], (item, line)
        for spec in SCREENS:
            assert REGISTRY.title(spec.name) in shown
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)


async def test_palette_jumps_to_a_stream_by_id_prefix(demo_db: str) -> None:
    async with running(demo_db) as (app, pilot):
        accounts = await app.system.store.list_streams(stream_type="Account", limit=3)
        target = accounts[1].stream_id
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*f"stream {target}")
        await wait_until(pilot, lambda: f"Jump to stream {target}" in screen_text(app), "hit")
        await pilot.press("enter")

        def shown() -> bool:
            screen = app.screen
            if not isinstance(screen, AggregatesScreen):
                return False
            view = screen.query_one(StatePanel).view
            return view is not None and view.stream_id == target

        await wait_until(pilot, shown, "the stream in aggregates")
        assert app.screen.stream_id == target  # type: ignore[attr-defined]


async def test_palette_lists_screens_and_actions_and_runs_them(demo_db: str) -> None:
    async with running(demo_db) as (app, pilot):
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Live stream: Follow")
        await wait_until(pilot, lambda: "Live stream: Follow" in screen_text(app), "the action")
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, LiveStreamScreen), "the screen")
        await wait_until(pilot, lambda: not app.screen.following, "paused")  # type: ignore[attr-defined]
        assert "PAUSED" in screen_text(app)


async def test_esc_in_an_input_leaves_the_input_first(demo_db: str) -> None:
    async with running(demo_db) as (app, pilot):
        await pilot.press("a")
        await wait_until(pilot, lambda: isinstance(app.screen, AggregatesScreen), "aggregates")
        await pilot.press("slash")
        assert app.focused is not None and app.focused.id == "agg-search"
        await pilot.press(*"ord", "escape")
        assert isinstance(app.screen, AggregatesScreen)  # still here
        assert app.focused is not None and app.focused.id != "agg-search"
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)
