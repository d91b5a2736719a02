"""`eventdeck demo` on an empty store: the console is up while the demo history is seeded,
and the traffic and workers start only once it is there (DemoRuntime's `prepare`)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from console.bootstrap import open_system
from console.cli_seed import seed_store
from console.demo_runtime import DemoRuntime
from console.screens.dashboard import DashboardScreen
from console.screenshots import SIZE, open_console
from core.domain.demo_traffic import TRAFFIC_USER
from core.errors import StoreError

from .helpers import demo_console, events_card, head_of, messages, wait_until


async def test_the_console_shows_the_store_filling_up_and_traffic_starts_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    db = "empty.db"
    seeded: dict[str, int] = {}

    async def prepare() -> None:
        summary = await seed_store(
            db, read_only=False, orders=20, accounts=5, days=5, seed=3, end=None, label=None
        )
        seeded["events"] = summary.events
        seeded["head"] = await head_of(db)

    runtime = DemoRuntime(rate=20, seed=3, prepare=prepare)
    app = demo_console(db, runtime)
    shown: list[int] = []
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_console(pilot)

        def seed_done() -> bool:
            if isinstance(app.screen, DashboardScreen):
                shown.append(events_card(app))
            return "head" in seeded

        await wait_until(pilot, seed_done, "the seed", timeout=60)
        head = seeded["head"]
        assert head >= seeded["events"] > 0
        assert min(shown) < seeded["events"]  # the console showed the store before it was full
        await wait_until(pilot, lambda: runtime.sent > 0, "demo traffic", timeout=30)
        await pilot.press("q")
    reader = await open_system(db)
    try:
        events = [e async for e in reader.store.read_all()]
    finally:
        await reader.close()
    users_before = {e.metadata.user_id for e in events if e.position <= head}
    users_after = {e.metadata.user_id for e in events if e.position > head}
    assert TRAFFIC_USER not in users_before  # no traffic mixed into the history
    assert TRAFFIC_USER in users_after


async def test_a_seed_that_fails_starts_no_traffic_and_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    async def prepare() -> None:
        raise StoreError("the disk is full")

    runtime = DemoRuntime(rate=50, prepare=prepare)
    app = demo_console("failing.db", runtime)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_console(pilot)
        await wait_until(
            pilot, lambda: any("the disk is full" in m for m in messages(app)), "the report"
        )
        await pilot.pause(0.5)
    assert runtime.sent == 0
    assert await head_of("failing.db") == 0


async def test_quitting_while_seeding_lets_the_seed_finish_and_starts_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    started = asyncio.Event()
    finished: list[bool] = []

    async def prepare() -> None:
        started.set()
        await asyncio.sleep(0.5)  # a seed half-way when the operator quits
        finished.append(True)

    runtime = DemoRuntime(rate=50, prepare=prepare)
    app = demo_console("quit.db", runtime)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_console(pilot)
        await wait_until(pilot, started.is_set, "the seed to start")
        await pilot.press("q")
    assert finished == [True]  # not cancelled: a seed cut short leaves half a history
    assert runtime.sent == 0
    assert await head_of("quit.db") == 0
