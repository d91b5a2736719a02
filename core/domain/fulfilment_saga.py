"""The fulfilment saga (the write-up's "Saga Pattern"): reserve, pay, approve.

    OrderPlaced        -> ReserveInventory                  STARTED
    InventoryReserved  -> ProcessPayment (order total)      INVENTORY_RESERVED
    PaymentProcessed   -> ApproveOrder                      PAID
    OrderApproved (ours)                                    APPROVED
    PaymentFailed      -> ReleaseInventory, CancelOrder     COMPENSATED
    OrderCancelled (ours)                                   CANCELLED
    a refusal, or the order approved/cancelled by others    STOPPED

Its state is one document per order in its view (key: the order id): the order
facts it needs, `status`, `reason`, what it has seen of the order, the stock and
the payment, and every command it sent (`steps`).

Operators may act while it runs. A command the domain refuses (InvalidTransition,
say ApproveOrder for an order cancelled meanwhile) stops the saga — `STOPPED`
with the refusal as `reason` — instead of failing; so does an order approved or
cancelled by someone else before the saga is done. Stock the saga reserved for
an order that ends up cancelled by someone else is released (at once, or as soon
as the reservation is seen); `inventory` says what became of it.

Every command goes through `SagaContext.send(command, caused_by=record)`, which
returns None when that command was already written before a restart: the saga
then carries on as if it had just sent it, so nothing is ever sent twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import ClassVar

from ..clock import utc_isoformat
from ..commands import Command
from ..errors import InvalidTransition
from ..events import DomainEvent, RecordedEvent
from ..projections import Document, Saga, SagaContext, View
from .commands import ApproveOrder, CancelOrder, ProcessPayment, ReleaseInventory, ReserveInventory
from .inventory import InventoryReleased, InventoryReserved, ReservedItem
from .order_events import CancellationType, OrderApproved, OrderCancelled, OrderPlaced
from .payment import PaymentFailed, PaymentProcessed

APPROVAL_NOTES = "automatic approval after payment"


class SagaStatus(StrEnum):
    """Where one order's fulfilment is."""

    STARTED = "STARTED"  # stock reservation requested
    INVENTORY_RESERVED = "INVENTORY_RESERVED"  # stock held, payment requested
    PAID = "PAID"  # payment taken, approval requested
    APPROVED = "APPROVED"  # the order was approved by the saga: done
    COMPENSATED = "COMPENSATED"  # payment failed: stock given back, cancellation sent
    CANCELLED = "CANCELLED"  # the saga cancelled the order after a failed payment: done
    STOPPED = "STOPPED"  # someone else decided (see `reason`); the saga does no more


#: Statuses in which the saga still drives the order forward.
IN_PROGRESS = frozenset(
    s.value for s in (SagaStatus.STARTED, SagaStatus.INVENTORY_RESERVED, SagaStatus.PAID)
)

#: What the saga has seen of the stock (`inventory` in its state).
RESERVED, RELEASED = "RESERVED", "RELEASED"
SENT, ALREADY_SENT, REFUSED = "sent", "already sent", "refused"


