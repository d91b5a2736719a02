"""The dead-letter list: what it is filtered by, the bar to set that, how a page of
it is read, and its rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Input, Label, Select

from core.dead_letter_desk import DeadLetterDesk
from core.dead_letters import DeadLetter, DeadLetterStatus, DeadLetterTally
from core.projection_store import ProjectionStore

from .formatting import type_text
from .virtual_table import Cell, Column

#: How each status reads in the list.
STATUS_STYLES = {
    DeadLetterStatus.OPEN: "bold red",
    DeadLetterStatus.RETRIED: "green",
    DeadLetterStatus.SKIPPED: "yellow",
}


@dataclass(frozen=True)
class DeadLetterFilter:
    """What the list shows: one projection (or all), a stream id prefix, a piece of
    text (in the stream id, event type or error), open letters only or every one."""

    projection: str = ""
    stream: str = ""
    text: str = ""
    resolved: bool = False

    @property
    def status(self) -> DeadLetterStatus | None:
        """The status the store is asked for (None: every status)."""
        return None if self.resolved else DeadLetterStatus.OPEN

    @property
    def narrowed(self) -> bool:
        """Whether a projection, stream or text filter is set."""
        return bool(self.projection or self.stream or self.text)

    def describe(self) -> str:
        parts = [
            f"{name}={value!r}"
            for name, value in (
                ("projection", self.projection),
                ("stream", self.stream),
                ("text", self.text),
            )
            if value
        ]
        return ", ".join(parts)


@dataclass(frozen=True)
class ListPage:
    """One read of the list: a page of letters, how many match, open ones per projection."""

    letters: list[DeadLetter]
    matching: DeadLetterTally
    open_by_projection: dict[str, int]
    offset: int


async def read_page(
    desk: DeadLetterDesk,
    store: ProjectionStore,
    wanted: DeadLetterFilter,
    offset: int,
    limit: int,
) -> ListPage:
    """A page of the letters `wanted` (filtered by the store), how many match in all,
    and the open ones per projection (for the status line)."""
    projection, stream, text = wanted.projection or None, wanted.stream or None, wanted.text
    status = wanted.status
    letters = await desk.list(
        projection=projection,
        status=status,
        stream=stream,
        text=text or None,
        limit=limit,
        offset=offset,
    )
    matching = await desk.tally(
        projection=projection, status=status, stream=stream, text=text or None
    )
    return ListPage(letters, matching, await store.dead_letter_counts(), offset)


def describe_page(page: ListPage, wanted: DeadLetterFilter, size: int, writing: str) -> Text:
    """The status line: open letters per projection, which rows are shown and why,
    and the write running (if one is)."""
    counts = "  ".join(f"{name} {count}" for name, count in sorted(page.open_by_projection.items()))
    found, first = page.matching.entries, page.offset + 1
    span = f"{first:,}-{page.offset + len(page.letters):,} of {found:,}" if found else "0"
    which = "all statuses" if wanted.resolved else "open only"
    shown = wanted.describe()
    line = Text()
    if writing:
        line.append(f"{writing}…   ", style="bold yellow")
    line.append(f"{sum(page.open_by_projection.values()):,} open", style="bold")
    line.append(f" ({counts})" if counts else "")
    line.append(f"   showing {span}, {which}" + (f", {shown}" if shown else ""))
    if found > size:
        line.append("   [ ] pages", style="dim")
    return line


def dead_letter_columns() -> list[Column]:
    return [
        Column("id", 5, "right"),
        Column("projection", 18),
        Column("position", 8, "right"),
        Column("stream", 21),
        Column("event type", 15),
        Column("error", 0),
        Column("status", 7),
        Column("last failed", 14),
    ]


def dead_letter_cells(dead: DeadLetter) -> tuple[Cell, ...]:
    return (
        str(dead.id),
        dead.projection,
        str(dead.position),
        dead.stream_id,
        type_text(dead.event_type),
        Text(dead.error, style="red" if dead.status is DeadLetterStatus.OPEN else "dim"),
        Text(dead.status.value, style=STATUS_STYLES[dead.status]),
        dead.last_failed_at.strftime("%m-%d %H:%M:%S"),
    )


class DeadLetterFilterBar(Horizontal):
    """Projection, stream and text; posts `Changed` a moment after the typing stops."""

    DEBOUNCE_SECONDS: ClassVar[float] = 0.2
    DEFAULT_CSS = """
    DeadLetterFilterBar { height: 1; margin: 1 1 0 1; }
    DeadLetterFilterBar Label { width: auto; padding: 0 1 0 0; color: $text-muted; }
    DeadLetterFilterBar Input { width: 1fr; margin: 0 2 0 0; }
    DeadLetterFilterBar Select { width: 30; margin: 0 2 0 0; }
    """

    class Changed(Message):
        """The operator changed the projection, stream or text filter."""

        def __init__(self, projection: str, stream: str, text: str) -> None:
            super().__init__()
            self.projection = projection
            self.stream = stream
            self.text = text

    def __init__(self, projections: Sequence[str], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._projections = list(projections)
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Label("projection:")
        yield Select(
            [(name, name) for name in self._projections],
            prompt="all projections",
            id="dlq-projection",
            compact=True,
        )
        yield Label("stream:")
        yield Input(placeholder="id prefix", id="dlq-stream", compact=True)
        yield Label("text:")
        yield Input(placeholder="in stream, type or error", id="dlq-text", compact=True)

    @property
    def projection(self) -> str:
        value = self.query_one("#dlq-projection", Select).value
        return value if isinstance(value, str) else ""

    def values(self) -> tuple[str, str, str]:
        """(projection, stream, text) as set now."""
        stream = self.query_one("#dlq-stream", Input).value.strip()
        text = self.query_one("#dlq-text", Input).value.strip()
        return self.projection, stream, text

    def clear(self) -> None:
        self.query_one("#dlq-projection", Select).clear()
        for field in self.query(Input):
            field.value = ""

    @on(Select.Changed)
    def _chosen(self, event: Select.Changed) -> None:
        event.stop()
        self._announce()

    @on(Input.Changed)
    def _typed(self, event: Input.Changed) -> None:
        event.stop()
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(self.DEBOUNCE_SECONDS, self._announce)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._announce()

    def _announce(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = None
        self.post_message(self.Changed(*self.values()))
