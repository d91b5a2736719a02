"""The console's screens, each one key away.

To add a screen: write its module with a
`ConsoleScreen` subclass that registers its actions under its own scope, then
add one `ScreenSpec` here. The app builds its modes, its go-to keys, the help
and the palette entries from this list.

A screen's module is imported when the screen is first shown (or when the help or
the palette needs every action: `load_screens`), so the console's first screen
waits only for the modules it shows.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from ..actions import REGISTRY
from .base import ConsoleScreen


@dataclass(frozen=True)
class ScreenSpec:
    """A screen of the console: its mode name, its key and where its class lives."""

    name: str
    key: str
    title: str
    description: str
    #: The module (in this package) and the `ConsoleScreen` subclass in it.
    module: str
    class_name: str

    def screen_class(self) -> type[ConsoleScreen]:
        """The screen's class (its module imported now if it was not yet)."""
        found: type[ConsoleScreen] = getattr(
            importlib.import_module(f"{__name__}.{self.module}"), self.class_name
        )
        return found

    def build(self) -> ConsoleScreen:
        return self.screen_class()()


SCREENS: tuple[ScreenSpec, ...] = (
    ScreenSpec(
        "dashboard",
        "d",
        "Dashboard",
        "Event rate, events by type, store",
        "dashboard",
        "DashboardScreen",
    ),
    ScreenSpec(
        "live",
        "s",
        "Live stream",
        "Tail the store, filter, inspect events",
        "live_stream",
        "LiveStreamScreen",
    ),
    ScreenSpec(
        "aggregates",
        "a",
        "Aggregates",
        "Streams, timelines, state at any version or time",
        "aggregates",
        "AggregatesScreen",
    ),
    ScreenSpec(
        "projections",
        "p",
        "Projections",
        "Status, lag, rebuild, pause and resume, read-model rows",
        "projections",
        "ProjectionsScreen",
    ),
    ScreenSpec(
        "dead_letters",
        "l",
        "Dead letters",
        "Failed events: inspect, retry, skip, bulk actions",
        "dead_letters",
        "DeadLettersScreen",
    ),
    ScreenSpec(
        "commands", "c", "Commands", "Issue commands from forms", "commands", "CommandsScreen"
    ),
    ScreenSpec(
        "trace",
        "g",
        "Trace",
        "The correlation tree: command, events, saga commands, dead letters",
        "trace",
        "TraceScreen",
    ),
)

# The palette lists scopes in the order they were first registered. Screens register
# theirs when imported, and which is imported first now depends on what the operator
# opens: declare them here, in one fixed order (their modules' names), beforehand.
for _spec in sorted(SCREENS, key=lambda spec: spec.module):
    REGISTRY.register(_spec.name, _spec.title)


def load_screens() -> None:
    """Import every screen's module, so the registry holds every action."""
    for spec in sorted(SCREENS, key=lambda spec: spec.module):
        spec.screen_class()


__all__ = ["SCREENS", "ConsoleScreen", "ScreenSpec", "load_screens"]
