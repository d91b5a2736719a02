"""A stream's state at one version: the fields, those the event changed marked,
and "blame" for the field under the cursor (the event that last changed it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from core.time_travel import HistoryEntry, StateView

from .formatting import short_time, show_value

CHANGED_STYLE = "bold yellow"


def blame(history: list[HistoryEntry], version: int, field: str) -> HistoryEntry | None:
    """The newest event at or below `version` that changed `field` (`history` is a
    window of the stream's events, oldest first)."""
    for entry in reversed(history):
        if entry.version <= version and field in entry.changes:
            return entry
    return None


class StatePanel(Vertical):
    """Title, field table and blame line for one state of a stream."""

    DEFAULT_CSS = """
    StatePanel { height: 1fr; border-top: solid $primary-darken-2; }
    StatePanel > #state-title { height: auto; padding: 0 1; }
    StatePanel > DataTable { height: 1fr; }
    StatePanel > #state-blame { height: auto; min-height: 2; padding: 0 1;
        background: $boost; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.view: StateView | None = None
        self.history: list[HistoryEntry] = []

    def compose(self) -> ComposeResult:
        yield Static("Choose a stream to see its state.", id="state-title")
        table: DataTable[Any] = DataTable(cursor_type="row", zebra_stripes=True, id="state-fields")
        table.add_column("field", width=22)
        table.add_column("value")
        yield table
        yield Static("", id="state-blame")

    @property
    def table(self) -> DataTable[Any]:
        return self.query_one("#state-fields", DataTable)

    def show_message(self, message: str) -> None:
        self.view = None
        self.query_one("#state-title", Static).update(message)
        self.table.clear()
        self.query_one("#state-blame", Static).update("")

    def show(
        self,
        view: StateView,
        history: list[HistoryEntry],
        at: datetime | None = None,
        latest: int | None = None,
    ) -> None:
        """Show `view`; the fields its version's event changed are marked.

        `history` may be a window of the stream (the events around `view`);
        `latest` is the stream's newest version (default: the window's last).
        """
        previous_field = self._cursor_field()
        self.view = view
        self.history = history
        latest = latest or (history[-1].version if history else view.version)
        entry = next((e for e in history if e.version == view.version), None)
        changed = set(entry.changes) if entry else set()
        title = Text.assemble(("State", "bold"), f" at version {view.version} of {latest}", "  ")
        if at is not None:
            title.append(f"as of {short_time(at)} UTC (time travel)", style="bold magenta")
        else:
            title.append(f"as of {short_time(view.as_of)} UTC")
        if entry is not None:
            title.append(f"  after {entry.type}", style="italic")
            if changed:
                title.append("  ● changed by it", style=CHANGED_STYLE)
        self.query_one("#state-title", Static).update(title)
        table = self.table
        table.clear()
        for name, value in view.state.items():
            style = CHANGED_STYLE if name in changed else ""
            marker = "● " if name in changed else "  "
            table.add_row(
                Text(marker + name, style=style), Text(show_value(value), style=style), key=name
            )
        if previous_field in view.state:
            table.move_cursor(row=table.get_row_index(previous_field))
        self._show_blame()

    def _cursor_field(self) -> str | None:
        table = self.table
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return str(key) if key is not None else None

    @on(DataTable.RowHighlighted, "#state-fields")
    def _row_highlighted(self) -> None:
        self._show_blame()

    def _show_blame(self) -> None:
        line = self.query_one("#state-blame", Static)
        field = self._cursor_field()
        if self.view is None or field is None:
            line.update("")
            return
        value = show_value(self.view.state.get(field))
        entry = blame(self.history, self.view.version, field)
        if entry is None:
            first = self.history[0].version if self.history else 1
            why = (
                "never changed by an event"
                if first <= 1
                else f"not changed since v{first} (older events: move up the timeline)"
            )
            line.update(Text.assemble((field, "bold"), f" = {value}\n{why}"))
            return
        change = entry.changes[field]
        line.update(
            Text.assemble(
                ("blame ", "bold"),
                (field, "bold yellow"),
                f" last changed by v{entry.version} {entry.type}",
                f" at {short_time(entry.recorded_at)} by {entry.user_id or '-'}: ",
                f"{show_value(change['from'])} -> {show_value(change['to'])}",
            )
        )
