"""The one registry of console actions: it feeds the key bindings, the help screen
and the command palette, so the three never disagree.

Each screen module registers its actions under its scope (the screen's name) and
takes its `BINDINGS` from `REGISTRY.bindings(scope)`; the app does the same for
the `app` scope. A write action is bound through the screen's `write` action,
which refuses it in read-only mode before it runs (see `screens.base`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from textual.binding import Binding, BindingType

APP_SCOPE = "app"

#: How a few Textual key names read to a person.
_KEY_NAMES = {
    "question_mark": "?",
    "left_square_bracket": "[",
    "right_square_bracket": "]",
    "slash": "/",
    "escape": "esc",
    "enter": "enter",
}


@dataclass(frozen=True)
class ConsoleAction:
    """One thing an operator can do: its key, what it runs and how it is described."""

    scope: str
    key: str
    action: str
    label: str
    description: str
    #: What the action writes, for the read-only refusal ("issue a command"); empty if none.
    writes: str = ""
    footer: bool = True
    priority: bool = False

    @property
    def key_display(self) -> str:
        """The key as printed in the footer and the help screen (`?`, `[`, `ctrl+s`)."""
        return ",".join(_KEY_NAMES.get(key, key) for key in self.key.split(","))

    @property
    def run(self) -> str:
        """The action string to run; writes go through the read-only gate first."""
        if not self.writes:
            return self.action
        return f"write({self.action!r}, {self.writes!r})"

    def binding(self) -> Binding:
        return Binding(
            self.key,
            self.run,
            self.label,
            show=self.footer,
            key_display=self.key_display,
            priority=self.priority,
            tooltip=self.description,
        )


class ActionRegistry:
    """Every action of the console, by scope, in the order they were registered."""

    def __init__(self) -> None:
        self._actions: dict[str, list[ConsoleAction]] = {}
        self._titles: dict[str, str] = {}

    def register(
        self, scope: str, title: str, actions: list[ConsoleAction] | None = None
    ) -> list[BindingType]:
        """Declare a scope (a screen, or `app`) and its actions; returns its bindings."""
        self._titles[scope] = title
        known = self._actions.setdefault(scope, [])
        for action in actions or []:
            if action.scope != scope:
                raise ValueError(f"action {action.action!r} belongs to {action.scope!r}")
            if any(set(action.key.split(",")) & set(other.key.split(",")) for other in known):
                raise ValueError(f"key {action.key!r} is bound twice in {scope!r}")
            known.append(action)
        return self.bindings(scope)

    def add(self, action: ConsoleAction) -> None:
        """Add one action to an already declared scope (e.g. a screen added later)."""
        self.register(action.scope, self._titles.get(action.scope, action.scope), [action])

    def bindings(self, scope: str) -> list[BindingType]:
        return [action.binding() for action in self._actions.get(scope, [])]

    def actions(self, scope: str) -> list[ConsoleAction]:
        return list(self._actions.get(scope, []))

    def scopes(self, first: Sequence[str] = ()) -> list[str]:
        """App first, then the scopes named in `first`, then the rest as registered."""
        order = [APP_SCOPE, *first]
        head = [scope for scope in order if scope in self._actions]
        return head + [scope for scope in self._actions if scope not in head]

    def title(self, scope: str) -> str:
        return self._titles.get(scope, scope)

    def all(self) -> list[ConsoleAction]:
        return [item for scope in self.scopes() for item in self._actions[scope]]


#: The console's registry; screen modules add their scopes when imported.
REGISTRY = ActionRegistry()


def action(
    scope: str,
    key: str,
    run: str,
    label: str,
    description: str,
    *,
    writes: str = "",
    footer: bool = True,
    priority: bool = False,
) -> ConsoleAction:
    """Shorthand for a `ConsoleAction`."""
    return ConsoleAction(scope, key, run, label, description, writes, footer, priority)
