"""``phosnet scan``."""

from __future__ import annotations

import click

from phosnet.errors import PhosnetError


@click.command("scan", context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def scan(args: tuple[str, ...]) -> None:
    """(Not implemented yet.)"""
    raise PhosnetError("'phosnet scan' is not implemented yet")
