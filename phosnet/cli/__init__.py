"""The ``phosnet`` command: a click group, one module per verb; each verb only parses and calls the API.

Errors the user can fix (:class:`~phosnet.errors.PhosnetError`) become one line on stderr and exit code 1;
``--debug`` shows the traceback instead. How a verb stops (Ctrl-C 130, SIGTERM 143, SIGHUP 129, with unfinished
outputs removed; a closed pipe quietly with 0) is :func:`phosnet.cli._stop.stops_cleanly`, which every registered
verb wears. ``-v``, ``-q`` and ``--debug`` may be given before or after the subcommand.
"""

from __future__ import annotations

import logging
import signal
import sys

import click

from phosnet import __version__, _startup
from phosnet.cli._options import CliState, root_state
from phosnet.cli._stop import Terminated, install_interrupt_handler, leave, termination_as_exception, wear_everywhere
from phosnet.errors import PhosnetError

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "show_default": True}
_state = {"debug": False}


def configure_logging(verbosity: int, quiet: bool) -> None:
    """Send phosnet's log records to stderr: WARNING by default, INFO with -v, DEBUG with -vv, ERROR with -q."""
    level = logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbosity, 2)]
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("phosnet: %(message)s"))
    package_logger = logging.getLogger("phosnet")
    package_logger.handlers[:] = [h for h in package_logger.handlers if isinstance(h, logging.NullHandler)]
    package_logger.addHandler(handler)
    package_logger.setLevel(level)
    package_logger.propagate = False


def _set_verbose(ctx: click.Context, param: click.Parameter, value: int) -> None:
    if value:
        state = root_state(ctx)
        state.verbosity += value
        configure_logging(state.verbosity, state.quiet)


def _set_quiet(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        state = root_state(ctx)
        state.quiet = True
        configure_logging(state.verbosity, state.quiet)


def _set_debug(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        root_state(ctx).debug = True
        _state["debug"] = True


def _common_options() -> list[click.Option]:
    return [
        click.Option(["-v", "--verbose"], count=True, expose_value=False, callback=_set_verbose,
                     help="More log messages on stderr (-vv for debug); also before the subcommand."),
        click.Option(["-q", "--quiet"], is_flag=True, expose_value=False, callback=_set_quiet,
                     help="Only errors on stderr; no progress bar; also before the subcommand."),
        click.Option(["--debug"], is_flag=True, expose_value=False, callback=_set_debug,
                     help="Show Python tracebacks for errors; also before the subcommand."),
    ]


def add_common_options(command: click.Command) -> None:
    """Give a subcommand (and those of a nested group) ``-v``, ``-q`` and ``--debug``, meaning the same as
    before it: ``phosnet scan x.fa -q`` is ``phosnet -q scan x.fa``."""
    taken = {opt for param in command.params for opt in getattr(param, "opts", [])}
    command.params.extend(option for option in _common_options() if not taken.intersection(option.opts))
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            add_common_options(sub)


@click.group(context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, "-V", "--version", prog_name="phosnet")
@click.option("-v", "--verbose", count=True, help="More log messages on stderr (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors on stderr; no progress bar.")
@click.option("--debug", is_flag=True, help="Show Python tracebacks for errors.")
@click.pass_context
def cli(ctx: click.Context, verbose: int, quiet: bool, debug: bool) -> None:
    """phosnet: predict AKT (PKB) phosphorylation sites (S/T) in proteins and proteomes."""
    _state["debug"] = debug
    configure_logging(verbose, quiet)
    ctx.obj = CliState(verbose, quiet, debug)


def _register() -> None:
    from phosnet.cli.enrich import enrich
    from phosnet.cli.explain import explain
    from phosnet.cli.image import image
    from phosnet.cli.map import map_command
    from phosnet.cli.models import models
    from phosnet.cli.scan import scan
    from phosnet.cli.serve import serve
    from phosnet.cli.sites import sites
    from phosnet.cli.train import evaluate, train
    from phosnet.cli.variants import variants

    for command in (scan, train, evaluate, models, image, explain, variants, map_command, enrich, sites, serve):
        add_common_options(command)
        cli.add_command(command)
    wear_everywhere(cli)  # every verb, a new one too, stops the one way (cli/_stop.py)


_register()


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``phosnet`` console script and ``python -m phosnet``."""
    install_interrupt_handler(_startup._interrupted)  # from here Ctrl-C cleans up on its way out
    try:
        with termination_as_exception():
            cli.main(args=argv, prog_name="phosnet", standalone_mode=False)
    except Terminated as exc:  # a stop before or after the verb ran (the verb's own stops_cleanly leaves itself)
        leave(exc.signum)
    except (click.exceptions.Abort, KeyboardInterrupt):
        leave(signal.SIGINT)
    except click.UsageError as exc:  # one line, like every other error, with where to read more
        command = exc.ctx.command_path if exc.ctx is not None else "phosnet"
        click.echo(f"phosnet: error: {exc.format_message()} (see '{command} --help')", err=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except PhosnetError as exc:
        if _state["debug"]:
            raise
        click.echo(f"phosnet: error: {exc}", err=True)
        sys.exit(1)
    except OSError as exc:  # a file the user named cannot be read or written: their problem to fix, one line
        if _state["debug"]:
            raise
        where = f"{exc.filename}: " if exc.filename else ""
        click.echo(f"phosnet: error: {where}{exc.strerror or exc}", err=True)
        sys.exit(1)
    except Exception as exc:
        if _state["debug"]:
            raise
        click.echo(f"phosnet: internal error: {type(exc).__name__}: {exc} (run with --debug for details)", err=True)
        sys.exit(1)
    sys.exit(0)
