"""Projections: status and lag of every projection and saga, rebuild with progress,
pause and resume, and the read model's rows.

Status is read one poll at a time (the next is scheduled once the last one's
result is shown), every `REFRESH_SECONDS` and at once after a write. A rebuild
runs in a worker of its own per projection, so the screen keeps polling and
answering keys; it reports progress after every batch. Rows are read a page at
a time (`list_documents` with limit and offset) and grow as the cursor nears
the end: nothing loads a whole read model.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.message import Message
from textual.widgets import Static

from core.checkpoints import ProjectionStatus
from core.dead_letters import NewDeadLetter
from core.errors import EventdeckError
from core.projection_monitor import ProjectionState
from core.rebuilds import RebuildProgress, RebuildSummary

from ..actions import REGISTRY, action
from ..widgets.projection_table import ProjectionTable, describe_state
from ..widgets.read_model_rows import Documents, ReadModelRows
from ..widgets.rebuild_progress import (
    RebuildPanel,
    dead_letter_text,
    rebuild_question,
    rebuild_refusal,
    summary_text,
)
from ..widgets.virtual_table import VirtualTable
from .base import ConsoleScreen
from .modals import ConfirmModal

SCOPE = "projections"
REFRESH_SECONDS = 1.0
#: Rows read per page of a read model.
PAGE = 100
#: Dead letters a rebuild reports one by one; its result counts them all.
REPORTED_DEAD_LETTERS = 3
#: How long a finished (or failed) rebuild's bar stays on screen.
FINISHED_SECONDS = 8.0
#: The most status rows shown before the table scrolls.
MAX_TABLE_ROWS = 10


class ProjectionsScreen(ConsoleScreen):
    """The status table on top, rebuilds in progress, the chosen read model's rows below."""

    SCOPE = SCOPE
    BINDINGS: ClassVar[list[BindingType]] = REGISTRY.register(
        SCOPE,
        "Projections",
        [
            action(SCOPE, "enter", "browse", "Rows", "Browse the selected projection's rows"),
            action(
                SCOPE,
                "b",
                "rebuild",
                "Rebuild",
                "Rebuild the selected projection into a new generation (asks first)",
                writes="rebuild a projection",
            ),
            action(
                SCOPE,
                "space",
                "toggle_pause",
                "Pause/Resume",
                "Pause the selected projection, or resume it if paused",
                writes="pause or resume a projection",
            ),
        ],
    )
    DEFAULT_CSS = """
    #proj-title { padding: 0 1; }
    #proj-table { height: 7; overflow-x: hidden; }
    #proj-detail { padding: 0 1; height: 3; }
    #proj-rows { border-top: solid $primary-darken-2; }
    """

    class StatusRead(Message):
        """A poll read every projection's state."""

        def __init__(self, states: list[ProjectionState], now: datetime) -> None:
            super().__init__()
            self.states = states
            self.now = now

    class RowsListed(Message):
        """A page of a read model's documents (and, for the first, how many there are)."""

        def __init__(
            self, view: str, documents: Documents, offset: int, more: bool, count: int | None
        ) -> None:
            super().__init__()
            self.view = view
            self.documents = documents
            self.offset = offset
            self.more = more
            self.count = count

    class RebuildAdvanced(Message):
        """A rebuild finished a batch (bursts collapse into the latest)."""

        def __init__(self, progress: RebuildProgress) -> None:
            super().__init__()
            self.progress = progress

        def can_replace(self, message: Message) -> bool:
            return (
                isinstance(message, ProjectionsScreen.RebuildAdvanced)
                and message.progress.name == self.progress.name
            )

    class RebuildDeadLettered(Message):
        """An event failed during a rebuild and became a dead letter."""

        def __init__(self, name: str, dead: NewDeadLetter) -> None:
            super().__init__()
            self.name = name
            self.dead = dead

    class RebuildFinished(Message):
        def __init__(self, summary: RebuildSummary) -> None:
            super().__init__()
            self.summary = summary

    class RebuildFailed(Message):
        def __init__(self, name: str, reason: str) -> None:
            super().__init__()
            self.name = name
            self.reason = reason

    class PauseToggled(Message):
        def __init__(self, name: str, paused: bool) -> None:
            super().__init__()
            self.name = name
            self.paused = paused

    def __init__(self) -> None:
        super().__init__()
        self._now: datetime | None = None
        #: Rebuilds started here and still running.
        self.rebuilding: set[str] = set()
        self._dead_seen: dict[str, int] = {}
        self._toggling = False

    def compose_body(self) -> ComposeResult:
        yield Static("Projections", id="proj-title", classes="panel-title")
        yield ProjectionTable(id="proj-table")
        yield Static("", id="proj-detail", classes="caption")
        yield RebuildPanel(linger=FINISHED_SECONDS, id="proj-rebuilds")
        yield ReadModelRows(id="proj-rows")

    @property
    def table(self) -> ProjectionTable:
        return self.query_one("#proj-table", ProjectionTable)

    @property
    def rows(self) -> ReadModelRows:
        return self.query_one(ReadModelRows)

    @property
    def rebuilds(self) -> RebuildPanel:
        return self.query_one(RebuildPanel)

    def on_mount(self) -> None:
        self.table.focus()
        self._start_read()

    def on_screen_resume(self) -> None:
        self._schedule(0)

    def focus_main(self) -> None:
        self.table.focus()

    def action_refresh(self) -> None:
        self._schedule(0)
        if self.rows.view is not None:
            self._list_rows(self.rows.view, 0)

    # -- status: the next read is scheduled only once the previous one finished ------

    def start_read(self) -> None:
        self.read_status()

    @work(exclusive=True, group="projections", exit_on_error=False)
    async def read_status(self) -> None:
        states = await self.console.io(self.system.projections.status())
        self.post_message(self.StatusRead(states, self.system.clock.now()))

    def worker_failed(self, group: str, error: BaseException) -> None:
        if group.startswith("rebuild-"):  # says so itself, once
            self._rebuild_ended(group.removeprefix("rebuild-"), f"{type(error).__name__}: {error}")
            return
        super().worker_failed(group, error)
        if group == "projections":
            self._reading = False
            self._schedule(REFRESH_SECONDS * 5)
        elif group == "projection-rows":
            self.rows.fetching = False
        elif group == "projection-pause":
            self._toggling = False

    @on(StatusRead)
    def show_status(self, message: StatusRead) -> None:
        self._reading = False
        self._now = message.now
        states = message.states
        self.table.show(states)
        self.table.styles.height = min(len(states), MAX_TABLE_ROWS) + 1
        head = states[0].head if states else 0
        behind = sum(1 for state in states if state.lag_events)
        dead = sum(state.dead_letters for state in states)
        self.query_one("#proj-title", Static).update(
            Text.assemble(
                ("Projections", "bold"),
                f" - head {head:,}  ·  {len(states)} projections and sagas  ·  ",
                (f"{behind} behind", "bold yellow" if behind else ""),
                "  ·  ",
                (f"{dead:,} dead letters", "bold red" if dead else ""),
            )
        )
        self._show_detail()
        self.rebuilds.show_elsewhere(states, self.rebuilding)
        self._schedule(REFRESH_SECONDS)

    @on(VirtualTable.Highlighted, "#proj-table")
    def _show_detail(self) -> None:
        state = self.table.selected
        if state is not None and self._now is not None:
            self.query_one("#proj-detail", Static).update(describe_state(state, self._now))

    # -- rows of a read model ----------------------------------------------------------

    @on(VirtualTable.Selected, "#proj-table")
    def _projection_chosen(self) -> None:
        self.action_browse()

    def action_browse(self) -> None:
        state = self.table.selected
        if state is None:
            self.notify("No projection selected yet.", severity="warning")
            return
        self.rows.open(state.name, state.kind)
        self._list_rows(state.name, 0)
        self.rows.table.focus()

    def _list_rows(self, view: str, offset: int) -> None:
        self.rows.fetching = True
        self.list_rows(view, offset)

    @on(ReadModelRows.MoreWanted)
    def _more_rows(self, message: ReadModelRows.MoreWanted) -> None:
        self.list_rows(message.view, message.offset)

    @work(exclusive=True, group="projection-rows", exit_on_error=False)
    async def list_rows(self, view: str, offset: int) -> None:
        store = self.system.projections.store
        count = await self.console.io(store.count_documents(view)) if offset == 0 else None
        found = await self.console.io(store.list_documents(view, limit=PAGE + 1, offset=offset))
        self.post_message(self.RowsListed(view, found[:PAGE], offset, len(found) > PAGE, count))

    @on(RowsListed)
    def _show_rows(self, message: RowsListed) -> None:
        self.rows.show_page(
            message.view, message.documents, message.offset, message.more, message.count
        )

    # -- rebuild -------------------------------------------------------------------

    def action_rebuild(self) -> None:
        state = self.table.selected
        if state is None:
            self.notify("No projection selected yet.", severity="warning")
            return
        name = state.name
        refusal = rebuild_refusal(state, here=name in self.rebuilding)
        if refusal is not None:
            self.notify(refusal, title="Rebuild", severity="error", markup=False)
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._start_rebuild(name)

        self.app.push_screen(
            ConfirmModal(f"Rebuild {name}?", rebuild_question(state, self.console.user), "Rebuild"),
            answered,
        )

    def _start_rebuild(self, name: str) -> None:
        self.rebuilding.add(name)
        self._dead_seen[name] = 0
        self.rebuilds.start(name)
        self.run_worker(self._rebuild(name), group=f"rebuild-{name}", exit_on_error=False)
        self._schedule(0)

    async def _rebuild(self, name: str) -> None:
        def progress(report: RebuildProgress) -> None:
            self.post_message(self.RebuildAdvanced(report))

        def dead_letter(projection: str, dead: NewDeadLetter) -> None:
            self.post_message(self.RebuildDeadLettered(projection, dead))

        engine = self.system.projections
        try:
            summaries = await self.console.io(
                engine.rebuild(
                    [name], user=self.console.user, progress=progress, on_error=dead_letter
                )
            )
        except EventdeckError as exc:
            self.post_message(self.RebuildFailed(name, str(exc)))
            return
        self.post_message(self.RebuildFinished(summaries[0]))

    @on(RebuildAdvanced)
    def _rebuild_advanced(self, message: RebuildAdvanced) -> None:
        self.rebuilds.advance(message.progress)

    @on(RebuildDeadLettered)
    def _rebuild_dead_letter(self, message: RebuildDeadLettered) -> None:
        seen = self._dead_seen.get(message.name, 0) + 1
        self._dead_seen[message.name] = seen
        if seen > REPORTED_DEAD_LETTERS:
            return  # the result counts them all
        self.notify(  # markup off: the error is stored text
            dead_letter_text(message.name, message.dead),
            title="Rebuild",
            severity="warning",
            markup=False,
        )

    @on(RebuildFinished)
    def _rebuild_finished(self, message: RebuildFinished) -> None:
        summary = message.summary
        name = summary.name
        self.rebuilding.discard(name)
        self.rebuilds.finish(summary)
        self.notify(
            f"Rebuilt {name}: {summary_text(summary)}",
            title="Rebuild",
            severity="warning" if summary.dead_letters else "information",
            markup=False,
        )
        self._schedule(0)
        if self.rows.view == name:
            self._list_rows(name, 0)  # the new generation's rows

    @on(RebuildFailed)
    def _rebuild_failed(self, message: RebuildFailed) -> None:
        self._rebuild_ended(message.name, message.reason)

    def _rebuild_ended(self, name: str, reason: str) -> None:
        """A rebuild failed: say so; the old generation goes on serving."""
        self.rebuilding.discard(name)
        self.rebuilds.fail(name, reason)
        self.notify(  # markup off: the reason quotes the store or the projection's code
            f"{reason} - the current generation goes on serving.",
            title=f"Rebuild of {name} failed",
            severity="error",
            markup=False,
        )
        self._schedule(0)

    # -- pause and resume --------------------------------------------------------------

    def action_toggle_pause(self) -> None:
        state = self.table.selected
        if state is None:
            self.notify("No projection selected yet.", severity="warning")
            return
        if self._toggling:
            return  # one at a time: the next press sees the status this one set
        self._toggling = True
        self.toggle_pause(state.name)

    @work(exclusive=True, group="projection-pause", exit_on_error=False)
    async def toggle_pause(self, name: str) -> None:
        engine = self.system.projections
        # the stored status, not the table's: "rebuilding" hides whether it is paused
        checkpoint = await self.console.io(engine.store.checkpoint(name))
        held = (ProjectionStatus.PAUSED, ProjectionStatus.STOPPED)
        paused = checkpoint is not None and checkpoint.status in held
        if paused:
            await self.console.io(engine.resume(name, user=self.console.user))
        else:
            await self.console.io(engine.pause(name, user=self.console.user))
        self.post_message(self.PauseToggled(name, paused=not paused))

    @on(PauseToggled)
    def _pause_toggled(self, message: PauseToggled) -> None:
        self._toggling = False
        if message.paused:
            text = f"Paused {message.name}: workers skip it until resumed (space); queries work."
        else:
            text = f"Resumed {message.name}: workers process it again."
        self.notify(text, title="Projections", markup=False)
        self._schedule(0)
