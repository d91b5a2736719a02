"""The demo domain's commands: validated pydantic models, one per `eventdeck cmd` name.

Validation gives one clear message per problem (`make_command` joins them into
one line). Money is parsed from decimal strings: finite, above zero, at most two
decimal places; it is never a float.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BeforeValidator, Field, field_validator

from ..clock import ensure_utc
from ..commands import Command
from ..errors import InvalidInput
from ..operator_streams import is_operator_stream, reserved_stream_refusal
from .inventory import ReservedItem, inventory_stream_id
from .order_events import Address, CancellationType, OrderItem
from .payment import payment_stream_id

ITEM_FORM = "write items as SKU:QTY:PRICE, e.g. WIDGET-1:2:9.99"
#: Upper bound on one amount or price: keeps Decimal arithmetic exact.
MAX_AMOUNT = Decimal("1000000000.00")
MAX_QUANTITY = 100_000
CENTS = Decimal("0.01")
_SKU = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")
_ID = re.compile(r"^\S+$")
#: The longest stream id the store keeps (its `stream_id` column).
MAX_STREAM_ID = 255
#: How much of a value a message quotes.
_QUOTE = 40


# Validators raise ValueError even for a wrong type (ruff TRY004): pydantic turns only
# ValueError into a validation message; a TypeError would escape as a crash.
# Messages quote values with `_quoted` / `_shown`: always one line, never a wall of text.


def _quoted(value: Any) -> str:
    """`value` as a message quotes it: repr (line breaks escaped), long text cut short."""
    if isinstance(value, str):
        if len(value) <= _QUOTE:
            return repr(value)
        return f"{value[:_QUOTE]!r}... ({len(value)} characters)"
    return _shown(value)


def _shown(value: Any) -> str:
    """A number as written: plain when it is short printable text, else `_quoted`."""
    if isinstance(value, str):
        text = value.strip()
        return text if text.isprintable() and 0 < len(text) <= _QUOTE else _quoted(text)
    try:
        text = str(value)
    except ValueError:  # an int beyond str()'s digit limit
        return "a number of more than 4300 digits"
    return text if len(text) <= _QUOTE else f"{text[:_QUOTE]}... ({len(text)} characters)"


def parse_money(value: Any, what: str = "amount") -> Decimal:
    """A positive, finite amount with at most 2 decimal places, as Decimal; else ValueError."""
    if isinstance(value, bool):
        raise ValueError(f"{what} must be a decimal number like 12.50, not {value!r}")  # noqa: TRY004
    shown = _shown(value)
    if isinstance(value, float):
        value = repr(value)  # a JSON number: keep the digits as written, never float maths
    if isinstance(value, str):
        text = value.strip()
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"{what} must be a decimal number like 12.50, not {shown}") from None
    elif isinstance(value, (Decimal, int)):
        number = Decimal(value)
    else:
        raise ValueError(f"{what} must be a decimal number like 12.50, not {_quoted(value)}")  # noqa: TRY004
    if not number.is_finite():
        raise ValueError(f"{what} must be a finite number like 12.50, not {shown}")
    if number <= 0:
        raise ValueError(f"{what} must be above 0, not {shown}")
    if number > MAX_AMOUNT:
        raise ValueError(f"{what} must be at most {MAX_AMOUNT}, not {shown}")
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2 and number != number.quantize(CENTS):
        raise ValueError(f"{what} must have at most 2 decimal places, not {shown}")
    return number.quantize(CENTS)


def _quantity(value: Any) -> int:
    refusal = f"quantity must be a whole number above 0, not {_quoted(value)}"
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(refusal)  # noqa: TRY004
    quantity: int
    if isinstance(value, str):
        text = value.strip()
        # ASCII digits only: int() refuses some isdigit() characters ('²'), and more
        # than 4300 digits
        if not (text.isascii() and text.isdigit()):
            raise ValueError(refusal)
        if len(text.lstrip("0")) > len(str(MAX_QUANTITY)):
            raise ValueError(f"quantity must be at most {MAX_QUANTITY}, not {_shown(text)}")
        quantity = int(text)
    else:
        quantity = value
    if quantity <= 0:
        raise ValueError(refusal)
    if quantity > MAX_QUANTITY:
        raise ValueError(f"quantity must be at most {MAX_QUANTITY}, not {_shown(quantity)}")
    return quantity


def _sku(value: Any) -> str:
    if not isinstance(value, str) or not _SKU.match(value.strip()):
        raise ValueError(
            f"product SKU must be letters, digits, '.', '_', '/' or '-', not {_quoted(value)}"
        )
    return value.strip()


def _item_from_text(text: str) -> OrderItem:
    parts = text.strip().split(":")
    if len(parts) != 3:
        raise ValueError(
            f"bad item {_quoted(text)}: expected 3 parts separated by ':'; {ITEM_FORM}"
        )
    sku, quantity, price = parts
    try:
        return OrderItem(
            product_id=_sku(sku), quantity=_quantity(quantity), price=parse_money(price, "price")
        )
    except ValueError as exc:
        raise ValueError(f"bad item {_quoted(text)}: {exc}; {ITEM_FORM}") from None


def parse_item(text: str) -> OrderItem:
    """Parse the command line's `SKU:QTY:PRICE`; raises InvalidInput naming the expected form."""
    try:
        return _item_from_text(text)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None


