"""Importing an export: its lines into a store in batches, resumable, and audited.

Each batch is one transaction (`EventTransfer.import_batch`): a batch is written
whole or not at all, and events already in the store (by event id) are skipped,
so an import stopped anywhere - an error at a line, a truncated file, a killed
process - is resumed by running it again on the same file.

Each batch that writes events carries its operator record: an `EventsImported`
event naming the user, the file, the batch's lines and the positions its events
took, appended after them in the same transaction. So whenever an import stops,
even killed mid-way, every event it wrote is covered by a record of who imported
it, and nothing else is: a batch whose lines are all stored already (a second
import of the same file, or the part a resumed import had done) writes no record.
The batches of one run are the versions of one stream (`import-<id>`, created by
its first batch that writes); a resumed run has a stream of its own. The imported
events keep their own metadata.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from pydantic import BaseModel

from .clock import IdFactory
from .event_transfer import ImportedBatch, ImportLine, ImportRejected, check_order, parse_line
from .operator_events import EventsImported, OperatorLog
from .ports import EventTransfer
from .projection_store import AuditAppend

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
    #: The stream of this import's audit events (one per batch that wrote events);
    #: None when nothing was written.
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
        the store; the batches before it stay written, each with its record (see the
        module doc).
        """
        tally = _Tally()
        audit_stream = f"{IMPORT_STREAM_PREFIX}{self._ids.new_id()}"
        batch: list[ImportLine] = []
        previous: int | None = None

        async def write() -> None:
            result = await self._transfer.import_batch(
                batch, audit=self._recorder(batch, source, user, audit_stream)
            )
            tally.imported += result.imported
            tally.skipped += result.skipped

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
                    await write()
                    batch = []
                    if progress is not None:
                        progress(tally.lines, tally.imported)
            if batch:
                await write()
        except ImportRejected as exc:
            first = batch[0].number if batch else exc.line
            raise ImportRejected(exc.line, exc.problem, _stopped(tally, first)) from None
        if progress is not None:
            progress(tally.lines, tally.imported)
        return ImportSummary(
            imported=tally.imported,
            skipped=tally.skipped,
            streams=len(tally.streams),
            lines=tally.lines,
            source=source,
            audit_stream=audit_stream if tally.imported else None,
        )

    def _recorder(
        self, batch: list[ImportLine], source: str, user: str, stream_id: str
    ) -> Callable[[ImportedBatch], AuditAppend]:
        """The operator record of `batch`, built inside its transaction once known."""
        first_line, last_line = batch[0].number, batch[-1].number
        streams = len({line.event.stream_id for line in batch})

        def record(done: ImportedBatch) -> AuditAppend:
            event = EventsImported(
                source=source,
                imported=done.imported,
                skipped=done.skipped,
                streams=streams,
                lines=last_line,
                first_line=first_line,
                first_position=done.first_position,
                last_position=done.last_position,
            )
            return self._operator_log.prepare_on(stream_id, event, user=user)

        return record


def _stopped(tally: _Tally, first: int) -> str:
    """What an import stopped at line `first`'s batch left in the store."""
    if not tally.imported:
        return "nothing was written"
    return (
        f"the lines before {first} are in the store ({tally.imported} events imported), "
        f"nothing from line {first} on; fix the file and run the same import again to resume"
    )
