"""Recurrent encoders of a residue window for :func:`phosnet.models.sequence.build_sequence_model`.

``architecture`` (in :class:`~phosnet.models.sequence.SequenceModelConfig`):

===============  ==================================================================================
"bilstm"         Bidirectional(LSTM(rnn_units)) over the window: both directions' final states
"bigru"          the same with GRUs (fewer weights, often as good)
"conv-bilstm"    the Conv1D net's first block (conv1, bn1, pool1: local motifs), then the BiLSTM
"simplernn"      one plain SimpleRNN(rnn_units), left to right (the textbook recurrent baseline)
===============  ==================================================================================

The numpy scan engine runs none of these layers: scanning with such a model uses TensorFlow
(:func:`phosnet.engines.build_engine` falls back, or says in one line which extra to install).
"""

from __future__ import annotations

from typing import Any

from phosnet._tf import keras

ARCHITECTURES = ("conv1d", "bilstm", "bigru", "conv-bilstm", "simplernn")
"""Every ``architecture`` the sequence model builder accepts (``conv1d`` is the Conv1D+BN network)."""

RECURRENT = ARCHITECTURES[1:]
"""The recurrent ones."""


def recurrent_features(x: Any, architecture: str, units: int, regularizer: Any = None) -> Any:
    """The recurrent encoder ``architecture`` applied to the sequence tensor ``x``: a ``(batch, features)`` tensor.

    ``regularizer`` (L2 or None) applies to the input and recurrent kernels.
    """
    layers = keras().layers
    options = {"kernel_regularizer": regularizer, "recurrent_regularizer": regularizer}
    if architecture == "simplernn":
        return layers.SimpleRNN(units, name="rnn", **options)(x)
    if architecture in {"bilstm", "conv-bilstm"}:
        cell = layers.LSTM(units, name="lstm", **options)
    elif architecture == "bigru":
        cell = layers.GRU(units, name="gru", **options)
    else:
        raise ValueError(f"not a recurrent architecture: {architecture!r}")
    return layers.Bidirectional(cell, name="birnn")(x)


__all__ = ["ARCHITECTURES", "RECURRENT", "recurrent_features"]
