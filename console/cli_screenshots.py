"""`eventdeck screenshots`: regenerate the SVG pictures of every console screen."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from .cli import cli


@cli.command("screenshots")
@click.option(
    "--out",
    default="screenshots",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder the SVG files are written to.",
)
def screenshots_command(out: Path) -> None:
    """Build a deterministic demo store and save one SVG per console screen.

    Ignores --db: the pictures always come from the same demo history.
    """
    from .screenshots import take_screenshots  # Textual only when it is needed

    for path in asyncio.run(take_screenshots(out)):
        click.echo(str(path))
