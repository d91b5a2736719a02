"""The console's screens, each one key away.

To add a screen: write its module with a
`ConsoleScreen` subclass that registers its actions under its own scope, then
add one `ScreenSpec` here. The app builds its modes, its go-to keys, the help
and the palette entries from this list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .aggregates import AggregatesScreen
from .base import ConsoleScreen
from .commands import CommandsScreen
from .dashboard import DashboardScreen
from .dead_letters import DeadLettersScreen
from .live_stream import LiveStreamScreen
from .projections import ProjectionsScreen
from .trace import TraceScreen


@dataclass(frozen=True)
class ScreenSpec:
    """A screen of the console: its mode name, its key and how to build it."""

    name: str
    key: str
    title: str
    description: str
    build: Callable[[], ConsoleScreen]


SCREENS: tuple[ScreenSpec, ...] = (
    ScreenSpec("dashboard", "d", "Dashboard", "Event rate, events by type, store", DashboardScreen),
    ScreenSpec(
        "live", "s", "Live stream", "Tail the store, filter, inspect events", LiveStreamScreen
    ),
    ScreenSpec(
        "aggregates",
        "a",
        "Aggregates",
        "Streams, timelines, state at any version or time",
        AggregatesScreen,
    ),
    ScreenSpec(
        "projections",
        "p",
        "Projections",
        "Status, lag, rebuild, pause and resume, read-model rows",
        ProjectionsScreen,
    ),
    ScreenSpec(
        "dead_letters",
        "l",
        "Dead letters",
        "Failed events: inspect, retry, skip, bulk actions",
        DeadLettersScreen,
    ),
    ScreenSpec("commands", "c", "Commands", "Issue commands from forms", CommandsScreen),
    ScreenSpec(
        "trace",
        "g",
        "Trace",
        "The correlation tree: command, events, saga commands, dead letters",
        TraceScreen,
    ),
)

__all__ = ["SCREENS", "ConsoleScreen", "ScreenSpec"]
