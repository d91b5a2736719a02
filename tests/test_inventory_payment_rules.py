"""Inventory and Payment rules, given/when/then through the command bus."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.commands import make_command
from core.domain import COMMANDS, Inventory, Payment
from core.domain.commands import ProcessPayment, ReleaseInventory, ReserveInventory
from core.domain.inventory import InventoryReleased, InventoryReserved, ReservedItem
from core.domain.order_events import OrderItem
from core.domain.payment import (
    CUSTOMER_LIMIT,
    PaymentFailed,
    PaymentProcessed,
    payment_refusal,
)
from core.domain.testing import Scenario
from core.errors import InvalidInput, InvalidTransition

ORDER = "ord-1a2b"
ITEMS = [ReservedItem(product_id="WIDGET-1", quantity=2)]


def pay(amount: str = "42.97", method: str = "CARD") -> ProcessPayment:
    return make_command(
        ProcessPayment,
        {"order_id": ORDER, "amount": amount, "method": method, "customer_id": "cust-0001"},
    )


# -- inventory ---------------------------------------------------------------------------


async def test_reserve_inventory_in_its_own_stream() -> None:
    s = Scenario()
    result = await s.when(ReserveInventory(order_id=ORDER, items=ITEMS), user="SYSTEM")
    assert (result.stream_id, result.stream_type, result.version) == (
        f"inv-{ORDER}",
        "Inventory",
        1,
    )
    assert s.decoded(result) == [InventoryReserved(order_id=ORDER, items=ITEMS)]
    state = (await s.repository.load(Inventory, f"inv-{ORDER}")).state
    assert state.status == "RESERVED" and state.items == ITEMS


async def test_reserve_twice_is_refused() -> None:
    s = Scenario()
    await s.when(ReserveInventory(order_id=ORDER, items=ITEMS))
    error = await s.refused(ReserveInventory(order_id=ORDER, items=ITEMS))
    assert isinstance(error, InvalidTransition)
    assert "already RESERVED" in str(error)


async def test_release_once_and_never_twice() -> None:
    s = Scenario()
    await s.when(ReserveInventory(order_id=ORDER, items=ITEMS))
    result = await s.when(ReleaseInventory(order_id=ORDER, reason="payment failed: declined"))
    assert s.decoded(result) == [
        InventoryReleased(order_id=ORDER, reason="payment failed: declined")
    ]
    error = await s.refused(ReleaseInventory(order_id=ORDER))
    assert isinstance(error, InvalidTransition)
    assert "already released (payment failed: declined)" in str(error)
    # a released reservation is not taken again either
    assert isinstance(
        await s.refused(ReserveInventory(order_id=ORDER, items=ITEMS)), InvalidTransition
    )


async def test_release_of_nothing_reserved_is_refused() -> None:
    s = Scenario()
    error = await s.refused(ReleaseInventory(order_id=ORDER))
    assert isinstance(error, InvalidTransition)
    assert f"cannot release inventory for order {ORDER}: nothing is reserved" in str(error)


def test_reserve_inventory_reads_items_in_every_form() -> None:
    command = make_command(
        ReserveInventory,
        {
            "order_id": ORDER,
            "items": [
                "WIDGET-1:2",
                "CABLE-USB-C:1:12.99",  # an order item's text: the price is ignored
                {"product_id": "MUG", "quantity": 3},
                OrderItem(product_id="V1-ITEM", quantity=1, price=Decimal(0)),  # legacy price 0
            ],
        },
    )
    assert command.items == [
        ReservedItem(product_id="WIDGET-1", quantity=2),
        ReservedItem(product_id="CABLE-USB-C", quantity=1),
        ReservedItem(product_id="MUG", quantity=3),
        ReservedItem(product_id="V1-ITEM", quantity=1),
    ]
    assert command.target_stream() == f"inv-{ORDER}"


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"order_id": ORDER, "items": []}, "items: List should have at least 1 item"),
        ({"order_id": ORDER, "items": ["WIDGET-1"]}, "write items as SKU:QTY"),
        ({"order_id": ORDER, "items": ["WIDGET-1:0"]}, "quantity must be a whole number"),
        ({"order_id": "", "items": ["A:1"]}, "order id must not be empty"),
    ],
)
def test_reserve_inventory_validation(data: dict[str, object], problem: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        make_command(ReserveInventory, data)
    assert str(caught.value).startswith("invalid reserve-inventory: ")
    assert problem in str(caught.value)


# -- payment -----------------------------------------------------------------------------


async def test_a_payment_goes_through() -> None:
    s = Scenario()
    result = await s.when(pay(), user="SYSTEM")
    assert (result.stream_id, result.stream_type) == (f"pay-{ORDER}", "Payment")
    assert s.decoded(result) == [
        PaymentProcessed(
            order_id=ORDER, customer_id="cust-0001", amount=Decimal("42.97"), method="CARD"
        )
    ]
    assert result.events[0].data["amount"] == "42.97"  # money stored as a string
    state = (await s.repository.load(Payment, f"pay-{ORDER}")).state
    assert (state.status, state.attempts) == ("PROCESSED", 1)


async def test_a_processed_payment_cannot_be_processed_again() -> None:
    s = Scenario()
    await s.when(pay())
    error = await s.refused(pay())
    assert isinstance(error, InvalidTransition)
    assert "already processed (42.97 by CARD)" in str(error)


async def test_over_the_limit_fails_deterministically_and_may_be_retried() -> None:
    s = Scenario()
    over = str(CUSTOMER_LIMIT + Decimal("0.01"))
    result = await s.when(pay(over))
    assert s.decoded(result) == [
        PaymentFailed(
            order_id=ORDER,
            customer_id="cust-0001",
            amount=Decimal(over),
            method="CARD",
            reason=f"amount {over} is over the customer's limit of 1500.00",
        )
    ]
    # a failed payment is recorded, and a smaller one may follow
    again = await s.when(pay(str(CUSTOMER_LIMIT)))
    assert isinstance(s.decoded(again)[0], PaymentProcessed)
    state = (await s.repository.load(Payment, f"pay-{ORDER}")).state
    assert (state.status, state.attempts, state.failure_reason) == (
        "PROCESSED",
        2,
        f"amount {over} is over the customer's limit of 1500.00",
    )


async def test_a_declined_method_fails() -> None:
    s = Scenario()
    result = await s.when(pay("10.00", "PREPAID_CARD"))
    (event,) = s.decoded(result)
    assert isinstance(event, PaymentFailed)
    assert event.reason == "payment method PREPAID_CARD is declined"


def test_payment_rules() -> None:
    assert payment_refusal(Decimal("1500.00"), "CARD") is None  # at the limit is fine
    assert payment_refusal(Decimal("1500.01"), "PAYPAL") is not None
    assert payment_refusal(Decimal(0), "UNKNOWN") is None  # legacy orders pay nothing
    assert payment_refusal(Decimal(5), "prepaid_card") is not None
    assert payment_refusal(Decimal(5000), "PREPAID_CARD") == (
        "payment method PREPAID_CARD is declined"
    )


async def test_a_zero_payment_for_a_legacy_order_goes_through() -> None:
    s = Scenario()
    result = await s.when(pay("0"))
    assert isinstance(s.decoded(result)[0], PaymentProcessed)
    assert result.events[0].data["amount"] == "0.00"


@pytest.mark.parametrize(
    ("amount", "problem"),
    [
        ("-1", "amount must be 0 or more"),
        ("1.001", "at most 2 decimal places"),
        ("abc", "must be a decimal number"),
        ("NaN", "finite"),
    ],
)
def test_process_payment_validation(amount: str, problem: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        pay(amount)
    assert problem in str(caught.value)


def test_new_commands_are_registered_with_their_streams() -> None:
    for name in ("reserve-inventory", "release-inventory", "process-payment"):
        assert COMMANDS[name].command_name == name
        assert COMMANDS[name].target_field == "order_id"
    assert pay().target_stream() == f"pay-{ORDER}"
    assert ReleaseInventory(order_id=ORDER).target_stream() == f"inv-{ORDER}"
