"""SQLite "database is locked" never reaches a user as a traceback.

With a very short busy timeout (EVENTDECK_SQLITE_BUSY_TIMEOUT), every `eventdeck`
write either succeeds or exits with one line naming the cause (the file stayed
locked by another writer) and what to do (retry, look for a stuck process, wait
longer), and writes nothing. First with the write lock held by another process the
whole time (each command must fail, deterministically), then with four processes
writing one file at once (seed, commands, catch-up, a live worker), whatever the
interleaving; the store stays consistent and its read models equal a clean rebuild.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from console.bootstrap import open_system
from stores.engine import BUSY_TIMEOUT_SECONDS, make_engine, profile_of
from tests.cli_helpers import assert_one_line_error, eventdeck_argv, run_cli
from tests.fault_helpers import (
    Reader,
    read_models,
    rebuilt_read_models,
    store_integrity,
    without_sagas,
)

pytestmark = pytest.mark.slow

BUSY = "EVENTDECK_SQLITE_BUSY_TIMEOUT"
TIMEOUT = 180.0


def env_with(busy: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVENTDECK_")}
    return env | {"EVENTDECK_USER": "tester", BUSY: busy}


def eventdeck(db: Path, *args: str, busy: str = "0.02") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*eventdeck_argv(), "--db", str(db), *args],
        capture_output=True,
        text=True,
        env=env_with(busy),
        timeout=TIMEOUT,
        check=False,
    )


def assert_success_or_one_locked_line(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr, result.stderr
    assert "unexpected" not in result.stderr, result.stderr
    if result.returncode != 0:
        assert_one_line_error(result, "locked by another writer", "Retry", BUSY)


@contextlib.contextmanager
def write_locked(db: Path) -> Iterator[None]:
    """Another process's write transaction held open (what a stuck writer does)."""
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        yield
        conn.execute("ROLLBACK")
    finally:
        conn.close()


def head(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        return int(conn.execute("SELECT coalesce(max(position), 0) FROM events").fetchone()[0])
    except sqlite3.OperationalError:  # no table yet
        return 0
    finally:
        conn.close()


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small demo store, caught up (with the seed's dead letters)."""
    db = tmp_path_factory.mktemp("locked") / "events.db"
    run_cli(db, "seed", "--orders", "20", "--accounts", "3", "--days", "2", check=True)
    run_cli(db, "cmd", "open-account", "--owner", "ann", "--account", "acc-lk", check=True)
    run_cli(db, "catch-up", check=True)
    return db


WRITES = [
    ("cmd", "deposit", "--account", "acc-lk", "--amount", "5"),
    ("cmd", "place-order", "--customer", "c-1", "--item", "WIDGET-1:1:9.99"),
    ("catch-up", "order-summary"),  # each projection retries ~7 s before it gives up
    ("rebuild", "order-summary"),
    ("pause", "audit-log"),
    ("dlq", "retry", "--all", "--yes"),
]


def test_every_write_on_a_locked_file_is_one_line_and_writes_nothing(
    seeded: Path, tmp_path: Path
) -> None:
    db = tmp_path / "events.db"
    for suffix in ("", "-wal"):
        if Path(f"{seeded}{suffix}").exists():
            Path(f"{db}{suffix}").write_bytes(Path(f"{seeded}{suffix}").read_bytes())
    run_cli(db, "cmd", "place-order", "--customer", "c-1", "--item", "W:1:1.00", check=True)
    before = head(db)
    dead = run_cli(db, "dlq", "--json").stdout
    with write_locked(db):
        for args in WRITES:
            result = eventdeck(db, *args, busy="0.05")
            assert_one_line_error(result, "locked by another writer", "Retry", BUSY)
    assert head(db) == before
    assert run_cli(db, "dlq", "--json").stdout == dead
    # seeding a new file that another process holds locked
    fresh = tmp_path / "fresh.db"
    run_cli(fresh, "streams", check=True)  # creates the schema
    with write_locked(fresh):
        result = eventdeck(fresh, "seed", "--orders", "5", "--accounts", "1", "--days", "1")
    assert_one_line_error(result, "locked by another writer", "seed again into a new file")


def test_a_bad_busy_timeout_is_one_line(tmp_path: Path) -> None:
    result = eventdeck(tmp_path / "events.db", "streams", busy="soon")
    assert_one_line_error(result, BUSY, "'soon'", "number of seconds")


async def test_the_busy_timeout_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(BUSY, "0.5")
    engine = make_engine(str(tmp_path / "events.db"))
    assert profile_of(engine).busy_timeout == 0.5
    await engine.dispose()
    monkeypatch.delenv(BUSY)
    engine = make_engine(str(tmp_path / "events.db"))
    assert profile_of(engine).busy_timeout == BUSY_TIMEOUT_SECONDS
    await engine.dispose()


def run_all(db: Path, commands: list[tuple[str, ...]], results: list[object]) -> None:
    for args in commands:
        results.append((args, eventdeck(db, *args)))


def test_four_processes_on_one_file_with_a_short_busy_timeout(tmp_path: Path) -> None:
    db = tmp_path / "events.db"
    results: list[object] = []
    seed = subprocess.Popen(
        [*eventdeck_argv(), "--db", str(db), "seed", "--orders", "120", "--accounts", "10"]
        + ["--days", "4", "--seed", "5"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env_with("0.02"),
    )
    deadline = time.monotonic() + 60
    while head(db) == 0 and seed.poll() is None:  # the seed needs an empty store to start
        assert time.monotonic() < deadline, "the seed did not start"
        time.sleep(0.05)
    worker = subprocess.Popen(
        [*eventdeck_argv(), "--db", str(db), "worker", "customer-dashboard", "sales-analytics"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env_with("0.02"),
    )
    assert worker.stderr is not None
    worker_log = Reader(worker.stderr)
    commands = [("cmd", "open-account", "--owner", "lee", "--account", "acc-lk")] + [
        ("cmd", "deposit", "--account", "acc-lk", "--amount", f"{n}.25") for n in range(1, 6)
    ]
    catch_ups = [("catch-up", "order-summary", "account-balances", "audit-log")] * 3
    threads = [
        threading.Thread(target=run_all, args=(db, commands, results)),
        threading.Thread(target=run_all, args=(db, catch_ups, results)),
    ]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(TIMEOUT * 3)
            assert not thread.is_alive()
        _, seed_err = seed.communicate(timeout=TIMEOUT)
        assert_success_or_one_locked_line(
            subprocess.CompletedProcess(seed.args, seed.returncode, "", seed_err)
        )
        assert worker.poll() is None, "\n".join(worker_log.lines)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=60) == 0, "\n".join(worker_log.lines)
        log = worker_log.join(30)
        assert "Traceback" not in "\n".join(log)
        assert log[-1] == "worker: stopped cleanly (checkpoints saved)"
    finally:
        for proc in (seed, worker):
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)
    assert len(results) == len(commands) + len(catch_ups)
    for _, result in results:
        assert isinstance(result, subprocess.CompletedProcess)
        assert_success_or_one_locked_line(result)

    async def consistent() -> None:
        system = await open_system(str(db))
        try:
            await store_integrity(system.store)
            summaries = await system.projections.catch_up()
            assert {s.status for s in summaries} == {"caught-up"}
            top = await system.store.head_position()
            models = await read_models(system)
            assert await rebuilt_read_models(system, below=top) == without_sagas(models, below=top)
        finally:
            await system.close()

    asyncio.run(consistent())
