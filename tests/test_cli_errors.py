"""Nothing silent (issue #11): unclear or internal errors become one line naming file, record and problem;
options before and after the subcommand; splits never dropped; hostile FASTA encodings."""

from __future__ import annotations

import bz2
import lzma
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest

import phosnet
from phosnet.cli import main
from phosnet.datasets import labelled_windows
from phosnet.errors import InputError
from phosnet.io.fasta import read_fasta
from phosnet.io.sites import read_sites

ROOT = Path(__file__).resolve().parent.parent
TINY = str(ROOT / "tests" / "data" / "scan" / "tiny.keras")
EXAMPLE = Path(phosnet.__file__).parent / "examples" / "akt_substrates.fasta"
TRAIN = ROOT / "tests" / "data" / "train"
SITES, PROTEINS = TRAIN / "sites.tsv", TRAIN / "proteins.fasta"
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}


def run_main(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
    captured = capsys.readouterr()
    return int(info.value.code or 0), captured.out, captured.err


def one_line_error(code: int, err: str, *needles: str) -> None:
    assert code != 0
    text = err.strip()
    assert len(text.splitlines()) == 1 and "Traceback" not in text and "internal error" not in text, text
    for needle in needles:
        assert needle in text, text


# -- split column -------------------------------------------------------------------------------------------


def _sites_with_split(tmp_path: Path, mapping: dict[str, str]) -> Path:
    table = pd.read_csv(SITES, sep="\t", dtype=str)
    table["split"] = table["split"].replace(mapping)
    path = tmp_path / "sites.tsv"
    table.to_csv(path, sep="\t", index=False)
    return path


def test_unknown_split_values_are_named_with_their_lines(tmp_path):
    path = _sites_with_split(tmp_path, {"test": "tset"})
    with pytest.raises(InputError) as info:
        labelled_windows(path, PROTEINS)
    message = str(info.value)
    first_line = int(pd.read_csv(SITES, sep="\t").query("split == 'test'").index[0]) + 2
    assert "'tset'" in message and f"line {first_line}" in message and str(path) in message


@pytest.mark.parametrize("synonyms", [{"validation": "val"}, {"validation": "valid", "test": "Testing"},
                                      {"train": "Training", "validation": " dev "}])
def test_split_synonyms_are_accepted_not_dropped(tmp_path, synonyms):
    expected = labelled_windows(SITES, PROTEINS)
    got = labelled_windows(_sites_with_split(tmp_path, synonyms), PROTEINS)
    assert len(got) == len(expected)
    assert got.table["split"].value_counts().to_dict() == expected.table["split"].value_counts().to_dict()


def test_empty_split_cell_is_an_error(tmp_path):
    table = pd.read_csv(SITES, sep="\t", dtype=str)
    table.loc[3, "split"] = ""
    path = tmp_path / "s.tsv"
    table.to_csv(path, sep="\t", index=False)
    with pytest.raises(InputError, match="line 5"):
        labelled_windows(path, PROTEINS)


def test_missing_named_split_column_is_an_error():
    with pytest.raises(InputError, match="no column 'fold'"):
        labelled_windows(SITES, PROTEINS, split_column="fold")


def test_train_with_a_bad_split_is_one_line_and_leaves_no_run_folder(tmp_path, capsys):
    path = _sites_with_split(tmp_path, {"test": "tset"})
    code, _, err = run_main(["train", str(path), str(PROTEINS), "-o", str(tmp_path / "run")], capsys)
    one_line_error(code, err, "tset")
    assert not (tmp_path / "run").exists()


# -- site table positions -----------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["inf", "-inf", "1e20", "nan", "2.5", "9223372036854775808", "0x10"])
def test_hostile_positions_are_one_line_naming_the_row(tmp_path, value):
    path = tmp_path / "s.tsv"
    path.write_text(f"protein_id\tposition\nP1\t3\nP1\t{value}\n")
    with pytest.raises(InputError) as info:
        read_sites(path)
    assert "line 3" in str(info.value) and repr(value) in str(info.value)


def test_evaluate_with_infinite_position_is_one_line(tmp_path, capsys):
    table = pd.read_csv(SITES, sep="\t", dtype=str)
    table.loc[2, "position"] = "inf"
    path = tmp_path / "s.tsv"
    table.to_csv(path, sep="\t", index=False)
    code, _, err = run_main(["evaluate", TINY, str(path), str(PROTEINS)], capsys)
    one_line_error(code, err, "line 4", "'inf'")


# -- train options ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("residues", ["X", "", "SA", "sé"])
def test_train_bad_residues_is_one_line_and_creates_nothing(tmp_path, capsys, residues):
    run = tmp_path / "run"
    code, _, err = run_main(["train", str(SITES), str(PROTEINS), "-o", str(run), "--residues", residues], capsys)
    one_line_error(code, err, "--residues")
    assert not run.exists()


def test_train_unwritable_run_folder_names_the_path(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, err = run_main(["train", str(SITES), str(PROTEINS), "-o", str(blocker / "run")], capsys)
    one_line_error(code, err, str(blocker / "run"), "cannot write")


# -- empty names --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("args, needle", [
    (["-o", ""], "--output path is empty"),
    (["--summary", ""], "--summary path is empty"),
    (["-m", ""], "--model is empty"),
])
def test_empty_paths_are_one_line(tmp_path, capsys, args, needle):
    full = ["scan", str(EXAMPLE), *args]
    if "-m" not in args:
        full += ["-m", TINY]
    code, out, err = run_main(full, capsys)
    one_line_error(code, err, needle)
    assert out == ""


