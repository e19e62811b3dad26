"""A model's reference background: percentiles and stringency levels for its scores.

The background is the same model's scores on every S/T of a reference proteome (the human proteome for the
bundled models). It is stored in the model's metadata (key ``"background"``) as a compact quantile table: the
score below which ``p`` percent of the background lies, for ``p`` on a grid that is finer towards the top
(0.1 steps to 90, 0.01 to 99, 0.001 to 100; 2,801 points, stored as ``"grid"`` and ``"scores"``). From it:

* **percentile** of a score: the share of background sites scoring at or below it, 0-100 (100 = as high as the
  highest), interpolated linearly between grid points, so it is monotone in the score;
* **stringency** levels, as ScanSite names them: ``high``, ``medium`` and ``low`` call the top 0.2%, 1% and 5%
  of background sites; their score thresholds are read off the table (the levels and the call rule live in
  :mod:`phosnet.calling`).

The table is made by :func:`phosnet.background_build.build_background` (``phosnet train --background FASTA``;
for the bundled models by ``python benchmarks/background/build.py``), with :func:`background_from_scores`, which
also records, per level, how many background sites it calls; :func:`add_held_out` adds what each level finds
among held-out sites (the training run's test split).
Pure numpy: no TensorFlow, and no scan (the bundle reads this module; building a table scans, so that lives in
:mod:`phosnet.background_build`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from phosnet.calling import STRINGENCY, called, score_threshold, threshold_at_top_percent

GRID = ((0, 90, 0.1), (90, 99, 0.01), (99, 100, 0.001))
"""The percentile grid of the table as ``(from, to, step)`` pieces (stored with the table as ``"grid"``)."""


def percentile_grid(grid: Iterable[Iterable[float]] = GRID) -> np.ndarray:
    """The percentiles at which the table stores a score: by default 0-90 by 0.1, 90-99 by 0.01, 99-100 by 0.001."""
    pieces = [tuple(float(v) for v in piece) for piece in grid]
    points = [np.arange(round((hi - lo) / step)) * step + lo for lo, hi, step in pieces]
    return np.round(np.concatenate([*points, [pieces[-1][1]]]), 6)


def _sig9(value: float) -> float:
    return float(f"{value:.9g}")


def quantile_table(scores: np.ndarray) -> dict[str, Any]:
    """``{"sites", "percentiles", "scores"}``: the score at each :func:`percentile_grid` point of ``scores``.

    The score at ``p`` is the smallest background score with at least ``p`` percent of the background at or
    below it (the inverted empirical CDF), so calling ``score >= table score at 100 - t`` calls about ``t``
    percent of the background.
    """
    values = np.asarray(scores, dtype=np.float64).ravel()
    values = values[np.isfinite(values)]
    if not len(values):
        raise ValueError("no background scores")
    grid = percentile_grid()
    quantiles = np.quantile(values, grid / 100.0, method="inverted_cdf")
    return {
        "sites": int(len(values)),
        "grid": [list(piece) for piece in GRID],
        "scores": [_sig9(q) for q in np.maximum.accumulate(quantiles)],
    }


@dataclass(frozen=True)
class Background:
    """A quantile table read from model metadata; maps scores to percentiles and levels to thresholds."""

    percentiles: np.ndarray
    scores: np.ndarray
    sites: int = 0
    source: str = ""
    stringency: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, Any]) -> Background | None:
        """The background stored under ``metadata["background"]``, or ``None`` when there is none."""
        table = metadata.get("background") if metadata else None
        if not table or not table.get("scores"):
            return None
        percentiles = percentile_grid(table["grid"]) if "grid" in table else np.asarray(table["percentiles"], float)
        scores = np.asarray(table["scores"], dtype=np.float64)
        if percentiles.shape != scores.shape or (np.diff(scores) < 0).any() or (np.diff(percentiles) <= 0).any():
            raise ValueError("background table: percentiles and scores must be increasing and of the same length")
        return cls(percentiles, scores, int(table.get("sites", 0)), str(table.get("source", "")),
                   dict(table.get("stringency", {})))

    def percentile(self, scores: np.ndarray) -> np.ndarray:
        """Percentile (0-100) of each score: the share of the background at or below it, interpolated."""
        # np.interp needs increasing x: where several grid points share one score (ties), keep the highest
        # percentile, i.e. every background site at that score counts as "at or below".
        last = np.append(self.scores[1:] != self.scores[:-1], True)
        x, y = self.scores[last], self.percentiles[last]
        values = np.asarray(scores, dtype=np.float64)
        result = np.interp(values, x, y, left=0.0, right=100.0)
        return np.where(np.isnan(values), np.nan, result)

    def threshold(self, level: str) -> float:
        """The score threshold of a stringency level (``score >= threshold`` calls its top share): a background
        score, read back as the float32 it was stored from (:func:`phosnet.calling.score_threshold`)."""
        if level not in STRINGENCY:
            raise ValueError(f"stringency must be one of {', '.join(STRINGENCY)}, not {level!r}")
        stored = self.stringency.get(level, {}).get("threshold")
        if stored is not None:
            return score_threshold(stored)
        return score_threshold(threshold_at_top_percent(self.percentiles, self.scores, STRINGENCY[level]))


def background_from_scores(scores: np.ndarray, *, source: str = "", **provenance: Any) -> dict[str, Any]:
    """The ``"background"`` metadata entry for background ``scores``: quantile table, stringency thresholds and
    how many background sites each level calls, and ``provenance`` (e.g. the proteome's checksum)."""
    values = np.asarray(scores, dtype=np.float32)  # the models' scores
    table = quantile_table(values)
    background = Background.from_metadata({"background": table})
    assert background is not None
    levels = {}
    for level, top in STRINGENCY.items():
        threshold = _sig9(background.threshold(level))
        calls = int(called(values, score_threshold(threshold)).sum())
        levels[level] = {"top_percent": top, "threshold": threshold, "background_calls": calls,
                         "background_percent": round(100.0 * calls / len(values), 4)}
    return {"source": source, **provenance, "sites": table["sites"], "stringency": levels,
            "grid": table["grid"], "scores": table["scores"]}


def held_out_levels(background: Mapping[str, Any], scores: Iterable[float], labels: Iterable[int]) -> dict[str, Any]:
    """What each stringency level finds among held-out sites (``labels`` 1 = known site, 0 = other S/T of the
    same proteins): ``{level: {"test_sensitivity", "test_positives", "test_other_st_called"}}``."""
    reader = Background.from_metadata({"background": background})
    if reader is None:
        raise ValueError("no background table")
    values = np.asarray(list(scores), dtype=np.float32)
    positive = np.asarray(list(labels)) == 1
    out = {}
    for level in STRINGENCY:
        calls = called(values, reader.threshold(level))
        out[level] = {
            "test_sensitivity": round(float(calls[positive].mean()), 4) if positive.any() else None,
            "test_positives": int(positive.sum()),
            "test_other_st_called": round(float(calls[~positive].mean()), 4) if (~positive).any() else None,
        }
    return out


def add_held_out(background: dict[str, Any], scores: Iterable[float], labels: Iterable[int]) -> dict[str, Any]:
    """Record :func:`held_out_levels` in each level of a background entry (in place); returns it."""
    for level, numbers in held_out_levels(background, scores, labels).items():
        background["stringency"][level].update(numbers)
    return background


__all__ = [
    "Background", "background_from_scores", "percentile_grid",
    "add_held_out", "held_out_levels", "quantile_table",
]
