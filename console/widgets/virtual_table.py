"""A virtual table: fixed columns, a row cursor, and only the visible rows rendered.

Textual's DataTable measures every cell it is given (about 0.15 ms a row), which
is too slow for a live tail taking in thousands of events a second. This widget
keeps its rows as plain tuples, renders the few lines on screen with the line
API, and drops the oldest rows past `max_rows`, so appending is cheap whatever
the table holds.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

Cell = str | Text


@dataclass(frozen=True)
class Column:
    """A column: its title, its width in cells (0: take the rest), its alignment."""

    title: str
    width: int = 0
    justify: Literal["left", "right"] = "left"


@dataclass(frozen=True)
class Row:
    """One row: a key naming it (an event position, a version) and its cells."""

    key: Hashable
    cells: tuple[Cell, ...]


class VirtualTable(ScrollView, can_focus=True):
    """Rows under a fixed header line; up/down/page/home/end move the cursor."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "edge(0)", "First", show=False),
        Binding("end", "edge(-1)", "Last", show=False),
        Binding("enter", "select", "Select", show=False),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "virtual-table--header",
        "virtual-table--cursor",
        "virtual-table--cursor-blurred",
    }
    DEFAULT_CSS = """
    VirtualTable { height: 1fr; background: $surface; }
    VirtualTable > .virtual-table--header { text-style: bold; color: $text-accent; }
    VirtualTable > .virtual-table--cursor { background: $block-cursor-background;
        color: $block-cursor-foreground; text-style: $block-cursor-text-style; }
    VirtualTable > .virtual-table--cursor-blurred { background: $accent 30%; }
    """

    class Highlighted(Message):
        """The cursor moved onto a row."""

        def __init__(self, table: VirtualTable, key: Hashable) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> VirtualTable:
            return self.table

    class Selected(Message):
        """Enter (or a click on the cursor row) chose a row."""

        def __init__(self, table: VirtualTable, key: Hashable) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> VirtualTable:
            return self.table

    def __init__(
        self,
        columns: Sequence[Column],
        *,
        max_rows: int | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.columns = list(columns)
        self.max_rows = max_rows
        self._rows: list[Row] = []
        self._index: dict[Hashable, int] = {}
        self._base = 0  # rows dropped from the top so far; keeps `_index` valid without rebuilds
        self.cursor: int = -1

    # -- data ---------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return len(self._rows)

    @property
    def cursor_key(self) -> Hashable | None:
        return self._rows[self.cursor].key if 0 <= self.cursor < len(self._rows) else None

    def row_keys(self) -> list[Hashable]:
        return [row.key for row in self._rows]

    def row(self, key: Hashable) -> Row | None:
        index = self.index_of(key)
        return None if index is None else self._rows[index]

    def index_of(self, key: Hashable) -> int | None:
        stored = self._index.get(key)
        return None if stored is None else stored - self._base

    def set_rows(self, rows: Iterable[Row], *, cursor_key: Hashable | None = None) -> None:
        """Replace every row; the cursor goes to `cursor_key` if given, else the last row."""
        self._rows = []
        self._index = {}
        self._base = 0
        self.cursor = -1
        self._append(list(rows))
        target = self.index_of(cursor_key) if cursor_key is not None else None
        self._update_size()
        self.move_cursor(target if target is not None else len(self._rows) - 1)

    def append_rows(self, rows: Sequence[Row]) -> None:
        """Add rows at the bottom; the cursor follows them if it was on the last row."""
        if not rows:
            return
        at_end = self.cursor >= len(self._rows) - 1
        key = self.cursor_key
        self._append(list(rows))
        self._update_size()
        if at_end:
            self.move_cursor(len(self._rows) - 1)
        else:
            index = self.index_of(key) if key is not None else None
            self.cursor = index if index is not None else 0
            self.refresh()

    def clear(self) -> None:
        self.set_rows([])

    def _append(self, rows: list[Row]) -> None:
        start = self._base + len(self._rows)
        for offset, row in enumerate(rows):
            self._index[row.key] = start + offset
        self._rows.extend(rows)
        excess = len(self._rows) - self.max_rows if self.max_rows else 0
        if excess > 0:
            for row in self._rows[:excess]:
                del self._index[row.key]
            del self._rows[:excess]
            self._base += excess
            self.cursor = max(self.cursor - excess, 0 if self._rows else -1)

    def _update_size(self) -> None:
        self.virtual_size = Size(self.size.width, len(self._rows) + 1)
        self.refresh()

    # -- cursor -------------------------------------------------------------------

    def move_cursor(self, index: int) -> None:
        """Put the cursor on row `index` (clamped), scroll it into view, announce it."""
        if not self._rows:
            self.cursor = -1
            self.refresh()
            return
        index = min(max(index, 0), len(self._rows) - 1)
        changed = index != self.cursor
        self.cursor = index
        self._scroll_to_cursor()
        # the virtual size of freshly added rows is known after the next layout
        self.call_after_refresh(self._scroll_to_cursor)
        self.refresh()
        if changed:
            self.post_message(self.Highlighted(self, self._rows[index].key))

    def move_to_key(self, key: Hashable) -> bool:
        index = self.index_of(key)
        if index is None:
            return False
        self.move_cursor(index)
        return True

    def _visible_rows(self) -> int:
        return max(self.scrollable_content_region.height - 1, 1)

    def _scroll_to_cursor(self) -> None:
        top = int(self.scroll_y)
        visible = self._visible_rows()
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + visible:
            self.scroll_to(y=self.cursor - visible + 1, animate=False, immediate=True)

    def action_cursor(self, delta: int) -> None:
        self.move_cursor(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        self.move_cursor(self.cursor + direction * self._visible_rows())

    def action_edge(self, end: int) -> None:
        self.move_cursor(0 if end == 0 else len(self._rows) - 1)

    def action_select(self) -> None:
        key = self.cursor_key
        if key is not None:
            self.post_message(self.Selected(self, key))

    def on_click(self, event: events.Click) -> None:
        if event.y < 1:
            return
        index = int(self.scroll_y) + event.y - 1
        if index >= len(self._rows):
            return
        if index == self.cursor:
            self.action_select()
        else:
            self.move_cursor(index)

    def on_resize(self) -> None:
        self._update_size()

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    # -- rendering ----------------------------------------------------------------

    def _widths(self, total: int) -> list[int]:
        fixed = sum(column.width for column in self.columns) + len(self.columns)
        flexible = [column for column in self.columns if column.width == 0]
        rest = max(total - fixed, 4 * len(flexible))
        share = rest // len(flexible) if flexible else 0
        return [column.width or share for column in self.columns]

    def _line(self, cells: Sequence[Cell], style: Style, width: int) -> Strip:
        text = Text(no_wrap=True, overflow="ellipsis", style=style, end="")
        text.append(" ")
        for column, cell_width, cell in zip(self.columns, self._widths(width), cells, strict=False):
            part = cell.copy() if isinstance(cell, Text) else Text(str(cell))
            part.truncate(cell_width, overflow="ellipsis", pad=False)
            if column.justify == "right":
                part.pad_left(cell_width - part.cell_len)
            else:
                part.pad_right(cell_width - part.cell_len)
            text.append_text(part)
            text.append(" ")
        # Text.render leaves out the text's own (base) style: apply it under the spans
        segments = Segment.apply_style(text.render(self.app.console), style)
        return Strip(list(segments)).crop_extend(0, width, style)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        if y == 0:
            header = self.get_component_rich_style("virtual-table--header")
            return self._line([column.title for column in self.columns], base + header, width)
        index = int(self.scroll_y) + y - 1
        if index >= len(self._rows):
            return Strip([Segment(" " * width, base)], width)
        style = base
        if index == self.cursor:
            name = "virtual-table--cursor" if self.has_focus else "virtual-table--cursor-blurred"
            style = base + self.get_component_rich_style(name)
        return self._line(self._rows[index].cells, style, width)
