"""The Textual console: screens one key away, help, palette, read-only mode.

`EventdeckApp` opens the system (from a URL, or a factory in tests and
screenshots) in a worker, then shows the dashboard. Each screen is a Textual
mode, so it keeps its state while another is shown; `Esc` goes back to the
previous one. Keys, help and palette come from the one action registry.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import traceback
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar

from rich.text import Text
from textual import events, on, work
from textual.app import App, ComposeResult
from textual.binding import BindingType
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.screen import ModalScreen
from textual.widgets import Header, Static

from core.clock import Clock, IdFactory
from core.errors import EventdeckError, ReadOnlyError
from core.gc_pause import paused_collector
from stores import redact_url
from stores.secrets import hide_secrets, remember_secrets

from .actions import APP_SCOPE, REGISTRY, ConsoleAction, action
from .bootstrap import System, open_system
from .screens import SCREENS, ConsoleScreen, load_screens
from .screens.palette import EventdeckCommands

if TYPE_CHECKING:
    from .cli import Settings

SystemFactory = Callable[[], Awaitable[System]]
T = TypeVar("T")
#: How long closing waits for store calls still running.
DRAIN_SECONDS = 5.0
#: How long closing waits for the background work to stop after being asked to.
BACKGROUND_STOP_SECONDS = 5.0
#: The cyclic collector comes back this long after the first screen shows its figures
#: (once they are painted), or this many times as long after the start at the latest.
STARTUP_GC_SECONDS = 0.5
STARTUP_GC_LIMIT = 20


class Background(Protocol):
    """Work run beside the console once the store is open (the demo's traffic and
    workers). It must return soon after `stop` is set, and tell the operator about
    problems through `report` rather than raise."""

    @property
    def label(self) -> str:
        """Shown in the header while it runs."""
        ...

    def __call__(
        self, system: System, stop: asyncio.Event, report: Callable[[str], None]
    ) -> Awaitable[None]: ...


class StoreCalls:
    """Runs store calls so that cancelling the caller never cuts a query short.

    Workers are cancelled freely (an exclusive worker replaced, a screen closed,
    the palette refining its search); a query cancelled halfway makes the
    driver throw its connection away, and a store closed under it can hang the
    shutdown. Each call therefore runs in its own task, shielded from the
    caller's cancellation; closing waits for the ones still running.
    """

    def __init__(self) -> None:
        self._running: set[asyncio.Task[Any]] = set()

    async def __call__(self, call: Awaitable[T]) -> T:
        task = asyncio.ensure_future(call)
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        return await asyncio.shield(task)

    async def drain(self, timeout: float = DRAIN_SECONDS) -> None:
        if self._running:
            await asyncio.wait(set(self._running), timeout=timeout)


_APP_BINDINGS = REGISTRY.register(
    APP_SCOPE,
    "Everywhere",
    [
        *(
            action(APP_SCOPE, spec.key, f"show_screen({spec.name!r})", spec.title, spec.description)
            for spec in SCREENS
        ),
        action(APP_SCOPE, "question_mark", "help", "Help", "Every key, on one screen"),
        action(APP_SCOPE, "escape", "back", "Back", "Back to the previous screen", footer=False),
        action(
            APP_SCOPE, "r", "refresh", "Refresh", "Read the screen's data again now", footer=False
        ),
        action(APP_SCOPE, "q", "quit", "Quit", "Leave eventdeck", footer=False),
    ],
)


class EventdeckApp(App[None]):
    """The operations console."""

    TITLE = "eventdeck"
    CSS_PATH = "app.tcss"
    COMMANDS = App.COMMANDS | {EventdeckCommands}
    MODES: ClassVar[dict[str, str | Callable[[], ConsoleScreen]]] = {  # type: ignore[assignment]
        spec.name: spec.build for spec in SCREENS
    }
    BINDINGS: ClassVar[list[BindingType]] = _APP_BINDINGS

    class SystemOpened(Message):
        def __init__(self, system: System) -> None:
            super().__init__()
            self.system = system

    class SystemFailed(Message):
        def __init__(self, error: str) -> None:
            super().__init__()
            self.error = error

    def __init__(
        self,
        source: str | SystemFactory,
        *,
        read_only: bool = False,
        user: str = "operator",
        clock: Clock | None = None,
        ids: IdFactory | None = None,
        poll_seconds: float = 0.5,
        first_screen: str = "dashboard",
        cursor_blink: bool = True,
        background: Background | None = None,
    ) -> None:
        super().__init__()
        #: False in snapshots and screenshots: a blinking cursor makes pictures differ.
        self.cursor_blink = cursor_blink
        if isinstance(source, str):
            url = source
            remember_secrets(url)

            async def factory() -> System:
                return await open_system(url, clock=clock, ids=ids, read_only=read_only)

            self._factory: SystemFactory = factory
            self.sub_title = redact_url(url)
        else:
            self._factory = source
        self.read_only = read_only
        self.user = user
        self.poll_seconds = poll_seconds
        self.first_screen = first_screen
        self.system_or_none: System | None = None
        #: Every store call of the screens goes through here (see StoreCalls).
        self.io = StoreCalls()
        self._history: list[str] = []
        self._background = background
        self._background_task: asyncio.Task[None] | None = None
        self._background_stop = asyncio.Event()
        #: The first screen's first read, started as soon as the store opened (see
        #: `ConsoleScreen.early_read`), until that screen takes it.
        self._early_reads: dict[str, asyncio.Future[Any]] = {}
        #: The collector's pause while the console starts (see `on_load`).
        self._startup_pause = contextlib.ExitStack()
        self._started = False

    @property
    def system(self) -> System:
        if self.system_or_none is None:
            raise RuntimeError("the store is not open yet")
        return self.system_or_none

    def compose(self) -> ComposeResult:
        # No footer: its keys do nothing until the store is open (q works anyway), and
        # laying out its keys costs the first screen tens of milliseconds.
        yield Header()
        yield Static("Opening the store…", id="opening")

    def on_load(self) -> None:
        # Starting builds ~100,000 objects that live as long as the console (widgets,
        # styles, compiled queries); the collector walks them again and again meanwhile
        # and frees next to nothing: about a tenth of the time to the first screen.
        # Reference counting goes on; the collector comes back once the first figures
        # are shown (`first_figures_shown`), the store failed to open, or at the latest
        # after STARTUP_GC_LIMIT * STARTUP_GC_SECONDS.
        self._startup_pause.enter_context(paused_collector())
        self.set_timer(STARTUP_GC_SECONDS * STARTUP_GC_LIMIT, self._end_startup_pause)

    def first_figures_shown(self) -> None:
        """The first screen shows what it read: the start is over (screens call this)."""
        if not self._started:
            self._started = True
            self.set_timer(STARTUP_GC_SECONDS, self._end_startup_pause)

    def _end_startup_pause(self) -> None:
        self._startup_pause.close()  # once: closing again does nothing

    def on_mount(self) -> None:
        self.open_store()

    @work(exclusive=True, group="open", exit_on_error=False)
    async def open_store(self) -> None:
        try:
            system = await self._factory()
        except EventdeckError as exc:
            self.post_message(self.SystemFailed(str(exc)))
            return
        except Exception as exc:  # noqa: BLE001 - said on screen, not a crash
            self.post_message(self.SystemFailed(f"unexpected {type(exc).__name__}: {exc}"))
            return
        self.post_message(self.SystemOpened(system))

    @on(SystemOpened)
    def _opened(self, message: SystemOpened) -> None:
        system = message.system
        system.read_only = system.read_only or self.read_only
        self.read_only = system.read_only
        self.system_or_none = system
        self.sub_title = redact_url(system.url) + ("  [READ-ONLY]" if self.read_only else "")
        self._start_background(system)
        self._start_early_read(system)
        self.switch_mode(self.first_screen)

    def _start_early_read(self, system: System) -> None:
        """Start the first screen's first read now: it runs while the screen is built,
        so a big store's figures are there about when the screen is."""
        spec = next((spec for spec in SCREENS if spec.name == self.first_screen), None)
        read = spec.screen_class().early_read(system) if spec is not None else None
        if read is not None:
            self._early_reads[self.first_screen] = asyncio.ensure_future(self.io(read))

    def take_early_read(self, scope: str) -> Awaitable[Any] | None:
        """The read `_start_early_read` started for the screen of `scope` (once)."""
        return self._early_reads.pop(scope, None)

    @on(SystemFailed)
    def _failed(self, message: SystemFailed) -> None:
        self._end_startup_pause()
        # Text, not markup: the error quotes the URL and the driver, as typed and as said
        self.query_one("#opening", Static).update(
            Text.assemble(
                ("Cannot open the store:", "bold red"),
                f" {hide_secrets(message.error)}\n\nPress q to quit.",
            )
        )

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every toast (errors quote drivers, which may quote the URL) without passwords."""
        options: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
        super().notify(
            hide_secrets(message),
            title=hide_secrets(title),
            severity=severity,
            markup=markup,
            **options,
        )

    def _fatal_error(self) -> None:
        # Textual prints a crash's traceback with every frame's locals, the --db URL
        # among them: print it as Python would (no locals), passwords hidden.
        self.bell()
        self._end_startup_pause()
        text = hide_secrets("".join(traceback.format_exception(*sys.exc_info())))
        self._exit_renderables.append(Text(text))
        self._close_messages_no_wait()

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        # focus events bubble up from every screen, the palette's and modals' too
        if not self.cursor_blink and hasattr(event.widget, "cursor_blink"):
            event.widget.cursor_blink = False

    async def on_unmount(self) -> None:
        self._end_startup_pause()
        await self._stop_background()
        await self.io.drain()
        if self.system_or_none is not None:
            await self.system_or_none.close()

    # -- background work (the demo) -------------------------------------------------

    def _start_background(self, system: System) -> None:
        if self._background is None:
            return
        if self.read_only:
            self.notify("Read-only: no demo traffic and no projection workers run.", title="Demo")
            return
        self.sub_title += f"  · {self._background.label}"
        self._background_task = asyncio.create_task(self._run_background(self._background, system))

    async def _run_background(self, background: Background, system: System) -> None:
        def report(message: str) -> None:
            self.notify(message, title=background.label, severity="warning", markup=False)

        try:
            await background(system, self._background_stop, report)
        except Exception as exc:  # noqa: BLE001 - the console carries on without it
            self.notify(
                f"{type(exc).__name__}: {exc}",
                title="background stopped",
                severity="error",
                markup=False,
            )

    async def _stop_background(self) -> None:
        """Ask the background work to stop and wait for it (cancelled if it overstays)."""
        task = self._background_task
        if task is None:
            return
        self._background_stop.set()
        done, _ = await asyncio.wait({task}, timeout=BACKGROUND_STOP_SECONDS)
        if not done:
            task.cancel()
            await asyncio.wait({task}, timeout=1.0)

    # -- navigation -----------------------------------------------------------------

    @property
    def ready(self) -> bool:
        return self.system_or_none is not None

    def palette_scopes(self) -> set[str]:
        load_screens()  # the palette offers the actions of screens not opened yet too
        return {APP_SCOPE, *(spec.name for spec in SCREENS)}

    async def action_show_screen(self, name: str) -> None:
        if not self.ready or isinstance(self.screen, ModalScreen):
            return
        if self.current_mode == name:
            return
        if self.current_mode in self.MODES:
            self._history.append(self.current_mode)
            del self._history[:-20]
        await self.switch_mode(name)

    async def action_back(self) -> None:
        screen = self.screen
        if isinstance(screen, ConsoleScreen) and screen.leave_input():
            return
        if isinstance(screen, ModalScreen) or not self._history:
            return
        await self.switch_mode(self._history.pop())

    def action_help(self) -> None:
        if not isinstance(self.screen, ModalScreen):
            from .screens.help import HelpScreen

            load_screens()  # every screen's keys, the ones not opened yet too
            self.push_screen(HelpScreen(REGISTRY, [spec.name for spec in SCREENS]))

    async def action_refresh(self) -> None:
        await self.screen.run_action("refresh")

    def open_stream(self, stream_id: str, version: int | None = None) -> None:
        """Show a stream in the aggregates screen (from the stream, a result, the palette)."""
        self.run_worker(self._open_stream(stream_id, version), group="navigate")

    async def _open_stream(self, stream_id: str, version: int | None) -> None:
        from .screens.aggregates import AggregatesScreen

        await self.action_show_screen("aggregates")
        screen = self.screen
        if isinstance(screen, AggregatesScreen):
            screen.open_stream(stream_id, version)

    def open_trace(self, correlation_id: str, event_id: str | None = None) -> None:
        """Show a correlation's trace (from an event, a stream's version, the palette),
        the cursor on `event_id` if given; an event id or `stream@version` is taken to
        the correlation it belongs to."""
        self.run_worker(self._open_trace(correlation_id, event_id), group="navigate")

    async def _open_trace(self, reference: str, event_id: str | None) -> None:
        from .screens.trace import TraceScreen

        await self.action_show_screen("trace")
        screen = self.screen
        if isinstance(screen, TraceScreen):
            screen.open_trace(reference, event_id)

    async def run_registered(self, item: ConsoleAction) -> None:
        """Run a registry action from the palette, on its own screen."""
        if item.scope == APP_SCOPE:
            await self.run_action(item.run)
            return
        await self.action_show_screen(item.scope)
        await self.screen.run_action(item.run)

    def refuse_write(self, what: str) -> bool:
        """True (and the reason shown) when writes are refused."""
        try:
            self.system.require_writable(what)
        except ReadOnlyError as exc:
            self.notify(str(exc), title="Read-only", severity="error")
            return True
        return False


def run_console(settings: Settings) -> None:
    """Open the console on the store named by the global options."""
    EventdeckApp(settings.db, read_only=settings.read_only, user=settings.user).run()
