"""A password in `--db` or `EVENTDECK_DB` is never printed: not in errors (connection
errors included), listings, `--json`, logs or tracebacks.

The server-less cases (an unreachable host or port, mistyped URLs) always run;
the rest run on the PostgreSQL of EVENTDECK_TEST_PG_URL, reached with a password
its trust authentication ignores.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import signal
import subprocess
from collections.abc import Iterator

import pytest

import console.cli
from console.bench import SIZES_ENV
from stores import normalise_url
from stores.secrets import (
    MASK,
    SecretHidingFormatter,
    hide_secrets,
    passwords_in,
    redact_url,
    remember_secrets,
)
from tests.cli_helpers import eventdeck_argv

SECRET = "s3cr3tpw"
UNREACHABLE = [
    f"postgresql+asyncpg://postgres:{SECRET}@127.0.0.1:1/test",
    f"postgresql://postgres:{SECRET}@no-such-host.invalid:5432/test",
    f"postgres://postgres:{SECRET}@127.0.0.1:1/test?sslmode=disable",
    f"postgresql://postgres:{SECRET}@[::1]:1/test",
]


def run(
    url: str, *args: str, via_env: bool = False, **env: str
) -> subprocess.CompletedProcess[str]:
    """`eventdeck` with the URL in --db (or EVENTDECK_DB); the output must not hold SECRET."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("EVENTDECK_")}
    base.update(EVENTDECK_USER="tester", **env)
    where = ["--db", url]
    if via_env:
        base["EVENTDECK_DB"], where = url, []
    result = subprocess.run(
        [*eventdeck_argv(), *where, *args],
        capture_output=True, text=True, env=base, timeout=300, check=False,
    )  # fmt: skip
    assert_hidden(result.stdout + result.stderr)
    return result


def assert_hidden(text: str) -> None:
    assert SECRET not in text, text
    assert "s3cr3t" not in text, text  # not half of it either


# -- the hiding functions ---------------------------------------------------------------


def test_hide_secrets_hides_registered_passwords_anywhere() -> None:
    remember_secrets("postgresql://u:Pa55%40word@h/db")
    text = "asyncpg said: bad password Pa55@word / Pa55%40word for u"
    assert hide_secrets(text) == f"asyncpg said: bad password {MASK} / {MASK} for u"


@pytest.mark.parametrize(
    "text",
    [
        "could not connect to postgresql://app:hunter22@db:5432/x: refused",
        "dsn='postgres://app:hunter22@db/x'",
        "connect(host='db', password='hunter22', port=5432)",
        '{"password": "hunter22"}',
        "postgresql://app@db/x?password=hunter22&sslmode=require",
    ],
)
def test_hide_secrets_hides_unregistered_passwords_in_urls_and_arguments(text: str) -> None:
    shown = hide_secrets(text)
    assert "hunter22" not in shown and MASK in shown


def test_hide_secrets_leaves_prose_alone() -> None:
    prose = "check the host, port, user, password and database name; wrong password: retry"
    assert hide_secrets(prose) == prose


def test_passwords_in_every_printable_form() -> None:
    assert passwords_in("postgresql://u:p%40ss@h/db") >= {"p@ss", "p%40ss"}
    assert passwords_in("postgres:/user:pw12@host") == {"pw12"}  # mistyped, still found
    assert passwords_in("eventdeck.db") == set()


def test_logs_are_cleaned_tracebacks_included() -> None:
    remember_secrets(f"postgresql://u:{SECRET}@h/db")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(SecretHidingFormatter())
    logger = logging.getLogger("tests.secrets")
    logger.addHandler(handler)
    try:
        try:
            raise ConnectionError(f"cannot reach postgresql://u:{SECRET}@h/db")
        except ConnectionError:
            logger.exception("lost %s", f"postgresql://u:{SECRET}@h/db")
    finally:
        logger.removeHandler(handler)
    logged = stream.getvalue()
    assert "Traceback" in logged and "ConnectionError" in logged
    assert_hidden(logged)


def test_redact_url_keeps_the_rest() -> None:
    assert redact_url(f"postgresql+asyncpg://postgres:{SECRET}@127.0.0.1:5432/test") == (
        f"postgresql+asyncpg://postgres:{MASK}@127.0.0.1:5432/test"
    )


# -- the command line, no server needed --------------------------------------------------


@pytest.mark.parametrize("url", UNREACHABLE)
@pytest.mark.parametrize("via_env", [False, True])
def test_connection_errors_never_print_the_password(url: str, via_env: bool) -> None:
    for args in (["projections", "--json"], ["cmd", "deposit", "--account", "a", "--amount", "1"]):
        result = run(url, *args, via_env=via_env)
        assert result.returncode != 0
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
        assert MASK in lines[0] or "host" in lines[0]


