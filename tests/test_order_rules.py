"""Every Order rule, given/when/then through the command bus."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from core.commands import make_command
from core.domain import Order
from core.domain.account import AccountOpened
from core.domain.commands import (
    ApproveOrder,
    CancelOrder,
    DeliverOrder,
    PlaceOrder,
    ShipOrder,
)
from core.domain.order_events import (
    Address,
    CancellationType,
    OrderApproved,
    OrderCancelled,
    OrderDelivered,
    OrderItem,
    OrderPlaced,
    OrderShipped,
    OrderStatus,
)
from core.domain.testing import Scenario, placed_order
from core.errors import InvalidInput, InvalidTransition, StreamNotFound

ORDER = "ord-1a2b"
ADDRESS = Address(street="1 Main St", city="Boston", state="MA", zip_code="02110", country="USA")


def approved() -> OrderApproved:
    return OrderApproved(approved_by="bob", notes="")


def shipped(s: Scenario) -> OrderShipped:
    return OrderShipped(
        tracking_number="1Z999",
        carrier="UPS",
        shipping_address=ADDRESS,
        estimated_delivery=s.clock.now() + timedelta(days=3),
    )


def cancelled() -> OrderCancelled:
    return OrderCancelled(
        cancelled_by="bob",
        reason="duplicate",
        cancellation_type=CancellationType.ADMIN,
        refund_issued=True,
    )


def delivered(s: Scenario) -> OrderDelivered:
    return OrderDelivered(delivered_at=s.clock.now(), signed_by=None)


async def given_order_in(s: Scenario, status: OrderStatus) -> None:
    """Give ORDER a history that leaves it in `status`."""
    history: list[Any] = [placed_order()]
    if status in (OrderStatus.APPROVED, OrderStatus.SHIPPED, OrderStatus.DELIVERED):
        history.append(approved())
    if status in (OrderStatus.SHIPPED, OrderStatus.DELIVERED):
        history.append(shipped(s))
    if status is OrderStatus.DELIVERED:
        history.append(delivered(s))
    if status is OrderStatus.CANCELLED:
        history.append(cancelled())
    await s.given(ORDER, *history)
    assert (await s.repository.load(Order, ORDER)).state.status is status


# -- place ------------------------------------------------------------------------------


async def test_place_order_records_items_and_decimal_total() -> None:
    s = Scenario()
    command = make_command(
        PlaceOrder,
        {
            "customer_id": "cust-7",
            "items": ["WIDGET-1:2:9.99", "CABLE-USB-C:1:12.99"],
            "customer_name": "Ada Lovelace",
            "customer_email": "ada@example.com",
            "shipping_address": ADDRESS.model_dump(),
        },
    )
    result = await s.when(command, user="storefront")

    assert re.fullmatch(r"ord-[0-9a-f]{12}", result.stream_id)
    assert result.version == 1
    assert s.decoded(result) == [
        OrderPlaced(
            customer_id="cust-7",
            customer_name="Ada Lovelace",
            customer_email="ada@example.com",
            items=[
                OrderItem(product_id="WIDGET-1", quantity=2, price=Decimal("9.99")),
                OrderItem(product_id="CABLE-USB-C", quantity=1, price=Decimal("12.99")),
            ],
            shipping_address=ADDRESS,
            total_amount=Decimal("32.97"),
            payment_method="CARD",
        )
    ]
    row = result.events[0]
    assert row.data["total_amount"] == "32.97"  # money is stored as a string, never a float
    assert row.data["items"][0]["price"] == "9.99"
    assert row.schema_version == 3
    assert row.metadata.user_id == "storefront"

    state = (await s.repository.load(Order, result.stream_id)).state_dict()
    assert state["status"] == "PENDING"
    assert state["customer_id"] == "cust-7"
    assert state["total_amount"] == "32.97"
    assert state["placed_at"] == "2025-01-06T09:00:00Z"


async def test_place_order_with_a_chosen_id() -> None:
    s = Scenario()
    result = await s.when(PlaceOrder(customer_id="c1", items=["A:1:1.00"], order_id="ord-mine"))
    assert result.stream_id == "ord-mine"


async def test_place_order_refuses_an_existing_id() -> None:
    s = Scenario()
    await s.given(ORDER, placed_order())
    error = await s.refused(PlaceOrder(customer_id="c1", items=["A:1:1.00"], order_id=ORDER))
    assert isinstance(error, InvalidInput)
    assert f"order {ORDER} already exists" in str(error)


def test_an_order_needs_at_least_one_item() -> None:
    with pytest.raises(InvalidInput, match="at least one item"):
        Order.place("ord-x", customer_id="c", items=[], payment_method="CARD")
    with pytest.raises(InvalidInput, match="items: an order needs at least one item"):
        make_command(PlaceOrder, {"customer_id": "c", "items": []})


# -- approve ----------------------------------------------------------------------------


async def test_approve_a_pending_order() -> None:
    s = Scenario()
    await s.given(ORDER, placed_order())
    result = await s.when(ApproveOrder(order_id=ORDER, notes="stock ok"), user="alice")
    assert s.decoded(result) == [OrderApproved(approved_by="alice", notes="stock ok")]
    state = (await s.repository.load(Order, ORDER)).state
    assert state.status is OrderStatus.APPROVED
    assert state.approved_by == "alice"
    assert state.approved_at == s.clock.now()


@pytest.mark.parametrize(
    "status",
    [OrderStatus.APPROVED, OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.CANCELLED],
)
async def test_only_pending_orders_are_approved(status: OrderStatus) -> None:
    s = Scenario()
    await given_order_in(s, status)
    error = await s.refused(ApproveOrder(order_id=ORDER))
    assert isinstance(error, InvalidTransition)
    assert str(error) == (
        f"cannot approve order {ORDER}: it is {status.value}; only PENDING orders can be approved"
    )


# -- ship -------------------------------------------------------------------------------


async def test_ship_an_approved_order_to_its_address_with_default_estimate() -> None:
    s = Scenario()
    await s.given(ORDER, placed_order(address=ADDRESS), approved())
    result = await s.when(ShipOrder(order_id=ORDER, tracking_number="1Z42", carrier="UPS"))
    assert s.decoded(result) == [
        OrderShipped(
            tracking_number="1Z42",
            carrier="UPS",
            shipping_address=ADDRESS,
            estimated_delivery=s.clock.now() + timedelta(days=3),
        )
    ]
    state = (await s.repository.load(Order, ORDER)).state_dict()
    assert state["status"] == "SHIPPED"
    assert state["tracking_number"] == "1Z42"
    assert state["carrier"] == "UPS"


async def test_ship_with_a_given_estimate() -> None:
    s = Scenario()
    await s.given(ORDER, placed_order(), approved())
    when = s.clock.now() + timedelta(days=7)
    result = await s.when(
        make_command(
            ShipOrder,
            {"order_id": ORDER, "tracking_number": "T", "carrier": "DHL",
             "estimated_delivery": when.isoformat()},
        )
    )  # fmt: skip
    (event,) = s.decoded(result)
    assert isinstance(event, OrderShipped)
    assert event.estimated_delivery == when


async def test_ship_refuses_an_estimate_in_the_past() -> None:
    s = Scenario()
    await s.given(ORDER, placed_order(), approved())
    past = s.clock.now() - timedelta(days=1)
    error = await s.refused(
        ShipOrder(order_id=ORDER, tracking_number="T", carrier="DHL", estimated_delivery=past)
    )
    assert isinstance(error, InvalidInput)
    assert "estimated delivery" in str(error)


async def test_shipping_a_pending_order_is_refused_with_one_clear_line() -> None:
    s = Scenario()
    await given_order_in(s, OrderStatus.PENDING)
    error = await s.refused(ShipOrder(order_id=ORDER, tracking_number="T", carrier="UPS"))
    assert isinstance(error, InvalidTransition)
    assert str(error) == (
        "cannot ship order ord-1a2b: it is PENDING; only APPROVED orders can be shipped"
    )


@pytest.mark.parametrize(
    "status", [OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.CANCELLED]
)
async def test_only_approved_orders_are_shipped(status: OrderStatus) -> None:
    s = Scenario()
    await given_order_in(s, status)
    error = await s.refused(ShipOrder(order_id=ORDER, tracking_number="T", carrier="UPS"))
    assert isinstance(error, InvalidTransition)
    assert f"it is {status.value}; only APPROVED orders can be shipped" in str(error)


# -- cancel -----------------------------------------------------------------------------


@pytest.mark.parametrize("status", [OrderStatus.PENDING, OrderStatus.APPROVED])
async def test_cancel_an_order_that_has_not_shipped(status: OrderStatus) -> None:
    s = Scenario()
    await given_order_in(s, status)
    result = await s.when(
        make_command(
            CancelOrder,
            {"order_id": ORDER, "reason": "changed mind", "cancellation_type": "customer"},
        ),
        user="storefront",
    )
    assert s.decoded(result) == [
        OrderCancelled(
            cancelled_by="storefront",
            reason="changed mind",
            cancellation_type=CancellationType.CUSTOMER,
            refund_issued=True,
        )
    ]
    state = (await s.repository.load(Order, ORDER)).state_dict()
    assert state["status"] == "CANCELLED"
    assert state["cancellation_reason"] == "changed mind"
    assert state["cancelled_by"] == "storefront"


@pytest.mark.parametrize("status", [OrderStatus.SHIPPED, OrderStatus.DELIVERED])
async def test_shipped_or_delivered_orders_cannot_be_cancelled(status: OrderStatus) -> None:
    s = Scenario()
    await given_order_in(s, status)
    error = await s.refused(CancelOrder(order_id=ORDER, reason="too late"))
    assert isinstance(error, InvalidTransition)
    assert str(error) == (
        f"cannot cancel order {ORDER}: it is {status.value}; "
        "only PENDING or APPROVED orders can be cancelled"
    )


async def test_an_order_is_cancelled_only_once() -> None:
    s = Scenario()
    await given_order_in(s, OrderStatus.CANCELLED)
    error = await s.refused(CancelOrder(order_id=ORDER, reason="again"))
    assert isinstance(error, InvalidTransition)
    assert str(error) == f"cannot cancel order {ORDER}: it is already CANCELLED"


# -- deliver ----------------------------------------------------------------------------


async def test_deliver_a_shipped_order() -> None:
    s = Scenario()
    await given_order_in(s, OrderStatus.SHIPPED)
    result = await s.when(DeliverOrder(order_id=ORDER, signed_by="Ada"), user="system")
    assert s.decoded(result) == [OrderDelivered(delivered_at=s.clock.now(), signed_by="Ada")]
    state = (await s.repository.load(Order, ORDER)).state_dict()
    assert state["status"] == "DELIVERED"
    assert state["signed_by"] == "Ada"


@pytest.mark.parametrize(
    "status",
    [OrderStatus.PENDING, OrderStatus.APPROVED, OrderStatus.DELIVERED, OrderStatus.CANCELLED],
)
async def test_only_shipped_orders_are_delivered(status: OrderStatus) -> None:
    s = Scenario()
    await given_order_in(s, status)
    error = await s.refused(DeliverOrder(order_id=ORDER))
    assert isinstance(error, InvalidTransition)
    assert f"it is {status.value}; only SHIPPED orders can be delivered" in str(error)


# -- unknown and wrong streams --------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        ApproveOrder(order_id="ord-missing"),
        ShipOrder(order_id="ord-missing", tracking_number="T", carrier="UPS"),
        CancelOrder(order_id="ord-missing", reason="r"),
        DeliverOrder(order_id="ord-missing"),
    ],
)
async def test_commands_on_an_unknown_order_are_refused(command: Any) -> None:
    s = Scenario()
    error = await s.refused(command)
    assert isinstance(error, StreamNotFound)
    assert "ord-missing" in str(error)


async def test_an_account_is_not_an_order() -> None:
    s = Scenario()
    await s.given("acc-1", AccountOpened(owner="Ada"))
    error = await s.refused(ApproveOrder(order_id="acc-1"))
    assert isinstance(error, InvalidInput)
    assert "is an Account, not an Order" in str(error)


# -- the whole life and the state JSON ---------------------------------------------------


async def test_full_life_of_an_order_through_the_bus() -> None:
    s = Scenario()
    placed = await s.when(
        PlaceOrder(customer_id="c1", items=["A-1:3:2.50"], payment_method="PAYPAL")
    )
    order_id = placed.stream_id
    for command in (
        ApproveOrder(order_id=order_id, notes="ok"),
        ShipOrder(order_id=order_id, tracking_number="9400111", carrier="USPS"),
        DeliverOrder(order_id=order_id, signed_by="Front desk"),
    ):
        s.clock.advance(timedelta(hours=5))
        await s.when(command)
    order = await s.repository.load(Order, order_id)
    assert order.version == 4
    state = order.state_dict()
    assert {
        "status", "customer_id", "customer_name", "customer_email", "items", "total_amount",
        "shipping_address", "payment_method", "placed_at", "approved_at", "approved_by", "notes",
        "shipped_at", "tracking_number", "carrier", "estimated_delivery", "cancelled_at",
        "cancellation_reason", "cancelled_by", "delivered_at", "signed_by",
    } <= state.keys()  # fmt: skip
    assert state["status"] == "DELIVERED"
    assert state["items"] == [{"product_id": "A-1", "quantity": 3, "price": "2.50"}]
    assert state["total_amount"] == "7.50"
    assert state["payment_method"] == "PAYPAL"
    assert state["delivered_at"] == "2025-01-07T00:00:00Z"  # placed 09:00, three steps of 5 h
    assert state["approved_at"] < state["shipped_at"] < state["delivered_at"]
