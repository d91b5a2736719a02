"""Property: any field values, through `make_command` and the real command bus on a
SQLite store, give either a command that succeeds or one of eventdeck's own errors
with a one-line message, and a refused command leaves the store exactly as it was."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.clock import SystemClock, UuidFactory
from core.commands import Command, CommandBus, CommandResult, make_command
from core.domain import COMMANDS, build_bus, build_repository
from core.domain.commands import (
    ApproveOrder,
    Deposit,
    OpenAccount,
    PlaceOrder,
    ShipOrder,
)
from core.errors import EventdeckError
from core.ports import EventStore
from core.snapshots import SnapshotPolicy
from stores import SqlEventStore, open_stores
from tests.bad_input import assert_one_line, nasty_text, nasty_values

NAMES = (
    "place-order",
    "approve-order",
    "ship-order",
    "cancel-order",
    "deliver-order",
    "open-account",
    "deposit",
    "withdraw",
)
#: Streams made before the examples: orders in every state, accounts with money or not.
ORDERS = ("ord-pending", "ord-approved", "ord-shipped", "ord-cancelled", "ord-delivered")
ACCOUNTS = ("acc-rich", "acc-empty")

ITEMS = st.lists(
    st.sampled_from(
        ["WIDGET-1:2:9.99", "X:1:1", "B.2/c_d-e:100000:1000000000.00"]
        + [{"product_id": "A", "quantity": 3, "price": "0.01"}]
    ),
    min_size=1,
    max_size=3,
)
ADDRESS = st.fixed_dictionaries(
    {"street": nasty_text(), "city": nasty_text(), "zip_code": nasty_text()},
    optional={"state": nasty_text(), "country": nasty_text(), "planet": nasty_text()},
)
#: A value the field could well take, so that examples also reach the handlers.
PLAUSIBLE: dict[str, st.SearchStrategy[Any]] = {
    "order_id": st.one_of(
        st.sampled_from(ORDERS + ACCOUNTS + ("ord-missing",)),
        st.text("0123456789abcdef", min_size=6, max_size=12).map(lambda s: f"ord-{s}"),
    ),
    "account_id": st.one_of(
        st.sampled_from(ACCOUNTS + ORDERS + ("acc-missing",)),
        st.text("0123456789abcdef", min_size=6, max_size=12).map(lambda s: f"acc-{s}"),
    ),
    "customer_id": st.sampled_from(["cust-1", "c", "\u05e9-1"]),
    "items": st.one_of(ITEMS, st.lists(nasty_values(), max_size=3)),
    "amount": st.sampled_from(["1", "12.50", "0.01", "1000000000.00", 7, "999999999.99"]),
    "owner": nasty_text(),
    "notes": nasty_text(),
    "tracking_number": nasty_text(),
    "carrier": st.sampled_from(["UPS", "DHL"]),
    "reason": nasty_text(),
    "cancellation_type": st.sampled_from(["CUSTOMER", "admin", " System "]),
    "signed_by": nasty_text(),
    "payment_method": nasty_text(),
    "customer_name": nasty_text(),
    "customer_email": st.sampled_from(["ada@example.com", "\u00e9@\u00e9.fr"]),
    "shipping_address": ADDRESS,
    "estimated_delivery": st.sampled_from(
        ["2999-01-01T00:00:00Z", "2000-01-01", "9999-12-31T23:59:59-05:00"]
    ),
}


def fields_of(cls: type[Command]) -> st.SearchStrategy[dict[str, Any]]:
    """Each field missing, plausible or hostile; now and then a field the model lacks."""
    entries: dict[str, st.SearchStrategy[Any]] = {}
    for name in cls.model_fields:
        plausible = PLAUSIBLE.get(name, nasty_text())
        entries[name] = st.one_of(plausible, plausible, nasty_values())
    return st.fixed_dictionaries({}, optional={**entries, "surprise": nasty_values()})


Snapshot = tuple[int, dict[str, int]]


class Harness:
    """A SQLite store with a bus, driven from synchronous hypothesis examples."""

    def __init__(self, runner: asyncio.Runner, store: SqlEventStore, bus: CommandBus) -> None:
        self.runner = runner
        self.store = store
        self.bus = bus

    def run(self, coroutine: Any) -> Any:
        return self.runner.run(coroutine)

    async def snapshot(self) -> Snapshot:
        streams = await self.store.list_streams()
        return await self.store.head_position(), {s.stream_id: s.version for s in streams}


async def _given_streams(bus: CommandBus) -> None:
    async def send(command: Command) -> None:
        await bus.dispatch(command, user_id="setup")

    for order in ORDERS:
        await send(PlaceOrder(order_id=order, customer_id="cust-1", items=["WIDGET-1:1:5.00"]))
    for order in ORDERS[1:]:
        await send(ApproveOrder(order_id=order))
    await send(COMMANDS["cancel-order"](order_id="ord-cancelled", reason="test"))
    for order in ("ord-shipped", "ord-delivered"):
        await send(ShipOrder(order_id=order, tracking_number="T", carrier="UPS"))
    await send(COMMANDS["deliver-order"](order_id="ord-delivered"))
    for account in ACCOUNTS:
        await send(OpenAccount(owner="Ann", account_id=account))
    await send(Deposit(account_id="acc-rich", amount="1000"))


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    path = tmp_path_factory.mktemp("bad-input") / "store.db"
    with asyncio.Runner() as runner:
        store, snapshots = runner.run(open_stores(str(path)))
        repository = build_repository(
            store,
            clock=SystemClock(),
            ids=UuidFactory(),
            snapshots=snapshots,
            policy=SnapshotPolicy(3),
        )
        bus = build_bus(repository)
        runner.run(_given_streams(bus))
        yield Harness(runner, store, bus)
        runner.run(store.close())


async def _check_written(store: EventStore, result: CommandResult, before: Snapshot) -> None:
    """What a command wrote is in the store, exactly as the bus returned it."""
    head, versions = before
    written = len(result.events)
    assert written >= 1
    assert await store.head_position() == head + written
    old = versions.get(result.stream_id, 0)
    assert result.version == old + written
    stored = await store.read_stream(result.stream_id, from_version=old + 1)
    assert [e.to_json_dict() for e in stored] == [e.to_json_dict() for e in result.events]


def _attempt(harness: Harness, cls: type[Command], data: dict[str, Any]) -> None:
    before = harness.run(harness.snapshot())
    try:
        command = make_command(cls, data)
        result = harness.run(harness.bus.dispatch(command, user_id="\u202efuzz\x00er"))
    except EventdeckError as error:
        assert_one_line(str(error), f"{type(error).__name__} from {cls.command_name}")
        assert harness.run(harness.snapshot()) == before, "a refused command changed the store"
        return
    harness.run(_check_written(harness.store, result, before))


@pytest.mark.parametrize("name", NAMES)
# Oversized values are the point here; hypothesis only warns that their repr is long.
@pytest.mark.filterwarnings("ignore:Generating overly large repr")
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_any_field_values_succeed_or_give_one_line_and_write_nothing(
    harness: Harness, name: str, data: st.DataObject
) -> None:
    cls = COMMANDS[name]
    _attempt(harness, cls, data.draw(fields_of(cls), label="fields"))


@pytest.mark.parametrize(
    ("name", "data", "fragment"),
    [
        ("deposit", {"account_id": "acc-rich", "amount": " -5\n"}, "above 0"),
        ("deposit", {"account_id": "acc-rich", "amount": "1" * 5000}, "at most"),
        ("withdraw", {"account_id": "acc-rich", "amount": "1.001\n"}, "2 decimal places"),
        ("place-order", {"customer_id": "c", "items": ["X:100001\n:1"]}, "at most 100000"),
        ("place-order", {"customer_id": "c", "items": ["X:\u00b2:1"]}, "whole number"),
        ("place-order", {"customer_id": "c", "items": ["X:" + "9" * 5000 + ":1"]}, "at most"),
        (
            "ship-order",
            {
                "order_id": "ord-approved",
                "tracking_number": "T",
                "carrier": "UPS",
                "estimated_delivery": "9999-12-31T23:59:59-05:00",
            },
            "estimated_delivery",
        ),
        ("approve-order", {"order_id": "ord-\x00"}, "control characters"),
        ("deposit", {"account_id": "a" * 100_000, "amount": "1"}, "at most 255"),
    ],
)
def test_found_by_the_property(
    harness: Harness, name: str, data: dict[str, Any], fragment: str
) -> None:
    """Inputs the property once caught: a message over two lines, a quantity whose digits
    int() refuses, a time beyond year 9999 in UTC (OverflowError), a NUL in a stream id
    (PostgreSQL cannot store it), a 100 kB id echoed back."""
    before = harness.run(harness.snapshot())
    with pytest.raises(EventdeckError) as caught:
        harness.run(harness.bus.dispatch(make_command(COMMANDS[name], data), user_id="t"))
    assert_one_line(str(caught.value))
    assert fragment in str(caught.value)
    assert harness.run(harness.snapshot()) == before
