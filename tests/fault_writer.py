"""A writer process for the fault tests: random demo commands through the command bus.

    python -m tests.fault_writer URL NAME SEED COUNT

Issues COUNT commands as user NAME (deposits and withdrawals on the shared accounts
acc-0..acc-3, orders of its own, cancellations of them), chosen by a random source
seeded with SEED. After each command the bus acknowledged it prints one line

    ack STREAM VERSION EVENT_ID...

(flushed), so whatever it printed was committed. A refusal prints `refused`, a
conflict the bus gave up on `conflict`; both wrote nothing. `ready` comes first,
`done` last.
"""

from __future__ import annotations

import asyncio
import random
import sys
from decimal import Decimal

from console.bootstrap import open_system
from core.commands import Command
from core.domain.commands import CancelOrder, Deposit, PlaceOrder, Withdraw
from core.domain.order_events import OrderItem
from core.errors import ConcurrencyError, InvalidTransition

ACCOUNTS = [f"acc-{i}" for i in range(4)]


def next_command(rng: random.Random, name: str, n: int, orders: list[str]) -> Command:
    roll = rng.random()
    account = rng.choice(ACCOUNTS)
    amount = Decimal(rng.randint(1, 40))
    if roll < 0.4:
        return Deposit(account_id=account, amount=amount)
    if roll < 0.6:
        return Withdraw(account_id=account, amount=amount)
    if roll < 0.9 or not orders:
        order_id = f"ord-{name}-{n}"
        orders.append(order_id)
        return PlaceOrder(
            order_id=order_id,
            customer_id=f"cust-{rng.randint(0, 5)}",
            items=[
                OrderItem(product_id="WIDGET-1", quantity=rng.randint(1, 3), price=Decimal("9.99"))
            ],
        )
    return CancelOrder(order_id=rng.choice(orders), reason="changed my mind")


async def main(url: str, name: str, seed: int, count: int) -> None:
    system = await open_system(url)
    try:
        rng = random.Random(seed)
        orders: list[str] = []
        print("ready", flush=True)
        for n in range(count):
            command = next_command(rng, name, n, orders)
            try:
                result = await system.bus.dispatch(command, user_id=name)
            except InvalidTransition:
                print("refused", flush=True)
                continue
            except ConcurrencyError:
                print("conflict", flush=True)
                continue
            ids = " ".join(e.event_id for e in result.events)
            print(f"ack {result.stream_id} {result.version} {ids}", flush=True)
        print("done", flush=True)
    finally:
        await system.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
