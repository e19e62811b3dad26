"""``phosnet enrich`` / ``phosnet.enrich``: the direction of the AKT activity score on planted data, its calibration
on shuffled data, the Fisher test against scipy's, missing values, duplicates, written files vs the API."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy.stats import fisher_exact, norm

import phosnet
from phosnet.cli import cli
from phosnet.enrichment import ACTIVITY_COLUMNS, DRIVER_COLUMNS, Enrichment, fisher, fisher_table, gsea, ksea
from phosnet.errors import InputError

PLANTED = Path(__file__).parent / "data" / "enrich" / "planted.tsv"


@pytest.fixture(scope="module")
def planted() -> pd.DataFrame:
    return pd.read_csv(PLANTED, sep="\t", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def result() -> Enrichment:
    return phosnet.enrich(PLANTED, ["up", "down", "null", "samples=s1,s2,s3"], pvalues=["up_p", None, None, None],
                          permutations=500)


def _row(result, contrast: str) -> pd.Series:
    return result.activity.set_index("contrast").loc[contrast]


def test_planted_shift_gives_the_sign(result) -> None:
    up, down, null, samples = (_row(result, c) for c in ("up", "down", "null", "samples"))
    assert up["akt_activity"] > 3 and up["gsea_es"] > 0 and up["direction"] == "activated"
    assert down["akt_activity"] < -3 and down["gsea_es"] < 0 and down["direction"] == "inhibited"
    assert up["ksea_p"] < 1e-4 and down["ksea_p"] < 1e-4 and up["gsea_p"] < 0.01 and down["gsea_p"] < 0.01
    assert samples["akt_activity"] > 3
    assert null["direction"] == "unchanged" and null["ksea_p"] > 0.05
    assert list(result.activity.columns) == list(ACTIVITY_COLUMNS)


def test_shuffled_tables_are_not_significant(planted: pd.DataFrame) -> None:
    """The planted shift moved to random rows: the score is calibrated (few false positives at 5%)."""
    rng = np.random.default_rng(7)
    significant = 0
    for _ in range(20):
        table = planted.copy()
        table["down"] = rng.permutation(table["down"].to_numpy())
        row = phosnet.enrich(table, "down", permutations=200, seed=1).activity.iloc[0]
        significant += bool(row["ksea_p"] < 0.05)
        assert abs(row["akt_activity"]) < 4
    assert significant <= 3


def test_ksea_equals_its_formula(planted: pd.DataFrame, result) -> None:
    table = planted.drop_duplicates(["accession", "position"])
    fc = table["down"].astype(float).to_numpy()
    akt = (table["call"] == "true").to_numpy()
    z = (fc[akt].mean() - fc.mean()) * math.sqrt(akt.sum()) / fc.std(ddof=1)
    row = _row(result, "down")
    assert row["akt_activity"] == pytest.approx(z, rel=1e-12)
    assert row["ksea_p"] == pytest.approx(2 * norm.sf(abs(z)), rel=1e-9)
    assert row["akt_sites"] == akt.sum() and row["sites"] == len(table)


def test_fisher_equals_scipy_on_a_constructed_table() -> None:
    akt = np.array([True] * 6 + [False] * 20)
    regulated = np.array([True] * 4 + [False] * 2 + [True] * 3 + [False] * 17)
    table = fisher_table(akt, regulated, ~regulated)
    assert table.tolist() == [[4, 3], [2, 17]]
    expected = fisher_exact([[4, 3], [2, 17]], alternative="greater")
    assert fisher(table) == (pytest.approx(expected.statistic), pytest.approx(expected.pvalue))


def test_fisher_in_the_activity_table_equals_scipy(planted: pd.DataFrame, result) -> None:
    table = planted.drop_duplicates(["accession", "position"])
    table = table[table["up"] != "NA"]
    fc, p = table["up"].astype(float), table["up_p"].astype(float)
    akt = table["call"] == "true"
    up, down = (fc >= 1) & (p <= 0.05), (fc <= -1) & (p <= 0.05)
    rest = ~(up | down)
    counts = [[(akt & up).sum(), (~akt & up).sum()], [(akt & rest).sum(), (~akt & rest).sum()]]
    expected = fisher_exact(counts, alternative="greater")
    row = _row(result, "up")
    assert row["up_akt_sites"] == counts[0][0] and row["up_sites"] == up.sum() and row["down_sites"] == down.sum()
    assert row["fisher_up_odds_ratio"] == pytest.approx(expected.statistic)
    assert row["fisher_up_p"] == pytest.approx(expected.pvalue)


def test_missing_values_drop_sites_from_their_contrast_only(result) -> None:
    up, down = _row(result, "up"), _row(result, "down")
    assert up["missing"] == 5 and down["missing"] == 0
    assert up["sites"] == down["sites"] - 5 and up["akt_sites"] == down["akt_sites"] - 2
    assert not result.sites.query("contrast == 'up'")["log2fc"].isna().any()


def test_duplicate_rows_are_one_site(planted: pd.DataFrame, caplog) -> None:
    with caplog.at_level("WARNING", logger="phosnet"):
        out = phosnet.enrich(planted, "null", permutations=0)
    assert out.activity["sites"].iloc[0] == len(planted) - 1
    assert "1 row(s) repeat a site" in caplog.text


def test_too_few_predicted_sites_gives_a_note_not_a_score(planted: pd.DataFrame, caplog) -> None:
    table = planted.copy()
    table.loc[table["call"] == "true", "null"] = "NA"
    with caplog.at_level("WARNING", logger="phosnet"):
        row = phosnet.enrich(table, "null").activity.iloc[0]
    assert row["akt_sites"] == 0 and math.isnan(row["akt_activity"]) and "no activity score" in row["note"]
    assert "only 0 predicted AKT site(s)" in caplog.text


def test_call_rule_from_the_score(planted: pd.DataFrame) -> None:
    out = phosnet.enrich(planted.drop(columns="call"), "null", threshold=0.8, permutations=0)
    unique = planted.drop_duplicates(["accession", "position"])
    assert out.activity["akt_sites"].iloc[0] == (unique["score"].astype(float) >= 0.8).sum()
    assert out.threshold == 0.8


def test_gsea_is_seeded_and_signed() -> None:
    rng = np.random.default_rng(0)
    values = rng.normal(size=200)
    hits = np.zeros(200, dtype=bool)
    hits[np.argsort(values)[:15]] = True  # the lowest values
    first, second = gsea(values, hits, permutations=300, seed=3), gsea(values, hits, permutations=300, seed=3)
    assert first == second and first[0] < -0.9 and first[1] < 0 and first[2] < 0.01
    assert ksea(values, hits)[0] < 0


def test_bad_values_and_columns_are_one_line_errors(planted: pd.DataFrame) -> None:
    table = planted.copy()
    table.loc[7, "null"] = "abc"
    with pytest.raises(InputError, match=r"line 9: column 'null' .*'abc' is not a number"):
        phosnet.enrich(table, "null")
    with pytest.raises(InputError, match="no column 'Ins_exp9'"):
        phosnet.enrich(planted, "Ins_exp9")
    with pytest.raises(InputError, match="one p-value column per contrast"):
        phosnet.enrich(planted, ["up", "down"], pvalues=["up_p"])


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", keep_default_na=False, na_values=[""])


def test_written_files_equal_the_api(tmp_path: Path, result) -> None:
    out, drivers, plots = tmp_path / "activity.tsv", tmp_path / "drivers.tsv", tmp_path / "figures"
    args = ["enrich", str(PLANTED), "--contrast", "up", "--contrast", "down", "--contrast", "null",
            "--contrast", "samples=s1,s2,s3", "--pvalue", "up_p", "--pvalue", "", "--pvalue", "", "--pvalue", "",
            "--permutations", "500", "-o", str(out), "--drivers", str(drivers), "--plots", str(plots)]
    run = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert run.exit_code == 0, run.output
    written, expected = _read(out), result.activity
    assert list(written.columns) == list(ACTIVITY_COLUMNS) and len(written) == len(expected)
    for column in expected.columns:
        if pd.api.types.is_numeric_dtype(expected[column]):
            np.testing.assert_allclose(written[column].to_numpy(float), expected[column].to_numpy(float), rtol=1e-8)
        else:
            assert written[column].fillna("").astype(str).tolist() == expected[column].astype(str).tolist()
    side = _read(drivers)
    assert list(side.columns) == list(DRIVER_COLUMNS)
    assert side["site"].tolist() == result.drivers["site"].tolist()
    assert side["rank"].tolist() == result.drivers["rank"].tolist()
    np.testing.assert_allclose(side["log2fc"], result.drivers["log2fc"], rtol=1e-8)
    assert side["leading_edge"].tolist() == result.drivers["leading_edge"].tolist()
    assert sorted(p.name for p in plots.iterdir()) == sorted(
        f"{kind}_{c}.png" for kind in ("volcano", "running_sum") for c in ("up", "down", "null", "samples"))


def test_drivers_lead_with_the_leading_edge(result) -> None:
    down = result.drivers[result.drivers["contrast"] == "down"]
    edge = down["leading_edge"].to_numpy()
    assert edge.any() and not (edge[1:] & ~edge[:-1]).any()  # all leading-edge rows first
    assert (np.diff(down.loc[down["leading_edge"], "log2fc"].to_numpy()) >= 0).all()  # most down first
    assert down["site"].iloc[0].startswith("GENE") and " " in down["site"].iloc[0]


def test_bad_column_exits_with_one_line_naming_file_and_column(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, "-m", "phosnet", "enrich", str(PLANTED), "--contrast", "Ins_exp9",
                          "-o", str(tmp_path / "a.tsv")], capture_output=True, text=True,
                         cwd=Path(__file__).parent.parent)
    assert run.returncode != 0
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and str(PLANTED) in lines[0] and "'Ins_exp9'" in lines[0]
    assert not (tmp_path / "a.tsv").exists()


def test_doctests() -> None:
    import doctest

    import phosnet.enrichment

    outcome = doctest.testmod(phosnet.enrichment)
    assert outcome.attempted > 0 and outcome.failed == 0


def test_a_phosnet_sites_table_feeds_enrich(example_fasta: Path) -> None:
    """``phosnet.score_sites`` output goes straight in: its call column, gene and site names; Y rows left out."""
    examples = Path(phosnet.__file__).parent / "examples"
    scored = phosnet.score_sites(examples / "sites_protein.tsv", example_fasta)
    out = phosnet.enrich(scored, "log2fc_mk2206", min_sites=2, permutations=50)
    row = out.activity.iloc[0]
    st = scored[scored["score"].notna()]
    assert row["sites"] == len(st) and row["akt_sites"] == st["call"].astype(bool).sum()
    assert "GSK3B S9" in set(out.drivers["site"])


def test_one_measurement_on_several_proteins_counts_once() -> None:
    """A peptide ``phosnet sites`` found in two proteins is two rows with one input line: one site here."""
    window = "AAAAAAAARSRSRSTAAAAAAAAAAAAAAAA"
    letters = "ACDEFGHIKLMNPQRSTVWY"
    rows = [{"line": i + 2, "protein": f"P{i}", "position": 10, "window": f"{window[:-1]}{letters[i % 20]}",
             "score": 0.9 if i < 6 else 0.1, "call": i < 6, "fc": 1.0 if i < 6 else 0.0} for i in range(40)]
    rows.append({**rows[0], "protein": "P0-isoform"})  # same line, same window, another protein
    out = phosnet.enrich(pd.DataFrame(rows), "fc", permutations=0)
    assert out.activity["sites"].iloc[0] == 40 and out.activity["akt_sites"].iloc[0] == 6
