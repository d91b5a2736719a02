"""The demo domain: orders, accounts, inventory and payments from the write-up, their
commands and upcasters (projections in `projections`, the saga in `fulfilment_saga`).

`build_registry()` knows every event and upcaster; `AGGREGATES`, `COMMANDS` and
`HANDLERS` describe the domain to the repository, the command line and the bus.
"""

from __future__ import annotations

from ..aggregate import Aggregate
from ..clock import Clock, IdFactory
from ..commands import Command, CommandBus, Handler
from ..ports import EventStore, SnapshotStore
from ..registry import EventRegistry
from ..repository import Repository
from ..snapshots import SnapshotPolicy
from .account import ACCOUNT_EVENTS, Account
from .commands import ALL_COMMANDS
from .handlers import HANDLERS as _HANDLERS
from .inventory import INVENTORY_EVENTS, Inventory
from .order import Order
from .order_events import ORDER_EVENTS, OrderPlaced
from .payment import PAYMENT_EVENTS, Payment
from .upcasters import ORDER_PLACED_UPCASTERS

#: Aggregate classes by stream type.
AGGREGATES: dict[str, type[Aggregate]] = {
    cls.stream_type: cls for cls in (Order, Account, Inventory, Payment)
}

#: Command classes by their command-line name (`place-order`, ...).
COMMANDS: dict[str, type[Command]] = {cls.command_name: cls for cls in ALL_COMMANDS}

#: The handler of each command class.
HANDLERS: dict[type[Command], Handler] = dict(_HANDLERS)


def build_registry() -> EventRegistry:
    """A registry of every demo event, with OrderPlaced's v1 -> v2 -> v3 upcasters."""
    registry = EventRegistry()
    for cls in ORDER_EVENTS + ACCOUNT_EVENTS + INVENTORY_EVENTS + PAYMENT_EVENTS:
        registry.register(cls, ORDER_PLACED_UPCASTERS if cls is OrderPlaced else None)
    return registry


def build_repository(
    store: EventStore,
    *,
    clock: Clock,
    ids: IdFactory,
    snapshots: SnapshotStore | None = None,
    policy: SnapshotPolicy | None = None,
) -> Repository:
    """A repository over `store` for the demo domain's aggregates and events."""
    return Repository(
        store, build_registry(), AGGREGATES, clock, ids, snapshots=snapshots, policy=policy
    )


def build_bus(repository: Repository, max_attempts: int = 10) -> CommandBus:
    """A command bus with every demo command's handler registered."""
    return CommandBus(repository, dict(HANDLERS), max_attempts=max_attempts)


__all__ = [
    "AGGREGATES",
    "COMMANDS",
    "HANDLERS",
    "Account",
    "Inventory",
    "Order",
    "Payment",
    "build_bus",
    "build_registry",
    "build_repository",
]