# -- FASTA encodings and compressions -----------------------------------------------------------------------


def test_bom_and_utf8_and_latin1_headers_are_accepted(tmp_path, capsys):
    path = tmp_path / "enc.fa"
    path.write_bytes(b"\xef\xbb\xbf>p1 caf\xc3\xa9 protein\nMKSSTR\n>p\xe92 Latin-1 header\nMKTTS\n")
    records = list(read_fasta(path))
    assert [r.protein_id for r in records] == ["p1", "p\xe92"] and records[0].description == "p1 caf\xe9 protein"
    code, out, err = run_main(["scan", str(path), "-m", TINY, "-q"], capsys)
    assert code == 0, err
    assert {line.split("\t")[0] for line in out.splitlines()[1:]} == {"p1", "p\xe92"}


def test_non_ascii_in_a_sequence_names_record_line_and_column(tmp_path):
    path = tmp_path / "bad.fa"
    # a long first record, so the bad byte sits far beyond any read buffer's start
    path.write_bytes(b">p1\n" + b"MKSTR" * 3000 + b"\n>p2 second\nMKTT\nMK\xc3\xa9TS\n")
    with pytest.raises(InputError) as info:
        list(read_fasta(path))
    message = str(info.value)
    assert "record 2 (p2)" in message and "line 5, column 3" in message and "0xc3" in message


@pytest.mark.parametrize("kind, pack", [
    ("bzip2", bz2.compress),
    ("xz", lzma.compress),
    ("zstd", lambda data: b"\x28\xb5\x2f\xfd" + data),
])
def test_other_compressions_are_named(tmp_path, kind, pack):
    path = tmp_path / "in.fa.x"
    path.write_bytes(pack(EXAMPLE.read_bytes()))
    with pytest.raises(InputError, match=f"is {kind}-compressed"):
        list(read_fasta(path))


def test_zip_is_named(tmp_path, capsys):
    path = tmp_path / "in.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.write(EXAMPLE, "in.fasta")
    code, _, err = run_main(["scan", str(path), "-m", TINY], capsys)
    one_line_error(code, err, "zip-compressed")


def test_closed_stdin_is_one_line():
    proc = subprocess.run([sys.executable, "-m", "phosnet", "scan", "-", "-m", TINY], capture_output=True,
                          text=True, env=ENV, timeout=300, stdin=None, preexec_fn=lambda: os.close(0))
    one_line_error(proc.returncode, proc.stderr, "standard input is closed")


