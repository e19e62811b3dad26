"""Scores against labels: ROC-AUC, PR-AUC, MCC, sensitivity at fixed specificity, thresholds, curve plots.

Everything here works on plain arrays (``labels`` 0/1, ``scores`` where larger means "more likely a site"),
so the same functions rate phosnet, the Kinase Library or any other scorer. No TensorFlow is imported.

Definitions
-----------
* **ROC-AUC**: :func:`sklearn.metrics.roc_auc_score`.
* **PR-AUC**: average precision, :func:`sklearn.metrics.average_precision_score` (the step-wise area under
  the precision-recall curve; no optimistic linear interpolation).
* **threshold at specificity s**: the smallest score cut ``t`` (a site is called when ``score >= t``, the
  rule of :mod:`phosnet.calling`, which owns :func:`threshold_at_specificity`) whose specificity on the
  negatives is at least ``s``. Ties never push the specificity below ``s``.
* **sensitivity at specificity s**: the fraction of positives with ``score >= t``; **MCC at s** is the
  Matthews correlation of those calls.

* **paired bootstrap** (:func:`paired_bootstrap`): confidence intervals for the difference between two
  scorers' ROC-AUC / PR-AUC on the same sites, resampling whole protein clusters.

Thresholds for a bundled model are computed on the validation split and then *applied* to the test split
(``binary_metrics(..., thresholds=...)``), so the reported test specificity is an honest estimate.

>>> import numpy as np
>>> t = threshold_at_specificity([0, 0, 0, 0, 1], [0.1, 0.2, 0.3, 0.4, 0.9], 0.75)
>>> 0.3 < t < 0.31
True
>>> m = binary_metrics([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
>>> round(m["roc_auc"], 2), round(m["pr_auc"], 2)
(0.75, 0.83)
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from phosnet.calling import called, labelled_scores, threshold_at_specificity

SPECIFICITIES: tuple[float, ...] = (0.90, 0.95, 0.99)
"""The specificities at which sensitivity and thresholds are reported."""


def _key(specificity: float) -> str:
    return f"{specificity:.2f}"


def confusion_at(labels: Iterable[int], scores: Iterable[float], threshold: float) -> dict[str, float]:
    """Counts and rates of the calls ``score >= threshold``: tp, fp, tn, fn, sensitivity, specificity,
    precision and MCC (0 when undefined)."""
    y, s = labelled_scores(labels, scores)
    calls = called(s, threshold)
    tp = int(np.count_nonzero(calls & (y == 1)))
    fp = int(np.count_nonzero(calls & (y == 0)))
    fn = int(np.count_nonzero(~calls & (y == 1)))
    tn = int(np.count_nonzero(~calls & (y == 0)))
    denominator = math.sqrt(float(tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    return {
        "threshold": float(threshold),
        "tp": tp, "fp": fp, "tn": tn, "fn": fn,
        "sensitivity": tp / (tp + fn) if tp + fn else float("nan"),
        "specificity": tn / (tn + fp) if tn + fp else float("nan"),
        "precision": tp / (tp + fp) if tp + fp else float("nan"),
        "mcc": (tp * tn - fp * fn) / denominator if denominator else 0.0,
    }


def binary_metrics(
    labels: Iterable[int],
    scores: Iterable[float],
    *,
    specificities: Sequence[float] = SPECIFICITIES,
    thresholds: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """ROC-AUC, PR-AUC, and sensitivity / MCC / threshold at each of ``specificities``.

    Parameters
    ----------
    labels, scores
        0/1 labels and scores (larger = more likely positive); both classes must be present.
    specificities
        Where to read the ROC curve. Default: 0.90, 0.95, 0.99.
    thresholds
        Optional fixed thresholds (``{"0.95": t, ...}``, e.g. from the validation split); the calls they give
        on these data are reported under ``"at_thresholds"``.

    Returns
    -------
    dict
        ``n``, ``positives``, ``roc_auc``, ``pr_auc``, ``sensitivity`` / ``mcc`` / ``thresholds`` (each a
        ``{"0.90": ...}`` dict, read at the specificity reached on *these* data), and ``at_thresholds`` when
        ``thresholds`` is given.
    """
    from sklearn.metrics import average_precision_score, roc_auc_score

    y, s = labelled_scores(labels, scores)
    n_pos = int(y.sum())
    if n_pos == 0 or n_pos == y.size:
        raise ValueError("both positives and negatives are needed to compute ROC-AUC and PR-AUC")
    out: dict[str, Any] = {
        "n": int(y.size),
        "positives": n_pos,
        "roc_auc": float(roc_auc_score(y, s)),
        "pr_auc": float(average_precision_score(y, s)),
        "sensitivity": {},
        "mcc": {},
        "thresholds": {},
    }
    for spec in specificities:
        t = threshold_at_specificity(y, s, spec)
        calls = confusion_at(y, s, t)
        out["thresholds"][_key(spec)] = t
        out["sensitivity"][_key(spec)] = calls["sensitivity"]
        out["mcc"][_key(spec)] = calls["mcc"]
    if thresholds:
        out["at_thresholds"] = {key: confusion_at(y, s, float(t)) for key, t in thresholds.items()}
    return out


def paired_bootstrap(
    labels: Iterable[int],
    scores_a: Iterable[float],
    scores_b: Iterable[float],
    groups: Iterable[Any] | None = None,
    *,
    n_boot: int = 2000,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, Any]:
    """How sure is "A beats B"? A paired bootstrap of the ROC-AUC and PR-AUC differences ``A - B``.

    Both scorers are rated on the same resampled sites in each replicate. With ``groups`` (e.g. protein
    clusters) whole groups are resampled, so that sites of one protein family, which are not independent,
    move together; without, single sites are. Replicates that draw a single class are redrawn.

    Returns
    -------
    dict
        For ``"roc_auc"`` and ``"pr_auc"``: ``difference`` (on the data as given), ``ci_low`` / ``ci_high``
        (percentile interval at ``level``) and ``p_a_not_better`` (share of replicates with ``A - B <= 0``);
        plus ``n_boot``, ``level`` and ``groups`` (how many were resampled).
    """
    from sklearn.metrics import average_precision_score, roc_auc_score

    y, a = labelled_scores(labels, scores_a)
    _, b = labelled_scores(labels, scores_b)
    if y.sum() == 0 or y.sum() == y.size:
        raise ValueError("both positives and negatives are needed")
    _, group_index = np.unique(np.asarray(list(groups) if groups is not None else np.arange(y.size)),
                               return_inverse=True)
    members = np.split(np.argsort(group_index, kind="stable"), np.cumsum(np.bincount(group_index))[:-1])
    metrics = {"roc_auc": roc_auc_score, "pr_auc": average_precision_score}
    rng = np.random.default_rng(seed)
    diffs: dict[str, list[float]] = {name: [] for name in metrics}
    while len(diffs["roc_auc"]) < n_boot:
        pick = np.concatenate([members[g] for g in rng.integers(0, len(members), len(members))])
        yb = y[pick]
        if yb.min() == yb.max():
            continue
        for name, fn in metrics.items():
            diffs[name].append(float(fn(yb, a[pick]) - fn(yb, b[pick])))
    out: dict[str, Any] = {"n_boot": n_boot, "level": level, "groups": len(members)}
    tail = (1.0 - level) / 2 * 100
    for name, fn in metrics.items():
        d = np.asarray(diffs[name])
        out[name] = {
            "difference": float(fn(y, a) - fn(y, b)),
            "ci_low": float(np.percentile(d, tail)),
            "ci_high": float(np.percentile(d, 100 - tail)),
            "p_a_not_better": float(np.mean(d <= 0)),
        }
    return out


def plot_curves(
    curves: Mapping[str, tuple[Iterable[int], Iterable[float]]],
    out_dir: str | os.PathLike,
    *,
    prefix: str = "",
    title: str = "",
) -> dict[str, Path]:
    """Draw ROC and precision-recall curves of one or more scorers into ``roc.png`` and ``pr.png``.

    Parameters
    ----------
    curves
        ``{label: (labels, scores)}``, one line per entry (e.g. ``{"phosnet": ..., "KL AKT1": ...}``).
    out_dir
        Folder for the PNG files (created if missing).
    prefix
        Prepended to the file names (``"test_"`` gives ``test_roc.png``).
    title
        Figure title suffix.

    Returns
    -------
    dict
        ``{"roc": path, "pr": path}``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score, roc_curve

    from phosnet.io.atomic import atomic_save

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"roc": out / f"{prefix}roc.png", "pr": out / f"{prefix}pr.png"}
    fig_roc, ax_roc = plt.subplots(figsize=(5, 5), dpi=120)
    fig_pr, ax_pr = plt.subplots(figsize=(5, 5), dpi=120)
    base_rate = None
    for name, (labels, scores) in curves.items():
        y, s = labelled_scores(labels, scores)
        fpr, tpr, _ = roc_curve(y, s)
        ax_roc.plot(fpr, tpr, label=f"{name} (AUC {roc_auc_score(y, s):.3f})")
        precision, recall, _ = precision_recall_curve(y, s)
        ax_pr.plot(recall, precision, drawstyle="steps-post", label=f"{name} (AP {average_precision_score(y, s):.3f})")
        base_rate = y.mean()
    ax_roc.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--")
    ax_roc.set(xlabel="1 - specificity", ylabel="sensitivity", title=f"ROC {title}".strip(), xlim=(0, 1), ylim=(0, 1))
    if base_rate is not None:
        ax_pr.axhline(base_rate, color="grey", lw=0.8, ls="--")
    ax_pr.set(xlabel="recall (sensitivity)", ylabel="precision", title=f"Precision-recall {title}".strip(),
              xlim=(0, 1), ylim=(0, 1.02))
    for fig, ax, key in ((fig_roc, ax_roc, "roc"), (fig_pr, ax_pr, "pr")):
        ax.legend(loc="lower right" if key == "roc" else "upper right", fontsize=7)
        fig.tight_layout()
        atomic_save(lambda tmp, fig=fig: fig.savefig(tmp, format="png"), paths[key])
        plt.close(fig)
    return paths
