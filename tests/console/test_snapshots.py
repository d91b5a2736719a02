"""What the operator sees, screen by screen, at 120x40 (SVG snapshots).

The flows are the screenshot script's `VISITS`, on the same deterministic demo
store with a still clock, seeded ids and no cursor blink. Regenerate after a
deliberate change with `pytest tests/console/test_snapshots.py --snapshot-update`
and look at `snapshot_report.html` before committing.
"""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot

from console.screenshots import SIZE, VISITS, demo_app, open_console


@pytest.mark.parametrize("name", list(VISITS))
def test_screen(name: str, demo_db: str, snap_compare: Any) -> None:
    assert snap_compare(demo_app(demo_db), terminal_size=SIZE, run_before=VISITS[name])


def test_read_only_banner(demo_db: str, snap_compare: Any) -> None:
    async def commands(pilot: Pilot[None]) -> None:
        await open_console(pilot)
        await pilot.press("c")
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()

    assert snap_compare(demo_app(demo_db, read_only=True), terminal_size=SIZE, run_before=commands)
