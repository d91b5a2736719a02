"""The projections status table: one row per projection or saga, with its lag."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from rich.text import Text

from core.projection_monitor import ProjectionState

from ..output import seconds_text, short_time
from .virtual_table import Cell, Column, Row, VirtualTable

_STATUS_STYLES = {
    "running": "green",
    "paused": "bold yellow",
    "rebuilding": "bold magenta",
    "stopped": "red",
}


def status_text(state: ProjectionState) -> Text:
    """The status, coloured; `!` marks a read model built by another version."""
    text = Text(state.status, style=_STATUS_STYLES.get(state.status, ""))
    if state.needs_rebuild:
        text.append(" !", style="bold yellow")
    return text


def rate_text(state: ProjectionState) -> str:
    """Positions per second its worker measured lately; `-` when none did."""
    return f"{state.events_per_second:,.0f}/s" if state.events_per_second else "-"


def eta_text(state: ProjectionState) -> str:
    """Time to catch up at that rate; `-` when caught up or the rate is unknown."""
    return seconds_text(state.eta_seconds) if state.lag_events else "-"


def state_cells(state: ProjectionState) -> tuple[Cell, ...]:
    lag = Text(f"{state.lag_events:,}", style="bold yellow" if state.lag_events else "")
    dead = Text(f"{state.dead_letters:,}", style="bold red" if state.dead_letters else "")
    return (
        state.name,
        state.kind,
        status_text(state),
        f"{state.checkpoint:,}",
        f"{state.head:,}",
        lag,
        seconds_text(state.lag_seconds),
        rate_text(state),
        eta_text(state),
        dead,
    )


def describe_state(state: ProjectionState, now: datetime) -> Text:
    """Three lines about one projection: what it is, its checkpoint, what to know."""
    text = Text()
    text.append(state.name, style="bold")
    text.append(f" ({state.kind})")
    if state.description:
        text.append(f" - {state.description}")
    facts = [f"generation {state.generation}", f"owner {state.owner or '-'}"]
    if state.last_event_at is not None:
        facts.append(f"last event {short_time(state.last_event_at)}")
    if state.updated_at is not None:
        ago = max((now - state.updated_at).total_seconds(), 0.0)
        facts.append(f"checkpoint saved {seconds_text(ago)} ago")
    text.append("\n" + "  ·  ".join(facts) + "\n")
    rebuild = state.rebuild
    if rebuild is not None and rebuild.alive:
        text.append(
            f"rebuilding generation {rebuild.generation}: at position {rebuild.position:,}"
            f" of {state.head:,} (owner {rebuild.owner or '-'})  ",
            style="magenta",
        )
    elif rebuild is not None:
        text.append(
            f"a rebuild of generation {rebuild.generation} died at position "
            f"{rebuild.position:,}; the next rebuild starts clean  ",
            style="yellow",
        )
    if state.needs_rebuild:
        text.append("! built by another version of the projection: rebuild it (b)", style="yellow")
    if state.kind == "saga":
        text.append("sagas are never rebuilt: replaying one would send its commands again")
    return text


class ProjectionTable(VirtualTable):
    """Every projection and saga with checkpoint, head, lag, rate, ETA and dead letters."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(
            [
                Column("name", 0),
                Column("kind", 10),
                Column("status", 12),
                Column("checkpoint", 10, "right"),
                Column("head", 8, "right"),
                Column("lag", 7, "right"),
                Column("lag time", 8, "right"),
                Column("rate", 9, "right"),
                Column("eta", 7, "right"),
                Column("dead letters", 12, "right"),
            ],
            id=id,
        )
        self.states: dict[str, ProjectionState] = {}

    def show(self, states: Sequence[ProjectionState]) -> None:
        """Replace the rows, keeping the cursor on the same projection (else the first)."""
        self.states = {state.name: state for state in states}
        keep = self.cursor_key if self.cursor_key in self.states else None
        first = states[0].name if states else None
        self.set_rows(
            (Row(state.name, state_cells(state)) for state in states),
            cursor_key=keep if keep is not None else first,
        )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Enter falls through to the screen's "Rows" action (listed in the footer and help)
        return action != "select"

    @property
    def selected(self) -> ProjectionState | None:
        """The state of the projection under the cursor."""
        key = self.cursor_key
        return self.states.get(key) if isinstance(key, str) else None
