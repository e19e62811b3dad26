"""Metrics against scikit-learn on known examples; thresholds at fixed specificity; plots."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, matthews_corrcoef, roc_auc_score

from phosnet.evaluation import (
    binary_metrics,
    confusion_at,
    paired_bootstrap,
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
    m = binary_metrics(labels, scores, thresholds={"0.95": 1.0})
    assert m["at_thresholds"]["0.95"]["tp"] == int(((scores >= 1.0) & (labels == 1)).sum())
    assert m["at_thresholds"]["0.95"] == confusion_at(labels, scores, 1.0)


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


@pytest.mark.slow
def test_paired_bootstrap_separates_a_clear_win_from_a_tie(example):
    labels, scores = example
    rng = np.random.default_rng(7)
    noisy = scores + rng.normal(scale=2.0, size=scores.size)  # a much worse scorer
    win = paired_bootstrap(labels, scores, noisy, n_boot=300, seed=1)
    assert win["roc_auc"]["difference"] == pytest.approx(roc_auc_score(labels, scores) - roc_auc_score(labels, noisy))
    assert 0 < win["roc_auc"]["ci_low"] <= win["roc_auc"]["difference"] <= win["roc_auc"]["ci_high"]
    assert win["roc_auc"]["p_a_not_better"] < 0.01 and win["pr_auc"]["ci_low"] > 0
    tie = paired_bootstrap(labels, scores, scores, n_boot=50)  # identical scorers: exactly zero everywhere
    assert tie["roc_auc"]["ci_low"] == tie["roc_auc"]["ci_high"] == 0.0 and tie["roc_auc"]["p_a_not_better"] == 1.0
    swapped = paired_bootstrap(labels, noisy, scores, n_boot=300, seed=1)
    assert swapped["roc_auc"]["ci_high"] < 0 and swapped["roc_auc"]["p_a_not_better"] > 0.99


@pytest.mark.slow
def test_paired_bootstrap_resamples_whole_groups(example):
    """Ten copies of every site: resampled site by site they fake precision; as groups they do not."""
    labels, scores = example
    noisy = scores + np.random.default_rng(7).normal(scale=1.0, size=scores.size)
    original = paired_bootstrap(labels, scores, noisy, n_boot=200, seed=2)
    copies = np.repeat(np.arange(labels.size), 10)
    grouped = paired_bootstrap(labels[copies], scores[copies], noisy[copies], copies, n_boot=200, seed=2)
    assert grouped["groups"] == labels.size
    for metric in ("roc_auc", "pr_auc"):  # the same groups are drawn, and ten copies change neither AUC
        assert grouped[metric] == pytest.approx(original[metric])
    naive = paired_bootstrap(labels[copies], scores[copies], noisy[copies], n_boot=200, seed=2)
    width = {name: r["roc_auc"]["ci_high"] - r["roc_auc"]["ci_low"] for name, r in (("g", grouped), ("n", naive))}
    assert width["n"] < 0.6 * width["g"]
    with pytest.raises(ValueError, match="differ in length"):
        paired_bootstrap(labels, scores, scores[:-1])
