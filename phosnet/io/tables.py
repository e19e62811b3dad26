"""The one output layer for tables: format from the suffix, one number formatter, one atomic write path.

Every verb that writes a table goes through here, and so will new ones::

    from phosnet.io.tables import write_table
    write_table(frame, "out.csv")          # or a list/iterator of DataFrames with the same columns; "-" = stdout

* **Format** (:func:`table_format`): ``fmt`` if given, else the path's suffix, a final ``.gz`` looked through
  (the file is then gzip-compressed): ``.tsv``/``.txt``/``.tab`` TSV, ``.csv`` CSV, ``.gff3``/``.gff`` GFF3
  where the table is a site table (``kind="sites"``); standard output and other suffixes TSV.
* **Numbers**: floats are written as the scan writes scores (:func:`phosnet.io.rows.format_scores`: nine
  significant digits, so every float32 reads back exactly, and positional, never ``4.4e-05``, so ``sort -n``
  orders them as the model does; a fixed number of decimals would tie most small scores at zero); missing values
  are empty fields; booleans ``true``/``false``.
* **Writing** (:func:`open_table`): through :func:`phosnet.io.atomic.atomic_output` (a regular file appears only
  when complete; stdout, FIFOs and devices get whole rows), header once, and a failed write is one
  :class:`~phosnet.errors.PhosnetError` line naming the output (:func:`phosnet.io.atomic.write_errors`). A closed
  pipe raises :class:`BrokenPipeError` for the caller (the CLI stops quietly).

Site tables (the scan's :class:`~phosnet.io.rows.SiteRows` blocks) are laid out by
:class:`phosnet.io.writers.SiteWriter`; DataFrames by :class:`FrameWriter`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Literal, overload

import numpy as np

from phosnet.io.atomic import atomic_output, write_errors
from phosnet.io.rows import format_scores
from phosnet.io.writers import FORMATS, SiteWriter

if TYPE_CHECKING:
    import pandas as pd

TableKind = Literal["table", "sites"]
"""``"table"``: DataFrames, TSV or CSV. ``"sites"``: the scan's site rows, TSV, CSV or GFF3."""

KIND_FORMATS: dict[str, tuple[str, ...]] = {"table": ("tsv", "csv"), "sites": FORMATS}
"""The formats each kind of table can be written in."""

FIGURE_FORMATS = ("png", "svg", "pdf")
"""Figure formats (:func:`phosnet.plots.write_figures`), chosen by the output's suffix."""

SUFFIXES = {".tsv": "tsv", ".txt": "tsv", ".tab": "tsv", ".csv": "csv", ".gff3": "gff3", ".gff": "gff3"}
"""Output suffix -> format (a final ``.gz`` is looked through)."""


def table_format(path: str | os.PathLike | None, fmt: str | None = None, *, kind: TableKind = "table") -> str:
    """The format a table is written in: ``fmt`` if given, else from the suffix of ``path``.

    Standard output (``None`` or ``"-"``), unknown suffixes and a suffix the kind cannot be written in give
    ``"tsv"``; a final ``.gz`` is looked through. A ``fmt`` the kind cannot be written in is a ``ValueError``.

    >>> table_format("out.csv"), table_format("-"), table_format("x.csv.gz"), table_format("x.csv", "tsv")
    ('csv', 'tsv', 'csv', 'tsv')
    >>> table_format("out.gff3", kind="sites"), table_format("out.gff3")
    ('gff3', 'tsv')
    """
    formats = KIND_FORMATS[kind]
    if fmt is not None:
        fmt = fmt.lower()
        if fmt not in formats:
            raise ValueError(f"format must be one of {', '.join(formats)}, not {fmt!r}")
        return fmt
    if path is None or os.fspath(path) == "-":
        return "tsv"
    name = Path(path)
    if name.suffix.lower() == ".gz":
        name = name.with_suffix("")
    found = SUFFIXES.get(name.suffix.lower(), "tsv")
    return found if found in formats else "tsv"


class FrameWriter:
    """Write DataFrames (same columns) to an open text handle as TSV or CSV; the header goes out once."""

    def __init__(self, handle: IO[str], fmt: str = "tsv") -> None:
        self.handle = handle
        self.fmt = table_format(None, fmt)
        self.rows = 0
        self._header = True

    def write(self, frame: pd.DataFrame) -> None:
        """Append ``frame``'s rows (the header before the first block, even an empty one)."""
        import pandas as pd

        out = frame.copy(deep=False)
        for column in out.columns:
            if out[column].dtype == bool:
                out[column] = out[column].map({True: "true", False: "false"})
            elif pd.api.types.is_float_dtype(out[column].dtype):  # the scan's one number formatter
                values = out[column].to_numpy(dtype=np.float64)
                text = np.array(format_scores(values), dtype=object)
                text[np.isnan(values)] = ""
                out[column] = text
        out.to_csv(self.handle, sep="\t" if self.fmt == "tsv" else ",", index=False, header=self._header,
                   na_rep="", lineterminator="\n")
        self._header = False
        self.rows += len(frame)


@overload
def open_table(
    output: str | os.PathLike | None = ..., fmt: str | None = ..., *, kind: Literal["table"] = ...
) -> contextlib.AbstractContextManager[FrameWriter]: ...
@overload
def open_table(
    output: str | os.PathLike | None, fmt: str | None = ..., *, kind: Literal["sites"]
) -> contextlib.AbstractContextManager[SiteWriter]: ...


def open_table(
    output: str | os.PathLike | None = "-", fmt: str | None = None, *, kind: TableKind = "table"
) -> contextlib.AbstractContextManager[FrameWriter | SiteWriter]:
    """A table writer on ``output`` (``"-"`` = stdout), format from ``fmt`` or the suffix (:func:`table_format`).

    ``kind="table"`` yields a :class:`FrameWriter` (``write(frame)``), ``kind="sites"`` a
    :class:`~phosnet.io.writers.SiteWriter` (``write(site_rows)``); either counts ``rows``. The file appears only
    if the block completes; a failed write is a :class:`~phosnet.errors.PhosnetError` naming ``output``.
    """
    return _open_table(output, table_format(output, fmt, kind=kind), kind)


@contextlib.contextmanager
def _open_table(output: str | os.PathLike | None, fmt: str, kind: TableKind) -> Iterator[FrameWriter | SiteWriter]:
    with write_errors("-" if output is None else output), atomic_output(output) as handle:
        writer: FrameWriter | SiteWriter = SiteWriter(handle, fmt) if kind == "sites" else FrameWriter(handle, fmt)
        if isinstance(writer, SiteWriter):
            writer.write_header()
        yield writer
        handle.flush()


def write_table(
    table: pd.DataFrame | Iterable[pd.DataFrame], output: str | os.PathLike | None = "-", *, fmt: str | None = None
) -> int:
    """Write a DataFrame, or a stream of them with the same columns, as one table (TSV/CSV); returns the rows.

    Streamed frames are written as they come (the header once), so a long computation never holds the whole
    table. See :func:`open_table` for the format, the atomic write and the errors.
    """
    import pandas as pd

    frames = [table] if isinstance(table, pd.DataFrame) else table
    with open_table(output, fmt) as writer:
        for frame in frames:
            writer.write(frame)
        return writer.rows


__all__ = ["FIGURE_FORMATS", "KIND_FORMATS", "SUFFIXES", "FrameWriter", "open_table", "table_format", "write_table"]
