"""The live stream: the tail of the store, followed or paused, filtered, in detail.

One poll at a time: the head, then the events after the last one read (at most
`PAGE` per poll); the next poll is scheduled when the previous one's result has
been shown. Paused, the screen only counts what arrived; on resume it reads on
from the last event it showed, so nothing is ever skipped. The table keeps the
newest `MAX_ROWS` matching rows and the screen the newest `RING` events (for
re-filtering without I/O); everything older stays in the store.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Static

from core.events import RecordedEvent
from core.ports import EventStore

from ..actions import REGISTRY, action
from ..widgets.event_detail import EventDetail
from ..widgets.event_filter import EventFilter, FilterBar
from ..widgets.formatting import event_cells, event_columns, literal
from ..widgets.virtual_table import Row, VirtualTable
from .base import ConsoleScreen

SCOPE = "live"
#: The events shown when the screen opens.
INITIAL = 200
#: The most events one poll reads.
PAGE = 1000
#: Rows kept in the table, and events kept for re-filtering.
MAX_ROWS = 2000
RING = 5000


@dataclass(frozen=True)
class PollResult:
    """What one poll found: the head, where it started and the events it read."""

    head: int
    start: int
    read_to: int
    events: list[RecordedEvent]


async def read_after(store: EventStore, last: int | None, following: bool) -> PollResult:
    """One poll: the head, and (when following) up to `PAGE` events after `last`."""
    head = await store.head_position()
    start = max(head - INITIAL, 0) if last is None else last
    events: list[RecordedEvent] = []
    read_to = start
    if following and head > start:
        read_to = min(head, start + PAGE)
        reading = store.read_all(from_position=start + 1, to_position=read_to, page_size=PAGE)
        events = [event async for event in reading]
    return PollResult(head, start, read_to, events)


class LiveStreamScreen(ConsoleScreen):
    """Events as they are appended, newest at the bottom."""

    SCOPE = SCOPE
    BINDINGS: ClassVar[list[BindingType]] = REGISTRY.register(
        SCOPE,
        "Live stream",
        [
            action(SCOPE, "f", "toggle_follow", "Follow", "Follow new events on or off (pause)"),
            action(
                SCOPE, "slash", "focus_filters", "Filter", "Type filters: type, stream, user, text"
            ),
            action(SCOPE, "x", "clear_filters", "Clear filters", "Show every event again"),
            action(
                SCOPE,
                "enter",
                "open_stream",
                "Open stream",
                "Open the event's stream in aggregates",
            ),
            action(SCOPE, "o", "open_trace", "Trace", "Open the event's correlation trace"),
        ],
    )

    class Polled(Message):
        """A poll finished."""

        def __init__(self, result: PollResult) -> None:
            super().__init__()
            self.result = result

    def __init__(self) -> None:
        super().__init__()
        self.following = True
        self.filter = EventFilter()
        self._ring: deque[RecordedEvent] = deque()
        self._by_position: dict[int, RecordedEvent] = {}
        self._last: int | None = None
        self._head = 0

    def compose_body(self) -> ComposeResult:
        yield FilterBar(id="filters")
        yield Static("", id="live-status")
        with Horizontal(id="live-body"):
            yield VirtualTable(event_columns(), max_rows=MAX_ROWS, id="tail")
            yield EventDetail("Move the cursor onto an event to see it here.", id="live-detail")

    def on_mount(self) -> None:
        self.query_one("#tail", VirtualTable).focus()
        self._schedule(0)

    def on_screen_resume(self) -> None:
        if not self._reading:
            self._schedule(0)

    def focus_main(self) -> None:
        self.query_one("#tail", VirtualTable).focus()

    @property
    def poll_seconds(self) -> float:
        return self.console.poll_seconds

    @property
    def last_position(self) -> int | None:
        """The position of the last event read from the store (shown or filtered out)."""
        return self._last

    @property
    def behind(self) -> int:
        """Events in the store after the last one read."""
        return max(self._head - (self._last or 0), 0)

    # -- polling ------------------------------------------------------------------

    def start_read(self) -> None:
        self.poll_store(self._last, self.following)

    @work(exclusive=True, group="live-poll", exit_on_error=False)
    async def poll_store(self, last: int | None, following: bool) -> None:
        result = await self.console.io(read_after(self.system.store, last, following))
        self.post_message(self.Polled(result))

    def worker_failed(self, group: str, error: BaseException) -> None:
        super().worker_failed(group, error)
        self._reading = False
        self._schedule(max(self.poll_seconds * 4, 2.0))

    @on(Polled)
    def show_polled(self, message: Polled) -> None:
        self._reading = False
        result = message.result
        self._head = result.head
        self._last = (
            result.read_to if self._last is None or result.read_to > self._last else (self._last)
        )
        if result.events:
            self._take(result.events)
        self._show_status()
        catching_up = self.following and self.behind > 0
        self._schedule(0 if catching_up else self.poll_seconds)

    def _take(self, events: list[RecordedEvent]) -> None:
        for event in events:
            if len(self._ring) >= RING:
                old = self._ring.popleft()
                self._by_position.pop(old.position, None)
            self._ring.append(event)
            self._by_position[event.position] = event
        rows = [
            Row(event.position, event_cells(event))
            for event in events
            if self.filter.matches(event)
        ]
        self.query_one("#tail", VirtualTable).append_rows(rows)

    def _show_status(self) -> None:
        table = self.query_one("#tail", VirtualTable)
        shown = f"{table.row_count:,} shown"
        if self.filter.active:
            shown += f" (filtered: {literal(self.filter.describe())})"  # typed: never markup
        if self.following:
            state = "[b green]FOLLOWING[/]"
            if self.behind:
                state += f"  catching up, {self.behind:,} to read"
        else:
            state = f"[b yellow]PAUSED[/]  [b]{self.behind:,} new[/] since position {self._last or 0:,} - f to follow"
        self.query_one("#live-status", Static).update(f" {state}   head {self._head:,}   {shown}")

    # -- actions ------------------------------------------------------------------

    def action_toggle_follow(self) -> None:
        self.following = not self.following
        self._show_status()
        if self.following and not self._reading:
            self._schedule(0)

    def action_focus_filters(self) -> None:
        self.query_one("#filter-type").focus()

    def action_clear_filters(self) -> None:
        self.query_one(FilterBar).clear()
        self._apply_filter(EventFilter())

    def _chosen_event(self) -> RecordedEvent | None:
        key = self.query_one("#tail", VirtualTable).cursor_key
        event = self._by_position.get(key) if isinstance(key, int) else None
        if event is None:
            self.notify("Choose an event first.", severity="warning")
        return event

    def action_open_stream(self) -> None:
        if event := self._chosen_event():
            self.console.open_stream(event.stream_id, version=event.version)

    def action_open_trace(self) -> None:
        if event := self._chosen_event():
            self.console.open_trace(event.metadata.correlation_id or event.event_id, event.event_id)

    def action_refresh(self) -> None:
        if not self._reading:
            self._schedule(0)

    @on(FilterBar.Changed)
    def filters_changed(self, message: FilterBar.Changed) -> None:
        self._apply_filter(message.filter)

    def _apply_filter(self, event_filter: EventFilter) -> None:
        self.filter = event_filter
        table = self.query_one("#tail", VirtualTable)
        matching = [event for event in self._ring if event_filter.matches(event)][-MAX_ROWS:]
        table.set_rows(
            (Row(event.position, event_cells(event)) for event in matching),
            cursor_key=table.cursor_key,
        )
        self._show_status()
        if not matching:
            self.query_one(EventDetail).show(None, self.system.registry)

    @on(VirtualTable.Highlighted, "#tail")
    def show_detail(self, message: VirtualTable.Highlighted) -> None:
        event = self._by_position.get(message.key) if isinstance(message.key, int) else None
        self.query_one(EventDetail).show(event, self.system.registry)

    @on(VirtualTable.Selected, "#tail")
    def open_selected(self, message: VirtualTable.Selected) -> None:
        message.stop()
        self.action_open_stream()