class FulfilmentSaga(Saga):
    """Takes every placed order through stock, payment and approval, or compensates."""

    name: ClassVar[str] = "fulfilment"
    handles: ClassVar[frozenset[str]] = frozenset(
        cls.type_name
        for cls in (
            OrderPlaced,
            OrderApproved,
            OrderCancelled,
            InventoryReserved,
            InventoryReleased,
            PaymentProcessed,
            PaymentFailed,
        )
    )
    description: ClassVar[str] = "reserve stock, take payment, approve; else release and cancel"

    def prefetch_keys(self, event: DomainEvent, record: RecordedEvent) -> Iterable[str]:
        return (_order_id(event, record),)

    async def react(
        self, event: DomainEvent, record: RecordedEvent, view: View, context: SagaContext
    ) -> None:
        order_id = _order_id(event, record)
        state = await view.get(order_id)
        if isinstance(event, OrderPlaced):
            if state is not None:
                return  # a saga starts once per order
            state = _new_state(order_id, event, record)
            step = _Step(state, record, context)
            await self._placed(step, event)
        elif state is None:
            return  # an order this saga never started (placed before it ran, or manual work)
        else:
            step = _Step(state, record, context)
            if isinstance(event, InventoryReserved):
                await self._inventory_reserved(step)
            elif isinstance(event, InventoryReleased):
                state["inventory"] = RELEASED
            elif isinstance(event, PaymentProcessed):
                await self._payment_processed(step)
            elif isinstance(event, PaymentFailed):
                await self._payment_failed(step, event)
            elif isinstance(event, OrderApproved):
                self._order_approved(step, record)
            elif isinstance(event, OrderCancelled):
                await self._order_cancelled(step, event)
            else:
                return
        state["updated_at"] = iso(record.recorded_at)
        view.put(order_id, state)

    # -- the steps ------------------------------------------------------------------------

    async def _placed(self, step: _Step, event: OrderPlaced) -> None:
        state = step.state
        items = [ReservedItem(product_id=i.product_id, quantity=i.quantity) for i in event.items]
        if not await step.send(ReserveInventory(order_id=state["order_id"], items=items)):
            step.stop(f"stock could not be reserved: {step.refusal}")

    async def _inventory_reserved(self, step: _Step) -> None:
        state = step.state
        state["inventory"] = RESERVED
        if state["order_status"] == "CANCELLED":
            # the order was cancelled while the reservation was on its way: give it back
            await self._release(step, state["reason"] or "order cancelled")
            return
        if state["status"] != SagaStatus.STARTED.value:
            return
        payment = ProcessPayment(
            order_id=state["order_id"],
            amount=Decimal(state["total_amount"]),
            method=state["payment_method"],
            customer_id=state["customer_id"],
        )
        if await step.send(payment):
            state["status"] = SagaStatus.INVENTORY_RESERVED.value
        else:
            step.stop(f"payment could not be requested: {step.refusal}")

    async def _payment_processed(self, step: _Step) -> None:
        state = step.state
        state["payment"] = "PROCESSED"
        if state["status"] != SagaStatus.INVENTORY_RESERVED.value:
            return
        if await step.send(ApproveOrder(order_id=state["order_id"], notes=APPROVAL_NOTES)):
            state["status"] = SagaStatus.PAID.value
        else:
            step.stop(f"approval refused: {step.refusal}")

    async def _payment_failed(self, step: _Step, event: PaymentFailed) -> None:
        state = step.state
        state["payment"] = "FAILED"
        if state["status"] != SagaStatus.INVENTORY_RESERVED.value:
            return
        reason = f"payment failed: {event.reason}"
        await self._release(step, reason)
        state["status"] = SagaStatus.COMPENSATED.value
        state["reason"] = reason
        cancel = CancelOrder(
            order_id=state["order_id"],
            reason=reason,
            cancellation_type=CancellationType.SYSTEM,
        )
        if not await step.send(cancel):
            step.stop(f"{reason}; cancellation refused: {step.refusal}")

    def _order_approved(self, step: _Step, record: RecordedEvent) -> None:
        state = step.state
        state["order_status"] = "APPROVED"
        if step.sent(ApproveOrder.command_name):
            if state["status"] == SagaStatus.PAID.value:
                state["status"] = SagaStatus.APPROVED.value
        elif state["status"] in IN_PROGRESS:
            step.stop(
                f"order approved by {record.metadata.user_id or 'someone'} "
                "before the saga approved it"
            )

    async def _order_cancelled(self, step: _Step, event: OrderCancelled) -> None:
        state = step.state
        state["order_status"] = "CANCELLED"
        if step.sent(CancelOrder.command_name):
            if state["status"] == SagaStatus.COMPENSATED.value:
                state["status"] = SagaStatus.CANCELLED.value
            return
        reason = f"order cancelled by {event.cancelled_by}: {event.reason}"
        if state["status"] in IN_PROGRESS:
            step.stop(reason)
        if state["inventory"] == RESERVED:
            await self._release(step, reason)
        # else: not reserved yet; released when the reservation is seen

    async def _release(self, step: _Step, reason: str) -> None:
        state = step.state
        if await step.send(ReleaseInventory(order_id=state["order_id"], reason=reason)):
            state["inventory"] = RELEASED


class _Step:
    """One reaction: sends commands for the trigger `record` and notes them in the state."""

    def __init__(self, state: Document, record: RecordedEvent, context: SagaContext) -> None:
        self.state = state
        self.record = record
        self.context = context
        self.refusal = ""

    async def send(self, command: Command) -> bool:
        """Send `command`; False (noted, not raised) when the domain refuses it."""
        note: Document = {
            "command": command.command_name,
            "stream_id": command.target_stream(),
            "trigger": self.record.type,
            "trigger_position": self.record.position,
            "at": iso(self.record.recorded_at),
        }
        try:
            result = await self.context.send(command, caused_by=self.record)
        except InvalidTransition as refusal:
            self.refusal = str(refusal)
            self.state["steps"].append({**note, "outcome": REFUSED, "detail": self.refusal})
            return False
        self.state["steps"].append({**note, "outcome": SENT if result else ALREADY_SENT})
        return True

    def sent(self, command_name: str) -> bool:
        """Whether the saga sent a command of this name (and it was not refused)."""
        return any(
            s["command"] == command_name and s["outcome"] != REFUSED for s in self.state["steps"]
        )

    def stop(self, reason: str) -> None:
        self.state["status"] = SagaStatus.STOPPED.value
        self.state["reason"] = reason


def iso(when: datetime) -> str:
    """An aware UTC time as ISO 8601, as the demo read models write times."""
    return utc_isoformat(when)


def _order_id(event: DomainEvent, record: RecordedEvent) -> str:
    if isinstance(event, (InventoryReserved, InventoryReleased, PaymentProcessed, PaymentFailed)):
        return event.order_id
    return record.stream_id


def _new_state(order_id: str, event: OrderPlaced, record: RecordedEvent) -> Document:
    at = iso(record.recorded_at)
    return {
        "order_id": order_id,
        "customer_id": event.customer_id,
        "total_amount": str(event.total_amount),
        "payment_method": event.payment_method,
        "status": SagaStatus.STARTED.value,
        "reason": None,
        "order_status": "PENDING",
        "inventory": None,
        "payment": None,
        "steps": [],
        "started_at": at,
        "updated_at": at,
    }


__all__ = ["APPROVAL_NOTES", "FulfilmentSaga", "SagaStatus"]
