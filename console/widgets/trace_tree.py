"""A correlation trace on screen: the tree (every node expanded, colored by kind)
and the detail of the chosen node."""

from __future__ import annotations

from typing import ClassVar

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static, Tree
from textual.widgets.tree import TreeNode

from core.dead_letters import DeadLetter
from core.events import RecordedEvent
from core.registry import EventRegistry
from core.trace import Trace, TraceNode, with_saga_commands

from .event_detail import describe_event
from .formatting import short_time, type_text

COMMAND_STYLE = "bold cyan"
SAGA_STYLE = "bold yellow"
DEAD_STYLE = "bold red"


def is_saga_command(node: TraceNode) -> bool:
    """A command the tree inferred from a saga's reaction (not one a user issued)."""
    return node.kind == "command" and "caused_by" in node.detail


def node_label(node: TraceNode, event: RecordedEvent | None) -> Text:
    """One line per node: what it is, colored by kind."""
    user = str(node.detail.get("user_id") or "-")
    if node.kind == "dead_letter":
        status = node.detail.get("status", "")
        return Text(
            f"✖ dead letter {node.id} in {node.detail.get('projection')} ({status}): "
            f"{node.detail.get('error', '')}",
            style=DEAD_STYLE,
        )
    if is_saga_command(node):
        return Text.assemble(
            ("saga command", SAGA_STYLE), f" to {node.detail.get('stream_id')} by {user}"
        )
    if node.kind == "command":
        return Text.assemble(("command ", COMMAND_STYLE), (node.id, "cyan"), f" by {user}")
    if event is None:
        return Text(node.label)
    # the time of day only: a trace takes seconds, and the summary line has its date
    kind = type_text(event.type)  # its color only, not the rest of the line's
    kind.stylize("bold")
    label = Text.assemble(kind, f" {event.stream_id} ")
    label.append(f"v{event.version} ", style="bold")
    label.append(event.recorded_at.strftime("%H:%M:%S"), style="dim")
    label.append(f" {event.metadata.user_id or '-'}", style="italic")
    return label


