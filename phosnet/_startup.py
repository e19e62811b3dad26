"""Imported first by ``phosnet/__init__.py``: a quiet Ctrl-C while the ``phosnet`` command starts.

When this process is the ``phosnet`` command (console script or ``python -m phosnet``), Ctrl-C before its
entry point runs (numpy, pandas and Biopython import: over a second on a busy machine) exits 130 with one line
instead of a traceback. :func:`phosnet.cli.main` restores Python's handler, so later interrupts raise
``KeyboardInterrupt`` and clean up as usual. A library import (any other program) is left alone.
"""

from __future__ import annotations

import os
import signal
import sys


def _interrupted(signum: int, frame: object) -> None:
    os.write(2, b"phosnet: interrupted\n")
    os._exit(130)


def _is_phosnet_command(argv: list[str]) -> bool:
    return argv[1:3] == ["-m", "phosnet"] or (len(argv) > 1 and os.path.basename(argv[1]) == "phosnet")


if (
    _is_phosnet_command(list(getattr(sys, "orig_argv", [])))
    and signal.getsignal(signal.SIGINT) is signal.default_int_handler
):
    signal.signal(signal.SIGINT, _interrupted)
