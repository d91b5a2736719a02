"""The doctor's rules (core/doctor_projections.py) on made-up facts, and the PostgreSQL
lock-owner check on a real server."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

import core.doctor_projections
from console.cli_doctor import examine_store
from core.checkpoints import Checkpoint, ProjectionStatus
from core.doctor_facts import DeadLetterFacts, LockHolder
from core.doctor_projections import dead_letter_findings, lock_findings, projection_findings
from core.domain.projections import DEMO_PROJECTIONS, DEMO_SAGAS
from stores import normalise_url, open_stores
from stores.transactions import POSITION_LOCK_KEY

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
PROCESSORS = [*DEMO_SAGAS, *DEMO_PROJECTIONS]


def caught_up(name: str, head: int = 100, **changes: object) -> Checkpoint:
    values: dict[str, object] = {"name": name, "position": head, "updated_at": NOW}
    return Checkpoint.model_validate(values | changes)


def everything_caught_up(head: int = 100) -> list[Checkpoint]:
    return [caught_up(p.name, head) for p in PROCESSORS]


def rules(checkpoints: list[Checkpoint], head: int = 100, stall: float = 60.0) -> list[str]:
    found = projection_findings(PROCESSORS, checkpoints, head=head, now=NOW, stall_seconds=stall)
    return [f"{f.severity}: {f.what} | {f.fix}" for f in found]


def replace(checkpoints: list[Checkpoint], name: str, **changes: object) -> list[Checkpoint]:
    return [c.model_copy(update=changes) if c.name == name else c for c in checkpoints]


def test_caught_up_projections_say_nothing() -> None:
    assert rules(everything_caught_up()) == []
    assert rules([], head=0) == []  # an empty store: nothing has run, nothing to do


def test_lagging_but_moving_is_not_stuck() -> None:
    recent = replace(everything_caught_up(), "audit-log", position=40, updated_at=NOW)
    assert rules(recent) == []


def test_a_worker_that_holds_the_lease_but_does_not_move_is_stuck() -> None:
    stalled = replace(
        everything_caught_up(),
        "audit-log",
        position=40,
        owner="w-1",
        lease_expires_at=NOW + timedelta(seconds=20),
        updated_at=NOW - timedelta(minutes=10),
    )
    (stuck, leased) = rules(stalled)
    assert stuck.startswith("warning: audit-log is stuck 60 event(s) behind: worker w-1 holds")
    assert "10 min" in stuck
    assert leased.startswith("info: audit-log is leased to w-1 until")


def test_never_run_stopped_and_other_versions() -> None:
    checkpoints = [c for c in everything_caught_up() if c.name != "order-summary"]
    checkpoints = replace(checkpoints, "audit-log", status=ProjectionStatus.STOPPED, position=90)
    checkpoints = replace(checkpoints, "sales-analytics", projection_version=99)
    checkpoints = replace(checkpoints, "fulfilment", projection_version=99)  # sagas: no rebuild
    checkpoints.append(caught_up("old-projection"))
    found = rules(checkpoints)
    assert found == [
        (
            "warning: order-summary has never run: its read model is empty, 100 event(s) "
            "behind | eventdeck catch-up order-summary (or keep eventdeck worker running)"
        ),
        (
            "warning: sales-analytics's read model was built by version 99 of the projection; "
            "this eventdeck has version 1 | eventdeck rebuild sales-analytics"
        ),
        "warning: audit-log is stopped, 10 event(s) behind | eventdeck resume audit-log",
        (
            "info: checkpoints of old-projection, which this eventdeck does not know (an old "
            "projection, or another application's); nothing runs it | "
        ),
    ]


def test_a_live_rebuild_is_information() -> None:
    checkpoints = everything_caught_up()
    checkpoints.append(
        caught_up(
            "audit-log", 30, generation=2, status=ProjectionStatus.REBUILDING, owner="r-1",
            lease_expires_at=NOW + timedelta(seconds=30),
        )
    )  # fmt: skip
    assert rules(checkpoints) == [
        "info: audit-log is being rebuilt by r-1 (generation 2, at 30 of 100) | "
    ]


def test_dead_letters_and_locks() -> None:
    (letters,) = dead_letter_findings(DeadLetterFacts(open={"audit-log": 2}, parked={"x": 1}))
    assert letters.what == "audit-log has 2 open dead letter(s)"
    short, long = lock_findings(
        [
            LockHolder(what="the append lock", holder="pid 1", seconds=2.0),
            LockHolder(what="the append lock", holder="pid 2", seconds=95.0, waiting=3),
        ]
    )
    assert short.severity == "info" and not short.fix
    assert long.severity == "warning" and "3 session(s) wait" in long.what and long.fix


@pytest.mark.postgres
async def test_the_append_lock_owner_on_postgresql(
    empty_pg: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncpg  # type: ignore[import-untyped]

    events, _ = await open_stores(empty_pg)
    await events.close()
    dsn = normalise_url(empty_pg).set(drivername="postgresql").render_as_string(False)
    holder = await asyncpg.connect(dsn, server_settings={"application_name": "stuck-importer"})
    try:
        await holder.execute("SELECT pg_advisory_lock($1)", POSITION_LOCK_KEY)
        await asyncio.sleep(0.1)
        report = await examine_store(empty_pg)
        (lock,) = [f for f in report.findings if f.check == "locks"]
        assert lock.severity == "info" and "stuck-importer" in lock.what
        assert f"pid {holder.get_server_pid()}" in lock.what
        monkeypatch.setattr(core.doctor_projections, "LOCK_WARNING_SECONDS", 0.0)
        report = await examine_store(empty_pg)
        assert not report.healthy
        (lock,) = [f for f in report.findings if f.check == "locks"]
        assert lock.severity == "warning"
    finally:
        await holder.close()
    report = await examine_store(empty_pg)
    assert not [f for f in report.findings if f.check == "locks"]
