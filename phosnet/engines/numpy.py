"""The numpy engine: runs a saved phosnet network without TensorFlow, fast.

A small interpreter of the Keras graphs phosnet builds (:mod:`phosnet.models.sequence`): ``Conv1D``,
``BatchNormalization``, ``MaxPooling1D``, ``GlobalMaxPooling1D``/``Flatten``, ``Dropout``, ``Dense``,
``Embedding`` (index input), activations ``relu``/``sigmoid``/``elu``/``leaky_relu`` (also as an ``Activation``
layer), ``Add`` (the ``linear_path`` logits), nested functional models and score-averaging ensembles
(``Average``, as :func:`phosnet.akt.average_models` makes). Anything else raises
:class:`~phosnet.engines.UnsupportedModel` and ``engine="auto"`` falls back to TensorFlow.

Windows stay ``int8`` indices: the first convolution over the one-hot (or embedded) input becomes a table
lookup, with the following elementwise layers (activation, BatchNorm) folded into the table; later
convolutions run as one matrix product each (im2col). In a scan, a ``Conv1D -> ... -> MaxPool -> Conv1D``
stack at the start of a model (or of each ensemble member) runs once per sequence position and is shared by
the overlapping windows of a protein (:class:`_SharedConvStack`, :meth:`NumpyEngine.score_positions`): about
half the FLOPs per window. For calls of at least :data:`COMPILE_AFTER_WINDOWS` windows such a stack runs in
the compiled kernel of :mod:`phosnet.engines._fused` (numba; numpy when it does not import), the rest of the
network with numpy as before. Weights come from :meth:`phosnet.bundle.PhosnetModel.weights`.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import os
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from phosnet.encoding import N_CHANNELS, PAD_INDEX
from phosnet.engines import UnsupportedModel

if TYPE_CHECKING:
    from phosnet.bundle import PhosnetModel

T = TypeVar("T")

ENGINE_CHUNK = 2048
"""Windows the numpy engine pushes through the network at once (keeps intermediates in cache)."""

SHARED_POSITIONS = 1024
"""At most this many sequence positions per chunk when convolutions are shared between windows (numpy stack)."""

COMPILED_CHUNK = 4096
"""Windows per chunk when the compiled kernel runs the shared stacks (it blocks positions itself)."""

COMPILE_AFTER_WINDOWS = 8192
"""Calls with at least this many windows run shared stacks with the compiled kernel (:mod:`phosnet.engines._fused`,
loaded at the first such call); smaller ones with numpy, so small scans never pay numba's import."""


@dataclass
class _Table:
    """A tensor ``table[code]`` kept unmaterialized, so elementwise layers transform only the table."""

    table: np.ndarray  # (R, C)
    code: np.ndarray  # (n, L) integer codes into table

    def materialize(self) -> np.ndarray:
        return np.take(self.table, self.code, axis=0)


@dataclass
class _OneHot:
    """The model input of a one-hot model, kept as ``int8`` indices."""

    index: np.ndarray

    def as_table(self) -> _Table:
        return _Table(_EYE, self.index)


_EYE = np.eye(N_CHANNELS, dtype=np.float32)


@dataclass
class _Affine:
    """``x * scale + shift`` per channel, deferred so a following global max-pool reduces first."""

    x: np.ndarray
    scale: np.ndarray
    shift: np.ndarray

    def materialize(self) -> np.ndarray:
        out = self.x * self.scale
        out += self.shift
        return out

    def global_max(self) -> np.ndarray:
        """``max`` over axis 1 of the affine map: the max of ``x`` where scale >= 0, its min where < 0."""
        positive = self.scale >= 0
        top = self.x.max(axis=1)
        if not positive.all():
            top = np.where(positive, top, self.x.min(axis=1))
        top *= self.scale
        top += self.shift
        return top


def _dense(value: Any) -> np.ndarray:
    if isinstance(value, _Affine):
        return value.materialize()
    if isinstance(value, _OneHot):
        value = value.as_table()
    if isinstance(value, _Table):
        return value.materialize()
    return value


def _activation(name: Any) -> Callable[[np.ndarray], np.ndarray]:
    if isinstance(name, dict):
        name = name.get("config", {}).get("name", name.get("class_name"))
    if name in (None, "linear"):
        return lambda x: x
    if name == "relu":
        return lambda x: np.maximum(x, 0, out=x)
    if name == "sigmoid":

        def sigmoid(x: np.ndarray) -> np.ndarray:
            np.negative(x, out=x)
            np.exp(x, out=x)
            x += 1
            return np.reciprocal(x, out=x)

        return sigmoid
    if name == "elu":  # Keras' default alpha = 1

        def elu(x: np.ndarray) -> np.ndarray:
            negative = x < 0
            x[negative] = np.expm1(x[negative])
            return x

        return elu
    if name == "leaky_relu":  # Keras' default negative_slope = 0.2 (the string form cannot set another)

        def leaky_relu(x: np.ndarray) -> np.ndarray:
            x[x < 0] *= 0.2
            return x

        return leaky_relu
    raise UnsupportedModel(f"activation {name!r}")


def _elementwise(value: Any, fn: Callable[[np.ndarray], np.ndarray]) -> Any:
    """Apply an elementwise function; on a :class:`_Table` only the table is transformed."""
    if isinstance(value, _OneHot):
        value = value.as_table()
    if isinstance(value, _Table):
        return _Table(fn(value.table.copy()), value.code)
    if isinstance(value, _Affine):
        return fn(value.materialize())
    return fn(value.copy())


