"""Operator identity: every write records who did it, and the operator audit trail cannot be
changed or removed through eventdeck.

The operator is `--user`, else EVENTDECK_USER, else the login name. Commands carry
it in each event's metadata; seed, pause, resume, rebuild, dead-letter retry and skip,
import and doctor --repair each append an operator event naming it (stream type
Operator). Commands cannot write the operator streams (their ids are reserved), an
import never rewrites a stored event, and a change whose operator event cannot be
written is not made either.
"""

from __future__ import annotations

import asyncio
import getpass
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from core.checkpoints import ProjectionStatus
from core.clock import FixedClock, UuidFactory
from core.domain.account import Account
from core.errors import InvalidInput, StoreError
from core.events import Metadata
from core.memory_projection_store import InMemoryProjectionStore
from core.memory_store import InMemoryEventStore
from core.ports import EventStore
from core.projection_store import ProjectionStore
from core.repository import Repository
from stores import SqlProjectionStore, open_stores
from stores.schema import snapshots
from tests.cli_helpers import assert_one_line_error, eventdeck_argv, run_cli, run_json
from tests.projection_fixtures import T0, CounterProjection, make_engine, new_counted


async def _all_events(url: Path) -> list[Any]:
    events, _ = await open_stores(str(url))
    try:
        return [e async for e in events.read_all()]
    finally:
        await events.close()


def all_events(url: Path) -> list[Any]:
    return asyncio.run(_all_events(url))


def operator_trail(url: Path) -> list[tuple[str, str]]:
    """(type, user) of each operator event, in position order."""
    return [(e.type, e.metadata.user_id) for e in all_events(url) if e.stream_type == "Operator"]


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("identity") / "events.db"
    run_cli(db, "seed", "--orders", "12", "--accounts", "3", "--days", "2", user="sam", check=True)
    run_cli(db, "catch-up", user="sam")  # dead letters from the seed's poison rows
    return db


def test_every_write_path_of_the_cli_records_its_operator(seeded: Path, tmp_path: Path) -> None:
    db = tmp_path / "events.db"
    db.write_bytes(seeded.read_bytes())
    assert operator_trail(db) == [("HistorySeeded", "sam")]
    seeded_events = all_events(db)
    assert all(e.metadata.user_id for e in seeded_events)

    # a command: --user wins over EVENTDECK_USER
    placed = run_json(
        db, "--user", "alice", "cmd", "open-account", "--owner", "Al", user="not-alice"
    )
    assert [e["metadata"]["user_id"] for e in placed["events"]] == ["alice"]
    deposit = run_json(
        db, "cmd", "deposit", "--account", placed["stream_id"], "--amount", "5", user="bob"
    )
    assert [e["metadata"]["user_id"] for e in deposit["events"]] == ["bob"]

    run_cli(db, "pause", "order-summary", user="carol", check=True)
    run_cli(db, "resume", "order-summary", user="carol", check=True)
    letters = run_json(db, "dlq")
    assert len(letters) >= 2, letters
    run_cli(db, "dlq", "skip", str(letters[0]["id"]), user="dave", check=True)
    run_cli(db, "dlq", "retry", str(letters[1]["id"]), user="dave")  # it may fail again
    run_cli(db, "rebuild", "order-summary", user="erin", check=True)

    # doctor --repair that changes something (an orphaned snapshot)
    async def orphan() -> None:
        events, _ = await open_stores(str(db))
        try:
            async with events.engine.begin() as conn:
                await conn.execute(
                    snapshots.insert().values(
                        stream_id="gone", stream_type="Order", version=1, state="{}",
                        state_schema=1, taken_at=T0,
                    )
                )  # fmt: skip
        finally:
            await events.close()

    asyncio.run(orphan())
    run_cli(db, "doctor", "--repair", user="gina")

    # import into another store
    exported = tmp_path / "events.jsonl"
    exported.write_text(run_cli(db, "export", check=True).stdout)
    copy = tmp_path / "copy.db"
    run_cli(copy, "import", str(exported), user="frank", check=True)

    trail = operator_trail(db)
    assert trail[0] == ("HistorySeeded", "sam")
    assert trail[1:] == [
        ("ProjectionPaused", "carol"),
        ("ProjectionResumed", "carol"),
        ("DeadLetterSkipped", "dave"),
        ("DeadLetterRetried", "dave"),
        ("ProjectionRebuildStarted", "erin"),
        ("ProjectionRebuilt", "erin"),
        ("StoreRepaired", "gina"),
    ]
    # the copy has the same trail (moved exactly), then the import naming its operator
    assert operator_trail(copy) == [*trail, ("EventsImported", "frank")]
    assert all(e.metadata.user_id for e in all_events(db))


