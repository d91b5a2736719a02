"""One event in full: envelope, metadata and its data at the current schema."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.json import JSON
from rich.table import Table
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from core.errors import EventdeckError
from core.events import RecordedEvent
from core.registry import EventRegistry


def describe_event(event: RecordedEvent, registry: EventRegistry) -> RenderableType:
    """The event's envelope and metadata, then its payload lifted to the current schema."""
    note = ""
    try:
        current = registry.upcast(event)
    except EventdeckError as exc:
        current = event
        note = f"cannot read at the current schema: {exc}"
    else:
        if current.schema_version != event.schema_version:
            note = f"stored as schema v{event.schema_version}, shown upcast"
    envelope = Table.grid(padding=(0, 1))
    envelope.add_column(style="bold")
    envelope.add_column()
    for label, value in (
        ("type", f"{event.type} (schema v{current.schema_version})"),
        ("stream", f"{event.stream_id} ({event.stream_type}) version {event.version}"),
        ("position", str(event.position)),
        ("recorded", event.recorded_at.isoformat()),
        ("event id", event.event_id),
        ("user", event.metadata.user_id or "-"),
        ("correlation", event.metadata.correlation_id or "-"),
        ("causation", event.metadata.causation_id or "-"),
    ):
        envelope.add_row(label, Text(value))  # ids and names as stored: never markup
    parts: list[RenderableType] = [envelope]
    if note:
        parts.append(Text(note, style="italic yellow"))
    parts.append(Text("data", style="bold"))
    parts.append(JSON.from_data(current.data, indent=2, default=str))
    return Group(*parts)


class EventDetail(VerticalScroll):
    """A scrollable pane showing one event (or a hint when none is chosen)."""

    DEFAULT_CSS = """
    EventDetail { padding: 0 1; }
    EventDetail > Static { width: 100%; }
    """

    def __init__(self, hint: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._hint = hint
        self.event: RecordedEvent | None = None

    def compose(self):  # type: ignore[no-untyped-def]
        yield Static(self._hint, classes="hint")

    def show(self, event: RecordedEvent | None, registry: EventRegistry) -> None:
        self.event = event
        body = self.query_one(Static)
        body.update(describe_event(event, registry) if event is not None else self._hint)
