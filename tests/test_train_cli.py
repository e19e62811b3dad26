"""``phosnet train``, ``phosnet evaluate`` and ``phosnet models`` through click's CliRunner."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from phosnet.cli import cli, main

pytestmark = pytest.mark.slow  # trains a network through the CLI

DATA = Path(__file__).parent / "data" / "train"
SITES, PROTEINS = str(DATA / "sites.tsv"), str(DATA / "proteins.fasta")
BACKGROUND = str(Path(__file__).parent / "data" / "background" / "human_sample.fasta")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    config = root / "recipe.json"
    config.write_text(json.dumps({"model": {"conv1_filters": 8, "conv2_filters": 8, "dense_units": 8}}))
    args = ["train", SITES, PROTEINS, "--out-dir", str(root / "run"), "--epochs", "1", "--config", str(config),
            "--seed", "3", "--background", BACKGROUND]
    with pytest.MonkeyPatch.context() as env:  # a thread setting, to be recorded with the command
        env.setenv("TF_NUM_INTEROP_THREADS", "1")
        env.delenv("TF_NUM_INTRAOP_THREADS", raising=False)
        env.setattr(sys, "argv", ["phosnet", *args])  # as the console script sees it (not pytest's own argv)
        result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    return root / "run", result.output


def test_train_writes_a_run_folder(trained):
    run, output = trained
    assert "validation  ROC-AUC" in output and "test        ROC-AUC" in output
    meta = json.loads((run / "model.json").read_text())
    assert meta["recipe"]["epochs"] == 1 and meta["recipe"]["model"]["conv1_filters"] == 8
    # TensorFlow's thread counts change the trained weights, so the recorded command carries them
    assert meta["training_command"].startswith("TF_NUM_INTEROP_THREADS=1 phosnet train ")


def test_command_line_records_thread_settings(monkeypatch):
    from phosnet.bundle import command_line

    monkeypatch.delenv("TF_NUM_INTRAOP_THREADS", raising=False)
    monkeypatch.delenv("TF_NUM_INTEROP_THREADS", raising=False)
    assert command_line(["train", "my sites.tsv"]) == "phosnet train 'my sites.tsv'"
    monkeypatch.setenv("TF_NUM_INTRAOP_THREADS", "1")
    monkeypatch.setenv("TF_NUM_INTEROP_THREADS", "2")
    assert command_line(["train", "x"]) == "TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=2 phosnet train x"


def test_train_background_gives_percentiles_and_stringency(trained, tmp_path):
    """--background FASTA: the run's metadata holds the table (built for these weights), the scan of a run
    folder then has percentiles and --stringency levels, and `phosnet models` shows them."""

    import phosnet
    from phosnet.calling import STRINGENCY, called
    from phosnet.io.digest import sha256_file

    run, output = trained
    assert "stringency  high (top 0.2%) score >= " in output
    meta = json.loads((run / "model.json").read_text())
    background = meta["background"]
    assert background["source"] == "human_sample.fasta"
    assert background["model_sha256"] == sha256_file(run / "model.keras")
    assert set(background["stringency"]) == set(STRINGENCY)
    assert all(0 <= level["test_sensitivity"] <= 1 for level in background["stringency"].values())
    assert json.loads((run / "metadata.json").read_text())["background"] == background
    frame = phosnet.predict(PROTEINS, model=run, stringency="high")
    assert frame["percentile"].between(0, 100).all()
    high = phosnet.load_model(run).background.threshold("high")
    assert (frame["predicted"] == called(frame["score"], high)).all()
    shown = CliRunner().invoke(cli, ["models", str(run)])
    assert shown.exit_code == 0 and "background:        human_sample.fasta" in shown.output
    assert "medium (default)" in shown.output and "held-out sites found" in shown.output


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
    assert "stringency:" in shown.output and re.search(r"medium \(default\) +1% ", shown.output)
    assert "of 62)" in shown.output  # held-out sensitivity: the 62 AKT sites of the test split


REPO = Path(__file__).resolve().parent.parent


def test_shipped_recipe_is_the_bundled_models_recipe():
    """``--recipe akt-default`` is how the bundled model was trained, and its metadata says so in one command."""
    import shlex

    from phosnet.akt import Recipe, read_config
    from phosnet.io.digest import sha256_file
    from phosnet.recipes import recipe_file

    shipped = Recipe.from_dict(read_config(recipe_file("akt-default"))).to_dict()
    meta = json.loads((REPO / "phosnet" / "pretrained" / "akt-default.json").read_text())
    bundled = Recipe.from_dict(meta["recipe"]).to_dict()  # settings added since then at their defaults
    assert shipped == bundled  # data paths too: the checkout's data/ files, as the recipe names them
    # the recorded command is the packaged recipe on the committed data, not a scratch --config file
    command = shlex.split(meta["training_command"])
    while command and re.fullmatch(r"TF_NUM_INT(RA|ER)OP_THREADS=\d+", command[0]):
        command.pop(0)  # thread settings first (they decide the weights), then the command
    assert command[:2] == ["phosnet", "train"] and "--config" not in command
    assert command[command.index("--recipe") + 1] == "akt-default" and meta["seed"] == 0
    assert command[2:4] == [meta["training_data"]["sites"], meta["training_data"]["proteins"]]
    assert sha256_file(REPO / command[2]) == meta["training_data_sha256"]
    assert sha256_file(REPO / command[3]) == meta["proteins_sha256"]
    assert sha256_file(REPO / shipped["pretrain"]) == meta["pretrain_sha256"]


def test_train_with_the_shipped_recipe(tmp_path):
    tiny = tmp_path / "tiny.json"  # the shipped recipe at toy scale: same stages, tiny network and epochs
    tiny.write_text(json.dumps({"model": {"conv1_filters": 4, "conv2_filters": 4, "dense_units": 4,
                                          "pooling": "flatten", "linear_path": True},
                                "epochs": 1, "ensemble": 2, "pretrain_epochs": 1, "distill_epochs": 1}))
    result = CliRunner().invoke(cli, [
        "train", SITES, PROTEINS, "--recipe", "akt-default", "--config", str(tiny), "--out-dir", str(tmp_path / "run"),
        "--pretrain", str(DATA / "pretrain.tsv"), "--hard-negatives", str(REPO / "data" / "human_phosphosites.tsv")])
    assert result.exit_code == 0, result.output
    recipe = json.loads((tmp_path / "run" / "model.json").read_text())["recipe"]
    assert recipe["combine"] == "distill" and recipe["hard_negative_weight"] == 10  # from the shipped recipe
    assert recipe["pretrain"] == str(DATA / "pretrain.tsv") and recipe["ensemble"] == 2  # from the options
    assert (tmp_path / "run" / "distill" / "model.keras").exists()


def test_recipe_errors_are_one_line(tmp_path, monkeypatch, capsys):
    import shutil

    import phosnet.recipes as recipes

    with pytest.raises(SystemExit) as exc:
        main(["train", SITES, PROTEINS, "--recipe", "no-such-recipe", "--out-dir", str(tmp_path / "a")])
    assert exc.value.code != 0 and "no recipe named 'no-such-recipe'" in capsys.readouterr().err
    # a copy of the package's recipes outside any checkout, run from an empty folder: the data is not found
    elsewhere = tmp_path / "site-packages" / "phosnet" / "recipes"
    shutil.copytree(recipes.RECIPES_DIR, elsewhere)
    monkeypatch.setattr(recipes, "RECIPES_DIR", elsewhere)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:
        main(["train", SITES, PROTEINS, "--recipe", "akt-default", "--out-dir", str(tmp_path / "b")])
    err = capsys.readouterr().err.strip()
    assert exc.value.code != 0 and len(err.splitlines()) == 1
    # both missing files in the one line, each with the option that replaces it
    assert "--pretrain PATH for data/pretrain_agc_invitro.tsv.gz" in err
    assert "--hard-negatives PATH for data/human_phosphosites.tsv" in err
    assert not (tmp_path / "b").exists()  # nothing written
    with pytest.raises(SystemExit) as exc:  # one given: only the other is asked for
        main(["train", SITES, PROTEINS, "--recipe", "akt-default", "--out-dir", str(tmp_path / "c"),
              "--pretrain", str(DATA / "pretrain.tsv")])
    err = capsys.readouterr().err.strip()
    assert exc.value.code != 0 and len(err.splitlines()) == 1
    assert "--hard-negatives PATH" in err and "--pretrain" not in err
    assert not (tmp_path / "c").exists()


@pytest.mark.parametrize("recipe_text, key, problem", [
    ("model:\n  pooling: avg\n", "model.pooling", "'avg' is not one of global_max, flatten"),
    ("epochs: ten\n", "epochs", "'ten' is not an int"),
    ("batch_size: 0\n", "batch_size", "must be at least 1"),
    ("model:\n  window: 30\n", "model.window", "positive odd number"),
    ("model:\n  dropout: 1.5\n", "model.dropout", "[0, 1)"),
    ("model:\n  architecture: transformer\n", "model.architecture", "'transformer' is not one of"),
])
def test_a_recipe_value_training_would_reject_is_one_line_before_anything_is_written(
    tmp_path, capsys, recipe_text, key, problem
):
    """The whole resolved recipe is checked before TensorFlow is imported and before the run folder exists: one
    line naming the file, the key and the problem (was 'internal error: ValueError' after the folder existed)."""
    config = tmp_path / "recipe.yaml"
    config.write_text(recipe_text)
    out = tmp_path / "run"
    with pytest.raises(SystemExit) as exit_info:
        main(["train", SITES, PROTEINS, "--out-dir", str(out), "--config", str(config)])
    assert exit_info.value.code != 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err and "internal error" not in err
    assert f"{config}: {key}: " in err and problem in err
    assert not out.exists()
