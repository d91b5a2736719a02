"""Plain-text rendering shared by the command-line listings."""

from __future__ import annotations

import json
import re
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


#: Every character `str.splitlines` breaks a line at.
_LINE_BREAKS = re.compile("[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
#: A run without spaces this long is an echoed value, not prose: it is cut short.
_LONG_WORD = re.compile(r"\S{201,}")


def one_line(message: str) -> str:
    """`message` on one line (DESIGN.md: one clear line on stderr): a line break echoed
    from the input is shown escaped (`\\n`), a very long word is cut to its start."""
    text = _LINE_BREAKS.sub(lambda found: repr(found.group())[1:-1], message)
    return _LONG_WORD.sub(
        lambda found: f"{found.group()[:80]}... ({len(found.group())} characters)", text
    )
