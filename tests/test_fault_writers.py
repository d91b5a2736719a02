"""Writer processes SIGKILLed at random moments lose nothing committed and break nothing.

Four processes issue demo commands through the command bus at once (deposits and
withdrawals on four shared accounts, so they conflict, and orders of their own);
each is killed with SIGKILL after a random number of commands (seeded), twice over,
then a last round runs to its end. Afterwards, whatever the moments were:

- every stream's versions are contiguous from 1 and the streams table agrees,
  positions strictly increase, no event is stored twice;
- every command a writer acknowledged (printed after the bus returned) is stored,
  with its events at the versions it was told; a writer has at most the one command
  it was running when killed stored without acknowledgement, and one that was not
  killed has exactly what it acknowledged;
- a catch-up (projections and the fulfilment saga) leaves read models equal to a
  clean rebuild, account balances equal the money events, and the saga sent no
  command twice.

SQLite (one file, four processes) and PostgreSQL (EVENTDECK_TEST_PG_URL).
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pytest

from console.bootstrap import open_system
from core.domain.commands import OpenAccount
from tests.fault_helpers import (
    assert_audit_log_complete,
    read_models,
    rebuilt_read_models,
    saga_duplicates,
    store_integrity,
    without_sagas,
)
from tests.fault_writer import ACCOUNTS

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
WRITERS = 4
#: Commands a writer would issue if left alone (killed ones stop long before).
COUNT = 400
#: Commands of the last round, which runs to its end.
LAST_ROUND = 40
#: Seconds any writer process may take.
PROCESS_TIMEOUT = 180.0


@dataclass
class Writer:
    """One writer process and what it printed."""

    name: str
    kill_after: int | None  # lines of output (commands done) before the kill; None: never
    delay: float = 0.0
    acks: list[tuple[str, int, list[str]]] = field(default_factory=list)
    killed: bool = False
    finished: bool = False
    returncode: int | None = None
    stderr: str = ""


def run_writer(url: str, writer: Writer, seed: int, count: int) -> None:
    """Run one writer; SIGKILL it `writer.delay` s after its `kill_after`-th command."""
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.fault_writer", url, writer.name, str(seed), str(count)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
        timer = threading.Timer(PROCESS_TIMEOUT, proc.kill)  # never hang the suite
        timer.start()
        try:
            assert proc.stdout is not None
            commands = 0
            for line in proc.stdout:
                word, *rest = line.split()
                if word == "ack":
                    writer.acks.append((rest[0], int(rest[1]), rest[2:]))
                if word in ("ack", "refused", "conflict"):
                    commands += 1
                if word == "done":
                    writer.finished = True
                due = writer.kill_after is not None and commands >= writer.kill_after
                if due and not writer.killed:
                    time.sleep(writer.delay)  # in the middle of a later command
                    os.kill(proc.pid, signal.SIGKILL)
                    writer.killed = True
                # after the kill: what it printed before dying is still in the pipe
            writer.returncode = proc.wait(timeout=PROCESS_TIMEOUT)
        finally:
            timer.cancel()
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)
        err.seek(0)
        writer.stderr = err.read()


def write_round(url: str, rng: random.Random, round_no: int, *, kill: bool) -> list[Writer]:
    writers = [
        Writer(
            f"w{round_no}-{i}",
            rng.randint(2, 60) if kill else None,
            rng.uniform(0.0, 0.02),
        )
        for i in range(WRITERS)
    ]
    threads = [
        threading.Thread(
            target=run_writer,
            args=(url, w, rng.randrange(1 << 30), COUNT if kill else LAST_ROUND),
        )
        for w in writers
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(PROCESS_TIMEOUT + 60)
        assert not thread.is_alive(), "a writer thread hung"
    for w in writers:
        if not w.killed:  # ran to its end
            assert w.returncode == 0 and w.finished, (w.name, w.returncode, w.stderr[-2000:])
            assert "Traceback" not in w.stderr, w.stderr[-2000:]
    return writers


async def open_accounts(url: str) -> None:
    system = await open_system(url)
    try:
        for account in ACCOUNTS:
            await system.bus.dispatch(OpenAccount(owner="ops", account_id=account), user_id="ops")
    finally:
        await system.close()


async def check_after_kills(url: str, writers: list[Writer]) -> None:
    system = await open_system(url)
    try:
        records = await store_integrity(system.store)
        by_id = {r.event_id: r for r in records}
        for w in writers:
            # every acknowledged command is stored, on its stream, at the versions told
            for stream, version, ids in w.acks:
                stored = [by_id.get(i) for i in ids]
                assert all(r is not None for r in stored), (w.name, stream, version)
                assert [(r.stream_id, r.version) for r in stored if r is not None] == [
                    (stream, v) for v in range(version - len(ids) + 1, version + 1)
                ]
            # and nothing else of it, but the command in flight when it was killed
            acked = {i for _, _, ids in w.acks for i in ids}
            unacked = {
                r.metadata.correlation_id
                for r in records
                if r.metadata.user_id == w.name and r.event_id not in acked
            }
            assert len(unacked) <= (1 if w.killed else 0), (w.name, unacked)

        summaries = await system.projections.catch_up()
        assert {s.status for s in summaries} == {"caught-up"}, summaries
        head = await system.store.head_position()
        records = await store_integrity(system.store)
        assert saga_duplicates(records) == []
        models = await read_models(system)
        assert_audit_log_complete(models, records)  # PostgreSQL may skip positions
        money: dict[str, Decimal] = defaultdict(Decimal)
        for r in records:
            if r.type == "MoneyDeposited":
                money[r.stream_id] += Decimal(r.data["amount"])
            elif r.type == "MoneyWithdrawn":
                money[r.stream_id] -= Decimal(r.data["amount"])
        balances = models["account-balances"]
        assert {a: Decimal(balances[a]["balance"]) for a in ACCOUNTS} == {
            a: money[a] for a in ACCOUNTS
        }
        assert models["dead"] == []
        assert await rebuilt_read_models(system, below=head) == without_sagas(models, below=head)
    finally:
        await system.close()


async def killed_writers_lose_nothing(url: str, seed: int) -> None:
    await open_accounts(url)
    rng = random.Random(seed)
    writers: list[Writer] = []
    for round_no in range(2):
        writers += await asyncio.to_thread(write_round, url, rng, round_no, kill=True)
    writers += await asyncio.to_thread(write_round, url, rng, 2, kill=False)
    assert sum(w.killed for w in writers) == 2 * WRITERS
    assert sum(len(w.acks) for w in writers) > WRITERS * 4
    await check_after_kills(url, writers)


@pytest.mark.parametrize("seed", [11])
async def test_writers_killed_at_random_moments_on_sqlite(tmp_path: Path, seed: int) -> None:
    await killed_writers_lose_nothing(str(tmp_path / "events.db"), seed)


@pytest.mark.postgres
@pytest.mark.parametrize("seed", [12])
async def test_writers_killed_at_random_moments_on_postgresql(empty_pg: str, seed: int) -> None:
    await killed_writers_lose_nothing(empty_pg, seed)
