"""OrderPlaced v1 and v2 rows read back as v3 events; bad rows give named errors."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from core.domain import Order, build_registry
from core.domain.commands import ApproveOrder
from core.domain.order_events import Address, OrderItem, OrderPlaced
from core.domain.testing import Scenario
from core.domain.upcasters import (
    legacy_order_placed_v1,
    legacy_order_placed_v2,
    order_placed_v1_to_v2,
    order_placed_v2_to_v3,
)
from core.errors import CorruptRecord, UnknownEventType, UnsupportedSchema
from core.events import Metadata, NewEvent, RecordedEvent

UNKNOWN = Address(
    street="Unknown", city="Unknown", state="Unknown", zip_code="00000", country="Unknown"
)
HOME = Address(street="9 Elm St", city="Denver", state="CO", zip_code="80202", country="USA")
ITEMS = [
    OrderItem(product_id="WIDGET-1", quantity=2, price=Decimal("9.99")),
    OrderItem(product_id="MUG-CERAMIC", quantity=3, price=Decimal("14.00")),
]
AT = datetime(2024, 5, 1, 12, tzinfo=UTC)


async def store_row(
    s: Scenario, stream_id: str, type_: str, version: int, data: dict[str, Any]
) -> RecordedEvent:
    """Append one raw row as an older eventdeck would have written it; returns it as read back."""
    # another stream first, so the row under test is not at position 1
    if await s.store.head_position() == 0:
        await s.store.append("other", "Order", [_new("OrderApproved", 1, {"approved_by": "x"})], 0)
    await s.store.append(stream_id, "Order", [_new(type_, version, data)], 0)
    (row,) = await s.store.read_stream(stream_id)
    return row


def _new(type_: str, version: int, data: dict[str, Any]) -> NewEvent:
    return NewEvent(
        event_id=f"evt-{type_}-{version}-{len(str(data))}",
        type=type_,
        schema_version=version,
        data=data,
        metadata=Metadata(user_id="legacy-shop"),
        recorded_at=AT,
    )


def test_legacy_builders_write_the_old_shapes_exactly() -> None:
    assert legacy_order_placed_v1("c1", ["A", "B"]) == {
        "customer_id": "c1",
        "product_ids": ["A", "B"],
    }
    assert legacy_order_placed_v2("c1", ITEMS, HOME) == {
        "customer_id": "c1",
        "items": [
            {"product_id": "WIDGET-1", "quantity": 2, "price": "9.99"},
            {"product_id": "MUG-CERAMIC", "quantity": 3, "price": "14.00"},
        ],
        "shipping_address": {
            "street": "9 Elm St", "city": "Denver", "state": "CO", "zip_code": "80202",
            "country": "USA",
        },
    }  # fmt: skip


def test_upcasters_are_pure() -> None:
    v1 = legacy_order_placed_v1("c1", ["A"])
    before = copy.deepcopy(v1)
    v2 = order_placed_v1_to_v2(v1)
    assert v1 == before
    v2_before = copy.deepcopy(v2)
    order_placed_v2_to_v3(v2)
    assert v2 == v2_before


async def test_v1_reads_back_as_v3_with_the_write_ups_defaults() -> None:
    s = Scenario()
    payload = legacy_order_placed_v1("cust-1", ["WIDGET-1", "GADGET-S"])
    row = await store_row(s, "ord-v1", "OrderPlaced", 1, payload)

    event = s.registry.decode(row)
    assert event == OrderPlaced(
        customer_id="cust-1",
        customer_name=None,
        customer_email=None,
        items=[
            OrderItem(product_id="WIDGET-1", quantity=1, price=Decimal(0)),
            OrderItem(product_id="GADGET-S", quantity=1, price=Decimal(0)),
        ],
        shipping_address=UNKNOWN,
        total_amount=Decimal(0),
        payment_method="UNKNOWN",
    )
    assert type(event).schema_version == 3

    lifted = s.registry.upcast(row)
    assert lifted.schema_version == 3
    assert lifted.data["payment_method"] == "UNKNOWN"
    assert lifted.data["total_amount"] == "0"
    assert lifted.data["shipping_address"]["zip_code"] == "00000"
    assert lifted.position == row.position and lifted.event_id == row.event_id

    # the stored row is never rewritten
    assert row.schema_version == 1
    assert row.data == payload
    (again,) = await s.store.read_stream("ord-v1")
    assert again.schema_version == 1
    assert again.data == {"customer_id": "cust-1", "product_ids": ["WIDGET-1", "GADGET-S"]}


async def test_v2_reads_back_as_v3_with_a_computed_total() -> None:
    s = Scenario()
    payload = legacy_order_placed_v2("cust-2", ITEMS, HOME)
    stored = copy.deepcopy(payload)
    row = await store_row(s, "ord-v2", "OrderPlaced", 2, payload)

    event = s.registry.decode(row)
    assert isinstance(event, OrderPlaced)
    assert event.items == ITEMS
    assert event.shipping_address == HOME
    assert event.total_amount == Decimal("61.98")  # 2 x 9.99 + 3 x 14.00
    assert event.payment_method == "UNKNOWN"
    assert event.customer_name is None and event.customer_email is None
    assert s.registry.upcast(row).data["total_amount"] == "61.98"
    (again,) = await s.store.read_stream("ord-v2")
    assert again.data == stored and again.schema_version == 2


async def test_a_current_row_is_returned_as_is() -> None:
    s = Scenario()
    data = OrderPlaced(
        customer_id="c", items=ITEMS, total_amount=Decimal("61.98"), payment_method="CARD"
    ).model_dump(mode="json")
    row = await store_row(s, "ord-v3", "OrderPlaced", 3, data)
    assert s.registry.upcast(row) is row


async def test_commands_work_on_orders_placed_in_old_schemas() -> None:
    s = Scenario()
    await store_row(s, "ord-v1", "OrderPlaced", 1, legacy_order_placed_v1("c1", ["A"]))
    await s.store.append(
        "ord-v2", "Order", [_new("OrderPlaced", 2, legacy_order_placed_v2("c2", ITEMS, HOME))], 0
    )
    for order_id in ("ord-v1", "ord-v2"):
        result = await s.when(ApproveOrder(order_id=order_id), user="alice")
        assert result.version == 2
        state = (await s.repository.load(Order, order_id)).state_dict()
        assert state["status"] == "APPROVED"
        assert state["payment_method"] == "UNKNOWN"
    v1_state = (await s.repository.load(Order, "ord-v1")).state_dict()
    assert v1_state["items"] == [{"product_id": "A", "quantity": 1, "price": "0"}]
    assert v1_state["shipping_address"]["city"] == "Unknown"


# -- rows that cannot be read ----------------------------------------------------------


async def test_unknown_event_type_names_position_and_stream() -> None:
    s = Scenario()
    row = await store_row(s, "ord-x", "OrderTeleported", 1, {"to": "Mars"})
    with pytest.raises(UnknownEventType) as caught:
        s.registry.decode(row)
    assert caught.value.position == 2 and caught.value.stream_id == "ord-x"
    assert "event at position 2 in stream 'ord-x'" in str(caught.value)
    assert "OrderTeleported" in str(caught.value)


async def test_a_schema_newer_than_known_is_refused() -> None:
    s = Scenario()
    row = await store_row(s, "ord-x", "OrderPlaced", 4, {"customer_id": "c"})
    with pytest.raises(UnsupportedSchema) as caught:
        s.registry.decode(row)
    assert (caught.value.found, caught.value.known) == (4, 3)
    assert "event at position 2 in stream 'ord-x'" in str(caught.value)
    assert "upgrade eventdeck" in str(caught.value)


@pytest.mark.parametrize(
    ("version", "data", "problem"),
    [
        (1, {"customer_id": "c"}, "'product_ids' as a list, found missing"),
        (1, {"customer_id": "c", "product_ids": "A,B"}, "'product_ids' as a list, found a str"),
        (1, {"product_ids": ["A"]}, "'customer_id'"),
        (1, {"customer_id": "c", "product_ids": [""]}, "non-empty strings"),
        (2, {"customer_id": "c", "items": [{"product_id": "A", "quantity": 1, "price": "abc"}]},
         "numeric price and quantity"),
        (2, {"customer_id": "c", "items": [{"product_id": "A", "quantity": 0, "price": "1"}],
             "shipping_address": None}, "items.0.quantity"),
        (2, {"customer_id": "c", "items": "nope"}, "'items' as a list"),
        (3, {"customer_id": "c", "items": [], "total_amount": "1", "payment_method": "CARD",
             "smuggled": True}, "smuggled"),
        (0, {"customer_id": "c"}, "invalid schema version 0"),
    ],
)  # fmt: skip
async def test_malformed_payloads_are_corrupt_records(
    version: int, data: dict[str, Any], problem: str
) -> None:
    s = Scenario()
    row = await store_row(s, "ord-bad", "OrderPlaced", version, data)
    with pytest.raises(CorruptRecord) as caught:
        s.registry.decode(row)
    assert caught.value.position == 2 and caught.value.stream_id == "ord-bad"
    message = str(caught.value)
    assert message.startswith("event at position 2 in stream 'ord-bad': ")
    assert problem in message
    assert (await s.store.read_stream("ord-bad"))[0].data == data  # still untouched


def test_registry_knows_every_demo_event() -> None:
    assert build_registry().type_names() == sorted(
        ["OrderPlaced", "OrderApproved", "OrderShipped", "OrderCancelled", "OrderDelivered",
         "AccountOpened", "MoneyDeposited", "MoneyWithdrawn", "InventoryReserved",
         "InventoryReleased", "PaymentProcessed", "PaymentFailed"]
    )  # fmt: skip
