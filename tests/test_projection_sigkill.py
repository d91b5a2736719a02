"""A worker killed with SIGKILL at any moment of a catch-up or a rebuild, then restarted,
ends with read models identical to an uninterrupted run: nothing applied twice,
nothing skipped (SQLite file, ~20,000 events, dead letters present).

The counter projection records every version it applied per stream and the echo
projection refuses to apply an event twice, so a double or missing application
shows up as a difference from the reference run.
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

from core.clock import SystemClock
from stores import SqlProjectionStore, open_stores
from tests.projection_fixtures import (
    CounterProjection,
    EchoProjection,
    documents,
    fast_config,
    make_engine,
    new_counted,
    new_noted,
)

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
EVENTS = 20_000
STREAMS = 200
POISON = {("s7", 5), ("s42", 60)}
LEASE_SECONDS = 0.5

_WORKER = textwrap.dedent(
    """
    import asyncio, sys
    from core.clock import SystemClock
    from stores import SqlProjectionStore, open_stores
    from tests.projection_fixtures import CounterProjection, EchoProjection, fast_config, make_engine

    async def main(url, mode, lease):
        events, _ = await open_stores(url)
        store = SqlProjectionStore(events.engine)
        config = fast_config(batch_size=500, lease_seconds=float(lease), lease_wait=30.0)
        engine = make_engine(
            [CounterProjection(), EchoProjection()], events, store, clock=SystemClock(),
            config=config,
        )
        print("ready", flush=True)
        if mode == "catch-up":
            await engine.catch_up(on_batch=lambda name, result: print("batch", flush=True))
        else:
            await engine.rebuild(None, user="ops", progress=lambda p: print("batch", flush=True))
        await events.close()
        print("done", flush=True)

    asyncio.run(main(*sys.argv[1:]))
    """
)


async def write_events(url: str) -> None:
    events, _ = await open_stores(url)
    try:
        per_append = 25
        versions: dict[str, int] = {}
        rounds = EVENTS // (STREAMS * per_append)
        for _ in range(rounds):
            for s in range(STREAMS):
                stream = f"s{s}"
                version = versions.get(stream, 0)
                batch = [
                    new_counted(version + i, poison=(stream, version + i + 1) in POISON)
                    if i % 10
                    else new_noted()
                    for i in range(per_append)
                ]
                await events.append(stream, "Counter", batch, version)
                versions[stream] = version + per_append
    finally:
        await events.close()


async def read_models(url: str) -> dict[str, Any]:
    events, _ = await open_stores(url)
    try:
        store = SqlProjectionStore(events.engine)
        dead = [
            (d.projection, d.position, d.stream_id, d.status.value, d.parked)
            for d in await store.dead_letters()
        ]
        checkpoints = await store.checkpoints()
        return {
            "counter": await documents(store, "counter"),
            "echo": await documents(store, "echo"),
            "dead": dead,
            "generations": sorted((c.name, c.status.value) for c in checkpoints),
        }
    finally:
        await events.close()


def run_worker(url: str, mode: str, *, kill_at: tuple[int, float] | None = None) -> bool:
    """Run a worker process to completion, or SIGKILL it `kill_at[1]` seconds after its
    `kill_at[0]`-th batch (in the middle of the next one, or of its commit).
    Whether it was killed (False: it finished first)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _WORKER, url, mode, str(LEASE_SECONDS)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready", proc.stderr.read() if proc.stderr else ""
    if kill_at is not None:
        batches, delay = kill_at
        for line in proc.stdout:
            if line.strip() == "batch":
                batches -= 1
                if batches <= 0:
                    time.sleep(delay)
                    os.kill(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=30)
                    return True
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert out.strip().endswith("done"), (out, err)
    return False


def random_moment(rng: random.Random, batches: int) -> tuple[int, float]:
    # a batch of 500 events takes some 20-100 ms: anywhere in reading, applying, committing
    return rng.randint(1, batches), rng.uniform(0.0, 0.1)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file with the events only (copied by each test)."""
    path = tmp_path_factory.mktemp("sigkill") / "events.db"
    asyncio.run(write_events(str(path)))
    return path


@pytest.fixture(scope="module")
def reference(
    seeded: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, Any], float]:
    """The read models after one uninterrupted catch-up, and how long it took."""
    path = tmp_path_factory.mktemp("reference") / "events.db"
    shutil.copy(seeded, path)
    started = time.monotonic()
    run_worker(str(path), "catch-up")
    return asyncio.run(read_models(str(path))), time.monotonic() - started


def test_reference_run_has_dead_letters_and_parked_events(
    reference: tuple[dict[str, Any], float],
) -> None:
    models, _ = reference
    assert [(d[0], d[2]) for d in models["dead"]] == [("counter", "s7"), ("counter", "s42")]
    assert all(d[4] > 0 for d in models["dead"])  # events parked behind both
    assert len(models["echo"]) == EVENTS


@pytest.mark.parametrize("seed", [1, 2])
def test_catch_up_killed_at_random_moments_ends_like_an_uninterrupted_run(
    seeded: Path, reference: tuple[dict[str, Any], float], tmp_path: Path, seed: int
) -> None:
    models, _ = reference
    path = tmp_path / "events.db"
    shutil.copy(seeded, path)
    rng = random.Random(seed)
    # ~80 batches in all (two projections, 500 events each): kill three times part-way
    for _ in range(3):
        assert run_worker(str(path), "catch-up", kill_at=random_moment(rng, 25))
    run_worker(str(path), "catch-up")
    assert asyncio.run(read_models(str(path))) == models


@pytest.mark.parametrize("seed", [3])
def test_rebuild_killed_at_random_moments_ends_like_an_uninterrupted_run(
    seeded: Path, reference: tuple[dict[str, Any], float], tmp_path: Path, seed: int
) -> None:
    models, _ = reference
    path = tmp_path / "events.db"
    shutil.copy(seeded, path)
    run_worker(str(path), "catch-up")
    rng = random.Random(seed)
    assert run_worker(str(path), "rebuild", kill_at=random_moment(rng, 70))
    assert run_worker(str(path), "rebuild", kill_at=random_moment(rng, 70))
    run_worker(str(path), "rebuild")
    assert asyncio.run(read_models(str(path))) == models


async def test_the_killed_rebuild_left_the_old_generation_serving(
    seeded: Path, tmp_path: Path
) -> None:
    path = tmp_path / "events.db"
    shutil.copy(seeded, path)
    run_worker(str(path), "catch-up")
    before = await read_models(str(path))
    assert run_worker(str(path), "rebuild", kill_at=(10, 0.0))
    events, _ = await open_stores(str(path))
    try:
        store = SqlProjectionStore(events.engine)
        engine = make_engine(
            [CounterProjection(), EchoProjection()],
            events,
            store,
            clock=SystemClock(),
            config=fast_config(),
        )
        assert await documents(store, "counter") == before["counter"]
        states = {s.name: s for s in await engine.status()}
        assert any(s.rebuild is not None for s in states.values())
    finally:
        await events.close()
