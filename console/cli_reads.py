"""Read-only subcommands: `events`, `streams`, `state`, `history`."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Any

import click

from .bootstrap import System
from .cli import cli, run_with_system
from .output import event_line, short_time, show_value, table
from .parsing import parse_time

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")
FOLLOW_POLL_SECONDS = 0.5


def optional_time(text: str | None, option: str) -> datetime | None:
    return parse_time(text, option) if text else None


@cli.command("events")
@click.option("--stream", "stream_id", help="Only this stream.")
@click.option("--type", "types", multiple=True, help="Only this event type (repeatable).")
@click.option("--since", help="Only events recorded at or after this ISO time.")
@click.option("--until", help="Only events recorded at or before this ISO time.")
@click.option("--from-position", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--limit", type=click.IntRange(min=1), help="Stop after N events.")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new events as they arrive.")
@json_option
def events_command(
    stream_id: str | None,
    types: tuple[str, ...],
    since: str | None,
    until: str | None,
    from_position: int,
    limit: int | None,
    follow: bool,
    as_json: bool,
) -> None:
    """List events in position order (JSON lines with --json), payloads at the current schema."""
    since_at = optional_time(since, "--since")
    until_at = optional_time(until, "--until")

    async def body(system: System) -> None:
        printed = 0
        position = from_position
        while True:
            # read up to the head seen now, so filtered-out events are never re-read
            # and events appended meanwhile are picked up by the next round
            head = await system.store.head_position()
            async for record in system.store.read_all(
                from_position=position,
                to_position=head,
                types=list(types) or None,
                stream_id=stream_id,
                since=since_at,
                until=until_at,
            ):
                current = system.registry.upcast(record)
                click.echo(json.dumps(current.to_json_dict()) if as_json else event_line(current))
                printed += 1
                if limit is not None and printed >= limit:
                    return
            position = max(position, head + 1)
            if not follow:
                return
            await asyncio.sleep(FOLLOW_POLL_SECONDS)

    run_with_system(body)


@cli.command("streams")
@click.option("--type", "stream_type", help="Only streams of this type (Order, Account, ...).")
@click.option("--search", "prefix", help="Only stream ids starting with this prefix.")
@click.option("--as-of", help="The streams as they were at this ISO time.")
@click.option("--limit", type=click.IntRange(min=1), help="At most N streams.")
@json_option
def streams_command(
    stream_type: str | None, prefix: str | None, as_of: str | None, limit: int | None, as_json: bool
) -> None:
    """List streams with type, version and first and last change."""
    as_of_at = optional_time(as_of, "--as-of")

    async def body(system: System) -> None:
        infos = await system.store.list_streams(
            stream_type=stream_type, prefix=prefix, as_of=as_of_at, limit=limit
        )
        if as_json:
            click.echo(json.dumps([info.model_dump(mode="json") for info in infos]))
            return
        rows = [
            [
                i.stream_id,
                i.stream_type,
                str(i.version),
                short_time(i.created_at),
                short_time(i.updated_at),
            ]
            for i in infos
        ]
        click.echo(table(rows, ["STREAM", "TYPE", "VERSION", "CREATED", "UPDATED"]))
        click.echo(f"{len(infos)} stream(s)", err=True)

    run_with_system(body)


@cli.command("state")
@click.argument("stream_id")
@click.option("--at", help="The state as it was at this ISO time.")
@click.option("--version", type=int, help="The state as it was at this version.")
@json_option
def state_command(stream_id: str, at: str | None, version: int | None, as_json: bool) -> None:
    """Show a stream's state now, at a version or at a time."""
    at_time = optional_time(at, "--at")

    async def body(system: System) -> None:
        view = await system.time_travel.state(stream_id, version=version, at=at_time)
        if as_json:
            click.echo(view.model_dump_json())
            return
        click.echo(
            f"{view.stream_type} {view.stream_id} at version {view.version} "
            f"(as of {view.as_of.isoformat()})"
        )
        width = max((len(k) for k in view.state), default=0)
        for key, value in view.state.items():
            click.echo(f"  {key.ljust(width)}  {show_value(value)}")

    run_with_system(body)


@cli.command("history")
@click.argument("stream_id")
@json_option
def history_command(stream_id: str, as_json: bool) -> None:
    """Each event of a stream with the fields it changed."""

    async def body(system: System) -> None:
        entries = await system.time_travel.history(stream_id)
        if as_json:
            click.echo(json.dumps([e.model_dump(mode="json") for e in entries]))
            return
        for entry in entries:
            click.echo(
                f"v{entry.version}  {short_time(entry.recorded_at)}  {entry.type}"
                f"  by {entry.user_id or '-'}"
            )
            for field, change in entry.changes.items():
                click.echo(f"      {field}: {_short(change['from'])} -> {_short(change['to'])}")

    run_with_system(body)


def _short(value: Any, limit: int = 60) -> str:
    text = show_value(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
