"""The live stream's filters: what an event must match, and the bar to type them in."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Input, Label

from core.events import RecordedEvent


@dataclass(frozen=True)
class EventFilter:
    """Case-insensitive filters; an empty field matches everything.

    `type`: comma-separated fragments of type names; `stream`: a stream id prefix;
    `user`: part of the user id; `text`: part of the payload, ids or type.
    """

    type: str = ""
    stream: str = ""
    user: str = ""
    text: str = ""

    @property
    def active(self) -> bool:
        return any(getattr(self, item.name) for item in fields(self))

    def matches(self, event: RecordedEvent) -> bool:
        if self.type:
            wanted = [part.strip().lower() for part in self.type.split(",") if part.strip()]
            if wanted and not any(part in event.type.lower() for part in wanted):
                return False
        if self.stream and not event.stream_id.lower().startswith(self.stream.strip().lower()):
            return False
        if self.user and self.user.strip().lower() not in (event.metadata.user_id or "").lower():
            return False
        return not self.text or self.text.strip().lower() in searchable_text(event)

    def describe(self) -> str:
        parts = [f"{item.name}={getattr(self, item.name)!r}" for item in fields(self)]
        return ", ".join(part for part in parts if not part.endswith("''"))


def searchable_text(event: RecordedEvent) -> str:
    """Everything the free-text filter looks in, lower-cased."""
    return " ".join(
        (
            event.type,
            event.stream_id,
            event.event_id,
            event.metadata.correlation_id or "",
            json.dumps(event.data, default=str),
        )
    ).lower()


class FilterBar(Horizontal):
    """Four inputs; posts `FilterBar.Changed` a moment after the typing stops."""

    DEBOUNCE_SECONDS: ClassVar[float] = 0.15
    DEFAULT_CSS = """
    FilterBar { height: 1; margin: 0 1; }
    FilterBar Label { width: auto; padding: 0 1 0 0; color: $text-muted; }
    FilterBar Input { width: 1fr; margin: 0 2 0 0; }
    """

    class Changed(Message):
        """The operator changed a filter."""

        def __init__(self, event_filter: EventFilter) -> None:
            super().__init__()
            self.filter = event_filter

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        for name, hint in (
            ("type", "e.g. Order,Deposit"),
            ("stream", "id prefix"),
            ("user", "user id"),
            ("text", "anything"),
        ):
            yield Label(f"{name}:")
            yield Input(placeholder=hint, id=f"filter-{name}", compact=True)

    @property
    def value(self) -> EventFilter:
        def read(name: str) -> str:
            return self.query_one(f"#filter-{name}", Input).value

        return EventFilter(read("type"), read("stream"), read("user"), read("text"))

    def clear(self) -> None:
        for field_input in self.query(Input):
            field_input.value = ""

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(self.DEBOUNCE_SECONDS, self._announce)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._announce()

    def _announce(self) -> None:
        self._timer = None
        self.post_message(self.Changed(self.value))
