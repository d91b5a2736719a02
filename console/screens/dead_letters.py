"""Dead letters: the events projections failed on, inspected, retried, skipped.

The list is read a page at a time with its filters applied by the store, and
read again every `REFRESH_SECONDS` (the next read is scheduled when the last
one is shown, so reads never overlap) so new failures appear. The detail of the
row under the cursor is read once the cursor rests. Writes (retry, skip, bulk)
run one at a time in a worker; the desk records each as an operator event
naming the console's user. Bulk actions cover one projection's open dead
letters, as `eventdeck dlq retry --all --projection` does: first the count, then
the operator types the projection's name to confirm.
"""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar, Literal

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.message import Message
from textual.widgets import Static

from core.dead_letter_desk import DeadLetterDetail, ResolveOutcome
from core.dead_letters import DeadLetter, DeadLetterStatus, DeadLetterTally
from core.errors import DeadLetterNotFound, EventdeckError

from ..actions import REGISTRY, action
from ..widgets.dead_letter_detail import DeadLetterDetailPane, Note
from ..widgets.dead_letter_list import (
    DeadLetterFilter,
    DeadLetterFilterBar,
    ListPage,
    dead_letter_cells,
    dead_letter_columns,
    describe_page,
    read_page,
)
from ..widgets.dead_letter_outcomes import bulk_prompt, describe_outcomes, skip_question
from ..widgets.virtual_table import Row, VirtualTable
from .base import ConsoleScreen
from .modals import ConfirmModal, PromptModal

SCOPE = "dead_letters"
#: Rows read per page.
PAGE = 200
REFRESH_SECONDS = 3.0
#: The cursor must rest this long before the detail is read.
DETAIL_DELAY = 0.12
Action = Literal["retry", "skip"]
_RETRY = "retry dead letters"
_SKIP = "skip dead letters"


