"""The `eventdeck` command line: global options, error handling, subcommand registry.

Every subcommand opens the store through `console.bootstrap`, prints a table or
`--json`, and reports any user error as one line on stderr with a non-zero exit.
"""

from __future__ import annotations

import asyncio
import getpass
import os
import sys
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import click

from core.errors import EventdeckError
from stores.secrets import hide_secrets, hide_secrets_in_logs, remember_secrets

from .bootstrap import System, open_system
from .output import one_line

DEFAULT_DB = "eventdeck.db"


@dataclass
class Settings:
    """The global options, shared by every subcommand."""

    db: str
    user: str
    read_only: bool


def default_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        return "operator"


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db",
    envvar="EVENTDECK_DB",
    default=DEFAULT_DB,
    show_default=True,
    help="Store URL: a SQLite file path, sqlite+aiosqlite:///FILE or postgresql+asyncpg://...",
)
@click.option(
    "--user", envvar="EVENTDECK_USER", default=None, help="Who you are (recorded on writes)."
)
@click.option("--read-only", is_flag=True, help="Refuse every write.")
@click.version_option(package_name="eventdeck")
@click.pass_context
def cli(ctx: click.Context, db: str, user: str | None, read_only: bool) -> None:
    """eventdeck: an operations console for event-sourced systems.

    Without a subcommand, opens the console on the store.
    """
    ctx.obj = Settings(db=db, user=user or default_user(), read_only=read_only)
    if ctx.invoked_subcommand is None:
        from .app import run_console

        run_console(ctx.obj)


def run_with_system(body: Callable[[System], Awaitable[Any]]) -> Any:
    """Open the store named by the global options, run `body`, close the store."""
    settings: Settings = click.get_current_context().find_object(Settings)  # type: ignore[assignment]

    async def go() -> Any:
        system = await open_system(settings.db, read_only=settings.read_only)
        try:
            return await body(system)
        finally:
            await system.close()

    return asyncio.run(go())


def current_settings() -> Settings:
    settings = click.get_current_context().find_object(Settings)
    assert settings is not None
    return settings


def fail(message: str, code: int = 1) -> None:
    """One line on stderr (never a password: see stores/secrets.py) and exit `code`."""
    click.echo(f"error: {one_line(hide_secrets(message))}", err=True)
    sys.exit(code)


def remember_db_secrets(argv: list[str]) -> None:
    """Register the passwords of every database URL given (`--db`, `EVENTDECK_DB`, the
    bench's own `--db`) before anything can fail, so no message can print them."""
    remember_secrets(os.environ.get("EVENTDECK_DB"))
    for index, arg in enumerate(argv):
        if arg == "--db" and index + 1 < len(argv):
            remember_secrets(argv[index + 1])
        elif arg.startswith("--db="):
            remember_secrets(arg.removeprefix("--db="))


#: The global options that take a value (the word after them is not a subcommand).
_VALUED_OPTIONS = frozenset({"--db", "--user"})


def opens_console(args: list[str]) -> bool:
    """Whether `args` open the console: global options only, no subcommand, no help."""
    valued = False
    for arg in args:
        if valued:
            valued = False
        elif arg in _VALUED_OPTIONS:
            valued = True
        elif arg in ("-h", "--help", "--version") or not arg.startswith("-"):
            return False
    return True


def register_subcommands() -> None:
    from . import (  # noqa: F401  (each module registers its subcommands)
        cli_bench,
        cli_commands,
        cli_dlq,
        cli_doctor,
        cli_projections,
        cli_reads,
        cli_screenshots,
        cli_seed,
        cli_trace,
        cli_transfer,
    )


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `eventdeck` script: every failure is one line on stderr."""
    args = sys.argv[1:] if argv is None else argv
    if not opens_console(args):
        # The console alone needs none of them (~75 ms of imports before its first screen).
        register_subcommands()
    remember_db_secrets(args)
    hide_secrets_in_logs()
    try:
        code = cli.main(args=args, prog_name="eventdeck", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.ctx.get_help() if exc.ctx else str(exc), err=True)
        sys.exit(2)
    except click.exceptions.UsageError as exc:
        where = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx else ""
        fail(exc.format_message() + where, 2)
    except click.exceptions.Abort:
        fail("aborted", 130)
    except click.ClickException as exc:
        fail(exc.format_message(), exc.exit_code)
    except EventdeckError as exc:
        fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        fail("interrupted", 130)
    except BrokenPipeError:
        # the reader (e.g. `| head`) went away: not an error
        sys.stderr.close()
        sys.exit(0)
    except Exception as exc:  # noqa: BLE001 - the last resort: one line, or a clean traceback
        if os.environ.get("EVENTDECK_DEBUG"):
            # Driver errors may quote the connection string: the traceback is cleaned too.
            click.echo(hide_secrets(traceback.format_exc()), err=True, nl=False)
            sys.exit(70)
        fail(
            f"unexpected {type(exc).__name__}: {exc} (set EVENTDECK_DEBUG=1 for a traceback "
            "and please report it)",
            70,
        )
    sys.exit(code if isinstance(code, int) else 0)
