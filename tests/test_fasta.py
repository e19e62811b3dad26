"""FASTA reader: formats that must work and inputs that must be rejected with a one-line error."""

from __future__ import annotations

import gzip
import io
import sys
from pathlib import Path

import pytest

from phosnet import InputError, read_fasta, read_proteins

DATA = Path(__file__).parent / "data"
AKT1 = DATA / "akt1_human.fasta"


def _write(tmp_path: Path, text: str | bytes, name: str = "in.fasta") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def test_uniprot_header_gives_id_description_and_accession():
    (protein,) = read_fasta(AKT1)
    assert protein.protein_id == "sp|P31749|AKT1_HUMAN"
    assert protein.accession == "P31749"
    assert protein.description.startswith("sp|P31749|AKT1_HUMAN RAC-alpha")
    assert len(protein.sequence) == 480
    # AKT1's own regulatory sites, 1-based: T308 (activation loop) and S473 (hydrophobic motif).
    assert protein.sequence[308 - 1] == "T" and protein.sequence[473 - 1] == "S"


def test_lowercase_crlf_blank_lines_stop_and_nonstandard_letters(tmp_path):
    path = _write(tmp_path, ">a first\r\nmkt\r\n\r\nSU*\r\n\r\n>b\nBZJOX\n\n")
    records = list(read_fasta(path))
    assert [(r.protein_id, r.sequence) for r in records] == [("a", "MKTSC"), ("b", "XXXKX")]


def test_gzip_and_stdin(tmp_path, monkeypatch):
    text = AKT1.read_bytes()
    gz = _write(tmp_path, gzip.compress(text), "akt1.fa.gz")
    assert next(read_fasta(gz)).sequence == next(read_fasta(AKT1)).sequence
    # gzip is recognised by content, not by name
    assert next(read_fasta(_write(tmp_path, gzip.compress(text), "noext"))).accession == "P31749"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text)))
    assert next(read_fasta("-")).accession == "P31749"


def test_long_protein_is_fine(tmp_path):
    path = _write(tmp_path, ">big\n" + "ACDEFGHIKLMNPQRSTVWY" * 5000 + "\n")
    assert len(next(read_fasta(path)).sequence) == 100_000


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("MKTAYIAK\n", "does not start with a '>' header"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR", "binary"),
        (">p1\nMKT1AY\n", "record 1 (p1): invalid character '1' at residue 4"),
        (">p1\nMKT\n>p2\nMK-T\n", "record 2 (p2): invalid character '-'"),
        (">p1\nMK*T\n", "record 1 (p1): invalid character '*'"),
        (">p1\nMKT\n>p2\n\n>p3\nAA\n", "record 2 (p2): no residues"),
        ("", "no FASTA records"),
        ("\n\n", "no FASTA records"),
        (">\nMKT\n", "empty header"),
    ],
)
def test_bad_input_is_one_line_error_naming_file_and_record(tmp_path, content, message):
    path = _write(tmp_path, content)
    with pytest.raises(InputError) as info:
        list(read_fasta(path))
    text = str(info.value)
    assert message in text and str(path) in text and "\n" not in text


def test_truncated_gzip(tmp_path):
    data = gzip.compress(AKT1.read_bytes() * 20)
    path = _write(tmp_path, data[: len(data) // 2], "cut.fasta.gz")
    with pytest.raises(InputError, match="truncated gzip"):
        list(read_fasta(path))


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        list(read_fasta(tmp_path / "absent.fasta"))
    with pytest.raises(InputError, match="is a directory"):
        list(read_fasta(tmp_path))


def test_read_proteins_rejects_duplicates(tmp_path):
    path = _write(tmp_path, ">a\nMK\n>a\nMT\n")
    with pytest.raises(InputError, match="duplicate identifier 'a'"):
        read_proteins(path)
    assert read_proteins(AKT1, key="accession").keys() == {"P31749"}


def test_protein_accession_other_forms(tmp_path):
    path = _write(tmp_path, b">tr|A0A024R161|A0A024R161_HUMAN x\nMS\n>gi|12345 y\nMT\n", "forms.fa")
    assert [p.accession for p in read_fasta(path)] == ["A0A024R161", "gi|12345"]  # else the id: the key
