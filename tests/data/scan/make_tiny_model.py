"""Regenerate the tiny test models in this folder: ``python tests/data/scan/make_tiny_model.py``.

``tiny.keras`` is the phosnet Conv1D+BN network with few filters and random (seeded) weights, BatchNorm
statistics included, so every layer matters; ``tiny.json`` is its metadata with made-up thresholds. The
scores mean nothing: tests use the model for positions, formats and engine agreement only.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from phosnet._tf import keras
from phosnet.models.sequence import build_sequence_model

HERE = Path(__file__).resolve().parent
TINY = {"conv1_filters": 8, "conv2_filters": 16, "dense_units": 8}


def randomize(model, seed: int = 0) -> None:
    """Give every weight a random value; BatchNorm variances stay positive."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        weights = layer.get_weights()
        if not weights:
            continue
        new = [rng.normal(0.0, 0.4, w.shape).astype(np.float32) for w in weights]
        if type(layer).__name__ == "BatchNormalization":
            new[-1] = rng.uniform(0.5, 2.0, weights[-1].shape).astype(np.float32)
        layer.set_weights(new)


def main() -> None:
    keras().utils.set_random_seed(0)
    model = build_sequence_model(TINY)
    randomize(model)
    model.save(HERE / "tiny.keras")
    metadata = {
        "name": "tiny-test", "description": "random weights, for tests only", "window": 31, "flank": 15,
        "residues": "ST", "alphabet": "ACDEFGHIKLMNPQRSTVWYX", "input_encoding": "onehot",
        "thresholds": {"0.90": 0.42, "0.95": 0.435, "0.99": 0.45}, "default_specificity": 0.95,
    }
    (HERE / "tiny.json").write_text(json.dumps(metadata, indent=2) + "\n")


if __name__ == "__main__":
    main()
