"""What an image training run produced (:class:`ImageRun`), shared by the Keras task and k-NN.

Apart from :mod:`phosnet.images.task` so that :mod:`phosnet.images.knn` can return one without importing the
task module (which dispatches to k-NN: an import cycle otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


class ImageModel(Protocol):
    """What a run's model must answer: a Keras image classifier, or :class:`phosnet.images.knn.KnnModel`."""

    def predict(self, x: np.ndarray, batch_size: int | None = ..., verbose: int = ...) -> np.ndarray: ...


@dataclass
class ImageRun:
    """What :func:`train_image_model` produced.

    Attributes
    ----------
    run_dir : pathlib.Path
        The run folder.
    model : keras.Model or phosnet.images.knn.KnnModel
        The trained model (best weights by ``val_accuracy``; a k-NN model for ``train_knn``).
    metrics : dict
        The content of ``metrics.json``.
    history : pandas.DataFrame
        One row per epoch (``history.tsv``).
    """

    run_dir: Path
    model: ImageModel
    metrics: dict
    history: pd.DataFrame


__all__ = ["ImageRun"]
