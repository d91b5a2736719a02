"""How events and state values read on screen, shared by the screens."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from rich.text import Text

from core.events import RecordedEvent

from .virtual_table import Cell, Column

#: A colour per event-type family, so a tail reads at a glance.
_TYPE_STYLES = (
    ("Cancelled", "red"),
    ("Withdr", "yellow"),
    ("Placed", "cyan"),
    ("Opened", "cyan"),
    ("Approved", "green"),
    ("Shipped", "blue"),
    ("Delivered", "green"),
    ("Deposit", "magenta"),
)


def literal(text: str) -> str:
    """`text` shown as written inside Textual markup: every `[` escaped. (Textual's own
    `escape` leaves `[/` and `[$name]` alone, which then fail or vanish.)"""
    return text.replace("[", "\\[")


def short_time(when: datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M:%S")


def type_text(event_type: str) -> Text:
    for fragment, style in _TYPE_STYLES:
        if fragment in event_type:
            return Text(event_type, style=style)
    return Text(event_type)


def event_columns(*, compact: bool = False) -> list[Column]:
    """The columns of an event listing (`compact` drops the user and version)."""
    if compact:
        return [
            Column("position", 8, "right"),
            Column("recorded", 19),
            Column("stream", 17),
            Column("type", 0),
        ]
    return [
        Column("position", 8, "right"),
        Column("recorded", 14),
        Column("stream", 17),
        Column("v", 3, "right"),
        Column("type", 15),
        Column("user", 0),
    ]


def event_cells(event: RecordedEvent, *, compact: bool = False) -> tuple[Cell, ...]:
    if compact:
        return (
            str(event.position),
            short_time(event.recorded_at),
            event.stream_id,
            type_text(event.type),
        )
    return (
        str(event.position),
        event.recorded_at.strftime("%m-%d %H:%M:%S"),
        event.stream_id,
        str(event.version),
        type_text(event.type),
        event.metadata.user_id or "-",
    )


def show_value(value: Any) -> str:
    """A state value as one short readable line."""
    if value is None:
        return "-"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(", ", ": "), default=str)
    return str(value)
