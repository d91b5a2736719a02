"""A process retrying every dead letter (`DeadLetterDesk.retry_all`, what `dlq retry
--all` runs), SIGKILLed at random moments and started again until it finishes, ends
exactly like one uninterrupted run: the same dead letters in the same states with the
same attempts, the same read models (the counter keeps every version it applied per
stream, the echo refuses an event twice), nothing applied twice, nothing lost.

SQLite file: 2,400 events on 60 streams, 30 dead letters with events parked behind
them; the retrying process has the fix (poison no longer
fails), so every retry succeeds and releases what was parked.
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from stores import SqlProjectionStore, open_stores
from tests.projection_fixtures import (
    CounterProjection,
    EchoProjection,
    documents,
    make_engine,
    new_counted,
)

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
STREAMS = 60
PER_STREAM = 40
#: (stream, version) of the poison events: one dead letter on every other stream, with the
#: stream's later events parked behind it.
POISON = {(f"s{s}", (s * 7) % (PER_STREAM - 2) + 1) for s in range(0, STREAMS, 2)}
#: Seconds any desk process may take.
PROCESS_TIMEOUT = 180.0

_DESK = textwrap.dedent(
    """
    import asyncio, sys
    from core.clock import SystemClock
    from stores import SqlProjectionStore, open_stores
    from tests.projection_fixtures import CounterProjection, EchoProjection, fast_config, make_engine

    class Announcing(SqlProjectionStore):
        async def commit(self, batch):
            result = await super().commit(batch)
            print("commit", flush=True)
            return result

    async def main(url):
        events, _ = await open_stores(url)
        counter = CounterProjection()
        counter.poisoned = False  # the fix is deployed
        engine = make_engine(
            [counter, EchoProjection()], events, Announcing(events.engine),
            clock=SystemClock(), config=fast_config(),
        )
        print("ready", flush=True)
        outcomes = await engine.dead_letters.retry_all(user="ops")
        assert all(o.succeeded for o in outcomes), outcomes
        await events.close()
        print("done", len(outcomes), flush=True)

    asyncio.run(main(sys.argv[1]))
    """
)


async def seed(url: str) -> None:
    """The events, then one catch-up with the poison failing: dead letters, parked events."""
    events, _ = await open_stores(url)
    try:
        for round_no in range(PER_STREAM // 4):
            for s in range(STREAMS):
                stream, start = f"s{s}", round_no * 4
                batch = [
                    new_counted(start + i, poison=(stream, start + i + 1) in POISON)
                    for i in range(4)
                ]
                await events.append(stream, "Counter", batch, start)
        store = SqlProjectionStore(events.engine)
        engine = make_engine([CounterProjection(), EchoProjection()], events, store)
        await engine.catch_up()
    finally:
        await events.close()


async def state(url: str) -> dict[str, Any]:
    events, _ = await open_stores(url)
    try:
        store = SqlProjectionStore(events.engine)
        audit = [
            (e.type, e.data["dead_letter_id"], e.data["released"], e.metadata.user_id)
            async for e in events.read_all()
            if e.stream_type != "Counter"
        ]
        return {
            "dead": [
                (d.id, d.projection, d.position, d.stream_id, d.status.value, d.attempts, d.parked)
                for d in await store.dead_letters()
            ],
            "counter": await documents(store, "counter"),
            "echo": await documents(store, "echo"),
            "checkpoints": [
                (c.name, c.generation, c.position, c.status.value)
                for c in await store.checkpoints()
            ],
            "audit": sorted(audit),
        }
    finally:
        await events.close()


def run_desk(url: str, *, kill_at: tuple[int, float] | None = None) -> bool:
    """Run the desk to its end, or SIGKILL it `kill_at[1]` s after its `kill_at[0]`-th
    commit (in a later retry, or right after a commit); whether it
    was killed (False: it finished first)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _DESK, url],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + PROCESS_TIMEOUT
        assert proc.stdout.readline().strip() == "ready"
        commits = 0
        for line in proc.stdout:
            assert time.monotonic() < deadline, "the desk process took too long"
            if line.strip() == "commit":
                commits += 1
                if kill_at is not None and commits >= kill_at[0]:
                    time.sleep(kill_at[1])
                    os.kill(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=30)
                    return True
        _, err = proc.communicate(timeout=PROCESS_TIMEOUT)
        assert proc.returncode == 0, err
        return False
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("dlq") / "events.db"
    asyncio.run(seed(str(path)))
    return path


@pytest.fixture(scope="module")
def reference(seeded: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The state after one uninterrupted retry of every dead letter."""
    path = tmp_path_factory.mktemp("dlq-reference") / "events.db"
    shutil.copy(seeded, path)
    assert not run_desk(str(path))
    return asyncio.run(state(str(path)))


async def test_the_seeded_store_has_open_dead_letters_with_parked_events(seeded: Path) -> None:
    before = await state(str(seeded))
    assert len(before["dead"]) == len(POISON)
    assert {d[4] for d in before["dead"]} == {"open"}
    assert sum(d[6] for d in before["dead"]) > 100


def test_the_reference_run_retried_every_dead_letter(reference: dict[str, Any]) -> None:
    assert {d[4] for d in reference["dead"]} == {"retried"}
    assert len(reference["echo"]) == STREAMS * PER_STREAM
    counter = reference["counter"]
    assert all(counter[f"s{s}"]["seen"] == list(range(1, PER_STREAM + 1)) for s in range(STREAMS))
    assert len(reference["audit"]) == len(POISON)


@pytest.mark.parametrize("seed", [21, 22])
def test_retry_all_killed_at_random_moments_ends_like_an_uninterrupted_run(
    seeded: Path, reference: dict[str, Any], tmp_path: Path, seed: int
) -> None:
    path = tmp_path / "events.db"
    shutil.copy(seeded, path)
    rng = random.Random(seed)
    kills = 3  # each after at most 8 of the 30 retries: all three land before the end
    for _ in range(kills):
        assert run_desk(str(path), kill_at=(rng.randint(1, 8), rng.uniform(0.0, 0.03)))
    run_desk(str(path))
    after = asyncio.run(state(str(path)))
    # the operator trail included: each retry's operator event is written by the
    # retry's own commit, so a kill anywhere neither loses one nor adds one
    assert after == reference
