"""``phosnet scan``: formats, stdin/stdout, ``.gz``, --predicted-only, summary, bad input, one real subprocess."""

from __future__ import annotations

import gzip
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import phosnet
from phosnet.cli import cli, main
from phosnet.io.rows import PRECISION_COLUMNS, SITE_COLUMNS

DATA = Path(__file__).parent / "data" / "scan"
TINY = str(DATA / "tiny.keras")
EXAMPLE = Path(phosnet.__file__).parent / "examples" / "akt_substrates.fasta"


def run_main(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Run the real entry point (with its error handling); return the exit code and stderr."""
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    return int(exit_info.value.code or 0), capsys.readouterr().err


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(cli, ["scan", *args, "--model", TINY, "-q"], input=input, catch_exceptions=False)


@pytest.fixture
def expected(tiny_example_scan: pd.DataFrame) -> pd.DataFrame:
    return tiny_example_scan.copy()


def read_table(path: Path | io.StringIO, sep: str = "\t") -> pd.DataFrame:
    """A written site table as the API's DataFrame (empty accession/gene strings, empty numbers NaN)."""
    numbers = ["percentile", *PRECISION_COLUMNS]
    return pd.read_csv(path, sep=sep, dtype={"accession": str, "gene": str, **dict.fromkeys(numbers, float)},
                       keep_default_na=False, na_values=dict.fromkeys(numbers, [""]))


def test_tsv_file_equals_api(tmp_path: Path, expected: pd.DataFrame) -> None:
    out = tmp_path / "sites.tsv"
    result = run(str(EXAMPLE), "-o", str(out), "--batch-size", "40")
    assert result.exit_code == 0, result.output
    got = read_table(out)
    assert list(got.columns) == list(SITE_COLUMNS)
    pd.testing.assert_frame_equal(got.drop(columns="score"), expected.drop(columns="score"))
    # the written score reads back as the model's float32, exactly (same batches: the engine's chunking can move
    # a score by one float32 step)
    same_batches = phosnet.predict(EXAMPLE, model=TINY, batch_size=40)
    assert (got["score"].to_numpy(np.float32) == same_batches["score"].to_numpy(np.float32)).all()
    assert got["accession"].iloc[0] == "P31749" and got["gene"].iloc[0] == "AKT1"  # sp|P31749|AKT1_HUMAN ... GN=AKT1
    assert not list(tmp_path.glob(".*part"))


def test_csv_gff3_and_predicted_only(tmp_path: Path, expected: pd.DataFrame) -> None:
    assert run(str(EXAMPLE), "-o", str(tmp_path / "s.csv")).exit_code == 0
    pd.testing.assert_frame_equal(read_table(tmp_path / "s.csv", ","), expected)
    assert run(str(EXAMPLE), "-o", str(tmp_path / "s.gff3"), "--predicted-only").exit_code == 0
    lines = (tmp_path / "s.gff3").read_text().splitlines()
    assert lines[0] == "##gff-version 3"
    rows = [line.split("\t") for line in lines[1:]]
    calls = expected[expected["predicted"]]
    assert len(rows) == len(calls)
    first = rows[0]
    assert first[:5] == [calls.iloc[0]["protein_id"], "phosnet", "phosphorylation_site",
                         str(calls.iloc[0]["position"]), str(calls.iloc[0]["position"])]  # 1-based, start = end
    assert np.float32(first[5]) == np.float32(calls.iloc[0]["score"])
    assert f"residue={calls.iloc[0]['residue']}" in first[8] and "predicted=true" in first[8]
    assert f"accession={calls.iloc[0]['accession']};gene={calls.iloc[0]['gene']}" in first[8]
    # --format overrides the suffix
    assert run(str(EXAMPLE), "-o", str(tmp_path / "g.txt"), "--format", "gff3").exit_code == 0
    assert (tmp_path / "g.txt").read_text().startswith("##gff-version 3\n")


@pytest.mark.parametrize("suffix", [".tsv", ".csv"])
def test_written_file_ranks_real_proteins_as_the_model_does(tmp_path: Path, suffix: str) -> None:
    """Scan real proteins (tests/data/train, labelled) with the bundled model to a file: sorting the file gives
    the API's order, and ROC-AUC from the file equals the API's (a 4-decimal writer tied most scores at 0.0000)."""
    from sklearn.metrics import roc_auc_score as roc_auc

    proteins = Path(__file__).parent / "data" / "train" / "proteins.fasta"
    labels = pd.read_csv(Path(__file__).parent / "data" / "train" / "sites.tsv", sep="\t")
    out = tmp_path / f"sites{suffix}"
    result = CliRunner().invoke(cli, ["scan", str(proteins), "-o", str(out), "-q"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    written = read_table(out, "\t" if suffix == ".tsv" else ",")
    api = phosnet.predict(proteins)
    assert written[["protein_id", "position"]].equals(api[["protein_id", "position"]])
    order_file = np.argsort(-written["score"].to_numpy(), kind="stable")
    order_api = np.argsort(-api["score"].to_numpy(), kind="stable")
    np.testing.assert_array_equal(order_file, order_api)
    assert written["score"].nunique() == api["score"].nunique()
    y = written.merge(labels, on=["protein_id", "position"], validate="1:1")["label"].to_numpy()
    assert len(y) == len(written) == 319 and 0 < y.sum() < len(y)
    assert abs(roc_auc(y, written["score"].to_numpy()) - roc_auc(y, api["score"].to_numpy())) <= 1e-6


def test_stdin_stdout_and_gz(tmp_path: Path, expected: pd.DataFrame) -> None:
    gz = tmp_path / "example.fasta.gz"
    with open(EXAMPLE, "rb") as src, gzip.open(gz, "wb") as dst:
        shutil.copyfileobj(src, dst)
    renamed = EXAMPLE.read_text().replace(">", ">copy_")  # ids must be unique across the inputs of one scan
    result = run("-", str(gz), input=renamed)
    assert result.exit_code == 0
    got = pd.read_csv(io.StringIO(result.stdout), sep="\t")
    assert len(got) == 2 * len(expected)
    assert got["position"].tolist() == expected["position"].tolist() * 2
    assert got["protein_id"].str.startswith("copy_").sum() == len(expected)


def test_summary_json(tmp_path: Path, expected: pd.DataFrame) -> None:
    summary = tmp_path / "summary.json"
    result = run(str(EXAMPLE), "-o", str(tmp_path / "s.tsv"), "--specificity", "0.99", "--summary", str(summary))
    assert result.exit_code == 0
    info = json.loads(summary.read_text())
    assert info["model"] == "tiny-test" and info["threshold"] == 0.45 and info["engine"] == "numpy"
    assert info["proteins"] == 5 and info["sites"] == len(expected)
    assert info["predicted"] == int((expected["score"] >= 0.45).sum())


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        ("not a fasta\n", "does not start with a '>'"),
        (">p1\nMKS1T\n", "record 1 (p1): invalid character '1'"),
        ("", "no FASTA records"),
    ],
)
def test_bad_input_one_line_error_no_output(
    tmp_path: Path, content: str | None, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "in.fasta"
    if content is not None:
        bad.write_text(content)
    out = tmp_path / "out.tsv"
    code, err = run_main(["scan", str(bad), "-o", str(out), "--model", TINY], capsys)
    assert code == 1
    assert err.startswith("phosnet: error: ") and message in err and err.count("\n") == 1
    assert not out.exists() and not list(tmp_path.glob(".out.tsv*"))


def test_error_in_a_later_record_leaves_no_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "in.fasta"
    bad.write_text(EXAMPLE.read_text() + ">broken\nMK-S\n")
    out = tmp_path / "out.tsv"
    code, err = run_main(["scan", str(bad), "-o", str(out), "--model", TINY, "--batch-size", "10", "-q"], capsys)
    assert code == 1 and "record 6 (broken)" in err
    assert not out.exists() and not list(tmp_path.glob(".out.tsv*"))


def test_option_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run_main(["scan", str(EXAMPLE), "--model", TINY, "--threshold", "0.5", "--specificity", "0.95"], capsys)
    assert code == 1 and "give one of threshold, specificity or stringency" in err
    code, err = run_main(["scan", str(EXAMPLE), "--stringency", "high", "--threshold", "0.5"], capsys)
    assert code == 1 and "not threshold and stringency" in err
    code, err = run_main(["scan", str(EXAMPLE), "--model", TINY, "--stringency", "high", "-o", str(tmp_path / "x")],
                         capsys)
    assert code == 1 and "no background table" in err and not (tmp_path / "x").exists()
    code, err = run_main(["scan", str(EXAMPLE), "--model", str(tmp_path / "no.keras")], capsys)
    assert code == 1 and "no such model" in err


def test_real_subprocess_head_and_errors(tmp_path: Path) -> None:
    """The console entry point: `| head` stops quietly; a bad input is one line on stderr and exit 1."""
    # ~40,000 rows (~3 MB): far more than a pipe buffer holds, so the scan must meet the closed pipe.
    big = tmp_path / "big.fasta"
    big.write_text("".join(f">p{i}\n{'MSTRSRTASPKLE' * 40}\n" for i in range(400)))
    command = [sys.executable, "-m", "phosnet", "scan", str(big), "--model", TINY, "--batch-size", "20"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    head = [proc.stdout.readline() for _ in range(3)]
    proc.stdout.close()
    _, stderr = proc.communicate(timeout=120)
    assert head[0].startswith(b"protein_id\taccession\tgene\tposition")
    assert b"Traceback" not in stderr and b"Exception ignored" not in stderr
    assert proc.returncode == 0  # the reader stopped reading: not an error
    bad = subprocess.run(
        [sys.executable, "-m", "phosnet", "scan", str(tmp_path / "missing.fa"), "-o", str(tmp_path / "o.tsv")],
        capture_output=True, text=True, timeout=120,
    )
    assert bad.returncode == 1
    assert bad.stderr.strip().count("\n") == 0 and "missing.fa: no such file" in bad.stderr
    assert not (tmp_path / "o.tsv").exists()


# ----------------------------------------------------------------------------------------------------------
# Percentile, stringency, completion line, progress (issue 13)
# ----------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def bundled() -> pd.DataFrame:
    return phosnet.predict(EXAMPLE)


@pytest.mark.parametrize("level", ["high", "medium", "low"])
def test_each_stringency_level_calls_its_background_share(tmp_path: Path, bundled: pd.DataFrame, level: str) -> None:
    """--stringency LEVEL calls score >= the level's threshold from the bundled background table, and the
    summary records the rule; the default call is medium."""
    from phosnet.calling import STRINGENCY, called

    background = phosnet.load_model().background
    assert background is not None
    out, summary = tmp_path / "s.tsv", tmp_path / "s.json"
    result = CliRunner().invoke(cli, ["scan", str(EXAMPLE), "-o", str(out), "--stringency", level, "-q",
                                      "--summary", str(summary)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    got = read_table(out)
    threshold = background.threshold(level)
    assert got["predicted"].tolist() == called(got["score"], threshold).tolist()
    assert got["predicted"].any() and not got["predicted"].all()
    assert (got.loc[got["predicted"], "percentile"] >= 100 - STRINGENCY[level] - 0.01).all()
    info = json.loads(summary.read_text())
    assert info["stringency"] == level and info["threshold"] == threshold
    assert info["rule"]["top_percent_of_background"] == STRINGENCY[level] and info["rule"]["threshold"] == threshold
    assert info["rule"]["background"].startswith("human_uniprot") and info["percentiles"] is True
    if level == "medium":
        assert got["predicted"].tolist() == bundled["predicted"].tolist()  # the default


def test_percentile_column_monotone_in_score(bundled: pd.DataFrame, tmp_path: Path) -> None:
    out = tmp_path / "s.csv"
    assert CliRunner().invoke(cli, ["scan", str(EXAMPLE), "-o", str(out), "-q"]).exit_code == 0
    got = read_table(out, ",").sort_values("score", kind="stable")
    assert got["percentile"].between(0, 100).all() and got["percentile"].is_monotonic_increasing
    np.testing.assert_allclose(got["percentile"].sort_index(), bundled["percentile"], atol=0.005)


def test_model_without_background_empty_percentile_and_one_warning(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "s.tsv"
    code, err = run_main(["scan", str(EXAMPLE), "--model", TINY, "-o", str(out), "--batch-size", "40"], capsys)
    assert code == 0 and err.count("no background table") == 1
    assert (out.read_text().splitlines()[1].split("\t")[7]) == ""
    assert read_table(out)["percentile"].isna().all()


def test_completion_line_on_stderr_hidden_by_quiet(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "s.tsv"
    code, err = run_main(["scan", str(EXAMPLE), "-o", str(out)], capsys)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 0 and len(lines) == 1
    calls = int(read_table(out)["predicted"].sum())
    assert lines[0].startswith(f"phosnet scan: 5 proteins, 320 sites, {calls} calls at stringency medium (top 1%) in ")
    assert lines[0].endswith(f" s -> {out}")
    code, err = run_main(["-q", "scan", str(EXAMPLE), "-o", str(out)], capsys)
    assert code == 0 and err == ""
    code, err = run_main(["scan", str(EXAMPLE), "-o", str(out), "-q"], capsys)
    assert code == 0 and err == ""


@pytest.mark.parametrize("gz", [False, True])
def test_progress_counts_bytes_of_known_size_inputs(tmp_path: Path, gz: bool, capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Files (also .gz: compressed bytes) have a known size, so the bar can show % and an ETA."""
    from phosnet.cli.scan import _Progress
    from phosnet.io.sequences import checked_fasta_inputs

    text = "".join(f">p{i} protein {i}\n{'MSTRSRTASPKLE' * 30}\n" for i in range(3000))
    path = tmp_path / ("in.fasta.gz" if gz else "in.fasta")
    if gz:
        with gzip.open(path, "wt") as handle:
            handle.write(text)
    else:
        path.write_text(text)
    records = checked_fasta_inputs([path])
    assert records.total_bytes == path.stat().st_size
    progress = _Progress(disable=False, total_bytes=records.total_bytes, bytes_read=records.bytes_read)
    assert progress.bar.total == path.stat().st_size
    seen = []
    for number, record in enumerate(records, start=1):
        assert record[2] == f"p{number - 1} protein {number - 1}"  # the description travels with the record
        if number % 500 == 0:
            progress(500, 500)
            seen.append(progress.bar.n)
    progress(0, 0)
    assert seen == sorted(seen) and 0 < seen[0] < path.stat().st_size  # grows while reading ...
    assert progress.bar.n == path.stat().st_size  # ... and ends at 100%
    progress.bar.refresh()
    progress.close()
    shown = capsys.readouterr().err
    assert "100%" in shown and "3,000 proteins" in shown
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b">a\nMSTK\n")))
    assert checked_fasta_inputs([path, "-"]).total_bytes is None  # stdin: size unknown, the bar counts sites


@pytest.mark.parametrize("suffix", [".tsv", ".csv", ".gff3"])
def test_uniprot_columns_and_percentiles_in_every_format_also_gz(tmp_path: Path, suffix: str,
                                                                 bundled: pd.DataFrame) -> None:
    plain, packed = tmp_path / f"s{suffix}", tmp_path / f"s{suffix}.gz"
    for out in (plain, packed):
        assert CliRunner().invoke(cli, ["scan", str(EXAMPLE), "-o", str(out), "-q"]).exit_code == 0
    assert packed.read_bytes()[:2] == b"\x1f\x8b" and gzip.decompress(packed.read_bytes()) == plain.read_bytes()
    akt1 = bundled[(bundled["protein_id"] == "sp|P31749|AKT1_HUMAN") & (bundled["position"] == 473)].iloc[0]
    if suffix == ".gff3":
        line = next(x for x in plain.read_text().splitlines() if x.startswith("sp|P31749|AKT1_HUMAN\tphosnet\t")
                    and "\t473\t473\t" in x)
        assert f"accession=P31749;gene=AKT1;residue=S;window={akt1['window']};percentile=" in line
    else:
        got = read_table(plain, "\t" if suffix == ".tsv" else ",")
        row = got[(got["protein_id"] == "sp|P31749|AKT1_HUMAN") & (got["position"] == 473)].iloc[0]
        assert (row["accession"], row["gene"]) == ("P31749", "AKT1")
        assert row["percentile"] == pytest.approx(akt1["percentile"], abs=0.005)
        assert set(got["gene"]) == {"AKT1", "GSK3B", "FOXO3", "BAD", "CDKN1B"}
