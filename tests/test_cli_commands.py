"""`eventdeck cmd ...` through the real command: success, refusals, nothing written on error."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli_helpers import assert_one_line_error, run_cli, run_json, run_json_lines


def head(db: Path) -> int:
    events = run_json_lines(db, "events")
    return events[-1]["position"] if events else 0


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "store.db"


def test_order_lifecycle(db: Path) -> None:
    placed = run_json(
        db,
        "cmd",
        "place-order",
        "--customer",
        "cust-1",
        "--item",
        "WIDGET-1:2:9.99",
        "--item",
        "GADGET-7:1:24.50",
        "--order-id",
        "ord-1",
        user="alice",
    )
    assert placed["stream_id"] == "ord-1" and placed["version"] == 1
    event = placed["events"][0]
    assert event["type"] == "OrderPlaced" and event["metadata"]["user_id"] == "alice"
    assert event["data"]["total_amount"] == "44.48"
    run_json(db, "cmd", "approve-order", "--order", "ord-1", "--notes", "ok")
    run_json(db, "cmd", "ship-order", "--order", "ord-1", "--tracking", "1Z999", "--carrier", "UPS")
    done = run_json(db, "cmd", "deliver-order", "--order", "ord-1", "--signed-by", "Pat")
    assert done["version"] == 4
    state = run_json(db, "state", "ord-1")
    assert state["state"]["status"] == "DELIVERED"
    assert state["state"]["total_amount"] == "44.48"
    human = run_cli(db, "cmd", "place-order", "--customer", "c", "--item", "A:1:1").stdout
    assert "Order ord-" in human and "OrderPlaced" in human


def test_account_flow_and_generated_ids(db: Path) -> None:
    opened = run_json(db, "cmd", "open-account", "--owner", "Dana Smith")
    account = opened["stream_id"]
    assert account.startswith("acc-")
    run_json(db, "cmd", "deposit", "--account", account, "--amount", "100.00")
    run_json(db, "cmd", "withdraw", "--account", account, "--amount", "12.50")
    assert run_json(db, "state", account)["state"]["balance"] in ("87.50", "87.5")


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["place-order", "--customer", "c", "--item", "WIDGET"], "SKU:QTY:PRICE"),
        (["place-order", "--customer", "c", "--item", "W:0:1.00"], "quantity"),
        (["place-order", "--customer", "c", "--item", "W:1:-2"], "price"),
        (["place-order", "--customer", "c", "--item", "W:1:abc"], "price"),
        (["place-order", "--customer", "c", "--item", "W:1:1", "--street", "1 Main St"], "--city"),
        (["deposit", "--account", "acc-x", "--amount", "0"], "amount"),
        (["deposit", "--account", "acc-x", "--amount", "-5"], "amount"),
        (["deposit", "--account", "acc-x", "--amount", "ten"], "amount"),
        (["deposit", "--account", "acc-x", "--amount", "NaN"], "amount"),
        (["withdraw", "--account", "acc-x", "--amount", "1.001"], "amount"),
        (["approve-order", "--order", "ord-nope"], "ord-nope"),
        (["deposit", "--account", "acc-nope", "--amount", "5"], "acc-nope"),
        (["cancel-order", "--order", "ord-1"], "--reason"),
        (["fly-to-the-moon"], "fly-to-the-moon"),
    ],
)
def test_malformed_input_is_one_line_and_writes_nothing(
    db: Path, args: list[str], fragment: str
) -> None:
    run_json(db, "cmd", "place-order", "--customer", "c", "--item", "A:1:1", "--order-id", "ord-1")
    result = run_cli(db, "cmd", *args)
    assert_one_line_error(result, fragment)
    assert head(db) == 1


@pytest.mark.parametrize(
    ("steps", "refused", "fragment"),
    [
        ([], ["ship-order", "--order", "ord-1", "--tracking", "T", "--carrier", "UPS"], "PENDING"),
        ([], ["deliver-order", "--order", "ord-1"], "PENDING"),
        (
            [["approve-order", "--order", "ord-1"]],
            ["approve-order", "--order", "ord-1"],
            "APPROVED",
        ),
        (
            [["cancel-order", "--order", "ord-1", "--reason", "x"]],
            ["approve-order", "--order", "ord-1"],
            "CANCELLED",
        ),
        (
            [
                ["approve-order", "--order", "ord-1"],
                ["ship-order", "--order", "ord-1", "--tracking", "T", "--carrier", "UPS"],
            ],
            ["cancel-order", "--order", "ord-1", "--reason", "late"],
            "SHIPPED",
        ),
        (
            [],
            ["place-order", "--customer", "c", "--item", "A:1:1", "--order-id", "ord-1"],
            "already exists",
        ),
    ],
)
def test_business_rules_refuse_with_one_line(
    db: Path, steps: list[list[str]], refused: list[str], fragment: str
) -> None:
    run_json(db, "cmd", "place-order", "--customer", "c", "--item", "A:1:1", "--order-id", "ord-1")
    for step in steps:
        run_json(db, "cmd", *step)
    before = head(db)
    assert_one_line_error(run_cli(db, "cmd", *refused), fragment)
    assert head(db) == before


def test_overdraft_refused(db: Path) -> None:
    run_json(db, "cmd", "open-account", "--owner", "Ann", "--account", "acc-1")
    run_json(db, "cmd", "deposit", "--account", "acc-1", "--amount", "10")
    assert_one_line_error(
        run_cli(db, "cmd", "withdraw", "--account", "acc-1", "--amount", "12.50"), "insufficient"
    )
    assert run_json(db, "state", "acc-1")["version"] == 2


def test_wrong_stream_type_is_refused(db: Path) -> None:
    run_json(db, "cmd", "open-account", "--owner", "Ann", "--account", "acc-1")
    assert_one_line_error(run_cli(db, "cmd", "approve-order", "--order", "acc-1"), "Account")


def test_read_only_refuses_writes(db: Path) -> None:
    run_json(db, "cmd", "open-account", "--owner", "Ann", "--account", "acc-1")
    result = run_cli(db, "--read-only", "cmd", "deposit", "--account", "acc-1", "--amount", "5")
    assert_one_line_error(result, "read-only")
    assert_one_line_error(run_cli(db, "--read-only", "seed"), "read-only")
    assert run_json(db, "state", "acc-1")["version"] == 1


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("mysql://root@localhost/x", "mysql"),
        ("postgresql+asyncpg://bob:s3cret@127.0.0.1:1/nope", "127.0.0.1"),
        ("/no/such/folder/store.db", "/no/such/folder"),
    ],
)
def test_bad_db_url_is_one_line_without_password(url: str, fragment: str) -> None:
    result = run_cli(url, "streams")
    assert_one_line_error(result, fragment)
    assert "s3cret" not in result.stderr + result.stdout


def test_state_of_unknown_stream_and_bad_options(db: Path) -> None:
    run_json(db, "cmd", "open-account", "--owner", "Ann", "--account", "acc-1")
    assert_one_line_error(run_cli(db, "state", "nope"), "nope")
    assert_one_line_error(run_cli(db, "state", "acc-1", "--at", "yesterday"), "ISO 8601")
    assert_one_line_error(run_cli(db, "state", "acc-1", "--version", "9"), "version 9")
    assert_one_line_error(run_cli(db, "state", "acc-1", "--at", "2001-01-01"), "did not exist")
