"""Several OS processes appending to one stream: the multi-process store tests' writer."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from core.ports import EventStore

REPO = Path(__file__).resolve().parent.parent

_WRITER_SCRIPT = textwrap.dedent(
    """
    import asyncio, sys, uuid
    from datetime import UTC, datetime
    from core.errors import ConcurrencyError
    from core.events import NewEvent
    from stores import open_stores

    async def main(url, stream_id, worker, count):
        store, _ = await open_stores(url)
        try:
            for n in range(count):
                event = NewEvent(
                    event_id=str(uuid.uuid4()), type="Counted", schema_version=1,
                    data={"worker": worker, "n": n}, recorded_at=datetime.now(UTC),
                )
                while True:
                    info = await store.stream_info(stream_id)
                    try:
                        await store.append(stream_id, "counter", [event], info.version if info else 0)
                        break
                    except ConcurrencyError:
                        await asyncio.sleep(0.001)
        finally:
            await store.close()

    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
    """
)


def append_from_processes(url: str, stream_id: str, processes: int, each: int) -> None:
    """Run `processes` OS processes, each appending `each` events to one stream with retries."""
    running = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER_SCRIPT, url, stream_id, str(worker), str(each)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for worker in range(processes)
    ]
    failures = []
    for proc in running:
        _, err = proc.communicate(timeout=120)
        if proc.returncode != 0:
            failures.append(f"exit {proc.returncode}: {err.strip()[-2000:]}")
    assert not failures, "\n".join(failures)


async def assert_all_process_events_present(
    es: EventStore, stream_id: str, processes: int, each: int
) -> None:
    """Every process's events are in the stream exactly once, versions 1..N."""
    stored = await es.read_stream(stream_id)
    assert [e.version for e in stored] == list(range(1, processes * each + 1))
    assert sorted((e.data["worker"], e.data["n"]) for e in stored) == [
        (w, n) for w in range(processes) for n in range(each)
    ]
    for worker in range(processes):  # each process's own events stay in its order
        mine = [e.data["n"] for e in stored if e.data["worker"] == worker]
        assert mine == list(range(each))
