"""The console's parts without a running store: registry, forms, filters, stats, table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from textual.app import App, ComposeResult

from console.actions import ActionRegistry, action
from console.screens.dashboard_stats import events_by_type, human_rate, rate_series
from console.screens.palette import stream_query
from console.widgets.command_form import collect, field_errors, form_fields
from console.widgets.event_filter import EventFilter
from console.widgets.virtual_table import Column, Row, VirtualTable
from core.domain import COMMANDS
from core.events import Metadata, RecordedEvent

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def event(position: int, type_: str = "MoneyDeposited", **data: Any) -> RecordedEvent:
    return RecordedEvent(
        position=position,
        event_id=f"e-{position}",
        stream_id=f"acc-{position % 3}",
        stream_type="Account",
        version=1,
        type=type_,
        schema_version=1,
        data=data or {"amount": "1.00"},
        metadata=Metadata(user_id="carol" if position % 2 else "bob"),
        recorded_at=T0 + timedelta(minutes=position),
    )


def test_registry_refuses_a_key_bound_twice_in_one_scope() -> None:
    registry = ActionRegistry()
    registry.register("x", "X", [action("x", "a", "one", "One", "first")])
    with pytest.raises(ValueError, match="bound twice"):
        registry.add(action("x", "a", "two", "Two", "second"))
    registry.register("y", "Y", [action("y", "a", "one", "One", "same key, other screen")])
    assert [item.key for item in registry.all()] == ["a", "a"]


def test_write_actions_are_bound_through_the_read_only_gate() -> None:
    item = action("x", "ctrl+s", "issue", "Issue", "d", writes="issue a command")
    assert item.binding().action == "write('issue', 'issue a command')"
    assert action("x", "f", "follow", "Follow", "d").binding().action == "follow"


def test_place_order_form_fields_follow_the_model() -> None:
    specs = {spec.name: spec for spec in form_fields(COMMANDS["place-order"])}
    assert specs["customer_id"].required and specs["customer_id"].kind == "text"
    assert specs["items"].kind == "lines" and "SKU:QTY:PRICE" in specs["items"].hint
    assert not specs["order_id"].required
    assert specs["payment_method"].default == "CARD"
    assert {name for name in specs if name.startswith("shipping_address.")} == {
        "shipping_address.street",
        "shipping_address.city",
        "shipping_address.state",
        "shipping_address.zip_code",
        "shipping_address.country",
    }
    cancel = {spec.name: spec for spec in form_fields(COMMANDS["cancel-order"])}
    assert cancel["cancellation_type"].kind == "choice"
    assert cancel["cancellation_type"].choices == ("CUSTOMER", "ADMIN", "SYSTEM")
    deposit = {spec.name: spec for spec in form_fields(COMMANDS["deposit"])}
    assert deposit["amount"].kind == "money"


def test_collect_leaves_blanks_out_and_nests_groups() -> None:
    specs = form_fields(COMMANDS["place-order"])
    data = collect(
        specs,
        {
            "customer_id": " cust-1 ",
            "items": "A:1:1.00\n\n B:2:2.00 ",
            "order_id": "",
            "shipping_address.city": "Paris",
        },
    )
    assert data == {
        "customer_id": "cust-1",
        "items": ["A:1:1.00", "B:2:2.00"],
        "shipping_address": {"city": "Paris"},
    }
    errors = field_errors(COMMANDS["place-order"], data)
    assert errors["shipping_address.street"] == "required"
    assert "customer_id" not in errors and "items" not in errors


def test_field_errors_name_the_field_and_the_line() -> None:
    errors = field_errors(COMMANDS["place-order"], {"items": ["A:1:1.00", "B:x:1"]})
    assert errors["customer_id"] == "required"
    assert errors["items"].startswith("line 2: bad item 'B:x:1'")
    assert field_errors(COMMANDS["deposit"], {"account_id": "a", "amount": "5"}) == {}


def test_event_filter_matches_type_stream_user_and_text() -> None:
    deposited, withdrawn = event(1), event(2, "MoneyWithdrawn", amount="7.25")
    assert EventFilter(type="deposit,opened").matches(deposited)
    assert not EventFilter(type="deposit").matches(withdrawn)
    assert EventFilter(stream="ACC-1").matches(deposited)
    assert not EventFilter(stream="acc-2").matches(deposited)
    assert EventFilter(user="car").matches(deposited) and not EventFilter(user="car").matches(
        withdrawn
    )
    assert EventFilter(text="7.25").matches(withdrawn) and not EventFilter(text="7.25").matches(
        deposited
    )
    assert not EventFilter().active and EventFilter(text="x").active


def test_rate_and_types_come_from_the_tail_only() -> None:
    tail = [event(position) for position in range(1, 61)]
    tail.append(event(61, "OrderPlaced"))
    series = rate_series(tail, now=T0 + timedelta(minutes=61), bars=6)
    assert sum(series.counts) == 61 and len(series.counts) == 6
    assert series.bar == timedelta(minutes=10)
    assert series.per_minute == pytest.approx(61 / 60)
    assert events_by_type(tail) == [("MoneyDeposited", 60), ("OrderPlaced", 1)]
    assert rate_series([], now=T0).counts == [0] * 60
    assert human_rate(120) == "2.0 events/s"
    assert human_rate(0.5) == "30.0 events/h"


def test_palette_reads_a_stream_prefix() -> None:
    assert stream_query("stream ord-12") == "ord-12"
    assert stream_query("Jump to stream acc-") == "acc-"
    assert stream_query("ord-1") == "ord-1"
    assert stream_query("live stream follow") == ""


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield VirtualTable([Column("n", 6, "right"), Column("text")], max_rows=100, id="t")


async def test_virtual_table_drops_the_oldest_rows_and_keeps_the_cursor() -> None:
    app = TableApp()
    async with app.run_test(size=(40, 12)) as pilot:
        table = app.query_one(VirtualTable)
        table.append_rows([Row(n, (str(n), f"row {n}")) for n in range(1, 81)])
        await pilot.pause()
        assert table.cursor_key == 80  # follows the newest row
        table.move_cursor(table.index_of(70) or 0)
        table.append_rows([Row(n, (str(n), f"row {n}")) for n in range(81, 151)])
        await pilot.pause()
        assert table.row_count == 100 and table.row_keys()[0] == 51
        assert table.cursor_key == 70  # not at the end: the cursor stays on its row
        assert table.index_of(50) is None and table.row(150) is not None
        await pilot.press("end")
        assert table.cursor_key == 150
        await pilot.press("home", "down")
        assert table.cursor_key == 52
