"""Progress reporting on a terminal (stderr), silent when stderr is not a terminal."""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Any, Self

import click


class TerminalProgress:
    """A click progress bar on stderr that appears on the first report."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.enabled = sys.stderr.isatty()
        self._bar: Any = None
        self._done = 0

    def report(self, done: int, total: int, suffix: str = "") -> None:
        if not self.enabled:
            return
        if self._bar is None or self._bar.length != total:
            self.close()
            self._bar = click.progressbar(
                length=max(total, 1),
                label=self.label,
                file=sys.stderr,
                show_eta=True,
                show_pos=True,
                # the suffix of each report (the first one until the bar has moved)
                item_show_func=lambda item: item or suffix or None,
            )
            self._bar.__enter__()
            self._done = 0
        self._bar.update(max(done - self._done, 0), current_item=suffix)
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
