"""The Account aggregate: open, deposit, withdraw, never overdrawn."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, ClassVar

from pydantic import BaseModel, Field

from ..aggregate import Aggregate
from ..clock import Clock
from ..errors import InvalidInput, InvalidTransition
from ..events import DomainEvent

#: A positive finite amount of money.
Amount = Annotated[Decimal, Field(gt=0, allow_inf_nan=False)]


class AccountOpened(DomainEvent):
    """An account was opened for an owner, with a zero balance."""

    type_name: ClassVar[str] = "AccountOpened"
    schema_version: ClassVar[int] = 1

    owner: str


class MoneyDeposited(DomainEvent):
    """Money was paid into an account."""

    type_name: ClassVar[str] = "MoneyDeposited"
    schema_version: ClassVar[int] = 1

    amount: Amount


class MoneyWithdrawn(DomainEvent):
    """Money was taken out of an account (never more than its balance)."""

    type_name: ClassVar[str] = "MoneyWithdrawn"
    schema_version: ClassVar[int] = 1

    amount: Amount


ACCOUNT_EVENTS: tuple[type[DomainEvent], ...] = (AccountOpened, MoneyDeposited, MoneyWithdrawn)


class AccountState(BaseModel):
    """An account's owner and balance; `None` until opened."""

    owner: str | None = None
    balance: Decimal = Decimal("0.00")
    opened_at: datetime | None = None
    last_transaction_at: datetime | None = None


class Account(Aggregate):
    """A money account; withdrawals beyond the balance are refused."""

    stream_type: ClassVar[str] = "Account"
    state_class: ClassVar[type[BaseModel]] = AccountState
    state: AccountState

    @classmethod
    def open(cls, account_id: str, owner: str, clock: Clock | None = None) -> Account:
        """A new account with one pending `AccountOpened`."""
        if not owner.strip():
            raise InvalidInput("an account needs an owner; give the owner's name")
        account = cls(account_id, clock)
        account.raise_event(AccountOpened(owner=owner))
        return account

    def deposit(self, amount: Decimal) -> None:
        """Pay `amount` (> 0) into the account."""
        self._require_open()
        self.raise_event(MoneyDeposited(amount=_positive(amount, "deposit")))

    def withdraw(self, amount: Decimal) -> None:
        """Take `amount` (> 0) out of the account, if the balance covers it."""
        self._require_open()
        amount = _positive(amount, "withdrawal")
        balance = self.state.balance
        if amount > balance:
            raise InvalidTransition(
                f"insufficient funds in account {self.id}: balance {balance:.2f}, "
                f"withdrawal {amount:.2f}"
            )
        self.raise_event(MoneyWithdrawn(amount=amount))

    def _require_open(self) -> None:
        if self.state.owner is None:
            raise InvalidTransition(f"account {self.id} has not been opened")

    def on_AccountOpened(self, event: AccountOpened, at: datetime) -> None:
        self.state.owner = event.owner
        self.state.balance = Decimal("0.00")
        self.state.opened_at = at

    def on_MoneyDeposited(self, event: MoneyDeposited, at: datetime) -> None:
        self.state.balance += event.amount
        self.state.last_transaction_at = at

    def on_MoneyWithdrawn(self, event: MoneyWithdrawn, at: datetime) -> None:
        self.state.balance -= event.amount
        self.state.last_transaction_at = at


def _positive(amount: Decimal, what: str) -> Decimal:
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
        raise InvalidInput(f"a {what} must be a positive amount of money, not {amount}")
    return amount
