"""The Snakemake workflow in ``workflows/``: lint, the split/gather scripts, and real runs on tiny data.

The scan test runs ``snakemake --cores 2`` in a temporary directory on 8 proteins split into 3 chunks and
checks that the gathered table equals one ``phosnet scan`` of the whole file. Skipped only when snakemake
(the ``phosnet[workflow]`` extra) is not installed.
"""

import gzip
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pandas as pd
import pytest

from phosnet.io.rows import SITE_COLUMNS

pytestmark = pytest.mark.slow  # runs Snakemake workflows in subprocesses

pytest.importorskip("snakemake", reason="snakemake is not installed (pip install 'phosnet[workflow]')")

ROOT = Path(__file__).resolve().parents[1]
SNAKEFILE = ROOT / "workflows" / "Snakefile"
SCRIPTS = ROOT / "workflows" / "scripts"
DATA = Path(__file__).parent / "data" / "workflow"
BIN = Path(sys.executable).parent


def _env() -> dict[str, str]:
    """The environment for subprocesses: this interpreter's ``bin`` first, so ``phosnet`` is this install."""
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


def _run(command: list[str], cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout)


def _snakemake(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return _run([sys.executable, "-m", "snakemake", "-s", str(SNAKEFILE), *args], cwd)


def _phosnet(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return _run([sys.executable, "-m", "phosnet", *args], cwd)


def _check(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 0, f"{result.args} failed:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"


def _load_script(name: str):
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _write_config(path: Path, config: dict) -> Path:
    # JSON is YAML: no yaml dependency needed here.
    path.write_text(json.dumps(config, indent=2))
    return path


def _bundled_default_present() -> bool:
    try:
        return resources.files("phosnet.pretrained").joinpath("akt-default.keras").is_file()
    except (ModuleNotFoundError, FileNotFoundError):
        return False


@pytest.fixture(scope="module")
def model_option(tmp_path_factory) -> str | None:
    """``None`` (the bundled default) when bundled, else the path of a tiny untrained model with its metadata."""
    if _bundled_default_present():
        return None
    from phosnet.encoding import ALPHABET
    from phosnet.models.sequence import build_sequence_model

    folder = tmp_path_factory.mktemp("model")
    model = build_sequence_model(conv1_filters=4, conv2_filters=4, dense_units=4)
    model.save(folder / "tiny.keras")
    metadata = {
        "name": "tiny",
        "description": "untrained tiny model for the workflow test",
        "window": 31,
        "flank": 15,
        "residues": "ST",
        "alphabet": ALPHABET,
        "input_encoding": "onehot",
        "thresholds": {"0.90": 0.5, "0.95": 0.5, "0.99": 0.5},
        "default_specificity": 0.95,
        "metrics": {},
    }
    (folder / "tiny.json").write_text(json.dumps(metadata, indent=2))
    return str(folder / "tiny.keras")


# --- the scripts, without snakemake ---------------------------------------------------------------------


def test_split_keeps_records_and_order(tmp_path):
    split = _load_script("split_fasta")
    original = (DATA / "proteins.fasta").read_text()
    source = tmp_path / "proteins.fasta.gz"
    source.write_bytes(gzip.compress(original.encode()))

    outputs = [tmp_path / f"{i}.fasta" for i in range(3)]
    counts = split.split_fasta(source, outputs)
    assert counts == [3, 3, 2]
    assert "".join(p.read_text() for p in outputs) == original

    many = [tmp_path / f"many{i}.fasta" for i in range(10)]  # more chunks than records: the last ones empty
    assert split.split_fasta(DATA / "proteins.fasta", many) == [1] * 8 + [0, 0]
    assert "".join(p.read_text() for p in many) == original


def test_gather_writes_header_once_and_skips_empty_chunks(tmp_path):
    gather = _load_script("gather_tables")
    chunks = [tmp_path / f"{i}.tsv" for i in range(4)]
    chunks[0].write_text("a\tb\n1\t2\n")
    chunks[1].write_text("")
    chunks[2].write_text("a\tb\n3\t4\n5\t6\n")
    chunks[3].write_text("a\tb\n")
    assert gather.gather_tables(chunks, tmp_path / "all.tsv") == 3
    assert (tmp_path / "all.tsv").read_text() == "a\tb\n1\t2\n3\t4\n5\t6\n"

    chunks[3].write_text("a\tc\n")
    with pytest.raises(ValueError, match="differs"):
        gather.gather_tables(chunks, tmp_path / "bad.tsv")
    assert not (tmp_path / "bad.tsv").exists()


def test_gathered_gff3_chunks_equal_one_gff3_scan(tmp_path, model_option):
    split, gather = _load_script("split_fasta"), _load_script("gather_tables")
    parts = [tmp_path / f"{i}.fasta" for i in range(3)]
    split.split_fasta(DATA / "proteins.fasta", parts)
    model_args = ["--model", model_option] if model_option else []
    for source in (*parts, DATA / "proteins.fasta"):
        _check(_phosnet(tmp_path, "scan", str(source), "-o", f"{Path(source).stem}.gff3", *model_args))
    whole = (tmp_path / "proteins.gff3").read_text()
    assert gather.gather_tables([tmp_path / f"{i}.gff3" for i in range(3)], tmp_path / "all.gff3") == 181
    gathered = [line.split("\t") for line in (tmp_path / "all.gff3").read_text().splitlines()]
    single = [line.split("\t") for line in whole.splitlines()]
    assert len(gathered) == len(single)
    for got, want in zip(gathered, single, strict=True):
        # scores are written in full (9 digits), and the engine's sums can differ in the last float32 bits when
        # the proteins batched with a window differ (chunks): scores (and percentiles) compared to 1e-6
        assert got[:5] + got[6:8] == want[:5] + want[6:8]
        if len(got) > 5:
            assert float(got[5]) == pytest.approx(float(want[5]), rel=1e-6, abs=1e-9)
            attributes = [dict(item.split("=", 1) for item in row[8].split(";")) for row in (got, want)]
            assert set(attributes[0]) == set(attributes[1])
            for key, value in attributes[0].items():
                if key == "percentile":
                    assert float(value) == pytest.approx(float(attributes[1][key]), abs=0.011)
                else:
                    assert value == attributes[1][key]
    assert whole.startswith("##gff-version 3\n") and whole.count("##gff-version") == 1


# --- snakemake ------------------------------------------------------------------------------------------


def test_lint(tmp_path):
    config = _write_config(tmp_path / "config.json", {"proteomes": {"tiny": "proteins.fasta"}})
    result = _snakemake(tmp_path, "--lint", "--configfile", str(config))
    _check(result)
    assert "Congratulations" in result.stdout + result.stderr


def test_default_config_dry_run():
    """The default config validates and plans scan + train + evaluate from the repository root."""
    result = _run(
        [sys.executable, "-m", "snakemake", "-s", str(SNAKEFILE), "--dry-run", "--cores", "2"],
        ROOT,
    )
    _check(result)
    for rule in ("split_proteome", "scan_chunk", "gather_scan", "train_model", "evaluate_model"):
        assert rule in result.stdout


def test_scan_workflow_equals_one_scan(tmp_path, model_option):
    shutil.copy(DATA / "proteins.fasta", tmp_path / "proteins.fasta")
    config = {
        "proteomes": {"tiny": "proteins.fasta"},
        "scan": {"chunks": 3, "model": model_option},
        "resources": {"scan": {"threads": 1, "mem_mb": 2000, "runtime": 10}},
    }
    _write_config(tmp_path / "config.json", config)

    _check(_snakemake(tmp_path, "--cores", "2", "--configfile", "config.json"))

    gathered_path = tmp_path / "results" / "scan" / "tiny.tsv"
    assert gathered_path.is_file()
    assert not list((tmp_path / "results" / "scan").glob("tiny/chunks/*")), "temp() chunks should be removed"
    for chunk in ("0001", "0002", "0003"):
        assert (tmp_path / "logs" / "scan" / "tiny" / f"{chunk}.log").is_file()

    model_args = ["--model", model_option] if model_option else []
    _check(_phosnet(tmp_path, "scan", "proteins.fasta", "-o", "single.tsv", *model_args))

    read = {"sep": "\t", "dtype": {"protein_id": str, "residue": str, "window": str}, "keep_default_na": False}
    gathered = pd.read_csv(gathered_path, **read)
    single = pd.read_csv(tmp_path / "single.tsv", **read)
    assert list(gathered.columns) == list(SITE_COLUMNS)
    assert len(single) == 181  # every S/T of the 8 proteins
    pd.testing.assert_frame_equal(gathered, single)
    assert gathered_path.read_text().count("protein_id") == 1  # header once


def _not_implemented(verb: str) -> bool:
    result = _phosnet(ROOT, verb, "--help")
    return "not implemented" in (result.stdout + result.stderr).lower()


def test_train_evaluate_and_scan_with_the_trained_model(tmp_path):
    for verb in ("train", "evaluate"):
        if _not_implemented(verb):
            pytest.skip(f"'phosnet {verb} --help' says it is not implemented yet")
    shutil.copy(DATA / "proteins.fasta", tmp_path / "proteins.fasta")
    shutil.copy(DATA / "sites.tsv", tmp_path / "sites.tsv")
    config = {
        "proteomes": {"tiny": "proteins.fasta"},
        # A model this workflow trains: snakemake must train it before the scan.
        "scan": {"chunks": 2, "model": "results/train/mini/model.keras"},
        # scan.stringency defaults to medium, which needs the model's background table: train with one
        "training": {"mini": {"sites": "sites.tsv", "proteins": "proteins.fasta", "background": "proteins.fasta",
                              "extra": "--epochs 1"}},
        "resources": {
            "scan": {"threads": 1, "mem_mb": 2000, "runtime": 10},
            "train": {"threads": 2, "mem_mb": 2000, "runtime": 10},
            "evaluate": {"threads": 2, "mem_mb": 2000, "runtime": 10},
        },
    }
    _write_config(tmp_path / "config.json", config)

    _check(_snakemake(tmp_path, "--cores", "2", "--configfile", "config.json"))

    run = tmp_path / "results" / "train" / "mini"
    for name in ("model.keras", "model.json", "history.tsv", "metrics.json", "config.json", "metadata.json"):
        assert (run / name).is_file(), name
    assert json.loads((run / "model.json").read_text())["name"] == "mini"
    assert json.loads((run / "model.json").read_text())["background"]["source"] == "proteins.fasta"
    evaluation = tmp_path / "results" / "evaluate" / "mini"
    assert (evaluation / "metrics.json").is_file()
    scanned = pd.read_csv(tmp_path / "results" / "scan" / "tiny.tsv", sep="\t", keep_default_na=False)
    assert len(scanned) == 181
    assert set(scanned["model"]) == {"mini"}
    assert scanned["percentile"].between(0, 100).all()  # the trained model's own background
