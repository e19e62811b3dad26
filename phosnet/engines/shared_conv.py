"""The shared-convolution stack of the numpy engine: a network's leading convolutions once per sequence position.

In a scan, a ``Conv1D -> ... -> MaxPool -> Conv1D`` stack at the start of a model (or of each ensemble member)
runs once per sequence position and is shared by the overlapping windows of a protein
(:class:`_SharedConvStack`): about half the FLOPs per window. When the compiled kernel of
:mod:`phosnet.engines._fused` is loaded and can take the stack, it runs there (and with it the Dense layers
after it, :class:`_Head`); numpy otherwise. :class:`_SharedGraph` is the interpreter's graph
(:class:`phosnet.engines.interpreter._Graph`) with such a stack found and used. Names starting with ``_`` are
private to :mod:`phosnet.engines`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from phosnet.encoding import N_CHANNELS
from phosnet.engines import _fused
from phosnet.engines.interpreter import (
    _BatchNorm,
    _Conv1D,
    _Dense,
    _dense,
    _Graph,
    _MaxPool,
    _OneHot,
    _Shared,
    _Table,
)

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




class _SharedGraph(_Graph):
    """The interpreter's graph with its leading convolution stack (if it has one) run once per sequence position.

    Given windows as :class:`~phosnet.engines.interpreter._Shared` offsets, the stack runs over the code array and
    the rest of the graph reads its output; given a plain window array, it runs as :class:`_Graph` does.
    """

    def __init__(self, model_cfg: dict[str, Any], weights: dict[str, Any]) -> None:
        super().__init__(model_cfg, weights)
        self.shared = _SharedConvStack.match(self.steps, self.inputs, self.kinds)
        self.after_head: list[Any] = []
        if self.shared is not None:
            rest = self.steps[self.shared.n_steps :]
            self.shared.head = _Head.match(rest, self.shared.output_key, self.kinds, self.outputs)
            if self.shared.head is not None:
                self.after_head = [step for step in rest if step[0] not in self.shared.head.skipped]

    def _start(self, inputs: tuple[Any, ...]) -> tuple[dict[tuple[str, int, int], Any], list[Any]]:
        if self.shared is None or len(inputs) != 1 or not isinstance(inputs[0], _Shared):
            return super()._start(inputs)
        stacked = self.shared(inputs[0])  # the conv stack once per position, shared by overlapping windows
        if isinstance(stacked, _HeadValues):  # the kernel ran the Dense layers after the stack too
            return dict(stacked.env()), self.after_head
        if self.shared.output_key in self.outputs:  # leaves the graph: not the kernel's thread buffer
            stacked = np.array(stacked)
        return {self.shared.output_key: stacked}, self.steps[self.shared.n_steps :]
