"""Order command validation: item syntax, amounts and the one-line messages."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from core.commands import make_command
from core.domain import COMMANDS
from core.domain.commands import (
    ApproveOrder,
    CancelOrder,
    DeliverOrder,
    PlaceOrder,
    ShipOrder,
    parse_item,
)
from core.domain.order_events import (
    OrderItem,
)
from core.errors import InvalidInput

# -- command validation ------------------------------------------------------------------


def test_every_command_is_registered_by_name() -> None:
    assert sorted(COMMANDS) == sorted(
        ["place-order", "approve-order", "ship-order", "cancel-order", "deliver-order",
         "open-account", "deposit", "withdraw", "reserve-inventory", "release-inventory",
         "process-payment"]
    )  # fmt: skip
    for name, cls in COMMANDS.items():
        assert cls.command_name == name


def test_parse_item_reads_sku_quantity_and_decimal_price() -> None:
    item = parse_item("WIDGET-1:2:9.99")
    assert item == OrderItem(product_id="WIDGET-1", quantity=2, price=Decimal("9.99"))
    assert isinstance(item.price, Decimal)
    assert parse_item(" X:1:5 ").price == Decimal("5.00")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("X:0:1", "quantity must be a whole number above 0"),
        ("X:-1:1", "quantity must be a whole number above 0"),
        ("X:1.5:1", "quantity must be a whole number above 0"),
        ("X:two:1", "quantity must be a whole number above 0"),
        ("X:1:0", "price must be above 0"),
        ("X:1:-2.00", "price must be above 0"),
        ("X:1:abc", "price must be a decimal number"),
        ("X:1:NaN", "price must be a finite number"),
        ("X:1:inf", "price must be a finite number"),
        ("X:1:1.001", "price must have at most 2 decimal places"),
        ("X:1", "expected 3 parts"),
        ("X:1:2:3", "expected 3 parts"),
        (":1:2", "product SKU"),
        ("A B:1:2", "product SKU"),
    ],
)
def test_parse_item_refuses_bad_items(text: str, problem: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_item(text)
    message = str(caught.value)
    assert message.startswith(f"bad item {text!r}: {problem}")
    assert message.endswith("write items as SKU:QTY:PRICE, e.g. WIDGET-1:2:9.99")
    assert "\n" not in message


def test_the_example_message_for_a_zero_quantity() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_item("X:0:1")
    assert str(caught.value) == (
        "bad item 'X:0:1': quantity must be a whole number above 0, not '0'; "
        "write items as SKU:QTY:PRICE, e.g. WIDGET-1:2:9.99"
    )


@pytest.mark.parametrize(
    ("cls", "data", "problem"),
    [
        (PlaceOrder, {"customer_id": "c", "items": ["X:0:1"]}, "items.0: bad item 'X:0:1'"),
        (PlaceOrder, {"customer_id": "c", "items": [{"product_id": "X", "quantity": 1,
                                                     "price": "NaN"}]}, "price must be a finite"),
        (PlaceOrder, {"customer_id": "c", "items": [{"product_id": "X", "quantity": 1,
                                                     "price": 0.001}]}, "at most 2 decimal"),
        (PlaceOrder, {"customer_id": " ", "items": ["X:1:1"]}, "customer_id: customer id must not"),
        (PlaceOrder, {"items": ["X:1:1"]}, "customer_id: Field required"),
        (PlaceOrder, {"customer_id": "c", "items": ["X:1:1"], "customer_email": "nope"},
         "not an email address"),
        (PlaceOrder, {"customer_id": "c", "items": ["X:1:1"], "order_id": "two words"},
         "one word without spaces"),
        (ApproveOrder, {"order_id": ""}, "order_id: order id must not be empty"),
        (ShipOrder, {"order_id": "o", "tracking_number": "", "carrier": "UPS"},
         "tracking number must not be empty"),
        (ShipOrder, {"order_id": "o", "tracking_number": "T", "carrier": " "},
         "carrier must not be empty"),
        (CancelOrder, {"order_id": "o", "reason": "  "}, "reason must not be empty"),
        (CancelOrder, {"order_id": "o", "reason": "r", "cancellation_type": "BOSS"},
         "must be CUSTOMER, ADMIN or SYSTEM"),
        (DeliverOrder, {"order_id": "o", "surprise": 1}, "surprise"),
    ],
)  # fmt: skip
def test_command_validation_gives_one_clear_line(
    cls: Any, data: dict[str, Any], problem: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        make_command(cls, data)
    message = str(caught.value)
    assert message.startswith(f"invalid {cls.command_name}: ")
    assert problem in message
    assert "\n" not in message
