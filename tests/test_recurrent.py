"""Recurrent sequence models: built by the one builder, trained by ``phosnet train --architecture``, scanned,
explained, varied and mapped through the TensorFlow engine (the numpy engine refuses them in one line)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

pytest.importorskip("keras")

import phosnet  # noqa: E402
from phosnet.cli import cli  # noqa: E402
from phosnet.errors import PhosnetError  # noqa: E402
from phosnet.models.recurrent import RECURRENT  # noqa: E402
from phosnet.models.sequence import build_sequence_model  # noqa: E402

pytestmark = pytest.mark.slow  # trains a network through the CLI

DATA = Path(__file__).parent / "data" / "train"
SITES, PROTEINS = str(DATA / "sites.tsv"), str(DATA / "proteins.fasta")


@pytest.mark.parametrize("architecture", RECURRENT)
def test_each_recurrent_architecture_builds_and_scores(architecture):
    model = build_sequence_model(architecture=architecture, rnn_units=4, dense_units=4, conv1_filters=4)
    names = {layer.name for layer in model.layers}
    assert ("birnn" in names) == (architecture != "simplernn") and ("conv1" in names) == (architecture == "conv-bilstm")
    assert "conv2" not in names and model.output_shape == (None, 1)
    scores = model.predict(np.eye(21, dtype=np.float32)[np.zeros((3, 31), dtype=int)], verbose=0)
    assert scores.shape == (3, 1) and np.all((scores > 0) & (scores < 1))


def test_unknown_architecture_is_an_error():
    from phosnet.errors import InputError

    with pytest.raises(InputError, match="model.architecture: 'transformer' is not one of conv1d"):
        build_sequence_model(architecture="transformer")


@pytest.fixture(scope="module")
def bigru_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("rnn")
    config = root / "recipe.json"
    config.write_text(json.dumps({"model": {"rnn_units": 4, "dense_units": 4}}))
    args = ["train", SITES, PROTEINS, "--out-dir", str(root / "run"), "--epochs", "1", "--config", str(config),
            "--architecture", "bigru", "-q"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    return root / "run"


def test_train_records_the_architecture(bigru_run):
    meta = json.loads((bigru_run / "model.json").read_text())
    assert meta["recipe"]["model"] == {"rnn_units": 4, "dense_units": 4, "architecture": "bigru"}
    from phosnet._tf import keras

    layers = {layer.name for layer in keras().models.load_model(bigru_run / "model.keras").layers}
    assert "birnn" in layers and "conv2" not in layers


def test_scan_falls_back_to_tensorflow_with_one_line(bigru_run, example_fasta, caplog):
    model = bigru_run / "model.keras"
    with pytest.raises(PhosnetError, match="numpy engine cannot run it"):
        phosnet.predict(example_fasta, model=model, engine="numpy")
    with caplog.at_level(logging.WARNING, logger="phosnet"):
        auto = phosnet.predict(example_fasta, model=model)
    notes = [r.getMessage() for r in caplog.records if "numpy engine cannot run it" in r.getMessage()]
    assert len(notes) == 1 and "scoring with TensorFlow" in notes[0] and "Bidirectional" in notes[0]
    reference = phosnet.predict(example_fasta, model=model, engine="keras")
    assert len(auto) == 320
    np.testing.assert_allclose(auto["score"], reference["score"], atol=1e-5)
    assert auto["score"].std() > 0  # a trained network, not a constant


def test_explain_variants_and_map_run_the_recurrent_model(bigru_run, example_fasta, tmp_path):
    import pandas as pd

    model = bigru_run / "model.keras"
    scan = phosnet.predict(example_fasta, model=model, engine="keras")
    site = scan.iloc[len(scan) // 2]
    table = phosnet.explain(example_fasta, [f"{site.protein_id}:{site.residue}{site.position}"], model=model)
    assert len(table) > 100 and table["delta"].abs().max() > 0
    kept = table[np.isfinite(table["score"])]  # the centre mutated away from S/T leaves no site (NaN)
    assert len(kept) > 100
    np.testing.assert_allclose(kept["score"] - kept["delta"], site.score, atol=1e-5)  # deltas from the scan's score
    sequence = phosnet.read_proteins(example_fasta)[site.protein_id]
    where = site.position - 3
    wild = sequence[where - 1]
    variant = f"{wild}{where}{'K' if wild == 'R' else 'R'}"
    found = phosnet.score_variants(example_fasta, pd.DataFrame({"protein_id": [site.protein_id],
                                                                "variant": [variant]}), model=model)
    mine = found[found["position"] == site.position]
    assert len(mine) == 1 and mine["ref_score"].iloc[0] == pytest.approx(site.score, abs=1e-5)
    from phosnet.maps import plot_map

    written = plot_map(example_fasta, tmp_path / "map.pdf", model=model, proteins=[site.protein_id])
    assert written and all(p.stat().st_size > 1000 for p in written)
