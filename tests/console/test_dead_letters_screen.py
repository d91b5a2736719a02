"""The dead-letter screen: the list and its filters, the detail, retry, skip, bulk,
read-only refusal. The demo store's poison streams left three open dead letters:
two of order-summary (OrderShipped of an order never placed) and one of
account-balances, each with one event parked behind it."""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Select

from console.app import EventdeckApp
from console.screens import dead_letters as dead_letters_screen
from console.screens.dead_letters import DeadLettersScreen
from console.screens.modals import ConfirmModal, PromptModal
from console.widgets.dead_letter_detail import PROJECT_ROOT, DeadLetterDetailPane
from console.widgets.virtual_table import VirtualTable
from core.dead_letters import DeadLetter, DeadLetterStatus
from core.domain.projections.order_summary import OrderSummaryProjection
from core.events import RecordedEvent

from .helpers import messages, running, screen_text, wait_until

ORDERS = "order-summary"
ACCOUNTS = "account-balances"


async def open_dead_letters(app: EventdeckApp, pilot: Pilot[None]) -> DeadLettersScreen:
    await pilot.press("l")

    def ready() -> bool:
        screen = app.screen
        return (
            isinstance(screen, DeadLettersScreen)
            and screen.table.row_count > 0
            and screen.query_one(DeadLetterDetailPane).detail is not None
        )

    await wait_until(pilot, ready, "the dead letters and a detail")
    assert isinstance(app.screen, DeadLettersScreen)
    return app.screen


async def letters(app: EventdeckApp, **query: Any) -> list[DeadLetter]:
    query.setdefault("status", None)
    return await app.system.projections.dead_letters.list(**query)


async def operator_events(app: EventdeckApp, projection: str) -> list[RecordedEvent]:
    return await app.system.store.read_stream(f"projection-{projection}")


def shown_ids(screen: DeadLettersScreen) -> list[int]:
    return [int(str(key)) for key in screen.table.row_keys()]


async def choose(pilot: Pilot[None], screen: DeadLettersScreen, dead: DeadLetter) -> None:
    """Put the cursor on `dead` and wait for its detail."""
    assert screen.table.move_to_key(dead.id)

    def shown() -> bool:
        detail = screen.query_one(DeadLetterDetailPane).detail
        return detail is not None and detail.dead_letter.id == dead.id

    await wait_until(pilot, shown, f"the detail of dead letter {dead.id}")


async def said(pilot: Pilot[None], app: EventdeckApp, fragment: str) -> str:
    """Wait for a notification containing `fragment`; return it."""
    try:
        await wait_until(pilot, lambda: any(fragment in m for m in messages(app)), repr(fragment))
    except TimeoutError as exc:
        raise AssertionError(f"{exc}; it said {messages(app)}") from None
    return next(m for m in messages(app) if fragment in m)


@pytest.fixture
def fixed_orders(monkeypatch: pytest.MonkeyPatch) -> None:
    """The cause fixed: order-summary creates the row of an order it never saw placed."""

    async def existing(view: Any, order_id: str) -> dict[str, Any]:
        return await view.get(order_id) or {"order_id": order_id, "status": "IMPORTED"}

    monkeypatch.setattr(OrderSummaryProjection, "_existing", staticmethod(existing))


async def test_the_list_shows_the_stores_dead_letters_and_the_detail_the_traceback(
    demo_db: str,
) -> None:
    async with running(demo_db) as (app, pilot):
        stored = await letters(app, status=DeadLetterStatus.OPEN)
        assert {d.projection for d in stored} == {ORDERS, ACCOUNTS}
        screen = await open_dead_letters(app, pilot)

        assert shown_ids(screen) == [d.id for d in stored]
        text = screen_text(app)
        for dead in stored:
            assert dead.stream_id in text and dead.projection in text
        target = next(d for d in stored if d.projection == ORDERS)
        await choose(pilot, screen, target)
        text = screen_text(app)
        assert f"Dead letter {target.id}  {ORDERS}  OPEN  3 attempts" in text
        assert target.error in text
        assert "parked behind it: 1 event" in text
        assert "Traceback (most recent call last):" in text
        # project files shown relative to the project, not where this machine keeps it
        assert 'File "core/domain/projections/order_summary.py"' in text
        assert str(PROJECT_ROOT) not in text
        # the event that failed, with its data and metadata
        assert f"position    {target.position}" in text
        assert "legacy-importer" in text and "tracking_number" in text
        assert "3 open (account-balances 1  order-summary 2)" in text


