"""A form built from a pydantic command model, validated as the operator types.

`form_fields` reads the model: one field per scalar, a multi-line field for a
list (one item per line, e.g. `SKU:QTY:PRICE`), a choice for an enum, and the
fields of a nested optional model (an address) as a group filled all or not at
all. `collect` turns what was typed into the data the model validates, so the
form checks exactly what `make_command` (and the command line) would.
"""

from __future__ import annotations

import inspect
import types
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticUndefined
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Input, Label, Select, Static, TextArea

from core.commands import Command, make_command

Kind = Literal["text", "lines", "choice", "money", "time"]
#: How item fields are named in the `SKU:QTY:PRICE` line form of the command line.
_SHORT = {"product_id": "SKU", "quantity": "QTY", "price": "PRICE"}


@dataclass(frozen=True)
class FieldSpec:
    """One input of a command form."""

    name: str
    kind: Kind
    required: bool
    hint: str
    choices: tuple[str, ...] = ()
    default: str = ""

    @property
    def widget_id(self) -> str:
        return "field-" + self.name.replace(".", "--").replace("_", "-")


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """The annotation without Annotated and Optional; True if None was allowed."""
    optional = False
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            args = [arg for arg in get_args(annotation) if arg is not type(None)]
            optional = optional or len(args) < len(get_args(annotation))
            annotation = args[0] if len(args) == 1 else str
        else:
            return annotation, optional


def _item_hint(item: Any) -> str:
    item, _ = _unwrap(item)
    if inspect.isclass(item) and issubclass(item, BaseModel):
        shape = ":".join(_SHORT.get(name, name.upper()) for name in item.model_fields)
        return f"one per line, {shape}"
    return "one per line"


def form_fields(model: type[BaseModel], prefix: str = "") -> list[FieldSpec]:
    """The inputs for `model`'s fields, in declaration order."""
    specs: list[FieldSpec] = []
    for name, info in model.model_fields.items():
        base, _ = _unwrap(info.annotation)
        required = info.is_required() and not prefix
        default = info.default if info.default not in (None, PydanticUndefined) else ""
        default_text = default.value if isinstance(default, Enum) else str(default)
        full = prefix + name
        if get_origin(base) is list:
            item = get_args(base)[0] if get_args(base) else str
            specs.append(FieldSpec(full, "lines", required, _item_hint(item)))
        elif inspect.isclass(base) and issubclass(base, Enum):
            choices = tuple(str(member.value) for member in base)
            hint = f"one of {', '.join(choices)}"
            specs.append(FieldSpec(full, "choice", required, hint, choices, default_text))
        elif inspect.isclass(base) and issubclass(base, BaseModel):
            specs.extend(form_fields(base, prefix=f"{full}."))
        elif base is Decimal:
            specs.append(
                FieldSpec(full, "money", required, "decimal, e.g. 12.50", (), default_text)
            )
        elif base is datetime:
            specs.append(FieldSpec(full, "time", required, "ISO time, e.g. 2026-12-01T09:00Z"))
        else:
            hint = f"default {default_text}" if default_text else ""
            specs.append(FieldSpec(full, "text", required, hint, (), default_text))
    return specs


def collect(specs: list[FieldSpec], raw: dict[str, str]) -> dict[str, Any]:
    """What was typed, as model data: blanks left out, lines split, groups nested."""
    data: dict[str, Any] = {}
    for spec in specs:
        text = raw.get(spec.name, "")
        if spec.kind == "lines":
            lines = [line.strip() for line in text.splitlines() if line.strip()]
            if lines or spec.required:
                data[spec.name] = lines
            continue
        value = text.strip()
        if not value:
            continue
        group, _, member = spec.name.partition(".")
        if member:
            data.setdefault(group, {})[member] = value
        else:
            data[spec.name] = value
    return data


def field_errors(model: type[BaseModel], data: dict[str, Any]) -> dict[str, str]:
    """The first problem per field (`""` for the command as a whole)."""
    try:
        model.model_validate(data)
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for error in exc.errors():
            loc = [str(part) for part in error["loc"]]
            message = str(error["msg"]).removeprefix("Value error, ")
            if message == "Field required":
                message = "required"
            if len(loc) > 1 and loc[1].isdigit():
                message = f"line {int(loc[1]) + 1}: {message}"
                loc = loc[:1]
            key = ".".join(loc[:2])
            errors.setdefault(key, message)
        return errors
    return {}


