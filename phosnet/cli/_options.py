"""Options that several verbs share: the model, the calling rule, the engine.

Each is defined once here, so ``scan``, ``explain``, ``variants`` and ``map`` spell and document them alike.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from phosnet.calling import STRINGENCY
from phosnet.engines import ENGINE_HELP, ENGINES

F = TypeVar("F", bound=Callable[..., Any])

class CliState:
    """Options of the group that subcommands need (``ctx.obj``)."""

    def __init__(self, verbosity: int, quiet: bool, debug: bool) -> None:
        self.verbosity = verbosity
        self.quiet = quiet
        self.debug = debug


def root_state(ctx: click.Context) -> CliState:
    """The group's :class:`CliState` (made when a verb runs without the group, as in tests)."""
    root = ctx.find_root()
    if not isinstance(root.obj, CliState):
        root.obj = CliState(0, False, False)
    return root.obj


def is_quiet(ctx: click.Context) -> bool:
    """Whether ``-q`` was given before or after the subcommand."""
    return root_state(ctx).quiet


model_option = click.option(
    "-m", "--model", default=None, metavar="NAME|PATH",
    help="Bundled model name, .keras file or training run folder  [default: the bundled akt-default]",
)
"""``-m/--model``: which model scores."""

engine_option = click.option("--engine", type=click.Choice(ENGINES), default="auto", help=ENGINE_HELP)
"""``--engine``: which engine runs the model."""


def call_options(command: F) -> F:
    """``--stringency``, ``--threshold`` and ``--specificity``: the rule that turns a score into a call."""
    options = [
        click.option("--stringency", type=click.Choice(list(STRINGENCY)), default=None,
                     help="Call the top 0.2% (high), 1% (medium) or 5% (low) of the model's reference background "
                          "(every S/T of the human proteome for the bundled models)  [default: medium]"),
        click.option("--threshold", type=float, default=None, help="Instead: call a site when score >= this."),
        click.option("--specificity", type=float, default=None,
                     help="Instead: the model's stored threshold for this specificity (e.g. 0.95) among the S/T "
                          "of known substrates."),
    ]
    for option in reversed(options):
        command = option(command)
    return command
