"""Importing an export: its lines into a store in batches, resumable, and audited.

Each batch is one transaction (`EventTransfer.import_batch`): a batch is written
whole or not at all, and events already in the store (by event id) are skipped,
so an import stopped anywhere - an error at a line, a truncated file, a killed
process - is resumed by running it again on the same file. An import that wrote
something is recorded as an `EventsImported` operator event on its own stream
(`import-<id>`), naming the user; the imported events keep their own metadata.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable

from pydantic import BaseModel

from .clock import IdFactory
from .errors import EventdeckError
from .event_transfer import ImportLine, ImportRejected, check_order, parse_line
from .operator_events import EventsImported, OperatorLog
from .ports import EventTransfer

#: Lines per batch (one transaction each) unless told otherwise.
DEFAULT_BATCH_SIZE = 1000
#: The id prefix of import audit streams (stream type "Operator").
IMPORT_STREAM_PREFIX = "import-"

#: Told after each batch: lines read so far, events imported so far.
ImportProgress = Callable[[int, int], None]


class ImportSummary(BaseModel):
    """What an import did (`eventdeck import --json`)."""

    #: Events written to the store.
    imported: int
    #: Events skipped because the store holds them already (same event id).
    skipped: int
    #: Distinct streams the imported file's events belong to.
    streams: int
    #: Lines read (blank lines included).
    lines: int
    source: str
    #: The stream of this import's audit event; None when nothing was written.
    audit_stream: str | None = None


class _Tally:
    def __init__(self) -> None:
        self.imported = 0
        self.skipped = 0
        self.lines = 0
        self.streams: set[str] = set()


class EventImport:
    """Reads export lines and appends their events to a store through `transfer`."""

    def __init__(
        self,
        transfer: EventTransfer,
        operator_log: OperatorLog,
        ids: IdFactory,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self._transfer = transfer
        self._operator_log = operator_log
        self._ids = ids
        self._batch_size = batch_size

    async def run(
        self,
        lines: Iterable[bytes | str],
        *,
        source: str,
        user: str,
        progress: ImportProgress | None = None,
    ) -> ImportSummary:
        """Import every line of `lines` (an export, in its order) as done by `user`.

        Raises ImportRejected naming the first line that is malformed or does not fit
        the store; the batches before it stay written (see the module doc).
        """
        tally = _Tally()
        batch: list[ImportLine] = []
        previous: int | None = None
        try:
            for number, raw in enumerate(lines, start=1):
                tally.lines = number
                event = parse_line(raw, number)
                if event is None:
                    continue
                check_order(previous, event, number)
                previous = event.position
                tally.streams.add(event.stream_id)
                batch.append(ImportLine(number, event))
                if len(batch) >= self._batch_size:
                    await self._write(batch, tally)
                    batch = []
                    if progress is not None:
                        progress(tally.lines, tally.imported)
            await self._write(batch, tally)
        except ImportRejected as exc:
            first = batch[0].number if batch else exc.line
            await self._audit_stopped(tally, source, user, f"line {exc.line}: {exc.problem}")
            raise ImportRejected(exc.line, exc.problem, _stopped(tally, first)) from None
        except EventdeckError as exc:
            await self._audit_stopped(tally, source, user, str(exc))
            raise
        if progress is not None:
            progress(tally.lines, tally.imported)
        audit = await self._audit(tally, source, user) if tally.imported else None
        return _summary(tally, source, audit)

    async def _write(self, batch: list[ImportLine], tally: _Tally) -> None:
        result = await self._transfer.import_batch(batch)
        tally.imported += result.imported
        tally.skipped += result.skipped

    async def _audit(self, tally: _Tally, source: str, user: str, error: str | None = None) -> str:
        stream_id = f"{IMPORT_STREAM_PREFIX}{self._ids.new_id()}"
        event = EventsImported(
            source=source,
            imported=tally.imported,
            skipped=tally.skipped,
            streams=len(tally.streams),
            lines=tally.lines,
            complete=error is None,
            error=error,
        )
        await self._operator_log.record_on(stream_id, event, user=user)
        return stream_id

    async def _audit_stopped(self, tally: _Tally, source: str, user: str, error: str) -> None:
        """Record what a stopped import wrote, if anything; the stop itself is the error
        the caller sees, so a failure to record is not raised over it."""
        if tally.imported:
            with contextlib.suppress(EventdeckError):
                await self._audit(tally, source, user, error)


def _stopped(tally: _Tally, first: int) -> str:
    """What an import stopped at line `first`'s batch left in the store."""
    if not tally.imported:
        return "nothing was written"
    return (
        f"the lines before {first} are in the store ({tally.imported} events imported), "
        f"nothing from line {first} on; fix the file and run the same import again to resume"
    )


def _summary(tally: _Tally, source: str, audit_stream: str | None) -> ImportSummary:
    return ImportSummary(
        imported=tally.imported,
        skipped=tally.skipped,
        streams=len(tally.streams),
        lines=tally.lines,
        source=source,
        audit_stream=audit_stream,
    )
