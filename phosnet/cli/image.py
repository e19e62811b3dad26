"""``phosnet image``: the 2D-image task (MNIST, CIFAR-10) on the shared training core."""

from __future__ import annotations

import click

from phosnet.errors import PhosnetError


@click.group("image")
def image() -> None:
    """Train and use image classifiers (MNIST, CIFAR-10)."""


@image.command("train")
def train() -> None:
    """(Not implemented yet.)"""
    raise PhosnetError("'phosnet image train' is not implemented yet")
