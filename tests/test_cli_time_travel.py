"""`seed`, then `state --at/--version`, `history`, `streams` and `events` through the real command."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.cli_helpers import run_cli, run_json, run_json_lines

END = "2026-11-01T12:00:00+00:00"


SEED_ARGS = ["--orders", "60", "--accounts", "8", "--days", "10", "--seed", "3", "--end", END]


def seed(db: Path) -> None:
    run_cli(db, "seed", *SEED_ARGS, check=True)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("seeded") / "store.db"
    seed(db)
    return db


def test_state_at_a_time_before_shipping_shows_approved(seeded: Path) -> None:
    streams = run_json(seeded, "streams", "--type", "Order")
    orders = [o for o in streams if "-imp-" not in o["stream_id"]]  # not the poison streams
    assert (len(orders), len(streams)) == (60, 62)
    for info in orders:
        history = run_json(seeded, "history", info["stream_id"])
        types = [entry["type"] for entry in history]
        if "OrderShipped" in types and "OrderApproved" in types:
            break
    else:
        pytest.fail("the seed produced no shipped order")
    shipped = history[types.index("OrderShipped")]
    just_before = datetime.fromisoformat(shipped["recorded_at"]) - timedelta(microseconds=1)
    before = run_json(seeded, "state", info["stream_id"], "--at", just_before.isoformat())
    assert before["state"]["status"] == "APPROVED"
    assert before["version"] == shipped["version"] - 1
    at_ship = run_json(seeded, "state", info["stream_id"], "--at", shipped["recorded_at"])
    assert at_ship["state"]["status"] == "SHIPPED"
    by_version = run_json(seeded, "state", info["stream_id"], "--version", "1")
    assert by_version["state"]["status"] == "PENDING"
    assert by_version["version"] == 1
    assert set(by_version) == {"stream_id", "stream_type", "version", "as_of", "state"}
    assert {"status", "customer_id", "items", "total_amount"} <= set(by_version["state"])


def test_history_lists_the_fields_each_event_changed(seeded: Path) -> None:
    order = run_json(seeded, "streams", "--type", "Order", "--limit", "1")[0]
    history = run_json(seeded, "history", order["stream_id"])
    assert history[0]["type"] == "OrderPlaced"
    assert history[0]["changes"]["status"]["to"] == "PENDING"
    for entry in history[1:]:
        assert "status" in entry["changes"], entry
        assert entry["changes"]["status"]["from"] != entry["changes"]["status"]["to"]
    human = run_cli(seeded, "history", order["stream_id"], check=True).stdout
    assert "status: " in human and " -> PENDING" in human


def test_events_json_in_position_order_without_gaps_at_current_schema(seeded: Path) -> None:
    events = run_json_lines(seeded, "events")
    positions = [e["position"] for e in events]
    assert positions == list(range(1, len(events) + 1))
    placed = [e for e in events if e["type"] == "OrderPlaced"]
    assert placed and all(e["schema_version"] == 3 for e in placed)
    assert all("payment_method" in e["data"] for e in placed)
    assert set(events[0]) == {
        "position",
        "event_id",
        "stream_id",
        "stream_type",
        "version",
        "type",
        "schema_version",
        "recorded_at",
        "data",
        "metadata",
    }
    times = [e["recorded_at"] for e in events]
    assert times == sorted(times)


def test_events_filters(seeded: Path) -> None:
    order = run_json(seeded, "streams", "--type", "Order", "--limit", "1")[0]
    one_stream = run_json_lines(seeded, "events", "--stream", order["stream_id"])
    assert [e["version"] for e in one_stream] == list(range(1, order["version"] + 1))
    limited = run_json_lines(seeded, "events", "--type", "MoneyDeposited", "--limit", "3")
    assert len(limited) == 3 and {e["type"] for e in limited} == {"MoneyDeposited"}
    later = run_json_lines(seeded, "events", "--from-position", "5", "--limit", "2")
    assert [e["position"] for e in later] == [5, 6]


def test_same_seed_same_history(tmp_path: Path, seeded: Path) -> None:
    again = tmp_path / "again.db"
    seed(again)
    assert run_json_lines(again, "events") == run_json_lines(seeded, "events")


def test_seed_refuses_a_store_that_has_events(seeded: Path) -> None:
    before = run_json(seeded, "streams")
    result = run_cli(seeded, "seed", "--orders", "5")
    assert result.returncode != 0
    assert "already holds" in result.stderr
    assert run_json(seeded, "streams") == before
