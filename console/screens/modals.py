"""Small modal dialogs: a confirmation and a one-line prompt."""

from __future__ import annotations

from typing import ClassVar

from rich.console import RenderableType
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from ..actions import REGISTRY, action

CONFIRM = "confirm"
PROMPT = "prompt"

_CONFIRM_BINDINGS = REGISTRY.register(
    CONFIRM,
    "Confirmation",
    [
        action(CONFIRM, "y", "confirm", "Yes", "Confirm: go ahead"),
        action(CONFIRM, "n,escape", "cancel", "No", "Cancel: change nothing"),
    ],
)
_PROMPT_BINDINGS = REGISTRY.register(
    PROMPT,
    "Prompt",
    [action(PROMPT, "escape", "cancel", "Cancel", "Close the prompt without an answer")],
)


def _plain(text: RenderableType) -> RenderableType:
    """A string shown as written, never read as markup: titles and hints quote names
    and typed text, and a `[/` in them would fail (Rich's `escape` misses it)."""
    return Content(text) if isinstance(text, str) else text


class ConfirmModal(ModalScreen[bool]):
    """Asks yes or no; dismisses with True only on an explicit yes. A string title or
    body is shown as written (no markup)."""

    BINDINGS: ClassVar[list[BindingType]] = _CONFIRM_BINDINGS

    def __init__(self, title: str, body: RenderableType, confirm_label: str = "Yes") -> None:
        super().__init__(classes="dialog-screen")
        self._title = title
        self._body = body
        self._confirm_label = confirm_label

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(_plain(self._title), classes="dialog-title")
            yield Static(_plain(self._body), classes="dialog-body")
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self._confirm_label} (y)", variant="primary", id="confirm-yes")
                yield Button("Cancel (n)", id="confirm-no")

    def on_mount(self) -> None:
        self.query_one("#confirm-yes", Button).focus()

    def action_confirm(self) -> None:
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)

    @on(Button.Pressed, "#confirm-yes")
    def _yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#confirm-no")
    def _no(self) -> None:
        self.dismiss(False)


class PromptModal(ModalScreen[str | None]):
    """Asks for one line of text; Enter answers, Esc cancels (None). The title and the
    hint are shown as written (no markup)."""

    BINDINGS: ClassVar[list[BindingType]] = _PROMPT_BINDINGS

    def __init__(self, title: str, hint: str, placeholder: str = "", value: str = "") -> None:
        super().__init__(classes="dialog-screen")
        self._title = title
        self._hint = hint
        self._placeholder = placeholder
        self._value = value

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(_plain(self._title), classes="dialog-title")
            yield Static(_plain(self._hint), classes="dialog-body")
            yield Input(value=self._value, placeholder=self._placeholder, id="prompt-input")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def _answer(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)
