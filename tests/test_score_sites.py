"""``phosnet sites`` / ``phosnet.score_sites``: every input form and spelling placed on the right residue, the
scan's own scores, the input joined back, unplaced rows (error or apart), windows scored directly, and the
written table equal to the API's DataFrame."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import phosnet
from phosnet.cli import cli
from phosnet.errors import InputError
from phosnet.io.site_tables import read_site_table
from phosnet.measured import SITE_COLUMNS, score_site_table
from phosnet.peptides import PeptideIndex, parse_peptide

DATA = Path(__file__).parent / "data" / "sites"
EXAMPLES = Path(phosnet.__file__).parent / "examples"
FASTA = EXAMPLES / "akt_substrates.fasta"
MAXQUANT = EXAMPLES / "Phospho (STY)Sites.txt"


@pytest.fixture(scope="module")
def scan() -> pd.DataFrame:
    """``phosnet.predict`` of the example proteins: the scores every placed site must carry."""
    return phosnet.predict(FASTA)


def read_back(path: Path, sep: str = "\t") -> pd.DataFrame:
    return pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False)


def assert_scan_scores(sites: pd.DataFrame, scan: pd.DataFrame) -> None:
    """Every scored site has exactly the scan's score, percentile and call for its protein and position."""
    scored = sites[sites["status"] == "scored"]
    assert len(scored)
    merged = scored.merge(scan, left_on=["protein", "position"], right_on=["protein_id", "position"],
                          how="left", validate="many_to_one")
    assert merged["score_y"].notna().all()
    assert (merged["score_x"].to_numpy() == merged["score_y"].to_numpy()).all()  # exact, not approximately
    assert (merged["percentile_x"].to_numpy() == merged["percentile_y"].to_numpy()).all()
    assert (merged["call"].to_numpy() == merged["predicted"].to_numpy()).all()
    assert (merged["window_x"] == merged["window_y"]).all()


# ---------------------------------------------------------------------------------------------------------
# spellings
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text", [
    "AAGS(ph)PEK", "AAG(pS)PEK", "AAGpSPEK", "AAGsPEK", "_AAGS(Phospho (STY))PEK_", "AAGS[Phospho]PEK",
    "AAGS(Phospho)PEK", "AAGS[+80]PEK", "AAGS(+79.97)PEK", "AAGS[+79.966331]PEK", "AAGS[UNIMOD:21]PEK",
    "K.AAGS*PEK.L", "_(ac)AAGS(ph)PEK_", "[Acetyl]-AAGS[Phospho]PEK",
])
def test_every_spelling_reads_as_one_site_on_the_fourth_residue(text: str) -> None:
    assert parse_peptide(text) == parse_peptide("AAGSPEK") .__class__("AAGSPEK", (3,))


@pytest.mark.parametrize("text, sequence, sites", [
    ("AAGS(ph)PET(ph)K", "AAGSPETK", (3, 6)),
    ("AAGsPEtK", "AAGSPETK", (3, 6)),
    ("AAM(ox)GS(ph)PEK", "AAMGSPEK", (4,)),
    ("_AAGS(ph)M(Oxidation (M))PEK_", "AAGSMPEK", (3,)),
    ("AAGS(0.98)PEK", "AAGSPEK", ()),  # a localisation probability is no mark
    ("AAmGSPEK", "AAMGSPEK", ()),  # a lower-case M is oxidised, not a site
    ("AAC[+57.02]GS[+80]PEK", "AACGSPEK", (4,)),
])
def test_several_sites_and_other_modifications(text: str, sequence: str, sites: tuple[int, ...]) -> None:
    peptide = parse_peptide(text)
    assert peptide.sequence == sequence and peptide.sites == sites


@pytest.mark.parametrize("text", ["AAG S(ph)PEK", "AAGS(phPEK", "AA1GSPEK", ""])
def test_a_malformed_peptide_is_an_error(text: str) -> None:
    with pytest.raises(ValueError):
        parse_peptide(text)


def test_the_peptide_index_finds_every_place_and_only_those() -> None:
    text = "XXAAGSPEKXXXXMAAGSPEKQAAGSPEKXX"
    index = PeptideIndex(text, np.array([2, 13]), np.array([7, 16]))
    found = index.find(["AAGSPEK", "GSP", "Q", "WWW", "AAGSPEKQ", "EKXX"])
    assert found == [[(0, 0), (1, 1), (1, 9)], [(0, 2), (1, 3), (1, 11)], [(1, 8)], [], [(1, 1)], []]
    brute = [[(p, m.start()) for p, seq in enumerate(["AAGSPEK", "MAAGSPEKQAAGSPEK"])
              for m in __import__("re").finditer(f"(?={q})", seq)] for q in ["AAGSPEK", "GSP", "Q"]]
    assert found[:3] == brute


