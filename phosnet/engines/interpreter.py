"""The Keras-layer interpreter of the numpy engine: a saved phosnet network run with numpy, window by window.

A small interpreter of the Keras graphs phosnet builds (:mod:`phosnet.models.sequence`): ``Conv1D``,
``BatchNormalization``, ``MaxPooling1D``, ``GlobalMaxPooling1D``/``Flatten``, ``Dropout``, ``Dense``,
``Embedding`` (index input), activations ``relu``/``sigmoid``/``elu``/``leaky_relu`` (also as an ``Activation``
layer), ``Add`` (the ``linear_path`` logits), nested functional models and score-averaging ensembles
(``Average``, as :func:`phosnet.akt.average_models` makes). Anything else raises
:class:`~phosnet.engines.base.UnsupportedModel` and ``engine="auto"`` falls back to TensorFlow.

Windows stay ``int8`` indices: the first convolution over the one-hot (or embedded) input becomes a table
lookup, with the following elementwise layers (activation, BatchNorm) folded into the table; later
convolutions run as one matrix product each (im2col). :class:`_Graph` runs the layers in topological order;
:class:`phosnet.engines.shared_conv._SharedGraph` is the same graph with its leading convolution stack run
once per sequence position. Names starting with ``_`` are private to :mod:`phosnet.engines`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from phosnet.encoding import N_CHANNELS
from phosnet.engines.base import UnsupportedModel


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

    @classmethod
    def _callable(cls, layer: dict[str, Any], weights: Any) -> Callable[..., Any]:
        if layer["class_name"] == "Functional":  # a nested model: a sub-graph of the same kind
            sub = cls(layer, weights if isinstance(weights, dict) else {})
            return sub.run_values
        if layer["class_name"] == "InputLayer":
            return lambda x: x
        return _layer_fn(layer["class_name"], layer["config"], weights)

    def _start(self, inputs: tuple[Any, ...]) -> tuple[dict[tuple[str, int, int], Any], list[Any]]:
        """The values the run starts from and the steps left to run (all of them here; a
        :class:`~phosnet.engines.shared_conv._SharedGraph` runs its shared stack first)."""
        return dict(zip(self.inputs, inputs, strict=True)), self.steps

    def run_values(self, *inputs: Any) -> Any:
        env, steps = self._start(inputs)
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


