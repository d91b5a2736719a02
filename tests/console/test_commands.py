"""Commands from the console: forms, inline validation, confirmation, results, read-only."""

from __future__ import annotations

from textual.pilot import Pilot
from textual.widgets import Static

from console.app import EventdeckApp
from console.screens.aggregates import AggregatesScreen
from console.screens.commands import CommandsScreen
from console.screens.live_stream import LiveStreamScreen
from console.screens.modals import ConfirmModal
from console.widgets.command_form import CommandForm
from console.widgets.state_panel import StatePanel
from console.widgets.virtual_table import VirtualTable
from core.domain import COMMANDS
from core.domain.commands import PlaceOrder

from .helpers import messages, running, screen_text, static_text, wait_until


async def open_form(app: EventdeckApp, pilot: Pilot[None], name: str) -> CommandForm:
    await pilot.press("c")
    await wait_until(pilot, lambda: isinstance(app.screen, CommandsScreen), "commands")
    screen = app.screen
    assert isinstance(screen, CommandsScreen)
    await screen.choose(name)
    await pilot.pause()
    return screen.form


def result_text(app: EventdeckApp) -> str:
    return static_text(app.screen.query_one("#cmd-result", Static))


async def test_a_command_appears_in_the_live_stream_and_its_timeline(demo_db: str) -> None:
    async with running(demo_db) as (app, pilot):
        account = (await app.system.store.list_streams(stream_type="Account", limit=1))[0]
        head = await app.system.store.head_position()
        await pilot.press("s")  # the live stream is open (and tailing) before the command
        await wait_until(pilot, lambda: isinstance(app.screen, LiveStreamScreen), "the tail")
        form = await open_form(app, pilot, "deposit")
        form.fill({"account_id": account.stream_id, "amount": "12.50"})
        await pilot.pause()
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal), "the confirmation")
        assert "12.50" in screen_text(app) and "operator" in screen_text(app)
        await pilot.press("y")
        await wait_until(pilot, lambda: "✔ deposit" in result_text(app), "the result")
        assert f"is now at version {account.version + 1}" in result_text(app)
        events = app.screen.query_one("#cmd-events", VirtualTable)
        assert events.row_keys() == [head + 1]

        await pilot.press("s")
        live = app.screen
        assert isinstance(live, LiveStreamScreen)
        tail = live.query_one("#tail", VirtualTable)
        await wait_until(pilot, lambda: tail.row_keys()[-1] == head + 1, "the event live")
        event = live._by_position[head + 1]
        assert (event.type, event.stream_id, event.metadata.user_id) == (
            "MoneyDeposited",
            account.stream_id,
            "operator",
        )

        await pilot.press("enter")
        await wait_until(
            pilot,
            lambda: (
                isinstance(app.screen, AggregatesScreen)
                and app.screen.query_one(StatePanel).view is not None
                and app.screen.query_one(StatePanel).view.version == account.version + 1
            ),  # type: ignore[union-attr]
            "the new version in the timeline",
        )
        timeline = app.screen.query_one("#agg-timeline", VirtualTable)
        last = timeline.row(account.version + 1)
        assert last is not None and "MoneyDeposited" in str(last.cells[3])
        assert str(last.cells[4]) == "operator"


async def test_validation_is_shown_under_the_field_as_you_type(demo_db: str) -> None:
    async with running(demo_db) as (app, pilot):
        form = await open_form(app, pilot, "deposit")
        form.fill({"account_id": "acc-1", "amount": "12.345"})
        await pilot.pause()
        error = static_text(form.query_one("#field-amount-error", Static))
        assert "amount must have at most 2 decimal places" in error
        assert static_text(form.query_one("#field-account-id-error", Static)).strip() == ""
        form.fill({"amount": "12.34"})
        await pilot.pause()
        assert form.errors == {}
        assert "ready to issue" in screen_text(app)


async def test_item_lines_are_checked_line_by_line(demo_db: str) -> None:
    async with running(demo_db) as (app, pilot):
        form = await open_form(app, pilot, "place-order")
        form.fill({"customer_id": "cust-1", "items": "WIDGET-1:2:9.99\nGADGET:x:1.00"})
        await pilot.pause()
        assert form.errors["items"].startswith("line 2: bad item 'GADGET:x:1.00'")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmModal)
        assert any("Fix the fields" in message for message in messages(app))


async def test_a_rejected_command_says_why_and_writes_nothing(demo_db: str) -> None:
    async with running(demo_db) as (app, pilot):
        # a new order: PENDING, since no saga runs here
        placed = await app.system.bus.dispatch(
            PlaceOrder(customer_id="cust-1", items=["WIDGET-1:1:9.99"]), user_id="tester"
        )
        pending = await app.system.store.stream_info(placed.stream_id)
        assert pending is not None
        head = await app.system.store.head_position()
        form = await open_form(app, pilot, "ship-order")
        form.fill({"order_id": pending.stream_id, "tracking_number": "T1", "carrier": "UPS"})
        await pilot.pause()
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal), "the confirmation")
        await pilot.press("y")
        await wait_until(pilot, lambda: "refused" in result_text(app), "the rejection")
        assert "InvalidTransition" in result_text(app)
        assert await app.system.store.head_position() == head


async def test_cancelling_the_confirmation_writes_nothing(demo_db: str) -> None:
    async with running(demo_db) as (app, pilot):
        head = await app.system.store.head_position()
        form = await open_form(app, pilot, "open-account")
        form.fill({"owner": "Nobody"})
        await pilot.pause()
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal), "the confirmation")
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, CommandsScreen)
        assert await app.system.store.head_position() == head
        assert result_text(app).strip() == ""


async def test_read_only_shows_a_banner_and_refuses_every_write(demo_db: str) -> None:
    async with running(demo_db, read_only=True) as (app, pilot):
        assert "READ-ONLY" in screen_text(app)
        head = await app.system.store.head_position()
        form = await open_form(app, pilot, "open-account")
        assert "READ-ONLY" in screen_text(app)
        form.fill({"owner": "Not Allowed"})
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmModal)
        await pilot.click("#cmd-issue")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmModal)
        refusals = [m for m in messages(app) if "cannot issue a command" in m]
        assert len(refusals) == 2 and "--read-only" in refusals[0]
        # the palette's write action goes through the same gate
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Commands: Issue")
        await wait_until(pilot, lambda: "Commands: Issue" in screen_text(app), "the action")
        await pilot.press("enter")
        await wait_until(
            pilot, lambda: len([m for m in messages(app) if "cannot issue" in m]) == 3, "refusal"
        )
        assert await app.system.store.head_position() == head


async def test_typing_a_command_from_the_keyboard(demo_db: str) -> None:
    """Down to `open-account`, Enter to its form, type, ctrl+s, y: the account exists."""
    async with running(demo_db) as (app, pilot):
        await pilot.press("c")
        await wait_until(pilot, lambda: isinstance(app.screen, CommandsScreen), "commands")
        names = list(COMMANDS)
        await pilot.press(*["down"] * names.index("open-account"))
        await wait_until(
            pilot,
            lambda: app.screen.command_type is COMMANDS["open-account"],  # type: ignore[attr-defined]
            "the open-account form",
        )
        await pilot.press("enter")
        await pilot.pause()
        assert app.focused is not None and app.focused.id == "field-owner"
        await pilot.press(*"Ada Lovelace", "tab", *"acc-ada", "ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal), "the confirmation")
        await pilot.press("y")
        await wait_until(pilot, lambda: "✔ open-account" in result_text(app), "the result")
        state = await app.system.time_travel.state("acc-ada")
        assert state.state["owner"] == "Ada Lovelace"