def _coerce_item(value: Any) -> OrderItem:
    """An item from `SKU:QTY:PRICE` text, a mapping or an OrderItem, checked like the CLI's."""
    if isinstance(value, str):
        return _item_from_text(value)
    if isinstance(value, OrderItem):
        value = value.model_dump()
    if not isinstance(value, dict):
        raise ValueError(f"an item must be SKU:QTY:PRICE text or an object; {ITEM_FORM}")  # noqa: TRY004
    unknown = set(value) - {"product_id", "quantity", "price"}
    if unknown:
        raise ValueError(f"unknown item field(s) {', '.join(map(_quoted, sorted(unknown)))}")
    return OrderItem(
        product_id=_sku(value.get("product_id")),
        quantity=_quantity(value.get("quantity")),
        price=parse_money(value.get("price"), "price"),
    )


def _text(what: str, hint: str = "") -> AfterValidator:
    def check(value: str) -> str:
        if not value:
            raise ValueError(f"{what} must not be empty" + (f"; {hint}" if hint else ""))
        return value

    return AfterValidator(check)


def _identifier(value: str) -> str:
    if not _ID.match(value):
        raise ValueError(f"ids must be one word without spaces, not {_quoted(value)}")
    if len(value) > 100:
        raise ValueError("ids must be at most 100 characters")
    if not value.isprintable():
        # NUL cannot be stored in PostgreSQL text; ids become stream ids and read-model keys
        raise ValueError(f"ids must not contain control characters, not {_quoted(value)}")
    return value


def _not_reserved(value: str) -> str:
    """A new stream's id: not one of the operator audit trail's (core/operator_streams.py)."""
    if is_operator_stream(value):
        raise ValueError(reserved_stream_refusal(value))
    return value


def _reference(value: str) -> str:
    """An existing stream's id: what no store can hold is refused before any read."""
    if len(value) > MAX_STREAM_ID:
        raise ValueError(f"ids must be at most {MAX_STREAM_ID} characters, not {len(value)}")
    if any(unicodedata.category(char) == "Cc" for char in value):
        raise ValueError(f"ids must not contain control characters, not {_quoted(value)}")
    return value


def _email(value: str | None) -> str | None:
    if value is not None and not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", value):
        raise ValueError(f"{_quoted(value)} is not an email address like name@example.com")
    return value or None


Money = Annotated[Decimal, BeforeValidator(parse_money)]
Item = Annotated[OrderItem, BeforeValidator(_coerce_item)]
Id = Annotated[str, _text("id"), AfterValidator(_identifier), AfterValidator(_not_reserved)]
OrderId = Annotated[
    str,
    _text("order id", "give the order's id, e.g. ord-1a2b3c4d5e6f"),
    AfterValidator(_reference),
]
AccountId = Annotated[
    str,
    _text("account id", "give the account's id, e.g. acc-1a2b3c4d5e6f"),
    AfterValidator(_reference),
]


class PlaceOrder(Command):
    """Place a new order for a customer (at least one item)."""

    command_name: ClassVar[str] = "place-order"
    target_field: ClassVar[str | None] = "order_id"

    customer_id: Annotated[str, _text("customer id"), AfterValidator(_identifier)]
    items: Annotated[list[Item], Field(min_length=1)]
    order_id: Id | None = None
    payment_method: Annotated[str, _text("payment method")] = "CARD"
    shipping_address: Address | None = None
    customer_name: str | None = None
    customer_email: Annotated[str | None, AfterValidator(_email)] = None

    @field_validator("items", mode="before")
    @classmethod
    def _at_least_one(cls, value: Any) -> Any:
        if isinstance(value, (list, tuple)) and not value:
            raise ValueError(f"an order needs at least one item; {ITEM_FORM}")
        return value

    @field_validator("customer_name")
    @classmethod
    def _blank_name_is_none(cls, value: str | None) -> str | None:
        return value or None


class ApproveOrder(Command):
    """Approve a PENDING order."""

    command_name: ClassVar[str] = "approve-order"
    target_field: ClassVar[str | None] = "order_id"

    order_id: OrderId
    notes: str = ""


class ShipOrder(Command):
    """Ship an APPROVED order; estimated delivery defaults to three days from now."""

    command_name: ClassVar[str] = "ship-order"
    target_field: ClassVar[str | None] = "order_id"

    order_id: OrderId
    tracking_number: Annotated[str, _text("tracking number")]
    carrier: Annotated[str, _text("carrier", "e.g. UPS, FedEx, DHL or USPS")]
    estimated_delivery: datetime | None = None

    @field_validator("estimated_delivery")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        try:
            return None if value is None else ensure_utc(value)
        except OverflowError:  # e.g. 9999-12-31T23:59-05:00 is after year 9999 in UTC
            raise ValueError(
                "estimated delivery is out of range: give a time before 9999 in UTC"
            ) from None


