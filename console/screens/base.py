"""What every console screen shares: the header, the read-only banner, the footer,
the read-only gate for write actions and the reporting of failed workers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, ClassVar, cast

from textual.app import ComposeResult
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Header, Input, Static
from textual.worker import Worker, WorkerState

if TYPE_CHECKING:
    from ..app import EventdeckApp
    from ..bootstrap import System


class ReadOnlyBanner(Static):
    """The always-visible reminder that writes are refused."""

    DEFAULT_CSS = """
    ReadOnlyBanner { height: 1; width: 100%; background: $warning;
        color: $background; text-style: bold; content-align: center middle; }
    """

    def __init__(self) -> None:
        super().__init__("READ-ONLY - every write is refused (started with --read-only)")


class ConsoleScreen(Screen[None]):
    """Base of the console's screens; `SCOPE` names its actions in the registry."""

    SCOPE: ClassVar[str] = ""

    def __init__(self) -> None:
        super().__init__()
        self._debounced: dict[str, Timer] = {}
        #: Polling (`_schedule`): the next read's timer, and whether a read runs.
        self._timer: Timer | None = None
        self._reading = False

    @classmethod
    def early_read(cls, system: System) -> Awaitable[Any] | None:
        """The screen's first read, when the console opens on it: the app starts it as
        soon as the store is open and the screen takes it (`EventdeckApp.take_early_read`)
        for its first figures. None: the screen reads once it is mounted."""
        return None

    @property
    def console(self) -> EventdeckApp:
        return cast("EventdeckApp", self.app)

    @property
    def system(self) -> System:
        return self.console.system

    def compose(self) -> ComposeResult:
        yield Header()
        if self.console.read_only:
            yield ReadOnlyBanner()
        yield from self.compose_body()
        yield Footer()

    def compose_body(self) -> ComposeResult:
        """The screen's own widgets, between the header and the footer."""
        yield from ()

    def focus_main(self) -> None:
        """Give focus to the screen's main widget (after Esc in an input)."""
        self.focus_next()

    def leave_input(self) -> bool:
        """If an input has focus, move focus to the main widget; True if it did."""
        if isinstance(self.focused, Input):
            self.focus_main()
            return True
        return False

    def debounce(self, name: str, delay: float, callback: Callable[[], object]) -> None:
        """Run `callback` once `delay` seconds pass without another call for `name`
        (a key held down reads the store once, for where the cursor stops)."""
        timer = self._debounced.pop(name, None)
        if timer is not None:
            timer.stop()
        self._debounced[name] = self.set_timer(delay, callback)

    # -- polling: the next read is scheduled only once the previous one finished ----

    def _schedule(self, delay: float) -> None:
        """Start `start_read` in `delay` seconds (replacing any read scheduled)."""
        if self._timer is not None:
            self._timer.stop()
        # Textual's timers divide by their delay: "now" is the shortest positive one
        self._timer = self.set_timer(max(delay, 0.001), self._start_read)

    def _start_read(self) -> None:
        self._timer = None
        if self._reading or not self.is_active:
            return  # a read is running, or the screen is hidden: resume re-schedules
        self._reading = True
        self.start_read()

    def start_read(self) -> None:
        """Start the worker that reads the screen's data; it clears `_reading` when
        its result is shown (screens that poll override)."""
        self._reading = False

    async def action_write(self, action: str, what: str) -> None:
        """Run a write action unless the console is read-only (then say why)."""
        if self.console.refuse_write(what):
            return
        await self.run_action(action)

    def action_refresh(self) -> None:
        """Reload what the screen shows (screens override)."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            error = event.worker.error
            self.worker_failed(event.worker.group, error)

    def worker_failed(self, group: str, error: BaseException) -> None:
        """A worker raised: tell the operator (screens may also recover)."""
        self.notify(  # markup off: errors quote stored and typed text
            f"{type(error).__name__}: {error}",
            title=f"{group} failed",
            severity="error",
            markup=False,
        )
