"""The correlation trace: command, events, saga commands, dead letters."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import BindingType
from textual.widgets import Static

from ..actions import REGISTRY
from .base import ConsoleScreen

SCOPE = "trace"


class TraceScreen(ConsoleScreen):
    """Scaffold: filled in by its own change."""

    SCOPE = SCOPE
    BINDINGS: ClassVar[list[BindingType]] = REGISTRY.register(SCOPE, "Trace")

    def compose_body(self) -> ComposeResult:
        yield Static("The correlation trace: command, events, saga commands, dead letters")