async def test_filters_narrow_the_list(demo_db: str) -> None:
    async with running(demo_db) as (app, pilot):
        screen = await open_dead_letters(app, pilot)
        orders = [d.id for d in await letters(app, projection=ORDERS)]
        assert len(orders) == 2 and len(shown_ids(screen)) == 3

        screen.query_one("#dlq-projection", Select).value = ORDERS
        await wait_until(pilot, lambda: shown_ids(screen) == orders, "order-summary only")

        one = (await letters(app, projection=ORDERS))[1]
        await pilot.click("#dlq-stream")
        await pilot.press(*one.stream_id[:12])
        await wait_until(pilot, lambda: shown_ids(screen) == [one.id], "one stream")

        await pilot.press("escape")  # back to the list
        await pilot.press("x")
        await wait_until(pilot, lambda: len(shown_ids(screen)) == 3, "every dead letter again")
        assert screen.query_one("#dlq-stream", Input).value == ""

        await pilot.click("#dlq-text")
        await pilot.press(*"account not found")
        [account] = await letters(app, projection=ACCOUNTS)
        await wait_until(pilot, lambda: shown_ids(screen) == [account.id], "the text match")
        await pilot.press(*"zzz")
        await wait_until(pilot, lambda: shown_ids(screen) == [], "no match")
        assert "No dead letters match the filters." in screen_text(app)


async def test_a_retry_still_broken_stays_with_its_error_and_one_after_the_fix_resolves(
    demo_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running(demo_db) as (app, pilot):
        screen = await open_dead_letters(app, pilot)
        target = (await letters(app, projection=ORDERS))[0]
        await choose(pilot, screen, target)

        await pilot.press("t")
        failed = await said(pilot, app, "failed again")
        assert failed.startswith(f"Dead letter {target.id} failed again: ProjectionError")
        [again] = [d for d in await letters(app) if d.id == target.id]
        assert (again.status, again.attempts) == (DeadLetterStatus.OPEN, target.attempts + 1)
        await wait_until(pilot, lambda: "4 attempts" in screen_text(app), "the new attempt")
        assert "failed again: ProjectionError: Order not found" in screen_text(app)
        assert target.id in shown_ids(screen)

        async def existing(view: Any, order_id: str) -> dict[str, Any]:
            return await view.get(order_id) or {"order_id": order_id}

        monkeypatch.setattr(OrderSummaryProjection, "_existing", staticmethod(existing))
        await pilot.press("t")
        await said(pilot, app, f"Dead letter {target.id} retried: applied; 1 parked event released")
        [done] = [d for d in await letters(app) if d.id == target.id]
        assert done.status is DeadLetterStatus.RETRIED
        await wait_until(pilot, lambda: target.id not in shown_ids(screen), "it leaves the list")
        audit = await operator_events(app, ORDERS)
        assert [(e.type, e.data["succeeded"], e.metadata.user_id) for e in audit] == [
            ("DeadLetterRetried", False, "operator"),
            ("DeadLetterRetried", True, "operator"),
        ]
        # shown again with the resolved ones: retried, nothing parked
        await pilot.press("o")
        await wait_until(pilot, lambda: target.id in shown_ids(screen), "the resolved one")


async def test_skip_asks_first_cancel_changes_nothing_and_yes_resolves(demo_db: str) -> None:
    async with running(demo_db) as (app, pilot):
        screen = await open_dead_letters(app, pilot)
        [target] = await letters(app, projection=ACCOUNTS)
        await choose(pilot, screen, target)

        await pilot.press("k")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal), "the question")
        assert "1 event parked behind it will be applied" in screen_text(app)
        await pilot.press("n")
        await said(pilot, app, f"Skip cancelled: dead letter {target.id} is unchanged.")
        assert await letters(app, projection=ACCOUNTS) == [target]
        assert await operator_events(app, ACCOUNTS) == []

        await pilot.press("k")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal), "the question")
        await pilot.press("y")
        # the event parked behind it fails too (no such account): it becomes the new one
        await said(
            pilot,
            app,
            f"Dead letter {target.id} skipped; 0 parked events released. A released event "
            "failed and is now the stream's dead letter: ProjectionError: Account not found",
        )
        skipped, new = await letters(app, projection=ACCOUNTS)
        assert (skipped.id, skipped.status) == (target.id, DeadLetterStatus.SKIPPED)
        assert (new.stream_id, new.status) == (target.stream_id, DeadLetterStatus.OPEN)
        assert new.position > target.position
        [audit] = await operator_events(app, ACCOUNTS)
        assert (audit.type, audit.metadata.user_id) == ("DeadLetterSkipped", "operator")
        assert audit.data["dead_letter_id"] == target.id
        await wait_until(
            pilot, lambda: new.id in shown_ids(screen) and target.id not in shown_ids(screen), "it"
        )


async def bulk(pilot: Pilot[None], app: EventdeckApp, key: str, typed: str) -> str:
    """Press a bulk key, check the count shown, type `typed` and Enter; the prompt's text."""
    await pilot.press(key)
    await wait_until(pilot, lambda: isinstance(app.screen, PromptModal), "the prompt")
    text = screen_text(app)
    await pilot.press(*typed, "enter")
    await wait_until(pilot, lambda: not isinstance(app.screen, PromptModal), "the answer")
    return text


