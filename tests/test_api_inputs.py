"""The Python API's one rule for telling a path from a sequence, clear errors for wrong types, unique ids
(issue #11), and the README's predict_iter recipe (one header)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import phosnet
from phosnet.cli import main
from phosnet.errors import InputError

ROOT = Path(__file__).resolve().parent.parent
TINY = str(ROOT / "tests" / "data" / "scan" / "tiny.keras")
EXAMPLE = Path(phosnet.__file__).parent / "examples" / "akt_substrates.fasta"


def predict(value):
    return phosnet.predict(value, model=TINY)


@pytest.mark.parametrize("value, error, needle", [
    ({"P1": None}, TypeError, "record 'P1'"),
    ({"P1": True}, TypeError, "record 'P1'"),
    ({"P1": 5}, TypeError, "record 'P1'"),
    ({"P1": b"MKTS"}, TypeError, "record 'P1'"),
    (None, TypeError, "None"),
    (b"MKTSPSRS", TypeError, "bytes"),
    (("P1", "MKTSPSRS"), TypeError, "tuple"),
    (5, TypeError, "int"),
    ("myproteins", InputError, "neither a file path nor a protein sequence"),
    ("MKT1SPS", InputError, "neither a file path nor a protein sequence"),
    ("MKT\nSPS", InputError, "multi-line"),
    ("", InputError, "empty string"),
    ("   ", InputError, "empty string"),
    ("missing/proteins.fasta", InputError, "no such file"),
    ("proteins.fa", InputError, "proteins.fa: no such file"),
    ([("a", "MKST"), ("a", "MKTS")], InputError, "duplicate identifier 'a'"),
    (">a\nMKST\n>a\nMKTS\n", InputError, "duplicate identifier 'a'"),
    (["MKST", "mk1t"], InputError, "item 2"),
    ([("a", None)], TypeError, "record 'a'"),
])
def test_wrong_inputs_are_clear_errors(value, error, needle):
    with pytest.raises(error) as info:
        predict(value)
    assert needle in str(info.value) and "\n" not in str(info.value)


def test_an_upper_case_word_is_a_sequence_even_if_a_file_has_that_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "MKTSPSRS").write_text(">from_file\nMSSSSSSSSSS\n")
    table = predict("MKTSPSRS")
    assert set(table["protein_id"]) == {"sequence"} and len(table) == 4  # S/T of MKTSPSRS, not the file's 10
    from_path = predict(Path("MKTSPSRS"))  # a Path is always a file
    assert set(from_path["protein_id"]) == {"from_file"}


def test_paths_and_texts_still_work(tmp_path):
    fasta_text = EXAMPLE.read_text()
    by_path = predict(str(EXAMPLE))
    assert by_path.equals(predict(EXAMPLE)) and by_path.equals(predict(fasta_text))
    assert len(predict({"P1": "MKTSPSRS", "P2": "mkts"})) == 6  # mapping values may be lower case
    assert len(predict([("P1", "MKTSPSRS"), ("P2", "MKTS")])) == 6


def test_scan_rejects_duplicate_ids_across_inputs(tmp_path, capsys):
    first, second = tmp_path / "a.fa", tmp_path / "b.fa"
    first.write_text(">P1\nMKTSPSRS\n>P2\nMKST\n")
    second.write_text(">P3\nMKTS\n>P2\nMKTT\n")
    out = tmp_path / "out.tsv"
    with pytest.raises(SystemExit) as info:
        main(["scan", str(first), str(second), "-m", TINY, "-o", str(out), "-q"])
    err = capsys.readouterr().err
    assert info.value.code == 1 and "b.fa: record 2 (P2): duplicate identifier 'P2' (also record 2 of" in err
    assert not out.exists()
    first.write_text(">P1\nMKTSPSRS\n>P1\nMKST\n")
    with pytest.raises(SystemExit):
        main(["scan", str(first), "-m", TINY, "-o", str(out), "-q"])
    assert "record 2 (P1): duplicate identifier" in capsys.readouterr().err


def test_residues_outside_the_model_are_refused(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["scan", str(EXAMPLE), "-m", TINY, "--residues", "Y", "-o", str(tmp_path / "o.tsv")])
    err = capsys.readouterr().err
    assert info.value.code == 1 and "cannot score Y" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o.tsv").exists()


def test_engine_help_states_the_tolerance():
    from click.testing import CliRunner

    from phosnet.cli import cli

    for verb in ("scan", "explain", "variants", "map"):
        text = " ".join(CliRunner().invoke(cli, [verb, "--help"], terminal_width=200).output.split())
        assert "same scores" not in text and "1e-05" in text, verb


def test_readme_predict_iter_recipe_writes_one_header(tmp_path, monkeypatch):
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"with open\(\"calls.tsv\", \"w\"\) as out:.*?\n(?:    .*\n)+", readme)
    assert block, "the README's predict_iter example is gone"
    code = block.group(0).replace('phosnet.predict_iter("proteome.fasta.gz")',
                                  f"phosnet.predict_iter({str(EXAMPLE)!r}, model={TINY!r}, threshold=0.0, "
                                  "batch_size=40)")
    monkeypatch.chdir(tmp_path)
    exec(code, {"phosnet": phosnet})  # noqa: S102 - the README's own lines
    lines = (tmp_path / "calls.tsv").read_text().splitlines()
    assert sum(line.startswith("protein_id") for line in lines) == 1 and len(lines) > 2
