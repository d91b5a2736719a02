"""Console fixtures: one deterministic demo store per session, a fresh copy per test."""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from console.screenshots import DEMO_DB, build_demo_store


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo store, seeded once (about 400 events, fixed seed, clock and ids).

    The dead letters' tracebacks name source lines of the projections; they are
    set to line 1 here, so that moving code in core/ does not change the
    dead-letters snapshot (which is about the screen, not the code's layout).
    """
    folder = tmp_path_factory.mktemp("demo-template")
    path = asyncio.run(build_demo_store(folder))
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        rows = db.execute("SELECT id, traceback FROM dead_letters").fetchall()
        assert rows, "the demo store should hold dead letters to look at"
        for letter, trace in rows:
            fixed = re.sub(r'(File "[^"]*", line )\d+', r"\g<1>1", trace)
            db.execute("UPDATE dead_letters SET traceback = ? WHERE id = ?", (fixed, letter))
    return path


@pytest.fixture
def demo_db(demo_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A private copy of the demo store, opened by its relative name from `tmp_path`.

    The relative name keeps the store's location (shown in the header and on the
    dashboard) the same in every run, so snapshots compare.
    """
    for suffix in ("", "-wal", "-shm"):
        source = demo_template.with_name(demo_template.name + suffix)
        if source.exists():
            shutil.copy(source, tmp_path / (DEMO_DB + suffix))
    monkeypatch.chdir(tmp_path)
    yield DEMO_DB


@pytest.fixture(autouse=True)
async def no_store_call_left_behind() -> AsyncIterator[None]:
    """After a test, nothing the console started may still run (a query cut short by a
    cancelled worker once left a connection closing forever, hanging the event loop)."""
    yield
    current = asyncio.current_task()
    for _ in range(40):
        left = [task for task in asyncio.all_tasks() if task is not current and not task.done()]
        if not left:
            return
        await asyncio.sleep(0.05)
    pytest.fail(f"tasks still running after the console closed: {left}")
