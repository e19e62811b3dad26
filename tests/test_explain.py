"""``phosnet explain``: real biology with the bundled model, the table, scores == predict, errors, figures."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import phosnet
from phosnet.cli import cli
from phosnet.errors import InputError
from phosnet.explainer import EXPLAIN_COLUMNS, position_importance

EXAMPLE = Path(phosnet.__file__).parent / "examples" / "akt_substrates.fasta"
AKT1S1 = Path(__file__).parent / "data" / "whatif" / "akt1s1.fasta"
GSK3B = "sp|P49841|GSK3B_HUMAN"


def pdf_pages(path: Path) -> int:
    return len(re.findall(rb"/Type\s*/Page\b(?!s)", path.read_bytes()))


@pytest.fixture(scope="module")
def gsk3b_s9() -> pd.DataFrame:
    return phosnet.explain(EXAMPLE, "P49841:S9")


@pytest.fixture(scope="module")
def pras40_t246() -> pd.DataFrame:
    return phosnet.explain(AKT1S1, "AKT1S_HUMAN:T246")


@pytest.mark.parametrize("fixture", ["gsk3b_s9", "pras40_t246"])
def test_arginines_at_minus_3_and_minus_5_matter_most(fixture: str, request: pytest.FixtureRequest) -> None:
    table = request.getfixturevalue(fixture)
    importance = position_importance(table).sort_values("importance", ascending=False)
    top = importance.head(3)
    # RxRxxS/T: the two arginines are the two positions whose substitution lowers the score most.
    assert set(importance.head(2)["offset"]) == {-3, -5}
    assert (top.set_index("offset").loc[[-3, -5], "wild_type"] == "R").all()
    r3 = table[(table["offset"] == -3) & (table["substitute"] != "R")]
    assert (r3["delta"] < 0).mean() > 0.9  # almost every substitution of R-3 lowers the score


@pytest.mark.parametrize("fixture", ["gsk3b_s9", "pras40_t246"])
def test_site_residue_to_alanine_removes_the_site(fixture: str, request: pytest.FixtureRequest) -> None:
    table = request.getfixturevalue(fixture)
    centre = table[table["offset"] == 0].set_index("substitute")
    wild = centre.loc[centre["wild_type"].iloc[0]]
    assert wild["predicted"] and wild["delta"] == 0
    assert np.isnan(centre.loc["A", "score"]) and np.isnan(centre.loc["A", "delta"])
    assert not centre.loc["A", "predicted"]
    other = "T" if wild.name == "S" else "S"  # S <-> T keeps a site with a score
    assert np.isfinite(centre.loc[other, "score"])
    assert centre["score"].notna().sum() == 2


def test_table_format(gsk3b_s9: pd.DataFrame) -> None:
    table = gsk3b_s9
    assert list(table.columns) == EXPLAIN_COLUMNS
    # S9: offsets -8 (M1) .. +15 lie on the protein; 21 substitutes (20 amino acids and X) each
    assert sorted(table["offset"].unique()) == list(range(-8, 16))
    assert len(table) == 24 * 21
    assert set(table["substitute"]) == set(phosnet.ALPHABET)
    assert (table["site"] == "S9").all() and (table["position"] == 9).all() and (table["protein_id"] == GSK3B).all()
    row = table[table["mutation"] == "R6A"].iloc[0]
    assert (row["offset"], row["wild_type"], row["substitute"]) == (-3, "R", "A")
    wild_rows = table[table["wild_type"] == table["substitute"]]
    assert len(wild_rows) == 24 and (wild_rows["delta"] == 0).all()
    # percentiles in the bundled model's human-proteome background, as a scan computes them; none for no site
    background = phosnet.load_model().background
    assert background is not None
    scored = table["score"].notna()
    assert (table["percentile"].notna() == scored).all() and table.loc[scored, "percentile"].between(0, 100).all()
    assert np.allclose(table.loc[scored, "percentile"], background.percentile(table.loc[scored, "score"].to_numpy()))
    assert (wild_rows["delta_percentile"] == 0).all()
    r6a = table[table["mutation"] == "R6A"].iloc[0]
    assert r6a["delta_percentile"] < 0 and r6a["delta"] < 0


def test_scores_equal_predict_on_the_mutated_sequences(gsk3b_s9: pd.DataFrame) -> None:
    sequence = phosnet.read_proteins(EXAMPLE)[GSK3B]
    rng = np.random.default_rng(0)
    rows = gsk3b_s9[gsk3b_s9["score"].notna()].iloc[rng.choice(gsk3b_s9["score"].notna().sum(), 25, replace=False)]
    mutants = {}
    for mutation in rows["mutation"]:
        at = int(mutation[1:-1])
        mutants[mutation] = sequence[: at - 1] + mutation[-1] + sequence[at:]
    scan = phosnet.predict(mutants)
    expected = scan[scan["position"] == 9].set_index("protein_id")["score"]
    got = rows.set_index("mutation")
    assert np.allclose(got.loc[expected.index, "score"], expected, atol=1e-6, rtol=0)
    called = scan[scan["position"] == 9].set_index("protein_id")["predicted"]
    assert (got.loc[called.index, "predicted"] == called).all()


def test_site_forms_and_errors(tmp_path: Path) -> None:
    seq = "MSGRPRTTSFAESCKPVQQPSAFG"
    one = phosnet.explain(seq, "S9")
    assert np.allclose(one["score"].dropna(), phosnet.explain({"x": seq}, [("x", 9)])["score"].dropna())
    table = tmp_path / "sites.tsv"
    table.write_text("protein_id\tposition\nP49841\t9\nP49841\t99999\n")
    with pytest.raises(InputError, match=r"sites.tsv: record line 3: position 99999 is off"):
        phosnet.explain(EXAMPLE, table)
    by_gene = phosnet.explain(EXAMPLE, "GSK3B:S9")  # the gene from GN= in the UniProt header
    assert set(by_gene["protein_id"]) == {GSK3B}
    with pytest.raises(InputError, match="unknown protein 'NOPE'"):
        phosnet.explain(EXAMPLE, "NOPE:S9")
    with pytest.raises(InputError, match="has S at 9, not T"):
        phosnet.explain(EXAMPLE, "P49841:T9")
    with pytest.raises(InputError, match="F is not a candidate residue"):
        phosnet.explain(EXAMPLE, "P49841:10")
    with pytest.raises(InputError, match="names no protein"):
        phosnet.explain(EXAMPLE, "S9")


@pytest.mark.slow
def test_cli_writes_table_and_figures(tmp_path: Path) -> None:
    out, pdf, png = tmp_path / "explain.csv", tmp_path / "explain.pdf", tmp_path / "s9.png"
    result = CliRunner().invoke(cli, ["explain", str(EXAMPLE), "P49841:S9", "P31749:S473", "-o", str(out),
                                      "--plot", str(pdf)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    written = pd.read_csv(out)
    assert list(written.columns) == EXPLAIN_COLUMNS
    assert set(written["site"]) == {"S9", "S473"}
    api = phosnet.explain(EXAMPLE, ["P49841:S9", "P31749:S473"])
    # every float32 score reads back exactly (9 significant digits), no site stays empty
    assert np.array_equal(written["score"].to_numpy(np.float32), api["score"].to_numpy(np.float32), equal_nan=True)
    # deltas are float64 differences of float32 scores: the file keeps their 9 significant digits
    np.testing.assert_allclose(written["delta"], api["delta"], rtol=1e-8, atol=0)
    assert list(written["mutation"]) == list(api["mutation"])
    assert not re.search(r"\de[-+]\d", out.read_text())  # positional numbers, as the scan writes them
    assert written["predicted"].dtype == bool
    assert pdf_pages(pdf) == 2 and pdf.stat().st_size > 20_000
    result = CliRunner().invoke(cli, ["explain", str(EXAMPLE), "P49841:S9", "--plot", str(png), "-o",
                                      str(tmp_path / "t.tsv")])
    assert result.exit_code == 0 and png.read_bytes()[:4] == b"\x89PNG" and png.stat().st_size > 20_000
    # two sites do not fit one PNG: refused before any work, nothing written
    result = CliRunner().invoke(cli, ["explain", str(EXAMPLE), "P49841:S9", "P31749:S473", "--plot",
                                      str(tmp_path / "two.png"), "-o", str(tmp_path / "two.tsv")])
    assert result.exit_code != 0 and "write a .pdf or a folder" in str(result.exception)
    assert not (tmp_path / "two.tsv").exists() and not (tmp_path / "two.png").exists()
    folder = tmp_path / "figs"
    result = CliRunner().invoke(cli, ["explain", str(EXAMPLE), "P49841:S9", "P31749:S473", "--plot", str(folder),
                                      "-o", str(tmp_path / "f.tsv")], catch_exceptions=False)
    assert sorted(p.name for p in folder.iterdir()) == ["sp_P31749_AKT1_HUMAN_S473.png", "sp_P49841_GSK3B_HUMAN_S9.png"]


def test_bad_site_is_one_line_error_and_no_output(tmp_path: Path) -> None:
    out = tmp_path / "x.tsv"
    proc = subprocess.run([sys.executable, "-m", "phosnet", "explain", str(EXAMPLE), "P49841:T9", "-o", str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "phosnet: error: <sites>: site P49841:T9: sp|P49841|GSK3B_HUMAN has S at 9, not T"
    ]
    assert not out.exists()


def test_calls_compare_exactly_as_a_scan_does() -> None:
    # the one call rule (phosnet.calling): score >= threshold compared exactly, so a threshold a hair above a
    # float32 score does not call it (in float32 the threshold would round down onto the score and call it)
    table = phosnet.explain(EXAMPLE, "P49841:S9")
    score = float(table.loc[table["mutation"] == "R6A", "score"].iloc[0])
    threshold = score + 1e-12
    assert threshold > score and np.float32(threshold) == np.float32(score)
    above = phosnet.explain(EXAMPLE, "P49841:S9", threshold=threshold)
    assert not above.loc[above["mutation"] == "R6A", "predicted"].iloc[0]
    at = phosnet.explain(EXAMPLE, "P49841:S9", threshold=score)
    assert at.loc[at["mutation"] == "R6A", "predicted"].iloc[0]
