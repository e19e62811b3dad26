"""The TensorFlow engines: a ``tf.function`` over the Keras model (the generic fallback) and plain Keras ``predict``.

Both import TensorFlow (through :mod:`phosnet._tf`, which says which extra to install when it is missing).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from phosnet.encoding import N_CHANNELS
from phosnet.engines.base import WindowEngine

if TYPE_CHECKING:
    from phosnet.bundle import PhosnetModel


class TensorFlowEngine(WindowEngine):
    """Score ``int8`` index windows with a ``tf.function`` over the Keras model (one-hot inside the graph)."""

    name = "tensorflow"

    def __init__(self, model: PhosnetModel, chunk: int = 8192) -> None:
        from phosnet._tf import tensorflow

        tf = tensorflow()
        keras_model = model.keras_model
        onehot = model.input_encoding == "onehot"
        self.chunk = chunk

        @tf.function(input_signature=[tf.TensorSpec([None, model.window], tf.int8)])
        def score(index: Any) -> Any:
            x = tf.cast(index, tf.int32)
            if onehot:
                x = tf.one_hot(x, N_CHANNELS, dtype=tf.float32)
            return tf.reshape(keras_model(x, training=False), [-1])

        self._score = score

    def __call__(self, windows: np.ndarray) -> np.ndarray:
        parts = [self._score(windows[s : s + self.chunk]).numpy() for s in range(0, len(windows), self.chunk)]
        return np.concatenate(parts).astype(np.float32) if parts else np.zeros(0, np.float32)


class KerasEngine(WindowEngine):
    """Keras' own forward pass (``predict_on_batch``) on one-hot windows: the reference and the naive baseline."""

    name = "keras"

    def __init__(self, model: PhosnetModel, batch_size: int = 4096) -> None:
        self.keras_model = model.keras_model
        self.onehot = model.input_encoding == "onehot"
        self.batch_size = batch_size

    def __call__(self, windows: np.ndarray) -> np.ndarray:
        from phosnet.encoding import one_hot

        scores = []
        for start in range(0, len(windows), self.batch_size):
            chunk = windows[start : start + self.batch_size]
            x = one_hot(chunk) if self.onehot else chunk.astype(np.int32)
            scores.append(np.asarray(self.keras_model.predict_on_batch(x)).reshape(-1))
        return np.concatenate(scores).astype(np.float32) if scores else np.zeros(0, np.float32)
