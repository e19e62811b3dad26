"""Calibrated precision: how often a site scored this high is a known site of the model's kinase.

A score "is not a probability", and a percentile says how rare a score is in a proteome, not how likely the
site is real. The ``precision`` of a site is the **out-of-fold share of known sites among the S/T of known
substrate proteins scored at or above its percentile**: measured in cross-validation over whole protein clusters
(each protein scored by a model that never saw its cluster), made monotone (isotonic), with a cluster-bootstrap
interval. It is what a biologist can read off: "of the S/T of AKT substrates that score at least this high, about
this share are known AKT sites".

What it is not: it is measured among the S/T of *known substrates*, where about 1 in 75 S/T is a known site; in a
whole proteome most proteins are not substrates, so the share among all S/T scored this high is lower. And a
site nobody has reported yet counts as a negative, so the precision is a floor for "real" sites.

The percentile is the bridge between the fold models, whose scores were calibrated, and the bundled model: each
fold model's scores are turned into percentiles of *its own* proteome background, so the table maps a percentile
(of any model with the same recipe and background) to a precision. Stored in a model's metadata under
``"precision"`` (:func:`precision_table`, built by ``benchmarks/akt_quality/precision.py``); read by
:class:`Precision`. Pure numpy when read (scikit-learn only to fit).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

GRID = ((0, 90, 1.0), (90, 99, 0.1), (99, 100, 0.01))
"""Percentiles at which the table stores a precision, as ``(from, to, step)`` pieces: finer towards the top."""

MIN_SITES = 25
"""A grid point is kept only when at least this many out-of-fold sites score at or above it; above the last kept
point a site gets that point's precision (the table says no more than its data)."""

PRECISION_DECIMALS = 3
"""Decimals written for precisions (0.000-1.000)."""


def precision_grid(grid: tuple[tuple[float, float, float], ...] = GRID) -> np.ndarray:
    """The percentiles of the table: 0-90 by 1, 90-99 by 0.1, 99-100 by 0.01 (281 points).

    >>> g = precision_grid(); (len(g), float(g[0]), float(g[90]), float(g[-1]))
    (281, 0.0, 90.0, 100.0)
    """
    points = [np.arange(round((hi - lo) / step)) * step + lo for lo, hi, step in grid]
    return np.round(np.concatenate([*points, [grid[-1][1]]]), 6)