_COMBINED_TABLE_ROWS = 1 << 15
class _Conv1D:
    def __init__(self, cfg: dict[str, Any], weights: list[np.ndarray]) -> None:
        if cfg.get("data_format", "channels_last") != "channels_last":
            raise UnsupportedModel("Conv1D data_format")
        if tuple(cfg.get("strides", [1])) != (1,) or tuple(cfg.get("dilation_rate", [1])) != (1,):
            raise UnsupportedModel("Conv1D strides/dilation")
        if cfg.get("groups", 1) != 1 or cfg.get("padding") not in {"same", "valid"}:
            raise UnsupportedModel("Conv1D groups/padding")
        self.kernel = weights[0].astype(np.float32)  # (k, C, F)
        self.bias = weights[1].astype(np.float32) if cfg.get("use_bias", True) else None
        self.k = self.kernel.shape[0]
        self.same = cfg["padding"] == "same"
        self.act = _activation(cfg.get("activation"))
        self._tables: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._combined_cache: tuple[np.ndarray, np.ndarray] | None = None
        self._local = threading.local()  # per-thread im2col scratch, reused across chunks

    def _workspace(self, shape: tuple[int, ...]) -> np.ndarray:
        """This thread's scratch ``float32`` array (avoids the page faults of fresh allocations per chunk)."""
        buf: np.ndarray | None = getattr(self._local, "buf", None)
        size = int(np.prod(shape))
        if buf is None or buf.size < size:
            buf = self._local.buf = np.empty(size, dtype=np.float32)
        return buf[:size].reshape(shape)

    def _pads(self) -> tuple[int, int]:
        if not self.same:
            return 0, 0
        left = (self.k - 1) // 2
        return left, self.k - 1 - left

    def __call__(self, x: Any) -> Any:
        if isinstance(x, _OneHot):
            x = x.as_table()
        if isinstance(x, _Table):
            return self._on_table(x)
        return self._on_dense(_dense(x))

    def _on_table(self, x: _Table) -> Any:
        """Convolution of ``table[code]``: a sum of per-tap lookups, or one lookup in a combined table."""
        rows = x.table.shape[0]
        filters = self.kernel.shape[2]
        key = id(x.table)
        if key not in self._tables:
            taps = np.zeros((self.k, rows + 1, filters), dtype=np.float32)  # row `rows` = zero padding
            for t in range(self.k):
                taps[t, :rows] = x.table @ self.kernel[t]
            self._tables = {key: (x.table, taps)}  # keep the table alive so id() stays valid
        taps = self._tables[key][1]
        left, right = self._pads()
        n, length = x.code.shape
        code = x.code.astype(np.int32)
        if left or right:
            padded = np.full((n, length + left + right), rows, dtype=np.int32)
            padded[:, left : left + length] = code
        else:
            padded = code
        out_len = padded.shape[1] - self.k + 1
        if (rows + 1) ** self.k <= _COMBINED_TABLE_ROWS:
            combined = self._combined(taps, rows + 1)
            c = np.zeros((n, out_len), dtype=np.int32)
            for t in range(self.k):
                c *= rows + 1
                c += padded[:, t : t + out_len]
            return _Table(combined, c)
        out = np.take(taps[0], padded[:, 0:out_len], axis=0)
        for t in range(1, self.k):
            out += np.take(taps[t], padded[:, t : t + out_len], axis=0)
        if self.bias is not None:
            out += self.bias
        return self.act(out)

    def _combined(self, taps: np.ndarray, base: int) -> np.ndarray:
        cached = self._combined_cache
        if cached is not None and cached[0] is taps:
            return cached[1]
        filters = taps.shape[2]
        table = np.zeros((1,) * self.k + (filters,), dtype=np.float32)
        for t in range(self.k):
            shape = [1] * self.k + [filters]
            shape[t] = base
            table = table + taps[t].reshape(shape)
        table = table.reshape(-1, filters)
        if self.bias is not None:
            table = table + self.bias
        table = np.ascontiguousarray(self.act(table.astype(np.float32)))
        self._combined_cache = (taps, table)
        return table

    def _on_dense(self, x: np.ndarray) -> np.ndarray:
        n, length, channels = x.shape
        left, right = self._pads()
        out_len = length + left + right - self.k + 1
        cols = self._workspace((n, out_len, self.k, channels))
        for t in range(self.k):
            lo = max(0, left - t)  # first output position whose tap t falls inside the input
            hi = max(lo, min(out_len, length + left - t))
            cols[:, :lo, t, :] = 0
            cols[:, hi:, t, :] = 0
            if hi > lo:
                cols[:, lo:hi, t, :] = x[:, lo + t - left : hi + t - left, :]
        out = cols.reshape(n * out_len, self.k * channels) @ self.kernel.reshape(self.k * channels, -1)
        if self.bias is not None:
            out += self.bias
        return self.act(out).reshape(n, out_len, -1)


class _BatchNorm:
    def __init__(self, cfg: dict[str, Any], weights: list[np.ndarray]) -> None:
        if cfg.get("axis", -1) not in (-1, [-1]) and not isinstance(cfg.get("axis"), int | list):
            raise UnsupportedModel("BatchNormalization axis")
        w = list(weights)
        gamma = w.pop(0) if cfg.get("scale", True) else None
        beta = w.pop(0) if cfg.get("center", True) else None
        mean, var = w[0], w[1]
        scale = 1.0 / np.sqrt(var.astype(np.float64) + float(cfg.get("epsilon", 1e-3)))
        if gamma is not None:
            scale = scale * gamma
        shift = -mean * scale + (beta if beta is not None else 0.0)
        self.scale = scale.astype(np.float32)
        self.shift = shift.astype(np.float32)
        self.axis = cfg.get("axis", -1)
        self._table_cache: tuple[np.ndarray, np.ndarray] | None = None

    def __call__(self, x: Any) -> Any:
        if isinstance(x, np.ndarray) and x.ndim == 3 and self.axis in (-1, [-1], 2, [2]):
            return _Affine(x, self.scale, self.shift)
        if isinstance(x, _Table):  # the same table every chunk: transform it once
            cached = self._table_cache
            if cached is None or cached[0] is not x.table:
                table = x.table * self.scale + self.shift
                cached = self._table_cache = (x.table, table.astype(np.float32))
            return _Table(cached[1], x.code)

        def bn(a: np.ndarray) -> np.ndarray:
            axis = self.axis[0] if isinstance(self.axis, list) else self.axis
            if axis not in (-1, a.ndim - 1):
                raise UnsupportedModel("BatchNormalization axis")
            a *= self.scale
            a += self.shift
            return a

        return _elementwise(x, bn)


