"""The names of the files in a run folder, spelled once: the training core, ``phosnet train`` / ``evaluate``,
the image task and the model loader all name them from here (no TensorFlow, so the CLI can check a folder
before it pays for the import).
"""

from __future__ import annotations

MODEL_FILE = "model.keras"
"""The best weights (the model a run folder serves)."""
LAST_FILE = "last.keras"
"""The last epoch's weights, for ``--resume``."""
STATE_FILE = "state.json"
"""Where a resumed run goes on: epoch, best value, optimizer and callback state."""
HISTORY_FILE = "history.tsv"
"""One row per epoch: losses and metrics, learning rate."""
CONFIG_FILE = "config.json"
"""The resolved settings the run was made with."""
METADATA_FILE = "metadata.json"
"""The record of a model: data, versions, seeds, command; what the loader reads beside the weights."""
MODEL_RECORD_FILE = "model.json"
"""The same record, as shipped beside a bundled ``.keras`` model (``<name>.json``) or in an AKT run folder."""
METRICS_FILE = "metrics.json"
"""Test (or evaluation) metrics."""
SPLITS_FILE = "splits.tsv"
"""Which protein (cluster) went to which split."""
PREDICTIONS_FILE = "predictions.tsv"
"""One scored row per window (AKT) or image of the evaluated split."""

CORE_FILES = (MODEL_FILE, LAST_FILE, STATE_FILE, HISTORY_FILE, CONFIG_FILE, METADATA_FILE, METRICS_FILE)
"""What :func:`phosnet.training.train_model` writes in every run folder."""

__all__ = [
    "CONFIG_FILE", "CORE_FILES", "HISTORY_FILE", "LAST_FILE", "METADATA_FILE", "METRICS_FILE", "MODEL_FILE",
    "MODEL_RECORD_FILE", "PREDICTIONS_FILE", "SPLITS_FILE", "STATE_FILE",
]
