"""The layering of DESIGN.md: core imports no SQL/Textual, stores no Textual."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


def imported_modules(statement: str) -> set[str]:
    code = f"{statement}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return {name.split(".")[0] for name in json.loads(out.stdout)}


@pytest.mark.parametrize(
    ("statement", "forbidden"),
    [
        (
            (
                "import core.domain, core.repository, core.commands, core.time_travel, "
                "core.domain.demo_data"
            ),
            {"sqlalchemy", "textual", "aiosqlite", "asyncpg", "stores", "console"},
        ),
        ("import stores, stores.event_store, stores.snapshot_store", {"textual", "console"}),
    ],
)
def test_layers_import_only_what_they_may(statement: str, forbidden: set[str]) -> None:
    leaked = imported_modules(statement) & forbidden
    assert not leaked, f"{statement!r} pulled in {sorted(leaked)}"


def test_cli_does_not_import_textual_for_plain_commands() -> None:
    modules = imported_modules(
        "import console.cli, console.cli_reads, console.cli_commands, console.cli_seed"
    )
    assert "textual" not in modules
