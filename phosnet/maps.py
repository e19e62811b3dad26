"""Where are the sites along a protein? Scan proteins and draw each one's site map.

The scores come from :func:`phosnet.predict_iter` (one streaming scan over the proteins drawn), the call
threshold from :func:`phosnet.mutations.site_scorer` (the scan's own resolution), and the figure from
:func:`phosnet.plots.site_map_figure`: score along the sequence, called sites labelled (``S473``), the
threshold drawn, known sites from an optional site table marked along the top.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from phosnet.bundle import ModelSource
from phosnet.errors import InputError
from phosnet.mutations import ProteinIndex, SiteScorer, site_scorer

VALUES = ("score", "percentile")


def known_positions(sites: Any, proteins: ProteinIndex) -> dict[str, set[int]]:
    """``{protein_id: positions}`` of the known sites in a site table (path or DataFrame; rows labelled 0
    are not sites). Proteins the FASTA does not hold are an error naming the row."""
    if sites is None:
        return {}
    if isinstance(sites, pd.DataFrame):
        table, name = sites, "<sites>"
    else:
        path = Path(sites)
        name = str(path)
        if not path.is_file():
            raise InputError(f"{name}: no such file")
        sep = "," if path.suffix.lower() == ".csv" else "\t"
        try:
            table = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False)
        except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise InputError(f"{name}: cannot be read as a site table ({str(exc).splitlines()[0]})") from None
    missing = {"protein_id", "position"} - set(table.columns)
    if missing:
        raise InputError(f"{name}: missing column(s) {', '.join(sorted(missing))}")
    labels = table["label"].astype(str).str.strip().str.lower() if "label" in table.columns else None
    out: dict[str, set[int]] = {}
    for number, (given, position) in enumerate(zip(table["protein_id"], table["position"], strict=True)):
        if labels is not None and labels.iloc[number] in {"0", "false", "no", "negative"}:
            continue
        where = f"{name}: record line {number + 2}"
        protein_id = proteins.resolve(str(given))
        if protein_id is None:
            raise InputError(f"{where}: unknown protein {given!r}")
        try:
            pos = int(position)
        except (TypeError, ValueError):
            raise InputError(f"{where}: position {position!r} is not an integer") from None
        if not 1 <= pos <= len(proteins.sequences[protein_id]):
            raise InputError(f"{where}: position {pos} is off {protein_id}")
        out.setdefault(protein_id, set()).add(pos)
    return out


def _call_line(scorer: SiteScorer, value: str) -> tuple[float, str]:
    """Where the call threshold is drawn (in ``value`` units) and its legend, e.g. ``stringency medium (top 1%):
    score >= 0.187``."""
    if value == "percentile":
        level = float(scorer.percentile(np.array([scorer.threshold]))[0])
        return level, f"{scorer.rule}: percentile >= {level:.4g}"
    return scorer.threshold, f"{scorer.rule}: score >= {scorer.threshold:.3g}"


_NO_ROWS = pd.DataFrame({"position": pd.Series(dtype="int64"), "residue": pd.Series(dtype=object),
                         "score": pd.Series(dtype=float), "percentile": pd.Series(dtype=float),
                         "predicted": pd.Series(dtype=bool)})


def _rows_by_protein(selected: dict[str, str], scorer: SiteScorer) -> Iterator[tuple[str, pd.DataFrame]]:
    """Each selected protein's scan rows, in order (empty for a protein without S/T), from one streaming scan."""
    from phosnet.scan import predict_iter

    order = {name: i for i, name in enumerate(selected)}
    frames = predict_iter(selected, model=scorer.settings.model, threshold=scorer.threshold,
                          engine=scorer.settings.engine)
    pending: dict[str, pd.DataFrame] = {}
    seen = -1
    for name in selected:
        while name not in pending and order[name] > seen:
            frame = next(frames, None)
            if frame is None:
                seen = len(order)
                break
            for protein_id, rows in frame.groupby("protein_id", sort=False):
                pending[str(protein_id)] = rows
                seen = max(seen, order[str(protein_id)])
        yield name, pending.pop(name) if name in pending else _NO_ROWS


def plot_map(
    sequences: Any,
    output: str | os.PathLike,
    *,
    proteins: Sequence[str] | None = None,
    known_sites: Any = None,
    value: str = "score",
    model: ModelSource = None,
    threshold: float | None = None,
    specificity: float | None = None,
    stringency: str | None = None,
    engine: str = "auto",
    fmt: str | None = None,
    callback: Callable[[int, int], None] | None = None,
) -> list[Path]:
    """Draw the site map of each protein: ``value`` (``score``, or ``percentile`` when the model has a
    background) along the sequence, calls labelled, the threshold drawn, known sites marked.

    Parameters
    ----------
    sequences
        The proteins, in any form :func:`phosnet.predict` accepts.
    output
        ``.png`` / ``.svg`` / ``.pdf`` for one protein; ``.pdf`` (one page per protein) or a folder (one file
        per protein, ``fmt`` or PNG) for several.
    proteins
        The proteins to draw (FASTA id, UniProt accession, entry name or gene); default: all.
    known_sites
        A site table (path or DataFrame: ``protein_id, position``; rows with ``label`` 0 are skipped).
    model, threshold, specificity, stringency, engine
        As for :func:`phosnet.predict` (default call: medium stringency when the model has a background).
    callback
        ``callback(1, proteins)`` after each figure is written (for a progress bar).

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    from phosnet.plots import figure_target, site_map_figure, write_figures

    if value not in VALUES:
        raise InputError(f"value must be score or percentile, not {value!r}")
    index = sequences if isinstance(sequences, ProteinIndex) else ProteinIndex(sequences)
    names = list(index.sequences) if not proteins else []
    for name in proteins or ():
        resolved = index.resolve(name)
        if resolved is None:
            raise InputError(f"unknown protein {name!r}")
        names.append(resolved)
    if not names:
        raise InputError("no proteins to draw")
    figure_target(output, len(names), fmt)
    known = known_positions(known_sites, index)
    scorer = site_scorer(model, threshold=threshold, specificity=specificity, stringency=stringency,
                         engine=engine)
    if value == "percentile" and scorer.settings.model.background is None:
        raise InputError(f"model {scorer.model_name} carries no background, so no percentiles; use --value score")
    line, label = _call_line(scorer, value)
    selected = {name: index.sequences[name] for name in names}

    def figures() -> Iterator[tuple[str, Any]]:
        for protein_id, rows in _rows_by_protein(selected, scorer):
            yield protein_id, site_map_figure(
                protein_id, len(selected[protein_id]), rows, threshold=line, threshold_label=label, value=value,
                known=known.get(protein_id, ()),
            )
            if callback is not None:
                callback(1, len(names))

    return write_figures(output, figures(), len(names), fmt)
