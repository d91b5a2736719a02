"""Many concurrent commands on one stream through the command bus and the SQL stores:
each succeeds after bounded retries or fails with a conflict; nothing is lost."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest

from console.bootstrap import open_system
from core.domain.commands import Deposit, OpenAccount
from core.errors import ConcurrencyError
from tests.cli_helpers import run_cli, run_json


async def deposit_concurrently(url: str, senders: int, systems: int) -> None:
    opened = [await open_system(url) for _ in range(systems)]
    try:
        await opened[0].bus.dispatch(OpenAccount(owner="Ann", account_id="acc-1"), user_id="t")

        async def send(i: int) -> Decimal:
            system = opened[i % systems]
            try:
                await system.bus.dispatch(
                    Deposit(account_id="acc-1", amount=Decimal(i + 1)), user_id=f"sender-{i}"
                )
            except ConcurrencyError as exc:
                assert "acc-1" in str(exc) and "attempts" in str(exc)
                return Decimal(0)
            return Decimal(i + 1)

        amounts = await asyncio.gather(*(send(i) for i in range(senders)))
        succeeded = [a for a in amounts if a]
        assert len(succeeded) >= senders * 3 // 4, "retries should let most commands through"
        records = await opened[0].store.read_stream("acc-1")
        assert [r.version for r in records] == list(range(1, len(succeeded) + 2))
        assert {r.metadata.user_id for r in records[1:]} == {
            f"sender-{i}" for i, a in enumerate(amounts) if a
        }
        state = await opened[0].time_travel.state("acc-1")
        assert Decimal(state.state["balance"]) == sum(succeeded)
    finally:
        for system in opened:
            await system.close()


async def test_many_tasks_on_one_stream_sqlite(tmp_path: Path) -> None:
    await deposit_concurrently(str(tmp_path / "store.db"), senders=32, systems=4)


@pytest.mark.postgres
async def test_many_tasks_on_one_stream_postgres(empty_pg: str) -> None:
    await deposit_concurrently(empty_pg, senders=32, systems=4)


@pytest.mark.postgres
def test_cli_time_travel_on_postgres(empty_pg: str) -> None:
    run_cli(
        empty_pg,
        "seed",
        "--orders",
        "20",
        "--accounts",
        "3",
        "--days",
        "4",
        "--end",
        "2026-11-01T00:00:00Z",
        check=True,
    )
    account = run_json(empty_pg, "streams", "--type", "Account")[0]["stream_id"]
    history = run_json(empty_pg, "history", account)
    second = history[1]
    at_second = run_json(empty_pg, "state", account, "--at", second["recorded_at"])
    assert at_second["version"] == 2
    assert at_second["state"]["balance"] == second["changes"]["balance"]["to"]
    assert run_json(empty_pg, "state", account, "--version", "1")["state"]["balance"] == "0.00"
