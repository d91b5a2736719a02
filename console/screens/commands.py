"""Commands: pick a command, fill its form (checked as you type), confirm, issue.

Issuing goes through the command bus like `eventdeck cmd`; the result shows the
events written, or the rejection (rule broken, stream missing, bad input) in one
clear line. Refused in read-only mode, before and at dispatch.
"""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, ContentSwitcher, OptionList, Static
from textual.widgets.option_list import Option

from core.commands import Command, CommandResult
from core.domain import COMMANDS
from core.errors import EventdeckError

from ..actions import REGISTRY, action
from ..widgets.command_form import CommandForm
from ..widgets.formatting import event_cells, event_columns, show_value
from ..widgets.virtual_table import Row, VirtualTable
from .base import ConsoleScreen
from .modals import ConfirmModal

SCOPE = "commands"
ISSUE = action(
    SCOPE,
    "ctrl+s",
    "issue",
    "Issue",
    "Check the form, confirm, then issue the command",
    writes="issue a command",
)


class CommandsScreen(ConsoleScreen):
    """The command list on the left, the chosen command's form and result on the right."""

    SCOPE = SCOPE
    BINDINGS: ClassVar[list[BindingType]] = REGISTRY.register(
        SCOPE,
        "Commands",
        [
            ISSUE,
            action(SCOPE, "ctrl+r", "reset", "Clear form", "Empty the form and the result"),
        ],
    )

    class Issued(Message):
        """The bus ran the command and wrote its events."""

        def __init__(self, command: Command, result: CommandResult) -> None:
            super().__init__()
            self.command = command
            self.result = result

    class Rejected(Message):
        """The command was refused; nothing was written."""

        def __init__(self, command: Command, error: EventdeckError) -> None:
            super().__init__()
            self.command = command
            self.error = error

    def __init__(self) -> None:
        super().__init__()
        self.command_type: type[Command] = next(iter(COMMANDS.values()))
        self._last_stream: str | None = None
        self._forms: set[str] = {self.command_type.command_name}

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="cmd-body"):
            yield OptionList(
                *[
                    Option(Text.assemble((name, "bold"), "\n", (_summary(cls), "dim")), id=name)
                    for name, cls in COMMANDS.items()
                ],
                id="cmd-list",
            )
            with Vertical(id="cmd-main"):
                yield Static("", id="cmd-title")
                first = self.command_type.command_name
                with ContentSwitcher(initial=_form_id(first), id="cmd-forms"):
                    yield CommandForm(self.command_type, id=_form_id(first))
                with Horizontal(id="cmd-actions"):
                    yield Button("Issue (ctrl+s)", variant="primary", id="cmd-issue")
                    yield Static("", id="cmd-valid")
                yield Static("", id="cmd-result")
                yield VirtualTable(event_columns(), id="cmd-events")

    def on_mount(self) -> None:
        self._show_title()
        self.query_one("#cmd-events", VirtualTable).display = False
        self.query_one("#cmd-list", OptionList).focus()

    def focus_main(self) -> None:
        self.query_one("#cmd-list", OptionList).focus()

    @property
    def form(self) -> CommandForm:
        """The form of the chosen command."""
        return self.query_one(f"#{_form_id(self.command_type.command_name)}", CommandForm)

    def _show_title(self) -> None:
        doc = _summary(self.command_type)
        self.query_one("#cmd-title", Static).update(
            Text.assemble((self.command_type.command_name, "bold"), "  ", doc, "   ")
            + Text("* required", style="dim")
        )

    async def choose(self, name: str) -> None:
        """Show the form of command `name` (as listed in `COMMANDS`); each form is built
        once and keeps what was typed in it."""
        self.command_type = COMMANDS[name]
        switcher = self.query_one("#cmd-forms", ContentSwitcher)
        if name not in self._forms:
            self._forms.add(name)  # before awaiting: a second highlight must not mount it again
            await switcher.mount(CommandForm(COMMANDS[name], id=_form_id(name)))
        if self.command_type.command_name != name:
            return  # the operator moved on while the form was being built
        switcher.current = _form_id(name)
        self._show_title()
        self._clear_result()
        self.query_one("#cmd-valid", Static).update("")

    @on(OptionList.OptionHighlighted, "#cmd-list")
    async def _command_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option_index != event.option_list.highlighted:
            return  # the cursor already moved on; a newer message follows
        name = event.option.id
        if name and name != self.command_type.command_name:
            await self.choose(name)

    @on(OptionList.OptionSelected, "#cmd-list")
    def _command_selected(self) -> None:
        self.form.focus_first()

    @on(CommandForm.Validated)
    def _validated(self, message: CommandForm.Validated) -> None:
        line = self.query_one("#cmd-valid", Static)
        count = len(message.errors)
        line.update(
            "[green]ready to issue[/]" if not count else f"[yellow]{count} field(s) to fix[/]"
        )

    @on(Button.Pressed, "#cmd-issue")
    async def _issue_pressed(self) -> None:
        await self.run_action(ISSUE.run)

    # -- issuing ------------------------------------------------------------------

    def action_issue(self) -> None:
        form = self.form
        if form.validate_all():
            self.notify("Fix the fields marked in red first.", severity="warning")
            return
        try:
            command = form.build()
        except EventdeckError as exc:
            self._show_rejection(str(exc))
            return
        summary = Table.grid(padding=(0, 2))
        summary.add_column(style="bold")
        summary.add_column()
        # Text, not str: a typed value is never read as markup ("[/]" would crash Rich)
        for name, value in command.model_dump(mode="json", exclude_none=True).items():
            summary.add_row(name, Text(show_value(value)))
        summary.add_row("as user", Text(self.console.user))

        def confirmed(ok: bool | None) -> None:
            if ok:
                self.dispatch(command)

        self.app.push_screen(
            ConfirmModal(f"Issue {command.command_name}?", summary, "Issue"), confirmed
        )

    @work(exclusive=True, group="command", exit_on_error=False)
    async def dispatch(self, command: Command) -> None:
        try:
            self.system.require_writable("issue a command")
            # shielded: a confirmed command completes even if the screen goes away
            result = await self.console.io(
                self.system.bus.dispatch(command, user_id=self.console.user)
            )
        except EventdeckError as exc:
            self.post_message(self.Rejected(command, exc))
            return
        self.post_message(self.Issued(command, result))

    @on(Issued)
    def _show_issued(self, message: Issued) -> None:
        result = message.result
        count = len(result.events)
        self.query_one("#cmd-result", Static).update(
            Text.assemble(
                (f"✔ {message.command.command_name}", "bold green"),
                f": {result.stream_type} ",
                (result.stream_id, "bold"),  # a typed id: never markup
                f" is now at version {result.version} - "
                f"{count} event{'s' if count != 1 else ''} written (enter opens the stream)",
            )
        )
        table = self.query_one("#cmd-events", VirtualTable)
        table.display = True
        table.set_rows([Row(event.position, event_cells(event)) for event in result.events])
        self._last_stream = result.stream_id

    @on(Rejected)
    def _show_rejected(self, message: Rejected) -> None:
        error = message.error
        self._show_rejection(f"{type(error).__name__}: {error}")

    def _show_rejection(self, text: str) -> None:
        self.query_one("#cmd-result", Static).update(
            Text.assemble(("✘ refused, nothing was written: ", "bold red"), text)
        )
        self.query_one("#cmd-events", VirtualTable).display = False

    @on(VirtualTable.Selected, "#cmd-events")
    def _open_result_stream(self) -> None:
        if self._last_stream:
            self.console.open_stream(self._last_stream)

    async def action_reset(self) -> None:
        name = self.command_type.command_name
        await self.form.remove()
        self._forms.discard(name)
        await self.choose(name)

    def _clear_result(self) -> None:
        self.query_one("#cmd-result", Static).update("")
        table = self.query_one("#cmd-events", VirtualTable)
        table.clear()
        table.display = False


def _form_id(name: str) -> str:
    return f"form-{name}"


def _summary(cls: type[Command]) -> str:
    return (cls.__doc__ or "").strip().splitlines()[0]
