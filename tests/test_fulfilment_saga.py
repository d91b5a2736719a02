"""The fulfilment saga over a real command bus and the in-memory store."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from core.commands import Command, CommandResult
from core.domain import Inventory, Order, Payment
from core.domain.commands import (
    ApproveOrder,
    CancelOrder,
    PlaceOrder,
    ProcessPayment,
    ReleaseInventory,
    ReserveInventory,
)
from core.domain.fulfilment_saga import APPROVAL_NOTES, FulfilmentSaga
from core.domain.order_events import OrderItem
from core.domain.testing import DirectSagaContext, SagaDriver, Scenario
from core.domain.upcasters import legacy_order_placed_v1
from core.events import Metadata, NewEvent, RecordedEvent

ORDER = "ord-1"
WIDGETS = [OrderItem(product_id="WIDGET-1", quantity=2, price=Decimal("9.99"))]


def setup() -> tuple[Scenario, SagaDriver]:
    s = Scenario()
    return s, SagaDriver(FulfilmentSaga(), s.store, s.bus, s.registry)


async def place(
    s: Scenario,
    items: list[OrderItem] = WIDGETS,
    method: str = "CARD",
    order_id: str = ORDER,
) -> CommandResult:
    return await s.when(
        PlaceOrder(order_id=order_id, customer_id="cust-1", items=items, payment_method=method),
        user="storefront",
    )


def sent(driver: SagaDriver) -> list[tuple[str, str]]:
    return [(command.command_name, outcome) for command, outcome in driver.context.sent]


async def status_of(s: Scenario, order_id: str = ORDER) -> str:
    return str((await s.repository.load(Order, order_id)).state.status)


def state(driver: SagaDriver, order_id: str = ORDER) -> dict[str, Any]:
    return driver.view.documents[order_id]


async def test_happy_path_reserves_pays_and_approves() -> None:
    s, driver = setup()
    placed = await place(s)
    await driver.catch_up()

    assert sent(driver) == [
        ("reserve-inventory", "sent"),
        ("process-payment", "sent"),
        ("approve-order", "sent"),
    ]
    commands = [command for command, _ in driver.context.sent]
    assert commands[0] == ReserveInventory(
        order_id=ORDER, items=[{"product_id": "WIDGET-1", "quantity": 2}]
    )
    assert commands[1] == ProcessPayment(
        order_id=ORDER, amount=Decimal("19.98"), method="CARD", customer_id="cust-1"
    )
    assert commands[2] == ApproveOrder(order_id=ORDER, notes=APPROVAL_NOTES)

    order = (await s.repository.load(Order, ORDER)).state
    assert (order.status, order.approved_by, order.notes) == ("APPROVED", "SYSTEM", APPROVAL_NOTES)
    assert (await s.repository.load(Inventory, f"inv-{ORDER}")).state.status == "RESERVED"
    assert (await s.repository.load(Payment, f"pay-{ORDER}")).state.status == "PROCESSED"

    doc = state(driver)
    assert {k: doc[k] for k in ("status", "reason", "order_status", "inventory", "payment")} == {
        "status": "APPROVED",
        "reason": None,
        "order_status": "APPROVED",
        "inventory": "RESERVED",
        "payment": "PROCESSED",
    }
    assert (doc["customer_id"], doc["total_amount"], doc["payment_method"]) == (
        "cust-1",
        "19.98",
        "CARD",
    )
    assert [(st["command"], st["trigger"], st["stream_id"]) for st in doc["steps"]] == [
        ("reserve-inventory", "OrderPlaced", f"inv-{ORDER}"),
        ("process-payment", "InventoryReserved", f"pay-{ORDER}"),
        ("approve-order", "PaymentProcessed", ORDER),
    ]

    # every saga event carries the original command's correlation id, and is caused by
    # the event that triggered its command
    events = [e async for e in s.store.read_all()]
    correlation = placed.events[0].metadata.correlation_id
    assert {e.metadata.correlation_id for e in events} == {correlation}
    by_id = {e.event_id: e for e in events}
    chain = [(by_id[e.metadata.causation_id].type, e.type) for e in events[1:]]
    assert chain == [
        ("OrderPlaced", "InventoryReserved"),
        ("InventoryReserved", "PaymentProcessed"),
        ("PaymentProcessed", "OrderApproved"),
    ]
    assert {e.metadata.user_id for e in events[1:]} == {"SYSTEM"}


async def test_payment_failure_releases_stock_and_cancels_the_order() -> None:
    s, driver = setup()
    await place(s, method="PREPAID_CARD")
    await driver.catch_up()

    assert sent(driver) == [
        ("reserve-inventory", "sent"),
        ("process-payment", "sent"),
        ("release-inventory", "sent"),
        ("cancel-order", "sent"),
    ]
    reason = "payment failed: payment method PREPAID_CARD is declined"
    order = (await s.repository.load(Order, ORDER)).state
    assert (order.status, order.cancellation_type, order.cancellation_reason) == (
        "CANCELLED",
        "SYSTEM",
        reason,
    )
    assert order.cancelled_by == "SYSTEM"
    inventory = (await s.repository.load(Inventory, f"inv-{ORDER}")).state
    assert (inventory.status, inventory.release_reason) == ("RELEASED", reason)
    assert (await s.repository.load(Payment, f"pay-{ORDER}")).state.status == "FAILED"
    doc = state(driver)
    assert (doc["status"], doc["reason"], doc["inventory"], doc["payment"]) == (
        "CANCELLED",
        reason,
        "RELEASED",
        "FAILED",
    )


async def test_over_the_limit_fails_too() -> None:
    s, driver = setup()
    chairs = [OrderItem(product_id="CHAIR-ERGO", quantity=5, price=Decimal("349.00"))]
    await place(s, items=chairs)
    await driver.catch_up()
    assert await status_of(s) == "CANCELLED"
    assert state(driver)["reason"] == (
        "payment failed: amount 1745.00 is over the customer's limit of 1500.00"
    )


async def test_a_second_run_from_the_start_sends_nothing_again() -> None:
    """A restart that lost the saga's state: every send answers "already sent"."""
    s, driver = setup()
    await place(s)
    await place(s, method="PREPAID_CARD", order_id="ord-2")
    await driver.catch_up()
    head = await s.store.head_position()

    again = SagaDriver(FulfilmentSaga(), s.store, s.bus, s.registry)
    await again.catch_up()
    assert await s.store.head_position() == head  # nothing written twice
    assert {outcome for _, outcome in again.context.sent} == {"already sent"}
    for order_id in (ORDER, "ord-2"):
        first, second = driver.view.documents[order_id], again.view.documents[order_id]
        assert second["status"] == first["status"]
        assert [st["outcome"] for st in second["steps"]] == ["already sent"] * len(first["steps"])
    assert again.view.documents[ORDER]["status"] == "APPROVED"
    assert again.view.documents["ord-2"]["status"] == "CANCELLED"


