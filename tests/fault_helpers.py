"""What the fault tests check after processes were killed or the server went away.

- `store_integrity`: every stream's versions contiguous from 1 (and the streams table
  agreeing), positions strictly increasing, no event id twice.
- `read_models` / `rebuilt_read_models`: the demo read models as the runner left them,
  and as a clean rebuild (a new generation replayed from position 0) makes them.
- `saga_duplicates`: commands a saga sent twice for one event.
- `Reader`: a subprocess's output lines read in a thread, with bounded waits.
"""

from __future__ import annotations

import asyncio
import queue
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from itertools import pairwise
from pathlib import Path
from typing import IO, Any

from console.bootstrap import System
from core.domain.projections import DEMO_PROJECTIONS, DEMO_SAGAS
from core.events import RecordedEvent
from core.ports import EventStore

VIEWS = [p.name for p in DEMO_PROJECTIONS]
SAGA_VIEWS = [s.name for s in DEMO_SAGAS]


async def store_integrity(events: EventStore) -> list[RecordedEvent]:
    """Every event, after checking the store's invariants."""
    records = [record async for record in events.read_all()]
    positions = [r.position for r in records]
    assert all(a < b for a, b in pairwise(positions)), "positions"
    ids = Counter(r.event_id for r in records)
    assert not [i for i, n in ids.items() if n > 1], "an event id stored twice"
    versions: dict[str, list[int]] = defaultdict(list)
    for record in records:
        versions[record.stream_id].append(record.version)
    for stream, seen in versions.items():
        assert seen == list(range(1, len(seen) + 1)), f"{stream}: versions {seen}"
    streams = {s.stream_id: s.version for s in await events.list_streams()}
    assert streams == {stream: len(seen) for stream, seen in versions.items()}
    return records


def saga_duplicates(records: list[RecordedEvent]) -> list[tuple[str, str, str]]:
    """(stream, causing event id, type) written more than once: a command a saga sent
    twice for the same event (commands issued by people cause themselves)."""
    ids = {r.event_id for r in records}
    caused = Counter(
        (r.stream_id, r.metadata.causation_id, r.type)
        for r in records
        if r.metadata.causation_id in ids
    )
    return [(s, c or "", t) for (s, c, t), n in caused.items() if n > 1]


def assert_audit_log_complete(models: dict[str, Any], records: list[RecordedEvent]) -> None:
    """One audit-log row per stored event, and none for a position without an event
    (PostgreSQL leaves a position unused when a transaction dies after taking it)."""
    keys = {int(key) for key in models["audit-log"]}
    positions = {r.position for r in records}
    missing = [
        (r.position, r.stream_id, r.version, r.type) for r in records if r.position not in keys
    ]
    extra = sorted(keys - positions)
    assert not missing and not extra, (
        f"audit log: no row for {missing[:10]}, rows for no event {extra[:10]}, "
        f"dead letters {models['dead']}"
    )


async def read_models(system: System, *, sagas: bool = True) -> dict[str, Any]:
    """Every demo read model (and saga state) of the active generations, and the dead
    letters by projection, position and status."""
    store = system.projection_store
    views = VIEWS + (SAGA_VIEWS if sagas else [])
    models: dict[str, Any] = {view: dict(await store.list_documents(view)) for view in views}
    models["dead"] = sorted(
        (d.projection, d.position, d.stream_id, d.status.value, d.attempts, d.parked)
        for d in await store.dead_letters()
    )
    return models


async def rebuilt_read_models(system: System, *, below: int) -> dict[str, Any]:
    """The demo read models after a clean rebuild of every projection; the audit log only
    up to position `below` (the rebuild records itself as operator events after it)."""
    await system.projections.rebuild(None, user="fault-test")
    models = await read_models(system, sagas=False)
    models["audit-log"] = {
        key: row for key, row in models["audit-log"].items() if int(key) <= below
    }
    return models


def without_sagas(models: dict[str, Any], *, below: int) -> dict[str, Any]:
    """`models` as `rebuilt_read_models` gives them (no saga state, audit log up to `below`)."""
    kept = {k: v for k, v in models.items() if k not in SAGA_VIEWS}
    kept["audit-log"] = {key: row for key, row in kept["audit-log"].items() if int(key) <= below}
    return kept


async def wait_until(predicate: Callable[[], Awaitable[bool]], timeout: float) -> float:
    """Seconds until `await predicate()` is true; an exception counts as not yet (the
    store may be unreachable for a while). Fails after `timeout`."""
    started = time.monotonic()
    last: BaseException | None = None
    while time.monotonic() - started < timeout:
        try:
            if await predicate():
                return time.monotonic() - started
        except Exception as exc:  # noqa: BLE001 - retried until the deadline
            last = exc
        await asyncio.sleep(0.1)
    raise AssertionError(f"not true within {timeout} s (last error: {last!r})")


class Reader:
    """Reads a stream's lines in a thread: `next_line(timeout)` never blocks forever."""

    def __init__(self, stream: IO[str]) -> None:
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.append(line.rstrip("\n"))
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def next_line(self, timeout: float) -> str | None:
        """The next line, None at the end; fails after `timeout` seconds."""
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no output line within {timeout} s") from None

    def join(self, timeout: float) -> list[str]:
        self._thread.join(timeout)
        return self.lines


def stop_process(proc: subprocess.Popen[str], timeout: float = 30.0) -> None:
    """Kill `proc` if still running and reap it."""
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=timeout)


#: The repository's root: scripts run there import the project as the tests do.
REPO = Path(__file__).resolve().parent.parent


def run_until_killed(script: str, *args: str) -> None:
    """Run `script` (python -c) with `args` in the repository; it must end by SIGKILL."""
    proc = subprocess.run(
        [sys.executable, "-c", script, *args],
        check=False,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == -9, proc.stderr
