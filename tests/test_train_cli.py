"""``phosnet train``, ``phosnet evaluate`` and ``phosnet models`` through click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from phosnet.cli import cli, main

DATA = Path(__file__).parent / "data" / "train"
SITES, PROTEINS = str(DATA / "sites.tsv"), str(DATA / "proteins.fasta")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    config = root / "recipe.json"
    config.write_text(json.dumps({"model": {"conv1_filters": 8, "conv2_filters": 8, "dense_units": 8}}))
    result = CliRunner().invoke(cli, ["train", SITES, PROTEINS, "--out-dir", str(root / "run"), "--epochs", "1",
                                      "--config", str(config), "--seed", "3"])
    assert result.exit_code == 0, result.output
    return root / "run", result.output


def test_train_writes_a_run_folder(trained):
    run, output = trained
    assert "validation  ROC-AUC" in output and "test        ROC-AUC" in output
    meta = json.loads((run / "model.json").read_text())
    assert meta["recipe"]["epochs"] == 1 and meta["recipe"]["model"]["conv1_filters"] == 8
    assert meta["training_command"].startswith("phosnet")


def test_evaluate_prints_metrics_and_writes_files(trained, tmp_path):
    run, _ = trained
    result = CliRunner().invoke(cli, ["evaluate", str(run), SITES, PROTEINS, "--out-dir", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.output)
    assert metrics["split"] == "test" and 0 <= metrics["roc_auc"] <= 1
    assert (tmp_path / "predictions.tsv").exists()


def test_positives_only_table_is_split_internally(tmp_path):
    result = CliRunner().invoke(cli, ["train", str(DATA / "positives.tsv"), PROTEINS, "--out-dir", str(tmp_path),
                                      "--epochs", "1", "--split-seed", "1"])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", SITES, PROTEINS, "--out-dir", "{tmp}", "--config", "{bad}"], "unknown training setting"),
        (["train", str(DATA / "proteins.fasta"), PROTEINS, "--out-dir", "{tmp}"], "missing column"),
        (["evaluate", "{tmp}/nothing.keras", SITES, PROTEINS], "error"),
    ],
)
def test_bad_input_is_one_line(tmp_path, capsys, args, message):
    bad = tmp_path / "bad.json"
    bad.write_text('{"epoch": 3}')
    argv = [a.replace("{tmp}", str(tmp_path)).replace("{bad}", str(bad)) for a in args]
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code != 0
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_models_lists_and_shows_the_bundled_model():
    from phosnet.pretrained import available_models

    if "akt-default" not in available_models():
        pytest.skip("no bundled model yet")
    listing = CliRunner().invoke(cli, ["models"])
    assert listing.exit_code == 0 and "akt-default (default)" in listing.output
    shown = CliRunner().invoke(cli, ["models", "akt-default"])
    assert shown.exit_code == 0 and "training command:" in shown.output and "thresholds:" in shown.output
