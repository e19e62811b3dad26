"""Answer a phosphoproteomics experiment: did AKT go up or down? (``phosnet enrich``, ``phosnet.enrich``)

Input is a scored site table (``phosnet sites`` or ``phosnet scan`` output, or any table with a ``score``
column and, optionally, ``call``/``predicted``, ``percentile``, ``gene``, ``position``, ``residue``) and, per
contrast, a log2 fold-change column (or several sample columns, summarised by their mean), optionally with a
p-value column. The *predicted AKT sites* are the rows the model calls (the table's call, or ``score >=
threshold`` at a chosen stringency, by the scan's own rule); the universe is every scored row with a value.

Per contrast three answers:

* **KSEA z-score** (Casado et al. 2013; Wiredja et al. 2017): ``z = (mean FC of AKT sites - mean FC of all)
  * sqrt(m) / sd(FC of all)``, with its two-sided normal p-value. This is the **AKT activity score**; its sign is
  defined as *positive = AKT's predicted substrates go up = AKT activated*, negative = inhibited.
* **Weighted Kolmogorov-Smirnov running sum** (GSEA, Subramanian et al. 2005, weight 1, as PTM-SEA uses it):
  sites ranked by fold change from most up to most down; the enrichment score ``ES`` (same sign convention),
  ``NES`` (ES over the mean null ES of its sign) and a permutation p-value (random site sets of the same size,
  seeded), whose leading edge gives the **driver sites**.
* **Fisher's exact test** as the Kinase Library does it: AKT sites vs the rest among the sites up-regulated
  (``FC >= fc_cutoff`` and ``p <= p_cutoff``) and, separately, down-regulated, against the unregulated sites;
  one-sided (enrichment), with the sample odds ratio.

Rows sharing a site (same protein/accession and position, else same window) are collapsed to one (fold changes
averaged, the largest p-value kept) and counted; a missing value (NaN) drops the site from that contrast only;
a contrast with fewer than ``min_sites`` AKT sites gets no scores and a note saying why.
"""

from __future__ import annotations

import logging
import math
import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from phosnet.bundle import ModelSource
from phosnet.errors import InputError, located

logger = logging.getLogger(__name__)

CALL_COLUMNS = ("call", "predicted")
"""Columns of a scored table that hold the model's call (``phosnet sites`` writes ``call``, a scan ``predicted``)."""

MISSING = {"", "na", "nan", "n/a", "#n/a", "null", "none", "-", "inf", "-inf"}
"""Cell values read as missing (compared lower-cased)."""

ACTIVITY_COLUMNS = (
    "contrast", "columns", "sites", "akt_sites", "missing", "mean_log2fc_akt", "mean_log2fc_all",
    "akt_activity", "ksea_p", "gsea_es", "gsea_nes", "gsea_p", "permutations",
    "up_sites", "up_akt_sites", "fisher_up_odds_ratio", "fisher_up_p",
    "down_sites", "down_akt_sites", "fisher_down_odds_ratio", "fisher_down_p", "direction", "note",
)
"""Columns of the activity table, one row per contrast."""

DRIVER_COLUMNS = (
    "contrast", "rank", "site", "gene", "accession", "position", "residue", "log2fc", "pvalue", "score",
    "percentile", "leading_edge", "regulated",
)
"""Columns of the driver table: every predicted AKT site of each contrast, strongest driver first."""

_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}


@dataclass(frozen=True)
class Contrast:
    """One contrast: a name, the fold-change column(s) it summarises and an optional p-value column."""

    name: str
    columns: tuple[str, ...]
    pvalue: str | None = None


@dataclass
class Enrichment:
    """What :func:`enrich` returns: ``activity`` (one row per contrast, :data:`ACTIVITY_COLUMNS`),
    ``drivers`` (:data:`DRIVER_COLUMNS`) and ``sites`` (the long table the figures are drawn from: one row per
    contrast and site with ``log2fc``, ``pvalue``, ``score``, ``percentile``, ``akt_site``), plus the call rule."""

    activity: pd.DataFrame
    drivers: pd.DataFrame
    sites: pd.DataFrame
    rule: str
    threshold: float | None


