"""Every Account rule, given/when/then through the command bus."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest

from core.commands import make_command
from core.domain import Account
from core.domain.account import AccountOpened, MoneyDeposited, MoneyWithdrawn
from core.domain.commands import Deposit, OpenAccount, Withdraw
from core.domain.testing import Scenario, placed_order
from core.errors import InvalidInput, InvalidTransition, StreamNotFound

ACC = "acc-1"


async def test_open_an_account() -> None:
    s = Scenario()
    result = await s.when(make_command(OpenAccount, {"owner": "  Ada Lovelace "}), user="bob")
    assert re.fullmatch(r"acc-[0-9a-f]{12}", result.stream_id)
    assert s.decoded(result) == [AccountOpened(owner="Ada Lovelace")]
    assert result.events[0].metadata.user_id == "bob"
    state = (await s.repository.load(Account, result.stream_id)).state_dict()
    assert state == {
        "owner": "Ada Lovelace",
        "balance": "0.00",
        "opened_at": "2025-01-06T09:00:00Z",
        "last_transaction_at": None,
    }


async def test_open_with_a_chosen_id_and_refuse_it_twice() -> None:
    s = Scenario()
    result = await s.when(OpenAccount(owner="Ada", account_id=ACC))
    assert result.stream_id == ACC
    error = await s.refused(OpenAccount(owner="Bob", account_id=ACC))
    assert isinstance(error, InvalidInput)
    assert f"account {ACC} already exists" in str(error)


async def test_deposit_adds_to_the_balance() -> None:
    s = Scenario()
    await s.given(ACC, AccountOpened(owner="Ada"), MoneyDeposited(amount=Decimal("10.00")))
    result = await s.when(make_command(Deposit, {"account_id": ACC, "amount": "12.5"}))
    assert s.decoded(result) == [MoneyDeposited(amount=Decimal("12.50"))]
    assert result.events[0].data == {"amount": "12.50"}  # a string in JSON, never a float
    account = await s.repository.load(Account, ACC)
    assert account.state.balance == Decimal("22.50")
    assert account.state_dict()["balance"] == "22.50"
    assert account.state.last_transaction_at == s.clock.now()


async def test_withdraw_within_the_balance() -> None:
    s = Scenario()
    await s.given(ACC, AccountOpened(owner="Ada"), MoneyDeposited(amount=Decimal("30.00")))
    result = await s.when(Withdraw(account_id=ACC, amount="12.50"))  # type: ignore[arg-type]
    assert s.decoded(result) == [MoneyWithdrawn(amount=Decimal("12.50"))]
    assert (await s.repository.load(Account, ACC)).state.balance == Decimal("17.50")


async def test_withdraw_the_whole_balance() -> None:
    s = Scenario()
    await s.given(ACC, AccountOpened(owner="Ada"), MoneyDeposited(amount=Decimal("10.00")))
    await s.when(Withdraw(account_id=ACC, amount=Decimal("10.00")))
    assert (await s.repository.load(Account, ACC)).state_dict()["balance"] == "0.00"


async def test_no_overdraft() -> None:
    s = Scenario()
    await s.given(ACC, AccountOpened(owner="Ada"), MoneyDeposited(amount=Decimal(10)))
    error = await s.refused(Withdraw(account_id=ACC, amount=Decimal("12.50")))
    assert isinstance(error, InvalidTransition)
    assert str(error) == "insufficient funds in account acc-1: balance 10.00, withdrawal 12.50"
    assert (await s.repository.load(Account, ACC)).state.balance == Decimal(10)


async def test_no_withdrawal_from_an_empty_account() -> None:
    s = Scenario()
    await s.given(ACC, AccountOpened(owner="Ada"))
    error = await s.refused(Withdraw(account_id=ACC, amount=Decimal("0.01")))
    assert isinstance(error, InvalidTransition)
    assert "balance 0.00, withdrawal 0.01" in str(error)


async def test_balance_follows_many_movements_exactly() -> None:
    s = Scenario()
    await s.given(ACC, AccountOpened(owner="Ada"))
    for _ in range(10):
        await s.when(Deposit(account_id=ACC, amount=Decimal("0.10")))
    await s.when(Withdraw(account_id=ACC, amount=Decimal("0.30")))
    # 10 x 0.10 - 0.30 is exactly 0.70 in Decimal (it would not be in float)
    assert (await s.repository.load(Account, ACC)).state.balance == Decimal("0.70")


@pytest.mark.parametrize("cls", [Deposit, Withdraw])
async def test_unknown_account_is_refused(cls: Any) -> None:
    s = Scenario()
    error = await s.refused(cls(account_id="acc-missing", amount=Decimal(1)))
    assert isinstance(error, StreamNotFound)
    assert "acc-missing" in str(error)


async def test_an_order_is_not_an_account() -> None:
    s = Scenario()
    await s.given("ord-1", placed_order())
    error = await s.refused(Deposit(account_id="ord-1", amount=Decimal(1)))
    assert isinstance(error, InvalidInput)
    assert "is an Order, not an Account" in str(error)


# -- validation -------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [Deposit, Withdraw])
@pytest.mark.parametrize(
    ("amount", "problem"),
    [
        ("0", "amount must be above 0"),
        ("0.00", "amount must be above 0"),
        ("-5", "amount must be above 0"),
        ("abc", "amount must be a decimal number like 12.50"),
        ("", "amount must be a decimal number like 12.50"),
        ("12,50", "amount must be a decimal number like 12.50"),
        (True, "amount must be a decimal number like 12.50"),
        ("NaN", "amount must be a finite number"),
        ("-Infinity", "amount must be a finite number"),
        ("inf", "amount must be a finite number"),
        ("1.001", "amount must have at most 2 decimal places"),
        ("0.005", "amount must have at most 2 decimal places"),
        ("1e12", "amount must be at most"),
    ],
)
def test_amounts_are_validated(cls: Any, amount: object, problem: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        make_command(cls, {"account_id": ACC, "amount": amount})
    message = str(caught.value)
    assert message.startswith(f"invalid {cls.command_name}: amount: {problem}")
    assert "\n" not in message


@pytest.mark.parametrize(
    ("amount", "expected"),
    [("12.5", "12.50"), ("12.500", "12.50"), ("7", "7.00"), (0.1, "0.10"), (3, "3.00")],
)
def test_valid_amounts_become_exact_decimals(amount: object, expected: str) -> None:
    command = make_command(Deposit, {"account_id": ACC, "amount": amount})
    assert isinstance(command.amount, Decimal)
    assert str(command.amount) == expected


def test_account_commands_need_an_owner_and_an_id() -> None:
    with pytest.raises(InvalidInput, match="owner: owner must not be empty"):
        make_command(OpenAccount, {"owner": "   "})
    with pytest.raises(InvalidInput, match="account_id: account id must not be empty"):
        make_command(Deposit, {"account_id": "", "amount": "1"})


def test_the_aggregate_also_refuses_non_positive_amounts() -> None:
    account = Account.open(ACC, "Ada")
    with pytest.raises(InvalidInput, match="positive amount"):
        account.deposit(Decimal(0))
    with pytest.raises(InvalidInput, match="positive amount"):
        account.withdraw(Decimal(-1))
    with pytest.raises(InvalidInput, match="positive amount"):
        account.deposit(Decimal("NaN"))
    assert [type(e).__name__ for e, _ in account.pending] == ["AccountOpened"]
