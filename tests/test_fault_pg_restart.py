"""PostgreSQL restarted under a running `eventdeck worker`: it waits, reconnects and
resumes, with read models exactly as a clean rebuild makes them.

The server is a private one (tests/pg_private.py): restarting the shared test server
would cut every other test using it. It is stopped right after a burst of commands
(the worker is busy with them), kept down longer than a batch's own retries and the
worker's leases, and started again; more commands follow. The worker must never
exit nor print a traceback, must say once that the store is unreachable and once
that it is back, and must end with every projection caught up, nothing lost and
nothing applied or sent twice.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

from console.bootstrap import open_system
from core.domain.commands import OpenAccount
from core.errors import ConcurrencyError, InvalidTransition
from tests.cli_helpers import eventdeck_argv
from tests.fault_helpers import (
    Reader,
    assert_audit_log_complete,
    read_models,
    rebuilt_read_models,
    saga_duplicates,
    stop_process,
    store_integrity,
    wait_until,
    without_sagas,
)
from tests.fault_writer import ACCOUNTS, next_command
from tests.pg_private import PrivateServer

pytestmark = pytest.mark.slow

#: Seconds the server stays down: longer than a batch's retries (about 6 s) and a lease (5 s).
OUTAGE = 8.0


@pytest.fixture(scope="module")
def private_pg() -> Iterator[PrivateServer]:
    server, reason = PrivateServer.find()
    if server is None:
        pytest.skip(f"no private PostgreSQL server for the restart test: {reason}")
    problem = server.init()
    if problem:
        server.close()
        pytest.skip(f"cannot start a private PostgreSQL server for the restart test: {problem}")
    try:
        yield server
    finally:
        server.close()


async def write(url: str, name: str, seed: int, count: int, *, accounts: bool = False) -> int:
    """`count` demo commands as user `name`; how many wrote something."""
    system = await open_system(url)
    try:
        if accounts:
            for account in ACCOUNTS:
                await system.bus.dispatch(
                    OpenAccount(owner="ops", account_id=account), user_id=name
                )
        rng, orders, written = random.Random(seed), [], 0
        for n in range(count):
            try:
                await system.bus.dispatch(next_command(rng, name, n, orders), user_id=name)
            except (InvalidTransition, ConcurrencyError):
                continue
            written += 1
        return written
    finally:
        await system.close()


async def listening(system: Any) -> bool:
    """Some connection of the store's database is LISTENing for new events."""
    engine = system.store.inner.engine
    async with engine.connect() as conn:
        found = await conn.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND query ILIKE 'LISTEN%'"
            )
        )
    return bool(found)


async def test_a_worker_survives_a_postgresql_restart(private_pg: PrivateServer) -> None:
    url = private_pg.url
    await write(url, "before", 1, 0, accounts=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVENTDECK_")}
    env |= {"EVENTDECK_DB": url, "EVENTDECK_USER": "worker"}
    proc = await asyncio.to_thread(
        subprocess.Popen,
        [*eventdeck_argv(), "worker"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    log = Reader(proc.stderr)
    try:
        first = await asyncio.to_thread(log.next_line, 60)
        assert first is not None and first.startswith("worker: running"), first
        assert await write(url, "before", 2, 200) > 80

        await asyncio.to_thread(private_pg.stop)  # the worker is busy with the burst
        try:
            await asyncio.sleep(OUTAGE)
            assert proc.poll() is None, "\n".join(log.lines)
        finally:
            assert await asyncio.to_thread(private_pg.start) == ""  # never leave it down
        assert await write(url, "after", 3, 200) > 80

        system = await open_system(url)
        try:

            async def caught_up() -> bool:
                head = await system.store.head_position()
                states = await system.projections.status()
                return all(s.lag_events == 0 and s.head == head for s in states)

            await wait_until(caught_up, 120)
            assert proc.poll() is None, "\n".join(log.lines)
            # the worker LISTENs again (woken by notifications, not only by polls)
            await wait_until(lambda: listening(system), 30)
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=60) == 0, "\n".join(log.lines)
            lines = log.join(30)
            text = "\n".join(lines)
            assert "Traceback" not in text, text
            assert lines[-1] == "worker: stopped cleanly (checkpoints saved)", text
            # one line when the store went away, one when it came back
            went = [line for line in lines if "cannot use the store: cannot use PostgreSQL" in line]
            back = [line for line in lines if "the store answers again after" in line]
            assert len(went) == len(back) == 1, text
            assert lines.index(went[0]) < lines.index(back[0])

            head = await system.store.head_position()
            records = await store_integrity(system.store)
            assert saga_duplicates(records) == []
            models = await read_models(system)
            assert_audit_log_complete(models, records)
            assert models["dead"] == []
            money = {a: Decimal(0) for a in ACCOUNTS}
            for r in records:
                sign = {"MoneyDeposited": 1, "MoneyWithdrawn": -1}.get(r.type, 0)
                if sign:
                    money[r.stream_id] += sign * Decimal(r.data["amount"])
            balances = {a: Decimal(models["account-balances"][a]["balance"]) for a in ACCOUNTS}
            assert balances == money
            assert await rebuilt_read_models(system, below=head) == without_sagas(
                models, below=head
            )
        finally:
            await system.close()
    finally:
        await asyncio.to_thread(stop_process, proc)
        await asyncio.to_thread(private_pg.wait_ready)
