"""The reference background: quantile table, percentiles (monotone, 0-100) and stringency thresholds."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from phosnet.background import Background, background_from_scores, percentile_grid, quantile_table
from phosnet.calling import STRINGENCY, called


def _background(scores: np.ndarray) -> Background:
    background = Background.from_metadata({"background": background_from_scores(scores, source="synthetic")})
    assert background is not None
    return background


@pytest.fixture(scope="module")
def proteome_like() -> np.ndarray:
    """Scores shaped like a proteome scan: most near 0, a long tail, a block of tied values."""
    rng = np.random.default_rng(0)
    scores = 1 / (1 + np.exp(-rng.normal(-7, 2.5, 300_000)))
    scores[:2000] = np.float32(0.001)  # ties (below the levels' cut-offs: tied sites are all called or none)
    return scores.astype(np.float32)


def test_grid_is_compact_and_fine_at_the_top() -> None:
    grid = percentile_grid()
    assert 1000 <= len(grid) <= 4000 and grid[0] == 0 and grid[-1] == 100 and (np.diff(grid) > 0).all()
    assert {99.8, 99.0, 95.0} <= set(grid.tolist())


def test_percentile_monotone_in_score_and_within_0_100(proteome_like: np.ndarray) -> None:
    background = _background(proteome_like)
    probe = np.sort(np.concatenate([proteome_like[:50_000], [0.0, 1.0, -1.0, 2.0, 0.001, 1e-30]]))
    pct = background.percentile(probe)
    assert (np.diff(pct) >= 0).all()
    assert pct.min() >= 0 and pct.max() <= 100
    assert background.percentile(np.array([2.0]))[0] == 100 and background.percentile(np.array([-1.0]))[0] == 0
    assert np.isnan(background.percentile(np.array([np.nan]))[0])


def test_percentile_matches_the_empirical_rank(proteome_like: np.ndarray) -> None:
    """Against the exact share of the background at or below a score (to within the grid's resolution)."""
    background = _background(proteome_like)
    ordered = np.sort(proteome_like.astype(np.float64))
    probe = np.quantile(ordered, [0.1, 0.5, 0.9, 0.95, 0.99, 0.995, 0.999])
    exact = 100 * np.searchsorted(ordered, probe, side="right") / len(ordered)
    np.testing.assert_allclose(background.percentile(probe), exact, atol=0.11)


@pytest.mark.parametrize("level", list(STRINGENCY))
def test_each_stringency_level_calls_its_share_of_the_background(proteome_like: np.ndarray, level: str) -> None:
    background = _background(proteome_like)
    threshold = background.threshold(level)
    calls = called(proteome_like, threshold)  # as a scan calls
    share = 100 * calls.mean()
    assert share == pytest.approx(STRINGENCY[level], rel=0.02)
    stored = background.stringency[level]  # 9 digits of a background score, read back as that float32
    assert np.float32(stored["threshold"]) == threshold and stored["background_calls"] == calls.sum()
    # the percentile of the threshold is the level's cut-off
    assert background.percentile(np.array([threshold]))[0] == pytest.approx(100 - STRINGENCY[level], abs=0.01)


def test_levels_are_nested(proteome_like: np.ndarray) -> None:
    background = _background(proteome_like)
    assert background.threshold("high") > background.threshold("medium") > background.threshold("low")
    with pytest.raises(ValueError, match="stringency must be one of"):
        background.threshold("extreme")


def test_table_is_deterministic_and_rejects_bad_input() -> None:
    scores = np.random.default_rng(3).random(10_000)
    assert quantile_table(scores) == quantile_table(scores.copy())
    with pytest.raises(ValueError, match="no background scores"):
        quantile_table(np.array([np.nan]))
    assert Background.from_metadata({"name": "m"}) is None
    with pytest.raises(ValueError, match="increasing"):
        Background.from_metadata({"background": {"percentiles": [0, 50, 100], "scores": [0.3, 0.2, 0.9]}})


BACKGROUND_DATA = Path(__file__).parent / "data" / "background"
COMMAND = "python benchmarks/background/build.py"


@pytest.mark.parametrize("name", ["akt-default", "akt-ensemble"])
def test_bundled_table_is_reproducible_from_its_command(name: str) -> None:
    """The bundled table was built for the weights that ship (else: re-run the command), and the command's code
    gives, on the committed proteome sample, exactly the table it stored for that sample."""
    from phosnet import load_model
    from phosnet.background_build import build_background
    from phosnet.io.digest import sha256_file

    model = load_model(name)
    stored = model.metadata.get("background")
    assert stored, f"bundled model {name} has no background table: run {COMMAND}"
    assert stored["model_sha256"] == sha256_file(model.path), f"{name}'s weights changed: run {COMMAND}"
    assert stored["command"] == COMMAND and stored["sites"] > 1_000_000
    background = Background.from_metadata(model.metadata)
    assert background is not None and len(background.scores) == len(percentile_grid())
    for level, top in STRINGENCY.items():
        numbers = stored["stringency"][level]
        assert numbers["background_percent"] == pytest.approx(top, rel=0.1)
        assert 0 < numbers["test_sensitivity"] <= 1 and numbers["test_positives"] == 62
    sample = json.loads((BACKGROUND_DATA / f"{name}.sample.json").read_text())
    assert sample["model_sha256"] == stored["model_sha256"], f"sample table of an older {name}: run {COMMAND}"
    again = build_background(name, BACKGROUND_DATA / "human_sample.fasta")
    assert again["sites"] == sample["sites"] and again["stringency"] == sample["stringency"]
    np.testing.assert_allclose(again["scores"], sample["scores"], rtol=1e-6, atol=0)
