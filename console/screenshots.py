"""The pictures in `screenshots/`: one SVG per screen of a deterministic demo store.

`eventdeck screenshots` seeds the demo store in a temporary folder (fixed seed,
fixed end time, fixed clock and ids), runs the console headless at 120x40 and
saves each screen with `save_screenshot`. The snapshot tests drive the app with
the same `VISITS`, so the README's pictures and the tested screens are one.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from textual.css.query import NoMatches
from textual.pilot import Pilot

from core.clock import FixedClock, SeededIdFactory

from .app import EventdeckApp
from .bootstrap import open_system
from .cli_seed import seed_store
from .screens.aggregates import AggregatesScreen
from .screens.commands import CommandsScreen
from .screens.dashboard import DashboardScreen
from .screens.dead_letters import DeadLettersScreen
from .screens.live_stream import LiveStreamScreen
from .screens.projections import ProjectionsScreen
from .screens.trace import TraceScreen
from .widgets.command_form import CommandForm
from .widgets.state_panel import StatePanel
from .widgets.virtual_table import VirtualTable

#: The demo history ends here; the console's clock stands still at this moment.
DEMO_END = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
DEMO_SEED = 7
DEMO_DB = "demo.db"
SIZE = (120, 40)

Visit = Callable[[Pilot[None]], Awaitable[None]]


async def build_demo_store(folder: Path) -> Path:
    """Seed `folder/demo.db` as `eventdeck seed` does (the fulfilment saga reacting),
    small and fully deterministic: fixed seed, end time, clock and ids; then catch
    every projection up, as `eventdeck catch-up` does (the poison streams leave
    dead letters to look at)."""
    path = folder / DEMO_DB
    await seed_store(
        str(path),
        read_only=False,
        orders=60,
        accounts=12,
        days=14,
        seed=DEMO_SEED,
        end=DEMO_END,
    )
    system = await open_system(
        str(path), clock=FixedClock(DEMO_END), ids=SeededIdFactory(DEMO_SEED + 2)
    )
    try:
        await system.projections.catch_up()
    finally:
        await system.close()
    return path


def demo_app(db: str = DEMO_DB, *, read_only: bool = False) -> EventdeckApp:
    """The console on the demo store with a still clock, seeded ids, no blinking."""
    app = EventdeckApp(
        db,
        read_only=read_only,
        user="operator",
        clock=FixedClock(DEMO_END),
        ids=SeededIdFactory(DEMO_SEED + 1),
        poll_seconds=0.1,
        cursor_blink=False,
    )
    app.animation_level = "none"
    return app


async def wait_until(
    pilot: Pilot[None], ready: Callable[[], bool], what: str, timeout: float = 10.0
) -> None:
    """Let the app run until `ready()` holds (or fail saying what never happened)."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(NoMatches):  # the screen may still be composing
            if ready():
                break
        if time.monotonic() > deadline:
            raise TimeoutError(f"the console never showed {what}")
        await pilot.pause(0.02)
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def open_console(pilot: Pilot[None]) -> EventdeckApp:
    app = pilot.app
    assert isinstance(app, EventdeckApp)
    await wait_until(pilot, lambda: app.ready and isinstance(app.screen, DashboardScreen), "it")
    return app


async def visit_dashboard(pilot: Pilot[None]) -> None:
    app = await open_console(pilot)
    await wait_until(
        pilot, lambda: app.screen.query_one("#latest", VirtualTable).row_count > 0, "the dashboard"
    )


async def visit_live_stream(pilot: Pilot[None]) -> None:
    app = await open_console(pilot)
    await pilot.press("s")
    await wait_until(
        pilot,
        lambda: (
            isinstance(app.screen, LiveStreamScreen)
            and app.screen.query_one("#tail", VirtualTable).row_count > 0
        ),
        "the live stream",
    )


async def visit_aggregates(pilot: Pilot[None]) -> None:
    """The busiest order, at version 2, with the cursor on its status (blame)."""
    app = await open_console(pilot)
    orders = await app.system.store.list_streams(stream_type="Order")
    busiest = max(orders, key=lambda info: (info.version, [-ord(c) for c in info.stream_id]))
    app.open_stream(busiest.stream_id, version=2)

    def shown() -> bool:
        screen = app.screen
        if not isinstance(screen, AggregatesScreen):
            return False
        view = screen.query_one(StatePanel).view
        return view is not None and view.version == 2

    await wait_until(pilot, shown, "the aggregate at version 2")
    panel = app.screen.query_one(StatePanel)
    if "status" in panel.view.state:  # type: ignore[union-attr]
        panel.table.move_cursor(row=panel.table.get_row_index("status"))
    await pilot.pause()


