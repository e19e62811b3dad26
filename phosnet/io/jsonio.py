"""The one JSON writer (atomic, numpy-aware) and its reader: run folders, metrics, scan summaries."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from phosnet.io.atomic import atomic_output, write_errors


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented JSON, atomically (numpy scalars/arrays and paths are converted; a ``.gz`` name
    is compressed). A failed write (read-only or full disk) is a :class:`~phosnet.errors.PhosnetError` naming
    ``path``."""
    text = json.dumps(obj, indent=2, sort_keys=False, default=_json_default) + "\n"
    with write_errors(path), atomic_output(path) as handle:
        handle.write(text)


def read_json(path: str | os.PathLike) -> Any:
    """Read a JSON file written by :func:`write_json`."""
    with open(path) as handle:
        return json.load(handle)


__all__ = ["read_json", "write_json"]
