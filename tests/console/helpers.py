"""Running the console headless in tests, and reading what it shows."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import Static

from console.app import EventdeckApp
from console.bootstrap import open_system
from console.screenshots import SIZE, demo_app, open_console, wait_until

__all__ = [
    "demo_console",
    "events_card",
    "head_of",
    "messages",
    "running",
    "screen_text",
    "static_text",
    "wait_until",
]


@asynccontextmanager
async def running(
    db: str, *, read_only: bool = False
) -> AsyncIterator[tuple[EventdeckApp, Pilot[None]]]:
    """The console on `db` at 120x40, with the dashboard shown."""
    app = demo_app(db, read_only=read_only)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_console(pilot)
        yield app, pilot


def screen_text(app: EventdeckApp) -> str:
    """Everything on screen (the screen stack included) as plain text."""
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), record=True)
    console.print(
        app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    )
    return console.export_text()


def static_text(widget: Static, width: int = 200) -> str:
    """The text of a Static (its Rich renderable or markup) as plain lines."""
    console = Console(width=width, file=io.StringIO(), record=True)
    console.print(widget.content)
    return console.export_text()


def messages(app: EventdeckApp) -> list[str]:
    """The notifications shown so far (toasts), oldest first."""
    return [str(notification.message) for notification in app._notifications]


def demo_console(db: str, background: object, *, read_only: bool = False) -> EventdeckApp:
    """The console on `db` with `background` work (the demo's), polling every 0.1 s."""
    app = EventdeckApp(
        db,
        read_only=read_only,
        poll_seconds=0.1,
        cursor_blink=False,
        background=background,  # type: ignore[arg-type]
    )
    app.animation_level = "none"
    return app


async def head_of(db: str) -> int:
    system = await open_system(db)
    try:
        return await system.store.head_position()
    finally:
        await system.close()


def events_card(app: EventdeckApp) -> int:
    text = static_text(app.screen.query_one("#card-events", Static))
    return int(text.split()[1].replace(",", ""))
