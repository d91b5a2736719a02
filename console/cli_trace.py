"""`eventdeck trace CORRELATION_ID`: the command, its events, the saga's commands and
their events, and any dead letters, as a tree."""

from __future__ import annotations

import json

import click

from core.errors import InvalidInput
from core.trace import TraceNode, read_trace

from .bootstrap import System
from .cli import cli, run_with_system


def render(nodes: list[TraceNode], prefix: str = "") -> list[str]:
    """The tree as text lines with box-drawing branches."""
    lines = []
    for i, node in enumerate(nodes):
        last = i == len(nodes) - 1
        lines.append(prefix + ("└── " if last else "├── ") + node.label)
        lines.extend(render(node.children, prefix + ("    " if last else "│   ")))
    return lines


@cli.command("trace")
@click.argument("correlation_id")
@click.option("--json", "as_json", is_flag=True, help="Print the tree as JSON.")
def trace_command(correlation_id: str, as_json: bool) -> None:
    """The correlation tree: command -> events -> saga commands -> events -> dead letters.

    CORRELATION_ID is in every event's metadata (`events --json`).
    """

    async def body(system: System) -> list[TraceNode]:
        trace = await read_trace(correlation_id, system.store, system.projection_store)
        if trace is None:
            raise InvalidInput(
                f"no events carry correlation id {correlation_id!r}; "
                "take one from the metadata shown by `eventdeck events --json`"
            )
        return trace.roots

    roots = run_with_system(body)
    if as_json:
        click.echo(json.dumps([r.model_dump(mode="json") for r in roots]))
        return
    click.echo(f"trace {correlation_id}")
    for line in render(roots):
        click.echo(line)
    events = sum(r.count("event") for r in roots)
    dead = sum(r.count("dead_letter") for r in roots)
    click.echo(f"{len(roots)} command(s), {events} event(s), {dead} dead letter(s)", err=True)