def parse_contrast(spec: str | Contrast, pvalue: str | None = None) -> Contrast:
    """``COL`` or ``NAME=COL1,COL2,...`` (several sample columns, summarised by their mean) -> :class:`Contrast`.

    >>> parse_contrast("Ins_exp1")
    Contrast(name='Ins_exp1', columns=('Ins_exp1',), pvalue=None)
    >>> parse_contrast("insulin=Ins_exp1,Ins_exp2").columns
    ('Ins_exp1', 'Ins_exp2')
    """
    if isinstance(spec, Contrast):
        return spec if pvalue is None else Contrast(spec.name, spec.columns, pvalue)
    text = str(spec).strip()
    name, sep, rest = text.partition("=")
    columns = tuple(c.strip() for c in rest.split(",")) if sep else (text,)
    if not name.strip() or not columns or any(not c for c in columns):
        raise InputError(f"contrast {spec!r} is not COLUMN or NAME=COLUMN1,COLUMN2,...")
    return Contrast(name.strip(), columns, pvalue)


def _line(index: int) -> str:
    return f"line {index + 2}"  # the header is line 1


def read_scored_table(path: str | os.PathLike) -> pd.DataFrame:
    """A scored site table as strings (TSV, or CSV by suffix; ``.gz`` allowed); one-line errors naming the file."""
    from phosnet.io.tables import table_format

    name = str(path)
    if not Path(path).exists():
        raise InputError(located(name, "no such file"))
    sep = "," if table_format(path) == "csv" else "\t"
    try:
        table = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise InputError(located(name, "is empty")) from None
    except (pd.errors.ParserError, UnicodeDecodeError, EOFError, OSError) as exc:
        raise InputError(located(name, f"cannot be read as a table ({str(exc).splitlines()[0]})")) from None
    table.columns = [str(c).strip() for c in table.columns]
    if table.empty:
        raise InputError(located(name, "has a header but no rows"))
    return table


def _numbers(table: pd.DataFrame, column: str, source: str, what: str) -> np.ndarray:
    """A column as float64 with missing cells as NaN; a cell that is no number is an error naming its line."""
    if column not in table.columns:
        columns = ", ".join(map(str, table.columns))
        raise InputError(located(source, f"no column {column!r} ({what}); columns: {columns}"))
    values = table[column]
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        out = values.to_numpy(dtype=np.float64, na_value=np.nan)
        return np.where(np.isfinite(out), out, np.nan)
    text = values.astype(str).str.strip()
    missing = text.str.lower().isin(MISSING) | values.isna().to_numpy()
    parsed = pd.to_numeric(text.where(~missing), errors="coerce").to_numpy(dtype=np.float64)
    bad = np.flatnonzero(np.isnan(parsed) & ~missing.to_numpy())
    if len(bad):
        raise InputError(located(source, f"column {column!r} ({what}): {text.iloc[bad[0]]!r} is not a number",
                                 _line(int(bad[0]))))
    return np.where(np.isfinite(parsed), parsed, np.nan)


def _calls(table: pd.DataFrame, column: str, source: str) -> np.ndarray:
    values = table[column]
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.to_numpy(dtype=bool)
    text = values.astype(str).str.strip().str.lower()
    ok = text.isin(_TRUE | _FALSE | MISSING)
    if not ok.all():
        index = int(np.flatnonzero(~ok.to_numpy())[0])
        raise InputError(located(source, f"column {column!r}: {values.iloc[index]!r} is not true/false", _line(index)))
    return text.isin(_TRUE).to_numpy()


def _text(table: pd.DataFrame, column: str) -> np.ndarray:
    if column not in table.columns:
        return np.full(len(table), "", dtype=object)
    return table[column].fillna("").astype(str).str.strip().to_numpy(dtype=object)


def site_labels(
    gene: Iterable[str], protein: Iterable[str], residue: Iterable[str], position: Iterable[Any]
) -> list[str]:
    """``AKT1S1 T246``: gene (else protein) and residue + position, as biologists name sites.

    >>> site_labels(["AKT1S1", ""], ["P1", "Q9"], ["T", "S"], [246, "12"])
    ['AKT1S1 T246', 'Q9 S12']
    """
    labels = []
    for g, p, r, pos in zip(gene, protein, residue, position, strict=True):
        who = g or p
        where = f"{r}{pos}" if str(pos) not in {"", "nan"} else ""
        labels.append(f"{who} {where}".strip() or "?")
    return labels


