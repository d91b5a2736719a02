"""Typed and stored text is shown as written, never read as markup.

`[/` alone makes Textual's markup parser raise (Rich's `escape` leaves it as it is),
and `[bold` or `[b]...` would restyle or vanish. Each test types such text into an
input, or makes the store say it, and checks the console carries on and shows it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from textual.pilot import Pilot
from textual.widgets import Input, Static

from console.app import EventdeckApp
from console.bootstrap import System
from console.screens.dead_letters import DeadLettersScreen
from console.screens.live_stream import LiveStreamScreen
from console.screens.modals import PromptModal
from console.screens.projections import ProjectionsScreen
from console.screens.trace import TraceScreen
from console.screenshots import SIZE
from core.errors import EventdeckError, StoreError

from .helpers import messages, running, screen_text, static_text, wait_until

ODD = ("[/", "[bold", "[b]x[/b]")


async def said(pilot: Pilot[None], app: EventdeckApp, fragment: str) -> None:
    try:
        await wait_until(pilot, lambda: any(fragment in m for m in messages(app)), repr(fragment))
    except TimeoutError as exc:
        raise AssertionError(f"{exc}; it said {messages(app)}") from None


async def on_screen(pilot: Pilot[None], app: EventdeckApp, text: str) -> None:
    await wait_until(pilot, lambda: text in screen_text(app), repr(text))


async def type_into(pilot: Pilot[None], selector: str, text: str) -> None:
    await pilot.click(selector)
    await pilot.press(*text)


async def test_dead_letter_filters_and_the_bulk_prompt_take_markup_as_text(demo_db: str) -> None:
    async with running(demo_db) as (app, pilot):
        await pilot.press("l")
        await wait_until(
            pilot,
            lambda: isinstance(app.screen, DeadLettersScreen) and app.screen.table.row_count > 0,
            "the dead letters",
        )
        screen = app.screen
        assert isinstance(screen, DeadLettersScreen)

        # the bulk prompt: what was typed is quoted back in the toast
        screen.table.focus()
        for typed in ODD:
            await pilot.press("T")
            await wait_until(pilot, lambda: isinstance(app.screen, PromptModal), "the prompt")
            await pilot.press(*typed, "enter")
            await wait_until(pilot, lambda: app.screen is screen, "the dead letters again")
            await said(pilot, app, f"Cancelled: you typed {typed!r}, not ")
        assert all(letter.status.value == "open" for letter in screen.letters)

        # the filters: the status line names them as typed
        await type_into(pilot, "#dlq-stream", "[/")
        await type_into(pilot, "#dlq-text", "[bold")
        await wait_until(pilot, lambda: screen.filter.text == "[bold", "the filters applied")
        await wait_until(pilot, lambda: screen.table.row_count == 0, "no match")
        status = static_text(screen.query_one("#dlq-status", Static))
        assert "stream='[/'" in status and "text='[bold'" in status
        assert "No dead letters match the filters." in screen_text(app)


async def test_projection_rebuild_failures_quote_the_store_as_written(demo_db: str) -> None:
    async with running(demo_db) as (app, pilot):
        reason = "the store said [/ and [bold and [b]x[/b]"

        async def failing_rebuild(*args: object, **kwargs: object) -> object:
            raise StoreError(reason)

        app.system.projections.rebuild = failing_rebuild  # type: ignore[method-assign]
        await pilot.press("p")
        await wait_until(
            pilot,
            lambda: isinstance(app.screen, ProjectionsScreen) and app.screen.table.row_count > 0,
            "the projections",
        )
        screen = app.screen
        assert isinstance(screen, ProjectionsScreen)
        assert screen.table.move_to_key("order-summary")
        await pilot.press("b")
        await wait_until(pilot, lambda: app.screen is not screen, "the confirmation")
        await pilot.press("y")
        await said(pilot, app, f"{reason} - the current generation goes on serving.")
        await pilot.pause()
        assert reason in screen_text(app)


async def test_live_stream_and_trace_inputs_take_markup_as_text(demo_db: str) -> None:
    async with running(demo_db) as (app, pilot):
        await pilot.press("s")
        await wait_until(pilot, lambda: isinstance(app.screen, LiveStreamScreen), "the stream")
        await type_into(pilot, "#filter-text", "[/")
        await type_into(pilot, "#filter-user", "[bold")
        await wait_until(
            pilot,
            lambda: "user='[bold', text='[/'" in screen_text(app),
            "the filters in the status line",
        )

        await pilot.press("escape", "g")
        await wait_until(pilot, lambda: isinstance(app.screen, TraceScreen), "the trace screen")
        for typed in ("[/ no such id", "[bold no such id"):
            field = app.screen.query_one("#trace-input", Input)
            field.focus()
            field.value = ""
            await pilot.press(*typed, "enter")
            await on_screen(pilot, app, f"No event carries {typed!r}")


def failing_factory(error: str) -> Callable[[], asyncio.Future[System]]:
    async def factory() -> System:
        raise EventdeckError(error)

    return factory  # type: ignore[return-value]


async def test_a_store_that_cannot_open_is_quoted_as_written() -> None:
    error = "cannot open the store '/tmp/[/x/[bold.db': no such folder"
    app = EventdeckApp(failing_factory(error), cursor_blink=False)
    async with app.run_test(size=SIZE) as pilot:
        opening = app.query_one("#opening", Static)
        await wait_until(pilot, lambda: "Cannot open" in static_text(opening), "the failure")
        assert f"Cannot open the store: {error}" in static_text(opening)


async def test_background_reports_are_quoted_as_written(demo_db: str) -> None:
    class Chatty:
        label = "chatty [/"

        async def __call__(
            self, system: System, stop: asyncio.Event, report: Callable[[str], None]
        ) -> None:
            report("odd [/ and [bold")
            raise RuntimeError("boom [/")

    from console.screenshots import demo_app, open_console

    app = demo_app(demo_db)
    app._background = Chatty()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_console(pilot)
        await said(pilot, app, "odd [/ and [bold")
        await said(pilot, app, "RuntimeError: boom [/")
        await pilot.pause()
        assert "odd [/ and [bold" in screen_text(app)
