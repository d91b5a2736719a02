"""`eventdeck export` and `eventdeck import`: move a store's events exactly.

The file format and what travels (events only; read models are rebuilt) are
in core/event_transfer.py; batching, resuming and the audit event in
core/event_import.py; the SQL side in stores/event_transfer.py.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import IO

import click

from core.clock import UuidFactory
from core.event_import import DEFAULT_BATCH_SIZE, EventImport, ImportSummary
from core.event_transfer import TransferredEvent, export_line
from stores import make_engine
from stores.event_transfer import SqlEventTransfer

from .bootstrap import System
from .cli import cli, current_settings, run_with_system
from .parsing import parse_time
from .progress import TerminalProgress

#: Lines written to stdout at once by `export`.
EXPORT_CHUNK = 1000


@cli.command("export")
@click.option("--since", help="Only events recorded at or after this ISO time.")
def export_command(since: str | None) -> None:
    """Write every event as a JSON line on stdout, in position order, exactly as stored.

    Payloads are not upcast (the stored data and schema_version travel), metadata
    keeps every key, times keep their microseconds: `eventdeck import` in another
    store (SQLite or PostgreSQL) writes the same events. The export stops at the
    head it saw first, so a live store exports a consistent prefix. Only events are
    exported: snapshots, read models and checkpoints are rebuilt from them
    (`eventdeck catch-up` after the import).
    """
    since_at = parse_time(since, "--since") if since else None
    out = sys.stdout.buffer
    settings = current_settings()

    async def body(system: System) -> int:
        count = 0
        chunk: list[bytes] = []
        async with _transfer(settings.db, read_only=settings.read_only) as transfer:
            async for event in transfer.export_events(since=since_at):
                chunk.append(_encoded(event))
                count += 1
                if len(chunk) >= EXPORT_CHUNK:
                    out.write(b"".join(chunk))
                    chunk.clear()
        out.write(b"".join(chunk))
        out.flush()
        return count

    count = run_with_system(body)
    click.echo(f"exported {count} event(s)", err=True)


@cli.command("import")
@click.argument(
    "source",
    metavar="FILE",
    type=click.Path(exists=True, dir_okay=False, allow_dash=True, path_type=str),
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1, max=10_000),
    default=DEFAULT_BATCH_SIZE,
    show_default=True,
    help="Events per transaction.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def import_command(source: str, batch_size: int, as_json: bool) -> None:
    """Append the events of an export (FILE, or - for stdin) to the store.

    Every field is kept but the position, which the store allocates anew in the
    file's order. Events already in the store (same event id) are skipped, so
    importing a file twice adds nothing and an interrupted import is resumed by
    running it again. A line that is malformed, or whose version does not follow
    its stream's in the store, stops the import with an error naming the line;
    its batch writes nothing. Each batch that writes events is recorded, in its own
    transaction, as an EventsImported operator event naming --user, the file, the
    batch's lines and the positions its events took (a batch of events already
    stored records nothing). Progress is shown on a terminal.
    """
    settings = current_settings()

    async def body(system: System) -> ImportSummary:
        system.require_writable("import events")
        async with _transfer(settings.db, read_only=settings.read_only) as transfer:
            importer = EventImport(
                transfer, system.projections.operator_log, UuidFactory(), batch_size=batch_size
            )
            return await _run(importer, source, settings.user)

    summary = run_with_system(body)
    click.echo(summary.model_dump_json() if as_json else describe(summary))


async def _run(importer: EventImport, source: str, user: str) -> ImportSummary:
    with _lines(source) as lines, TerminalProgress("importing") as bar:
        total = _count_lines(source) if bar.enabled else 0

        def report(done: int, imported: int) -> None:
            if total:
                bar.report(done, total, f"{imported} imported")

        name = "stdin" if source == "-" else source
        return await importer.run(lines, source=name, user=user, progress=report)


def describe(summary: ImportSummary) -> str:
    """The import summary as a few readable lines."""
    text = (
        f"imported {summary.imported} event(s) of {summary.streams} stream(s) from "
        f"{summary.source}; {summary.skipped} already in the store (skipped)"
    )
    if summary.audit_stream:
        text += (
            f"\nrecorded as {summary.audit_stream}; run `eventdeck catch-up` to bring the "
            "projections up to date"
        )
    return text


@contextlib.asynccontextmanager
async def _transfer(url: str, *, read_only: bool) -> AsyncIterator[SqlEventTransfer]:
    """The transfer on an engine of its own for `url` (the system, opened first, has
    created or checked the schema), opened read-only like the system; closed after."""
    engine = make_engine(url, read_only=read_only)
    try:
        yield SqlEventTransfer(engine)
    finally:
        await engine.dispose()


def _encoded(event: TransferredEvent) -> bytes:
    line = export_line(event)
    try:
        return (line + "\n").encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate from an escaped one in a stored row
        return (json.dumps(event.to_json_dict(), separators=(",", ":")) + "\n").encode("ascii")


@contextlib.contextmanager
def _lines(source: str) -> Iterator[IO[bytes]]:
    """The import's lines as bytes (each is decoded, and checked, on its own)."""
    if source == "-":
        yield sys.stdin.buffer
        return
    with open(source, "rb") as handle:
        yield handle


def _count_lines(source: str) -> int:
    """Lines in a regular file (for the progress bar); 0 when unknown (stdin, a pipe)."""
    path = Path(source)
    if source == "-" or not path.is_file():
        return 0
    count = 0
    last = b"\n"
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            count += block.count(b"\n")
            last = block[-1:]
    return count + (last != b"\n")
