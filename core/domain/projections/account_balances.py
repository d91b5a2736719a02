"""`account-balances`: one row per account, agreeing with the Account aggregate.

Key: the account id. Rows: account_id, owner, balance, deposits and withdrawals
(sums of money), transaction_count, opened_at, last_transaction_at. Money moving
on an account this projection never saw opened raises
`ProjectionError("Account not found: <id>")`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from ...events import DomainEvent, RecordedEvent
from ...projections import Projection, ProjectionError, View
from ..account import AccountOpened, MoneyDeposited, MoneyWithdrawn
from .documents import ZERO, amount_of, iso, money


class AccountBalancesProjection(Projection):
    """Balances and money movements per account."""

    name: ClassVar[str] = "account-balances"
    handles: ClassVar[frozenset[str]] = frozenset(
        cls.type_name for cls in (AccountOpened, MoneyDeposited, MoneyWithdrawn)
    )
    description: ClassVar[str] = "per account: owner, balance, deposits, withdrawals"

    def prefetch_keys(self, event: DomainEvent, record: RecordedEvent) -> Iterable[str]:
        return (record.stream_id,)

    async def apply(self, event: DomainEvent, record: RecordedEvent, view: View) -> None:
        account_id = record.stream_id
        at = iso(record.recorded_at)
        if isinstance(event, AccountOpened):
            # as the aggregate: opening sets the owner and a zero balance
            view.put(
                account_id,
                {
                    "account_id": account_id,
                    "owner": event.owner,
                    "balance": money(ZERO),
                    "deposits": money(ZERO),
                    "withdrawals": money(ZERO),
                    "transaction_count": 0,
                    "opened_at": at,
                    "last_transaction_at": None,
                },
            )
            return
        if not isinstance(event, (MoneyDeposited, MoneyWithdrawn)):
            return
        account = await view.get(account_id)
        if account is None:
            raise ProjectionError(f"Account not found: {account_id}")
        if isinstance(event, MoneyDeposited):
            account["balance"] = money(amount_of(account, "balance") + event.amount)
            account["deposits"] = money(amount_of(account, "deposits") + event.amount)
        else:
            account["balance"] = money(amount_of(account, "balance") - event.amount)
            account["withdrawals"] = money(amount_of(account, "withdrawals") + event.amount)
        account["transaction_count"] += 1
        account["last_transaction_at"] = at
        view.put(account_id, account)
