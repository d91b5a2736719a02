"""The rows of one read model: keys and document summaries, the chosen document in full.

The owner reads the pages (this widget does no I/O): `open` starts a listing,
`show_page` shows what was read, and `MoreWanted` asks for the next page when
the cursor nears the end of what is loaded, up to `MAX_LISTED` rows.
"""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Static

from .document_panel import DocumentPanel, document_summary
from .virtual_table import Column, Row, VirtualTable

#: Rows listed at most before pointing to the command line for the rest.
MAX_LISTED = 5000
Documents = list[tuple[str, dict[str, Any]]]


class ReadModelRows(Horizontal):
    """Keys and summaries on the left, the document under the cursor on the right."""

    DEFAULT_CSS = """
    ReadModelRows { height: 1fr; }
    ReadModelRows > #rows-pane { width: 1fr; }
    ReadModelRows #rows { overflow-x: hidden; }
    ReadModelRows #rows-title, ReadModelRows #rows-status { padding: 0 1; }
    ReadModelRows > DocumentPanel { width: 46; border-left: solid $primary-darken-2; }
    """

    class MoreWanted(Message):
        """The cursor nears the end of the loaded rows: read the page at `offset`."""

        def __init__(self, view: str, offset: int) -> None:
            super().__init__()
            self.view = view
            self.offset = offset

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.view: str | None = None
        self.kind = "projection"
        self.count = 0
        self.more = False
        self.fetching = False
        self.documents: dict[str, dict[str, Any]] = {}

    def compose(self) -> ComposeResult:
        with Vertical(id="rows-pane"):
            yield Static(
                "Rows - Enter on a projection lists its read model",
                id="rows-title",
                classes="panel-title",
            )
            yield VirtualTable([Column("key", 24), Column("document", 0)], id="rows")
            yield Static("", id="rows-status", classes="caption")
        yield DocumentPanel("The document under the cursor shows here.")

    @property
    def table(self) -> VirtualTable:
        return self.query_one("#rows", VirtualTable)

    def open(self, view: str, kind: str) -> None:
        """Start listing `view` (a `kind` of "saga" is labelled as its process states)."""
        if view != self.view:
            self.table.clear()
            self.documents = {}
            self.query_one("#rows-status", Static).update("reading…")
        self.view, self.kind = view, kind
        self.fetching = True

    def show_page(
        self, view: str, documents: Documents, offset: int, more: bool, count: int | None
    ) -> None:
        """Show a page read at `offset` (offset 0 replaces what is shown; `count` is how
        many documents the read model has, if read with the page)."""
        if view != self.view:
            return  # the operator chose another read model meanwhile
        self.fetching = False
        self.more = more
        if count is not None:
            self.count = count
        rows = [Row(key, (key, document_summary(key, doc))) for key, doc in documents]
        if offset == 0:
            keep = self.table.cursor_key
            self.documents = dict(documents)
            first = rows[0].key if rows else None
            self.table.set_rows(rows, cursor_key=keep if keep in self.documents else first)
        else:
            self.documents.update(documents)
            # not append_rows, which would move the cursor to the end (it follows tails)
            shown = [row for key in self.table.row_keys() if (row := self.table.row(key))]
            self.table.set_rows([*shown, *rows], cursor_key=self.table.cursor_key)
        self._show_titles()
        if not rows and offset == 0:
            empty = "no saga in progress" if self.kind == "saga" else "no documents yet"
            self.query_one(DocumentPanel).show_message(f"{view} has {empty}.")

    def _show_titles(self) -> None:
        view, count, loaded = self.view, self.count, self.table.row_count
        if self.kind == "saga":
            title = f"{view} is a saga: no read model - its {count:,} process states, by key"
        else:
            title = f"{view} - {count:,} documents, by key"
        self.query_one("#rows-title", Static).update(title)
        status = f"{loaded:,} of {count:,} loaded"
        if self.more:
            status += (
                " - more as you scroll"
                if loaded < MAX_LISTED
                else f" - the rest: eventdeck query {view} --offset {loaded}"
            )
        self.query_one("#rows-status", Static).update(status)

    @on(VirtualTable.Highlighted, "#rows")
    def _row_highlighted(self, message: VirtualTable.Highlighted) -> None:
        message.stop()
        table = self.table
        near_end = table.cursor >= table.row_count - 5
        wanted = self.more and not self.fetching and table.row_count < MAX_LISTED
        if near_end and wanted and self.view is not None:
            self.fetching = True
            self.post_message(self.MoreWanted(self.view, table.row_count))
        key = message.key
        if isinstance(key, str) and key in self.documents:
            self.query_one(DocumentPanel).show(key, self.documents[key])
