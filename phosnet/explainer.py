"""Why does a site score high? In silico saturation mutagenesis of its window.

Every position of the window that lies on the protein (offsets ``-flank..+flank``) is replaced by each of the
20 amino acids and ``X`` (unknown residue), and every mutated window is scored by the scan's engine. The
result is a tidy table, one row per (site, offset, substitute); :mod:`phosnet.plots` draws it as a heatmap
and a logo. Substituting the site's own residue by anything but S/T leaves no site: such rows have no score
(``NaN``) and ``predicted`` false (see :mod:`phosnet.mutations`).

>>> import phosnet  # doctest: +SKIP
>>> table = phosnet.explain("phosnet/examples/akt_substrates.fasta", "P49841:S9")  # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from phosnet.bundle import ModelSource
from phosnet.encoding import ALPHABET
from phosnet.errors import InputError
from phosnet.mutations import ProteinIndex, Site, SiteScorer, checked_site, padded_code, parse_site, site_scorer

EXPLAIN_COLUMNS = [
    "protein_id", "site", "position", "offset", "mutation", "wild_type", "substitute",
    "score", "delta", "percentile", "delta_percentile", "precision", "predicted", "model",
]
"""Columns of the explain table, in order."""

SITES_PER_BATCH = 64
"""Sites whose mutated windows are built and scored together."""

SiteSpec = Any  # "P31749:S473", a list of those, (protein, position) pairs, a site-table path or DataFrame


def _sites_from_frame(frame: pd.DataFrame, proteins: ProteinIndex, source: str) -> Iterator[Site]:
    missing = {"protein_id", "position"} - set(frame.columns)
    if missing:
        raise InputError(f"{source}: missing column(s) {', '.join(sorted(missing))}")
    residues = frame["residue"] if "residue" in frame.columns else [None] * len(frame)
    for number, (name, position, residue) in enumerate(
        zip(frame["protein_id"], frame["position"], residues, strict=True), start=2
    ):
        try:
            pos = int(position)
        except (TypeError, ValueError):
            raise InputError(f"{source}: record line {number}: position {position!r} is not an integer") from None
        yield checked_site(str(name), pos, residue or None, proteins, f"{source}: record line {number}")


def resolve_sites(sites: SiteSpec, proteins: ProteinIndex) -> list[Site]:
    """Turn the accepted site forms into checked :class:`Site` objects (errors name the site or table row)."""
    if isinstance(sites, pd.DataFrame):
        return list(_sites_from_frame(sites, proteins, "<sites>"))
    if isinstance(sites, os.PathLike) or (isinstance(sites, str) and ":" not in sites and Path(sites).is_file()):
        path = Path(sites)
        sep = "," if path.suffix.lower() == ".csv" else "\t"
        try:
            frame = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False)
        except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise InputError(f"{path}: cannot be read as a site table ({str(exc).splitlines()[0]})") from None
        return list(_sites_from_frame(frame, proteins, str(path)))
    if isinstance(sites, str | Site):
        sites = [sites]
    out = []
    for item in sites:
        if isinstance(item, Site):
            out.append(checked_site(item.protein_id, item.position, item.residue, proteins, "<sites>"))
        elif isinstance(item, tuple) and len(item) == 2:
            out.append(checked_site(str(item[0]), int(item[1]), None, proteins, f"<sites>: {item}"))
        else:
            out.append(parse_site(str(item), proteins))
    if not out:
        raise InputError("no sites to explain")
    return out


def _site_rows(site: Site, code: np.ndarray, length: int, scorer: SiteScorer) -> tuple[np.ndarray, dict[str, Any]]:
    """The mutated windows of one site and the columns that do not depend on the scores."""
    flank, width = scorer.flank, scorer.width
    wild = code[site.position - 1 : site.position - 1 + width]
    offsets = np.arange(-flank, flank + 1)
    offsets = offsets[(site.position + offsets >= 1) & (site.position + offsets <= length)]
    n_sub = len(ALPHABET)
    row_offsets = np.repeat(offsets, n_sub)
    substitutes = np.tile(np.arange(n_sub, dtype=np.int8), len(offsets))
    windows = np.repeat(wild[None, :], len(row_offsets), axis=0)
    windows[np.arange(len(row_offsets)), flank + row_offsets] = substitutes
    letters = np.array(list(ALPHABET), dtype=object)
    wild_type = letters[wild[flank + row_offsets]]
    substitute = letters[substitutes]
    mutated_at = (site.position + row_offsets).astype(str)
    columns = {
        "offset": row_offsets.astype(np.int64),
        "mutation": wild_type + mutated_at.astype(object) + substitute,
        "wild_type": wild_type,
        "substitute": substitute,
        "identity": wild_type == substitute,
    }
    return windows, columns


def explain_iter(
    sequences: Any,
    sites: SiteSpec,
    *,
    model: ModelSource = None,
    threshold: float | None = None,
    specificity: float | None = None,
    stringency: str | None = None,
    engine: str = "auto",
    scorer: SiteScorer | None = None,
) -> Iterator[pd.DataFrame]:
    """:func:`explain`, one :class:`pandas.DataFrame` per batch of :data:`SITES_PER_BATCH` sites."""
    proteins = ProteinIndex(sequences)
    resolved = resolve_sites(sites, proteins)
    scorer = scorer or site_scorer(model, threshold=threshold, specificity=specificity, stringency=stringency,
                                   engine=engine)
    for site in resolved:
        if site.residue not in scorer.residues:
            raise InputError(
                f"site {site.protein_id}:{site.label}: {site.residue} is not a candidate residue ({scorer.residues})"
            )
    codes: dict[str, np.ndarray] = {}
    for start in range(0, len(resolved), SITES_PER_BATCH):
        parts = []
        for site in resolved[start : start + SITES_PER_BATCH]:
            sequence = proteins.sequences[site.protein_id]
            if site.protein_id not in codes:
                codes = {site.protein_id: padded_code(sequence, scorer.flank)}  # one protein cached
            windows, columns = _site_rows(site, codes[site.protein_id], len(sequence), scorer)
            parts.append((site, windows, columns))
        scores = scorer.score(np.concatenate([w for _, w, _ in parts]))
        frames, at = [], 0
        for site, windows, columns in parts:
            site_scores = scores[at : at + len(windows)]
            at += len(windows)
            identity = columns.pop("identity")
            wild_score = site_scores[identity & (columns["offset"] == 0)][0]
            site_scores[identity] = wild_score  # the unmutated window, whatever the batch it was scored in
            frames.append(_frame(site, columns, site_scores, wild_score, scorer))
        yield pd.concat(frames, ignore_index=True)


def _frame(
    site: Site, columns: dict[str, Any], scores: np.ndarray, wild_score: float, scorer: SiteScorer
) -> pd.DataFrame:
    percentile = scorer.percentile(scores)
    wild_percentile = scorer.percentile(np.array([wild_score]))[0]
    n = len(scores)
    return pd.DataFrame(
        {
            "protein_id": [site.protein_id] * n,
            "site": [site.label] * n,
            "position": np.full(n, site.position, dtype=np.int64),
            **columns,
            "score": scores,
            "delta": scores - wild_score,
            "percentile": percentile,
            "delta_percentile": percentile - wild_percentile,
            "precision": scorer.precision(scores),
            "predicted": scorer.called(scores),
            "model": [scorer.model_name] * n,
        },
        columns=EXPLAIN_COLUMNS,
    )


def explain(
    sequences: Any,
    sites: SiteSpec,
    *,
    model: ModelSource = None,
    threshold: float | None = None,
    specificity: float | None = None,
    stringency: str | None = None,
    engine: str = "auto",
) -> pd.DataFrame:
    """In silico saturation mutagenesis of the windows of ``sites``: every offset x every substitute, scored.

    Parameters
    ----------
    sequences
        The proteins, in any form :func:`phosnet.predict` accepts (FASTA path, ``{id: sequence}``, ...).
    sites
        ``"P31749:S473"`` (protein id, UniProt accession, entry name or gene; ``"S473"`` alone when there is one
        protein), a list of those, ``(protein, position)`` pairs, or a site table (path or DataFrame with
        ``protein_id, position`` and optionally ``residue``). Each site must be a candidate residue (S/T).
    model, threshold, specificity, stringency, engine
        As for :func:`phosnet.predict` (default call: medium stringency when the model has a background); the
        threshold sets the ``predicted`` column.

    Returns
    -------
    pandas.DataFrame
        One row per site x offset (``-flank..+flank``, positions on the protein only) x substitute (the 20
        amino acids and ``X``): ``protein_id, site`` (``S473``), ``position`` (the site's), ``offset``,
        ``mutation`` (``R470A``), ``wild_type, substitute, score, delta`` (score minus the wild type's; ``0`` on
        the wild-type rows), ``percentile, delta_percentile`` (in the model's background; ``NaN`` without one),
        ``precision`` (calibrated, :mod:`phosnet.precision`; ``NaN`` without a precision table),
        ``predicted, model``. A substitution of the site residue by a non-candidate leaves no site: ``score``
        and ``delta`` are ``NaN`` and ``predicted`` is false.
    """
    frames = list(explain_iter(sequences, sites, model=model, threshold=threshold, specificity=specificity,
                               stringency=stringency, engine=engine))
    return pd.concat(frames, ignore_index=True)


def position_importance(table: pd.DataFrame) -> pd.DataFrame:
    """Per site and offset, how much the wild-type residue matters: minus the mean ``delta`` over the
    substitutes that leave a site (positive = the wild-type residue raises the score).

    Columns ``protein_id, site, offset, wild_type, importance, worst_substitute, worst_delta``.
    """
    scored = table[table["score"].notna() & (table["substitute"] != table["wild_type"])]
    groups = scored.groupby(["protein_id", "site", "offset", "wild_type"], sort=False)["delta"]
    out = groups.mean().mul(-1).rename("importance").reset_index()
    worst = scored.loc[groups.idxmin()][["substitute", "delta"]].to_numpy()
    out["worst_substitute"] = worst[:, 0]
    out["worst_delta"] = worst[:, 1].astype(float)
    return out


def sites_of(table: pd.DataFrame) -> Iterable[tuple[str, str]]:
    """The ``(protein_id, site)`` pairs of an explain table, in order."""
    return table[["protein_id", "site"]].drop_duplicates().itertuples(index=False, name=None)
