"""The bus runs one command per stream at a time in its process, and forgets the stream after."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from core.aggregate import Aggregate
from core.commands import Command, CommandContext
from core.domain.commands import Deposit, OpenAccount, Withdraw
from core.domain.testing import Scenario
from core.errors import InvalidTransition
from core.repository import Repository


async def test_commands_on_one_stream_take_turns_and_leave_nothing_behind() -> None:
    s = Scenario()
    account = (await s.when(OpenAccount(owner="Ada"))).stream_id
    running = 0
    most = 0
    handler = s.bus.handlers[Deposit]

    async def slow_deposit(
        command: Command, repository: Repository, context: CommandContext
    ) -> Aggregate:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.001)
        running -= 1
        return await handler(command, repository, context)

    s.bus.register(Deposit, slow_deposit)
    results = await asyncio.gather(
        *(
            s.bus.dispatch(Deposit(account_id=account, amount=Decimal(1)), user_id="t")
            for _ in range(8)
        ),
        s.bus.dispatch(Withdraw(account_id=account, amount=Decimal(100)), user_id="t"),
        return_exceptions=True,
    )
    assert most == 1
    assert sorted(r.version for r in results[:8] if not isinstance(r, BaseException)) == list(
        range(2, 10)
    )
    assert isinstance(results[8], InvalidTransition)
    assert s.bus._stream_turns == {}  # nothing kept per stream once done
