"""The Payment aggregate: taking the money for one order (the saga's second step).

One payment per order, in the stream `pay-<order id>`. Whether it goes through
is decided deterministically by `payment_refusal` — an amount over the
customer's limit or a declined method fails it — so demo history can tell in
advance which orders the fulfilment saga approves and which it cancels. A
processed payment cannot be processed again; a failed one may be retried.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, ClassVar

from pydantic import BaseModel, Field

from ..aggregate import Aggregate
from ..errors import InvalidInput, InvalidTransition
from ..events import DomainEvent

PAYMENT_PREFIX = "pay-"
#: Every customer's limit for one payment: a larger amount is refused.
CUSTOMER_LIMIT = Decimal("1500.00")
#: Payment methods the payment provider refuses.
DECLINED_METHODS: frozenset[str] = frozenset({"PREPAID_CARD"})

#: An amount of money that may be 0 (a legacy order whose prices were never recorded).
Amount = Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]


def payment_stream_id(order_id: str) -> str:
    """The id of the stream holding the payment of `order_id`."""
    return f"{PAYMENT_PREFIX}{order_id}"


def payment_refusal(amount: Decimal, method: str) -> str | None:
    """Why a payment of `amount` by `method` fails, or None when it goes through."""
    if method.upper() in DECLINED_METHODS:
        return f"payment method {method} is declined"
    if amount > CUSTOMER_LIMIT:
        return f"amount {amount} is over the customer's limit of {CUSTOMER_LIMIT}"
    return None


class PaymentStatus(StrEnum):
    PROCESSED = "PROCESSED"
    FAILED = "FAILED"


class PaymentProcessed(DomainEvent):
    """The money for an order was taken."""

    type_name: ClassVar[str] = "PaymentProcessed"
    schema_version: ClassVar[int] = 1

    order_id: str
    customer_id: str
    amount: Amount
    method: str


class PaymentFailed(DomainEvent):
    """Taking the money for an order was refused."""

    type_name: ClassVar[str] = "PaymentFailed"
    schema_version: ClassVar[int] = 1

    order_id: str
    customer_id: str
    amount: Amount
    method: str
    reason: str


PAYMENT_EVENTS: tuple[type[DomainEvent], ...] = (PaymentProcessed, PaymentFailed)


class PaymentState(BaseModel):
    """An order's payment; `status` is None until attempted."""

    order_id: str | None = None
    customer_id: str | None = None
    status: PaymentStatus | None = None
    amount: Decimal | None = None
    method: str | None = None
    attempts: int = 0
    processed_at: datetime | None = None
    failed_at: datetime | None = None
    failure_reason: str | None = None


class Payment(Aggregate):
    """The payment of one order: processed at most once, failures may be retried."""

    stream_type: ClassVar[str] = "Payment"
    state_class: ClassVar[type[BaseModel]] = PaymentState
    state: PaymentState

    def process(self, order_id: str, amount: Decimal, method: str, customer_id: str) -> None:
        """Try to take `amount`; raises PaymentProcessed or, by `payment_refusal`, PaymentFailed."""
        if not isinstance(amount, Decimal) or not amount.is_finite() or amount < 0:
            raise InvalidInput(f"a payment must be an amount of money of 0 or more, not {amount}")
        if self.state.status is PaymentStatus.PROCESSED:
            raise InvalidTransition(
                f"cannot process the payment of order {order_id}: it was already processed "
                f"({self.state.amount} by {self.state.method})"
            )
        reason = payment_refusal(amount, method)
        if reason is None:
            self.raise_event(
                PaymentProcessed(
                    order_id=order_id, customer_id=customer_id, amount=amount, method=method
                )
            )
        else:
            self.raise_event(
                PaymentFailed(
                    order_id=order_id,
                    customer_id=customer_id,
                    amount=amount,
                    method=method,
                    reason=reason,
                )
            )

    def _attempted(self, event: PaymentProcessed | PaymentFailed) -> None:
        s = self.state
        s.order_id = event.order_id
        s.customer_id = event.customer_id
        s.amount = event.amount
        s.method = event.method
        s.attempts += 1

    def on_PaymentProcessed(self, event: PaymentProcessed, at: datetime) -> None:
        self._attempted(event)
        self.state.status = PaymentStatus.PROCESSED
        self.state.processed_at = at

    def on_PaymentFailed(self, event: PaymentFailed, at: datetime) -> None:
        self._attempted(event)
        self.state.status = PaymentStatus.FAILED
        self.state.failed_at = at
        self.state.failure_reason = event.reason


__all__ = [
    "CUSTOMER_LIMIT",
    "DECLINED_METHODS",
    "PAYMENT_EVENTS",
    "Payment",
    "PaymentFailed",
    "PaymentProcessed",
    "PaymentStatus",
    "payment_refusal",
    "payment_stream_id",
]