def test_unreadable_input_error_names_it(tmp_path, capsys):
    folder = tmp_path / "x.fa"
    folder.mkdir()
    code, _, err = run_main(["scan", str(folder), "-m", TINY], capsys)
    one_line_error(code, err, "x.fa")


# -- options before and after the subcommand ----------------------------------------------------------------


def test_verbose_after_the_subcommand(tmp_path, capsys):
    import logging

    out = str(tmp_path / "o.tsv")  # never a real /dev entry in tests: old code replaced /dev/null as root
    package = logging.getLogger("phosnet")
    scan = ["scan", str(EXAMPLE), "-m", TINY, "-o", out]
    for args in ([*scan, "-v"], ["-v", *scan]):
        assert run_main(args, capsys)[0] == 0
        assert package.level == logging.INFO
    assert run_main(["scan", str(EXAMPLE), "-m", TINY, "-o", out, "-vv"], capsys)[0] == 0
    assert package.level == logging.DEBUG


def test_quiet_after_equals_quiet_before(tmp_path, capsys):
    # without -q the tiny model's missing background is a warning on stderr; -q (anywhere) keeps stderr empty
    args = ["scan", str(EXAMPLE), "-m", TINY, "-o", str(tmp_path / "o.tsv")]
    _, _, loud = run_main(args, capsys)
    _, _, after = run_main([*args, "-q"], capsys)
    _, _, before = run_main(["-q", *args], capsys)
    assert after == before == "" and loud.strip() != ""


def test_debug_after_the_subcommand_shows_the_traceback(tmp_path):
    with pytest.raises(InputError):
        main(["scan", str(tmp_path / "missing.fa"), "-m", TINY, "--debug"])


def test_options_after_subcommand_in_train_and_image():
    for args in (["train", "--help"], ["image", "train", "--help"], ["evaluate", "--help"]):
        with pytest.raises(SystemExit) as info:
            main(args)
        assert info.value.code == 0
    from click.testing import CliRunner

    from phosnet.cli import cli

    result = CliRunner().invoke(cli, ["train", "--help"])
    assert "--debug" in result.output and "-q, --quiet" in result.output and "-v, --verbose" in result.output


# -- damaged models -----------------------------------------------------------------------------------------


def _damaged(tmp_path: Path, part: str, damage) -> Path:
    source = zipfile.ZipFile(TINY)
    path = tmp_path / "damaged.keras"
    with zipfile.ZipFile(path, "w") as out:
        for name in source.namelist():
            data = source.read(name)
            out.writestr(name, damage(data) if name == part else data)
    (tmp_path / "damaged.json").write_bytes(Path(TINY).with_suffix(".json").read_bytes())
    return path


