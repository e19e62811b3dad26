"""Site tables (TSV/CSV via pandas): ``protein_id, position`` (1-based) and optional ``residue, label, kinases``.

Rows are checked against the proteins they refer to: an unknown protein, a position off the sequence or a
residue that does not match is an :class:`~phosnet.errors.InputError` naming the file and the row.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from phosnet.errors import InputError, located

if TYPE_CHECKING:  # pandas is imported when a table is read (a scan never needs it)
    import pandas as pd

MAX_POSITION = 2**31 - 1
"""Largest position accepted (no protein comes close; it keeps ``inf`` and ``1e20`` out of int64)."""

REQUIRED_COLUMNS = ("protein_id", "position")
_TRUE = {"1", "true", "yes", "y", "t", "positive", "pos"}
_FALSE = {"0", "false", "no", "n", "f", "negative", "neg"}


def _separator(path: Path, sep: str | None) -> str:
    if sep is not None:
        return sep
    suffixes = [s.lower() for s in path.suffixes if s.lower() != ".gz"]
    return "," if suffixes and suffixes[-1] == ".csv" else "\t"


def _row(index: int) -> str:
    """Name a data row as the file's line number (the header is line 1)."""
    return f"line {index + 2}"


def _parse_labels(values: pd.Series, name: str) -> pd.Series:
    import pandas as pd

    labels = []
    for index, value in values.items():
        text = str(value).strip().lower()
        if text in _TRUE:
            labels.append(1)
        elif text in _FALSE:
            labels.append(0)
        else:
            raise InputError(located(name, f"label {value!r} is not 0/1 or true/false", _row(int(str(index)))))
    return pd.Series(labels, index=values.index, dtype="int8")


def read_sites(
    path: str | os.PathLike, proteins: Mapping[str, str] | None = None, *, sep: str | None = None
) -> pd.DataFrame:
    """Read and validate a site table.

    Parameters
    ----------
    path
        TSV (default) or CSV (by suffix ``.csv``; ``.gz`` allowed) with a header line.
    proteins
        ``{protein_id: sequence}``; when given, every row must name a known protein, a position on its
        sequence and (if a ``residue`` column is present) the residue found there. A missing ``residue``
        column is filled in from the sequence.
    sep
        Field separator, to override the suffix.

    Returns
    -------
    DataFrame with ``protein_id`` (str), ``position`` (int64, 1-based), ``residue`` (when known), ``label``
    (int8; 1 when the column is absent: every listed site is then a positive) and any other columns as read.
    """
    import pandas as pd

    path = Path(path)
    name = str(path)
    if not path.exists():
        raise InputError(located(name, "no such file"))
    try:
        table = pd.read_csv(path, sep=_separator(path, sep), dtype=str, keep_default_na=False, comment=None)
    except (pd.errors.ParserError, UnicodeDecodeError, EOFError, OSError) as exc:
        raise InputError(located(name, f"cannot be read as a table ({str(exc).splitlines()[0]})")) from None
    except pd.errors.EmptyDataError:
        raise InputError(located(name, "is empty")) from None
    table.columns = [str(c).strip() for c in table.columns]
    missing = [c for c in REQUIRED_COLUMNS if c not in table.columns]
    if missing:
        raise InputError(located(name, f"missing column(s) {', '.join(missing)}; found {list(table.columns)}"))
    if table.empty:
        raise InputError(located(name, "has a header but no rows"))

    table["protein_id"] = table["protein_id"].str.strip()
    positions = pd.to_numeric(table["position"].str.strip(), errors="coerce").astype("float64")
    finite = pd.Series(np.isfinite(positions.to_numpy()), index=positions.index)
    bad = ~finite | (positions < 1) | (positions > MAX_POSITION) | (positions != positions.round())
    if bad.any():
        index = int(bad.idxmax())  # type: ignore[call-overload]
        raise InputError(
            located(
                name,
                f"position {table['position'][index]!r} is not a positive integer (1 to {MAX_POSITION})",
                _row(index),
            )
        )
    table["position"] = positions.astype("int64")
    if "residue" in table.columns:
        table["residue"] = table["residue"].str.strip().str.upper()
    table["label"] = _parse_labels(table["label"], name) if "label" in table.columns else pd.Series(
        1, index=table.index, dtype="int8"
    )

    if proteins is not None:
        residues = []
        for index, protein_id, position in zip(table.index, table["protein_id"], table["position"], strict=True):
            sequence = proteins.get(protein_id)
            if sequence is None:
                raise InputError(located(name, f"protein {protein_id!r} is not in the protein file", _row(index)))
            if position > len(sequence):
                raise InputError(
                    located(
                        name,
                        f"position {position} is past the end of {protein_id} ({len(sequence)} residues)",
                        _row(index),
                    )
                )
            residues.append(sequence[position - 1])
        if "residue" in table.columns:
            mismatch = table["residue"] != pd.Series(residues, index=table.index)
            if mismatch.any():
                index = int(mismatch.idxmax())  # type: ignore[call-overload]
                row = table.loc[index]
                raise InputError(
                    located(
                        name,
                        f"residue {row['residue']!r} at {row['protein_id']} position {row['position']} "
                        f"does not match the sequence ({residues[table.index.get_loc(index)]!r})",
                        _row(index),
                    )
                )
        else:
            table["residue"] = residues
    duplicated = table.duplicated(["protein_id", "position"])
    if duplicated.any():
        index = int(duplicated.idxmax())  # type: ignore[call-overload]
        raise InputError(located(name, "duplicate site (same protein_id and position)", _row(index)))
    return table
