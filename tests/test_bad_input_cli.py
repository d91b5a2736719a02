"""Property: any argument list given to `eventdeck` exits 0, or non-zero with exactly one
`error: ...` line on stderr, never a traceback nor an "unexpected" error, and a failed
run leaves every row of the store as it was (DESIGN.md, "The command line").

The CLI runs in-process through `console.cli.main` (the script's entry point, with its
error handling) under click's CliRunner isolation; a few cases run the real script.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from console.bootstrap import open_system
from core.domain.commands import ApproveOrder, Deposit, OpenAccount, PlaceOrder
from tests.bad_input import invoke, nasty_text
from tests.cli_helpers import assert_one_line_error, run_cli

#: Text a shell can pass as an argument: anything but NUL, and bytes that are not UTF-8
#: (Python reads them as lone surrogates, `surrogateescape`).
ARG = st.one_of(
    nasty_text().filter(lambda text: "\x00" not in text),
    st.sampled_from(["caf\udce9", "\udcff", "\udc80x"]),
)
TIMES = st.one_of(
    st.sampled_from(
        [
            "2026-11-30",
            "2026-11-30T14:05:00Z",
            "2026-13-01",
            "2026-02-30",
            "yesterday",
            "9999-12-31T23:59:59-05:00",
            "0001-01-01T00:00:00+05:00",
            "2026-11-30T14:05:00+25:00",
            "1e9",
            "",
        ]
    ),
    ARG,
)
INTS = st.one_of(
    st.integers(-5, 5).map(str),
    st.integers().map(str),
    st.sampled_from(["abc", "1e3", "1.5", "99999999999999999999999", "9" * 5000, ""]),
    ARG,
)
PROJECTIONS = (
    "order-summary",
    "customer-dashboard",
    "sales-analytics",
    "account-balances",
    "audit-log",
    "fulfilment",
)


def mostly(*plausible: str) -> st.SearchStrategy[str]:
    """A plausible value two times in three (runs reach the store), else hostile text."""
    return st.one_of(st.sampled_from(plausible), st.sampled_from(plausible), ARG)


IDS = mostly("ord-1", "ord-2", "acc-1", "acc-2", "ord-nope", *PROJECTIONS)
AMOUNTS = mostly("1", "12.50", "0", "-5", "NaN", "inf", "1.001", "1e9", "1000000001", "1,5")
ITEMS = mostly("WIDGET-1:2:9.99", "W:0:1", "W:1:-2", "W", "W:1:1:1", ":1:1", "W:1:1e99")
FLAG = None

#: Each subcommand's options (None: a flag) and how its positionals are drawn.
Spec = tuple[dict[str, Any], st.SearchStrategy[list[str]]]
NO_ARGS: st.SearchStrategy[list[str]] = st.just([])
COMMANDS: dict[tuple[str, ...], Spec] = {
    ("cmd", "place-order"): (
        {
            "--customer": IDS,
            "--item": ITEMS,
            "--order-id": IDS,
            "--payment-method": ARG,
            "--customer-name": ARG,
            "--customer-email": ARG,
            "--street": ARG,
            "--city": ARG,
            "--state": ARG,
            "--zip": ARG,
            "--country": ARG,
            "--json": FLAG,
        },
        NO_ARGS,
    ),
    ("cmd", "approve-order"): ({"--order": IDS, "--notes": ARG, "--json": FLAG}, NO_ARGS),
    ("cmd", "ship-order"): (
        {"--order": IDS, "--tracking": ARG, "--carrier": ARG, "--json": FLAG},
        NO_ARGS,
    ),
    ("cmd", "cancel-order"): (
        {"--order": IDS, "--reason": ARG, "--type": ARG, "--json": FLAG},
        NO_ARGS,
    ),
    ("cmd", "deliver-order"): ({"--order": IDS, "--signed-by": ARG, "--json": FLAG}, NO_ARGS),
    ("cmd", "open-account"): ({"--owner": ARG, "--account": IDS, "--json": FLAG}, NO_ARGS),
    ("cmd", "deposit"): ({"--account": IDS, "--amount": AMOUNTS, "--json": FLAG}, NO_ARGS),
    ("cmd", "withdraw"): ({"--account": IDS, "--amount": AMOUNTS, "--json": FLAG}, NO_ARGS),
    ("cmd",): ({}, st.lists(ARG, max_size=2)),
    ("events",): (
        {
            "--stream": IDS,
            "--type": st.one_of(st.just("OrderPlaced"), ARG),
            "--since": TIMES,
            "--until": TIMES,
            "--from-position": INTS,
            "--limit": INTS,
            "--json": FLAG,
        },
        NO_ARGS,
    ),
    ("streams",): (
        {"--type": ARG, "--search": ARG, "--as-of": TIMES, "--limit": INTS, "--json": FLAG},
        NO_ARGS,
    ),
    ("state",): (
        {"--at": TIMES, "--version": INTS, "--json": FLAG},
        st.lists(IDS, min_size=0, max_size=2),
    ),
    ("history",): ({"--json": FLAG}, st.lists(IDS, max_size=2)),
    ("trace",): ({"--json": FLAG}, st.lists(IDS, max_size=2)),
    ("projections",): ({"--json": FLAG}, NO_ARGS),
    ("catch-up",): ({"--json": FLAG}, st.lists(IDS, max_size=2)),
    ("rebuild",): ({"--all": FLAG, "--from": TIMES, "--json": FLAG}, st.lists(IDS, max_size=2)),
    ("pause",): ({}, st.lists(IDS, max_size=2)),
    ("resume",): ({}, st.lists(IDS, max_size=2)),
    ("query",): (
        {"--limit": INTS, "--offset": INTS, "--json": FLAG},
        st.lists(IDS, max_size=3),
    ),
    ("dlq",): ({"--json": FLAG}, NO_ARGS),
    ("dlq", "show"): ({"--json": FLAG}, st.lists(INTS, max_size=2)),
    ("dlq", "retry"): (
        {"--all": FLAG, "--projection": IDS, "--yes": FLAG, "--json": FLAG},
        st.lists(INTS, max_size=2),
    ),
    ("dlq", "skip"): ({"--json": FLAG}, st.lists(INTS, max_size=2)),
    ("export",): ({"--since": TIMES}, NO_ARGS),
    ("import",): (
        {"--batch-size": INTS, "--json": FLAG},
        st.lists(st.one_of(st.just("no-such-file.jsonl"), ARG), max_size=2),
    ),
    ("seed",): (
        {
            "--orders": st.one_of(st.integers(-1, 2).map(str), ARG),
            "--accounts": st.one_of(st.integers(-1, 2).map(str), ARG),
            "--days": st.one_of(st.integers(-1, 2).map(str), ARG),
            "--seed": INTS,
            "--end": TIMES,
            "--json": FLAG,
        },
        NO_ARGS,
    ),
    ("fly-to-the-moon",): ({"--now": ARG}, st.lists(ARG, max_size=2)),
}


@st.composite
def argument_lists(draw: st.DrawFn, commands: list[tuple[str, ...]]) -> list[str]:
    """Global options, a subcommand, some of its options (maybe an unknown one), values
    drawn hostile or plausible, and its positionals, in a shuffled order."""
    path = draw(st.sampled_from(commands))
    options, positionals = COMMANDS[path]
    args: list[str] = []
    # most options given (so that runs get past the parser), now and then one again or
    # one the command does not have
    flags = [flag for flag in options if draw(st.integers(0, 3)) > 0]
    flags += draw(st.lists(st.sampled_from([*options, "--nope", "--json="]), max_size=1))
    for flag in flags:
        value = options.get(flag, ARG)
        args.append(flag)
        if value is not None and draw(st.integers(0, 19)) > 0:  # now and then no value
            args.append(draw(value))
    args += draw(positionals)
    args = draw(st.permutations(args)) if draw(st.integers(0, 9)) == 0 else args
    prefix = draw(st.sampled_from([[], [], ["--user", draw(ARG)], ["--read-only"]]))
    return [*prefix, *path, *args]


def fingerprint(db: Path) -> dict[str, list[str]]:
    """Every row of every table, in a stable order."""
    with sqlite3.connect(db) as conn:
        tables = [t for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        rows = {t: sorted(map(repr, conn.execute(f'SELECT * FROM "{t}"'))) for t in tables}
    conn.close()
    return rows


def assert_contract(args: list[str], code: int, out: str, err: str) -> None:
    shown = [a if len(a) < 60 else a[:60] + "..." for a in args]
    assert "Traceback" not in out + err, (shown, err[-2000:])
    if code == 0:
        return
    if err.startswith("Usage:") and code == 2 and args[-1] in ("cmd", "dlq"):
        return  # a bare command group prints its help (console/cli.py, NoArgsIsHelpError)
    lines = err.splitlines()
    assert len(lines) == 1, (shown, code, err[:2000])
    assert lines[0].startswith("error: "), (shown, lines[0][:300])
    assert code != 70 and not lines[0].startswith("error: unexpected "), (shown, lines[0][:300])
    assert len(lines[0]) <= 1500, (shown, lines[0][:300])


async def _seed(db: Path) -> None:
    system = await open_system(str(db))
    try:
        bus = system.bus
        for order in ("ord-1", "ord-2"):
            await bus.dispatch(
                PlaceOrder(order_id=order, customer_id="c-1", items=["W:1:1"]), user_id="t"
            )
        await bus.dispatch(ApproveOrder(order_id="ord-2"), user_id="t")
        for account in ("acc-1", "acc-2"):
            await bus.dispatch(OpenAccount(owner="Ann", account_id=account), user_id="t")
        await bus.dispatch(Deposit(account_id="acc-1", amount="100"), user_id="t")
    finally:
        await system.close()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    db = tmp_path_factory.mktemp("bad-cli") / "store.db"
    asyncio.run(_seed(db))
    yield db


def check(store: Path, args: list[str]) -> None:
    before = fingerprint(store)
    code, out, err = invoke("--db", str(store), *args)
    event(f"exit {code}" + (" (usage)" if "--help`)" in err else ""))  # how far runs got
    assert_contract(args, code, out, err)
    if code != 0:
        assert fingerprint(store) == before, (args, "a failed run changed the store")


EXAMPLES = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@EXAMPLES
@given(args=argument_lists([path for path in COMMANDS if path[0] == "cmd"]))
def test_cmd_arguments_succeed_or_fail_in_one_line(store: Path, args: list[str]) -> None:
    check(store, args)


@EXAMPLES
@given(args=argument_lists([path for path in COMMANDS if path[0] != "cmd"]))
def test_other_subcommands_succeed_or_fail_in_one_line(store: Path, args: list[str]) -> None:
    check(store, args)


BAD_URLS = (
    "postgres:/x",
    "sqlite:///no/such/dir/x.db",
    "mysql://h/db",
    "http://x",
    "",
    " ",
    "sqlite://",
    "sqlite+aiosqlite:///:memory:",
    "file:x.db?mode=ro",
    "postgresql://[::1",
    "postgresql://u@127.0.0.1:abc/db",
    "postgresql+asyncpg://u:hunter2@127.0.0.1:99999/db",
    "postgresql+psycopg2://u@127.0.0.1/db",
    "postgresql://u@127.0.0.1:1/db",
    "postgresql://u@127.0.0.1:1/db?foo=bar",
    "postgresql://u@127.0.0.1:1/db?ssl=bogus",
    "postgresql://u@127.0.0.1:1/db?prepared_statement_cache_size=x",
    "sqlite:///x.db?timeout=abc",
    "sqlite:///" + "a" * 300 + ".db",
    "a" * 300 + "/x.db",
    "folder",
    "not-a-db.txt",
    ".",
    "/dev/null",
)
SCHEMES = ("", "sqlite://", "sqlite:///", "sqlite+aiosqlite:///", "file:", "mysql://", "x+y://")


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    url=st.one_of(
        st.sampled_from(BAD_URLS),
        st.builds(lambda scheme, rest: scheme + rest, st.sampled_from(SCHEMES), ARG),
    ),
    write=st.booleans(),
)
def test_bad_db_urls_fail_in_one_line_and_create_nothing(
    tmp_path_factory: pytest.TempPathFactory, url: str, write: bool
) -> None:
    """No server is contacted but 127.0.0.1 (nothing listens on port 1)."""
    cwd = tmp_path_factory.mktemp("urls")
    (cwd / "folder").mkdir()
    (cwd / "not-a-db.txt").write_text("hello\n")
    before = sorted(p.name for p in cwd.iterdir())
    args = ["cmd", "open-account", "--owner", "Ann"] if write else ["streams", "--limit", "1"]
    code, out, err = invoke("--db", url, *args, cwd=cwd)
    assert_contract(["--db", url, *args], code, out, err)
    assert "hunter2" not in out + err
    if code != 0:
        assert sorted(p.name for p in cwd.iterdir()) == before, url


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--db", "postgresql+asyncpg://u:hunter2@127.0.0.1:99999/db", "streams"], "port"),
        (["--db", "postgresql://u@127.0.0.1:1/db?foo=bar", "streams"], "'foo'"),
        (["--db", "sqlite:///x.db?timeout=abc", "streams"], "abc"),
        (["--db", "sqlite:///" + "a" * 300 + ".db", "streams"], "too long"),
        # once a SQLAlchemy warning (and a writable store despite mode=ro)
        (["--db", "sqlite:///x.db?mode=ro", "cmd", "open-account", "--owner", "A"], "--read-only"),
        (["--db", "sqlite+aiosqlite:///x.db?foo=1&uri=true", "streams"], "(foo, uri)"),
    ],
)
def test_bad_urls_found_by_the_property(tmp_path: Path, args: list[str], fragment: str) -> None:
    """Each of these once ended in `error: unexpected ...` (exit 70): the driver's or the
    file system's own exception escaped while the store was opened."""
    code, out, err = invoke(*args, cwd=tmp_path)
    assert_contract(args, code, out, err)
    assert code == 7 and fragment in err and "hunter2" not in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["events", "--since", "9999-12-31T23:59:59-05:00"], "out of range"),
        (["rebuild", "--all", "--from", "9999-12-31T23:59:59-05:00"], "out of range"),
        (["seed", "--end", "0001-01-01T00:00:00Z", "--days", "2"], "outside the years"),
        (
            ["seed", "--end", "9999-12-31T23:59:59Z", "--days", "1", "--orders", "1"],
            "outside the years",
        ),
        (["seed", "--days", "999999999", "--orders", "1"], "outside the years"),
    ],
)
def test_times_found_by_the_property(tmp_path: Path, args: list[str], fragment: str) -> None:
    """A time past year 9999 once UTC (or a history reaching before year 1) ended in
    `error: unexpected OverflowError` (exit 70); nothing was written, nor is now."""
    db = tmp_path / "empty.db"  # seed writes into an empty store only
    code, out, err = invoke("--db", str(db), *args)
    assert_contract(args, code, out, err)
    assert code == 2 and fragment in err
    assert not db.exists() or fingerprint(db).get("events", []) == []


@pytest.mark.parametrize(
    "args",
    [
        ["cmd", "place-order", "--customer", "c", "--item", "X:100001\n:1"],
        ["cmd", "deposit", "--account", "acc-1", "--amount", " -5\n"],
        ["events", "--since", "2026-13-01"],
        ["fly-to-the-moon"],
    ],
)
def test_the_real_script_fails_in_one_line(store: Path, args: list[str]) -> None:
    """The same contract through the installed script, in its own process."""
    before = fingerprint(store)
    assert_one_line_error(run_cli(store, *args))
    assert fingerprint(store) == before
