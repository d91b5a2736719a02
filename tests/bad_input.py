"""Hypothesis strategies of hostile input, shared by the bad-input tests.

Text that has broken programs before: NUL and other control characters, line
breaks of every kind (`\\n`, `\\r`, `\\x85`, `\\u2028`), combining marks, right-to-left
text, emoji sequences, Rich/Textual markup, format strings, very long strings and
number-looking text that is not quite a number. Numbers include NaN, infinities,
huge, negative and over-precise values.
"""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from hypothesis import strategies as st

from console.cli import main

#: Curated strings, drawn often so every run meets them (st.text alone rarely would).
NASTY_STRINGS: tuple[str, ...] = (
    "",
    " ",
    "\t",
    "\x00",
    "a\x00b",
    "\x1b[31mred\x1b[0m",
    "\n",
    "a\nb",
    "line\r\nbreak",
    "a\rb",
    "a\x85b",
    "a\u2028b",
    "a\u2029b",
    "a\x0bb\x0cc",
    "a\x1cb\x1dc\x1e",
    "e\u0301\u0301\u0301\u0301",
    "\u0300",
    "Z\u0351\u0358\u0315\u0334a\u0352\u0321l\u0337g\u035ao",
    "\u202eevil\u202c",
    "\u05e9\u05dc\u05d5\u05dd",  # Hebrew
    "\u0645\u0631\u062d\u0628\u0627",  # Arabic
    "\U0001f469\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466",
    "\U0001f600" * 50,
    "\ufeffBOM",
    "\u200b",
    "\uffff",
    "\U0010ffff",
    "[b]bold[/b]",
    "[/]",
    "[",
    "[red",
    "[link=x]y",
    "[@click=app.quit]x[/]",
    "%s%n%d",
    "{}{0}{name}",
    "'; DROP TABLE events; --",
    '"quoted"',
    "\\",
    "\\u0000",
    "NaN",
    "nan",
    "-inf",
    "Infinity",
    "sNaN",
    "-0",
    "0",
    "0.00",
    "0.001",
    "1e999999",
    "1e-999999",
    "1E+3",
    "1_000",
    " 12.50 ",
    "12.5\n",
    "-5\n",
    "\uff11\uff12",  # fullwidth 12
    "\u00b2",  # superscript two: isdigit() but not int()
    "\u0661\u0662",  # Arabic-Indic 12
    "9" * 5000,
    "x" * 300,
    "y" * 50_000,
    "X:1:1",
    "X:0:1",
    "X:1:0",
    "X:1:NaN",
    "X:\u00b2:1",
    "X:100001\n:1",
    "X:1:1\n",
    "::",
    "WIDGET-1:2:9.99:extra",
    "a@b.c",
    "a@b.c\n",
    "9999-12-31T23:59:59-05:00",
    "0001-01-01T00:00:00+05:00",
    "2026-02-30",
    "2026-11-30T25:00:00Z",
    "CUSTOMER",
    "boss",
)

NASTY_NUMBERS: tuple[Any, ...] = (
    float("nan"),
    float("inf"),
    float("-inf"),
    -0.0,
    0,
    -1,
    1e308,
    5e-324,
    0.1 + 0.2,
    10**400,
    -(10**400),
    Decimal("NaN"),
    Decimal("sNaN"),
    Decimal("Infinity"),
    Decimal("-0"),
    Decimal("1E+999999"),
    Decimal("1E-999999"),
    Decimal("0.123456789012345678901234567890"),
    Decimal("999999999.995"),
    True,
    False,
)


def nasty_text() -> st.SearchStrategy[str]:
    """Curated hostile strings, random unicode (no surrogates: they cannot be UTF-8) and
    combinations of the two."""
    curated = st.sampled_from(NASTY_STRINGS)
    return st.one_of(
        curated,
        curated,
        st.text(max_size=40),
        st.text(st.characters(codec="utf-8"), max_size=12),
        st.builds(lambda a, b: a + b, curated, st.text(max_size=8)),
    )


def nasty_numbers() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.sampled_from(NASTY_NUMBERS),
        st.floats(),
        st.integers(),
        st.decimals(),
        st.decimals(places=8),
    )


def nasty_values() -> st.SearchStrategy[Any]:
    """Anything a JSON document or a careless caller could put in a field."""
    scalar = st.one_of(nasty_text(), nasty_numbers(), st.none())
    return st.one_of(
        scalar,
        scalar,
        scalar,
        st.lists(scalar, max_size=3),
        st.dictionaries(nasty_text(), scalar, max_size=3),
    )


def assert_one_line(message: str, what: str = "message") -> None:
    """One clear line: not empty, no line break of any kind, not a wall of text (each
    of the problems it joins with "; " is short: a long value is quoted cut short)."""
    assert message.strip(), f"empty {what}"
    assert len(message.splitlines()) == 1, f"{what} spans lines: {message[:2000]!r}"
    longest = max(message.split("; "), key=len)
    assert len(longest) <= 300, f"{what} has a part of {len(longest)} characters: {longest[:300]!r}"


def invoke(*args: str, cwd: Path | None = None) -> tuple[int, str, str]:
    """`eventdeck ARGS` through the script's entry point; (exit code, stdout, stderr)."""
    runner = CliRunner()
    env = {"EVENTDECK_DB": None, "EVENTDECK_USER": "fuzz", "EVENTDECK_DEBUG": None}
    here = os.getcwd()
    with runner.isolation(env=env) as (out, err, _):
        if cwd is not None:
            os.chdir(cwd)
        try:
            main(list(args))
            code = 0
        except SystemExit as exit:
            code = exit.code if isinstance(exit.code, int) else (0 if exit.code is None else 1)
        finally:
            os.chdir(here)
    return code, out.getvalue().decode(errors="replace"), err.getvalue().decode(errors="replace")