def test_spelling_table_places_each_spelling_where_expected(scan: pd.DataFrame) -> None:
    table = pd.read_csv(DATA / "spellings.tsv", sep="\t", dtype=str, keep_default_na=False)
    sites = phosnet.score_sites(DATA / "spellings.tsv", FASTA)
    for line, row in zip(range(2, len(table) + 2), table.itertuples(), strict=True):
        got = sites[sites["line"] == line]
        placed = [f"{a}:{s}" for a, s in zip(got["accession"], got["site"], strict=True)]
        assert placed == row.expect.split(";"), row.spelling
        assert (got["input"] == row.peptide).all() and (got["spelling"] == row.spelling).all()
    assert_scan_scores(sites, scan)
    tyrosine = sites[sites["residue"] == "Y"].iloc[0]
    assert tyrosine["status"] == "not scored" and "S/T" in tyrosine["reason"]
    assert np.isnan(tyrosine["score"]) and not tyrosine["call"]


# ---------------------------------------------------------------------------------------------------------
# the four forms
# ---------------------------------------------------------------------------------------------------------
def test_protein_form_matches_accessions_both_ways(scan: pd.DataFrame, tmp_path: Path) -> None:
    sites = phosnet.score_sites(EXAMPLES / "sites_protein.tsv", FASTA)
    assert list(sites["protein"].head(3)) == ["sp|P31749|AKT1_HUMAN", "sp|P31749|AKT1_HUMAN",
                                              "sp|P49841|GSK3B_HUMAN"]
    assert list(sites["site"]) == ["S473", "T308", "S9", "T32", "S253", "S99", "T157", "T198", "Y326", "S75"]
    assert_scan_scores(sites, scan)
    # the same table on a FASTA whose headers are bare accessions (the table holds sp|P49841|GSK3B_HUMAN too)
    plain = tmp_path / "plain.fasta"
    plain.write_text("".join(f">{p.accession}\n{p.sequence}\n" for p in phosnet.read_fasta(FASTA)))
    table = pd.read_csv(EXAMPLES / "sites_protein.tsv", sep="\t", dtype=str, keep_default_na=False)
    table = table[table["protein"] != "FOXO3"]  # a gene name needs GN= in the headers
    again = phosnet.score_sites(table, plain)
    assert list(again["protein"]) == [s.split("|")[1] for s in sites["protein"][sites["input_protein"] != "FOXO3"]]
    assert (again["score"].to_numpy()[again["status"] == "scored"]
            == sites["score"].to_numpy()[(sites["input_protein"] != "FOXO3") & (sites["status"] == "scored")]).all()


def test_peptide_in_several_proteins_gives_one_row_each(tmp_path: Path) -> None:
    records = list(phosnet.read_fasta(FASTA))
    fasta = tmp_path / "twice.fasta"
    gsk3b = next(p for p in records if p.accession == "P49841")
    fasta.write_text(f">{gsk3b.protein_id}\n{gsk3b.sequence}\n>copy\nMMMM{gsk3b.sequence[:40]}\n")
    sites = phosnet.score_sites(pd.DataFrame({"peptide": ["TTS(ph)FAESCK", "TTS(ph)FAES(ph)CK"]}), fasta)
    assert list(zip(sites["line"], sites["protein"], sites["position"], strict=True)) == [
        (2, gsk3b.protein_id, 9), (2, "copy", 13), (3, gsk3b.protein_id, 9), (3, gsk3b.protein_id, 13),
        (3, "copy", 13), (3, "copy", 17)]
    assert (sites["matches"] == 2).all()
    assert_scan_scores(sites, phosnet.predict(fasta))


def test_maxquant_drops_reverse_and_contaminants_and_filters_localization(scan: pd.DataFrame) -> None:
    result = score_site_table(MAXQUANT, FASTA)
    assert result.table.form == "maxquant"
    assert dict(result.table.dropped) == {"reverse": 1, "contaminant": 1}
    assert list(result.sites["id"]) == ["0", "1", "2", "3", "4", "5"]
    assert list(result.sites["site"]) == ["S9", "S473", "S253", "S99", "T157", "Y216"]
    assert_scan_scores(result.sites, scan)
    strict = score_site_table(MAXQUANT, FASTA, min_localization=0.75)
    assert strict.table.dropped["below localization"] == 1 and "3" not in set(strict.sites["id"])
    # without a FASTA its 31-residue windows are scored: the scan's windows, so nearly the scan's scores
    windows = phosnet.score_sites(MAXQUANT)
    assert list(windows["window"]) == list(result.sites["window"])
    assert np.allclose(windows["score"], result.sites["score"], atol=1e-6, equal_nan=True)


