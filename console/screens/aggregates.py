"""Aggregates: find a stream, walk its timeline, see its state at any version or time.

The stream list is read a page at a time (`list_streams` with limit and offset)
and grows as the cursor nears its end. Choosing a stream reads its history (what
each event changed) and its snapshot versions; choosing a version reads the
state at that version through time travel (snapshot + the events after it).
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Input, Select, Static

from core.domain import AGGREGATES
from core.errors import EventdeckError, StreamNotFound
from core.ports import StreamInfo
from core.time_travel import HistoryEntry, StateView

from ..actions import REGISTRY, action
from ..parsing import parse_time
from ..widgets.formatting import literal, short_time
from ..widgets.state_panel import StatePanel
from ..widgets.virtual_table import Column, Row, VirtualTable
from .base import ConsoleScreen
from .modals import PromptModal

SCOPE = "aggregates"
PAGE = 100
#: The timeline holds this many versions at most; moving near either end of it
#: reads the window around the cursor (a stream of a million events stays quick).
HISTORY_WINDOW = 400
#: How close to the window's end the cursor gets before the next window is read.
WINDOW_MARGIN = 5
#: Rows the stream list grows to before asking for a narrower search.
MAX_LISTED = 5000
SNAPSHOT_MARK = Text("◆", style="bold magenta")
#: The cursor must rest this long before the store is read for where it is.
DEBOUNCE_SECONDS = 0.08


class AggregatesScreen(ConsoleScreen):
    """Streams on the left, the chosen stream's timeline, its state on the right."""

    SCOPE = SCOPE
    BINDINGS: ClassVar[list[BindingType]] = REGISTRY.register(
        SCOPE,
        "Aggregates",
        [
            action(SCOPE, "slash", "focus_search", "Search", "Search streams by id prefix"),
            action(SCOPE, "left_square_bracket", "step(-1)", "Older", "Previous version"),
            action(SCOPE, "right_square_bracket", "step(1)", "Newer", "Next version"),
            action(SCOPE, "t", "travel", "Time travel", "Type a time and see the state then"),
            action(SCOPE, "o", "open_trace", "Trace", "Open the version's correlation trace"),
        ],
    )

    class StreamsListed(Message):
        def __init__(self, streams: list[StreamInfo], offset: int, more: bool) -> None:
            super().__init__()
            self.streams = streams
            self.offset = offset
            self.more = more

    class StreamLoaded(Message):
        def __init__(
            self,
            stream_id: str,
            history: list[HistoryEntry],
            snapshots: list[int],
            latest: int,
            wanted: int,
        ) -> None:
            super().__init__()
            self.stream_id = stream_id
            #: A window of the stream's events (at most HISTORY_WINDOW), oldest first.
            self.history = history
            self.snapshots = snapshots
            self.latest = latest
            self.wanted = wanted

    class StateLoaded(Message):
        def __init__(self, view: StateView, at: datetime | None) -> None:
            super().__init__()
            self.view = view
            self.at = at

    class LoadFailed(Message):
        def __init__(self, what: str, error: EventdeckError) -> None:
            super().__init__()
            self.what = what
            self.error = error

    def __init__(self) -> None:
        super().__init__()
        self.stream_id: str | None = None
        self.history: list[HistoryEntry] = []
        #: The stream's newest version (the timeline may show a window of it).
        self.latest = 0
        self._windowing = False
        self._wanted_version: int | None = None
        self._pinned: tuple[int, datetime] | None = None
        self._more = False
        self._listing = False
        self._search_timer: Timer | None = None
        self._pending_open: tuple[str, int | None] | None = None
        self._ready = False

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="agg-search-bar"):
            yield Input(placeholder="stream id prefix, e.g. ord-", id="agg-search", compact=True)
            yield Select(
                [(kind, kind) for kind in AGGREGATES],
                prompt="any type",
                id="agg-type",
                compact=True,
            )
        with Horizontal(id="agg-body"):
            with Vertical(id="agg-streams-pane"):
                yield VirtualTable(
                    [Column("stream", 0), Column("type", 7), Column("v", 4, "right")],
                    id="agg-streams",
                )
                yield Static("", id="agg-streams-status", classes="caption")
            with Vertical(id="agg-detail"):
                yield Static("Timeline", id="agg-timeline-title", classes="panel-title")
                yield VirtualTable(
                    [
                        Column("v", 4, "right"),
                        Column("", 1),
                        Column("recorded", 19),
                        Column("type", 16),
                        Column("user", 10),
                        Column("fields changed", 0),
                    ],
                    id="agg-timeline",
                )
                yield StatePanel(id="agg-state")

    def on_mount(self) -> None:
        self._ready = True
        self.query_one("#agg-streams", VirtualTable).focus()
        if self._pending_open is not None:
            self.open_stream(*self._pending_open)
            self._pending_open = None
        else:
            self._list(0)

    def focus_main(self) -> None:
        self.query_one("#agg-timeline" if self.stream_id else "#agg-streams").focus()

    def action_refresh(self) -> None:
        self._list(0)
        if self.stream_id:
            self.load_stream(self.stream_id, self._current_version())

    # -- the stream list ----------------------------------------------------------

    def _filters(self) -> tuple[str, str | None]:
        kind = self.query_one("#agg-type", Select).value
        prefix = self.query_one("#agg-search", Input).value.strip()
        return prefix, kind if isinstance(kind, str) else None

    def _list(self, offset: int) -> None:
        prefix, kind = self._filters()
        self._listing = True
        self.list_streams(prefix, kind, offset)

    @work(exclusive=True, group="agg-list", exit_on_error=False)
    async def list_streams(self, prefix: str, kind: str | None, offset: int) -> None:
        found = await self.console.io(
            self.system.store.list_streams(
                stream_type=kind, prefix=prefix or None, limit=PAGE + 1, offset=offset
            )
        )
        self.post_message(self.StreamsListed(found[:PAGE], offset, len(found) > PAGE))

    @on(Input.Changed, "#agg-search")
    @on(Select.Changed, "#agg-type")
    def _search_changed(self) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
        self._search_timer = self.set_timer(0.2, lambda: self._list(0))

    @on(Input.Submitted, "#agg-search")
    def _search_submitted(self) -> None:
        self.query_one("#agg-streams", VirtualTable).focus()

    @on(StreamsListed)
    def _show_streams(self, message: StreamsListed) -> None:
        self._listing = False
        self._more = message.more
        table = self.query_one("#agg-streams", VirtualTable)
        rows = [
            Row(info.stream_id, (info.stream_id, info.stream_type, str(info.version)))
            for info in message.streams
        ]
        if message.offset == 0:
            keep = self.stream_id if self.stream_id in {row.key for row in rows} else None
            table.set_rows(rows, cursor_key=keep if keep else (rows[0].key if rows else None))
        else:
            table.append_rows(rows)
        status = f"{table.row_count:,} stream{'s' if table.row_count != 1 else ''}"
        if self._more:
            status += " - more below" if table.row_count < MAX_LISTED else " - refine the search"
        self.query_one("#agg-streams-status", Static).update(status)

    @on(VirtualTable.Highlighted, "#agg-streams")
    def _stream_highlighted(self, message: VirtualTable.Highlighted) -> None:
        table = self.query_one("#agg-streams", VirtualTable)
        near_end = table.cursor >= table.row_count - 5
        if near_end and self._more and not self._listing and table.row_count < MAX_LISTED:
            self._list(table.row_count)
        key = message.key
        if isinstance(key, str) and key != self.stream_id:
            self.debounce("stream", DEBOUNCE_SECONDS, lambda: self._load_if_current(key))

    @on(VirtualTable.Selected, "#agg-streams")
    def _stream_selected(self) -> None:
        self.query_one("#agg-timeline", VirtualTable).focus()

    # -- one stream ---------------------------------------------------------------

    def open_stream(self, stream_id: str, version: int | None = None) -> None:
        """Show `stream_id` (at `version`, else its latest), listing streams like it."""
        if not self._ready:
            self._pending_open = (stream_id, version)
            return
        search = self.query_one("#agg-search", Input)
        self.query_one("#agg-type", Select).clear()
        with search.prevent(Input.Changed):
            search.value = stream_id
        self._list(0)
        self.load_stream(stream_id, version)
        self.query_one("#agg-timeline", VirtualTable).focus()

    def _load_if_current(self, stream_id: str) -> None:
        if self.query_one("#agg-streams", VirtualTable).cursor_key == stream_id:
            self.load_stream(stream_id, None)

    def load_stream(self, stream_id: str, version: int | None) -> None:
        self.stream_id = stream_id
        self._wanted_version = version
        self._pinned = None
        self.read_stream(stream_id, version)

    @work(exclusive=True, group="agg-stream", exit_on_error=False)
    async def read_stream(self, stream_id: str, around: int | None, centre: bool = False) -> None:
        """Read the window of the timeline around version `around` (else the newest)."""
        system = self.system
        try:
            info = await self.console.io(system.store.stream_info(stream_id))
            if info is None:
                raise StreamNotFound(stream_id)
            latest = info.version
            wanted = min(max(around or latest, 1), latest)
            first, last = history_window(wanted, latest, centre=centre)
            history = await self.console.io(
                system.time_travel.history(stream_id, from_version=first, to_version=last)
            )
        except EventdeckError as exc:
            self.post_message(self.LoadFailed(stream_id, exc))
            return
        snapshots = await self.console.io(system.snapshots.versions(stream_id))
        self.post_message(self.StreamLoaded(stream_id, history, snapshots, latest, wanted))

    @on(StreamLoaded)
    def _show_stream(self, message: StreamLoaded) -> None:
        if message.stream_id != self.stream_id:
            return
        self._windowing = False
        self.history = message.history
        self.latest = message.latest
        marks = set(message.snapshots)
        rows = [
            Row(
                entry.version,
                (
                    str(entry.version),
                    SNAPSHOT_MARK if entry.version in marks else "",
                    short_time(entry.recorded_at),
                    entry.type,
                    entry.user_id or "-",
                    ", ".join(entry.changes) or "-",
                ),
            )
            for entry in message.history
        ]
        self.query_one("#agg-timeline-title", Static).update(
            Text(timeline_title(message.stream_id, message.history, message.latest, marks))
        )
        self.query_one("#agg-timeline", VirtualTable).set_rows(rows, cursor_key=message.wanted)

    @on(VirtualTable.Highlighted, "#agg-timeline")
    def _version_highlighted(self, message: VirtualTable.Highlighted) -> None:
        if not isinstance(message.key, int) or self.stream_id is None:
            return
        self._slide_window(message.key)
        if self._pinned is not None and self._pinned[0] == message.key:
            return  # time travel already shows this version, as of the typed time
        self._pinned = None
        stream_id, version = self.stream_id, message.key
        self.debounce("state", DEBOUNCE_SECONDS, lambda: self.read_state(stream_id, version, None))

    @work(exclusive=True, group="agg-state", exit_on_error=False)
    async def read_state(self, stream_id: str, version: int | None, at: datetime | None) -> None:
        try:
            view = await self.console.io(
                self.system.time_travel.state(stream_id, version=version, at=at)
            )
        except EventdeckError as exc:
            self.post_message(self.LoadFailed(stream_id, exc))
            return
        self.post_message(self.StateLoaded(view, at))

    @on(StateLoaded)
    def _show_state(self, message: StateLoaded) -> None:
        view = message.view
        if view.stream_id != self.stream_id:
            return
        if message.at is not None:
            self._pinned = (view.version, message.at)
            self.query_one("#agg-timeline", VirtualTable).move_to_key(view.version)
        self.query_one(StatePanel).show(view, self.history, message.at, latest=self.latest)

    @on(LoadFailed)
    def _show_failure(self, message: LoadFailed) -> None:
        self.query_one(StatePanel).show_message(f"[b red]{literal(str(message.error))}[/]")
        if message.what == self.stream_id and not self.history:
            self.query_one("#agg-timeline", VirtualTable).clear()

    def _slide_window(self, version: int) -> None:
        """Near either end of a window that is not the stream's end, read the next one."""
        if self._windowing or not self.history or self.stream_id is None:
            return
        first, last = self.history[0].version, self.history[-1].version
        older = first > 1 and version - first < WINDOW_MARGIN
        newer = last < self.latest and last - version < WINDOW_MARGIN
        if older or newer:
            self._windowing = True
            self._wanted_version = version
            self.read_stream(self.stream_id, version, centre=True)

    def _current_version(self) -> int | None:
        key = self.query_one("#agg-timeline", VirtualTable).cursor_key
        return key if isinstance(key, int) else None

    # -- actions ------------------------------------------------------------------

    def action_focus_search(self) -> None:
        self.query_one("#agg-search", Input).focus()

    def action_step(self, delta: int) -> None:
        timeline = self.query_one("#agg-timeline", VirtualTable)
        timeline.move_cursor(timeline.cursor + delta)

    def action_open_trace(self) -> None:
        version = self._current_version()
        if self.stream_id is None or version is None:
            self.notify("Choose a version in the timeline first.", severity="warning")
            return
        self.console.open_trace(f"{self.stream_id}@{version}")

    def action_travel(self) -> None:
        if self.stream_id is None:
            self.notify("Choose a stream first.", severity="warning")
            return
        stream_id = self.stream_id

        def travel(answer: str | None) -> None:
            if answer is None:
                return
            try:
                when = parse_time(answer, "time")
            except EventdeckError as exc:
                # markup off: the message quotes what was typed
                self.notify(str(exc), title="Time travel", severity="error", markup=False)
                return
            self.read_state(stream_id, None, when)

        self.app.push_screen(
            PromptModal(
                f"Time travel: {stream_id}",
                "The state as it was at a moment (ISO 8601, UTC unless a zone is given).",
                placeholder="2026-11-30T14:05:00Z or 2026-11-30",
            ),
            travel,
        )


def history_window(
    wanted: int, latest: int, size: int = HISTORY_WINDOW, *, centre: bool = False
) -> tuple[int, int]:
    """The versions (first, last) of the window that shows `wanted`: the newest
    `size` versions when `wanted` is among them (unless `centre`), else `wanted`
    in the middle."""
    if wanted > latest - size and not centre:
        last = latest
    else:
        last = min(latest, max(wanted + size // 2, size))
    first = max(1, last - size + 1)
    return first, last


def timeline_title(
    stream_id: str, history: list[HistoryEntry], latest: int, marks: set[int]
) -> str:
    shown = [m for m in sorted(marks) if history and history[0].version <= m <= history[-1].version]
    snaps = f"  ◆ snapshot at {', '.join(map(str, shown))}" if shown else ""
    if history and len(history) < latest:
        span = f"v{history[0].version:,}-{history[-1].version:,} of {latest:,} events"
        return f"Timeline of {stream_id} - {span}{snaps}"
    return f"Timeline of {stream_id} - {latest} events{snaps}"
