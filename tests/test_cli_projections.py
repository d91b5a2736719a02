"""Projections through the real command: seed, catch-up, query, rebuild, dead letters,
trace, pause/resume, read-only refusals and a live worker."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from console.bootstrap import open_system
from core.errors import EventdeckError
from tests.cli_helpers import (
    assert_one_line_error,
    eventdeck_argv,
    run_cli,
    run_json,
    run_json_lines,
)

END = "2026-11-01T12:00:00+00:00"
PROJECTIONS = [
    "order-summary",
    "customer-dashboard",
    "sales-analytics",
    "account-balances",
    "audit-log",
]


@pytest.fixture(scope="module")
def caught_up(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("projections") / "store.db"
    run_cli(
        db,
        "seed",
        "--orders",
        "50",
        "--accounts",
        "6",
        "--days",
        "6",
        "--seed",
        "11",
        "--end",
        END,
        check=True,
    )
    summaries = run_json(db, "catch-up")
    assert {s["status"] for s in summaries} == {"caught-up"}
    return db


@pytest.fixture
def store(caught_up: Path, tmp_path: Path) -> Path:
    """A private copy of the caught-up store, for tests that write."""
    copy = tmp_path / "store.db"
    shutil.copy(caught_up, copy)
    return copy


def all_rows(db: Path, view: str) -> list[dict[str, object]]:
    return run_json(db, "query", view, "--limit", "100000")


def test_after_catch_up_lag_is_zero_and_order_summary_agrees_with_state(caught_up: Path) -> None:
    states = run_json(caught_up, "projections")
    assert {s["name"] for s in states} == {"fulfilment", *PROJECTIONS}
    for s in states:
        assert s["lag_events"] == 0 and s["checkpoint"] == s["head"], s
        assert set(s) >= {
            "name",
            "status",
            "checkpoint",
            "head",
            "lag_events",
            "lag_seconds",
            "events_per_second",
            "dead_letters",
        }
    dead_streams = {d["stream_id"] for d in run_json(caught_up, "dlq")}
    summaries = {row["order_id"]: row for row in all_rows(caught_up, "order-summary")}
    # `state` of every order in one process (the code path of `eventdeck state`)
    states = asyncio.run(order_states(caught_up))
    checked = [order for order in states if order not in dead_streams]
    assert len(checked) >= 40
    for order in checked:
        summary, state = summaries[order], states[order]
        assert summary["status"] == state["status"], order
        assert summary["customer_id"] == state["customer_id"]
        assert summary["total_amount"] == state["total_amount"]
    assert {"APPROVED", "CANCELLED", "DELIVERED", "SHIPPED"} <= {
        summaries[o]["status"] for o in checked
    }
    one = checked[0]  # and once through the real commands
    assert (
        run_json(caught_up, "query", "order-summary", one)["status"]
        == (run_json(caught_up, "state", one)["state"]["status"])
    )


async def order_states(db: Path) -> dict[str, dict[str, object]]:
    system = await open_system(str(db), read_only=True)
    try:
        states = {}
        for info in await system.store.list_streams(stream_type="Order"):
            try:
                view = await system.time_travel.state(info.stream_id)
            except EventdeckError:
                continue  # a poison stream the aggregate cannot load either
            states[info.stream_id] = view.state
        return states
    finally:
        await system.close()


def test_poison_events_become_dead_letters_with_parked_events(caught_up: Path) -> None:
    letters = run_json(caught_up, "dlq")
    assert letters, "the seed's poison streams give dead letters"
    assert {d["projection"] for d in letters} >= {"order-summary"}
    assert all(d["status"] == "open" and d["parked"] >= 1 for d in letters)
    assert set(letters[0]) >= {
        "id",
        "projection",
        "position",
        "stream_id",
        "event_type",
        "error",
        "attempts",
        "status",
        "first_failed_at",
        "last_failed_at",
    }
    shown = run_json(caught_up, "dlq", "show", str(letters[0]["id"]))
    assert "Traceback" in shown["traceback"] and "not found" in shown["error"]
    assert shown["event"]["position"] == letters[0]["position"]
    assert [p["stream_id"] for p in shown["parked_events"]] == [letters[0]["stream_id"]]


def test_rebuild_gives_exactly_the_rows_incremental_processing_gave(store: Path) -> None:
    before = {view: all_rows(store, view) for view in PROJECTIONS}
    dead_before = {(d["projection"], d["position"]) for d in run_json(store, "dlq")}
    summaries = run_json(store, "rebuild", "--all")
    assert [s["name"] for s in summaries] == PROJECTIONS
    after = {view: all_rows(store, view) for view in PROJECTIONS}
    # the rebuild's own operator events are new events the audit log now also holds
    new_audit = after["audit-log"][len(before["audit-log"]) :]
    assert {row["type"] for row in new_audit} <= {"ProjectionRebuildStarted", "ProjectionRebuilt"}
    after["audit-log"] = after["audit-log"][: len(before["audit-log"])]
    assert after == before
    assert {(d["projection"], d["position"]) for d in run_json(store, "dlq")} == dead_before
    assert {
        s["generation"] for s in run_json(store, "projections") if s["name"] in PROJECTIONS
    } == {2}
    rebuilt = run_json_lines(store, "events", "--type", "ProjectionRebuilt")
    assert len(rebuilt) == len(PROJECTIONS) and rebuilt[0]["metadata"]["user_id"] == "tester"


def test_skip_is_recorded_with_the_operator_and_releases_parked_events(store: Path) -> None:
    dead = run_json(store, "dlq", "--projection", "order-summary")[0]
    retried = run_cli(store, "dlq", "retry", str(dead["id"]), "--json")
    assert retried.returncode == 1  # the cause is not fixed: it fails again
    again = run_json(store, "dlq", "show", str(dead["id"]))
    assert again["attempts"] > dead["attempts"] and again["status"] == "open"
    outcome = run_json(store, "dlq", "skip", str(dead["id"]), user="dana")[0]
    assert outcome["action"] == "skip" and outcome["succeeded"]
    skipped = run_json_lines(store, "events", "--type", "DeadLetterSkipped")
    assert skipped and skipped[-1]["metadata"]["user_id"] == "dana"
    assert run_json(store, "dlq", "show", str(dead["id"]))["status"] == "skipped"
    # the parked OrderDelivered of that stream was released: applied or dead-lettered on its own
    released = [
        d
        for d in run_json(store, "dlq", "--projection", "order-summary")
        if d["stream_id"] == dead["stream_id"]
    ]
    assert all(d["position"] > dead["position"] for d in released)


def test_trace_follows_the_saga(caught_up: Path) -> None:
    failed = [e for e in run_json_lines(caught_up, "events", "--type", "PaymentFailed")]
    assert failed
    correlation = failed[0]["metadata"]["correlation_id"]
    tree = run_json(caught_up, "trace", correlation)
    assert tree[0]["kind"] == "command"
    placed = tree[0]["children"][0]
    assert placed["detail"]["type"] == "OrderPlaced"
    reserved = placed["children"][0]
    assert reserved["detail"]["type"] == "InventoryReserved"
    payment = reserved["children"][0]
    assert payment["detail"]["type"] == "PaymentFailed"
    assert {c["detail"]["type"] for c in payment["children"]} == {
        "InventoryReleased",
        "OrderCancelled",
    }
    text = run_cli(caught_up, "trace", correlation, check=True).stdout
    assert "└── " in text and "OrderCancelled" in text
    assert_one_line_error(run_cli(caught_up, "trace", "no-such-id"), "no-such-id")


def test_pause_and_resume_are_recorded(store: Path) -> None:
    run_cli(store, "pause", "audit-log", user="erin", check=True)
    assert {s["name"]: s["status"] for s in run_json(store, "projections")}["audit-log"] == "paused"
    run_json(store, "cmd", "open-account", "--owner", "Zed")
    summaries = {s["name"]: s for s in run_json(store, "catch-up")}
    assert summaries["audit-log"]["status"] == "paused"
    run_cli(store, "resume", "audit-log", user="erin", check=True)
    run_json(store, "catch-up")
    assert all(s["lag_events"] == 0 for s in run_json(store, "projections"))
    paused = run_json_lines(store, "events", "--type", "ProjectionPaused")
    assert paused[-1]["metadata"]["user_id"] == "erin"


@pytest.mark.parametrize(
    "args",
    [
        ["catch-up"],
        ["rebuild", "--all"],
        ["dlq", "retry", "--all", "--yes"],
        ["dlq", "skip", "1"],
        ["pause", "audit-log"],
        ["resume", "audit-log"],
        ["worker"],
    ],
)
def test_read_only_refuses_projection_writes(caught_up: Path, args: list[str]) -> None:
    assert_one_line_error(run_cli(caught_up, "--read-only", *args), "read-only")


def test_bad_projection_names_and_ids(caught_up: Path) -> None:
    assert_one_line_error(run_cli(caught_up, "query", "nope"), "nope")
    assert_one_line_error(run_cli(caught_up, "rebuild", "nope"), "nope")
    assert_one_line_error(run_cli(caught_up, "dlq", "show", "999999"), "999999")
    assert_one_line_error(run_cli(caught_up, "rebuild"), "--all")
    assert_one_line_error(run_cli(caught_up, "dlq", "retry", "--all"), "--yes")


def test_worker_applies_new_events_live_and_stops_gracefully(store: Path) -> None:
    worker = subprocess.Popen(
        [*eventdeck_argv(), "--db", str(store), "worker"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        placed = run_json(
            store, "cmd", "place-order", "--customer", "cust-live", "--item", "WIDGET-1:1:10.00"
        )
        order = placed["stream_id"]
        deadline = time.monotonic() + 30
        summary = None
        while time.monotonic() < deadline:
            result = run_cli(store, "query", "order-summary", order, "--json")
            if result.returncode == 0:
                summary = json.loads(result.stdout)
                if summary["status"] == "APPROVED":  # the saga ran, then the projection
                    break
            time.sleep(0.3)
        assert summary is not None and summary["status"] == "APPROVED", summary
    finally:
        worker.send_signal(signal.SIGTERM)
        _out, err = worker.communicate(timeout=30)
    assert worker.returncode == 0, err
    assert "stopped cleanly" in err