def test_windows_are_padded_to_the_model_and_scored_directly() -> None:
    sites = phosnet.score_sites(DATA / "windows.csv")
    assert list(sites["input"]) == pd.read_csv(DATA / "windows.csv")["sequence"].tolist()
    assert all(len(w) == 31 for w in sites["window"])
    s9 = sites["score"].to_numpy()
    assert s9[0] == s9[1]  # a 15-mer and the 17-mer with one X more each side are the same 31-mer
    assert s9[2] == s9[3]  # '_' and 'X' padding are the same
    assert list(sites["residue"]) == ["S", "S", "S", "S", "T", "T", "Y"]
    assert list(sites["status"])[-1] == "not scored"
    from phosnet.mutations import padded_code, site_scorer

    scorer = site_scorer()
    code = padded_code(next(p.sequence for p in phosnet.read_fasta(FASTA) if p.accession == "P49841"), 15)
    # the engine on GSK3B's own window (float32 rounding depends on the windows scored together)
    assert s9[2] == pytest.approx(scorer.score(code[None, 9 - 1 : 9 - 1 + 31])[0], abs=1e-6)
    called = scorer.called(s9[:6])
    assert (sites["call"].to_numpy()[:6] == called).all()


@pytest.mark.parametrize("form", ["protein", "peptide", "window"])
def test_detected_and_chosen_forms_agree(form: str) -> None:
    path = EXAMPLES / f"sites_{form}.tsv"
    assert read_site_table(path).form == form
    assert read_site_table(path, form=form).columns == read_site_table(path).columns


def test_headerless_gz_csv_and_excel_inputs(tmp_path: Path, scan: pd.DataFrame) -> None:
    plain = tmp_path / "peptides.txt"
    plain.write_text("TTS(ph)FAESCK\nAV(pS)M(ox)DNSNK\n")
    sites = phosnet.score_sites(plain, FASTA)
    assert list(sites["line"]) == [1, 2] and list(sites["site"]) == ["S9", "S253"]
    packed = tmp_path / "sites.csv.gz"
    with gzip.open(packed, "wt") as handle:
        handle.write("# comment line\nUniProt,Site\nP49841,S9\n\nO43524,T32\n")
    sites = phosnet.score_sites(packed, FASTA)
    assert list(sites["line"]) == [3, 5] and list(sites["site"]) == ["S9", "T32"]
    assert_scan_scores(sites, scan)
    pytest.importorskip("openpyxl")
    book = tmp_path / "sites.xlsx"
    pd.DataFrame({"Accession": ["P49841", "O43524"], "Position": [9, 32]}).to_excel(book, index=False)
    excel = phosnet.score_sites(book, FASTA)
    assert list(excel["line"]) == [2, 3] and list(excel["score"]) == list(sites["score"])


def test_no_recognisable_form_is_an_error_naming_the_columns(tmp_path: Path) -> None:
    odd = tmp_path / "odd.tsv"
    odd.write_text("foo\tbar\n1\t2\n")
    with pytest.raises(InputError, match=r"odd\.tsv: cannot tell .*foo, bar"):
        phosnet.score_sites(odd, FASTA)
    with pytest.raises(InputError, match="needs the FASTA"):
        phosnet.score_sites(EXAMPLES / "sites_protein.tsv")


# ---------------------------------------------------------------------------------------------------------
# join-back, unplaced rows
# ---------------------------------------------------------------------------------------------------------
def test_output_joins_back_to_the_input_rows() -> None:
    table = pd.read_csv(EXAMPLES / "sites_peptide.tsv", sep="\t", dtype=str, keep_default_na=False)
    sites = phosnet.score_sites(EXAMPLES / "sites_peptide.tsv", FASTA)
    joined = sites.merge(table, on="peptide", suffixes=("", "_orig"))
    assert len(joined) == len(sites)
    assert (joined["log2fc_mk2206"] == joined["log2fc_mk2206_orig"]).all()
    assert (sites["input"] == sites["peptide"]).all()
    assert set(sites["line"]) == set(range(2, len(table) + 2))  # every input row is there