def share_at_or_above(percentiles: np.ndarray, labels: np.ndarray, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(share, count)`` at each grid point: the share of label 1 among sites with percentile >= the point, and
    how many sites that is (share NaN where there are none).

    >>> share_at_or_above(np.array([10.0, 50, 90, 95]), np.array([0, 0, 1, 1]), np.array([0.0, 50, 92, 99]))
    (array([0.5       , 0.66666667, 1.        ,        nan]), array([4, 3, 1, 0]))
    """
    order = np.argsort(percentiles, kind="stable")
    values = np.asarray(percentiles, dtype=np.float64)[order]
    positives = np.asarray(labels, dtype=np.float64)[order]
    above = np.concatenate([np.cumsum(positives[::-1])[::-1], [0.0]])  # positives at index >= i
    first = np.searchsorted(values, grid, side="left")
    count = len(values) - first
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(count > 0, above[first] / np.maximum(count, 1), np.nan)
    return share, count


def _monotone(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The isotonic (non-decreasing) least-squares fit of ``values`` with ``weights``."""
    from sklearn.isotonic import IsotonicRegression

    x = np.arange(len(values), dtype=np.float64)
    return np.asarray(IsotonicRegression(increasing=True).fit(x, values, sample_weight=weights).predict(x))


def precision_table(
    percentiles: np.ndarray, labels: np.ndarray, clusters: np.ndarray, *, replicates: int = 1000, level: float = 0.95,
    seed: int = 0, min_sites: int = MIN_SITES, **provenance: Any,
) -> dict[str, Any]:
    """The ``"precision"`` metadata entry from out-of-fold sites: each one's ``percentile`` (in the background of the
    model that scored it), ``label`` (1 = known site, 0 = other S/T of the same substrate) and protein ``cluster``.

    The share of known sites at or above each :func:`precision_grid` point, made monotone (isotonic, weighted by
    the sites at or above); the interval is the ``level`` percentile interval over ``replicates`` bootstrap
    resamples of whole clusters (each resample fitted the same way). ``provenance`` is stored as given.
    """
    values = np.asarray(percentiles, dtype=np.float64)
    positive = np.asarray(labels, dtype=np.int64)
    groups = np.asarray(clusters).astype(str)
    if not (len(values) == len(positive) == len(groups)) or not len(values):
        raise ValueError("percentiles, labels and clusters must be non-empty and of the same length")
    if np.isnan(values).any():
        raise ValueError("every out-of-fold site needs a percentile")
    grid = precision_grid()
    share, count = share_at_or_above(values, positive, grid)
    keep = count >= min_sites
    grid, share, count = grid[keep], share[keep], count[keep]
    fitted = _monotone(share, count)

    names, index = np.unique(groups, return_inverse=True)
    members = [np.flatnonzero(index == k) for k in range(len(names))]
    rng = np.random.default_rng(seed)
    curves = np.empty((replicates, len(grid)))
    for r in range(replicates):
        rows = np.concatenate([members[k] for k in rng.integers(0, len(names), len(names))])
        s, c = share_at_or_above(values[rows], positive[rows], grid)
        s = np.where(c > 0, s, 0.0)  # a resample with no site above a point: nothing known there
        curves[r] = _monotone(s, np.maximum(c, 1))
    tail = 100.0 * (1.0 - level) / 2.0
    low = np.minimum(np.percentile(curves, tail, axis=0), fitted)
    high = np.maximum(np.percentile(curves, 100.0 - tail, axis=0), fitted)
    return {
        **provenance,
        "method": "share of known sites among out-of-fold S/T of substrate proteins at or above the percentile; "
                  f"isotonic; {level:.0%} cluster-bootstrap interval ({replicates} resamples of {len(names)} clusters)",
        "sites": int(len(values)), "positives": int(positive.sum()), "clusters": int(len(names)),
        "level": level, "min_sites": min_sites,
        "percentiles": [round(float(p), 6) for p in grid],
        "sites_at_or_above": [int(c) for c in count],
        "precision": [round(float(v), 6) for v in fitted],
        "low": [round(float(v), 6) for v in low],
        "high": [round(float(v), 6) for v in high],
    }


@dataclass(frozen=True)
class Precision:
    """A precision table read from model metadata: percentile -> calibrated precision and its interval."""

    percentiles: np.ndarray
    precision: np.ndarray
    low: np.ndarray
    high: np.ndarray
    source: str = ""

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, Any]) -> Precision | None:
        """The table under ``metadata["precision"]``, or ``None`` when the model has none."""
        table = metadata.get("precision") if metadata else None
        if not table or not table.get("precision"):
            return None
        grid, precision, low, high = (np.asarray(table[key], dtype=np.float64)
                                      for key in ("percentiles", "precision", "low", "high"))
        if len({len(grid), len(precision), len(low), len(high)}) != 1 or (np.diff(grid) <= 0).any() \
                or any((np.diff(c) < 0).any() for c in (precision, low, high)) or (low > precision).any() \
                or (high < precision).any():
            raise ValueError("precision table: percentiles must increase, precisions must not decrease, "
                             "and low <= precision <= high")
        return cls(grid, precision, low, high, source=str(table.get("source", "")))

    def _index(self, percentiles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        values = np.asarray(percentiles, dtype=np.float64)
        at = np.searchsorted(self.percentiles, np.nan_to_num(values, nan=0.0), side="right") - 1
        return np.clip(at, 0, len(self.percentiles) - 1), np.isnan(values)

    def lookup(self, percentiles: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(precision, low, high)`` of each percentile: the table's value at the highest grid point at or below
        it (a step function, so monotone in the score); NaN for a NaN percentile."""
        at, missing = self._index(percentiles)
        return tuple(np.where(missing, np.nan, column[at]) for column in (self.precision, self.low, self.high))  # type: ignore[return-value]

    def columns(self, percentiles: np.ndarray) -> np.ndarray:
        """``(n, 3)``: :meth:`lookup`'s precision, low and high as columns."""
        return np.column_stack(self.lookup(np.atleast_1d(percentiles)))


__all__ = ["GRID", "MIN_SITES", "PRECISION_DECIMALS", "Precision", "precision_grid", "precision_table",
           "share_at_or_above"]
