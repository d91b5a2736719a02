"""Projection subcommands: `projections`, `catch-up`, `worker`, `rebuild`, `pause`,
`resume` and `query`."""

from __future__ import annotations

import asyncio
import json
import signal
from typing import Any

import click

from core.batch_processor import BatchResult
from core.projection_runner import CatchUpSummary
from core.rebuilds import RebuildProgress, RebuildSummary
from stores import redact_url

from .bootstrap import System
from .cli import cli, current_settings, fail, run_with_system
from .output import seconds_text, short_time, table
from .parsing import parse_time
from .progress import TerminalProgress

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


@cli.command("projections")
@json_option
def projections_command(as_json: bool) -> None:
    """Status, checkpoint, head, lag (events, seconds), rate and dead letters of each projection."""

    async def body(system: System) -> None:
        states = await system.projections.status()
        if as_json:
            click.echo(json.dumps([s.to_json_dict() for s in states]))
            return
        rows = [
            [
                s.name,
                s.kind,
                s.status + (" (rebuild needed)" if s.needs_rebuild else ""),
                str(s.checkpoint),
                str(s.head),
                str(s.lag_events),
                seconds_text(s.lag_seconds),
                f"{s.events_per_second:,.0f}/s" if s.events_per_second else "-",
                seconds_text(s.eta_seconds) if s.lag_events else "-",
                str(s.dead_letters),
            ]
            for s in states
        ]
        click.echo(
            table(
                rows,
                [
                    "NAME",
                    "KIND",
                    "STATUS",
                    "CHECKPOINT",
                    "HEAD",
                    "LAG",
                    "LAG TIME",
                    "RATE",
                    "ETA",
                    "DEAD LETTERS",
                ],
            )
        )

    run_with_system(body)


def summaries_table(summaries: list[CatchUpSummary]) -> str:
    rows = [
        [
            s.name,
            s.status,
            str(s.events),
            str(s.applied),
            str(s.dead_letters),
            str(s.parked),
            f"{s.position}/{s.head}",
            f"{s.events_per_second:,.0f}/s",
            s.error or "",
        ]
        for s in summaries
    ]
    return table(
        rows,
        [
            "NAME",
            "STATUS",
            "EVENTS",
            "APPLIED",
            "DEAD LETTERS",
            "PARKED",
            "POSITION/HEAD",
            "RATE",
            "ERROR",
        ],
    )


@cli.command("catch-up")
@click.argument("names", nargs=-1)
@json_option
def catch_up_command(names: tuple[str, ...], as_json: bool) -> None:
    """Run projections and sagas (all, or NAMES) until caught up with the head, then exit."""

    async def body(system: System) -> list[CatchUpSummary]:
        system.require_writable("catch up projections")
        for name in names:
            system.projections.require_view(name)
        return await system.projections.catch_up(list(names) or None)

    summaries = run_with_system(body)
    if as_json:
        click.echo(json.dumps([s.model_dump(mode="json") for s in summaries]))
    else:
        click.echo(summaries_table(summaries))
    failed = [s for s in summaries if s.status == "failed"]
    if failed:  # the others' work is saved; say why in one line
        fail(f"catch-up of {', '.join(s.name for s in failed)} failed: {failed[0].error}")


@cli.command("worker")
@click.argument("names", nargs=-1)
def worker_command(names: tuple[str, ...]) -> None:
    """Run projections and sagas (all, or NAMES) live until SIGINT/SIGTERM.

    On a signal the worker finishes its current batch, saves the checkpoint and exits.
    """

    async def body(system: System) -> None:
        system.require_writable("run a worker")
        for name in names:
            system.projections.require_view(name)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        chosen = ", ".join(names) if names else "every projection and saga"
        click.echo(f"worker: running {chosen} on {redact_url(system.url)}; Ctrl+C stops", err=True)

        def on_batch(name: str, batch: BatchResult) -> None:
            if not batch.events:
                return
            dead = f", {len(batch.dead_letters)} dead letter(s)" if batch.dead_letters else ""
            parked = f", {batch.parked} parked" if batch.parked else ""
            click.echo(
                f"{short_time(system.clock.now())}  {name}: {batch.applied} applied{dead}"
                f"{parked}, checkpoint {batch.checkpoint.position}",
                err=True,
            )

        def on_error(name: str, error: BaseException) -> None:
            click.echo(f"{short_time(system.clock.now())}  {name}: {error}", err=True)

        await system.projections.run_live(
            list(names) or None, stop, on_batch=on_batch, on_error=on_error
        )
        click.echo("worker: stopped cleanly (checkpoints saved)", err=True)

    run_with_system(body)