@pytest.mark.parametrize("name, form, problems", [
    ("unplaced_peptides.tsv", "peptide", [(3, "not in the FASTA"), (4, "marks no phosphosite"),
                                          (5, "not a phosphosite residue"), (6, "4 residues, too short to place")]),
    ("unplaced_proteins.tsv", "protein", [(3, "off"), (4, "is F, not a phosphosite residue"),
                                          (5, "not in the FASTA"), (6, "is S, not T")]),
])
def test_unplaced_rows_stop_by_default_and_are_listed_when_skipped(name: str, form: str,
                                                                   problems: list[tuple[int, str]]) -> None:
    path = DATA / name
    with pytest.raises(InputError, match=rf"{name}: line {problems[0][0]}: .*{problems[0][1]}"):
        phosnet.score_sites(path, FASTA)
    result = score_site_table(path, FASTA, skip_unplaced=True)
    assert list(result.sites["line"]) == [2] and result.sites["site"].iloc[0] == "S9"
    assert list(result.unplaced["line"]) == [line for line, _ in problems]
    for reason, (_, expected) in zip(result.unplaced["reason"], problems, strict=True):
        assert expected in reason
    assert result.counts["unplaced"] == len(problems)


def test_cli_unplaced_error_writes_nothing_and_skip_writes_the_side_table(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "scored.tsv"
    table = DATA / "unplaced_peptides.tsv"
    failed = runner.invoke(cli, ["sites", str(table), "--fasta", str(FASTA), "-o", str(out)])
    assert failed.exit_code != 0 and not out.exists() and not list(tmp_path.iterdir())
    done = runner.invoke(cli, ["sites", str(table), "--fasta", str(FASTA), "-o", str(out), "--skip-unplaced"])
    assert done.exit_code == 0, done.output
    assert "4 rows cannot be placed" in done.stderr
    side = read_back(tmp_path / "scored.unplaced.tsv")
    assert list(side["line"]) == ["3", "4", "5", "6"]
    assert list(side["note"]) == ["not in the FASTA", "no site marked", "K is no phosphosite residue",
                                  "too short to place"]
    assert len(read_back(out)) == 1


# ---------------------------------------------------------------------------------------------------------
# written files equal the API's DataFrames
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, suffix", [("sites_peptide.tsv", ".tsv"), ("Phospho (STY)Sites.txt", ".csv"),
                                          ("sites_window.tsv", ".tsv")])
def test_written_table_equals_the_api_frame(name: str, suffix: str, tmp_path: Path) -> None:
    source = tmp_path / name
    shutil.copy(EXAMPLES / name, source)
    out = tmp_path / f"scored{suffix}"
    result = CliRunner().invoke(cli, ["sites", str(source), "--fasta", str(FASTA), "-o", str(out)])
    assert result.exit_code == 0, result.output
    api = phosnet.score_sites(source, FASTA)
    written = read_back(out, "," if suffix == ".csv" else "\t")
    assert list(written.columns) == list(api.columns)
    assert list(api.columns[-len(SITE_COLUMNS):]) == list(SITE_COLUMNS)
    for column in api.columns:
        if column in {"score", "percentile"}:
            values = pd.to_numeric(written[column].replace("", np.nan)).to_numpy(np.float64)
            assert np.array_equal(values.astype(np.float32), api[column].to_numpy().astype(np.float32),
                                  equal_nan=True), column
        elif column == "call":
            assert list(written[column]) == ["true" if c else "false" for c in api[column]]
        else:
            assert list(written[column]) == ["" if pd.isna(v) else str(v) for v in api[column]], column


# ---------------------------------------------------------------------------------------------------------
# package promises
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("module", ["phosnet.peptides", "phosnet.measured", "phosnet.io.site_tables"])
def test_doctests(module: str) -> None:
    import doctest

    result = doctest.testmod(__import__(module, fromlist=["_"]))
    assert result.attempted > 0 and result.failed == 0


def test_sites_command_never_imports_tensorflow(tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    script = ("import json, sys\nfrom phosnet.cli import main\n"
              "try:\n    main(['sites', sys.argv[1], '--fasta', sys.argv[2], '-o', sys.argv[3], '-q'])\n"
              "except SystemExit as exc:\n    assert not exc.code, exc.code\n"
              "print(json.dumps(['tensorflow' in sys.modules, 'keras' in sys.modules]))\n")
    out = tmp_path / "scored.tsv"
    done = subprocess.run([sys.executable, "-c", script, str(EXAMPLES / "sites_peptide.tsv"), str(FASTA), str(out)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [False, False]
    assert len(read_back(out)) == 10