class _Dense:
    def __init__(self, cfg: dict[str, Any], weights: list[np.ndarray]) -> None:
        self.kernel = weights[0].astype(np.float32)
        self.bias = weights[1].astype(np.float32) if cfg.get("use_bias", True) else None
        self.act = _activation(cfg.get("activation"))
        self._folded: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def _apply(self, a: np.ndarray) -> np.ndarray:
        out = a @ self.kernel
        if self.bias is not None:
            out += self.bias
        return self.act(out)

    def __call__(self, x: Any) -> Any:
        if isinstance(x, _OneHot):
            x = x.as_table()
        if isinstance(x, _Table):
            return _Table(self._apply(x.table), x.code)
        if isinstance(x, _Affine) and x.x.ndim == 2:
            # (x * s + t) @ W + b  ==  x @ (s[:, None] * W) + (t @ W + b): fold BatchNorm into the weights
            cached = self._folded
            if cached is None or cached[0] is not x.scale:
                kernel = (x.scale[:, None] * self.kernel).astype(np.float32)
                bias = x.shift @ self.kernel + (self.bias if self.bias is not None else 0)
                cached = self._folded = (x.scale, kernel, bias.astype(np.float32))
            out = x.x @ cached[1]
            out += cached[2]
            return self.act(out)
        return self._apply(_dense(x))


class _Embedding:
    def __init__(self, cfg: dict[str, Any], weights: list[np.ndarray]) -> None:
        self.table = weights[0].astype(np.float32)

    def __call__(self, x: Any) -> Any:
        if isinstance(x, _OneHot | _Table) or not np.issubdtype(np.asarray(x).dtype, np.integer):
            raise UnsupportedModel("Embedding on a non-integer input")
        return _Table(self.table, x)


class _MaxPool:
    def __init__(self, cfg: dict[str, Any], weights: list[np.ndarray]) -> None:
        pool = cfg.get("pool_size", 2)
        pool = pool[0] if isinstance(pool, list | tuple) else pool
        strides = cfg.get("strides") or pool
        strides = strides[0] if isinstance(strides, list | tuple) else strides
        if strides != pool or cfg.get("padding", "valid") != "valid" or cfg.get("data_format") == "channels_first":
            raise UnsupportedModel("MaxPooling1D options")
        self.pool = int(pool)

    def __call__(self, x: Any) -> np.ndarray:
        if isinstance(x, _OneHot):
            x = x.as_table()
        if isinstance(x, _Table):
            # max of lookups, without materializing the unpooled tensor
            out_len = x.code.shape[1] // self.pool
            end = out_len * self.pool
            out = np.take(x.table, x.code[:, 0 : end : self.pool], axis=0)
            for j in range(1, self.pool):
                np.maximum(out, np.take(x.table, x.code[:, j : end : self.pool], axis=0), out=out)
            return out
        a = _dense(x)
        n, length, channels = a.shape
        out_len = length // self.pool
        out = a[:, 0 : out_len * self.pool : self.pool].copy()
        for j in range(1, self.pool):
            np.maximum(out, a[:, j : out_len * self.pool : self.pool], out=out)
        return out