@cli.command("rebuild")
@click.argument("names", nargs=-1)
@click.option("--all", "everything", is_flag=True, help="Rebuild every projection.")
@click.option("--from", "from_time", help="Replay only events recorded at or after this ISO time.")
@json_option
def rebuild_command(
    names: tuple[str, ...], everything: bool, from_time: str | None, as_json: bool
) -> None:
    """Rebuild NAMES (or --all) into a new generation; the old one serves until the switch."""
    if bool(names) == everything:
        raise click.UsageError("name the projections to rebuild, or give --all (not both)")
    since = parse_time(from_time, "--from") if from_time else None
    settings = current_settings()
    progress = TerminalProgress("rebuilding")

    def on_progress(p: RebuildProgress) -> None:
        eta = f" eta {seconds_text(p.eta)}" if p.eta is not None else ""
        progress.report(p.done, p.total, f"{p.name} {p.rate:,.0f}/s{eta}")

    def on_error(name: str, dead: Any) -> None:
        progress.message(
            f"{name}: dead letter at position {dead.position} "
            f"({dead.stream_id}, {dead.event_type}): {dead.error}"
        )

    async def body(system: System) -> list[RebuildSummary]:
        system.require_writable("rebuild projections")
        with progress:
            return await system.projections.rebuild(
                list(names) or None,
                user=settings.user,
                from_time=since,
                progress=on_progress,
                on_error=on_error,
            )

    summaries = run_with_system(body)
    if as_json:
        click.echo(json.dumps([s.model_dump(mode="json") for s in summaries]))
        return
    rows = [
        [
            s.name,
            str(s.generation),
            str(s.events),
            str(s.applied),
            str(s.dead_letters),
            str(s.documents),
            f"{s.seconds:.1f}s",
            f"{s.events_per_second:,.0f}/s",
        ]
        for s in summaries
    ]
    click.echo(
        table(
            rows,
            [
                "NAME",
                "GENERATION",
                "EVENTS",
                "APPLIED",
                "DEAD LETTERS",
                "DOCUMENTS",
                "TIME",
                "RATE",
            ],
        )
    )


@cli.command("pause")
@click.argument("name")
def pause_command(name: str) -> None:
    """Pause a projection (workers skip it until resumed); recorded with your name."""
    settings = current_settings()

    async def body(system: System) -> None:
        system.require_writable("pause a projection")
        await system.projections.pause(name, user=settings.user)

    run_with_system(body)
    click.echo(f"paused {name}")


@cli.command("resume")
@click.argument("name")
def resume_command(name: str) -> None:
    """Resume a paused projection; recorded with your name."""
    settings = current_settings()

    async def body(system: System) -> None:
        system.require_writable("resume a projection")
        await system.projections.resume(name, user=settings.user)

    run_with_system(body)
    click.echo(f"resumed {name}")


@cli.command("query")
@click.argument("view")
@click.argument("key", required=False)
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True)
@click.option("--offset", type=click.IntRange(min=0), default=0)
@json_option
def query_command(view: str, key: str | None, limit: int, offset: int, as_json: bool) -> None:
    """Read a read model: one row by KEY, or a page of rows."""

    async def body(system: System) -> Any:
        if key is not None:
            document = await system.projections.query(view, key)
            if document is None:
                raise click.ClickException(f"{view} has no row {key!r}")
            return document
        return await system.projections.query_page(view, limit=limit, offset=offset)

    result = run_with_system(body)
    if as_json:
        click.echo(json.dumps(result))
    elif isinstance(result, dict):
        width = max((len(k) for k in result), default=0)
        for field, value in result.items():
            click.echo(
                f"{field.ljust(width)}  {json.dumps(value) if isinstance(value, (dict, list)) else value}"
            )
    else:
        for row in result:
            click.echo(json.dumps(row))
        click.echo(f"{len(result)} row(s) from {offset}", err=True)
