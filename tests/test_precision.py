"""The calibrated precision column: the table (monotone, interval, calibrated on data it was not fitted on), its
reading (a step function of the percentile), and every output that carries it (scan files = API, explain,
variants, measured sites, ``phosnet models``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import phosnet
from phosnet.bundle import load_model
from phosnet.cli import cli
from phosnet.io.rows import PRECISION_COLUMNS
from phosnet.precision import Precision, precision_table, share_at_or_above

EXAMPLE = Path(phosnet.__file__).parent / "examples" / "akt_substrates.fasta"
SITES_TABLE = Path(phosnet.__file__).parent / "examples" / "sites_protein.tsv"


def synthetic_sites(clusters: int, seed: int) -> pd.DataFrame:
    """S/T of substrate-like proteins: percentiles uniform-ish, known sites far likelier at the top, several
    proteins per cluster that share a cluster-level propensity (so sites within a cluster are correlated)."""
    rng = np.random.default_rng(seed)
    frames = []
    for c in range(clusters):
        n = int(rng.integers(40, 160))
        percentile = 100.0 * rng.beta(2.0, 1.0, n)
        lift = rng.normal(0.0, 0.5)
        probability = 1.0 / (1.0 + np.exp(-(0.12 * (percentile - 97.0) + lift)))
        frames.append(pd.DataFrame({"percentile": percentile, "label": (rng.random(n) < probability).astype(int),
                                    "cluster": f"C{c:03d}"}))
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def fitted() -> dict:
    sites = synthetic_sites(120, seed=1)
    return precision_table(sites["percentile"], sites["label"], sites["cluster"], replicates=200, source="synthetic")


def test_the_table_is_monotone_with_the_estimate_inside_its_interval(fitted: dict) -> None:
    table = Precision.from_metadata({"precision": fitted})
    assert table is not None
    assert (np.diff(table.precision) >= 0).all() and (np.diff(table.low) >= 0).all()
    assert (table.low <= table.precision).all() and (table.precision <= table.high).all()
    assert (table.high - table.low).max() > 0.05  # a real interval, wider where few sites are at or above
    assert fitted["sites"] == sum(fitted["sites_at_or_above"][:1]) and min(fitted["sites_at_or_above"]) >= 25


def test_the_table_is_calibrated_on_clusters_it_was_not_fitted_on(fitted: dict) -> None:
    """Fitted on one set of clusters, the predicted share at or above each level matches new clusters' share
    within the interval (both drawn from the same process)."""
    table = Precision.from_metadata({"precision": fitted})
    assert table is not None
    new = synthetic_sites(120, seed=2)
    levels = np.array([0.0, 50.0, 80.0, 90.0, 95.0, 98.0])
    observed, count = share_at_or_above(new["percentile"].to_numpy(), new["label"].to_numpy(), levels)
    predicted, low, high = table.lookup(levels)
    assert (count >= 25).all()
    inside = (observed >= low - 0.02) & (observed <= high + 0.02)
    assert inside.all(), (observed, low, high)
    assert np.abs(observed - predicted).max() < 0.1
    # and an uncalibrated reading (the base rate everywhere) would fail the same check
    assert not (np.abs(observed - observed[0]) < 0.1).all()


def test_a_lookup_is_a_step_function_of_the_percentile_and_nan_stays_nan() -> None:
    table = Precision(np.array([0.0, 50.0, 90.0]), np.array([0.01, 0.05, 0.4]), np.array([0.0, 0.02, 0.2]),
                      np.array([0.02, 0.1, 0.6]))
    value, low, high = table.lookup(np.array([0.0, 49.99, 50.0, 89.0, 99.9, 100.0, np.nan]))
    np.testing.assert_array_equal(value[:6], [0.01, 0.01, 0.05, 0.05, 0.4, 0.4])
    np.testing.assert_array_equal(low[:6], [0.0, 0.0, 0.02, 0.02, 0.2, 0.2])
    assert np.isnan(value[6]) and np.isnan(low[6]) and np.isnan(high[6])
    assert table.columns(np.array([60.0])).tolist() == [[0.05, 0.02, 0.1]]


@pytest.mark.parametrize("broken", [
    {"precision": [0.2, 0.1]},  # decreasing
    {"low": [0.3, 0.0]},  # above the estimate
    {"percentiles": [10.0, 10.0]},  # not increasing
])
def test_a_table_that_is_not_monotone_or_inside_its_interval_is_refused(broken: dict) -> None:
    table = {"percentiles": [0.0, 10.0], "precision": [0.1, 0.2], "low": [0.0, 0.1], "high": [0.2, 0.3], **broken}
    with pytest.raises(ValueError, match="precision table"):
        Precision.from_metadata({"precision": table})


def test_the_bundled_model_carries_a_precision_fitted_out_of_fold() -> None:
    model = load_model()
    assert model.precision is not None
    stored = model.metadata["precision"]
    assert stored["sites"] > 20_000 and stored["positives"] > 300 and stored["clusters"] > 100
    assert stored["precision"][0] == pytest.approx(stored["positives"] / stored["sites"], abs=0.005)


@pytest.fixture(scope="module")
def scanned() -> pd.DataFrame:
    return phosnet.predict(EXAMPLE)


def test_scan_precision_is_the_table_at_the_sites_percentile_and_monotone_in_score(scanned: pd.DataFrame) -> None:
    table = load_model().precision
    assert table is not None
    expected = table.columns(scanned["percentile"].to_numpy())
    np.testing.assert_array_equal(scanned[list(PRECISION_COLUMNS)].to_numpy(), expected)
    ordered = scanned.sort_values("score", kind="stable")
    assert (np.diff(ordered["precision"].to_numpy()) >= 0).all()
    assert scanned["precision"].nunique() > 3  # the example spans several levels
    assert (scanned["precision_low"] <= scanned["precision"]).all()
    assert (scanned["precision"] <= scanned["precision_high"]).all()


@pytest.mark.parametrize("suffix", [".tsv", ".csv", ".gff3"])
def test_written_scan_files_carry_the_apis_precisions(tmp_path: Path, scanned: pd.DataFrame, suffix: str) -> None:
    out = tmp_path / f"sites{suffix}"
    result = CliRunner().invoke(cli, ["scan", str(EXAMPLE), "-o", str(out), "-q"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    if suffix == ".gff3":
        rows = [line.split("\t") for line in out.read_text().splitlines() if not line.startswith("#")]
        attributes = [dict(part.split("=", 1) for part in row[8].split(";")) for row in rows]
        got = pd.DataFrame({name: [float(a[name]) for a in attributes] for name in PRECISION_COLUMNS})
    else:
        got = pd.read_csv(out, sep="\t" if suffix == ".tsv" else ",")[list(PRECISION_COLUMNS)]
    np.testing.assert_allclose(got.to_numpy(), scanned[list(PRECISION_COLUMNS)].to_numpy(), atol=5e-4, rtol=0)


def test_explain_variants_and_measured_sites_give_the_scans_precision(scanned: pd.DataFrame) -> None:
    by_site = scanned.set_index(["protein_id", "position"])["precision"]
    explained = phosnet.explain(EXAMPLE, ["P49841:S9"])
    wild = explained[explained["delta"] == 0].iloc[0]
    protein = str(wild["protein_id"])
    assert wild["precision"] == by_site[(protein, 9)]
    scorer_table = load_model().precision
    assert scorer_table is not None
    np.testing.assert_array_equal(explained["precision"].to_numpy(), scorer_table.lookup(explained["percentile"])[0])

    variants = phosnet.score_variants(EXAMPLE, pd.DataFrame({"protein_id": ["P49841"], "variant": ["R6A"]}))
    at_site = variants[variants["site"] == "S9"].iloc[0]
    assert at_site["ref_precision"] == by_site[(protein, 9)]
    assert at_site["alt_precision"] == scorer_table.lookup(np.array([at_site["alt_percentile"]]))[0][0]

    measured = phosnet.score_sites(SITES_TABLE, EXAMPLE)
    scored = measured[measured["status"] == "scored"]
    assert len(scored)
    for _, row in scored.iterrows():
        assert row["precision"] == by_site[(row["protein"], int(row["position"]))]


def test_a_model_without_a_table_leaves_the_columns_empty(tmp_path: Path) -> None:
    tiny = Path(__file__).parent / "data" / "scan" / "tiny.keras"
    frame = phosnet.predict(EXAMPLE, model=tiny)
    assert frame[list(PRECISION_COLUMNS)].isna().all().all()
    out = tmp_path / "sites.tsv"
    result = CliRunner().invoke(cli, ["scan", str(EXAMPLE), "--model", str(tiny), "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    assert pd.read_csv(out, sep="\t")[list(PRECISION_COLUMNS)].isna().all().all()


def test_models_shows_the_expected_precision_of_each_level() -> None:
    result = CliRunner().invoke(cli, ["models", "akt-default"])
    assert result.exit_code == 0, result.output
    assert "precision (95% interval)" in result.output and "precision:         share of known sites" in result.output
    meta = json.loads(CliRunner().invoke(cli, ["models", "akt-default", "--json"]).output)
    table = Precision.from_metadata(meta)
    assert table is not None
    value, low, high = (float(v[0]) for v in table.lookup(np.array([99.0])))  # medium: the top 1%
    assert f"{value:.2f} ({low:.2f}-{high:.2f})" in result.output
