"""``phosnet map``: files by suffix, multi-page PDF, folder, known sites, errors; no TensorFlow on these paths."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import phosnet
from phosnet.cli import cli
from phosnet.errors import InputError
from phosnet.plots import figure_target

EXAMPLE = Path(phosnet.__file__).parent / "examples" / "akt_substrates.fasta"


def pdf_pages(path: Path) -> int:
    return len(re.findall(rb"/Type\s*/Page\b(?!s)", path.read_bytes()))


@pytest.fixture(scope="module")
def known(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("known") / "known.tsv"
    path.write_text("protein_id\tposition\tlabel\nP31749\t473\t1\nP31749\t308\t1\nFOXO3_HUMAN\t253\t1\n"
                    "P49841\t10\t0\n")
    return path


def test_one_protein_per_suffix(tmp_path: Path, known: Path) -> None:
    for suffix, magic in ((".png", b"\x89PNG"), (".svg", b"<?xml"), (".pdf", b"%PDF")):
        out = tmp_path / f"foxo3{suffix}"
        assert phosnet.plot_map(EXAMPLE, out, proteins=["O43524"], known_sites=known) == [out]
        assert out.read_bytes()[: len(magic)] == magic and out.stat().st_size > 10_000
    assert pdf_pages(tmp_path / "foxo3.pdf") == 1
    svg = (tmp_path / "foxo3.svg").read_text()
    # FOXO3's AKT sites are called at the default, medium stringency (the top 1% of the human proteome)
    medium = phosnet.load_model().background.threshold("medium")  # the bundled model's own level
    for label in ("T32", "S253", "S315", "known site", f"stringency medium (top 1%): score &gt;= {medium:.3g}"):
        assert label in svg


def test_many_proteins_to_a_multipage_pdf_or_a_folder(tmp_path: Path) -> None:
    pdf = tmp_path / "maps.pdf"
    calls: list[tuple[int, int]] = []
    phosnet.plot_map(EXAMPLE, pdf, callback=lambda done, total: calls.append((done, total)))
    assert pdf_pages(pdf) == 5 and calls == [(1, 5)] * 5 and pdf.stat().st_size > 20_000
    written = phosnet.plot_map(EXAMPLE, tmp_path / "maps", proteins=["AKT1_HUMAN", "P49841"], fmt="svg")
    assert [p.name for p in written] == ["sp_P31749_AKT1_HUMAN.svg", "sp_P49841_GSK3B_HUMAN.svg"]
    assert all(p.stat().st_size > 10_000 for p in written)


def test_percentile_map(tmp_path: Path) -> None:
    out = tmp_path / "foxo3.svg"
    phosnet.plot_map(EXAMPLE, out, proteins=["O43524"], value="percentile", stringency="low")
    svg = out.read_text()
    assert "percentile" in svg and "stringency low (top 5%): percentile &gt;= 95" in svg
    for label in ("T32", "S253", "S315"):
        assert label in svg


def test_a_protein_without_st_still_gets_its_page(tmp_path: Path) -> None:
    pdf = tmp_path / "two.pdf"
    phosnet.plot_map({"none": "MKLLPAAGGKRE", "gsk3b_nterm": "MSGRPRTTSFAESCKPVQQPSAFG"}, pdf)
    assert pdf_pages(pdf) == 2


def test_errors_before_any_drawing(tmp_path: Path, known: Path) -> None:
    with pytest.raises(InputError, match="5 figures do not fit one PNG; write a .pdf or a folder"):
        phosnet.plot_map(EXAMPLE, tmp_path / "all.png")
    with pytest.raises(InputError, match="unknown protein 'NOPE'"):
        phosnet.plot_map(EXAMPLE, tmp_path / "x.png", proteins=["NOPE"])
    bad = tmp_path / "bad.tsv"
    bad.write_text("protein_id\tposition\nP31749\t9999\n")
    with pytest.raises(InputError, match=r"bad.tsv: record line 2: position 9999 is off"):
        phosnet.plot_map(EXAMPLE, tmp_path / "x.pdf", known_sites=bad)
    with pytest.raises(InputError, match=r"\.png, \.svg or \.pdf"):
        figure_target(tmp_path / "x.jpg", 1)
    assert not list(tmp_path.glob("*.p*"))


def test_cli(tmp_path: Path, known: Path) -> None:
    out = tmp_path / "maps.pdf"
    result = CliRunner().invoke(cli, ["map", str(EXAMPLE), "P31749", "O43524", "--sites", str(known), "-o", str(out)],
                                catch_exceptions=False)
    assert result.exit_code == 0 and pdf_pages(out) == 2


@pytest.mark.slow
def test_no_tensorflow_on_the_whatif_paths(tmp_path: Path) -> None:
    code = (
        "import sys, phosnet\n"
        f"fasta = {str(EXAMPLE)!r}\n"
        "t = phosnet.explain(fasta, 'P49841:S9')\n"
        f"phosnet.plot_explain(t, {str(tmp_path / 'e.png')!r})\n"
        "v = phosnet.score_variants(fasta, [('P49841', 'R6A')])\n"
        f"phosnet.plot_map(fasta, {str(tmp_path / 'm.pdf')!r})\n"
        "assert t['score'].notna().any() and len(v)\n"
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.split() == ["False", "False"]
