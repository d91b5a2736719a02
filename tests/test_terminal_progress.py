"""The progress bar on a terminal: each redraw fits the terminal's width."""

from __future__ import annotations

import io
import re
import sys

import pytest

from console.progress import TerminalProgress, fit

SUFFIX = "round 2/3: eventsourcing baselines, the long part of a run"


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def drawn_lines(monkeypatch: pytest.MonkeyPatch, columns: int) -> list[str]:
    """Each line the bar drew for a run of 15 reports, on a terminal `columns` wide."""
    monkeypatch.setenv("COLUMNS", str(columns))
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with TerminalProgress("measuring") as progress:
        for done in range(16):
            progress.report(done, 15, SUFFIX)
    text = re.sub(r"\x1b\[\?25[lh]", "", terminal.getvalue())
    return [line.rstrip() for line in re.split(r"[\r\n]", text) if line.strip()]


@pytest.mark.parametrize("columns", [50, 80, 100])
def test_every_redraw_fits_a_narrow_terminal(monkeypatch: pytest.MonkeyPatch, columns: int) -> None:
    lines = drawn_lines(monkeypatch, columns)
    assert lines and all(line.startswith("measuring") for line in lines)
    assert max(len(line) for line in lines) < columns, lines
    assert any("round 2" in line and line.endswith("…") for line in lines)
    assert any("15/15" in line for line in lines)


def test_a_wide_terminal_shows_the_whole_suffix(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = drawn_lines(monkeypatch, 200)
    assert any(line.endswith(SUFFIX) and "[####" in line for line in lines)


def test_fit_cuts_with_an_ellipsis() -> None:
    assert fit("abcdef", 6) == "abcdef"
    assert fit("abcdef", 4) == "abc…"
    assert fit("abcdef", 1) == ""
