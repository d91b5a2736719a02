"""The demo projections order-summary, customer-dashboard and sales-analytics: their
documents for given events, over a dict-backed view."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from core.clock import FixedClock, UuidFactory
from core.domain import Order, build_repository
from core.domain.commands import (
    ApproveOrder,
    CancelOrder,
)
from core.domain.demo_data import seed_demo
from core.domain.order_events import OrderApproved, OrderDelivered, OrderShipped
from core.domain.projections import (
    CustomerDashboardProjection,
    OrderSummaryProjection,
    SalesAnalyticsProjection,
)
from core.domain.projections.sales_analytics import segment_of
from core.domain.testing import DictView, Scenario, placed_order
from core.domain.upcasters import legacy_order_placed_v1
from core.events import DomainEvent, NewEvent
from core.memory_store import InMemoryEventStore, InMemorySnapshotStore
from core.projections import ProjectionError
from tests.demo_projection_helpers import (
    START,
    history,
    item,
    lifecycle,
    place,
    project,
)

# -- order-summary -------------------------------------------------------------------------


async def test_order_summary_follows_an_order_through_its_life() -> None:
    s = Scenario(start=START)
    await place(s, "ord-1", "cust-1", item("WIDGET-1", 2, "9.99"), item("CABLE", 1, "12.99"))
    await lifecycle(s, "ord-1")
    view = await project(OrderSummaryProjection(), await history(s), s.registry)
    assert view.documents == {
        "ord-1": {
            "order_id": "ord-1",
            "customer_id": "cust-1",
            "total_amount": "32.97",
            "item_count": 2,
            "status": "DELIVERED",
            "placed_at": "2025-01-06T09:00:00+00:00",
            "approved_at": "2025-01-06T10:05:00+00:00",
            "shipped_at": "2025-01-06T11:05:00+00:00",
            "tracking_number": "1Z999",
            "carrier": "UPS",
            "delivered_at": "2025-01-06T12:05:00+00:00",
            "cancelled_at": None,
        }
    }


async def test_order_summary_records_a_cancellation() -> None:
    s = Scenario(start=START)
    await place(s, "ord-1")
    await s.when(CancelOrder(order_id="ord-1", reason="changed my mind"))
    view = await project(OrderSummaryProjection(), await history(s), s.registry)
    doc = view.documents["ord-1"]
    assert (doc["status"], doc["cancelled_at"]) == ("CANCELLED", "2025-01-06T09:05:00+00:00")
    assert doc["approved_at"] is None


@pytest.mark.parametrize("first", ["shipped", "delivered", "approved"])
async def test_order_summary_raises_order_not_found_for_an_unplaced_order(first: str) -> None:
    s = Scenario(start=START)
    events: dict[str, DomainEvent] = {
        "shipped": OrderShipped(
            tracking_number="1Z1", carrier="UPS", estimated_delivery=START + timedelta(days=2)
        ),
        "delivered": OrderDelivered(delivered_at=START),
        "approved": OrderApproved(approved_by="bob"),
    }
    await s.given("ord-ghost", events[first])
    view = DictView()
    with pytest.raises(ProjectionError, match=r"^Order not found: ord-ghost$"):
        await project(OrderSummaryProjection(), await history(s), s.registry, view)
    assert view.documents == {}


async def test_order_summary_refuses_a_second_placement() -> None:
    s = Scenario(start=START)
    await s.given("ord-1", placed_order(), placed_order())  # as a raw import might write
    with pytest.raises(ProjectionError, match="Order already placed: ord-1"):
        await project(OrderSummaryProjection(), await history(s), s.registry)


async def test_order_summary_agrees_with_the_aggregate_on_seeded_history() -> None:
    store = InMemoryEventStore()
    end = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    summary = await seed_demo(
        store, InMemorySnapshotStore(), orders=80, accounts=0, days=15, seed=3, end=end
    )
    repo = build_repository(store, clock=FixedClock(end), ids=UuidFactory())
    projection = OrderSummaryProjection()
    view = DictView()
    dead: set[str] = set()
    async for record in store.read_all():
        if record.stream_id in dead:
            continue  # parked behind its dead letter, as the runner does
        try:
            await project(projection, [record], repo.registry, view)
        except ProjectionError as error:
            assert str(error) == f"Order not found: {record.stream_id}"
            dead.add(record.stream_id)
    assert dead == {s for s in summary.poison_stream_ids if s.startswith("ord-")}
    assert len(view.documents) == summary.orders == 80
    for order_id, doc in view.documents.items():
        state = (await repo.load(Order, order_id)).state_dict()
        assert (doc["status"], doc["customer_id"], doc["total_amount"]) == (
            state["status"],
            state["customer_id"],
            state["total_amount"],
        ), order_id
    statuses = Counter(doc["status"] for doc in view.documents.values())
    assert dict(statuses) == {k: v for k, v in summary.by_status.items() if v}


async def test_order_summary_of_a_legacy_v1_order_matches_the_aggregate() -> None:
    s = Scenario(start=START)
    await s.store.append(
        "ord-old",
        "Order",
        [
            NewEvent(
                event_id="e-1",
                type="OrderPlaced",
                schema_version=1,
                data=legacy_order_placed_v1("cust-9", ["A", "B"]),
                recorded_at=START,
            )
        ],
        0,
    )
    view = await project(OrderSummaryProjection(), await history(s), s.registry)
    state = (await s.repository.load(Order, "ord-old")).state_dict()
    doc = view.documents["ord-old"]
    assert doc["total_amount"] == state["total_amount"] == "0"
    assert doc["item_count"] == 2


# -- customer-dashboard ----------------------------------------------------------------------


async def test_dashboard_counts_orders_money_and_statuses() -> None:
    s = Scenario(start=START)
    await place(s, "ord-1", "cust-1", item("A", 1, "10.00"))
    await place(s, "ord-2", "cust-1", item("A", 1, "10.01"))
    await place(s, "ord-3", "cust-1", item("A", 1, "0.10"), item("B", 1, "0.20"))
    await place(s, "ord-4", "cust-2", item("A", 1, "5.00"))
    await lifecycle(s, "ord-1")
    await s.when(CancelOrder(order_id="ord-2", reason="duplicate"))
    await s.when(ApproveOrder(order_id="ord-3"))
    view = await project(CustomerDashboardProjection(), await history(s), s.registry)
    dashboard = view.documents["cust-1"]
    assert dashboard == {
        "kind": "customer",
        "customer_id": "cust-1",
        "total_orders": 3,
        "active_orders": 1,
        "completed_orders": 1,
        "cancelled_orders": 1,
        "total_spent": "20.31",  # exact: 10.00 + 10.01 + 0.10 + 0.20, cancelled included
        "average_order_value": "6.77",  # 20.31 / 3 = 6.77
        "last_order_at": "2025-01-06T09:10:00+00:00",
        "recent_orders": [
            {"order_id": "ord-3", "total_amount": "0.30", "status": "APPROVED",
             "placed_at": "2025-01-06T09:10:00+00:00"},
            {"order_id": "ord-2", "total_amount": "10.01", "status": "CANCELLED",
             "placed_at": "2025-01-06T09:05:00+00:00"},
            {"order_id": "ord-1", "total_amount": "10.00", "status": "DELIVERED",
             "placed_at": "2025-01-06T09:00:00+00:00"},
        ],
    }  # fmt: skip
    assert view.documents["order:ord-4"] == {
        "kind": "order-link",
        "order_id": "ord-4",
        "customer_id": "cust-2",
    }
    assert view.documents["cust-2"]["average_order_value"] == "5.00"


async def test_dashboard_average_rounds_half_up_to_cents() -> None:
    s = Scenario(start=START)
    await place(s, "ord-1", "cust-1", item("A", 1, "10.00"))
    await place(s, "ord-2", "cust-1", item("A", 1, "10.01"))
    view = await project(CustomerDashboardProjection(), await history(s), s.registry)
    assert view.documents["cust-1"]["total_spent"] == "20.01"
    assert view.documents["cust-1"]["average_order_value"] == "10.01"  # 10.005 -> 10.01


async def test_dashboard_keeps_the_ten_most_recent_orders_newest_first() -> None:
    s = Scenario(start=START)
    for n in range(12):
        await place(s, f"ord-{n:02d}", "cust-1", item("A", 1, "1.00"))
    await s.when(CancelOrder(order_id="ord-00", reason="old"))  # not in the ten any more
    view = await project(CustomerDashboardProjection(), await history(s), s.registry)
    dashboard = view.documents["cust-1"]
    assert [r["order_id"] for r in dashboard["recent_orders"]] == [
        f"ord-{n:02d}" for n in range(11, 1, -1)
    ]
    assert (dashboard["total_orders"], dashboard["active_orders"]) == (12, 11)
    assert dashboard["cancelled_orders"] == 1
    assert dashboard["total_spent"] == "12.00"


async def test_dashboard_ignores_orders_it_never_saw_placed() -> None:
    s = Scenario(start=START)
    await s.given("ord-ghost", OrderDelivered(delivered_at=START))
    view = await project(CustomerDashboardProjection(), await history(s), s.registry)
    assert view.documents == {}


async def test_dashboard_refuses_a_customer_id_that_clashes_with_its_links() -> None:
    s = Scenario(start=START)
    await s.given("ord-1", placed_order(customer_id="order:ord-2"))
    with pytest.raises(ProjectionError, match="clashes"):
        await project(CustomerDashboardProjection(), await history(s), s.registry)


# -- sales-analytics ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "segment"),
    [
        ("0.00", "BASIC"),
        ("100.00", "BASIC"),
        ("100.01", "STANDARD"),
        ("1000.00", "STANDARD"),
        ("1000.01", "PREMIUM"),
    ],
)
def test_segment_thresholds(total: str, segment: str) -> None:
    assert segment_of(Decimal(total)) == segment


async def test_sales_analytics_by_day_product_and_segment() -> None:
    s = Scenario(start=datetime(2025, 1, 6, 23, 50, tzinfo=UTC))
    # 23:50: day one; a product on two lines of one order counts once per order
    await place(s, "ord-1", "c1", item("A", 1, "0.10"), item("B", 2, "0.20"), item("A", 3, "0.10"))
    await place(s, "ord-2", "c2", item("A", 1, "100.01"))  # 23:55
    await place(s, "ord-3", "c3", item("C", 1, "1000.01"))  # 00:00 next day
    await place(s, "ord-4", "c3", item("B", 1, "50.00"))  # 00:05 next day
    view = await project(SalesAnalyticsProjection(), await history(s), s.registry)
    docs = view.documents
    assert docs["daily:2025-01-06"] == {
        "kind": "daily",
        "date": "2025-01-06",
        "order_count": 2,
        "total_revenue": "100.81",  # 0.80 + 100.01, exact
        "average_order_value": "50.41",  # 50.405 rounds half up
        "item_count": 4,  # order lines, as the write-up counts them
    }
    assert docs["daily:2025-01-07"]["order_count"] == 2
    assert docs["daily:2025-01-07"]["total_revenue"] == "1050.01"
    assert docs["product:A"] == {
        "kind": "product",
        "product_id": "A",
        "order_count": 2,
        "quantity_sold": 5,
        "total_revenue": "100.41",  # 0.10 + 0.30 + 100.01
    }
    assert docs["product:B"]["quantity_sold"] == 3
    assert docs["product:B"]["total_revenue"] == "50.40"
    assert docs["segment:BASIC"] == {
        "kind": "segment",
        "segment": "BASIC",
        "order_count": 2,
        "total_revenue": "50.80",
        "average_order_value": "25.40",
    }
    assert docs["segment:STANDARD"]["total_revenue"] == "100.01"
    assert docs["segment:PREMIUM"]["total_revenue"] == "1000.01"
    assert sorted(docs) == [
        "daily:2025-01-06", "daily:2025-01-07", "product:A", "product:B", "product:C",
        "segment:BASIC", "segment:PREMIUM", "segment:STANDARD",
    ]  # fmt: skip


async def test_sales_analytics_prefetch_keys_are_exactly_what_it_writes() -> None:
    s = Scenario(start=START)
    await place(s, "ord-1", "c1", item("A", 1, "1.00"), item("A", 1, "1.00"), item("B", 1, "5"))
    (record,) = await history(s)
    projection = SalesAnalyticsProjection()
    keys = list(projection.prefetch_keys(s.registry.decode(record), record))
    view = await project(projection, [record], s.registry)
    assert sorted(keys) == sorted(view.documents)