class CrashAfterSending(DirectSagaContext):
    """Sends `command_name` for real, then crashes once, as if the process died before
    the saga's state and checkpoint were committed."""

    def __init__(self, inner: DirectSagaContext, command_name: str) -> None:
        super().__init__(inner.bus, inner.store, inner.user)
        self.command_name = command_name
        self.crashed = False

    async def send(self, command: Command, *, caused_by: RecordedEvent) -> CommandResult | None:
        result = await super().send(command, caused_by=caused_by)
        if command.command_name == self.command_name and not self.crashed:
            self.crashed = True
            raise ConnectionError("worker killed")
        return result


async def test_a_crash_after_sending_resumes_without_sending_twice() -> None:
    s, driver = setup()
    await place(s)
    crashing = CrashAfterSending(driver.context, "process-payment")
    driver.context = crashing
    with pytest.raises(ConnectionError):
        await driver.catch_up()
    assert state(driver)["status"] == "STARTED"  # the reaction's writes were rolled back
    await driver.catch_up()  # the "restarted" worker
    assert [(c.command_name, o) for c, o in crashing.sent] == [
        ("reserve-inventory", "sent"),
        ("process-payment", "sent"),
        ("process-payment", "already sent"),
        ("approve-order", "sent"),
    ]
    assert await status_of(s) == "APPROVED"
    assert (await s.repository.load(Payment, f"pay-{ORDER}")).state.attempts == 1
    doc = state(driver)
    assert doc["status"] == "APPROVED"
    assert [st["outcome"] for st in doc["steps"]] == ["sent", "already sent", "sent"]


async def test_an_operator_cancelling_meanwhile_stops_the_saga() -> None:
    s, driver = setup()
    await place(s)
    await driver.next()  # OrderPlaced -> reserve
    await driver.next()  # InventoryReserved -> payment (PaymentProcessed written)
    await s.when(CancelOrder(order_id=ORDER, reason="customer called"), user="alice")
    await driver.next()  # PaymentProcessed -> ApproveOrder, refused: the order is cancelled
    doc = state(driver)
    assert doc["status"] == "STOPPED"
    assert doc["reason"].startswith(
        f"approval refused: cannot approve order {ORDER}: it is CANCELLED"
    )
    await driver.catch_up()  # then it sees the cancellation and gives the stock back
    assert sent(driver) == [
        ("reserve-inventory", "sent"),
        ("process-payment", "sent"),
        ("approve-order", "InvalidTransition"),
        ("release-inventory", "sent"),
    ]
    doc = state(driver)
    assert (doc["status"], doc["order_status"], doc["inventory"]) == (
        "STOPPED",
        "CANCELLED",
        "RELEASED",
    )
    assert doc["steps"][2]["outcome"] == "refused"
    assert await status_of(s) == "CANCELLED"
    inventory = (await s.repository.load(Inventory, f"inv-{ORDER}")).state
    assert inventory.release_reason == "order cancelled by alice: customer called"


