"""Projections: status, lag, rebuild, pause and resume, read-model rows."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import BindingType
from textual.widgets import Static

from ..actions import REGISTRY
from .base import ConsoleScreen

SCOPE = "projections"


class ProjectionsScreen(ConsoleScreen):
    """Scaffold: filled in by its own change."""

    SCOPE = SCOPE
    BINDINGS: ClassVar[list[BindingType]] = REGISTRY.register(SCOPE, "Projections")

    def compose_body(self) -> ComposeResult:
        yield Static("Projections: status, lag, rebuild, pause and resume, read-model rows")
