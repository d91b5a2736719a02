"""The dashboard: event rate, events by type, the head, streams and the store, each
projection's lag, the open dead letters and the fulfilment saga's outcomes."""

from __future__ import annotations

import time
from collections.abc import Awaitable
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Sparkline, Static

from stores import redact_url

from ..actions import REGISTRY
from ..widgets.formatting import event_cells, event_columns, short_time
from ..widgets.virtual_table import Row, VirtualTable
from .base import ConsoleScreen
from .dashboard_stats import (
    DashboardStats,
    SagaOutcomes,
    count_saga_outcomes,
    human_bytes,
    human_duration,
    human_rate,
    read_stats,
)

if TYPE_CHECKING:
    from ..bootstrap import System

SCOPE = "dashboard"
#: Seconds between two reads (the next is scheduled when the last one is shown).
REFRESH_SECONDS = 1.0
#: The next read waits at least this many times as long as the last one took (the first
#: read is not a measure: it runs while everything else starts too).
BUSY_SHARE = 3.0
LATEST_ROWS = 17
#: How a projection's status reads in the lag table.
STATUS_STYLES = {"running": "green", "paused": "yellow", "rebuilding": "cyan", "stopped": "red"}


class DashboardScreen(ConsoleScreen):
    """Where the store stands: how busy it is, what happens, how big it is."""

    SCOPE = SCOPE
    BINDINGS: ClassVar[list[BindingType]] = REGISTRY.register(SCOPE, "Dashboard")

    class StatsRead(Message):
        """The worker read a fresh set of figures."""

        def __init__(self, stats: DashboardStats) -> None:
            super().__init__()
            self.stats = stats

    class SagaCounted(Message):
        """The worker counted the saga's outcomes (after the figures: the first count
        on a big store takes a while, and the rest of the screen need not wait)."""

        def __init__(self, saga: SagaOutcomes, seconds: float) -> None:
            super().__init__()
            self.saga = saga
            #: How long the whole read took.
            self.seconds = seconds

    def __init__(self) -> None:
        super().__init__()
        #: The saga's outcomes so far: each read counts only the events after them.
        self._saga = SagaOutcomes()
        self._reads = 0

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="dash-cards"):
            yield Static("Events\n…", id="card-events", classes="card")
            yield Static("Streams\n…", id="card-streams", classes="card")
            yield Static("Last event\n…", id="card-last", classes="card")
            yield Static("Store\n…", id="card-store", classes="card")
            yield Static("Dead letters\n…", id="card-dead", classes="card")
        with Horizontal(id="dash-middle"):
            with Vertical(id="dash-rate", classes="panel"):
                yield Static("Event rate", id="rate-title", classes="panel-title")
                yield Sparkline([], id="rate")
                yield Static("", id="rate-caption", classes="caption")
            with Vertical(id="dash-projections", classes="panel"):
                yield Static("Projections - lag behind the head", classes="panel-title")
                yield Static("", id="lag")
                yield Static("Saga: counting…", id="saga")
        with Horizontal(id="dash-bottom"):
            with Vertical(id="dash-types", classes="panel"):
                yield Static("Events by type", id="types-title", classes="panel-title")
                yield Static("", id="types")
            with Vertical(id="dash-latest", classes="panel"):
                yield Static("Latest events", classes="panel-title")
                yield VirtualTable(event_columns(compact=True), id="latest")

    @classmethod
    def early_read(cls, system: System) -> Awaitable[Any]:
        # on a big store the figures then come about when the screen is built
        return read_stats(system)

    def on_mount(self) -> None:
        self.query_one("#card-store", Static).update(self._store_card(None))
        self._start_read()

    def on_screen_resume(self) -> None:
        self._schedule(0)

    def action_refresh(self) -> None:
        self._schedule(0)

    def focus_main(self) -> None:
        self.query_one("#latest", VirtualTable).focus()

    # -- polling: the next read is scheduled only once the previous one finished ----

    def start_read(self) -> None:
        self.read_figures()

    @work(exclusive=True, group="dashboard", exit_on_error=False)
    async def read_figures(self) -> None:
        system = self.system
        started = time.monotonic()
        early = self.console.take_early_read(SCOPE)
        stats: DashboardStats = await (early or self.console.io(read_stats(system)))
        self.post_message(self.StatsRead(stats))
        saga = await self.console.io(count_saga_outcomes(system.store, self._saga, stats.head))
        self.post_message(self.SagaCounted(saga, time.monotonic() - started))

    def worker_failed(self, group: str, error: BaseException) -> None:
        super().worker_failed(group, error)
        self._reading = False
        self._schedule(REFRESH_SECONDS * 5)

    @on(StatsRead)
    def show_stats(self, message: StatsRead) -> None:
        stats = message.stats
        self.query_one("#card-events", Static).update(
            Text.assemble(("Events\n", "bold"), (f"{stats.head:,}", "bold cyan"), " stored")
        )
        total = sum(stats.streams_by_type.values())
        kinds = "  ".join(f"{kind} {count:,}" for kind, count in stats.streams_by_type.items())
        self.query_one("#card-streams", Static).update(
            Text.assemble(("Streams\n", "bold"), (f"{total:,}", "bold cyan"), f"\n{kinds}")
        )
        self.query_one("#card-last", Static).update(self._last_card(stats))
        self.query_one("#card-store", Static).update(self._store_card(stats.store_bytes))
        self.query_one("#card-dead", Static).update(self._dead_card(stats))
        self._show_rate(stats)
        self._show_lag(stats)
        self._show_types(stats)
        latest = stats.tail[-LATEST_ROWS:]
        table = self.query_one("#latest", VirtualTable)
        table.set_rows(Row(event.position, event_cells(event, compact=True)) for event in latest)
        self.console.first_figures_shown()

    @on(SagaCounted)
    def show_saga(self, message: SagaCounted) -> None:
        self._reading = False
        saga = self._saga = message.saga
        outcomes = Text.assemble(
            ("Saga: ", "bold"),
            (f"{saga.approved:,}", "bold green"),
            " approved, ",
            (f"{saga.cancelled:,}", "bold red" if saga.cancelled else "bold"),
            " cancelled (payment failed)",
        )
        outcomes.no_wrap, outcomes.overflow = True, "ellipsis"
        self.query_one("#saga", Static).update(outcomes)
        # a big store's reads cost more: read it less often, at most a third of the time
        self._reads += 1
        busy = BUSY_SHARE * message.seconds if self._reads > 1 else 0.0
        self._schedule(max(REFRESH_SECONDS, busy))

    def _last_card(self, stats: DashboardStats) -> Text:
        if not stats.tail:
            return Text.assemble(("Last event\n", "bold"), "none yet")
        last = stats.tail[-1]
        ago = human_duration(max(stats.now - last.recorded_at, timedelta(0)))
        return Text.assemble(("Last event\n", "bold"), short_time(last.recorded_at), f"\n{ago} ago")

    def _store_card(self, size: int | None) -> Text:
        where = redact_url(self.system.url)
        extra = f"  {human_bytes(size)}" if size is not None else ""
        return Text.assemble(("Store\n", "bold"), where, f"\n{extra.strip()}" if extra else "")

    def _dead_card(self, stats: DashboardStats) -> Text:
        open_letters = stats.dead_letters
        if not open_letters:
            return Text.assemble(("Dead letters\n", "bold"), ("0", "bold green"), " open")
        where = sum(1 for state in stats.projections if state.dead_letters)
        return Text.assemble(
            ("Dead letters\n", "bold"),
            (f"{open_letters:,}", "bold red"),
            " open",
            f"\nin {where} projection{'s' if where != 1 else ''}",
        )

    def _show_lag(self, stats: DashboardStats) -> None:
        table = Table(
            box=None, padding=(0, 2, 0, 0), pad_edge=False, expand=True, header_style="bold"
        )
        table.add_column("projection", ratio=1, min_width=18, no_wrap=True)
        table.add_column("status", no_wrap=True)
        table.add_column("events", justify="right", no_wrap=True)
        table.add_column("time", justify="right", no_wrap=True)
        table.add_column("dead letters", justify="right", no_wrap=True)
        for state in stats.projections:
            lag_style = "yellow" if state.lag_events else "dim"
            table.add_row(
                Text.assemble(state.name, (" saga", "dim") if state.kind == "saga" else ""),
                Text(state.status, STATUS_STYLES.get(state.status, "")),
                Text(f"{state.lag_events:,}", lag_style),
                Text(human_duration(timedelta(seconds=state.lag_seconds)), lag_style),
                Text(f"{state.dead_letters:,}", "red" if state.dead_letters else "dim"),
            )
        self.query_one("#lag", Static).update(table)

    def _show_rate(self, stats: DashboardStats) -> None:
        rate = stats.rate
        assert rate is not None
        self.query_one("#rate", Sparkline).data = [float(count) for count in rate.counts]
        self.query_one("#rate-title", Static).update(
            f"Event rate - last {rate.events:,} events over {human_duration(rate.span)}"
        )
        self.query_one("#rate-caption", Static).update(
            f"1 bar = {human_duration(rate.bar)}   average {human_rate(rate.per_minute)}"
            f"   newest bar {rate.counts[-1]:,} events   peak bar {max(rate.counts):,}"
        )

    def _show_types(self, stats: DashboardStats) -> None:
        self.query_one("#types-title", Static).update(
            f"Events by type - last {len(stats.tail):,} events"
        )
        table = Table.grid(padding=(0, 1), expand=True)
        table.add_column("type")
        table.add_column("count", justify="right")
        table.add_column("share", justify="right")
        table.add_column("bar", ratio=1, no_wrap=True)
        total = max(len(stats.tail), 1)
        widest = max((count for _, count in stats.by_type), default=1)
        for kind, count in stats.by_type:
            bar = ShareBar(count / widest, "green")
            table.add_row(kind, f"{count:,}", f"{100 * count / total:.0f}%", bar)
        self.query_one("#types", Static).update(table)


class ShareBar:
    """A bar as long as `fraction` of the width it is given (at least one cell)."""

    def __init__(self, fraction: float, style: str) -> None:
        self.fraction = fraction
        self.style = style

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        cells = max(1, round(self.fraction * options.max_width))
        yield Text("█" * min(cells, options.max_width), self.style, no_wrap=True)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement(1, options.max_width)
