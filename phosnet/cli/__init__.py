"""The ``phosnet`` command: a click group, one module per verb; each verb only parses and calls the API.

Errors the user can fix (:class:`~phosnet.errors.PhosnetError`) become one line on stderr and exit code 1;
``--debug`` shows the traceback instead. Ctrl-C exits 130; a closed pipe (``| head``) stops ``scan``
quietly with exit code 0.
"""

from __future__ import annotations

import logging
import sys

import click

from phosnet import __version__
from phosnet.errors import PhosnetError

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "show_default": True}
_state = {"debug": False}


class CliState:
    """Options of the group that subcommands need (``ctx.obj``)."""

    def __init__(self, verbosity: int, quiet: bool, debug: bool) -> None:
        self.verbosity = verbosity
        self.quiet = quiet
        self.debug = debug


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
    from phosnet.cli.explain import explain
    from phosnet.cli.image import image
    from phosnet.cli.models import models
    from phosnet.cli.scan import scan
    from phosnet.cli.sitemap import sitemap
    from phosnet.cli.train import evaluate, train
    from phosnet.cli.variants import variants

    for command in (scan, train, evaluate, models, image, explain, variants, sitemap):
        cli.add_command(command)


_register()


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``phosnet`` console script and ``python -m phosnet``."""
    try:
        cli.main(args=argv, prog_name="phosnet", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("phosnet: interrupted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("phosnet: interrupted", err=True)
        sys.exit(130)
    except PhosnetError as exc:
        if _state["debug"]:
            raise
        click.echo(f"phosnet: error: {exc}", err=True)
        sys.exit(1)
    except Exception as exc:
        if _state["debug"]:
            raise
        click.echo(f"phosnet: internal error: {type(exc).__name__}: {exc} (run with --debug for details)", err=True)
        sys.exit(1)
    sys.exit(0)
