"""Dead letters: inspect, retry, skip, bulk actions."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import BindingType
from textual.widgets import Static

from ..actions import REGISTRY
from .base import ConsoleScreen

SCOPE = "dead_letters"


class DeadLettersScreen(ConsoleScreen):
    """Scaffold: filled in by its own change."""

    SCOPE = SCOPE
    BINDINGS: ClassVar[list[BindingType]] = REGISTRY.register(SCOPE, "Dead letters")

    def compose_body(self) -> ComposeResult:
        yield Static("Dead letters: inspect, retry, skip, bulk actions")