async def test_bulk_retry_asks_for_the_projection_name(demo_db: str, fixed_orders: None) -> None:
    async with running(demo_db) as (app, pilot):
        screen = await open_dead_letters(app, pilot)
        orders = await letters(app, projection=ORDERS)
        await choose(pilot, screen, orders[0])

        asked = await bulk(pilot, app, "T", "order-summar")
        assert "2 entries over 2 streams in projection order-summary" in asked
        assert "2 events parked behind them" in asked
        await said(pilot, app, "Cancelled: you typed 'order-summar', not 'order-summary'")
        assert await letters(app, projection=ORDERS) == orders

        await bulk(pilot, app, "T", ORDERS)
        await said(pilot, app, "Retried 2 dead letters of order-summary: 2 resolved")
        assert {d.status for d in await letters(app, projection=ORDERS)} == {
            DeadLetterStatus.RETRIED
        }
        [account] = await letters(app, projection=ACCOUNTS)
        assert account.status is DeadLetterStatus.OPEN  # another projection: untouched
        audit = await operator_events(app, ORDERS)
        assert [(e.type, e.metadata.user_id) for e in audit] == [
            ("DeadLetterRetried", "operator")
        ] * 2
        await wait_until(pilot, lambda: shown_ids(screen) == [account.id], "only the other one")


async def test_bulk_skip_of_the_filtered_projection(demo_db: str) -> None:
    async with running(demo_db) as (app, pilot):
        screen = await open_dead_letters(app, pilot)
        screen.query_one("#dlq-projection", Select).value = ACCOUNTS
        [account] = await letters(app, projection=ACCOUNTS)
        await wait_until(pilot, lambda: shown_ids(screen) == [account.id], "the filter")
        screen.table.focus()

        await pilot.press("K")
        await wait_until(pilot, lambda: isinstance(app.screen, PromptModal), "the prompt")
        assert "1 entry over 1 stream in projection account-balances" in screen_text(app)
        await pilot.press("escape")
        await said(pilot, app, "Cancelled: you typed no name")
        assert await letters(app, projection=ACCOUNTS) == [account]

        await bulk(pilot, app, "K", ACCOUNTS)
        await said(pilot, app, "Skipped 1 dead letter of account-balances: 1 resolved")
        skipped, new = await letters(app, projection=ACCOUNTS)
        assert (skipped.id, skipped.status) == (account.id, DeadLetterStatus.SKIPPED)
        assert new.status is DeadLetterStatus.OPEN  # its parked event failed in turn
        assert all(d.status is DeadLetterStatus.OPEN for d in await letters(app, projection=ORDERS))
        [audit] = await operator_events(app, ACCOUNTS)
        assert (audit.type, audit.metadata.user_id) == ("DeadLetterSkipped", "operator")


async def test_read_only_refuses_every_write_and_changes_nothing(demo_db: str) -> None:
    async with running(demo_db, read_only=True) as (app, pilot):
        before = await letters(app)
        head = await app.system.store.head_position()
        screen = await open_dead_letters(app, pilot)
        await choose(pilot, screen, before[1])

        for key, what in (
            ("t", "retry dead letters"),
            ("k", "skip dead letters"),
            ("T", "retry dead letters"),
            ("K", "skip dead letters"),
        ):
            count = len(messages(app))
            await pilot.press(key)
            await wait_until(
                pilot, lambda count=count: len(messages(app)) > count, f"the refusal of {key}"
            )
            assert messages(app)[-1] == (
                f"cannot {what}: eventdeck was started with --read-only"
            ), key
            assert isinstance(app.screen, DeadLettersScreen), "no question asked"
        assert await letters(app) == before
        assert await app.system.store.head_position() == head


async def test_retry_refuses_a_resolved_dead_letter(demo_db: str) -> None:
    async with running(demo_db) as (app, pilot):
        [account] = await letters(app, projection=ACCOUNTS)
        await app.system.projections.dead_letters.skip(account.id, user="someone-else")
        screen = await open_dead_letters(app, pilot)
        await pilot.press("o")
        await wait_until(pilot, lambda: account.id in shown_ids(screen), "the resolved one")
        await choose(pilot, screen, (await letters(app, projection=ACCOUNTS))[0])
        await pilot.press("t")
        await said(pilot, app, f"Dead letter {account.id} is already skipped; nothing to do.")
        assert len(await operator_events(app, ACCOUNTS)) == 1
        assert isinstance(screen.table, VirtualTable)


async def test_the_list_is_read_a_page_at_a_time(
    demo_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dead_letters_screen, "PAGE", 2)
    async with running(demo_db) as (app, pilot):
        ids = [d.id for d in await letters(app, status=DeadLetterStatus.OPEN)]
        screen = await open_dead_letters(app, pilot)
        assert shown_ids(screen) == ids[:2]
        assert "showing 1-2 of 3, open only   [ ] pages" in screen_text(app)
        await pilot.press("right_square_bracket")
        await wait_until(pilot, lambda: shown_ids(screen) == ids[2:], "the second page")
        assert "showing 3-3 of 3" in screen_text(app)
        await pilot.press("right_square_bracket")  # no third page: stays
        await pilot.press("left_square_bracket")
        await wait_until(pilot, lambda: shown_ids(screen) == ids[:2], "the first page again")