async def test_an_operator_approving_meanwhile_stops_the_saga() -> None:
    s, driver = setup()
    await place(s)
    await driver.next()  # reserve
    await s.when(ApproveOrder(order_id=ORDER, notes="rush"), user="bob")
    await driver.catch_up()
    assert sent(driver) == [("reserve-inventory", "sent"), ("process-payment", "sent")]
    doc = state(driver)
    assert doc["status"] == "STOPPED"
    assert doc["reason"] == "order approved by bob before the saga approved it"
    order = (await s.repository.load(Order, ORDER)).state
    assert (order.status, order.approved_by) == ("APPROVED", "bob")
    assert doc["inventory"] == "RESERVED"  # the order goes ahead: its stock stays held


async def test_an_approval_refused_because_an_operator_approved_first() -> None:
    s, driver = setup()
    await place(s)
    await driver.next()
    await driver.next()  # payment processed
    await s.when(ApproveOrder(order_id=ORDER), user="bob")
    await driver.catch_up()
    doc = state(driver)
    assert doc["status"] == "STOPPED"
    assert "it is APPROVED" in doc["reason"]
    assert doc["inventory"] == "RESERVED"
    assert ("release-inventory", "sent") not in sent(driver)


async def test_a_customer_cancelling_before_the_saga_runs() -> None:
    s, driver = setup()
    await place(s)
    await s.when(CancelOrder(order_id=ORDER, reason="ordered by mistake"), user="storefront")
    await driver.catch_up()
    assert sent(driver) == [("reserve-inventory", "sent"), ("release-inventory", "sent")]
    doc = state(driver)
    assert (doc["status"], doc["inventory"], doc["payment"]) == ("STOPPED", "RELEASED", None)
    assert doc["reason"] == "order cancelled by storefront: ordered by mistake"


async def test_a_cancellation_after_approval_gives_the_stock_back() -> None:
    s, driver = setup()
    await place(s)
    await driver.catch_up()
    await s.when(CancelOrder(order_id=ORDER, reason="duplicate order"), user="carol")
    await driver.catch_up()
    doc = state(driver)
    assert (doc["status"], doc["order_status"], doc["inventory"]) == (
        "APPROVED",
        "CANCELLED",
        "RELEASED",
    )
    assert sent(driver)[-1] == ("release-inventory", "sent")


async def test_events_of_orders_it_never_started_are_ignored() -> None:
    s, driver = setup()
    await s.when(ReserveInventory(order_id="ord-manual", items=["A:1"]), user="alice")
    await s.when(ReleaseInventory(order_id="ord-manual"), user="alice")
    await driver.catch_up()
    assert driver.view.documents == {}
    assert driver.context.sent == []


async def test_a_legacy_v1_order_pays_nothing_and_is_approved() -> None:
    s, driver = setup()
    await s.store.append(
        "ord-old",
        "Order",
        [
            NewEvent(
                event_id="e-1",
                type="OrderPlaced",
                schema_version=1,
                data=legacy_order_placed_v1("cust-9", ["A", "B"]),
                metadata=Metadata(user_id="legacy-shop", correlation_id="c-1"),
                recorded_at=s.clock.now(),
            )
        ],
        0,
    )
    await driver.catch_up()
    assert await status_of(s, "ord-old") == "APPROVED"
    payment = (await s.repository.load(Payment, "pay-ord-old")).state
    assert (payment.amount, payment.method) == (Decimal("0.00"), "UNKNOWN")


async def test_saga_documents_are_json_and_saga_refuses_apply() -> None:
    s, driver = setup()
    await place(s)
    await driver.catch_up()
    saga = FulfilmentSaga()
    record, *_ = [e async for e in s.store.read_all()]
    assert list(saga.prefetch_keys(s.registry.decode(record), record)) == [ORDER]
    (reserved,) = [e async for e in s.store.read_all(types=["InventoryReserved"])]
    assert list(saga.prefetch_keys(s.registry.decode(reserved), reserved)) == [ORDER]
    with pytest.raises(TypeError, match="react"):
        await saga.apply(s.registry.decode(record), record, driver.view)
    json.dumps(driver.view.documents)
