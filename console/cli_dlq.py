"""`eventdeck dlq`: list, show, retry and skip dead letters."""

from __future__ import annotations

import json
import sys

import click

from core.dead_letter_desk import ResolveOutcome
from core.dead_letters import DeadLetter, DeadLetterStatus
from core.errors import InvalidInput

from .bootstrap import System
from .cli import cli, current_settings, run_with_system
from .output import event_line, short_time, table

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")
STATUSES = [s.value for s in DeadLetterStatus] + ["all"]


@cli.group("dlq", invoke_without_command=True)
@click.option("--projection", help="Only this projection's dead letters.")
@click.option("--status", type=click.Choice(STATUSES), default="open", show_default=True)
@click.option("--limit", type=click.IntRange(min=1), default=200, show_default=True)
@json_option
@click.pass_context
def dlq_group(
    ctx: click.Context, projection: str | None, status: str, limit: int, as_json: bool
) -> None:
    """Dead letters: list them; `dlq show ID`, `dlq retry ID|--all`, `dlq skip ID`."""
    if ctx.invoked_subcommand is not None:
        return

    async def body(system: System) -> list[DeadLetter]:
        if projection:
            system.projections.require_view(projection)
        return await system.projections.dead_letters.list(
            projection=projection,
            status=None if status == "all" else DeadLetterStatus(status),
            limit=limit,
        )

    letters = run_with_system(body)
    if as_json:
        click.echo(json.dumps([d.to_json_dict() for d in letters]))
        return
    rows = [
        [
            str(d.id),
            d.projection,
            str(d.position),
            d.stream_id,
            d.event_type,
            d.status.value,
            str(d.attempts),
            str(d.parked),
            short_time(d.last_failed_at),
            _clip(d.error, 60),
        ]
        for d in letters
    ]
    click.echo(
        table(
            rows,
            [
                "ID",
                "PROJECTION",
                "POSITION",
                "STREAM",
                "TYPE",
                "STATUS",
                "ATTEMPTS",
                "PARKED",
                "LAST FAILED",
                "ERROR",
            ],
        )
    )
    click.echo(f"{len(letters)} dead letter(s)", err=True)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dlq_group.command("show")
@click.argument("dead_letter_id", type=int)
@json_option
def dlq_show(dead_letter_id: int, as_json: bool) -> None:
    """A dead letter with its error, traceback, event and the events parked behind it."""

    async def body(system: System) -> dict[str, object]:
        detail = await system.projections.dead_letters.show(dead_letter_id)
        event = system.registry.upcast(detail.event) if detail.event is not None else None
        return {
            **detail.dead_letter.to_json_dict(),
            "traceback": detail.dead_letter.traceback,
            "event": event.to_json_dict() if event is not None else None,
            "parked_events": [p.model_dump(mode="json") for p in detail.parked],
            "_event_line": event_line(event) if event is not None else None,
        }

    shown = run_with_system(body)
    line = shown.pop("_event_line")
    if as_json:
        click.echo(json.dumps(shown))
        return
    click.echo(
        f"dead letter {shown['id']} of {shown['projection']} ({shown['status']}, "
        f"{shown['attempts']} attempt(s), first {shown['first_failed_at']}, "
        f"last {shown['last_failed_at']})"
    )
    click.echo(f"error: {shown['error']}")
    click.echo(f"event: {line or 'position ' + str(shown['position']) + ' (unreadable)'}")
    if shown["event"] is not None:
        click.echo("data: " + json.dumps(shown["event"]["data"], indent=2))
    parked = shown["parked_events"]
    click.echo(f"parked behind it: {len(parked)} event(s)")
    for p in parked:
        click.echo(f"  {p['position']:>8}  {p['stream_id']}  {p['event_type']}")
    click.echo("traceback:\n" + str(shown["traceback"]).rstrip())


def print_outcomes(outcomes: list[ResolveOutcome], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps([o.model_dump(mode="json") for o in outcomes]))
        return
    for o in outcomes:
        verb = {"retry": "retried", "skip": "skipped"}[o.action]
        if o.succeeded:
            extra = f", {o.still_parked} still parked" if o.still_parked else ""
            click.echo(
                f"{verb} dead letter {o.dead_letter_id} ({o.projection}): "
                f"released {o.released} parked event(s){extra}"
            )
        else:
            click.echo(f"dead letter {o.dead_letter_id} ({o.projection}) failed again: {o.error}")


@dlq_group.command("retry")
@click.argument("dead_letter_id", type=int, required=False)
@click.option("--all", "everything", is_flag=True, help="Retry every open dead letter.")
@click.option("--projection", help="With --all: only this projection's.")
@click.option("--yes", is_flag=True, help="With --all: do not ask for confirmation.")
@json_option
def dlq_retry(
    dead_letter_id: int | None, everything: bool, projection: str | None, yes: bool, as_json: bool
) -> None:
    """Re-run a dead letter (or --all), then release the events parked behind it."""
    if (dead_letter_id is None) == (not everything):
        raise click.UsageError("give a dead-letter ID or --all (not both)")
    if projection and not everything:
        raise click.UsageError("--projection goes with --all")
    settings = current_settings()

    async def body(system: System) -> list[ResolveOutcome]:
        system.require_writable("retry dead letters")
        desk = system.projections.dead_letters
        if dead_letter_id is not None:
            return [await desk.retry(dead_letter_id, user=settings.user)]
        if projection:
            system.projections.require_view(projection)
        letters = await desk.list(projection=projection)
        if not letters:
            return []
        streams = len({(d.projection, d.stream_id) for d in letters})
        parked = sum(d.parked for d in letters)
        what = (
            f"retry {len(letters)} dead letter(s) on {streams} stream(s), "
            f"releasing up to {parked} parked event(s)"
        )
        if not yes:
            if not sys.stdin.isatty():
                raise InvalidInput(f"this would {what}; add --yes to confirm")
            click.confirm(f"{what[0].upper()}{what[1:]}?", abort=True, err=True)
        return await desk.retry_all(user=settings.user, projection=projection)

    outcomes = run_with_system(body)
    if not outcomes and not as_json:
        click.echo("no open dead letters")
        return
    print_outcomes(outcomes, as_json)
    if any(not o.succeeded for o in outcomes):
        sys.exit(1)


@dlq_group.command("skip")
@click.argument("dead_letter_id", type=int)
@json_option
def dlq_skip(dead_letter_id: int, as_json: bool) -> None:
    """Give up on a dead letter (recorded with your name) and release its parked events."""
    settings = current_settings()

    async def body(system: System) -> list[ResolveOutcome]:
        system.require_writable("skip dead letters")
        return [await system.projections.dead_letters.skip(dead_letter_id, user=settings.user)]

    print_outcomes(run_with_system(body), as_json)
