"""The Textual console. For now one overview screen; the full console is issue 4."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.markup import escape
from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Header, Static

from core.errors import EventdeckError
from stores import redact_url

from .bootstrap import open_system

if TYPE_CHECKING:
    from .cli import Settings


class EventdeckApp(App[None]):
    """The operations console."""

    TITLE = "eventdeck"
    CSS = """
    #summary { padding: 1 2; height: auto; }
    #streams { height: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        Binding("r", "refresh", "Refresh"),
    ]

    def __init__(self, db: str, read_only: bool = False) -> None:
        super().__init__()
        self.db = db
        self.read_only = read_only

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Opening the store...", id="summary")
        yield DataTable(id="streams", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("stream", "type", "version", "updated")
        self.action_refresh()

    @work(exclusive=True, exit_on_error=False)
    async def action_refresh(self) -> None:
        summary = self.query_one("#summary", Static)
        try:
            system = await open_system(self.db, read_only=self.read_only)
        except EventdeckError as exc:
            summary.update(f"[b red]Cannot open the store:[/] {escape(str(exc))}")
            return
        try:
            head = await system.store.head_position()
            streams = await system.store.list_streams(limit=200)
        finally:
            await system.close()
        summary.update(
            f"[b]Store[/] {redact_url(self.db)}   [b]events[/] {head}   "
            f"[b]streams shown[/] {len(streams)}\n"
            "The live stream, time travel, projections and dead-letter screens arrive "
            "with the console issue; the command line already does all of it "
            "(`eventdeck --help`)."
        )
        table = self.query_one(DataTable)
        table.clear()
        for info in streams:
            table.add_row(
                info.stream_id,
                info.stream_type,
                str(info.version),
                info.updated_at.strftime("%Y-%m-%d %H:%M"),
            )


def run_console(settings: Settings) -> None:
    """Open the console on the store named by the global options."""
    EventdeckApp(settings.db, read_only=settings.read_only).run()
