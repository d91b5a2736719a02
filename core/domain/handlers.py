"""Command handlers: load through the repository, call a business method, return the aggregate.

Each has the bus's handler signature `async (command, repository, context) ->
Aggregate`; the bus saves the pending events with the loaded version and retries
on a concurrency conflict, so a handler must only read and decide.
"""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from typing import cast

from ..aggregate import Aggregate
from ..clock import IdFactory
from ..commands import Command, CommandContext, Handler
from ..errors import InvalidInput
from ..repository import Repository
from .account import Account
from .commands import (
    ApproveOrder,
    CancelOrder,
    DeliverOrder,
    Deposit,
    OpenAccount,
    PlaceOrder,
    ProcessPayment,
    ReleaseInventory,
    ReserveInventory,
    ShipOrder,
    Withdraw,
)
from .inventory import Inventory
from .order import Order
from .payment import Payment

#: How far ahead a shipment's estimated delivery is when the command gives none.
DEFAULT_DELIVERY_DAYS = 3


def new_stream_id(prefix: str, ids: IdFactory) -> str:
    """`prefix-` and 12 lowercase hex characters taken from the id factory."""
    raw = ids.new_id().lower()
    hexdigits = re.sub(r"[^0-9a-f]", "", raw)
    if len(hexdigits) < 12:  # a factory that does not make UUIDs: hash what it gave
        hexdigits = hashlib.sha256(raw.encode()).hexdigest()
    return f"{prefix}-{hexdigits[:12]}"


def new_order_id(ids: IdFactory) -> str:
    return new_stream_id("ord", ids)


def new_account_id(ids: IdFactory) -> str:
    return new_stream_id("acc", ids)


async def place_order(
    command: PlaceOrder, repository: Repository, context: CommandContext
) -> Aggregate:
    order_id = command.order_id or new_order_id(repository.ids)
    if await repository.exists(order_id):
        raise InvalidInput(
            f"order {order_id} already exists; leave out the order id to get a new one"
        )
    return Order.place(
        order_id,
        customer_id=command.customer_id,
        items=command.items,
        payment_method=command.payment_method,
        shipping_address=command.shipping_address,
        customer_name=command.customer_name,
        customer_email=command.customer_email,
        clock=repository.clock,
    )


async def approve_order(
    command: ApproveOrder, repository: Repository, context: CommandContext
) -> Aggregate:
    order = await repository.load(Order, command.order_id)
    order.approve(approved_by=context.user_id, notes=command.notes)
    return order


async def ship_order(
    command: ShipOrder, repository: Repository, context: CommandContext
) -> Aggregate:
    order = await repository.load(Order, command.order_id)
    estimated = command.estimated_delivery or repository.clock.now() + timedelta(
        days=DEFAULT_DELIVERY_DAYS
    )
    order.ship(command.tracking_number, command.carrier, estimated)
    return order


async def cancel_order(
    command: CancelOrder, repository: Repository, context: CommandContext
) -> Aggregate:
    order = await repository.load(Order, command.order_id)
    order.cancel(context.user_id, command.reason, command.cancellation_type)
    return order


async def deliver_order(
    command: DeliverOrder, repository: Repository, context: CommandContext
) -> Aggregate:
    order = await repository.load(Order, command.order_id)
    order.deliver(command.signed_by)
    return order


async def open_account(
    command: OpenAccount, repository: Repository, context: CommandContext
) -> Aggregate:
    account_id = command.account_id or new_account_id(repository.ids)
    if await repository.exists(account_id):
        raise InvalidInput(
            f"account {account_id} already exists; leave out the account id to get a new one"
        )
    return Account.open(account_id, command.owner, repository.clock)


async def deposit(command: Deposit, repository: Repository, context: CommandContext) -> Aggregate:
    account = await repository.load(Account, command.account_id)
    account.deposit(command.amount)
    return account


async def withdraw(command: Withdraw, repository: Repository, context: CommandContext) -> Aggregate:
    account = await repository.load(Account, command.account_id)
    account.withdraw(command.amount)
    return account


async def _inventory(repository: Repository, stream_id: str) -> Inventory:
    if await repository.exists(stream_id):
        return await repository.load(Inventory, stream_id)
    return Inventory(stream_id, repository.clock)


async def reserve_inventory(
    command: ReserveInventory, repository: Repository, context: CommandContext
) -> Aggregate:
    inventory = await _inventory(repository, command.target_stream())
    inventory.reserve(command.order_id, command.items)
    return inventory


async def release_inventory(
    command: ReleaseInventory, repository: Repository, context: CommandContext
) -> Aggregate:
    inventory = await _inventory(repository, command.target_stream())
    inventory.release(command.order_id, command.reason)
    return inventory


async def process_payment(
    command: ProcessPayment, repository: Repository, context: CommandContext
) -> Aggregate:
    stream_id = command.target_stream()
    if await repository.exists(stream_id):
        payment = await repository.load(Payment, stream_id)
    else:
        payment = Payment(stream_id, repository.clock)
    payment.process(command.order_id, command.amount, command.method, command.customer_id)
    return payment


#: Each command class's handler, for the command bus.
HANDLERS: dict[type[Command], Handler] = {
    PlaceOrder: cast(Handler, place_order),
    ApproveOrder: cast(Handler, approve_order),
    ShipOrder: cast(Handler, ship_order),
    CancelOrder: cast(Handler, cancel_order),
    DeliverOrder: cast(Handler, deliver_order),
    OpenAccount: cast(Handler, open_account),
    Deposit: cast(Handler, deposit),
    Withdraw: cast(Handler, withdraw),
    ReserveInventory: cast(Handler, reserve_inventory),
    ReleaseInventory: cast(Handler, release_inventory),
    ProcessPayment: cast(Handler, process_payment),
}