class CommandForm(VerticalScroll, can_focus=False):
    """Inputs for one command; errors appear under a field once it was touched."""

    class Validated(Message):
        """The form was checked; `errors` is empty when the command is valid."""

        def __init__(self, form: CommandForm, errors: dict[str, str]) -> None:
            super().__init__()
            self.form = form
            self.errors = errors

    def __init__(self, command: type[Command], *, id: str | None = None) -> None:
        super().__init__(id=id, classes="command-form")
        self.command = command
        self.specs = form_fields(command)
        self._touched: set[str] = set()
        self.errors: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        for spec in self.specs:
            mark = " *" if spec.required else ""
            yield Label(f"[b]{spec.name}[/]{mark}  [dim]{spec.hint}[/]", classes="field-label")
            if spec.kind == "lines":
                yield TextArea(id=spec.widget_id, classes="field-lines", show_line_numbers=False)
            elif spec.kind == "choice":
                yield Select(
                    [(choice, choice) for choice in spec.choices],
                    prompt=f"(default {spec.default})" if spec.default else "(none)",
                    id=spec.widget_id,
                    compact=True,
                )
            else:
                yield Input(placeholder=spec.hint, id=spec.widget_id, compact=True)
            yield Static("", classes="field-error", id=f"{spec.widget_id}-error")
        yield Static("", classes="field-error", id="form-error")

    def raw(self) -> dict[str, str]:
        """What is typed in each field, by field name."""
        values: dict[str, str] = {}
        for spec in self.specs:
            widget = self.query_one(f"#{spec.widget_id}")
            if isinstance(widget, TextArea):
                values[spec.name] = widget.text
            elif isinstance(widget, Select):
                values[spec.name] = widget.value if isinstance(widget.value, str) else ""
            elif isinstance(widget, Input):
                values[spec.name] = widget.value
        return values

    def fill(self, values: dict[str, str]) -> None:
        """Type values into fields (tests, prefilled ids)."""
        for spec in self.specs:
            if spec.name not in values:
                continue
            widget = self.query_one(f"#{spec.widget_id}")
            if isinstance(widget, TextArea):
                widget.text = values[spec.name]
            elif isinstance(widget, (Input, Select)):
                widget.value = values[spec.name]
            self._touched.add(spec.name)

    def focus_first(self) -> None:
        """Put the cursor in the first field."""
        if self.specs:
            self.query_one(f"#{self.specs[0].widget_id}").focus()

    def data(self) -> dict[str, Any]:
        return collect(self.specs, self.raw())

    def build(self) -> Command:
        """The validated command; raises InvalidInput with the one-line message."""
        return make_command(self.command, self.data())

    def validate_all(self) -> dict[str, str]:
        """Check every field and show every error (before issuing)."""
        self._touched.update(spec.name for spec in self.specs)
        return self._check()

    def _check(self) -> dict[str, str]:
        self.errors = field_errors(self.command, self.data())
        for spec in self.specs:
            error = self.errors.get(spec.name, "") if spec.name in self._touched else ""
            line = self.query_one(f"#{spec.widget_id}-error", Static)
            # Text, not markup: an error quotes what was typed ("[/]" would crash Rich)
            line.update(Text(error, style="bold red"))
            line.display = bool(error)
        overall = self.errors.get("", "")
        self.query_one("#form-error", Static).update(Text(overall, style="bold red"))
        self.post_message(self.Validated(self, self.errors))
        return self.errors

    def on_mount(self) -> None:
        for line in self.query(".field-error"):
            line.display = False

    @on(Input.Changed)
    @on(TextArea.Changed)
    @on(Select.Changed)
    def _changed(self, event: Input.Changed | TextArea.Changed | Select.Changed) -> None:
        widget_id = event.control.id if event.control is not None else None
        for spec in self.specs:
            if spec.widget_id == widget_id:
                self._touched.add(spec.name)
        self._check()
