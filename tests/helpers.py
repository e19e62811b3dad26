"""Helpers several test modules share (importable: pytest puts ``tests/`` on ``sys.path``)."""

from __future__ import annotations

from typing import Any

import numpy as np


def randomize_weights(net: Any, seed: int) -> None:
    """Give every layer of a Keras model random weights (BatchNorm variances positive), so the numpy engines are
    compared with Keras on a network whose every unit matters, not on an untrained one."""
    rng = np.random.default_rng(seed)
    for layer in net.layers:
        weights = layer.get_weights()
        if weights:
            new = [rng.normal(0.0, 0.4, w.shape).astype(np.float32) for w in weights]
            if type(layer).__name__ == "BatchNormalization":
                new[-1] = rng.uniform(0.5, 2.0, weights[-1].shape).astype(np.float32)
            layer.set_weights(new)
