"""``phosnet train`` and ``phosnet evaluate``."""

from __future__ import annotations

import click

from phosnet.errors import PhosnetError


@click.command("train", context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def train(args: tuple[str, ...]) -> None:
    """Train a model on a site table and proteins (not implemented yet)."""
    raise PhosnetError("'phosnet train' is not implemented yet")


@click.command("evaluate", context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def evaluate(args: tuple[str, ...]) -> None:
    """Evaluate a model on a site table and proteins (not implemented yet)."""
    raise PhosnetError("'phosnet evaluate' is not implemented yet")
