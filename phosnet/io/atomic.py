"""Outputs that appear only when complete: write to a temporary file beside the target, then rename."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO


def is_stdio(path: str | os.PathLike | None) -> bool:
    """True for ``None`` and ``"-"``, the spellings of standard input/output."""
    return path is None or str(path) == "-"


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike | None, mode: str = "w", **open_kwargs) -> Iterator[IO]:
    """Open ``path`` for writing so that it exists only if the block completes.

    Writes go to a hidden temporary file in the same directory, renamed onto ``path`` on success and removed
    on any exception (Ctrl-C included). ``None`` or ``"-"`` yields standard output instead.
    """
    if is_stdio(path):
        yield sys.stdout.buffer if "b" in mode else sys.stdout
        return
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(fd, mode, **open_kwargs) as handle:
            yield handle
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
