"""The bus remembers the aggregates it saved; a stale memory never changes an outcome."""

from __future__ import annotations

from decimal import Decimal

from core.command_repository import CachedRepository
from core.domain import Account, Order
from core.domain.account import MoneyDeposited
from core.domain.commands import Deposit, OpenAccount, Withdraw
from core.domain.testing import Scenario
from core.errors import InvalidInput, InvalidTransition


async def opened(s: Scenario, amount: str = "10.00") -> str:
    result = await s.when(OpenAccount(owner="Ada"))
    await s.when(Deposit(account_id=result.stream_id, amount=Decimal(amount)))
    return result.stream_id


def memory(s: Scenario) -> CachedRepository:
    repository = s.bus.repository
    assert isinstance(repository, CachedRepository)
    return repository


async def test_the_next_command_starts_from_memory() -> None:
    s = Scenario()
    account = await opened(s)
    reads_before = memory(s).misses
    hits_before = memory(s).hits
    for _ in range(5):
        await s.when(Deposit(account_id=account, amount=Decimal("1.00")))
    assert memory(s).misses == reads_before  # no load from the store
    assert memory(s).hits == hits_before + 5
    stored = await s.repository.load(Account, account)
    assert stored.version == 7 and stored.state.balance == Decimal("15.00")


async def test_a_stream_moved_by_another_writer_is_reloaded() -> None:
    s = Scenario()
    account = await opened(s)
    # another process deposits 100.00: the bus's memory still says 10.00 at version 2
    await s.given(account, MoneyDeposited(amount=Decimal("100.00")))

    result = await s.when(Deposit(account_id=account, amount=Decimal("1.00")))
    assert result.version == 4
    stored = await s.repository.load(Account, account)
    assert stored.state.balance == Decimal("111.00")


async def test_a_refusal_on_remembered_state_is_decided_again_on_the_store() -> None:
    s = Scenario()
    account = await opened(s)
    await s.given(account, MoneyDeposited(amount=Decimal("100.00")))

    # remembered balance 10.00 would refuse this; the store's 110.00 allows it
    result = await s.when(Withdraw(account_id=account, amount=Decimal("50.00")))
    assert result.version == 4
    assert (await s.repository.load(Account, account)).state.balance == Decimal("60.00")

    # a refusal the store confirms still reaches the caller, and nothing is written
    error = await s.refused(Withdraw(account_id=account, amount=Decimal("500.00")))
    assert isinstance(error, InvalidTransition)


async def test_remembered_type_is_checked_like_the_store() -> None:
    s = Scenario()
    account = await opened(s)
    try:
        await memory(s).load(Order, account)
    except InvalidInput as error:
        assert "is an Account, not an Order" in str(error)
    else:
        raise AssertionError("loading an Account as an Order was allowed")


async def test_an_unsaved_change_never_reaches_the_memory() -> None:
    s = Scenario()
    account = await opened(s)
    repo = memory(s)
    first = await repo.load(Account, account)
    first.deposit(Decimal("999.00"))  # pending, never saved
    second = await repo.load(Account, account)
    assert second.state.balance == Decimal("10.00") and second.version == 2
    # a refused command leaves the stream's next command right too
    await s.refused(Withdraw(account_id=account, amount=Decimal("11.00")))
    result = await s.when(Withdraw(account_id=account, amount=Decimal("10.00")))
    assert result.version == 3
    assert (await s.repository.load(Account, account)).state.balance == Decimal("0.00")


async def test_memory_is_bounded() -> None:
    s = Scenario()
    repo = memory(s)
    repo.size = 3
    accounts = [await opened(s) for _ in range(5)]
    kept = [a for a in accounts if await _kept(repo, a)]
    assert kept == accounts[-3:]


async def _kept(repo: CachedRepository, stream_id: str) -> bool:
    hits = repo.hits
    await repo.load(Account, stream_id)
    return repo.hits == hits + 1
