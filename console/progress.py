"""Progress reporting on a terminal (stderr), silent when stderr is not a terminal."""

from __future__ import annotations

import shutil
import sys
from types import TracebackType
from typing import Any, Self

import click

#: The bar's width in characters on a terminal wide enough; narrower ones get less.
BAR_WIDTH = 36
#: Around the bar and the suffix: the separators, the bar's brackets and the ETA.
_CLUTTER = len("  []  ") + len("  00:00:00  ")


class TerminalProgress:
    """A click progress bar on stderr that appears on the first report.

    The line always fits the terminal (the bar narrows, then the suffix is cut
    short): a line one column too long wraps, and each redraw then starts a new
    line instead of replacing the last one.
    """

    def __init__(self, label: str) -> None:
        self.label = label
        self.enabled = sys.stderr.isatty()
        self._bar: Any = None
        self._done = 0

    def report(self, done: int, total: int, suffix: str = "") -> None:
        if not self.enabled:
            return
        # what the line holds besides the bar and the suffix, and the room left
        room = shutil.get_terminal_size().columns - 1
        room -= len(self.label) + len(f"{total}/{total}") + _CLUTTER
        if self._bar is None or self._bar.length != total:
            self.close()
            width = max(min(BAR_WIDTH, room // 2), 5)
            first = fit(suffix, room - width)
            self._bar = click.progressbar(
                length=max(total, 1),
                label=self.label,
                file=sys.stderr,
                show_eta=True,
                show_pos=True,
                width=width,
                # the suffix of each report (the first one until the bar has moved)
                item_show_func=lambda item: item or first or None,
            )
            self._bar.__enter__()
            self._done = 0
        text = fit(suffix, room - self._bar.width)
        self._bar.update(max(done - self._done, 0), current_item=text)
        self._done = done

    def message(self, line: str) -> None:
        """A line that must be seen now (an error), printed above the bar."""
        if self._bar is not None:
            click.echo("", err=True)
        click.echo(line, err=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def fit(text: str, room: int) -> str:
    """`text` cut to `room` characters, its end marked with an ellipsis."""
    if len(text) <= room:
        return text
    return text[: room - 1] + "…" if room > 1 else ""
