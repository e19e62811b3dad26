"""The sequence model: a small Conv1D + BatchNorm network over one window of residues (or a recurrent one).

Architecture (defaults)::

    input (31, 21) one-hot  |  or (31,) indices -> Embedding(21, embedding_dim)
    Conv1D(64, 3, ReLU, padding) -> BatchNorm -> MaxPool(2)
    Conv1D(128, 5, ReLU, padding) -> BatchNorm -> GlobalMaxPool
    Dropout(0.5) -> Dense(64, ReLU [ELU, leaky ReLU]) -> Dropout(0.5) -> Dense(1, sigmoid)

With ``linear_path`` the score's logit is the hidden layer's Dense(1) *plus* a linear Dense(1) of the pooled
features (a residual linear path, joined by ``Add``, then a sigmoid ``Activation``): a window that switches
every ReLU unit of the hidden layer off still gets a score that depends on its features, so the strongest
sites do not all share one score ``sigmoid(bias)``.

``architecture`` other than ``"conv1d"`` replaces the convolutions and pooling by a recurrent encoder
(:mod:`phosnet.models.recurrent`: bidirectional LSTM/GRU, a convolution then a bidirectional LSTM, or a plain
SimpleRNN) whose final state feeds the same dropout/dense/score head.

Compiled with Adam (learning rate 1e-3), binary cross-entropy and ``AUC(name="auc")`` (plus PR-AUC as
``pr_auc``).

==================  =========  ====================================================
hyper-parameter     default    meaning
==================  =========  ====================================================
window              31         residues per window (odd: 2 * flank + 1)
input_encoding      "onehot"   "onehot" (21 channels) or "index" (+ Embedding)
embedding_dim       8          Embedding width when input_encoding = "index"
conv1_filters       64         filters of the first convolution
conv1_kernel        3          its kernel width
pool_size           2          max-pool width after the first convolution
conv2_filters       128        filters of the second convolution
conv2_kernel        5          its kernel width
padding             "same"     convolution padding ("same" or "valid")
pooling             "global    how the second convolution's output is summarised: "global_max"
                    _max"      (position-free: the strongest match anywhere in the window) or
                               "flatten" (keeps where each match is relative to the centre)
dense_units         64         width of the hidden dense layer
dense_activation    "relu"     its activation: "relu", "elu" or "leaky_relu" (slope 0.2 below 0); the
                               last two are never flat, so the strongest sites do not all share one
                               saturated top score
linear_path         False      add a linear path from the pooled features to the output logit (no
                               plateau of windows whose hidden units are all off)
dropout             0.5        dropout rate before and after the dense layer
l2                  0.0        L2 weight penalty on convolution and dense kernels
learning_rate       1e-3       Adam learning rate
architecture        "conv1d"   "conv1d" (above) or a recurrent encoder: "bilstm", "bigru",
                               "conv-bilstm" (conv1 + bn1 + pool1, then a BiLSTM), "simplernn"
rnn_units           32         units of the recurrent layer (per direction when bidirectional)
==================  =========  ====================================================
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from phosnet._tf import keras
from phosnet.encoding import N_CHANNELS
from phosnet.errors import InputError, check_setting_types, reject_unknown_settings


@dataclass
class SequenceModelConfig:
    """Hyper-parameters of :func:`build_sequence_model` (see the module docstring for their meaning)."""

    window: int = 31
    input_encoding: str = "onehot"
    embedding_dim: int = 8
    conv1_filters: int = 64
    conv1_kernel: int = 3
    pool_size: int = 2
    conv2_filters: int = 128
    conv2_kernel: int = 5
    padding: str = "same"
    pooling: str = "global_max"
    dense_units: int = 64
    dense_activation: str = "relu"
    linear_path: bool = False
    dropout: float = 0.5
    l2: float = 0.0
    learning_rate: float = 1e-3
    architecture: str = "conv1d"
    rnn_units: int = 32

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None) -> SequenceModelConfig:
        """Fill in defaults for a partial dict; unknown keys are an :class:`~phosnet.errors.InputError`."""
        values = dict(values or {})
        reject_unknown_settings(values, {f.name for f in fields(cls)}, "sequence-model")
        check_setting_types(values, cls(), prefix="model.")
        config = cls(**values)
        config.check()
        return config

    def check(self) -> None:
        """Every value the network builder would reject, as one :class:`~phosnet.errors.InputError` naming the
        key (``model.pooling: 'avg' is not one of ...``), so a recipe fails before a run folder is made."""
        from phosnet.models.recurrent import ARCHITECTURES

        def fail(key: str, problem: str) -> None:
            raise InputError(f"model.{key}: {problem}")

        if self.window < 1 or self.window % 2 == 0:
            fail("window", f"must be a positive odd number, not {self.window}")
        choices = {"pooling": ("global_max", "flatten"), "dense_activation": ("relu", "elu", "leaky_relu"),
                   "input_encoding": ("onehot", "index"), "padding": ("same", "valid"),
                   "architecture": tuple(ARCHITECTURES)}
        for key, allowed in choices.items():
            if getattr(self, key) not in allowed:
                fail(key, f"{getattr(self, key)!r} is not one of {', '.join(allowed)}")
        for key in ("embedding_dim", "conv1_filters", "conv1_kernel", "pool_size", "conv2_filters", "conv2_kernel",
                    "dense_units", "rnn_units"):
            if getattr(self, key) < 1:
                fail(key, f"must be at least 1, not {getattr(self, key)}")
        if not 0 <= self.dropout < 1:
            fail("dropout", f"must be in [0, 1), not {self.dropout}")
        if self.l2 < 0 or self.learning_rate <= 0:
            fail("l2" if self.l2 < 0 else "learning_rate", "must not be negative (learning_rate: positive)")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def build_sequence_model(config: SequenceModelConfig | dict[str, Any] | None = None, **overrides: Any):
    """Build and compile the Conv1D + BatchNorm network; returns a ``keras.Model``.

    ``config`` (a :class:`SequenceModelConfig` or a partial dict) and keyword ``overrides`` set the
    hyper-parameters listed in the module docstring.
    """
    if not isinstance(config, SequenceModelConfig):
        config = SequenceModelConfig.from_dict(config)
    if overrides:
        config = SequenceModelConfig.from_dict({**config.to_dict(), **overrides})
    config.check()  # a config built directly, not through from_dict
    from phosnet.models.recurrent import recurrent_features

    k = keras()
    layers = k.layers
    reg = k.regularizers.L2(config.l2) if config.l2 else None

    if config.input_encoding == "onehot":
        inputs = k.Input(shape=(config.window, N_CHANNELS), name="window")
        x = inputs
    else:
        inputs = k.Input(shape=(config.window,), dtype="int32", name="window")
        x = layers.Embedding(N_CHANNELS, config.embedding_dim, name="embedding")(inputs)
    if config.architecture in {"conv1d", "conv-bilstm"}:
        x = layers.Conv1D(
            config.conv1_filters, config.conv1_kernel, padding=config.padding, activation="relu",
            kernel_regularizer=reg, name="conv1",
        )(x)
        x = layers.BatchNormalization(name="bn1")(x)
        x = layers.MaxPooling1D(config.pool_size, name="pool1")(x)
    if config.architecture != "conv1d":
        x = recurrent_features(x, config.architecture, config.rnn_units, reg)
    else:
        x = layers.Conv1D(
            config.conv2_filters, config.conv2_kernel, padding=config.padding, activation="relu",
            kernel_regularizer=reg, name="conv2",
        )(x)
        x = layers.BatchNormalization(name="bn2")(x)
        if config.pooling == "global_max":
            x = layers.GlobalMaxPooling1D(name="global_pool")(x)
        else:
            x = layers.Flatten(name="flatten")(x)
    features = layers.Dropout(config.dropout, name="dropout1")(x)
    x = layers.Dense(config.dense_units, activation=config.dense_activation, kernel_regularizer=reg,
                     name="dense")(features)
    x = layers.Dropout(config.dropout, name="dropout2")(x)
    if config.linear_path:
        hidden_logit = layers.Dense(1, name="hidden_logit")(x)
        linear_logit = layers.Dense(1, use_bias=False, kernel_regularizer=reg, name="linear_logit")(features)
        logit = layers.Add(name="logit")([hidden_logit, linear_logit])
        outputs = layers.Activation("sigmoid", name="score")(logit)
    else:
        outputs = layers.Dense(1, activation="sigmoid", name="score")(x)
    name = "phosnet_conv1d" if config.architecture == "conv1d" else f"phosnet_{config.architecture.replace('-', '_')}"
    model = k.Model(inputs, outputs, name=name)
    model.compile(
        optimizer=k.optimizers.Adam(config.learning_rate),
        loss="binary_crossentropy",
        metrics=[k.metrics.AUC(name="auc"), k.metrics.AUC(curve="PR", name="pr_auc")],
    )
    return model
