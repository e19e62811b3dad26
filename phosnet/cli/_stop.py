"""How a verb stops: the one wrapper every verb wears (:func:`stops_cleanly`), and the exit after a stop signal.

* Ctrl-C exits 130, SIGTERM 143, SIGHUP 129 (SLURM and Snakemake stop jobs with SIGTERM): while a verb runs,
  SIGTERM and SIGHUP are raised as :class:`Terminated` (like Ctrl-C's ``KeyboardInterrupt``), so every unfinished
  output's temporary file is removed as the exception unwinds; then :func:`leave` says why in one line and exits.
* A closed stdout (``| head``) is a normal way to stop: exit code 0, nothing on stderr (click would exit 1).
* Safety nets: a stop exception Python drops inside a finalizer ends the command through the unraisable hook, and
  a daemon timer ends it if the exception never arrives (a library swallowed it).

Modelled on cooler's ``exit_on_broken_pipe``; :func:`phosnet.cli.main` and the verb registration apply it, so a
new verb gets it without asking.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any, NoReturn, TypeVar

import click

logger = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

STOP_GRACE_SECONDS = 3.0
"""After a stop signal, how long the exception may take to unwind before the process leaves without it."""


class Terminated(BaseException):
    """Raised in the main thread when SIGTERM or SIGHUP arrives (a ``BaseException``, like Ctrl-C's
    ``KeyboardInterrupt``, so ``except Exception`` clauses do not swallow it and cleanup code runs)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _stop_message(signum: int) -> str:
    if signum == signal.SIGINT:
        return "phosnet: interrupted"
    return f"phosnet: stopped by {signal.Signals(signum).name}; unfinished outputs removed"


def leave(signum: int) -> NoReturn:
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
    """Arm a daemon timer that leaves (:func:`leave`) if the stop exception has not ended the command by then:
    a library may swallow it, and the command would go on, or hang, with further signals ignored."""
    timer = threading.Timer(STOP_GRACE_SECONDS, leave, (signum,))
    timer.daemon = True
    timer.start()


def _unraisable(hook: Any) -> None:
    """A stop exception raised while a finalizer or weakref callback ran (the signal handler ran inside one) is
    dropped by Python with an "Exception ignored" traceback: leave at once instead, as the exception would have."""
    exc = hook.exc_value
    if isinstance(exc, Terminated):
        leave(exc.signum)
    elif isinstance(exc, KeyboardInterrupt):
        leave(signal.SIGINT)
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


def install_interrupt_handler(startup_handler: Any = None) -> None:
    """For the command's process (main thread): Ctrl-C raises with the safety net from here on (replacing Python's
    default handler or the quiet start-up one, ``startup_handler``), and the unraisable hook is set."""
    if signal.getsignal(signal.SIGINT) in (startup_handler, signal.default_int_handler):
        signal.signal(signal.SIGINT, _raise_interrupt)
    sys.unraisablehook = _unraisable


@contextlib.contextmanager
def termination_as_exception() -> Iterator[None]:
    """Turn SIGTERM and SIGHUP into :class:`Terminated` while the block runs (main thread only; nested: no-op)."""
    previous = {}
    for name in ("SIGTERM", "SIGHUP"):
        signum = getattr(signal, name, None)
        if signum is None:
            continue
        with contextlib.suppress(ValueError, OSError):  # not the main thread, or no such signal here
            if signal.getsignal(signum) is not _raise_terminated:
                previous[signum] = signal.signal(signum, _raise_terminated)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            with contextlib.suppress(ValueError, OSError, TypeError):
                signal.signal(signum, handler)


def reader_gone() -> NoReturn:
    """The reader of stdout went away (``| head``): point stdout at ``/dev/null`` (so Python's flush at exit does
    not complain) and stop quietly with exit code 0."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):  # stdout without a file descriptor (captured in tests)
        pass
    logger.info("output closed by the reader; stopped")
    raise click.exceptions.Exit(0)


def stops_cleanly(command: F) -> F:
    """What every verb wears: stop signals unwind as exceptions (temporary files removed) and end the process with
    one line and 128 + signal; a closed stdout ends it quietly with 0."""
    if getattr(command, "_stops_cleanly", False):
        return command

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            with termination_as_exception():
                return command(*args, **kwargs)
        except BrokenPipeError:
            reader_gone()
        except Terminated as exc:
            leave(exc.signum)
        except KeyboardInterrupt:
            leave(signal.SIGINT)

    run._stops_cleanly = True  # type: ignore[attr-defined]
    return run  # type: ignore[return-value]


def wear_everywhere(command: click.Command) -> None:
    """Make ``command`` (and every subcommand of a group) wear :func:`stops_cleanly`."""
    if command.callback is not None:
        command.callback = stops_cleanly(command.callback)
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            wear_everywhere(sub)


__all__ = ["Terminated", "install_interrupt_handler", "leave", "reader_gone", "stops_cleanly",
           "termination_as_exception", "wear_everywhere"]
