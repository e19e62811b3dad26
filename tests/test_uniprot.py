"""The one UniProt header parser (phosnet.io.uniprot): the union of the edge cases its three predecessors handled,
and every reader (scan columns, Protein.accession, protein aliases, measured sites) agreeing with it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import phosnet
from phosnet.cli import cli
from phosnet.io.uniprot import UniProtHeader, is_accession, parse_header
from phosnet.mutations import ProteinIndex

CASES = [
    # (protein_id, description, accession, entry name, gene)
    ("sp|P31749|AKT1_HUMAN", "sp|P31749|AKT1_HUMAN RAC-alpha OS=Homo sapiens OX=9606 GN=AKT1 PE=1 SV=2",
     "P31749", "AKT1_HUMAN", "AKT1"),
    ("tr|A0A024R161|A0A024R161_HUMAN", "tr|A0A024R161|A0A024R161_HUMAN x OS=Homo sapiens", "A0A024R161",
     "A0A024R161_HUMAN", ""),
    ("sp|P31749-2|AKT1_HUMAN", "sp|P31749-2|AKT1_HUMAN Isoform 2 GN=AKT1", "P31749-2", "AKT1_HUMAN", "AKT1"),
    ("sp|P31749|AKT1_HUMAN", None, "P31749", "AKT1_HUMAN", ""),  # no description: no gene
    ("sp||AKT1_HUMAN", "sp||AKT1_HUMAN GN=AKT1", "", "", "AKT1"),  # empty accession: not a UniProt id
    ("sp|P31749", "sp|P31749", "", "", ""),  # two fields: not UniProt's form (and not an accession)
    ("SP|P31749|AKT1_HUMAN", "SP|P31749|AKT1_HUMAN", "", "", ""),  # UniProt writes sp/tr in lower case
    ("gi|123|ref|NP_1|", "gi|123|ref|NP_1| protein", "", "", ""),  # another database's pipes
    ("P31749", "P31749 GN=AKT1", "P31749", "", "AKT1"),  # a bare accession is its own accession
    ("Q8WZ42-3", "Q8WZ42-3", "Q8WZ42-3", "", ""),
    ("my_protein", "my_protein some text GN=X1", "", "", "X1"),
    ("AKT1", "AKT1 XGN=NOPE GN=AKT1 GN=SECOND", "", "", "AKT1"),  # a GN= word, the first one
    ("p1", "p1 GN=", "", "", ""),  # GN= with nothing after it
]


@pytest.mark.parametrize(("protein_id", "description", "accession", "entry", "gene"), CASES)
def test_parse_header(protein_id: str, description: str | None, accession: str, entry: str, gene: str) -> None:
    assert parse_header(protein_id, description) == UniProtHeader(accession, entry, gene)


def test_accession_pattern() -> None:
    good = ["P31749", "O43524", "A0A024R161", "Q92934", "P31749-2", "A2BC19"]
    bad = ["AKT1", "P3174", "p31749", "P31749-", "AKT1_HUMAN", "", "12345"]
    assert all(is_accession(a) for a in good) and not any(is_accession(b) for b in bad)


def test_readers_agree_with_the_parser(tmp_path: Path) -> None:
    fasta = tmp_path / "p.fa"
    fasta.write_text(">sp|P31749|AKT1_HUMAN RAC-alpha OS=Homo sapiens GN=AKT1\nMSDVAIVKEGWLHKRGEYIKTWRPRYFLL\n"
                     ">P49841 GSK3B GN=GSK3B\nMSGRPRTTSFAESCKPVQQPSAFGSMKV\n"
                     ">gi|7|ref|NP_7| other\nMSTSSPRR\n")
    records = list(phosnet.read_fasta(fasta))
    assert [r.accession for r in records] == ["P31749", "P49841", "gi|7|ref|NP_7|"]
    index = ProteinIndex(fasta)
    for name, expected in [("P31749", "sp|P31749|AKT1_HUMAN"), ("AKT1_HUMAN", "sp|P31749|AKT1_HUMAN"),
                           ("AKT1", "sp|P31749|AKT1_HUMAN"), ("GSK3B", "P49841"), ("P49841", "P49841")]:
        assert index.resolve(name) == expected
    assert index.resolve("NP_7|") is None and index.resolve("ref") is None  # other databases' fields are no alias
    out = tmp_path / "scan.tsv"
    assert CliRunner().invoke(cli, ["scan", str(fasta), "-o", str(out), "-q"]).exit_code == 0
    written = pd.read_csv(out, sep="\t", dtype=str, keep_default_na=False).drop_duplicates("protein_id")
    assert written[["accession", "gene"]].values.tolist() == [["P31749", "AKT1"], ["P49841", "GSK3B"], ["", ""]]
    api = phosnet.predict(fasta).drop_duplicates("protein_id")
    assert api[["accession", "gene"]].values.tolist() == written[["accession", "gene"]].values.tolist()
    measured = phosnet.score_sites(pd.DataFrame({"protein": ["AKT1_HUMAN", "P49841"], "position": ["2", "9"]}), fasta)
    assert measured[["accession", "gene"]].values.tolist() == [["P31749", "AKT1"], ["P49841", "GSK3B"]]
    windows = phosnet.score_sites(pd.DataFrame({"protein": ["sp|P31749|AKT1_HUMAN", "P49841", "my_protein"],
                                                "window": ["RRRTTSFAESC", "GRPRTTSFAES", "AAAAASAAAAA"]}))
    assert windows["accession"].tolist() == ["P31749", "P49841", ""]  # the windows' protein column, parsed alike
