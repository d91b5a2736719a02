"""`?`: every key of the console, generated from the action registry."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ..actions import ActionRegistry


def help_table(registry: ActionRegistry, order: Sequence[str] = ()) -> RenderableType:
    """One section per scope (app, then `order`): key, name, what it does, if it writes."""
    sections: list[RenderableType] = []
    for scope in registry.scopes(order):
        if not registry.actions(scope):
            continue
        table = Table(
            title=registry.title(scope),
            title_justify="left",
            title_style="bold",
            show_header=False,
            box=None,
            padding=(0, 2, 0, 0),
            expand=True,
        )
        table.add_column("key", style="bold cyan", width=14, no_wrap=True)
        table.add_column("action", width=16, no_wrap=True)
        table.add_column("description", ratio=1)
        for item in registry.actions(scope):
            note = Text(" (write: refused in read-only)", style="yellow") if item.writes else ""
            table.add_row(item.key_display, item.label, Text.assemble(item.description, note))
        sections.append(table)
        sections.append(Text(""))
    sections.append(
        Text("ctrl+p opens the command palette: every screen and action, and jump to a stream.")
    )
    return Group(*sections)


class HelpScreen(ModalScreen[None]):
    """The key reference; Esc or ? closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "dismiss", "Close", key_display="esc")
    ]

    def __init__(self, registry: ActionRegistry, order: Sequence[str] = ()) -> None:
        super().__init__(classes="dialog-screen")
        self.registry = registry
        self.order = order

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog help-dialog"):
            yield Static("Keys", classes="dialog-title")
            with VerticalScroll():
                yield Static(help_table(self.registry, self.order), id="help-body")
            yield Static("esc closes", classes="caption")
