"""Metrics against scikit-learn on known examples; thresholds at fixed specificity; plots."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, matthews_corrcoef, roc_auc_score

from phosnet.evaluation import (
    apply_thresholds,
    binary_metrics,
    confusion_at,
    plot_curves,
    threshold_at_specificity,
)


@pytest.fixture
def example():
    rng = np.random.default_rng(3)
    labels = (rng.random(500) < 0.1).astype(int)
    scores = rng.normal(size=500) + 1.5 * labels
    return labels, scores


def test_auc_values_match_sklearn(example):
    labels, scores = example
    m = binary_metrics(labels, scores)
    assert m["roc_auc"] == pytest.approx(roc_auc_score(labels, scores))
    assert m["pr_auc"] == pytest.approx(average_precision_score(labels, scores))
    assert m["n"] == 500 and m["positives"] == labels.sum()


def test_small_hand_example():
    m = binary_metrics([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    assert m["roc_auc"] == pytest.approx(0.75)
    assert m["pr_auc"] == pytest.approx((1 + 2 / 3) / 2)


def test_threshold_reaches_specificity_and_is_smallest(example):
    labels, scores = example
    negatives = np.sort(scores[labels == 0])
    for spec in (0.9, 0.95, 0.99):
        t = threshold_at_specificity(labels, scores, spec)
        reached = np.mean(negatives < t)
        assert reached >= spec
        # one step lower would call one more negative and drop below the target
        assert np.mean(negatives < np.nextafter(t, -np.inf)) < spec or reached == 1.0


def test_threshold_with_ties_never_lowers_specificity():
    labels = [0] * 10 + [1]
    scores = [0.5] * 10 + [0.9]
    t = threshold_at_specificity(labels, scores, 0.9)
    assert confusion_at(labels, scores, t)["specificity"] == 1.0


def test_mcc_and_sensitivity_match_sklearn(example):
    labels, scores = example
    m = binary_metrics(labels, scores)
    for key, t in m["thresholds"].items():
        called = (scores >= t).astype(int)
        assert m["mcc"][key] == pytest.approx(matthews_corrcoef(labels, called))
        assert m["sensitivity"][key] == pytest.approx(called[labels == 1].mean())


def test_fixed_thresholds_are_applied(example):
    labels, scores = example
    calls = apply_thresholds(labels, scores, {"0.95": 1.0})
    assert calls["0.95"]["tp"] == int(((scores >= 1.0) & (labels == 1)).sum())
    m = binary_metrics(labels, scores, thresholds={"0.95": 1.0})
    assert m["at_thresholds"]["0.95"] == calls["0.95"]


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match="both positives and negatives"):
        binary_metrics([1, 1], [0.2, 0.3])
    with pytest.raises(ValueError, match="differ in length"):
        binary_metrics([0, 1], [0.2])
    with pytest.raises(ValueError, match="0 or 1"):
        binary_metrics([0, 2], [0.2, 0.3])


def test_plots_are_written(tmp_path, example):
    labels, scores = example
    paths = plot_curves({"a": (labels, scores), "b": (labels, -scores)}, tmp_path, prefix="test_")
    for path in paths.values():
        assert path.exists() and path.read_bytes()[:4] == b"\x89PNG"