@pytest.mark.parametrize("part, damage, needle", [
    ("config.json", lambda b: b[: len(b) // 2], "config.json in the archive is broken"),
    ("model.weights.h5", lambda b: b[: len(b) // 3], "weights"),
    ("model.weights.h5", lambda b: b[:200] + b"\0" * (len(b) - 200), "weights"),
])
def test_damaged_model_names_the_model_not_the_output(tmp_path, capsys, part, damage, needle):
    model = _damaged(tmp_path, part, damage)
    out = tmp_path / "out.tsv"
    code, _, err = run_main(["scan", str(EXAMPLE), "-m", str(model), "-o", str(out), "-q"], capsys)
    one_line_error(code, err, "damaged.keras", needle)
    assert "out.tsv" not in err and not out.exists() and not list(tmp_path.glob(".out*"))


# -- evaluate: the split the table or the run folder defines ------------------------------------------------


@pytest.fixture(scope="module")
def positives_run(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("posrun")
    recipe = root / "recipe.json"
    recipe.write_text('{"model": {"conv1_filters": 4, "conv2_filters": 4, "dense_units": 4}}')
    with pytest.raises(SystemExit) as info:
        main(["train", str(TRAIN / "positives.tsv"), str(PROTEINS), "-o", str(root / "run"), "--epochs", "1",
              "--config", str(recipe), "--split-seed", "1", "-q"])
    assert info.value.code == 0
    return root / "run"


def test_evaluate_uses_the_runs_recorded_test_split(positives_run, capsys):
    splits = pd.read_csv(positives_run / "splits.tsv", sep="\t")
    test_proteins = set(splits.loc[splits["split"] == "test", "protein_id"])
    code, out, err = run_main(["evaluate", str(positives_run), str(TRAIN / "positives.tsv"), str(PROTEINS),
                               "--json"], capsys)
    assert code == 0, err
    import json

    metrics = json.loads(out)
    assert metrics["split"] == "test" and "splits.tsv" in metrics["split_source"]
    assert metrics["proteins"] == len(test_proteins) and metrics["trained_on_proteins"] == 0
    everything = json.loads(run_main(["evaluate", str(positives_run), str(TRAIN / "positives.tsv"), str(PROTEINS),
                                      "--json", "--split", "all"], capsys)[1])
    assert everything["n"] > metrics["n"] and everything["proteins"] == 15


def test_evaluate_warns_about_proteins_the_model_trained_on(positives_run, capsys):
    # sites.tsv has its own split column, which differs from the run's random split by protein
    code, out, err = run_main(["evaluate", str(positives_run), str(SITES), str(PROTEINS)], capsys)
    splits = pd.read_csv(positives_run / "splits.tsv", sep="\t")
    train = set(splits.loc[splits["split"] == "train", "protein_id"])
    table = pd.read_csv(SITES, sep="\t")
    overlap = train & set(table.loc[table["split"] == "test", "protein_id"])
    assert code == 0 and "split from the table's 'split' column" in out
    assert (f"{len(overlap)} of the" in err and "training split" in err) if overlap else "training split" not in err


@pytest.mark.parametrize("label", [0, 1])
def test_evaluate_one_class_split_is_one_line(tmp_path, capsys, label):
    table = pd.read_csv(SITES, sep="\t")
    table.loc[table["split"] == "test", "label"] = label
    if label == 0:
        table.loc[table["split"] != "test", "label"] = 0
        table.loc[table.index[0], "label"] = 1  # keep it a fully labelled table
    path = tmp_path / "s.tsv"
    table.to_csv(path, sep="\t", index=False)
    code, _, err = run_main(["evaluate", TINY, str(path), str(PROTEINS)], capsys)
    one_line_error(code, err, "all " + ("positive" if label else "negative"))


def test_evaluate_unknown_split_option_is_an_error(capsys):
    code, _, err = run_main(["evaluate", TINY, str(SITES), str(PROTEINS), "--split", "tset"], capsys)
    one_line_error(code, err, "'tset'")


def test_write_bundle_is_atomic(tmp_path):
    from phosnet.bundle import write_bundle

    (tmp_path / "model.keras").write_bytes(b"the previous model")

    class Broken:
        def save(self, path):
            Path(path).write_bytes(b"PK half")
            raise OSError(28, "No space left on device")

    with pytest.raises(phosnet.PhosnetError, match="model.keras: cannot write .No space left on device"):
        write_bundle(tmp_path, Broken(), {"name": "x"})
    assert (tmp_path / "model.keras").read_bytes() == b"the previous model" and len(list(tmp_path.iterdir())) == 1


def test_evaluate_predictions_file_equals_the_api_with_the_one_number_formatter(tmp_path, capsys):
    """`evaluate -o DIR` writes predictions.tsv through the one table writer: the API's rows, and scores in the
    scan's text (9 significant digits, positional), not pandas' default float format."""
    from phosnet.io.rows import format_scores

    code, _, err = run_main(["evaluate", TINY, str(SITES), str(PROTEINS), "--split", "all", "-o", str(tmp_path),
                             "-q"], capsys)
    assert code == 0, err
    api = phosnet.evaluate(TINY, SITES, PROTEINS, split="all").predictions
    written = pd.read_csv(tmp_path / "predictions.tsv", sep="\t", dtype=str, keep_default_na=False)
    assert list(written.columns) == list(api.columns)
    assert list(written["protein_id"]) == list(api["protein_id"])
    assert list(written["position"]) == [str(p) for p in api["position"]]
    assert list(written["score"]) == format_scores(api["score"].to_numpy())
