"""The correlation trace: the command, its events, the saga's commands and their
events, and the dead letters on any of them, as one tree.

Type or paste a correlation id, an event id or `stream@version`; or jump here from
an event (`o` in the live stream and in aggregates) or the palette (`trace ID`).
Opened with nothing chosen, the screen shows the trace of the newest event. The
store is read in a worker: the correlated events (one indexed query) and the dead
letters on their positions only.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Input, Static, Tree

from core.errors import EventdeckError
from core.trace import TRACE_LIMIT, Trace, TraceNode, find_trace, newest_event

from ..actions import REGISTRY, action
from ..widgets.formatting import literal, short_time
from ..widgets.trace_tree import TraceDetail, TraceTree
from .base import ConsoleScreen

SCOPE = "trace"
HOW_TO_PICK = "/ to type an id, o on an event in the live stream or aggregates, n for the newest"
DETAIL_HINT = "Move the cursor onto a node to see it here; Enter opens its event's stream."


class TraceScreen(ConsoleScreen):
    """One correlation as a tree, with the chosen node in detail."""

    SCOPE = SCOPE
    BINDINGS: ClassVar[list[BindingType]] = REGISTRY.register(
        SCOPE,
        "Trace",
        [
            action(
                SCOPE,
                "slash",
                "focus_input",
                "Find",
                "Type or paste a correlation id, an event id or stream@version",
            ),
            action(
                SCOPE,
                "enter",
                "open_event",
                "Open stream",
                "Open the chosen event's stream at its version in aggregates",
            ),
            action(SCOPE, "n", "newest", "Newest", "The trace of the newest event in the store"),
        ],
    )

    DEFAULT_CSS = """
    TraceScreen #trace-bar { height: 1; margin: 1 1 0 1; }
    TraceScreen #trace-input { width: 1fr; }
    TraceScreen #trace-status { height: auto; padding: 0 1; margin-top: 1; }
    TraceScreen #trace-body { height: 1fr; }
    TraceScreen #trace-tree { width: 1fr; }
    TraceScreen #trace-detail { width: 42; border-left: solid $primary-darken-2; }
    """

    class TraceRead(Message):
        """A trace was read (`trace` None: nothing matched `reference`)."""

        def __init__(
            self, reference: str, trace: Trace | None, origin: str = "", focus: str | None = None
        ) -> None:
            super().__init__()
            self.reference = reference
            self.trace = trace
            #: How the trace was chosen when no id was given ("the newest event ...").
            self.origin = origin
            #: The event to put the cursor on.
            self.focus = focus

    class TraceFailed(Message):
        def __init__(self, reference: str, error: str) -> None:
            super().__init__()
            self.reference = reference
            self.error = error

    def __init__(self) -> None:
        super().__init__()
        self.trace: Trace | None = None
        self._ready = False
        self._pending: tuple[str, str | None] | None = None
        #: The event to put the cursor on when the trace being read arrives.
        self._focus: str | None = None

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="trace-bar"):
            yield Input(
                placeholder="correlation id, event id or stream@version - Enter to trace",
                id="trace-input",
                compact=True,
            )
        yield Static("Reading the trace…", id="trace-status")
        with Horizontal(id="trace-body"):
            yield TraceTree(id="trace-tree")
            yield TraceDetail(DETAIL_HINT, id="trace-detail")

    def on_mount(self) -> None:
        self._ready = True
        self.query_one(TraceTree).focus()
        if self._pending is not None:
            self.open_trace(*self._pending)
            self._pending = None
        else:
            self.read_trace(None)

    def focus_main(self) -> None:
        self.query_one(TraceTree).focus()

    @property
    def chosen(self) -> TraceNode | None:
        """The node the detail pane describes."""
        return self.query_one(TraceDetail).node

    # -- reading ------------------------------------------------------------------

    def open_trace(self, reference: str, event_id: str | None = None) -> None:
        """Show the trace `reference` names (a correlation id, event id or stream@version),
        with the cursor on the event `event_id` (else on the event `reference` names)."""
        if not self._ready:
            self._pending = (reference, event_id)
            return
        self._focus = event_id
        self._status(f"Reading the trace of {literal(reference)}…")
        self.read_trace(reference)

    @work(exclusive=True, group="trace-read", exit_on_error=False)
    async def read_trace(self, reference: str | None) -> None:
        """Read the trace `reference` names, or the newest event's when it is None."""
        system = self.system
        origin, focus = "", None
        try:
            if reference is None:
                newest = await self.console.io(newest_event(system.store))
                if newest is None:
                    message = self.TraceFailed("", "The store is empty: no trace to show yet.")
                    self.post_message(message)
                    return
                reference = newest.metadata.correlation_id or newest.event_id
                origin = f"the newest event (position {newest.position:,})"
                focus = newest.event_id
            found = find_trace(reference, system.store, system.projection_store)
            trace = await self.console.io(found)
        except EventdeckError as exc:
            self.post_message(self.TraceFailed(reference or "", str(exc)))
            return
        self.post_message(self.TraceRead(reference, trace, origin, focus))

    @on(TraceRead)
    def _show_trace(self, message: TraceRead) -> None:
        trace = message.trace
        tree = self.query_one(TraceTree)
        detail = self.query_one(TraceDetail)
        if trace is None:
            self.trace = None
            tree.show(None)
            detail.show(None, tree, self.system.registry)
            self._status(
                f"[b red]No event carries {literal(repr(message.reference))} as its correlation id, "
                f"event id or stream@version.[/] {HOW_TO_PICK}"
            )
            return
        self.trace = trace
        search = self.query_one("#trace-input", Input)
        if not search.has_focus:  # never under the operator's typing
            search.clear()  # the placeholder says how to pick another; the status says what this is
        # the cursor lands on the event asked for, else the first command; the detail follows
        focus = self._focus or message.focus or self._event_named(trace, message.reference)
        tree.show(trace, focus)
        self._focus = None
        self._status(self._summary(trace, message))

    @on(TraceFailed)
    def _show_failure(self, message: TraceFailed) -> None:
        self._status(f"[b red]{literal(message.error)}[/]")

    def _summary(self, trace: Trace, message: TraceRead) -> str:
        nodes = self.query_one(TraceTree).nodes()
        commands = sum(1 for node in nodes if node.kind == "command")
        events, dead = trace.count("event"), trace.count("dead_letter")
        counts = (
            f"[b]{commands}[/] command{'s' if commands != 1 else ''}, "
            f"[b]{events}[/] event{'s' if events != 1 else ''}, "
            + (f"[b red]{dead}[/]" if dead else "[b]0[/]")
            + f" dead letter{'s' if dead != 1 else ''}"
        )
        if trace.truncated:
            counts += f" (the first {TRACE_LIMIT:,} events)"
        if message.origin:
            found = f" - of {message.origin}; {HOW_TO_PICK}"
        elif message.reference != trace.correlation_id:
            found = f" - the correlation of {literal(message.reference)}"
        else:
            found = ""
        started = short_time(trace.events[0].recorded_at)
        return f"Trace [b]{literal(trace.correlation_id)}[/] from {started}: {counts}{found}"

    @staticmethod
    def _event_named(trace: Trace, reference: str) -> str | None:
        """The id of the event of `trace` that `reference` names (event id, stream@version)."""
        for event in trace.events:
            if reference in (event.event_id, f"{event.stream_id}@{event.version}"):
                return event.event_id
        return None

    def _status(self, text: str) -> None:
        self.query_one("#trace-status", Static).update(text)

    # -- the tree -----------------------------------------------------------------

    @on(Tree.NodeHighlighted, "#trace-tree")
    def _node_highlighted(self, message: Tree.NodeHighlighted[TraceNode]) -> None:
        self.query_one(TraceDetail).show(
            message.node.data, self.query_one(TraceTree), self.system.registry
        )

    # -- actions ------------------------------------------------------------------

    def action_focus_input(self) -> None:
        self.query_one("#trace-input", Input).focus()

    def action_open_event(self) -> None:
        tree = self.query_one(TraceTree)
        node = tree.cursor_node.data if tree.cursor_node else None
        event = tree.event_of(node) if node else None
        if event is None:
            self.notify("Move the cursor onto an event to open its stream.", severity="warning")
            return
        self.console.open_stream(event.stream_id, version=event.version)

    def action_newest(self) -> None:
        self._status("Reading the trace of the newest event…")
        self._focus = None
        self.read_trace(None)

    def action_refresh(self) -> None:
        if self.trace is None:
            self.action_newest()
            return
        chosen = self.chosen
        self.open_trace(self.trace.correlation_id, chosen.id if chosen else None)

    @on(Input.Submitted, "#trace-input")
    def _submitted(self, message: Input.Submitted) -> None:
        reference = message.value.strip()
        if not reference:
            self._status(f"Type or paste an id first. {HOW_TO_PICK}")
            return
        self.query_one(TraceTree).focus()
        self.open_trace(reference)
