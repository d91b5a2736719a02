"""`--read-only` through the real command, on SQLite and (with EVENTDECK_TEST_PG_URL)
PostgreSQL: every write action exits non-zero with one clear line and leaves the
store exactly as it was; every read still works and writes nothing."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from stores import make_engine
from stores.schema import metadata
from stores.transactions import reading
from tests.cli_helpers import assert_one_line_error, run_cli, run_json, run_json_lines

SEED = ["seed", "--orders", "16", "--accounts", "3", "--days", "3", "--seed", "5"]
SEED += ["--end", "2026-11-01T12:00:00+00:00"]


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])  # fmt: skip
def store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A seeded, caught-up store with open dead letters and a paused projection."""
    if request.param == "sqlite":
        url = str(tmp_path_factory.mktemp("read-only") / "store.db")
    else:
        url = request.getfixturevalue("pg_db_url")
        asyncio.run(_drop_all(url))
    run_cli(url, *SEED, check=True)
    run_cli(url, "catch-up", check=True)
    run_cli(url, "pause", "audit-log", check=True)
    assert run_json(url, "dlq"), "the seed's poison streams leave dead letters"
    return url


async def _drop_all(url: str) -> None:
    engine = make_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.drop_all)
    await engine.dispose()


def fingerprint(url: str) -> Any:
    """Every row of every eventdeck table (the demo store is small), and on SQLite the
    bytes of the database file and its write-ahead log."""

    async def rows() -> dict[str, list[tuple[Any, ...]]]:
        engine = make_engine(url)
        try:
            async with reading(engine) as conn:
                return {
                    table.name: [
                        tuple(row)
                        for row in await conn.execute(
                            select(table).order_by(*table.primary_key.columns or table.columns)
                        )
                    ]
                    for table in metadata.sorted_tables
                }
        finally:
            await engine.dispose()

    found: dict[str, Any] = dict(asyncio.run(rows()))
    path = Path(url)
    for suffix in ("", "-wal"):
        file = path.with_name(path.name + suffix)
        if "://" not in url and file.exists():
            found[f"file{suffix}"] = hashlib.sha256(file.read_bytes()).hexdigest()
    return found


def write_actions(url: str) -> dict[str, list[str]]:
    orders = [s["stream_id"] for s in run_json(url, "streams", "--type", "Order")]
    account = run_json(url, "streams", "--type", "Account")[0]["stream_id"]
    letter = str(run_json(url, "dlq")[0]["id"])
    order = orders[0]
    return {
        "place-order": ["cmd", "place-order", "--customer", "c-1", "--item", "W-1:1:2.50"],
        "approve-order": ["cmd", "approve-order", "--order", order],
        "ship-order": ["cmd", "ship-order", "--order", order, "--tracking", "T", "--carrier", "C"],
        "cancel-order": ["cmd", "cancel-order", "--order", order, "--reason", "r"],
        "deliver-order": ["cmd", "deliver-order", "--order", order],
        "open-account": ["cmd", "open-account", "--owner", "Mallory"],
        "deposit": ["cmd", "deposit", "--account", account, "--amount", "5"],
        "withdraw": ["cmd", "withdraw", "--account", account, "--amount", "1"],
        "seed": ["seed", "--orders", "1", "--accounts", "1", "--days", "1"],
        "catch-up": ["catch-up"],
        "catch-up one": ["catch-up", "order-summary"],
        "worker": ["worker"],
        "rebuild": ["rebuild", "order-summary"],
        "rebuild all": ["rebuild", "--all"],
        "dlq retry": ["dlq", "retry", letter],
        "dlq retry all": ["dlq", "retry", "--all", "--yes"],
        "dlq skip": ["dlq", "skip", letter],
        "pause": ["pause", "order-summary"],
        "resume": ["resume", "audit-log"],
    }


def test_every_write_action_is_refused_and_changes_nothing(store: str) -> None:
    actions = write_actions(store)
    before = fingerprint(store)
    for what, args in actions.items():
        result = run_cli(store, "--read-only", *args)
        assert_one_line_error(result, "--read-only")
        assert result.returncode == 8, (what, result.stderr)  # ReadOnlyError, not bad input
        assert fingerprint(store) == before, what


def test_reads_work_read_only_and_change_nothing(store: str) -> None:
    before = fingerprint(store)
    order = run_json(store, "--read-only", "streams", "--type", "Order")[0]["stream_id"]
    first = run_json_lines(store, "--read-only", "events", "--stream", order, "--limit", "1")[0]
    reads = [
        ["projections"],
        ["dlq"],
        ["streams"],
        ["events", "--limit", "5"],
        ["state", order],
        ["history", order],
        ["query", "order-summary", "--limit", "5"],
        ["trace", first["metadata"]["correlation_id"]],
    ]
    for args in reads:
        result = run_cli(store, "--read-only", *args)
        assert result.returncode == 0, (args, result.stderr)
        assert result.stdout.strip(), args
    assert fingerprint(store) == before
