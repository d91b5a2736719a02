"""Running the real `eventdeck` command in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

SCRIPT = Path(sys.executable).parent / "eventdeck"


def eventdeck_argv() -> list[str]:
    """The installed console script if present, else `python -m console` (same entry point)."""
    return [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "console"]


def run_cli(
    db: str | Path, *args: str, user: str = "tester", check: bool = False, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVENTDECK_")}
    env["EVENTDECK_USER"] = user
    result = subprocess.run(
        [*eventdeck_argv(), "--db", str(db), *args],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"eventdeck {' '.join(args)} failed: {result.stderr}")
    return result


def run_json(db: str | Path, *args: str, user: str = "tester") -> Any:
    result = run_cli(db, *args, "--json", user=user, check=True)
    return json.loads(result.stdout)


def run_json_lines(db: str | Path, *args: str) -> list[Any]:
    result = run_cli(db, *args, "--json", check=True)
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    """A refusal: non-zero exit, nothing on stdout, one `error:` line on stderr, no traceback."""
    assert result.returncode != 0, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