class TraceTree(Tree[TraceNode], inherit_bindings=False):
    """The trace as a tree: commands, their events, the saga's commands, dead letters.

    Tree's own bindings without Enter: Enter is the screen's "open the event's
    stream" (from the action registry, so the footer and help show it).
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        binding
        for binding in Tree.BINDINGS
        if not (isinstance(binding, Binding) and binding.key == "enter")
    ]
    DEFAULT_CSS = """
    TraceTree { padding: 0 0 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("trace", id=id)
        self.show_root = False
        self.guide_depth = 3
        # Enter opens the event's stream; it must not fold the tree as well.
        self.auto_expand = False
        #: The trace's events and dead letters by node id, for the detail pane.
        self.events: dict[str, RecordedEvent] = {}
        self.letters: dict[str, DeadLetter] = {}

    def show(self, trace: Trace | None, focus: str | None = None) -> None:
        """Show `trace` with every node expanded and the cursor on the node with id
        `focus` (an event id, say), else on its first command."""
        self.clear()
        self.events = {e.event_id: e for e in trace.events} if trace else {}
        self.letters = {str(d.id): d for d in trace.dead_letters} if trace else {}
        # no cursor, so that moving it to the first line announces that node again
        self.unselect()
        if trace is None:
            return
        for root in with_saga_commands(trace.roots):
            self._add(self.root, root)
        self.root.expand_all()
        if self.root.children:
            self.move_cursor_to_line(self._line_of(focus) if focus else 0)

    def _line_of(self, node_id: str) -> int:
        for line in range(self.last_line + 1):
            node = self.get_node_at_line(line)
            if node is not None and node.data is not None and node.data.id == node_id:
                return line
        return 0

    def _add(self, parent: TreeNode[TraceNode], node: TraceNode) -> None:
        label = node_label(node, self.events.get(node.id) if node.kind == "event" else None)
        if not node.children:
            parent.add_leaf(label, data=node)
            return
        branch = parent.add(label, data=node, expand=True)
        for child in node.children:
            self._add(branch, child)

    def event_of(self, node: TraceNode) -> RecordedEvent | None:
        """The event a node stands for: itself, the one a dead letter failed on, or the
        first one a command wrote."""
        if node.kind == "dead_letter":
            dead = self.letters.get(node.id)
            return self.events.get(dead.event_id) if dead else None
        if node.kind == "event":
            return self.events.get(node.id)
        return next((self.event_of(child) for child in node.children), None)

    def nodes(self) -> list[TraceNode]:
        """Every node shown, in tree order (what a test or a search walks)."""
        found: list[TraceNode] = []

        def walk(node: TreeNode[TraceNode]) -> None:
            for child in node.children:
                if child.data is not None:
                    found.append(child.data)
                walk(child)

        walk(self.root)
        return found


def describe_dead_letter(dead: DeadLetter) -> RenderableType:
    """A dead letter: where and how often it failed, the error and the traceback."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="bold")
    grid.add_column()
    for label, value in (
        ("dead letter", str(dead.id)),
        ("projection", f"{dead.projection} (generation {dead.generation})"),
        ("status", dead.status.value),
        ("event", f"{dead.event_type} at position {dead.position}"),
        ("stream", dead.stream_id),
        ("attempts", str(dead.attempts)),
        ("first failed", short_time(dead.first_failed_at)),
        ("last failed", short_time(dead.last_failed_at)),
        ("parked behind", str(dead.parked)),
    ):
        grid.add_row(label, Text(value))  # ids as stored: never markup
    return Group(
        grid,
        Text("error", style="bold"),
        Text(dead.error, style="red"),
        Text("traceback", style="bold"),
        Text(dead.traceback.rstrip(), style="dim"),
        Text("retry or skip it in dead letters (l)", style="italic"),
    )


def describe_command(node: TraceNode) -> RenderableType:
    """A command: who issued it and what it wrote (saga commands are inferred)."""
    events = node.count("event")
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="bold")
    grid.add_column()
    if is_saga_command(node):
        # Text: ids and user names as stored are never markup
        grid.add_row("saga command", Text(f"to {node.detail.get('stream_id')}"))
        grid.add_row("by", Text(str(node.detail.get("user_id") or "-")))
        grid.add_row("reacting to", Text(f"event {node.detail.get('caused_by')}"))
        note = "A saga's reaction: the store keeps no id for it; it is the events it wrote."
    else:
        grid.add_row("command", Text(node.id))
        grid.add_row("by", Text(str(node.detail.get("user_id") or "-")))
        note = "The command that started this trace (its id is the events' causation id)."
    grid.add_row("caused", f"{events} event{'s' if events != 1 else ''} in all")
    return Group(grid, Text(note, style="italic"))


class TraceDetail(VerticalScroll):
    """The chosen node in full: an event's data and metadata, a dead letter's error."""

    DEFAULT_CSS = """
    TraceDetail { padding: 0 1; }
    TraceDetail > Static { width: 100%; }
    """

    def __init__(self, hint: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._hint = hint
        #: The node described, None while the hint shows.
        self.node: TraceNode | None = None

    def compose(self):  # type: ignore[no-untyped-def]
        yield Static(self._hint, classes="hint")

    def show(self, node: TraceNode | None, tree: TraceTree, registry: EventRegistry) -> None:
        """Describe `node` (looked up in what `tree` shows); the hint when None."""
        self.node = node
        self.query_one(Static).update(self._describe(node, tree, registry))
        self.scroll_home(animate=False)

    def _describe(
        self, node: TraceNode | None, tree: TraceTree, registry: EventRegistry
    ) -> RenderableType:
        if node is None:
            return self._hint
        if node.kind == "event":
            event = tree.events.get(node.id)
            return describe_event(event, registry) if event else node.label
        if node.kind == "dead_letter":
            dead = tree.letters.get(node.id)
            return describe_dead_letter(dead) if dead else node.label
        return describe_command(node)