def _sites(table: pd.DataFrame, source: str) -> pd.DataFrame:
    """The site columns every output carries: site label, gene, accession, protein, position, residue, window."""
    gene = _text(table, "gene")
    accession = _text(table, "accession")
    protein = _text(table, "protein") if "protein" in table.columns else _text(table, "protein_id")
    position = _text(table, "position")
    position = np.array([p[:-2] if p.endswith(".0") else p for p in position], dtype=object)
    residue = _text(table, "residue")
    window = _text(table, "window")
    if not window.any() and "window_31" in table.columns:
        window = _text(table, "window_31")
    if not residue.any() and window.any():
        residue = np.array([w[len(w) // 2] if w else "" for w in window], dtype=object)
    who = np.where(accession != "", accession, protein)
    return pd.DataFrame({
        "site": site_labels(gene, who, residue, position), "gene": gene, "accession": accession,
        "protein": protein, "position": position, "residue": residue, "window": window,
    })


def _measurement_keys(table: pd.DataFrame, sites: pd.DataFrame) -> pd.Series | None:
    """Rows of one measurement: ``phosnet sites`` writes a peptide found in several proteins as one row per
    protein, all with the same input ``line`` (and window); they are one measured site."""
    if "line" not in table.columns or not (sites["window"] != "").all():
        return None
    return table["line"].astype(str).str.strip().reset_index(drop=True) + ":" + sites["window"]


def _site_keys(sites: pd.DataFrame) -> pd.Series | None:
    """Which rows are one site: protein (accession, protein id, else gene) + position, else the window."""
    who = sites["accession"].where(sites["accession"] != "", sites["protein"])
    who = who.where(who != "", sites["gene"])
    if (who != "").all() and (sites["position"] != "").all():
        return who + ":" + sites["position"]
    if (sites["window"] != "").all():
        return sites["window"]
    return None


def running_sum(values: np.ndarray, hits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GSEA's weighted (p = 1) running sum over sites ranked by ``values``, most up first.

    Returns ``(order, curve)``: ``order`` the site indices by rank, ``curve[k]`` the running sum after rank
    ``k`` (a hit adds ``|value| / sum |value of hits|``, a miss subtracts ``1 / misses``). The enrichment score
    is the curve's largest deviation from zero, with its sign.

    >>> order, curve = running_sum(np.array([3.0, -1.0, 2.0, -2.0]), np.array([True, False, True, False]))
    >>> order.tolist(), np.round(curve, 3).tolist()
    ([0, 2, 1, 3], [0.6, 1.0, 0.5, 0.0])
    """
    order = np.argsort(-values, kind="stable")
    ranked_hits = hits[order]
    weights = np.abs(values[order])
    total = weights[ranked_hits].sum()
    misses = len(values) - int(ranked_hits.sum())
    if total <= 0 or misses == 0:
        step = np.where(ranked_hits, 1.0 / max(int(ranked_hits.sum()), 1), -1.0 / max(misses, 1))
    else:
        step = np.where(ranked_hits, weights / total, -1.0 / misses)
    return order, np.cumsum(step)


def _max_deviation(curves: np.ndarray) -> np.ndarray:
    """Per row of ``curves``: the value farthest from zero (GSEA's ES), with its sign."""
    hi = curves.max(axis=-1)
    lo = curves.min(axis=-1)
    return np.where(hi >= -lo, hi, lo)


def _null_es(values: np.ndarray, m: int, permutations: int, seed: int) -> np.ndarray:
    """ES of ``permutations`` random sets of ``m`` sites (the permutation null), in blocks to bound memory."""
    rng = np.random.default_rng(seed)
    order = np.argsort(-values, kind="stable")
    weights = np.abs(values[order])
    n = len(values)
    out = np.empty(permutations)
    block = max(1, min(permutations, 2_000_000 // max(n, 1)))
    for start in range(0, permutations, block):
        size = min(block, permutations - start)
        ranks = np.argsort(rng.random((size, n)), axis=1)[:, :m]  # m random ranks per permutation
        hits = np.zeros((size, n), dtype=bool)
        np.put_along_axis(hits, ranks, True, axis=1)
        w = np.where(hits, weights, 0.0)
        total = w.sum(axis=1, keepdims=True)
        step = np.where(hits, w / np.where(total > 0, total, 1.0), -1.0 / (n - m))
        out[start : start + size] = _max_deviation(np.cumsum(step, axis=1))
    return out


def ksea(values: np.ndarray, hits: np.ndarray) -> tuple[float, float]:
    """KSEA's z-score of the hits' mean vs all sites' and its two-sided normal p-value.

    >>> z, p = ksea(np.array([2.0, 2.0, 0.0, 0.0, 0.0, 0.0]), np.array([True, True, False, False, False, False]))
    >>> round(z, 3), round(p, 4)
    (1.826, 0.0679)
    """
    from scipy.stats import norm

    m = int(hits.sum())
    sd = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
    if m == 0 or sd == 0:
        return math.nan, math.nan
    z = (float(values[hits].mean()) - float(values.mean())) * math.sqrt(m) / sd
    return z, float(2 * norm.sf(abs(z)))


def gsea(
    values: np.ndarray, hits: np.ndarray, *, permutations: int = 1000, seed: int = 0
) -> tuple[float, float, float, int]:
    """``(ES, NES, p, peak)``: the weighted KS enrichment score, its normalised form, the permutation p-value
    (share of same-signed null scores at least as extreme, +1 in numerator and denominator) and the rank of the
    peak (the leading edge runs from rank 0 to it for ES > 0, from it to the end for ES < 0)."""
    m = int(hits.sum())
    _, curve = running_sum(values, hits)
    es = float(_max_deviation(curve))
    peak = int(np.argmax(curve) if es >= 0 else np.argmin(curve))
    if permutations <= 0 or m == 0 or m == len(values):
        return es, math.nan, math.nan, peak
    null = _null_es(values, m, permutations, seed)
    same = null[null >= 0] if es >= 0 else null[null < 0]
    if not len(same):
        return es, math.nan, 1.0 / (permutations + 1), peak
    nes = es / float(np.abs(same).mean())
    extreme = int((np.abs(same) >= abs(es)).sum())
    return es, nes, (extreme + 1) / (len(same) + 1), peak


def fisher_table(akt: np.ndarray, regulated: np.ndarray, unregulated: np.ndarray) -> np.ndarray:
    """The 2x2 table the Kinase Library tests: rows regulated / unregulated, columns AKT site / other site."""
    return np.array([
        [int((akt & regulated).sum()), int((~akt & regulated).sum())],
        [int((akt & unregulated).sum()), int((~akt & unregulated).sum())],
    ])


def fisher(table: np.ndarray) -> tuple[float, float]:
    """``(odds ratio, one-sided p)`` of AKT sites being enriched among the regulated (scipy's Fisher exact)."""
    from scipy.stats import fisher_exact

    if table[0].sum() == 0:
        return math.nan, math.nan
    result = fisher_exact(table, alternative="greater")
    return float(result.statistic), float(result.pvalue)


def _resolve_calls(
    table: pd.DataFrame, score: np.ndarray, source: str, *, model: ModelSource, threshold: float | None,
    specificity: float | None, stringency: str | None,
) -> tuple[np.ndarray, str, float | None]:
    """Which rows are predicted AKT sites: the table's call column unless a call rule is given (then, and when
    the table has none, ``score >= threshold`` by the scan's rule, default medium stringency)."""
    given = threshold is not None or specificity is not None or stringency is not None
    column = next((c for c in CALL_COLUMNS if c in table.columns), None)
    if column is not None and not given:
        return _calls(table, column, source) & ~np.isnan(score), f"the table's {column!r} column", None
    from phosnet.scan import resolve_settings

    settings = resolve_settings(model, threshold=threshold, specificity=specificity, stringency=stringency)
    return settings.call(score), f"{settings.model.name}, {settings.describe_rule()}", settings.threshold


def _contrast_values(
    table: pd.DataFrame, contrast: Contrast, source: str
) -> tuple[np.ndarray, np.ndarray]:
    """Fold changes (the mean of the contrast's columns) and p-values (the given column; for several sample
    columns and none given, a one-sample t-test of the samples against 0, needing two values)."""
    samples = np.column_stack([_numbers(table, c, source, f"contrast {contrast.name}") for c in contrast.columns])
    counts = np.isfinite(samples).sum(axis=1)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "mean of empty slice": those rows stay NaN
        values = np.where(counts > 0, np.nanmean(samples, axis=1), np.nan)
    if contrast.pvalue is not None:
        pvalues = _numbers(table, contrast.pvalue, source, f"p-value of {contrast.name}")
        outside = np.flatnonzero((pvalues < 0) | (pvalues > 1))
        if len(outside):
            raise InputError(located(source, f"column {contrast.pvalue!r}: {pvalues[outside[0]]:g} is not a p-value "
                                             "(0 to 1)", _line(int(outside[0]))))
    elif samples.shape[1] > 1:
        from scipy.stats import ttest_1samp

        with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # rows with < 2 values or no spread: NaN
            pvalues = np.asarray(ttest_1samp(samples, 0.0, axis=1, nan_policy="omit").pvalue, dtype=np.float64)
        pvalues = np.where(counts >= 2, pvalues, np.nan)
    else:
        pvalues = np.full(len(values), np.nan)
    return values, pvalues


def _collapse(
    frame: pd.DataFrame, keys: pd.Series | None, value_columns: list[str], p_columns: list[str]
) -> pd.DataFrame:
    """One row per site: fold changes averaged over duplicate rows, the largest p-value, the highest score."""
    if keys is None or not keys.duplicated().any():
        return frame
    frame = frame.assign(_key=keys.to_numpy())
    agg: dict[str, Any] = dict.fromkeys(frame.columns.drop("_key"), "first")
    agg.update(dict.fromkeys(value_columns, "mean"))
    agg.update(dict.fromkeys(p_columns, "max"))
    agg.update(score="max", akt_site="max")
    return frame.groupby("_key", sort=False).agg(agg).reset_index(drop=True)


def enrich(
    table: pd.DataFrame | str | os.PathLike,
    contrasts: Sequence[str | Contrast] | str,
    *,
    pvalues: Sequence[str | None] | Mapping[str, str] | None = None,
    model: ModelSource = None,
    threshold: float | None = None,
    specificity: float | None = None,
    stringency: str | None = None,
    fc_cutoff: float = 1.0,
    p_cutoff: float = 0.05,
    permutations: int = 1000,
    seed: int = 0,
    min_sites: int = 5,
    alpha: float = 0.05,
    source: str | None = None,
) -> Enrichment:
    """Test, per contrast, whether the predicted AKT sites of a scored site table move up or down.

    Parameters
    ----------
    table
        A scored site table (DataFrame or path: TSV, or CSV by suffix) with a ``score`` column.
    contrasts
        Fold-change (log2) column names, or ``NAME=COL1,COL2,...`` to summarise several sample columns by
        their mean (and, without a p-value column, a one-sample t-test of them).
    pvalues
        P-value (or adjusted p-value) columns for the Fisher test: one per contrast in order (``None`` for
        none), or ``{contrast name: column}``. Without one, sites are called regulated on fold change alone.
    model, threshold, specificity, stringency
        The call rule for "predicted AKT site", as in a scan. Not given: the table's ``call``/``predicted``
        column, or, when it has none, the bundled model's default (medium stringency).
    fc_cutoff, p_cutoff
        Regulated = ``|log2 FC| >= fc_cutoff`` and ``p <= p_cutoff`` (Fisher test only).
    permutations, seed
        Random site sets for the running-sum p-value (seeded: the same call gives the same p-values).
    min_sites
        Fewest predicted AKT sites with a value a contrast needs to be scored.
    alpha
        ``direction`` is ``activated``/``inhibited`` when the KSEA p-value is below it, else ``unchanged``.
    source
        Name of the table in messages (defaults to its path, or ``<table>``).

    Returns
    -------
    :class:`Enrichment` with the ``activity``, ``drivers`` and ``sites`` DataFrames.
    """
    if fc_cutoff < 0 or not 0 < p_cutoff <= 1 or permutations < 0 or min_sites < 1:
        raise InputError("fc_cutoff must be >= 0, p_cutoff in (0, 1], permutations >= 0 and min_sites >= 1")
    if isinstance(table, str | os.PathLike):
        source = source or str(table)
        frame = read_scored_table(table)
    else:
        source = source or "<table>"
        frame = table.reset_index(drop=True)
        frame.columns = [str(c).strip() for c in frame.columns]
    specs = [contrasts] if isinstance(contrasts, str | Contrast) else list(contrasts)
    if not specs:
        raise InputError("give at least one contrast (a log2 fold-change column)")
    if isinstance(pvalues, Mapping):
        parsed = [parse_contrast(s) for s in specs]
        unknown = sorted(set(pvalues) - {c.name for c in parsed})
        if unknown:
            raise InputError(f"p-values given for unknown contrast(s): {', '.join(unknown)}")
        parsed = [parse_contrast(c, pvalues.get(c.name)) for c in parsed]
    else:
        given = list(pvalues or [])
        if given and len(given) != len(specs):
            raise InputError(f"give one p-value column per contrast ({len(specs)} contrasts, {len(given)} p-value "
                             "columns), in the same order")
        parsed = [parse_contrast(s, (given[i] or None) if given else None) for i, s in enumerate(specs)]
    names = [c.name for c in parsed]
    if len(set(names)) != len(names):
        raise InputError(f"contrast names must differ: {', '.join(names)}")

    if "score" not in frame.columns:
        raise InputError(located(source, "no column 'score' (score the sites first: phosnet sites, or phosnet scan); "
                                         f"columns: {', '.join(map(str, frame.columns))}"))
    score = _numbers(frame, "score", source, "the model's score")
    percentile = _numbers(frame, "percentile", source, "percentile") if "percentile" in frame.columns else \
        np.full(len(frame), np.nan)
    fold = {}
    for contrast in parsed:  # every column is checked before any work
        fold[contrast.name] = _contrast_values(frame, contrast, source)
    called, rule, rule_threshold = _resolve_calls(frame, score, source, model=model, threshold=threshold,
                                                  specificity=specificity, stringency=stringency)

    sites = _sites(frame, source)
    sites["score"] = score
    sites["percentile"] = percentile
    sites["akt_site"] = called
    value_columns, p_columns = [], []
    for i, contrast in enumerate(parsed):
        sites[f"_fc{i}"], sites[f"_p{i}"] = fold[contrast.name]
        value_columns.append(f"_fc{i}")
        p_columns.append(f"_p{i}")
    unscored = int(np.isnan(score).sum())
    if unscored:
        logger.info("%s: %d row(s) without a score (e.g. Y sites, not scored by the model) are left out", source,
                    unscored)
    measured = _measurement_keys(frame, sites)
    if measured is not None:
        sites = _collapse(sites, measured, value_columns, p_columns)  # one measurement mapped to many proteins
    sites = sites[~np.isnan(sites["score"].to_numpy(dtype=float))].reset_index(drop=True)
    before = len(sites)
    sites = _collapse(sites, _site_keys(sites), value_columns, p_columns)
    if len(sites) < before:
        logger.warning("%s: %d row(s) repeat a site already listed; collapsed to %d sites (fold changes averaged, "
                       "largest p-value kept)", source, before - len(sites), len(sites))
    logger.info("predicted AKT sites by %s: %d of %d scored sites", rule, int(sites["akt_site"].sum()), len(sites))

    rows, drivers, long = [], [], []
    for i, contrast in enumerate(parsed):
        row, driver, part = _one_contrast(sites, contrast, sites[f"_fc{i}"].to_numpy(), sites[f"_p{i}"].to_numpy(),
                                          fc_cutoff=fc_cutoff, p_cutoff=p_cutoff, permutations=permutations,
                                          seed=seed, min_sites=min_sites, alpha=alpha)
        if row["note"] and not row["note"].startswith("no p-values"):
            logger.warning("%s: contrast %s: %s", source, contrast.name, row["note"])
        rows.append(row)
        drivers.append(driver)
        long.append(part)
    unpaired = [row["contrast"] for row in rows if row["note"].startswith("no p-values")]
    if unpaired:
        logger.info("no p-values for %s: the Fisher test calls sites regulated on fold change alone",
                    ", ".join(unpaired))
    activity = pd.DataFrame(rows, columns=list(ACTIVITY_COLUMNS))
    return Enrichment(activity, pd.concat(drivers, ignore_index=True)[list(DRIVER_COLUMNS)],
                      pd.concat(long, ignore_index=True), rule, rule_threshold)


def _one_contrast(
    sites: pd.DataFrame, contrast: Contrast, values: np.ndarray, pvalues: np.ndarray, *, fc_cutoff: float,
    p_cutoff: float, permutations: int, seed: int, min_sites: int, alpha: float,
) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame]:
    keep = np.isfinite(values)
    missing = int((~keep).sum())
    part = sites.loc[keep, ["site", "gene", "accession", "position", "residue", "score", "percentile", "akt_site"]]
    part = part.reset_index(drop=True)
    part.insert(0, "contrast", contrast.name)
    part["log2fc"] = values[keep]
    part["pvalue"] = pvalues[keep]
    fc = part["log2fc"].to_numpy()
    akt = part["akt_site"].to_numpy(dtype=bool)
    n, m = len(fc), int(akt.sum())
    row: dict[str, Any] = dict.fromkeys(ACTIVITY_COLUMNS, math.nan)
    row.update(contrast=contrast.name, columns=",".join(contrast.columns), sites=n, akt_sites=m, missing=missing,
               permutations=permutations, direction="", note="")
    has_p = np.isfinite(part["pvalue"].to_numpy())
    significant = (part["pvalue"].to_numpy() <= p_cutoff) if has_p.any() else np.ones(n, dtype=bool)
    up = (fc >= fc_cutoff) & significant
    down = (fc <= -fc_cutoff) & significant
    part["regulated"] = np.where(up, "up", np.where(down, "down", ""))
    part["leading_edge"] = False
    if m < min_sites or m == n:
        row["note"] = (f"only {m} predicted AKT site(s) with a value among {n} (need >= {min_sites} and some "
                       "other sites); no activity score" + (f"; {missing} site(s) missing a value" if missing else ""))
    else:
        z, p = ksea(fc, akt)
        es, nes, gp, peak = gsea(fc, akt, permutations=permutations, seed=seed)
        order, _ = running_sum(fc, akt)
        edge = np.zeros(n, dtype=bool)
        edge[order[: peak + 1] if es >= 0 else order[peak:]] = True
        part["leading_edge"] = edge & akt
        unregulated = ~(up | down)
        up_or, up_p = fisher(fisher_table(akt, up, unregulated))
        down_or, down_p = fisher(fisher_table(akt, down, unregulated))
        row.update(mean_log2fc_akt=float(fc[akt].mean()), mean_log2fc_all=float(fc.mean()), akt_activity=z,
                   ksea_p=p, gsea_es=es, gsea_nes=nes, gsea_p=gp,
                   fisher_up_odds_ratio=up_or, fisher_up_p=up_p, fisher_down_odds_ratio=down_or, fisher_down_p=down_p,
                   direction=("activated" if z > 0 else "inhibited") if p < alpha else "unchanged")
        if not has_p.any():
            row["note"] = "no p-values: regulated = fold change past the cut-off alone"
    row.update(up_sites=int(up.sum()), up_akt_sites=int((up & akt).sum()), down_sites=int(down.sum()),
               down_akt_sites=int((down & akt).sum()))
    driver = part[akt].copy()
    descending = not (row["akt_activity"] < 0)  # NaN (no score): most up first
    driver = driver.sort_values(["leading_edge", "log2fc"], ascending=[False, not descending], kind="stable")
    driver.insert(1, "rank", np.arange(1, len(driver) + 1))
    return row, driver, part.drop(columns=["regulated", "leading_edge"]).assign(regulated=part["regulated"])


__all__ = [
    "ACTIVITY_COLUMNS", "DRIVER_COLUMNS", "Contrast", "Enrichment", "enrich", "fisher", "fisher_table", "gsea",
    "ksea", "parse_contrast", "read_scored_table", "running_sum", "site_labels",
]