@pytest.mark.parametrize(
    "url",
    [
        f"postgres:/postgres:{SECRET}@127.0.0.1/test",  # one slash
        f"postgresql+psycopg://postgres:{SECRET}@127.0.0.1/test",  # another driver
        f"mysql://root:{SECRET}@127.0.0.1/test",
        f"postgresql://postgres:{SECRET}@127.0.0.1:notaport/test",
    ],
)
def test_bad_urls_never_print_the_password(url: str) -> None:
    result = run(url, "streams")
    assert result.returncode != 0 and result.stderr.startswith("error: ")


@pytest.mark.parametrize("debug", [False, True])
def test_unexpected_errors_and_debug_tracebacks_are_cleaned(
    debug: bool, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unexpected error quoting the URL: one line, or with EVENTDECK_DEBUG the
    traceback; cleaned either way."""
    url = f"postgresql+asyncpg://postgres:{SECRET}@127.0.0.1:1/test"

    async def broken(db: str, **_: object) -> None:
        raise RuntimeError(f"driver blew up on {db} (password={SECRET})")

    monkeypatch.setattr(console.cli, "open_system", broken)
    monkeypatch.setattr(console.cli, "hide_secrets_in_logs", lambda: None)  # pytest's logging
    monkeypatch.setenv("EVENTDECK_DB", url)
    if debug:
        monkeypatch.setenv("EVENTDECK_DEBUG", "1")
    else:
        monkeypatch.delenv("EVENTDECK_DEBUG", raising=False)
    with pytest.raises(SystemExit) as exited:
        console.cli.main(["projections"])
    assert exited.value.code == 70
    err = capsys.readouterr().err
    assert ("Traceback" in err) is debug and "driver blew up on postgresql" in err
    assert_hidden(err)


def test_the_bench_refuses_an_unreachable_store_without_the_password() -> None:
    url = f"postgresql+asyncpg://postgres:{SECRET}@127.0.0.1:1/test"
    result = run("eventdeck.db", "bench", "--db", url, "--quick", "--json")
    assert result.returncode != 0 and result.stdout == ""


# -- the command line on a real server ---------------------------------------------------


@pytest.fixture(scope="module")
def secret_url(pg_db_url: str) -> Iterator[str]:
    """The test database's URL with SECRET as its password (trust auth ignores it)."""
    url = normalise_url(pg_db_url)
    if url.password:
        pytest.skip("the test server's URL has its own password")
    yield url.set(password=SECRET).render_as_string(hide_password=False)


@pytest.mark.postgres
def test_every_command_on_a_real_server_hides_the_password(secret_url: str) -> None:
    assert (
        run(secret_url, "seed", "--orders", "6", "--accounts", "2", "--days", "2").returncode == 0
    )
    for args in (
        ["catch-up", "--json"],
        ["projections"],
        ["projections", "--json"],
        ["dlq", "--json"],
        ["streams", "--json"],
        ["events", "--limit", "3", "--json"],
        ["query", "order-summary", "--json"],
        ["cmd", "open-account", "--owner", "Ann", "--json"],
        ["--read-only", "projections", "--json"],
        ["--read-only", "cmd", "open-account", "--owner", "Ann"],
        ["cmd", "deposit", "--account", "nope", "--amount", "1"],
        ["state", "nope"],
    ):
        result = run(secret_url, *args)
        assert result.returncode == 0 or result.stderr.startswith("error: "), args
    assert run(secret_url, "--read-only", "projections", via_env=True).returncode == 0


@pytest.mark.postgres
def test_the_worker_banner_hides_the_password(secret_url: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVENTDECK_")}
    worker = subprocess.Popen(
        [*eventdeck_argv(), "--db", secret_url, "worker"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert worker.stderr is not None
        banner = worker.stderr.readline()
        assert "worker: running" in banner and MASK in banner
    finally:
        worker.send_signal(signal.SIGINT)
        out, err = worker.communicate(timeout=60)
    assert_hidden(banner + out + err)


@pytest.mark.postgres
def test_bench_json_on_a_server_hides_the_password(secret_url: str) -> None:
    """Every figure, the console worker's included, on the server (tiny sizes)."""
    url = normalise_url(secret_url).set(database="eventdeck_bench_secret")
    admin = normalise_url(secret_url).set(drivername="postgresql")
    import asyncpg  # type: ignore[import-untyped]

    async def admin_do(*statements: str) -> None:
        conn = await asyncpg.connect(admin.render_as_string(hide_password=False))
        try:
            for statement in statements:
                await conn.execute(statement)
        finally:
            await conn.close()

    drop = f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'
    try:
        asyncio.run(admin_do(drop, f'CREATE DATABASE "{url.database}"'))
    except asyncpg.InsufficientPrivilegeError:
        pytest.skip("no CREATEDB right on the test server")
    try:
        bench_url = url.render_as_string(hide_password=False)
        result = run("eventdeck.db", "bench", "--db", bench_url, "--json", **{SIZES_ENV: "tiny"})
        assert result.returncode == 0, result.stderr
        assert "console_first_screen_1m" in result.stdout  # the console worker ran
    finally:
        asyncio.run(admin_do(drop))