_TILED: dict[tuple[int, int, int], tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = {}


def _tiled(scale: np.ndarray, shift: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray]:
    """``scale`` and ``shift`` tiled ``length`` times, the same arrays for every chunk (so a following Dense
    keeps its folded weights instead of folding them again per chunk)."""
    key = (id(scale), id(shift), length)
    found = _TILED.get(key)
    if found is None or found[0] is not scale or found[1] is not shift:
        found = _TILED[key] = (scale, shift, np.tile(scale, length), np.tile(shift, length))
    return found[2], found[3]


def _flatten(x: Any) -> Any:
    """Flatten; a deferred per-channel affine stays deferred (tiled), so a following Dense can absorb it."""
    if isinstance(x, _Affine) and x.x.ndim == 3:
        n, length, _ = x.x.shape
        return _Affine(x.x.reshape(n, -1), *_tiled(x.scale, x.shift, length))
    a = _dense(x)
    return a.reshape(a.shape[0], -1)


def _check_1d_pool_format(cfg: dict[str, Any]) -> None:
    if cfg.get("data_format", "channels_last") != "channels_last" or cfg.get("keepdims"):
        raise UnsupportedModel("global pooling options")


def _layer_fn(class_name: str, cfg: dict[str, Any], weights: Any) -> Callable[..., Any]:
    """A numpy function for one Keras layer (raises :class:`UnsupportedModel` for anything unknown)."""
    dtype = cfg.get("dtype")
    if isinstance(dtype, dict):
        dtype = dtype.get("config", {}).get("name")
    if dtype not in (None, "float32") and class_name != "InputLayer":
        raise UnsupportedModel(f"dtype policy {dtype!r}")
    if class_name == "Conv1D":
        return _Conv1D(cfg, weights)
    if class_name == "BatchNormalization":
        return _BatchNorm(cfg, weights)
    if class_name == "Dense":
        return _Dense(cfg, weights)
    if class_name == "Embedding":
        return _Embedding(cfg, weights)
    if class_name == "MaxPooling1D":
        return _MaxPool(cfg, weights)
    if class_name == "Activation":  # the sigmoid after the logits' Add (models.sequence linear_path)
        act = _activation(cfg.get("activation"))
        return lambda x: _elementwise(x, act)
    if class_name == "Dropout":
        return lambda x: x
    if class_name == "GlobalMaxPooling1D":
        _check_1d_pool_format(cfg)
        return lambda x: x.global_max() if isinstance(x, _Affine) else _dense(x).max(axis=1)
    if class_name == "Flatten":
        return _flatten
    if class_name == "Average":
        return lambda *xs: sum(_dense(x) for x in xs) / np.float32(len(xs))
    if class_name == "Add":  # the two logits of models.sequence linear_path
        return lambda *xs: sum(_dense(x) for x in xs)
    raise UnsupportedModel(f"layer {class_name}")


@dataclass
class _Shared:
    """Windows given as start offsets into one array of residue codes (proteins padded with ``X``, concatenated).

    Window ``i`` is ``code[starts[i] : starts[i] + width]``; overlapping windows of a protein share positions,
    so a model whose first layers are a matching convolution stack computes them once per position.
    """

    code: np.ndarray  # (m,) int8
    starts: np.ndarray  # (n,) int64, increasing
    width: int
    onehot: bool
    compiled: bool = False  # run shared stacks with the compiled kernel (phosnet.engines._fused)

    def columns(self, lo: int, hi: int) -> np.ndarray:
        """Columns ``lo:hi`` of every window, ``(n, hi - lo)`` int8 (cached: ensemble members ask alike)."""
        cache = self.__dict__.setdefault("_columns", {})
        if (lo, hi) not in cache:
            cache[lo, hi] = self.code[self.starts[:, None] + np.arange(lo, hi)]
        return cache[lo, hi]

    def value(self, index: np.ndarray) -> Any:
        """The model-input value of an index array (one-hot kept as indices)."""
        return _OneHot(index) if self.onehot else index.astype(np.int32)

    def window_value(self) -> Any:
        return self.value(self.columns(0, self.width))


def _takes_shared(fn: Any) -> bool:
    return isinstance(getattr(fn, "__self__", None), _Graph)


_ELEMENTWISE_KINDS = {"BatchNormalization", "Activation", "Dropout"}


def _lookup_rows(value: Any, row: int, cols: Any) -> np.ndarray:
    """``value[row, cols]`` of a (possibly table-coded) ``(n, L, C)`` tensor, as ``(len(cols), C)``."""
    if isinstance(value, _OneHot):
        value = value.as_table()
    if isinstance(value, _Table):
        return np.take(value.table, value.code[row, cols], axis=0)
    return _dense(value)[row, cols]


def _lookup_col(value: Any, col: int) -> np.ndarray:
    """Column ``col`` of a (possibly table-coded) ``(n, L, C)`` tensor, as ``(n, C)``."""
    if isinstance(value, _OneHot):
        value = value.as_table()
    if isinstance(value, _Table):
        return np.take(value.table, value.code[:, col], axis=0)
    return _dense(value)[:, col]


class _Head:
    """The Dense layers that read a shared stack's flattened output, run by the compiled kernel as one product.

    Matched after the stack: ``[BatchNormalization] -> Flatten -> [Dropout]...`` with nothing else reading those
    steps, then one or more ``Dense`` layers reading the result. Their kernels side by side, BatchNorm folded in
    (``(x s + t) W + b = x (s W) + (t W + b)``), make one ``(windows, n2 * F2) @ (n2 * F2, units)`` product per
    block of windows inside the kernel: no Python between the stack and the Dense layers, and only the Dense
    outputs (not the ``n2 * F2`` flattened values) take memory per window. Each Dense layer's activation and the
    rest of the graph run in numpy as before.
    """

    def __init__(self, kernel: np.ndarray, bias: np.ndarray, outputs: list[tuple[tuple[str, int, int], int, int,
                 Callable[[np.ndarray], np.ndarray]]], skipped: set[tuple[str, int, int]]) -> None:
        self.kernel, self.bias = kernel, bias
        self.outputs = outputs
        """``(key, first column, last column, activation)`` of each Dense layer."""
        self.skipped = skipped
        """Steps the head replaces (the chain and the Dense layers)."""

    @classmethod
    def match(cls, steps: list[Any], start: tuple[str, int, int], kinds: dict[Any, str],
              graph_outputs: list[Any]) -> _Head | None:
        readers: dict[Any, list[Any]] = {}
        for step in steps:
            for src in step[2]:
                readers.setdefault(src, []).append(step)
        node, chain, affine, flattened = start, [], None, False
        while node not in graph_outputs:
            users = readers.get(node, [])
            if len(users) != 1 or users[0][2] != [node]:
                break
            key, fn, _ = users[0]
            kind = kinds.get(key)
            if kind == "BatchNormalization" and not flattened and affine is None and isinstance(fn, _BatchNorm) \
                    and fn.axis in (-1, [-1], 2, [2]):
                affine = (fn.scale, fn.shift)
            elif kind == "Flatten" and not flattened:
                flattened = True
            elif kind != "Dropout":
                break
            chain.append(key)
            node = key
        users = readers.get(node, [])
        if not flattened or node in graph_outputs or not users:
            return None
        if any(kinds.get(key) != "Dense" or srcs != [node] or not isinstance(fn, _Dense) for key, fn, srcs in users):
            return None
        kernel = np.concatenate([fn.kernel for _, fn, _ in users], axis=1).astype(np.float64)
        bias = np.concatenate([fn.bias if fn.bias is not None else np.zeros(fn.kernel.shape[1], np.float32)
                               for _, fn, _ in users]).astype(np.float64)
        if affine is not None:
            channels = len(affine[0])
            if kernel.shape[0] % channels:
                return None
            scale, shift = (np.tile(a.astype(np.float64), kernel.shape[0] // channels) for a in affine)
            bias = shift @ kernel + bias
            kernel = scale[:, None] * kernel
        outputs, first = [], 0
        for key, fn, _ in users:
            outputs.append((key, first, first + fn.kernel.shape[1], fn.act))
            first += fn.kernel.shape[1]
        return cls(kernel.astype(np.float32), bias.astype(np.float32), outputs,
                   set(chain) | {key for key, _, _ in users})


@dataclass
class _HeadValues:
    """What a shared stack returns when the compiled kernel also ran its :class:`_Head`: the Dense outputs."""

    values: np.ndarray  # (n, units), a view of the thread's buffer
    head: _Head

    def env(self) -> dict[tuple[str, int, int], np.ndarray]:
        """Each Dense layer's output (a copy: the buffer is reused by the thread's next call), activated."""
        return {key: act(np.array(self.values[:, lo:hi])) for key, lo, hi, act in self.head.outputs}


class _SharedConvStack:
    """``[Embedding] -> Conv1D -> elementwise... -> MaxPool -> Conv1D`` computed once per sequence position.

    Inside a window the stack is shift-invariant except near the window's edges (``same`` padding sees zeros
    there, not the neighbouring residues). For a window starting at absolute position ``s``:

    * first convolution + elementwise layers at window position ``i`` (interior) = ``C1[s + i]``, computed over
      the whole code array (a table lookup);
    * pooled cell ``j`` (interior) = ``Pool[s + P j]`` with ``Pool[a] = max_u C1[a + u]``; edge cells (touching
      a zero-padded position) are computed per window from its first/last columns;
    * second convolution, linear before its activation: tap ``t`` of cell ``j`` contributes
      ``Y_t[s + P j] = W_t . Pool[s + P j]`` (one ``(m, C1) @ (C1, k2 * F2)`` product over positions); outputs
      whose taps are all interior cells are ``C2[s + P p'] = b + sum_t Y_t[s + P (p' + t)]``, shared by every
      window; edge outputs sum the taps they have (gathered ``Y`` rows, edge cells times ``W_t``).

    Same numbers as the per-window computation up to float32 summation order.
    """

    def __init__(self, pre: list[Callable[..., Any]], conv1: _Conv1D, pool: _MaxPool, conv2: _Conv1D,
                 output_key: tuple[str, int, int], n_steps: int) -> None:
        self.pre = pre
        self.conv1 = conv1
        self.pool = pool
        self.conv2 = conv2
        self.output_key = output_key
        self.n_steps = n_steps
        k2, c1, f2 = conv2.kernel.shape
        self.w2cat = np.ascontiguousarray(conv2.kernel.transpose(1, 0, 2).reshape(c1, k2 * f2))
        self.bias2 = conv2.bias if conv2.bias is not None else np.zeros(f2, np.float32)
        self._plans: dict[tuple[int, ...], tuple[Any, ...]] = {}
        self._kernels: dict[tuple[int, ...], np.ndarray] = {}
        self.head: _Head | None = None
        """The Dense layers after it, when the compiled kernel can run them too (set by :class:`_Graph`)."""

    @classmethod
    def match(cls, steps: list[Any], inputs: list[Any], kinds: dict[Any, str]) -> _SharedConvStack | None:
        if len(inputs) != 1 or not steps:
            return None
        previous = inputs[0]
        chain = []
        for key, fn, srcs in steps:
            if srcs != [previous]:
                return None
            chain.append((key, fn, kinds.get(key, "")))
            previous = key
            if len(chain) >= 2 and chain[-1][2] == "Conv1D" and chain[-2][2] == "MaxPooling1D":
                break
        else:
            return None
        names = [kind for _, _, kind in chain]
        body = names[1:] if names[0] == "Embedding" else names
        if not body or body[0] != "Conv1D" or not set(body[1:-2]) <= _ELEMENTWISE_KINDS:
            return None
        pool, conv2 = chain[-2][1], chain[-1][1]
        conv1 = chain[len(names) - len(body)][1]
        if not isinstance(conv1, _Conv1D) or not isinstance(conv2, _Conv1D):
            return None
        inner = {key for key, _, _ in chain[:-1]}
        for _, _, srcs in steps[len(chain):]:
            if inner & set(srcs):
                return None  # an intermediate is used elsewhere
        return cls([fn for _, fn, _ in chain[:-2]], conv1, pool, conv2, chain[-1][0], len(chain))

    def _plan(self, n1: int, n2: int, o2: int, k2: int, edges: tuple[int, ...]) -> tuple[Any, ...]:
        """How each output of the second convolution is summed (see :meth:`__call__`; one per window shape)."""
        key = (n1, n2, o2, k2, *edges)
        if key not in self._plans:
            self._plans[key] = self._make_plan(n1, n2, o2, k2, edges)
        return self._plans[key]

    @staticmethod
    def _make_plan(n1: int, n2: int, o2: int, k2: int, edges: tuple[int, ...]) -> tuple[Any, ...]:
        interior: list[int] = []
        suffix: dict[int, tuple[int, int]] = {}
        raw: dict[int, list[tuple[int, int]]] = {}
        by_cell: dict[int, list[tuple[int, int]]] = {}
        for p in range(n2):
            valid = [(t, p - o2 + t) for t in range(k2) if 0 <= p - o2 + t < n1]
            inner = [(t, j) for t, j in valid if j not in edges]
            for t, j in valid:
                if j in edges:
                    by_cell.setdefault(j, []).append((p, t))
            if len(inner) == k2:
                interior.append(p)
            elif inner and [t for t, _ in inner] == list(range(inner[0][0], k2)):
                suffix[p] = inner[0]
            else:
                raw[p] = inner
        return interior, suffix, raw, by_cell

    def _kernel_cat(self, taps: tuple[int, ...]) -> np.ndarray:
        """The second convolution's kernels of ``taps`` side by side (cached: a handful per model)."""
        if taps not in self._kernels:
            self._kernels[taps] = np.ascontiguousarray(np.concatenate([self.conv2.kernel[t] for t in taps], axis=1))
        return self._kernels[taps]

    def _first(self, value: Any) -> Any:
        for fn in self.pre:
            value = fn(value)
        return value

    def compiled_form(self, width: int, onehot: bool) -> Any:
        """This stack as :class:`phosnet.engines._fused.FusedStack` for windows of ``width``, or ``None`` when the
        kernel is not loaded or cannot take it (the first convolution has no combined lookup table, or an edge
        cell depends on too many residues): then the numpy stack serves."""
        key = (width, onehot)
        cache = self.__dict__.setdefault("_compiled", {})
        if key not in cache:
            from phosnet.engines import _fused

            if not _fused.ready():
                return None
            cache[key] = None
            probe = self._first(_OneHot(np.zeros((1, self.conv1.k), np.int8)) if onehot
                                else np.zeros((1, self.conv1.k), np.int32))
            base = N_CHANNELS + 1  # the alphabet and the zero padding
            if isinstance(probe, _Table) and probe.table.shape[0] == base**self.conv1.k:
                test = np.array([-1.0, 2.0], np.float32)
                relu = bool((self.conv2.act(test.copy()) == np.array([0.0, 2.0], np.float32)).all())
                head = (self.head.kernel, self.head.bias) if self.head is not None and relu else None
                try:
                    cache[key] = _fused.FusedStack(probe.table, base, self.conv1.k, self.conv1.same, self.pool.pool,
                                                   self.conv2.kernel, self.bias2, self.conv2.same, width, relu, head)
                except ValueError:
                    pass
        return cache[key]

    def __call__(self, x: _Shared) -> np.ndarray | _HeadValues:
        compiled = self.compiled_form(x.width, x.onehot) if x.compiled else None
        if compiled is not None:
            out = compiled(x.code, x.starts)
            if compiled.head is not None:
                assert self.head is not None
                return _HeadValues(out, self.head)
            return out if compiled.relu else self.conv2.act(out)
        width, n = x.width, len(x.starts)
        starts = x.starts
        P = self.pool.pool
        k1, k2 = self.conv1.k, self.conv2.k
        o1 = (k1 - 1) // 2 if self.conv1.same else 0
        r1 = k1 - 1 - o1 if self.conv1.same else 0
        w1 = width if self.conv1.same else width - k1 + 1
        n1 = w1 // P
        o2 = (k2 - 1) // 2 if self.conv2.same else 0
        n2 = n1 if self.conv2.same else n1 - k2 + 1
        f2 = self.conv2.kernel.shape[2]

        # first convolution (+ elementwise layers) over every position, then Pool[a] = max_u C1[a + u]
        c1 = self._first(x.value(x.code[None, :]))
        m1 = len(x.code) if self.conv1.same else len(x.code) - k1 + 1
        m = m1 - P + 1
        pool = _lookup_rows(c1, 0, slice(0, m))
        for u in range(1, P):
            np.maximum(pool, _lookup_rows(c1, 0, slice(u, u + m)), out=pool)
        y = (pool @ self.w2cat).reshape(m, k2, f2)

        # pooled cells touching a zero-padded position of the first convolution, per window
        def edge_cell(j: int) -> bool:
            return self.conv1.same and (j * P < o1 or j * P + P - 1 > width - 1 - r1)

        edge: dict[int, np.ndarray] = {}
        left = [j for j in range(n1) if edge_cell(j) and j * P < o1]
        right = [j for j in range(n1) if edge_cell(j) and j not in left]
        if left:
            hi = min(width, (left[-1] + 1) * P + k1)
            part = self._first(x.value(x.columns(0, hi)))
            for j in left:
                cell = _lookup_col(part, j * P)
                for u in range(1, P):
                    np.maximum(cell, _lookup_col(part, j * P + u), out=cell)
                edge[j] = cell
        if right:
            lo = max(0, right[0] * P - o1)
            part = self._first(x.value(x.columns(lo, width)))
            for j in right:
                cell = _lookup_col(part, j * P - lo)
                for u in range(1, P):
                    np.maximum(cell, _lookup_col(part, j * P + u - lo), out=cell)
                edge[j] = cell

        interior, suffix, raw, by_cell = self._plan(n1, n2, o2, k2, tuple(sorted(edge)))
        out = np.empty((n, n2, f2), dtype=np.float32)
        flat_y = y.reshape(m * k2, f2)

        def rows(t: int, j: int) -> np.ndarray:
            return np.take(flat_y, (starts + P * j) * k2 + t, axis=0)

        edge_terms: dict[int, list[np.ndarray]] = {}
        for j, uses in by_cell.items():  # all taps that see edge cell j: one product
            product = edge[j] @ self._kernel_cat(tuple(t for _, t in uses))
            for i, (p, _) in enumerate(uses):
                edge_terms.setdefault(p, []).append(product[:, i * f2 : (i + 1) * f2])

        def finish(p: int, acc: np.ndarray | None) -> None:
            if acc is None:
                acc = np.broadcast_to(self.bias2, (n, f2)).copy()
            for term in edge_terms.get(p, []):
                acc += term
            out[:, p] = acc

        for p, taps in raw.items():  # outputs missing their last tap: sums of raw Y rows (before the suffix sums)
            acc = None
            for t, j in taps:
                if acc is None:
                    acc = rows(t, j)
                else:
                    acc += rows(t, j)
            if acc is None:
                finish(p, None)
                continue
            acc += self.bias2
            finish(p, acc)
        if interior or suffix:
            # S_t[a] = bias + sum_{u >= t} W_u . Pool[a + P (u - t)], from the last tap down, in contiguous buffers;
            # S_0 is the full output, S_t (t > 0) what an output whose first taps fall off the left edge needs
            want = {t: [(p, j) for p, (tt, j) in suffix.items() if tt == t] for t in range(k2)}
            acc = np.add(y[:, k2 - 1], self.bias2)
            spare = np.empty_like(acc)
            for t in range(k2 - 1, -1, -1):
                if t < k2 - 1:
                    length = m - P * (k2 - 1 - t)
                    np.add(y[:length, t], acc[P : P + length], out=spare[:length])
                    acc, spare = spare[:length], acc
                for p, j in want[t]:
                    finish(p, np.take(acc, starts + P * j, axis=0))
            if interior:
                out[:, interior] = np.take(acc, starts[:, None] + P * (np.asarray(interior) - o2), axis=0)
        return self.conv2.act(out)


def _history(arg: Any) -> list[tuple[str, int, int]]:
    """The ``keras_history`` references inside one inbound-node argument (a tensor or a list of tensors)."""
    if isinstance(arg, dict) and arg.get("class_name") == "__keras_tensor__":
        name, node, index = arg["config"]["keras_history"]
        return [(name, int(node), int(index))]
    if isinstance(arg, list | tuple):
        return [ref for item in arg for ref in _history(item)]
    return []


def _refs(spec: Any) -> list[tuple[str, int, int]]:
    """``input_layers``/``output_layers`` of a config: ``[name, node, index]`` or a list of those."""
    if len(spec) == 3 and isinstance(spec[0], str):
        return [(spec[0], int(spec[1]), int(spec[2]))]
    return [(s[0], int(s[1]), int(s[2])) for s in spec]


class _Graph:
    """A compiled functional Keras model: numpy steps in topological order (nested models become sub-graphs)."""

    def __init__(self, model_cfg: dict[str, Any], weights: dict[str, Any]) -> None:
        cfg = model_cfg["config"]
        self.steps: list[tuple[tuple[str, int, int], Callable[..., Any], list[tuple[str, int, int]]]] = []
        self.kinds: dict[tuple[str, int, int], str] = {}
        self.shared: _SharedConvStack | None = None
        by_name = {layer["name"]: layer for layer in cfg["layers"]}
        self.inputs = _refs(cfg["input_layers"])
        self.outputs = _refs(cfg["output_layers"])
        fns: dict[str, Callable[..., Any]] = {}
        done = set(self.inputs)

        def visit(ref: tuple[str, int, int]) -> None:
            key = (ref[0], ref[1], 0)
            if key in done:
                return
            layer = by_name[ref[0]]
            nodes = layer.get("inbound_nodes") or []
            if ref[1] >= len(nodes) or ref[2] != 0:
                raise UnsupportedModel(f"layer {ref[0]} node {ref[1]}")
            node = nodes[ref[1]]
            if node.get("kwargs") and any(k not in {"training", "mask"} for k in node["kwargs"]):
                raise UnsupportedModel(f"call arguments of {ref[0]}")
            srcs = _history(node.get("args", []))
            for src in srcs:
                visit(src)
            if ref[0] not in fns:
                fns[ref[0]] = self._callable(layer, weights.get(ref[0], []))
            self.steps.append((key, fns[ref[0]], srcs))
            self.kinds[key] = layer["class_name"]
            done.add(key)

        for out in self.outputs:
            visit(out)

        self.shared = _SharedConvStack.match(self.steps, self.inputs, self.kinds)
        self.after_head: list[Any] = []
        if self.shared is not None:
            rest = self.steps[self.shared.n_steps :]
            self.shared.head = _Head.match(rest, self.shared.output_key, self.kinds, self.outputs)
            if self.shared.head is not None:
                self.after_head = [step for step in rest if step[0] not in self.shared.head.skipped]

    @staticmethod
    def _callable(layer: dict[str, Any], weights: Any) -> Callable[..., Any]:
        if layer["class_name"] == "Functional":
            sub = _Graph(layer, weights if isinstance(weights, dict) else {})
            return sub.run_values
        if layer["class_name"] == "InputLayer":
            return lambda x: x
        return _layer_fn(layer["class_name"], layer["config"], weights)

    def run_values(self, *inputs: Any) -> Any:
        env: dict[tuple[str, int, int], Any] = dict(zip(self.inputs, inputs, strict=True))
        steps = self.steps
        if len(inputs) == 1 and isinstance(inputs[0], _Shared):
            if self.shared is not None:  # the conv stack once per position, shared by overlapping windows
                stacked = self.shared(inputs[0])
                if isinstance(stacked, _HeadValues):  # the kernel ran the Dense layers after the stack too
                    env = dict(stacked.env())
                    steps = self.after_head
                else:
                    if self.shared.output_key in self.outputs:  # leaves the graph: not the kernel's thread buffer
                        stacked = np.array(stacked)
                    env = {self.shared.output_key: stacked}
                    steps = steps[self.shared.n_steps :]
        uses: dict[tuple[str, int, int], int] = {}
        for _, _, srcs in steps:
            for src in srcs:
                uses[src] = uses.get(src, 0) + 1
        for out in self.outputs:
            uses[out] = uses.get(out, 0) + 1
        for key, fn, srcs in steps:
            args = [env[s] for s in srcs]
            if any(isinstance(a, _Shared) for a in args) and not _takes_shared(fn):
                args = [a.window_value() if isinstance(a, _Shared) else a for a in args]
            for s in srcs:
                uses[s] -= 1
                if uses[s] == 0:
                    del env[s]
            env[key] = fn(*args)
        outs = [env[o] for o in self.outputs]
        return outs[0] if len(outs) == 1 else outs


@functools.cache
def _blas_controller() -> Any:
    """threadpoolctl's controller (made once: it inspects the loaded libraries), or ``None`` without it."""
    try:
        from threadpoolctl import ThreadpoolController

        return ThreadpoolController()
    except Exception:  # noqa: BLE001 - optional
        return None


@contextlib.contextmanager
def _single_threaded_blas() -> Iterator[None]:
    """Limit BLAS to one thread (the engine runs one chunk per CPU instead); a no-op without threadpoolctl."""
    controller = _blas_controller()
    if controller is None:
        yield
        return
    with controller.limit(limits=1, user_api="blas"):
        yield


def _cpu_count() -> int:
    """CPUs this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class NumpyEngine:
    """Score ``int8`` index windows with a numpy interpretation of the model's Keras graph."""

    name = "numpy"

    def __init__(self, model: PhosnetModel, chunk: int = ENGINE_CHUNK, workers: int | None = None,
                 compiled: str = "auto") -> None:
        if compiled not in {"auto", "always", "never"}:
            raise ValueError(f"compiled must be 'auto', 'always' or 'never', not {compiled!r}")
        self.compiled = compiled
        """``"auto"``: the compiled kernel for calls of at least :data:`COMPILE_AFTER_WINDOWS` windows;
        ``"always"``: for every call; ``"never"``: numpy only. Numpy also when numba does not import."""
        self.used_compiled = False
        """Whether the compiled kernel ran every shared stack in the latest call."""
        self.chunk = chunk
        self.workers = workers if workers is not None else _cpu_count()
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        self.onehot = model.input_encoding == "onehot"
        config = model.config
        if config.get("class_name") != "Functional":
            raise UnsupportedModel(f"model class {config.get('class_name')}")
        self.graph = _Graph(config, model.weights())
        if len(self.graph.inputs) != 1 or len(self.graph.outputs) != 1:
            raise UnsupportedModel("models with several inputs or outputs")
        self(np.full((2, model.window), PAD_INDEX, dtype=np.int8))  # raises UnsupportedModel early

    def _executor(self) -> ThreadPoolExecutor:
        """The engine's worker threads (started on first use; shut down by :meth:`close` or garbage collection)."""
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="phosnet-engine")
                weakref.finalize(self, self._pool.shutdown, wait=False)
            return self._pool

    def close(self) -> None:
        """Shut down the worker threads (a later call starts new ones)."""
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    def __enter__(self) -> NumpyEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self, part: np.ndarray | _Shared) -> np.ndarray:
        if isinstance(part, _Shared):
            value: Any = part
            n = len(part.starts)
        else:
            value = _OneHot(part) if self.onehot else part.astype(np.int32)
            n = len(part)
        result = np.asarray(_dense(self.graph.run_values(value)), dtype=np.float32).reshape(n, -1)
        if result.shape[1] != 1:
            raise UnsupportedModel(f"{result.shape[1]} outputs per window (expected one score)")
        return result[:, 0].copy()

    @functools.cached_property
    def _stacks(self) -> list[_SharedConvStack]:
        """The model's shared convolution stacks (one per ensemble member)."""
        stacks, graphs = [], [self.graph]
        while graphs:
            graph = graphs.pop()
            if graph.shared is not None:
                stacks.append(graph.shared)
            graphs.extend(fn.__self__ for _, fn, _ in graph.steps if _takes_shared(fn))  # type: ignore[attr-defined]
        return stacks

    @property
    def shares(self) -> bool:
        """Whether some part of the model runs its convolutions once per position (see :class:`_SharedConvStack`)."""
        return bool(self._stacks)

    def _compiled_now(self, n: int, width: int) -> bool:
        """Whether the compiled kernel runs the shared stacks of a call with ``n`` windows (see :attr:`compiled`).

        A rule on the call alone, so a call's scores never depend on earlier calls or on timing (the two paths
        agree to float32 rounding, not bit for bit).
        """
        if self.compiled == "never" or not self._stacks or (self.compiled == "auto" and n < COMPILE_AFTER_WINDOWS):
            return False
        from phosnet.engines import _fused

        if _fused.kernel() is None:  # loads it (or waits for load_in_background) once per process
            return False
        if not getattr(self, "_saw_kernel", False):
            self._saw_kernel = True
            _blas_controller.cache_clear()  # a controller that also limits the BLAS the kernel calls
        return any(stack.compiled_form(width, self.onehot) is not None for stack in self._stacks)

    def score_positions(self, code: np.ndarray, starts: np.ndarray, width: int) -> np.ndarray:
        """Scores of the windows ``code[s : s + width]`` for ``s`` in ``starts`` (increasing)."""
        return self._score_shared(code, starts, width, self._compiled_now(len(starts), width))

    def _chunks(self, code: np.ndarray, starts: np.ndarray, width: int, compiled: bool) -> list[_Shared]:
        """One call's windows cut into the chunks the worker threads run (each a :class:`_Shared`)."""
        n = len(starts)
        self.used_compiled = compiled and all(s.compiled_form(width, self.onehot) is not None for s in self._stacks)
        positions, chunk = (1 << 62, COMPILED_CHUNK) if compiled else (SHARED_POSITIONS, self.chunk)
        bounds = [0]
        while bounds[-1] < n:
            w0 = bounds[-1]
            limit = int(np.searchsorted(starts, starts[w0] + positions - width, side="right"))
            bounds.append(min(n, w0 + chunk, max(limit, w0 + 1)))
        parts = []
        for w0, w1 in zip(bounds[:-1], bounds[1:], strict=True):
            lo, hi = int(starts[w0]), int(starts[w1 - 1]) + width
            parts.append(_Shared(code[lo:hi], starts[w0:w1] - lo, width, self.onehot, compiled))
        return parts

    def _score_shared(self, code: np.ndarray, starts: np.ndarray, width: int, compiled: bool) -> np.ndarray:
        parts = self._chunks(code, starts, width, compiled)
        with _single_threaded_blas():  # small products: BLAS threads would only spin (3-4x the CPU time)
            if self.workers > 1 and len(parts) > 1:
                scores = list(self._executor().map(self._run, parts))
            else:
                scores = [self._run(part) for part in parts]
        return np.concatenate(scores) if scores else np.zeros(0, np.float32)

    def score_stream(self, calls: Iterable[tuple[T, np.ndarray, np.ndarray, int]], ahead: int = 2
                     ) -> Iterator[tuple[T, np.ndarray]]:
        """:meth:`score_positions` of each ``(tag, code, starts, width)``, yielded in order as ``(tag, scores)``.

        The chunks of the next ``ahead`` calls are queued on the worker threads before a call's scores are
        collected, so the workers never wait between calls (a scan's batches) for the caller to hand on one
        batch and fetch the next. BLAS stays single-threaded for the whole stream.
        """
        pending: collections.deque[tuple[T, list[Future[np.ndarray]] | np.ndarray]] = collections.deque()

        def collect() -> tuple[T, np.ndarray]:
            tag, work = pending.popleft()
            if isinstance(work, np.ndarray):
                return tag, work
            scores = [future.result() for future in work]
            return tag, np.concatenate(scores) if scores else np.zeros(0, np.float32)

        with _single_threaded_blas():
            try:
                for tag, code, starts, width in calls:
                    parts = self._chunks(code, starts, width, self._compiled_now(len(starts), width))
                    if self.workers > 1 and len(parts) > 1:
                        pool = self._executor()
                        pending.append((tag, [pool.submit(self._run, part) for part in parts]))
                    else:
                        pending.append((tag, np.concatenate([self._run(p) for p in parts]) if parts
                                        else np.zeros(0, np.float32)))
                    while len(pending) > ahead:
                        yield collect()
                while pending:
                    yield collect()
            finally:
                for _, work in pending:  # an abandoned stream: drop what has not started
                    if not isinstance(work, np.ndarray):
                        for future in work:
                            future.cancel()

    def __call__(self, windows: np.ndarray) -> np.ndarray:
        if len(windows) and windows.ndim == 2 and self._compiled_now(len(windows), windows.shape[1]):
            # each window its own sequence: the compiled kernel runs the shared stacks
            width = windows.shape[1]
            code = np.ascontiguousarray(windows, dtype=np.int8).reshape(-1)
            return self._score_shared(code, np.arange(len(windows), dtype=np.int64) * width, width, True)
        self.used_compiled = False
        starts = range(0, len(windows), self.chunk)
        if self.workers > 1 and len(starts) > 1:
            with _single_threaded_blas():
                return self._parallel(windows, starts)
        out = np.empty(len(windows), dtype=np.float32)
        for start in starts:
            scores = self._run(windows[start : start + self.chunk])
            out[start : start + len(scores)] = scores
        return out

    def _parallel(self, windows: np.ndarray, starts: range) -> np.ndarray:
        """Chunks on a thread pool (numpy releases the GIL), each with single-threaded BLAS."""
        out = np.empty(len(windows), dtype=np.float32)
        parts = self._executor().map(lambda s: self._run(windows[s : s + self.chunk]), starts)
        for start, scores in zip(starts, parts, strict=True):
            out[start : start + len(scores)] = scores
        return out
