"""Projections: live status and lag, rebuild with progress, pause and resume, read-only
refusal, and the read model's rows."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from datetime import timedelta

from textual.pilot import Pilot
from textual.widgets import ProgressBar, Static

from console.app import EventdeckApp
from console.screens.modals import ConfirmModal
from console.screens.projections import PAGE, ProjectionsScreen
from core.checkpoints import Checkpoint, ProjectionStatus
from core.domain.commands import OpenAccount
from core.operator_events import operator_stream
from core.projection_store import BatchCommit

from .helpers import messages, running, screen_text, static_text, wait_until


async def open_projections(
    app: EventdeckApp, pilot: Pilot[None], select: str | None = None
) -> ProjectionsScreen:
    await pilot.press("p")
    count = len(app.system.projections.processors)
    await wait_until(
        pilot,
        lambda: isinstance(app.screen, ProjectionsScreen) and app.screen.table.row_count == count,
        "the projections",
    )
    screen = app.screen
    assert isinstance(screen, ProjectionsScreen)
    if select is not None:
        assert screen.table.move_to_key(select)
        await pilot.pause()
    return screen


def cell(screen: ProjectionsScreen, name: str, column: str) -> str:
    """The text of one cell of the status table."""
    row = screen.table.row(name)
    assert row is not None, name
    titles = [col.title for col in screen.table.columns]
    return str(row.cells[titles.index(column)])


async def operator_events(app: EventdeckApp, name: str) -> list[tuple[str, str | None]]:
    events = await app.system.store.read_stream(operator_stream(name))
    return [(event.type, event.metadata.user_id) for event in events]


async def test_status_shows_every_projection_caught_up_with_its_dead_letters(
    demo_db: str,
) -> None:
    async with running(demo_db) as (app, pilot):
        screen = await open_projections(app, pilot)
        head = await app.system.store.head_position()
        dead = await app.system.projection_store.dead_letter_counts()
        assert sum(dead.values()) > 0  # the demo's poison streams
        text = screen_text(app)
        for name in app.system.projections.processors:
            assert cell(screen, name, "lag") == "0", name
            assert cell(screen, name, "checkpoint") == f"{head:,}"
            assert cell(screen, name, "dead letters") == str(dead.get(name, 0)), name
            line = next(line for line in text.splitlines() if line.split()[:1] == [name])
            assert line.split()[-1] == str(dead.get(name, 0))
        assert f"{sum(dead.values())} dead letters" in text


async def test_status_follows_the_store_without_a_key_pressed(demo_db: str) -> None:
    async with running(demo_db) as (app, pilot):
        screen = await open_projections(app, pilot)
        head = await app.system.store.head_position()
        await app.system.bus.dispatch(OpenAccount(owner="Tess Tester"), user_id="tess")
        await wait_until(pilot, lambda: cell(screen, "account-balances", "lag") == "1", "lag 1")
        assert cell(screen, "account-balances", "head") == f"{head + 1:,}"
        assert f"head {head + 1:,}" in screen_text(app)


async def test_a_confirmed_rebuild_runs_to_done(demo_db: str) -> None:
    async with running(demo_db) as (app, pilot):
        screen = await open_projections(app, pilot, select="order-summary")
        before = await app.system.projection_store.checkpoint("order-summary")
        assert before is not None and before.generation == 1
        await pilot.press("b")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal), "the confirmation")
        question = screen_text(app)
        assert "Rebuild order-summary?" in question
        assert "generation 1 keeps serving" in question
        await pilot.press("y")
        await wait_until(
            pilot,
            lambda: "order-summary" in screen.rebuilds.bars and not screen.rebuilding,
            "the rebuild's end",
            timeout=30,
        )
        bar = screen.rebuilds.bars["order-summary"]
        assert bar.finished and bar.total is not None and bar.total > 0
        assert bar.query_one(ProgressBar).progress == bar.total
        assert "rebuilt: generation 2" in static_text(bar.query_one(".rebuild-text", Static))

        after = await app.system.projection_store.checkpoint("order-summary")
        assert after is not None and after.generation == 2
        # the only event after the new checkpoint is the audit record of the rebuild
        head = await app.system.store.head_position()
        later = [e async for e in app.system.store.read_all(from_position=after.position + 1)]
        assert [e.type for e in later] == ["ProjectionRebuilt"] and later[0].position == head
        assert later[0].data["position"] == after.position
        audit = await operator_events(app, "order-summary")
        assert audit[-2:] == [
            ("ProjectionRebuildStarted", "operator"),
            ("ProjectionRebuilt", "operator"),
        ]
        shown = messages(app)
        assert any("Rebuilt order-summary" in line for line in shown)
        assert any("order-summary: dead letter at position" in line for line in shown)
        await wait_until(pilot, lambda: "generation 2" in screen_text(app), "the new generation")


async def test_a_cancelled_rebuild_changes_nothing(demo_db: str) -> None:
    async with running(demo_db) as (app, pilot):
        screen = await open_projections(app, pilot, select="order-summary")
        head = await app.system.store.head_position()
        await pilot.press("b")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal), "the confirmation")
        await pilot.press("n")
        await wait_until(pilot, lambda: app.screen is screen, "the projections again")
        await pilot.pause(0.2)
        await app.workers.wait_for_complete()
        assert not screen.rebuilding and not screen.rebuilds.bars
        checkpoint = await app.system.projection_store.checkpoint("order-summary")
        assert checkpoint is not None and checkpoint.generation == 1
        assert await app.system.store.head_position() == head
        assert await operator_events(app, "order-summary") == []


async def test_a_saga_is_not_rebuilt_and_a_rebuild_elsewhere_is_shown(demo_db: str) -> None:
    async with running(demo_db) as (app, pilot):
        screen = await open_projections(app, pilot, select="fulfilment")
        await pilot.press("b")
        await wait_until(pilot, lambda: any("is a saga" in m for m in messages(app)), "refusal")
        assert not isinstance(app.screen, ConfirmModal)
        # another process (the CLI) rebuilds sales-analytics: shown, and not started twice
        now = app.system.clock.now()
        await app.system.projection_store.start_generation(
            "sales-analytics",
            owner="cli-rebuild-1",
            now=now,
            expires_at=now + timedelta(hours=1),
            projection_version=app.system.projections.processors["sales-analytics"].version,
        )
        await wait_until(
            pilot, lambda: "sales-analytics" in screen.rebuilds.bars, "the other rebuild's bar"
        )
        assert cell(screen, "sales-analytics", "status") == "rebuilding"
        assert screen.rebuilds.bars["sales-analytics"].elsewhere
        assert screen.table.move_to_key("sales-analytics")
        await pilot.press("b")
        await wait_until(
            pilot, lambda: any("another process" in m for m in messages(app)), "the refusal"
        )
        assert not isinstance(app.screen, ConfirmModal)


async def test_pause_then_resume(demo_db: str) -> None:
    async with running(demo_db) as (app, pilot):
        screen = await open_projections(app, pilot, select="audit-log")
        assert cell(screen, "audit-log", "status") == "running"
        await pilot.press("space")
        await wait_until(pilot, lambda: cell(screen, "audit-log", "status") == "paused", "paused")
        stored = await app.system.projection_store.checkpoint("audit-log")
        assert stored is not None and stored.status is ProjectionStatus.PAUSED
        assert cell(screen, "order-summary", "status") == "running"
        await pilot.press("space")
        await wait_until(pilot, lambda: cell(screen, "audit-log", "status") == "running", "resumed")
        stored = await app.system.projection_store.checkpoint("audit-log")
        assert stored is not None and stored.status is ProjectionStatus.RUNNING
        assert await operator_events(app, "audit-log") == [
            ("ProjectionPaused", "operator"),
            ("ProjectionResumed", "operator"),
        ]
        assert any(m.startswith("Paused audit-log") for m in messages(app))


async def test_read_only_refuses_rebuild_and_pause(demo_db: str) -> None:
    async with running(demo_db, read_only=True) as (app, pilot):
        screen = await open_projections(app, pilot, select="order-summary")
        head = await app.system.store.head_position()
        await pilot.press("b")
        await wait_until(pilot, lambda: len(messages(app)) == 1, "the refusal")
        assert not isinstance(app.screen, ConfirmModal)
        await pilot.press("space")
        await wait_until(pilot, lambda: len(messages(app)) == 2, "the second refusal")
        assert all("read-only" in m for m in messages(app))
        assert "cannot rebuild a projection" in messages(app)[0]
        await pilot.pause(0.2)
        await app.workers.wait_for_complete()
        checkpoint = await app.system.projection_store.checkpoint("order-summary")
        assert checkpoint is not None
        assert (checkpoint.generation, checkpoint.status) == (1, ProjectionStatus.RUNNING)
        assert await app.system.store.head_position() == head
        assert not screen.rebuilds.bars and cell(screen, "order-summary", "status") == "running"


async def test_browsing_rows_shows_documents_from_the_store(demo_db: str) -> None:
    async with running(demo_db) as (app, pilot):
        screen = await open_projections(app, pilot, select="order-summary")
        await pilot.press("enter")
        rows = screen.rows
        await wait_until(pilot, lambda: rows.table.row_count > 0, "the rows")
        stored = await app.system.projection_store.list_documents("order-summary")
        assert rows.table.row_keys() == [key for key, _ in stored[:PAGE]]
        count = await app.system.projection_store.count_documents("order-summary")
        assert f"order-summary - {count} documents" in screen_text(app)
        first_key, first = stored[0]
        assert rows.table.row(first_key) is not None
        assert f"customer_id={first['customer_id']}" in str(rows.table.row(first_key).cells[1])  # type: ignore[union-attr]
        await pilot.press("down")
        await pilot.pause()
        second_key, second = stored[1]
        panel = static_text(rows.query_one("#document-body", Static))
        assert second_key in panel and str(second["total_amount"]) in panel


async def test_large_read_models_are_read_a_page_at_a_time(demo_db: str) -> None:
    async with running(demo_db) as (app, pilot):
        screen = await open_projections(app, pilot, select="audit-log")
        count = await app.system.projection_store.count_documents("audit-log")
        assert count > 2 * PAGE
        await pilot.press("enter")
        rows = screen.rows
        await wait_until(pilot, lambda: rows.table.row_count == PAGE, "the first page")
        assert f"{PAGE} of {count:,} loaded - more as you scroll" in screen_text(app)
        await pilot.press("end")
        await wait_until(pilot, lambda: rows.table.row_count == 2 * PAGE, "the second page")
        await pilot.pause(0.2)
        assert rows.table.row_count == 2 * PAGE < count  # one page per time the end is reached
        assert rows.table.cursor == PAGE - 1
        stored = await app.system.projection_store.list_documents("audit-log", limit=2 * PAGE)
        assert rows.table.row_keys() == [key for key, _ in stored]


async def test_a_saga_shows_its_states_not_a_read_model(demo_db: str) -> None:
    async with running(demo_db) as (app, pilot):
        screen = await open_projections(app, pilot, select="fulfilment")
        await pilot.press("enter")
        await wait_until(pilot, lambda: screen.rows.table.row_count > 0, "the saga's states")
        assert "fulfilment is a saga: no read model" in screen_text(app)


async def test_the_screen_answers_and_polls_while_a_rebuild_runs(demo_db: str) -> None:
    async with running(demo_db) as (app, pilot):
        screen = await open_projections(app, pilot, select="order-summary")
        rebuilder = app.system.projections.rebuilder
        # small, slowed batches: many progress reports, and seconds to look at the screen
        rebuilder._config = replace(rebuilder._config, batch_size=4)
        store = app.system.projection_store
        commit = store.commit

        async def slow_commit(batch: BatchCommit) -> Checkpoint:
            await asyncio.sleep(0.1)
            return await commit(batch)

        store.commit = slow_commit  # type: ignore[method-assign]
        await pilot.press("b")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal), "the confirmation")
        await pilot.press("y")
        # not wait_until: it waits for every worker, the rebuild's too
        deadline = time.monotonic() + 60
        while not screen.rebuilding and time.monotonic() < deadline:
            await pilot.pause(0.01)
        done: set[int] = set()
        statuses: set[str] = set()
        moved = False
        while screen.rebuilding and time.monotonic() < deadline:
            bar = screen.rebuilds.bars["order-summary"]
            done.add(bar.done)
            statuses.add(cell(screen, "order-summary", "status"))
            if not moved and len(done) > 2:
                await pilot.press("down")  # keys are answered while it runs
                moved = screen.table.cursor_key == "customer-dashboard"
            await pilot.pause(0.05)
        assert not screen.rebuilding, "the rebuild never ended"
        assert moved, (sorted(done), statuses)
        assert "rebuilding" in statuses  # the status kept being polled
        assert len(done) > 3
        bar = screen.rebuilds.bars["order-summary"]
        assert bar.done == bar.total and bar.finished