async def visit_commands(pilot: Pilot[None]) -> None:
    """place-order half filled, one item line wrong: the inline error shows."""
    app = await open_console(pilot)
    await pilot.press("c")
    await wait_until(pilot, lambda: isinstance(app.screen, CommandsScreen), "the commands screen")
    form = app.screen.query_one(CommandForm)
    form.fill({"customer_id": "cust-0042", "items": "WIDGET-1:2:9.99\nGADGET-S:two:39.00"})
    await wait_until(pilot, lambda: "items" in form.errors, "the inline error")


async def visit_dead_letters(pilot: Pilot[None]) -> None:
    """The demo's poison events: order-summary's first one in detail, traceback included."""
    app = await open_console(pilot)
    await pilot.press("l")

    def listed() -> bool:
        screen = app.screen
        return isinstance(screen, DeadLettersScreen) and screen.table.row_count > 0

    await wait_until(pilot, listed, "the dead letters")
    screen = app.screen
    assert isinstance(screen, DeadLettersScreen)
    first = next(d for d in screen.letters if d.projection == "order-summary")
    screen.table.move_to_key(first.id)

    def detailed() -> bool:
        detail = screen.shown
        return detail is not None and detail.dead_letter.id == first.id

    await wait_until(pilot, detailed, "its detail")


async def visit_projections(pilot: Pilot[None]) -> None:
    """A minute after the catch-up (no worker running, so no rate measured lately):
    the status of every projection, and order-summary's rows."""
    app = await open_console(pilot)
    clock = app.system.clock
    if isinstance(clock, FixedClock):
        clock.advance(timedelta(minutes=1))
    await pilot.press("p")
    await wait_until(
        pilot,
        lambda: isinstance(app.screen, ProjectionsScreen) and app.screen.table.row_count > 0,
        "the projections",
    )
    screen = app.screen
    assert isinstance(screen, ProjectionsScreen)
    screen.table.move_to_key("order-summary")
    await pilot.press("enter")
    await wait_until(pilot, lambda: screen.rows.table.row_count > 0, "order-summary's rows")


async def visit_trace(pilot: Pilot[None]) -> None:
    """An order the fulfilment saga approved: the whole tree, its OrderPlaced in detail."""
    app = await open_console(pilot)
    approved = [e async for e in app.system.store.read_all(types=["OrderApproved"])]
    by_saga = next(e for e in approved if e.metadata.user_id == "SYSTEM")
    app.open_trace(by_saga.metadata.correlation_id or by_saga.event_id)

    def shown() -> bool:
        screen = app.screen
        return isinstance(screen, TraceScreen) and screen.trace is not None

    await wait_until(pilot, shown, "the trace")
    await pilot.press("down")  # onto the OrderPlaced: its data in the detail pane

    def detailed() -> bool:
        screen = app.screen
        return isinstance(screen, TraceScreen) and getattr(screen.chosen, "kind", "") == "event"

    await wait_until(pilot, detailed, "the event's detail")


async def visit_help(pilot: Pilot[None]) -> None:
    await visit_dashboard(pilot)
    await pilot.press("question_mark")
    await pilot.pause()


async def visit_palette(pilot: Pilot[None]) -> None:
    await visit_dashboard(pilot)
    await pilot.press("ctrl+p")
    await pilot.pause()
    await pilot.press(*"ord-")
    await pilot.pause(0.5)
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


#: Each picture: its file name (without .svg) and how to get there.
VISITS: dict[str, Visit] = {
    "dashboard": visit_dashboard,
    "live-stream": visit_live_stream,
    "aggregates": visit_aggregates,
    "commands": visit_commands,
    "dead-letters": visit_dead_letters,
    "projections": visit_projections,
    "trace": visit_trace,
    "help": visit_help,
    "palette": visit_palette,
}


async def take_screenshots(out: Path) -> list[Path]:
    """Write one SVG per entry of `VISITS` into `out`; returns the files written."""
    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with tempfile.TemporaryDirectory() as tmp, contextlib.chdir(tmp):
        await build_demo_store(Path(tmp))
        for name, visit in VISITS.items():
            app = demo_app()
            async with app.run_test(size=SIZE) as pilot:
                await visit(pilot)
                path = Path(app.save_screenshot(f"{name}.svg", str(out)))
            stable_ids(path, name)
            written.append(path)
    return written


def stable_ids(path: Path, name: str) -> None:
    """Replace Rich's random per-export id, so regenerating changes no unchanged picture."""
    text = re.sub(r"\bterminal-\d+-", f"terminal-{name}-", path.read_text(encoding="utf-8"))
    path.write_text(text, encoding="utf-8")


def main(out: str = "screenshots") -> None:
    for path in asyncio.run(take_screenshots(Path(out))):
        print(path)
