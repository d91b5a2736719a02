"""A read-model document: its summary for a listing, and every field in a panel."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from .formatting import show_value


def value_summary(value: Any) -> str:
    """A field's value, short: lists and objects by their size."""
    if isinstance(value, list):
        return f"[{len(value)} item{'s' if len(value) != 1 else ''}]"
    if isinstance(value, dict):
        return f"{{{len(value)} field{'s' if len(value) != 1 else ''}}}"
    return str(value)


def document_summary(key: str, document: dict[str, Any]) -> str:
    """`field=value` for each set field except the one repeating the key."""
    return "  ".join(
        f"{field}={value_summary(value)}"
        for field, value in document.items()
        if value is not None and value != key
    )


class DocumentPanel(VerticalScroll):
    """Every field of one document, its lists and objects written out."""

    DEFAULT_CSS = """
    DocumentPanel { padding: 0 1; }
    DocumentPanel > Static { width: 100%; }
    """

    def __init__(self, hint: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._hint = hint

    def compose(self) -> ComposeResult:
        yield Static(self._hint, id="document-body")

    def show(self, key: str, document: dict[str, Any]) -> None:
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column(overflow="fold")
        for field, value in document.items():
            grid.add_row(field, Text(show_value(value), style="dim" if value is None else ""))
        title = Text(key, style="bold cyan")
        body = Table.grid()
        body.add_row(title)
        body.add_row(grid)
        self.query_one("#document-body", Static).update(body)
        self.scroll_home(animate=False)

    def show_message(self, message: str) -> None:
        self.query_one("#document-body", Static).update(Text(message))