def test_without_user_or_env_the_login_name_is_recorded(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVENTDECK_")}
    result = subprocess.run(
        [*eventdeck_argv(), "--db", str(tmp_path / "e.db"), "cmd", "open-account", "--owner",
         "x", "--json"],
        check=True, capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    try:
        login = getpass.getuser()
    except Exception:  # noqa: BLE001 - as console.cli.default_user
        login = "operator"
    assert json.loads(result.stdout)["events"][0]["metadata"]["user_id"] == login


@pytest.mark.parametrize(
    "args",
    [
        ("place-order", "--customer", "c1", "--item", "A:1:1.00", "--order-id", "projection-x"),
        ("place-order", "--customer", "c1", "--item", "A:1:1.00", "--order-id", "repair-1"),
        ("open-account", "--owner", "x", "--account", "import-abc"),
        ("open-account", "--owner", "x", "--account", "seed-abc"),
        ("open-account", "--owner", "x", "--account", "projection-order-summary"),
    ],
)
def test_commands_cannot_write_an_operator_stream(tmp_path: Path, args: tuple[str, ...]) -> None:
    db = tmp_path / "events.db"
    result = run_cli(db, "cmd", *args)
    assert_one_line_error(result, "reserved", "operator audit trail")
    assert result.returncode == 2
    assert not db.exists() or all_events(db) == []


async def test_the_repository_refuses_to_save_into_an_operator_stream() -> None:
    """Below the command models too (a saga, a script using the core)."""
    store = InMemoryEventStore()
    clock = FixedClock(T0)
    repository = Repository(store, _registry(), {}, clock, UuidFactory())
    account = Account.open("projection-counter", "mallory", clock)
    with pytest.raises(InvalidInput, match="reserved"):
        await repository.save(account, Metadata(user_id="mallory"))
    assert await store.head_position() == 0


def _registry() -> Any:
    from core.domain import build_registry

    return build_registry()


def test_an_import_never_rewrites_a_stored_operator_event(seeded: Path, tmp_path: Path) -> None:
    db = tmp_path / "events.db"
    db.write_bytes(seeded.read_bytes())
    before = all_events(db)
    lines = run_cli(db, "export", check=True).stdout.splitlines()
    tampered = []
    for line in lines:
        row = json.loads(line)
        if row["stream_type"] == "Operator":
            row["metadata"]["user_id"] = "mallory"
            row["data"]["orders"] = 0
        tampered.append(json.dumps(row))
    forged = tmp_path / "forged.jsonl"
    forged.write_text("\n".join(tampered) + "\n")

    run_cli(db, "import", str(forged), user="mallory")

    # each line is an event stored already at its stream and version: skipped, so
    # nothing stored is changed or removed, and nothing is added
    assert all_events(db) == before


@pytest.fixture(params=["memory", "sqlite"])
async def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "memory":
        events = InMemoryEventStore()
        yield events, InMemoryProjectionStore(events)
        return
    sql_events, _ = await open_stores(str(tmp_path / "events.db"))
    try:
        yield sql_events, SqlProjectionStore(sql_events.engine)
    finally:
        await sql_events.close()


async def test_a_pause_whose_operator_event_cannot_be_written_is_not_made(
    stores: tuple[EventStore, ProjectionStore],
) -> None:
    """Pause and resume commit with their operator event: both or neither."""
    events, store = stores
    # an operator stream taken by another type (as a command could before ids were reserved)
    await events.append("projection-counter", "Counter", [new_counted(0)], 0)
    engine = make_engine([CounterProjection()], events, store)
    head = await events.head_position()

    with pytest.raises(StoreError, match="not an Operator stream"):
        await engine.pause("counter", user="carol")

    checkpoint = await store.checkpoint("counter")
    assert checkpoint is not None and checkpoint.status is ProjectionStatus.RUNNING
    assert await events.head_position() == head
