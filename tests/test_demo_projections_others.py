"""The demo projections account-balances and audit-log, and the set as a whole."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import ClassVar

import pytest

from core.clock import FixedClock, UuidFactory
from core.domain import Account, build_repository
from core.domain.account import AccountOpened, MoneyDeposited
from core.domain.commands import (
    ApproveOrder,
    Deposit,
    OpenAccount,
    Withdraw,
)
from core.domain.demo_data import seed_demo
from core.domain.projections import (
    DEMO_PROJECTIONS,
    DEMO_SAGAS,
    AccountBalancesProjection,
    AuditLogProjection,
)
from core.domain.testing import DictView, Scenario
from core.events import DomainEvent, Metadata
from core.memory_store import InMemoryEventStore, InMemorySnapshotStore
from core.projections import ALL_EVENT_TYPES, ProjectionError, handles_every_type
from tests.demo_projection_helpers import (
    START,
    history,
    place,
    project,
)

# -- account-balances -----------------------------------------------------------------------


async def test_account_balances_agree_with_the_aggregate() -> None:
    s = Scenario(start=START)
    await s.when(OpenAccount(owner="Ada", account_id="acc-1"))
    for command in (
        Deposit(account_id="acc-1", amount=Decimal("0.10")),
        Deposit(account_id="acc-1", amount=Decimal("0.20")),
        Withdraw(account_id="acc-1", amount=Decimal("0.05")),
    ):
        s.clock.advance(timedelta(minutes=1))
        await s.when(command)
    view = await project(AccountBalancesProjection(), await history(s), s.registry)
    doc = view.documents["acc-1"]
    assert doc == {
        "account_id": "acc-1",
        "owner": "Ada",
        "balance": "0.25",
        "deposits": "0.30",
        "withdrawals": "0.05",
        "transaction_count": 3,
        "opened_at": "2025-01-06T09:00:00+00:00",
        "last_transaction_at": "2025-01-06T09:03:00+00:00",
    }
    state = (await s.repository.load(Account, "acc-1")).state_dict()
    assert doc["balance"] == state["balance"]


async def test_money_on_an_unopened_account_is_a_poison_event() -> None:
    s = Scenario(start=START)
    await s.given("acc-ghost", MoneyDeposited(amount=Decimal("5.00")))
    with pytest.raises(ProjectionError, match=r"^Account not found: acc-ghost$"):
        await project(AccountBalancesProjection(), await history(s), s.registry)


# -- audit-log ------------------------------------------------------------------------------


class DeadLetterSkipped(DomainEvent):
    """Stands in for the operator audit events (stream type "Operator")."""

    type_name: ClassVar[str] = "DeadLetterSkipped"
    projection: str
    dead_letter_id: int


async def test_audit_log_has_a_row_per_event_of_every_type_in_key_order() -> None:
    s = Scenario(start=START)
    await place(s, "ord-1", "cust-1")
    await s.when(ApproveOrder(order_id="ord-1", notes="stock confirmed"), user="bob")
    await s.given("acc-1", AccountOpened(owner="Ada"))
    registry = s.registry
    registry.register(DeadLetterSkipped)
    operator = registry.encode(
        DeadLetterSkipped(projection="order-summary", dead_letter_id=7),
        event_id="op-1",
        recorded_at=s.clock.now(),
        metadata=Metadata(user_id="alice", correlation_id="c-1", causation_id="c-1"),
    )
    await s.store.append("projection-order-summary", "Operator", [operator], 0)
    records = await history(s)
    projection = AuditLogProjection()
    assert projection.handles is ALL_EVENT_TYPES and handles_every_type(projection)
    view = await project(projection, records, registry)
    keys = list(view.documents)
    assert keys == sorted(keys) == [f"{n:012d}" for n in range(1, 5)]
    rows = list(view.documents.values())
    assert [r["type"] for r in rows] == [
        "OrderPlaced", "OrderApproved", "AccountOpened", "DeadLetterSkipped",
    ]  # fmt: skip
    assert rows[1]["summary"] == "approved by bob: stock confirmed"
    assert rows[0]["summary"] == "order for cust-1: 1 item, total 19.98"
    assert rows[3] == {
        "position": 4,
        "event_id": "op-1",
        "recorded_at": rows[3]["recorded_at"],
        "stream_id": "projection-order-summary",
        "stream_type": "Operator",
        "version": 1,
        "type": "DeadLetterSkipped",
        "user_id": "alice",
        "correlation_id": "c-1",
        "causation_id": "c-1",
        "summary": "projection=order-summary, dead_letter_id=7",
    }
    assert rows[1]["user_id"] == "bob"
    assert rows[1]["correlation_id"] and rows[1]["causation_id"]
    json.dumps(view.documents)


# -- the set --------------------------------------------------------------------------------


def test_demo_projections_are_named_and_handle_their_events() -> None:
    names = [p.name for p in DEMO_PROJECTIONS]
    assert names == [
        "order-summary", "customer-dashboard", "sales-analytics", "account-balances", "audit-log",
    ]  # fmt: skip
    for projection in DEMO_PROJECTIONS:
        assert projection.description
        assert handles_every_type(projection) or projection.handles
    assert [s.name for s in DEMO_SAGAS] == ["fulfilment"]


async def test_seeded_history_projects_with_only_the_poison_streams_failing() -> None:
    """Every demo projection over a seed: only the poison streams are dead letters."""
    store = InMemoryEventStore()
    end = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    summary = await seed_demo(
        store, InMemorySnapshotStore(), orders=40, accounts=6, days=10, seed=5, end=end
    )
    registry = build_repository(store, clock=FixedClock(end), ids=UuidFactory()).registry
    records = [e async for e in store.read_all()]
    failed: dict[str, set[str]] = {}
    for projection in DEMO_PROJECTIONS:
        view = DictView()
        for record in records:
            if record.stream_id in failed.get(projection.name, set()):
                continue
            try:
                await project(projection, [record], registry, view)
            except ProjectionError:
                failed.setdefault(projection.name, set()).add(record.stream_id)
    poison = set(summary.poison_stream_ids)
    assert failed == {
        "order-summary": {p for p in poison if p.startswith("ord-")},
        "account-balances": {p for p in poison if p.startswith("acc-")},
    }
