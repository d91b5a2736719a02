"""`eventdeck demo` in process: traffic and workers beside the console, stopped on quit."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from decimal import Decimal

from textual.widgets import Static

from console.bootstrap import System
from console.demo_runtime import DemoRuntime, QuietReport
from console.screens.dashboard import DashboardScreen
from console.screens.live_stream import LiveStreamScreen
from console.screenshots import SIZE, open_console
from console.widgets.virtual_table import VirtualTable
from core.domain.commands import Deposit
from core.domain.demo_traffic import TRAFFIC_USER

from .helpers import demo_console, events_card, head_of, messages, static_text, wait_until


async def test_demo_traffic_moves_the_dashboard_and_the_stream_then_stops(demo_db: str) -> None:
    before = await head_of(demo_db)
    runtime = DemoRuntime(rate=8, seed=5)
    app = demo_console(demo_db, runtime)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_console(pilot)
        assert "demo traffic on" in app.sub_title
        # the dashboard shows new events within a few seconds
        # (generous timeouts: CI machines are slow; the two seconds are measured by hand)
        await wait_until(pilot, lambda: events_card(app) > before + 5, "new events", timeout=20)
        system = app.system
        ours = [e async for e in system.store.read_all(from_position=before + 1)]
        assert any(e.metadata.user_id == TRAFFIC_USER for e in ours)
        assert any(e.metadata.user_id == "SYSTEM" for e in ours)  # the saga reacts live

        # the live stream follows them
        await pilot.press("s")
        await wait_until(pilot, lambda: isinstance(app.screen, LiveStreamScreen), "the stream")
        tail = app.screen.query_one("#tail", VirtualTable)
        seen = await system.store.head_position()
        await wait_until(
            pilot,
            lambda: any(isinstance(k, int) and k > seen for k in tail.row_keys()),
            "events arriving in the live stream",
            timeout=20,
        )

        # the workers keep every projection up with the traffic
        mark = await system.store.head_position()

        async def all_past_mark() -> bool:
            return all(s.checkpoint >= mark for s in await system.projections.status())

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not await all_past_mark():
            await pilot.pause(0.1)
        assert await all_past_mark()
        assert runtime.sent > 0
        task = app._background_task
        assert task is not None and not task.done()
        await pilot.press("q")
    assert task.done() and not task.cancelled()  # stopped by its event, not cancelled
    after = await head_of(demo_db)
    await asyncio.sleep(0.6)
    assert await head_of(demo_db) == after  # nothing writes once the console is gone


async def test_workers_bring_the_lag_back_to_zero(demo_db: str) -> None:
    """Without traffic, the workers alone catch up with what someone else writes."""
    app = demo_console(demo_db, DemoRuntime(traffic=False))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_console(pilot)
        assert "projection workers on" in app.sub_title
        system = app.system
        accounts = await system.store.list_streams(stream_type="Account", limit=1)
        await system.bus.dispatch(
            Deposit(account_id=accounts[0].stream_id, amount=Decimal("12.50")), user_id="tester"
        )
        head = await system.store.head_position()

        def caught_up() -> bool:
            screen = app.screen
            if not isinstance(screen, DashboardScreen):
                return False
            stats = screen._saga  # read with the same figures as the lag table
            table = static_text(screen.query_one("#lag", Static))
            rows = [line.split() for line in table.splitlines()[1:] if line.strip()]
            return stats.position >= head and all(
                row[row.index("running") + 1] == "0" for row in rows
            )

        await wait_until(pilot, caught_up, "every projection caught up", timeout=10)
        states = await system.projections.status()
        assert all(s.checkpoint >= head for s in states)


async def test_read_only_demo_runs_nothing_and_says_so(demo_db: str) -> None:
    before = await head_of(demo_db)
    runtime = DemoRuntime(rate=50)
    app = demo_console(demo_db, runtime, read_only=True)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_console(pilot)
        await pilot.pause(1.0)
        assert app._background_task is None
        assert any("no demo traffic" in message for message in messages(app))
        assert "demo traffic on" not in app.sub_title
    assert runtime.sent == 0
    assert await head_of(demo_db) == before


class Failing:
    """A background that reports a problem, then fails outright."""

    label = "failing"

    async def __call__(
        self, system: System, stop: asyncio.Event, report: Callable[[str], None]
    ) -> None:
        report("the first problem")
        raise RuntimeError("the background broke")


async def test_a_failing_background_is_reported_and_the_console_carries_on(demo_db: str) -> None:
    app = demo_console(demo_db, Failing())
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_console(pilot)
        await wait_until(pilot, lambda: len(messages(app)) >= 2, "the reports")
        assert "the first problem" in messages(app)[0]
        assert "the background broke" in messages(app)[1]
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, LiveStreamScreen)


def test_quiet_report_holds_back_repeats_from_one_source() -> None:
    said: list[str] = []
    report = QuietReport(said.append, quiet=60)
    report("traffic", "one")
    report("traffic", "two")
    report("order-summary", "three")
    assert said == ["one", "three"]