class CancelOrder(Command):
    """Cancel an order that has not shipped."""

    command_name: ClassVar[str] = "cancel-order"
    target_field: ClassVar[str | None] = "order_id"

    order_id: OrderId
    reason: Annotated[str, _text("reason", "say why the order is cancelled")]
    cancellation_type: CancellationType = CancellationType.ADMIN

    @field_validator("cancellation_type", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip().upper()
            if value not in CancellationType.__members__:
                raise ValueError("must be CUSTOMER, ADMIN or SYSTEM")
        return value


class DeliverOrder(Command):
    """Mark a SHIPPED order delivered."""

    command_name: ClassVar[str] = "deliver-order"
    target_field: ClassVar[str | None] = "order_id"

    order_id: OrderId
    signed_by: str | None = None

    @field_validator("signed_by")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value or None


class OpenAccount(Command):
    """Open an account for an owner; the id is generated unless given."""

    command_name: ClassVar[str] = "open-account"
    target_field: ClassVar[str | None] = "account_id"

    owner: Annotated[str, _text("owner", "give the owner's name")]
    account_id: Id | None = None


class Deposit(Command):
    """Pay money into an account."""

    command_name: ClassVar[str] = "deposit"
    target_field: ClassVar[str | None] = "account_id"

    account_id: AccountId
    amount: Money


class Withdraw(Command):
    """Take money out of an account (never beyond its balance)."""

    command_name: ClassVar[str] = "withdraw"
    target_field: ClassVar[str | None] = "account_id"

    account_id: AccountId
    amount: Money


def parse_amount_or_zero(value: Any, what: str = "amount") -> Decimal:
    """Like `parse_money`, but 0 is allowed (a legacy order without recorded prices)."""
    if isinstance(value, (str, int, Decimal)) and not isinstance(value, bool):
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            number = None  # parse_money words the error
        if number is not None and number.is_finite():
            if number == 0:
                return Decimal("0.00")
            if number < 0:
                raise ValueError(f"{what} must be 0 or more, not {value}")
    return parse_money(value, what)


def _coerce_reserved_item(value: Any) -> ReservedItem:
    """A reserved item from `SKU:QTY` (or `SKU:QTY:PRICE`, price ignored) text, a mapping
    or an order item."""
    if isinstance(value, (OrderItem, ReservedItem)):
        value = value.model_dump()
    if isinstance(value, str):
        parts = value.strip().split(":")
        if len(parts) not in (2, 3):
            raise ValueError(f"bad item {value!r}: write items as SKU:QTY, e.g. WIDGET-1:2")
        value = {"product_id": parts[0], "quantity": parts[1]}
    if not isinstance(value, dict):
        raise ValueError("an item must be SKU:QTY text or an object")  # noqa: TRY004
    unknown = set(value) - {"product_id", "quantity", "price"}
    if unknown:
        raise ValueError(f"unknown item field(s) {', '.join(map(_quoted, sorted(unknown)))}")
    return ReservedItem(
        product_id=_sku(value.get("product_id")), quantity=_quantity(value.get("quantity"))
    )


AmountOrZero = Annotated[Decimal, BeforeValidator(parse_amount_or_zero)]
ReservedLine = Annotated[ReservedItem, BeforeValidator(_coerce_reserved_item)]


class ReserveInventory(Command):
    """Hold back stock for an order's items (stream `inv-<order id>`)."""

    command_name: ClassVar[str] = "reserve-inventory"
    #: The stream is derived from the order id: see `target_stream`.
    target_field: ClassVar[str | None] = "order_id"

    order_id: OrderId
    items: Annotated[list[ReservedLine], Field(min_length=1)]

    def target_stream(self) -> str:
        return inventory_stream_id(self.order_id)


class ReleaseInventory(Command):
    """Give back the stock reserved for an order."""

    command_name: ClassVar[str] = "release-inventory"
    target_field: ClassVar[str | None] = "order_id"

    order_id: OrderId
    reason: Annotated[str, _text("reason", "say why the stock is released")] = "released on request"

    def target_stream(self) -> str:
        return inventory_stream_id(self.order_id)


class ProcessPayment(Command):
    """Take the money for an order (stream `pay-<order id>`); may record a failure."""

    command_name: ClassVar[str] = "process-payment"
    target_field: ClassVar[str | None] = "order_id"

    order_id: OrderId
    amount: AmountOrZero
    method: Annotated[str, _text("payment method", "e.g. CARD or PAYPAL")]
    customer_id: Annotated[str, _text("customer id"), AfterValidator(_identifier)]

    def target_stream(self) -> str:
        return payment_stream_id(self.order_id)


ALL_COMMANDS: tuple[type[Command], ...] = (
    PlaceOrder,
    ApproveOrder,
    ShipOrder,
    CancelOrder,
    DeliverOrder,
    OpenAccount,
    Deposit,
    Withdraw,
    ReserveInventory,
    ReleaseInventory,
    ProcessPayment,
)
