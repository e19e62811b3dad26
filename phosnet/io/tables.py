"""Tidy tables of the what-if tools (``explain``, ``variants``) written as TSV or CSV, batch by batch.

The header is written once; numbers are written as the scan writes scores (:func:`phosnet.io.rows.format_scores`:
nine significant digits, so every float32 reads back exactly, and positional, never ``4.4e-05``, so ``sort -n``
orders them as the model does; a fixed number of decimals would tie most small scores at zero); missing values
(no site, no background percentile) are empty fields; booleans are ``true``/``false`` as in the scan's tables.
Combine with :func:`phosnet.io.atomic.atomic_output`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

from phosnet.io.rows import format_scores

TABLE_FORMATS = ("tsv", "csv")


def table_format(path: str | os.PathLike | None, fmt: str | None = None) -> str:
    """``fmt``, or ``csv`` for a ``.csv`` path, else ``tsv`` (stdout included).

    >>> table_format("out.csv"), table_format("-"), table_format("x.tsv")
    ('csv', 'tsv', 'tsv')
    """
    if fmt is not None:
        if fmt not in TABLE_FORMATS:
            raise ValueError(f"table format must be tsv or csv, not {fmt!r}")
        return fmt
    if path is None or str(path) == "-":
        return "tsv"
    suffixes = [s.lower() for s in Path(path).suffixes if s.lower() != ".gz"]
    return "csv" if suffixes and suffixes[-1] == ".csv" else "tsv"


def write_frames(handle: IO[str], frames: Iterable[pd.DataFrame], fmt: str = "tsv") -> int:
    """Write ``frames`` (same columns) to ``handle`` with one header; return the number of rows."""
    rows = 0
    header = True
    for frame in frames:
        out = frame.copy(deep=False)
        for column in out.columns:
            if out[column].dtype == bool:
                out[column] = out[column].map({True: "true", False: "false"})
            elif pd.api.types.is_float_dtype(out[column].dtype):  # the scan's one number formatter
                values = out[column].to_numpy(dtype=np.float64)
                text = np.array(format_scores(values), dtype=object)
                text[np.isnan(values)] = ""
                out[column] = text
        out.to_csv(handle, sep="\t" if fmt == "tsv" else ",", index=False, header=header, na_rep="",
                   lineterminator="\n")
        header = False
        rows += len(frame)
    return rows