class DeadLettersScreen(ConsoleScreen):
    """The dead letters on top, the one under the cursor in full below."""

    SCOPE = SCOPE
    DEFAULT_CSS = """
    DeadLettersScreen #dlq-status { height: 1; padding: 0 1; background: $boost; }
    DeadLettersScreen #dlq-table { height: 10; }
    """
    BINDINGS: ClassVar[list[BindingType]] = REGISTRY.register(
        SCOPE,
        "Dead letters",
        [
            action(SCOPE, "t", "retry", "Retry", "Retry the dead letter", writes=_RETRY),
            action(SCOPE, "k", "skip", "Skip", "Skip the dead letter (asks first)", writes=_SKIP),
            action(
                SCOPE,
                "T",
                "bulk('retry')",
                "Retry all",
                "Retry every open dead letter of one projection (type its name)",
                writes=_RETRY,
            ),
            action(
                SCOPE,
                "K",
                "bulk('skip')",
                "Skip all",
                "Skip every open dead letter of one projection (type its name)",
                writes=_SKIP,
            ),
            action(SCOPE, "slash", "focus_filters", "Filter", "Filter: projection, stream, text"),
            action(SCOPE, "o", "toggle_resolved", "Resolved", "Show retried and skipped ones too"),
            action(SCOPE, "x", "clear_filters", "Clear", "Clear the filters", footer=False),
            action(
                SCOPE,
                "left_square_bracket",
                "page(-1)",
                "Previous page",
                "Previous page",
                footer=False,
            ),
            action(
                SCOPE, "right_square_bracket", "page(1)", "Next page", "Next page", footer=False
            ),
        ],
    )

    class Listed(Message):
        def __init__(self, page: ListPage) -> None:
            super().__init__()
            self.page = page

    class DetailRead(Message):
        def __init__(self, dead_letter_id: int, detail: DeadLetterDetail | None) -> None:
            super().__init__()
            self.dead_letter_id = dead_letter_id
            self.detail = detail

    class BulkCounted(Message):
        def __init__(self, action: Action, projection: str, tally: DeadLetterTally) -> None:
            super().__init__()
            self.action = action
            self.projection = projection
            self.tally = tally

    class Resolved(Message):
        """A retry, skip or bulk action finished (or was refused by the desk)."""

        def __init__(
            self, outcomes: list[ResolveOutcome], bulk: str | None, error: str | None = None
        ) -> None:
            super().__init__()
            self.outcomes = outcomes
            self.bulk = bulk
            self.error = error

    def __init__(self) -> None:
        super().__init__()
        self.filter = DeadLetterFilter()
        self.page_offset = 0
        self.page: ListPage | None = None
        self._letters: dict[int, DeadLetter] = {}
        self._notes: dict[int, Note] = {}
        #: What a running write does ("" when none runs): one write at a time.
        self.writing = ""

    def compose_body(self) -> ComposeResult:
        yield DeadLetterFilterBar(list(self.system.projections.processors), id="dlq-filters")
        yield Static("", id="dlq-status")
        yield VirtualTable(dead_letter_columns(), id="dlq-table")
        yield DeadLetterDetailPane("Move the cursor onto a dead letter to see it here.")

    @property
    def table(self) -> VirtualTable:
        return self.query_one("#dlq-table", VirtualTable)

    @property
    def letters(self) -> list[DeadLetter]:
        """The dead letters listed now (one page), in the list's order."""
        return list(self._letters.values())

    @property
    def shown(self) -> DeadLetterDetail | None:
        """The dead letter shown in the detail pane."""
        return self._pane.detail

    @property
    def selected(self) -> DeadLetter | None:
        key = self.table.cursor_key
        return self._letters.get(key) if isinstance(key, int) else None

    def on_mount(self) -> None:
        self.table.focus()
        self._schedule(0)

    def on_screen_resume(self) -> None:
        self._schedule(0)

    def focus_main(self) -> None:
        self.table.focus()

    def action_refresh(self) -> None:
        self._schedule(0)

    # -- the list: one read at a time ---------------------------------------------

    def start_read(self) -> None:
        self.read_list(self.filter, self.page_offset)

    @work(exclusive=True, group="dead-letters", exit_on_error=False)
    async def read_list(self, wanted: DeadLetterFilter, offset: int) -> None:
        projections = self.system.projections
        page = await self.console.io(
            read_page(projections.dead_letters, projections.store, wanted, offset, PAGE)
        )
        self.post_message(self.Listed(page))

    def worker_failed(self, group: str, error: BaseException) -> None:
        super().worker_failed(group, error)
        if group == "dead-letters":
            self._reading = False
            self._schedule(REFRESH_SECONDS * 3)
        elif group == "dead-letter-write":
            self.writing = ""
            self._show_status()

    @on(Listed)
    def show_list(self, message: Listed) -> None:
        self._reading = False
        page = message.page
        if page.offset and not page.letters and page.matching.entries:
            self.page_offset = max(page.matching.entries - 1, 0) // PAGE * PAGE
            self._schedule(0)  # the page emptied under us: show the last one
            return
        self.page = page
        table = self.table
        index, key = table.cursor, table.cursor_key
        self._letters = {dead.id: dead for dead in page.letters}
        if key not in self._letters and page.letters:
            key = page.letters[min(max(index, 0), len(page.letters) - 1)].id
        table.set_rows(
            (Row(dead.id, dead_letter_cells(dead)) for dead in page.letters), cursor_key=key
        )
        if not page.letters:
            hint = "No dead letters match the filters." if self.filter.narrowed else ""
            self._pane.show(None, self.system.registry, hint=hint or "No dead letters.")
        self._show_status()
        self._schedule(REFRESH_SECONDS)

    def _show_status(self) -> None:
        if self.page is not None:
            status = describe_page(self.page, self.filter, PAGE, self.writing)
            self.query_one("#dlq-status", Static).update(status)

    # -- the detail -----------------------------------------------------------------

    @property
    def _pane(self) -> DeadLetterDetailPane:
        return self.query_one(DeadLetterDetailPane)

    @on(VirtualTable.Highlighted, "#dlq-table")
    def cursor_moved(self, message: VirtualTable.Highlighted) -> None:
        dead = self._letters.get(message.key) if isinstance(message.key, int) else None
        shown = self._pane.detail
        if dead is None or (shown is not None and shown.dead_letter == dead):
            return  # the same letter, unchanged since it was read: nothing to read
        self.debounce("detail", DETAIL_DELAY, lambda: self.read_detail(dead.id))

    @work(exclusive=True, group="dead-letter-detail", exit_on_error=False)
    async def read_detail(self, dead_letter_id: int) -> None:
        try:
            detail = await self.console.io(
                self.system.projections.dead_letters.show(dead_letter_id)
            )
        except DeadLetterNotFound:
            detail = None
        self.post_message(self.DetailRead(dead_letter_id, detail))

    @on(DetailRead)
    def show_detail(self, message: DetailRead) -> None:
        if message.dead_letter_id != self.table.cursor_key:
            return  # the cursor moved on meanwhile
        note = self._notes.get(message.dead_letter_id)
        self._pane.show(message.detail, self.system.registry, note, hint="It is gone (rebuilt?).")

    # -- filters --------------------------------------------------------------------

    def action_focus_filters(self) -> None:
        self.query_one("#dlq-projection").focus()

    def action_clear_filters(self) -> None:
        self.query_one(DeadLetterFilterBar).clear()
        self._set_filter(replace(self.filter, projection="", stream="", text=""))

    def action_toggle_resolved(self) -> None:
        self._set_filter(replace(self.filter, resolved=not self.filter.resolved))

    @on(DeadLetterFilterBar.Changed)
    def filters_changed(self, message: DeadLetterFilterBar.Changed) -> None:
        self._set_filter(
            replace(
                self.filter, projection=message.projection, stream=message.stream, text=message.text
            )
        )

    def _set_filter(self, wanted: DeadLetterFilter) -> None:
        if wanted == self.filter:
            return
        self.filter = wanted
        self.page_offset = 0
        self._reread()

    def action_page(self, direction: int) -> None:
        found = self.page.matching.entries if self.page else 0
        offset = min(max(self.page_offset + direction * PAGE, 0), max(found - 1, 0) // PAGE * PAGE)
        if offset != self.page_offset:
            self.page_offset = offset
            self.table.clear()
            self._reread()

    def _reread(self) -> None:
        if self._reading:
            self.workers.cancel_group(self, "dead-letters")
            self._reading = False
        self._schedule(0)

    # -- writes -----------------------------------------------------------------------

    def _writable(self) -> bool:
        if self.writing:
            self.notify(f"Wait: {self.writing} is still running.", severity="warning", markup=False)
            return False
        return True

    def action_retry(self) -> None:
        dead = self._chosen()
        if dead is not None and self._writable():
            self._start_write(f"retrying dead letter {dead.id}")
            self.resolve_one(dead.id, "retry")

    def action_skip(self) -> None:
        dead = self._chosen()
        if dead is None or not self._writable():
            return

        def answered(yes: bool | None) -> None:
            if not yes:
                self.notify(f"Skip cancelled: dead letter {dead.id} is unchanged.")
            elif self._writable():
                self._start_write(f"skipping dead letter {dead.id}")
                self.resolve_one(dead.id, "skip")

        self.app.push_screen(
            ConfirmModal(f"Skip dead letter {dead.id}?", Text(skip_question(dead)), "Skip"),
            answered,
        )

    def _chosen(self) -> DeadLetter | None:
        dead = self.selected
        if dead is None:
            self.notify("Choose a dead letter first.", severity="warning")
            return None
        if dead.status is not DeadLetterStatus.OPEN:
            self.notify(
                f"Dead letter {dead.id} is already {dead.status.value}; nothing to do.",
                severity="warning",
            )
            return None
        return dead

    def action_bulk(self, what: Action) -> None:
        projection = self.filter.projection or (self.selected.projection if self.selected else "")
        if not projection:
            self.notify(
                "Choose a dead letter or filter by projection first: a bulk action covers one "
                "projection.",
                severity="warning",
            )
            return
        if self._writable():
            self.count_bulk(what, projection)

    @work(exclusive=True, group="dead-letter-count", exit_on_error=False)
    async def count_bulk(self, what: Action, projection: str) -> None:
        tally = await self.console.io(
            self.system.projections.dead_letters.tally(projection=projection)
        )
        self.post_message(self.BulkCounted(what, projection, tally))

    @on(BulkCounted)
    def confirm_bulk(self, message: BulkCounted) -> None:
        what, projection, tally = message.action, message.projection, message.tally
        if not tally.entries:
            self.notify(f"No open dead letters in {projection}; nothing to {what}.", markup=False)
            return

        def answered(typed: str | None) -> None:
            if typed != projection:
                said = "no name" if typed is None else f"{typed!r}"
                self.notify(  # markup off: it quotes what was typed
                    f"Cancelled: you typed {said}, not {projection!r}; nothing changed.",
                    severity="warning",
                    markup=False,
                )
            elif self._writable():
                self._start_write(f"{what} every open dead letter of {projection}")
                self.resolve_bulk(what, projection)

        self.app.push_screen(PromptModal(*bulk_prompt(what, projection, tally)), answered)

    def _start_write(self, what: str) -> None:
        self.writing = what
        self._show_status()

    @work(group="dead-letter-write", exit_on_error=False)
    async def resolve_one(self, dead_letter_id: int, what: Action) -> None:
        desk, user = self.system.projections.dead_letters, self.console.user
        run = desk.retry if what == "retry" else desk.skip
        try:
            outcome = await self.console.io(run(dead_letter_id, user=user))
        except EventdeckError as exc:
            self.post_message(self.Resolved([], None, str(exc)))
            return
        self.post_message(self.Resolved([outcome], None))

    @work(group="dead-letter-write", exit_on_error=False)
    async def resolve_bulk(self, what: Action, projection: str) -> None:
        desk, user = self.system.projections.dead_letters, self.console.user
        run = desk.retry_all if what == "retry" else desk.skip_all
        try:
            outcomes = await self.console.io(run(user=user, projection=projection))
        except EventdeckError as exc:
            self.post_message(self.Resolved([], projection, str(exc)))
            return
        self.post_message(self.Resolved(outcomes, projection))

    @on(Resolved)
    def resolved(self, message: Resolved) -> None:
        self.writing = ""
        if message.error is not None:
            self.notify(message.error, title="Refused", severity="error", markup=False)
        else:
            text, failed = describe_outcomes(message.outcomes, message.bulk)
            self.notify(text, severity="error" if failed else "information", markup=False)
            at = self.system.clock.now().strftime("%H:%M:%S")
            for outcome in message.outcomes:
                note_text, note_failed = describe_outcomes([outcome], None)
                self._notes[outcome.dead_letter_id] = Note(f"{at} {note_text}", note_failed)
        # the letters changed: read the list and the detail again
        key = self.table.cursor_key
        if isinstance(key, int):
            self.read_detail(key)
        self._reread()
