"""Labelled windows from a site table and proteins, and protein-cluster splits; no TensorFlow here.

A *site table* (:func:`phosnet.io.sites.read_sites`) lists ``protein_id, position`` and optionally ``label``,
``split`` and ``cluster``. Two layouts are accepted:

* **every candidate listed** (some rows have ``label = 0``): the rows are used as they are, e.g. phosnet's
  default ``data/akt_sites.tsv`` (every S/T of the 303 AKT substrates);
* **positives only** (no ``label`` column, or only 1s): the negatives are every other candidate residue
  (``residues``, default S/T) of the same proteins, the field's convention.

Windows are always cut from the protein sequences (``2 * flank + 1`` residues, ``X`` past either end), so a
``window`` column in the table is ignored.

Splits. A ``split`` column (values ``train``, ``validation``, ``test``, or the synonyms ``training``, ``val``,
``valid``, ``dev``, ``testing``; any other value is an error naming it and its lines) is used as is; the
default dataset's split puts whole cd-hit 40%-identity clusters on one side. Without it,
:func:`split_by_group` assigns whole groups (the ``cluster`` column if present, else each protein on its own)
to train/validation/test at random with a seed. Splitting by protein alone lets homologs (orthologous
human/mouse/rat proteins) straddle the split and inflates the validation score; cluster the proteins first
(``cd-hit -c 0.4 -n 2``) and give a ``cluster`` column when that matters.

Pretraining tables (:func:`read_window_table`) are plain ``window, label`` tables, e.g. known human
phosphosites against other S/T of the same proteins.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from phosnet.encoding import decode, one_hot, sequence_to_index, to_index
from phosnet.errors import InputError, located
from phosnet.io.fasta import read_proteins
from phosnet.io.sites import read_sites
from phosnet.windows import DEFAULT_FLANK, DEFAULT_RESIDUES, all_windows, check_window_options, window_indices

SPLIT_SYNONYMS = {
    "train": "train", "training": "train",
    "validation": "validation", "valid": "validation", "val": "validation", "dev": "validation",
    "test": "test", "testing": "test",
}
"""Accepted values of a split column (case and surrounding spaces ignored) and the split each one means."""


def normalize_splits(values: pd.Series, name: str, column: str = "split") -> pd.Series:
    """Map a split column to ``train``/``validation``/``test`` (:data:`SPLIT_SYNONYMS`).

    Any other value (a typo such as ``tset``, an empty cell) is an :class:`~phosnet.errors.InputError` that names
    the values and the first lines holding them: rows are never dropped silently.
    """
    cleaned = values.astype(str).str.strip().str.lower()
    mapped = cleaned.map(SPLIT_SYNONYMS)
    unknown = mapped.isna()
    if unknown.any():
        shown = []
        for value in dict.fromkeys(values[unknown].astype(str)):
            where = values.index[unknown & (values.astype(str) == value)]
            lines = ", ".join(f"{i + 2}" for i in where[:3]) + (", ..." if len(where) > 3 else "")
            shown.append(f"{value!r} ({len(where)} row{'s' * (len(where) > 1)}, line {lines})")
        raise InputError(
            located(name, f"{column} column has values other than train/validation/test: {'; '.join(shown[:5])}"
                    f"{' ...' if len(shown) > 5 else ''} (accepted: {', '.join(SPLIT_SYNONYMS)})")
        )
    return mapped


@dataclass
class LabelledWindows:
    """Windows with labels: ``table`` (one row per site: ``protein_id, position, residue, label, split``, ...),
    and ``index``, the matching ``(n, 2 * flank + 1)`` int8 index encoding (``X`` = 20)."""

    table: pd.DataFrame
    index: np.ndarray
    flank: int
    residues: str

    def __len__(self) -> int:
        return len(self.table)

    @property
    def labels(self) -> np.ndarray:
        """0/1 labels as ``float32`` (what Keras wants)."""
        return self.table["label"].to_numpy(dtype=np.float32)

    def inputs(self, encoding: str = "onehot") -> np.ndarray:
        """Model input: ``(n, L, 21)`` float32 one-hot (``"onehot"``) or ``(n, L)`` int32 indices (``"index"``)."""
        if encoding == "onehot":
            return one_hot(self.index)
        if encoding == "index":
            return self.index.astype(np.int32)
        raise ValueError(f"encoding must be 'onehot' or 'index', got {encoding!r}")

    def subset(self, split: str | None) -> LabelledWindows:
        """The rows of one split (``None`` or ``"all"``: every row)."""
        if split in (None, "all"):
            return self
        mask = (self.table["split"] == split).to_numpy()
        return LabelledWindows(self.table[mask].reset_index(drop=True), self.index[mask], self.flank, self.residues)

    def windows(self) -> list[str]:
        """The windows as strings."""
        return decode(self.index)


def split_by_group(
    groups: pd.Series, *, fractions: tuple[float, float, float] = (0.7, 0.15, 0.15), seed: int = 0
) -> pd.Series:
    """Assign whole groups to ``train``/``validation``/``test`` at random, about ``fractions`` of the groups each.

    Parameters
    ----------
    groups
        One group name per row (a protein id or a cluster id).
    fractions
        Shares of groups for train, validation and test (normalised to sum to 1).
    seed
        Seed of the shuffle; the same seed gives the same split.

    Returns
    -------
    pandas.Series
        The split name of each row, same index as ``groups``.

    >>> split_by_group(pd.Series(["a", "a", "b", "c"]), seed=1).tolist()[:2]
    ['train', 'train']
    """
    names = np.array(sorted(set(groups)))
    if len(names) < 3:
        raise InputError(f"need 3 or more proteins (or clusters) for a train/validation/test split, got {len(names)}")
    rng = np.random.default_rng(seed)
    names = names[rng.permutation(len(names))]
    share = np.asarray(fractions, dtype=float) / float(sum(fractions))
    n_val = max(1, int(round(share[1] * len(names))))
    n_test = max(1, int(round(share[2] * len(names)))) if share[2] > 0 else 0
    n_train = len(names) - n_val - n_test
    if n_train < 1:
        raise InputError(f"too few proteins ({len(names)}) for a train/validation/test split")
    assignment = {g: "train" for g in names[:n_train]}
    assignment.update({g: "validation" for g in names[n_train:n_train + n_val]})
    assignment.update({g: "test" for g in names[n_train + n_val:]})
    return groups.map(assignment)


def kinase_labels(labels: Iterable[int], kinase_cells: Iterable[object], kinases: Iterable[str]) -> np.ndarray:
    """0/1 labels for a model of ``kinases``: a positive whose ``kinases`` cell names only other kinases is another
    kinase's site, so a negative; a positive with an empty cell keeps its label (the table's own kinase).

    >>> kinase_labels([1, 1, 1, 0], ["AKT1", "PRKACA", None, ""], ["AKT1", "AKT2"]).tolist()
    [1, 0, 1, 0]
    >>> kinase_labels([1], ["PRKACA, AKT2"], ["AKT2"]).tolist()
    [1]
    """
    wanted = {k.strip().upper() for k in kinases}
    out = []
    for label, cell in zip(labels, kinase_cells, strict=True):
        named = {k.strip().upper() for k in str(cell).split(",") if k.strip()} if isinstance(cell, str) else set()
        out.append(int(label) if not named or named & wanted else 0)
    return np.asarray(out, dtype=np.int8)


def table_kinases(table: pd.DataFrame) -> list[str]:
    """The kinases a site table's positives name in its ``kinases`` column (sorted; empty without one).

    >>> table_kinases(pd.DataFrame({"label": [1, 1, 0], "kinases": ["AKT1,AKT2", "AKT3", "PRKACA"]}))
    ['AKT1', 'AKT2', 'AKT3']
    """
    if "kinases" not in table.columns:
        return []
    cells = table.loc[table["label"] == 1, "kinases"] if "label" in table.columns else table["kinases"]
    return sorted({k.strip().upper() for cell in cells if isinstance(cell, str) for k in cell.split(",") if k.strip()})


def labelled_windows(
    sites: str | os.PathLike | pd.DataFrame,
    proteins: str | os.PathLike | Mapping[str, str],
    *,
    flank: int = DEFAULT_FLANK,
    residues: str = DEFAULT_RESIDUES,
    split_column: str = "split",
    split_seed: int = 0,
    fractions: tuple[float, float, float] = (0.7, 0.15, 0.15),
    missing_split: str = "random",
    kinases: Iterable[str] | None = None,
) -> LabelledWindows:
    """Read a site table and proteins into labelled, split windows.

    Parameters
    ----------
    sites
        A site table path (TSV/CSV, see :func:`phosnet.io.sites.read_sites`) or an already-read DataFrame.
    proteins
        A FASTA path or ``{protein_id: sequence}``.
    flank
        Residues on each side of the centre. Default: 15 (windows of 31).
    residues
        Candidate residues (``"ST"``, ``"STY"``, ...) for the negatives of a positives-only table; rows of a
        fully labelled table must also be one of them. Default: ``"ST"``.
    split_column
        Column holding ``train``/``validation``/``test``. When the table has no such column the split is made
        here with :func:`split_by_group` (by ``cluster`` if present, else by protein). Default: ``"split"``.
    split_seed, fractions
        Seed and train/validation/test shares of that internal split.
    missing_split
        What to do without a split column: ``"random"`` (split as above) or ``"none"`` (every row gets
        ``split = "all"``, for evaluation).
    kinases
        The model's kinases: with a ``kinases`` column, positives of other kinases only become negatives
        (:func:`kinase_labels`). ``None``: the labels as they are.

    Returns
    -------
    LabelledWindows
        With a ``split`` column in ``table``; split values other than :data:`SPLIT_SYNONYMS` are an error.
    """
    residues = check_window_options(residues, flank)
    sequences = dict(proteins) if isinstance(proteins, Mapping) else read_proteins(proteins)
    name = "site table" if isinstance(sites, pd.DataFrame) else str(sites)
    table = sites.copy() if isinstance(sites, pd.DataFrame) else read_sites(sites, sequences)
    if split_column in table.columns:
        table[split_column] = normalize_splits(table[split_column], name, split_column)
    elif split_column != "split":
        raise InputError(located(name, f"no column {split_column!r} (the split column asked for); "
                                       f"columns: {', '.join(map(str, table.columns))}"))
    if "label" not in table.columns:
        table["label"] = 1
    table["label"] = table["label"].astype(np.int8)
    if "residue" not in table.columns:
        table["residue"] = [sequences[p][q - 1] for p, q in zip(table["protein_id"], table["position"], strict=True)]
    wrong = ~table["residue"].isin(list(residues))
    if wrong.any():
        row = table[wrong].iloc[0]
        raise InputError(
            located(name, f"site {row['protein_id']} {row['position']} is {row['residue']!r}, not one of "
                    f"{residues!r} (use --residues)")
        )

    if (table["label"] == 0).any():
        rows = table
    else:  # positives only: every other candidate residue of these proteins is a negative
        per_protein = {c: table.groupby("protein_id")[c].first() for c in table.columns
                       if c not in {"protein_id", "position", "residue", "label", "kinases", "window"}}
        known = set(zip(table["protein_id"], table["position"], strict=True))
        extra = []
        for pid in table["protein_id"].unique():
            positions, _ = window_indices(sequences[pid], residues, 0)
            for position in positions.tolist():
                if (pid, position) not in known:
                    extra.append({"protein_id": pid, "position": position, "residue": sequences[pid][position - 1],
                                  "label": 0, **{c: values[pid] for c, values in per_protein.items()}})
        rows = pd.concat([table, pd.DataFrame(extra)], ignore_index=True) if extra else table
        rows["label"] = rows["label"].astype(np.int8)
        rows = rows.sort_values(["protein_id", "position"], kind="stable").reset_index(drop=True)

    if split_column in rows.columns:
        rows = rows.rename(columns={split_column: "split"}) if split_column != "split" else rows
        rows = rows.reset_index(drop=True)
    elif missing_split == "none":
        rows["split"] = "all"
    else:
        groups = rows["cluster"].astype(str) if "cluster" in rows.columns else rows["protein_id"]
        rows["split"] = split_by_group(groups, fractions=fractions, seed=split_seed).to_numpy()

    if kinases is not None and "kinases" in rows.columns:
        rows["label"] = kinase_labels(rows["label"], rows["kinases"], kinases)
    index = encode_sites(rows, sequences, flank)
    return LabelledWindows(rows.drop(columns=["window"], errors="ignore"), index, flank, residues)


def encode_sites(rows: pd.DataFrame, sequences: Mapping[str, str], flank: int) -> np.ndarray:
    """Index-encoded windows ``(n, 2 * flank + 1)`` for the ``protein_id, position`` rows of ``rows``."""
    out = np.empty((len(rows), 2 * flank + 1), dtype=np.int8)
    positions = rows["position"].to_numpy()
    for pid, where in rows.groupby("protein_id", sort=False).indices.items():
        out[where] = _all_windows(sequences[str(pid)], flank)[positions[where] - 1]
    return out


def _all_windows(sequence: str, flank: int) -> np.ndarray:
    """Index windows centred on every residue of ``sequence`` (row ``i`` = 1-based position ``i + 1``)."""
    return all_windows(sequence_to_index(sequence), flank)


def read_window_table(path: str | os.PathLike, *, flank: int = DEFAULT_FLANK) -> tuple[np.ndarray, np.ndarray]:
    """Read a ``window, label`` table (TSV, ``.gz`` allowed) into index windows and labels.

    The windows must be odd-length and centred; they are trimmed to ``2 * flank + 1`` (a wider stored window
    serves any smaller flank). Used for pretraining on general phosphosites.

    Returns
    -------
    tuple of numpy.ndarray
        ``(index (n, 2 * flank + 1) int8, labels (n,) float32)``.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(located(path, "no such file"))
    try:
        table = pd.read_csv(path, sep="\t", usecols=["window", "label"], dtype={"window": str, "label": np.int8})
    except ValueError as exc:
        raise InputError(located(path, f"needs tab-separated columns window and label ({exc})")) from None
    width = table["window"].str.len()
    if width.nunique() != 1 or int(width.iloc[0]) % 2 == 0:
        raise InputError(located(path, "windows must all have the same odd length"))
    stored = int(width.iloc[0]) // 2
    if stored < flank:
        raise InputError(located(path, f"windows have flank {stored}, fewer than the {flank} asked for"))
    index = to_index(table["window"].to_numpy())[:, stored - flank:stored + flank + 1]
    return np.ascontiguousarray(index), table["label"].to_numpy(dtype=np.float32)
