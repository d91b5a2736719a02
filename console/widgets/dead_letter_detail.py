"""One dead letter in full: what failed and how, what waits behind it, and its event."""

from __future__ import annotations

import re
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from rich.console import Group, RenderableType
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Static

from core.dead_letter_desk import DeadLetterDetail
from core.dead_letters import DeadLetterStatus
from core.registry import EventRegistry

from .dead_letter_list import STATUS_STYLES
from .dead_letter_outcomes import plural
from .event_detail import describe_event
from .formatting import short_time

#: Parked events listed by name in the detail; the rest are counted.
PARKED_LISTED = 5
#: The folder holding `core`, `stores` and `console`: project files show relative to it.
PROJECT_ROOT = Path(__file__).resolve().parents[2]
_FILE = re.compile(r'File "([^"]+)"')
_FRAME = re.compile(r'^(\s*)File "([^"]+)", line (\d+)(.*)$')
_LIBRARY_FOLDERS = ("site-packages", "dist-packages")


def tidy_path(path: str, project: Path = PROJECT_ROOT) -> str:
    """A traceback's file path without the machine's folders: project files relative to
    the project, installed packages from their package folder, the standard library
    under `<stdlib>`. Anything else is left as it is."""
    parts = Path(path).parts
    for folder in _LIBRARY_FOLDERS:
        if folder in parts:
            return "/".join(parts[len(parts) - parts[::-1].index(folder) :])
    resolved = Path(path)
    for root, shown in ((project, ""), (Path(sysconfig.get_paths()["stdlib"]), "<stdlib>/")):
        if resolved.is_relative_to(root):
            return shown + resolved.relative_to(root).as_posix()
    return path


def tidy_traceback(text: str, project: Path = PROJECT_ROOT) -> str:
    """A stored traceback with every `File "..."` path tidied (see `tidy_path`), so it
    reads the same whichever folder eventdeck runs from."""
    return _FILE.sub(lambda found: f'File "{tidy_path(found.group(1), project)}"', text)


@dataclass(frozen=True)
class Note:
    """What the operator's last action on this dead letter did, shown above it."""

    text: str
    failed: bool


def describe_failure(detail: DeadLetterDetail, note: Note | None = None) -> RenderableType:
    """The dead letter's state, its error, what is parked behind it and its traceback."""
    dead = detail.dead_letter
    parts: list[RenderableType] = []
    if note is not None:
        style = "bold white on dark_red" if note.failed else "bold black on green"
        parts.append(Text(f" {note.text} ", style=style))
    parts.append(
        Text.assemble(
            (f"Dead letter {dead.id}", "bold"),
            f"  {dead.projection}  ",
            (dead.status.value.upper(), STATUS_STYLES[dead.status]),
            f"  {dead.attempts} attempt{'s' if dead.attempts != 1 else ''}",
        )
    )
    parts.append(
        Text(
            f"first failed {short_time(dead.first_failed_at)}, "
            f"last {short_time(dead.last_failed_at)}",
            style="dim",
        )
    )
    parts.append(Text(dead.error, style="bold red"))
    parts.append(_parked(detail))
    parts.append(Text("Traceback", style="bold underline"))
    parts.append(highlight_traceback(tidy_traceback(dead.traceback)))
    return Group(*parts)


def highlight_traceback(text: str) -> Text:
    """A traceback with its frames' files and lines picked out and the exception in red."""
    lines = text.rstrip().splitlines()
    shown = Text()
    for index, line in enumerate(lines):
        frame = _FRAME.match(line)
        if frame is not None:
            indent, path, number, where = frame.groups()
            shown.append(f'{indent}File "')
            shown.append(path, style="cyan")
            shown.append('", line ')
            shown.append(number, style="bold")
            shown.append(where, style="dim")
        elif index == len(lines) - 1 or (line and not line[0].isspace() and ":" in line):
            shown.append(line, style="bold red" if not line.startswith("Traceback") else "dim")
        elif line.strip() and set(line.strip()) <= set("^~"):
            shown.append(line, style="red")
        else:
            shown.append(line, style="dim" if line.startswith("Traceback") else "")
        shown.append("\n")
    shown.rstrip()
    return shown


def _parked(detail: DeadLetterDetail) -> RenderableType:
    dead = detail.dead_letter
    if dead.status is not DeadLetterStatus.OPEN:
        return Text(f"resolved ({dead.status.value}): nothing is parked behind it", style="dim")
    count = len(detail.parked)
    if not count:
        return Text(f"parked behind it: none - {dead.stream_id} goes on", style="green")
    lines = Text.assemble(
        (f"parked behind it: {plural(count, 'event')}", "bold yellow"),
        f" of {dead.stream_id}, waiting for this one",
    )
    for event in detail.parked[:PARKED_LISTED]:
        lines.append(f"\n  {event.position:>8}  {event.event_type}")
    if count > PARKED_LISTED:
        lines.append(f"\n  ... and {count - PARKED_LISTED:,} more")
    return lines


class DeadLetterDetailPane(Horizontal):
    """The failure (error, parked events, traceback) beside the event that failed."""

    DEFAULT_CSS = """
    DeadLetterDetailPane { height: 1fr; border-top: solid $primary-darken-2; }
    DeadLetterDetailPane > #dlq-failure { width: 1fr; padding: 0 1; }
    DeadLetterDetailPane > #dlq-event { width: 44; padding: 0 1;
        border-left: solid $primary-darken-2; }
    DeadLetterDetailPane Static { width: 100%; }
    """

    def __init__(self, hint: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._hint = hint
        self.detail: DeadLetterDetail | None = None

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="dlq-failure"):
            yield Static(self._hint, id="dlq-failure-body")
        with VerticalScroll(id="dlq-event"):
            yield Static("", id="dlq-event-body")

    def show(
        self,
        detail: DeadLetterDetail | None,
        registry: EventRegistry,
        note: Note | None = None,
        hint: str | None = None,
    ) -> None:
        """Show `detail` (with the note of the last action on it), or a hint if None."""
        changed = (
            detail is None
            or self.detail is None
            or self.detail.dead_letter.id != (detail.dead_letter.id)
        )
        self.detail = detail
        failure = self.query_one("#dlq-failure-body", Static)
        event = self.query_one("#dlq-event-body", Static)
        if detail is None:
            failure.update(hint or self._hint)
            event.update("")
            return
        failure.update(describe_failure(detail, note))
        event.update(self._event(detail, registry))
        if changed:
            for pane in self.query(VerticalScroll):
                pane.scroll_home(animate=False)

    @staticmethod
    def _event(detail: DeadLetterDetail, registry: EventRegistry) -> RenderableType:
        title = Text("The event", style="bold")
        if detail.event is None:
            dead = detail.dead_letter
            return Group(
                title,
                Text(
                    f"the event at position {dead.position} cannot be read from the store "
                    "(see the error)",
                    style="italic yellow",
                ),
            )
        return Group(title, describe_event(detail.event, registry))
