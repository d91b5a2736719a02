"""Plain-text rendering shared by the command-line listings."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from core.events import RecordedEvent


def short_time(when: datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M:%S")


def event_line(event: RecordedEvent) -> str:
    """One event as a line: position, time, stream@version, type, user."""
    user = event.metadata.user_id or "-"
    return (
        f"{event.position:>8}  {short_time(event.recorded_at)}  "
        f"{event.stream_id}@{event.version}  {event.type}  by {user}"
    )


def show_value(value: Any) -> str:
    """A state value as a short readable string."""
    if value is None:
        return "-"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(", ", ": "))
    return str(value)


def table(rows: list[list[str]], headers: list[str]) -> str:
    """A left-aligned text table."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    for row in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)


def seconds_text(value: float | None) -> str:
    """A duration in seconds as a short text: `42.0s`, `3.5m`, `2.1h`; `-` if unknown."""
    if value is None:
        return "-"
    if value < 90:
        return f"{value:.1f}s"
    if value < 5400:
        return f"{value / 60:.1f}m"
    return f"{value / 3600:.1f}h"
