"""The ``phosnet`` command: a click group, one module per verb; each verb only parses and calls the API.

Errors the user can fix (:class:`~phosnet.errors.PhosnetError`) become one line on stderr and exit code 1;
``--debug`` shows the traceback instead. Ctrl-C exits 130, SIGTERM 143 and SIGHUP 129 (SLURM and Snakemake
stop jobs with SIGTERM): each is raised as an exception, so that the temporary files of unfinished outputs are
removed on the way out. A closed pipe (``| head``) stops ``scan`` quietly with exit code 0. ``-v``, ``-q`` and
``--debug`` may be given before or after the subcommand.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any

import click

from phosnet import __version__, _startup
from phosnet.cli._options import CliState, root_state
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


class Terminated(BaseException):
    """Raised in the main thread when SIGTERM or SIGHUP arrives (a ``BaseException``, like Ctrl-C's
    ``KeyboardInterrupt``, so ``except Exception`` clauses do not swallow it and cleanup code runs)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


STOP_GRACE_SECONDS = 3.0
"""After a stop signal, how long the exception may take to unwind before the process leaves without it."""


def _stop_message(signum: int) -> str:
    if signum == signal.SIGINT:
        return "phosnet: interrupted"
    return f"phosnet: stopped by {signal.Signals(signum).name}; unfinished outputs removed"


def _leave(signum: int) -> None:
    """Exit at once after an interrupt or a stop signal, from any thread. The temporary files are gone already
    (removed while the exception unwound; any a badly timed signal left registered are removed here); waiting for
    worker threads at interpreter shutdown could hang (a thread caught in an import when the signal came), so say
    why in one line, flush the streams and leave without joining them."""
    from phosnet.io.atomic import remove_live_temps

    remove_live_temps()
    with contextlib.suppress(Exception):
        click.echo(_stop_message(signum), err=True)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(128 + signum)


def _leave_if_stuck(signum: int) -> None:
    """Arm a daemon timer that leaves (:func:`_leave`) if the stop exception has not ended the command by then:
    a library may swallow it, and the command would go on, or hang, with further signals ignored."""
    timer = threading.Timer(STOP_GRACE_SECONDS, _leave, (signum,))
    timer.daemon = True
    timer.start()


def _unraisable(hook: Any) -> None:
    """A stop exception raised while a finalizer or weakref callback ran (the signal handler ran inside one) is
    dropped by Python with an "Exception ignored" traceback: leave at once instead, as the exception would have."""
    exc = hook.exc_value
    if isinstance(exc, Terminated):
        _leave(exc.signum)
    elif isinstance(exc, KeyboardInterrupt):
        _leave(signal.SIGINT)
    sys.__unraisablehook__(hook)


def _raise_terminated(signum: int, frame: Any) -> None:
    # Further signals of the kind are ignored while the cleanup runs; the exit follows at once.
    signal.signal(signum, signal.SIG_IGN)
    _leave_if_stuck(signum)
    raise Terminated(signum)


def _raise_interrupt(signum: int, frame: Any) -> None:
    """Ctrl-C: ``KeyboardInterrupt`` as Python's default handler raises it, with the same safety net."""
    _leave_if_stuck(signum)
    raise KeyboardInterrupt


@contextlib.contextmanager
def _termination_as_exception() -> Iterator[None]:
    """Turn SIGTERM and SIGHUP into :class:`Terminated` while the command runs (main thread only)."""
    previous = {}
    for name in ("SIGTERM", "SIGHUP"):
        signum = getattr(signal, name, None)
        if signum is None:
            continue
        with contextlib.suppress(ValueError, OSError):  # not the main thread, or no such signal here
            previous[signum] = signal.signal(signum, _raise_terminated)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            with contextlib.suppress(ValueError, OSError, TypeError):
                signal.signal(signum, handler)


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
    from phosnet.cli.sites import sites
    from phosnet.cli.train import evaluate, train
    from phosnet.cli.variants import variants

    for command in (scan, train, evaluate, models, image, explain, variants, map_command, enrich, sites):
        add_common_options(command)
        cli.add_command(command)


_register()


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``phosnet`` console script and ``python -m phosnet``."""
    if signal.getsignal(signal.SIGINT) in (_startup._interrupted, signal.default_int_handler):
        signal.signal(signal.SIGINT, _raise_interrupt)  # from here Ctrl-C cleans up on its way out
    sys.unraisablehook = _unraisable
    try:
        with _termination_as_exception():
            cli.main(args=argv, prog_name="phosnet", standalone_mode=False)
    except Terminated as exc:
        _leave(exc.signum)
    except click.exceptions.Abort:
        _leave(signal.SIGINT)
    except click.UsageError as exc:  # one line, like every other error, with where to read more
        command = exc.ctx.command_path if exc.ctx is not None else "phosnet"
        click.echo(f"phosnet: error: {exc.format_message()} (see '{command} --help')", err=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        _leave(signal.SIGINT)
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
