"""The call rule, in one place: which sites are called, at which threshold, and how the threshold is set.

A site is **called** when ``score >= threshold``. Every verb (``scan``, ``explain``, ``variants``, ``map``), the
background builder, training's held-out table and ``evaluate`` decide it with :func:`called`, so a scan at
``--specificity 0.95`` calls exactly the windows the recorded metrics count as true and false positives.

The comparison is exact: scores (the models' float32, or any scorer's float64) and the threshold are compared
as float64, which holds every float32 exactly. (Comparing in float32 would round the threshold to the
nearest float32 first: a threshold one float64 step above a score, as :func:`threshold_at_specificity` sets
it, would then call that score.)

Where a threshold comes from:

* ``threshold``: given, used as is;
* ``specificity``: the smallest cut whose specificity on the negatives of the model's validation split is at
  least that (:func:`threshold_at_specificity`, stored with the model under ``"thresholds"``);
* ``stringency``: a level of the model's reference background (:data:`STRINGENCY`, the top 0.2 / 1 / 5% of
  every S/T of a reference proteome), read off its quantile table (:func:`threshold_at_top_percent`). Such a
  threshold is a background score, a float32, stored with 9 significant digits; :func:`score_threshold` reads
  it back as that float32 exactly, so the level calls the background site it was read from.

No default is decided here: :func:`phosnet.scan.resolve_settings` settles which of the three a run uses (a
model's default) and builds its :class:`CallRule`.

>>> rule = CallRule(0.5)
>>> rule(np.array([0.2, 0.5, 0.7, np.nan], dtype=np.float32)).tolist()
[False, True, True, False]
>>> edge = threshold_at_specificity([0, 0, 0, 1], np.array([0.1, 0.2, 0.3, 0.9], dtype=np.float32), 2 / 3)
>>> called(np.array([0.2, 0.3], dtype=np.float32), edge).tolist()
[False, True]
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from phosnet.errors import InputError

RULE = "score >= threshold"
"""The call, as written to summaries and legends."""

STRINGENCY = {"high": 0.2, "medium": 1.0, "low": 5.0}
"""Stringency level -> percent of background sites it calls (the top of the background)."""

DEFAULT_STRINGENCY = "medium"
"""The call a scan makes when no threshold, specificity or stringency is given (and the model has a background)."""

DEFAULT_SPECIFICITY = 0.95
"""The specificity whose threshold a trained model calls sites at by default (``default_specificity``)."""

DEFAULT_THRESHOLD = 0.5
"""Score threshold used when a model carries no thresholds of its own."""


def called(scores: Any, threshold: float) -> np.ndarray:
    """``score >= threshold`` for each score, compared exactly (as float64); ``False`` for NaN (no site).

    >>> called(np.array([0.5, 0.7], dtype=np.float32), 0.7).tolist()  # the float32 nearest 0.7 is below 0.7
    [False, False]
    """
    values = np.asarray(scores, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return values >= np.float64(threshold)


def score_threshold(value: float) -> float:
    """A threshold that is a float32 score (a background level's, stored with 9 digits), as that float32 exactly.

    >>> score = np.float32(0.18712345)
    >>> called(score, score_threshold(float(f"{score:.9g}"))).item()
    True
    """
    return float(np.float32(value))


def check_threshold_options(
    threshold: float | None, specificity: float | None, stringency: str | None = None
) -> None:
    """The one check of the call options: ``threshold`` in [0, 1], ``specificity`` in (0, 1), ``stringency`` one
    of ``high``, ``medium``, ``low``; at most one of the three."""
    given = [name for name, value in (("threshold", threshold), ("specificity", specificity),
                                      ("stringency", stringency)) if value is not None]
    if len(given) > 1:
        raise InputError(f"give one of threshold, specificity or stringency, not {' and '.join(given)}")
    if threshold is not None and not 0.0 <= float(threshold) <= 1.0:
        raise InputError(f"threshold must be between 0 and 1, got {threshold}")
    if specificity is not None and not 0.0 < float(specificity) < 1.0:
        raise InputError(f"specificity must be between 0 and 1, got {specificity}")
    if stringency is not None and stringency not in STRINGENCY:
        raise InputError(f"stringency must be one of {', '.join(STRINGENCY)}, got {stringency!r}")


def labelled_scores(labels: Iterable[int], scores: Iterable[float]) -> tuple[np.ndarray, np.ndarray]:
    """``(labels as int64, scores as float64)``, checked: the same length, labels 0 or 1, no NaN score."""
    y = np.asarray(labels).astype(np.int64).ravel()
    s = np.asarray(scores, dtype=np.float64).ravel()
    if y.shape != s.shape:
        raise ValueError(f"labels and scores differ in length ({y.size} vs {s.size})")
    if y.size and not np.isin(y, (0, 1)).all():
        raise ValueError("labels must be 0 or 1")
    if np.isnan(s).any():
        raise ValueError("scores contain NaN")
    return y, s


def threshold_at_specificity(labels: Iterable[int], scores: Iterable[float], specificity: float) -> float:
    """Smallest cut ``t`` such that calling ``score >= t`` keeps at least ``specificity`` of the negatives out.

    Parameters
    ----------
    labels, scores
        0/1 labels and scores (larger = more likely positive).
    specificity
        Target specificity in ``(0, 1]``.

    Returns
    -------
    float
        The next float64 above the ``k``-th smallest negative score, ``k = ceil(s * n_neg)``: the smallest cut
        that leaves ``k`` negatives below it under :func:`called`, whatever the ties.
    """
    y, s = labelled_scores(labels, scores)
    if not 0 < specificity <= 1:
        raise ValueError(f"specificity must be in (0, 1], got {specificity}")
    negatives = np.sort(s[y == 0])
    if negatives.size == 0:
        raise ValueError("no negatives: specificity is undefined")
    k = math.ceil(specificity * negatives.size - 1e-9)  # at least this many negatives must score below t
    return float(np.nextafter(negatives[k - 1], np.inf))


def threshold_at_top_percent(percentiles: np.ndarray, scores: np.ndarray, top: float) -> float:
    """The score at percentile ``100 - top`` of a quantile table (``percentiles`` -> ``scores``), interpolated:
    the cut that calls the top ``top`` percent of the background."""
    return float(np.interp(100.0 - top, percentiles, scores))


@dataclass(frozen=True)
class CallRule:
    """A resolved call: the ``threshold`` and where it came from (``specificity``, ``stringency`` or given).

    Calling it on scores gives the calls (:func:`called`).
    """

    threshold: float
    specificity: float | None = None
    stringency: str | None = None
    background: Mapping[str, Any] | None = None  # {"source", "sites"} of the background a stringency reads

    def __call__(self, scores: Any) -> np.ndarray:
        return called(scores, self.threshold)

    def describe(self) -> str:
        """The rule in a few words, e.g. ``stringency medium (top 1%)``."""
        if self.stringency is not None:
            return f"stringency {self.stringency} (top {STRINGENCY[self.stringency]:g}%)"
        if self.specificity is not None:
            return f"specificity {self.specificity:g}"
        return f"threshold {self.threshold:.4g}"

    def as_dict(self) -> dict[str, Any]:
        """How ``predicted`` is decided: :data:`RULE`, the threshold, and where the threshold comes from."""
        rule: dict[str, Any] = {"call": RULE, "threshold": self.threshold}
        if self.stringency is not None and self.background is not None:
            rule.update(stringency=self.stringency, top_percent_of_background=STRINGENCY[self.stringency],
                        background=self.background.get("source", ""),
                        background_sites=self.background.get("sites", 0))
        elif self.specificity is not None:
            rule.update(specificity=self.specificity, set_on="validation split of the model's training data")
        else:
            rule.update(set_by="threshold given")
        return rule


__all__ = [
    "DEFAULT_SPECIFICITY", "DEFAULT_STRINGENCY", "DEFAULT_THRESHOLD", "RULE", "STRINGENCY", "CallRule", "called",
    "check_threshold_options", "labelled_scores", "score_threshold", "threshold_at_specificity",
    "threshold_at_top_percent",
]
