"""`eventdeck cmd NAME ...`: issue one command through the command bus."""

from __future__ import annotations

import json
from typing import Any

import click

from core.commands import Command, CommandResult, make_command
from core.domain import COMMANDS
from core.domain.commands import parse_item
from core.errors import InvalidInput

from .bootstrap import System
from .cli import cli, current_settings, run_with_system
from .output import event_line


@cli.group("cmd")
def cmd_group() -> None:
    """Issue a command (place-order, approve-order, ..., deposit, withdraw)."""


def dispatch(name: str, fields: dict[str, Any], as_json: bool) -> None:
    """Validate `fields` into the command `name`, run it and print what it wrote."""
    command = make_command(COMMANDS[name], {k: v for k, v in fields.items() if v is not None})
    settings = current_settings()

    async def body(system: System) -> CommandResult:
        system.require_writable(f"run {name}")
        return await system.bus.dispatch(command, user_id=settings.user)

    result = run_with_system(body)
    print_result(command, result, as_json)


def print_result(command: Command, result: CommandResult, as_json: bool) -> None:
    if as_json:
        click.echo(
            json.dumps(
                {
                    "stream_id": result.stream_id,
                    "version": result.version,
                    "events": [e.to_json_dict() for e in result.events],
                }
            )
        )
        return
    click.echo(
        f"{command.command_name}: {result.stream_type} {result.stream_id} is now at version {result.version}"
    )
    for event in result.events:
        click.echo("  " + event_line(event))


json_option = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")


@cmd_group.command("place-order")
@click.option("--customer", "customer_id", required=True, help="Customer id.")
@click.option(
    "--item",
    "items",
    multiple=True,
    required=True,
    metavar="SKU:QTY:PRICE",
    help="An order line, e.g. WIDGET-1:2:9.99 (repeat for more).",
)
@click.option("--order-id", help="Order id (default: a new ord-... id).")
@click.option("--payment-method", default="CARD", show_default=True)
@click.option("--customer-name")
@click.option("--customer-email")
@click.option("--street")
@click.option("--city")
@click.option("--state", "region", help="State or region.")
@click.option("--zip", "zip_code")
@click.option("--country")
@json_option
def place_order(
    items: tuple[str, ...],
    street: str | None,
    city: str | None,
    region: str | None,
    zip_code: str | None,
    country: str | None,
    as_json: bool,
    **fields: Any,
) -> None:
    """Place an order."""
    address_parts = {
        "street": street,
        "city": city,
        "state": region,
        "zip_code": zip_code,
        "country": country,
    }
    given = {k: v for k, v in address_parts.items() if v}
    if given:
        missing = [
            f"--{'zip' if k == 'zip_code' else k}"
            for k in ("street", "city", "zip_code", "country")
            if k not in given
        ]
        if missing:
            raise InvalidInput(f"incomplete shipping address: also give {', '.join(missing)}")
        fields["shipping_address"] = {"state": "", **given}
    fields["items"] = [parse_item(text).model_dump() for text in items]
    dispatch("place-order", fields, as_json)


@cmd_group.command("approve-order")
@click.option("--order", "order_id", required=True)
@click.option("--notes", default="")
@json_option
def approve_order(as_json: bool, **fields: Any) -> None:
    """Approve a PENDING order."""
    dispatch("approve-order", fields, as_json)


@cmd_group.command("ship-order")
@click.option("--order", "order_id", required=True)
@click.option("--tracking", "tracking_number", required=True)
@click.option("--carrier", required=True)
@json_option
def ship_order(as_json: bool, **fields: Any) -> None:
    """Ship an APPROVED order."""
    dispatch("ship-order", fields, as_json)


@cmd_group.command("cancel-order")
@click.option("--order", "order_id", required=True)
@click.option("--reason", required=True)
@click.option(
    "--type",
    "cancellation_type",
    default="ADMIN",
    show_default=True,
    type=click.Choice(["CUSTOMER", "ADMIN", "SYSTEM"], case_sensitive=False),
)
@json_option
def cancel_order(as_json: bool, cancellation_type: str, **fields: Any) -> None:
    """Cancel an order that has not shipped."""
    fields["cancellation_type"] = cancellation_type.upper()
    dispatch("cancel-order", fields, as_json)


@cmd_group.command("deliver-order")
@click.option("--order", "order_id", required=True)
@click.option("--signed-by")
@json_option
def deliver_order(as_json: bool, **fields: Any) -> None:
    """Mark a SHIPPED order delivered."""
    dispatch("deliver-order", fields, as_json)


@cmd_group.command("open-account")
@click.option("--owner", required=True)
@click.option("--account", "account_id", help="Account id (default: a new acc-... id).")
@json_option
def open_account(as_json: bool, **fields: Any) -> None:
    """Open an account."""
    dispatch("open-account", fields, as_json)


@cmd_group.command("deposit")
@click.option("--account", "account_id", required=True)
@click.option("--amount", required=True, help="A decimal amount above 0, e.g. 12.50.")
@json_option
def deposit(as_json: bool, **fields: Any) -> None:
    """Deposit money into an account."""
    dispatch("deposit", fields, as_json)


@cmd_group.command("withdraw")
@click.option("--account", "account_id", required=True)
@click.option("--amount", required=True, help="A decimal amount above 0, e.g. 12.50.")
@json_option
def withdraw(as_json: bool, **fields: Any) -> None:
    """Withdraw money from an account (no overdraft)."""
    dispatch("withdraw", fields, as_json)
