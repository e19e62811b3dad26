"""``phosnet models``."""

from __future__ import annotations

import click

from phosnet.errors import PhosnetError


@click.command("models", context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def models(args: tuple[str, ...]) -> None:
    """(Not implemented yet.)"""
    raise PhosnetError("'phosnet models' is not implemented yet")
