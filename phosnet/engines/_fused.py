"""Compiled (numba) kernel of the shared convolution stack: ``Conv1D -> elementwise -> MaxPool -> Conv1D``.

What :class:`phosnet.scan._SharedConvStack` computes in separate numpy passes (pool lookups, the per-position
product, shifted-row sums, gathers, edge cells, the activation), fused into one call per chunk of windows that
holds no Python object and releases the GIL, so two engine threads use both cores:

1. ``Pool[a] = max_u T[idx(a + u)]`` for the sequence positions some window needs (``T`` is the first
   convolution's combined lookup table with its elementwise layers folded in, ``idx`` the table row of the
   ``k1`` residues around ``a``);
2. ``Y = Pool @ [W_0 .. W_{k2-1}]`` (one BLAS product per block of positions, small enough to stay in cache);
3. per window and output cell: ``bias + sum_t Y_t[s + P j]`` over the taps on interior cells, plus the
   products of the window's edge cells (cells whose first convolution sees the window's zero padding), read
   from a table precomputed over every residue combination they depend on; then the activation;
4. optionally the head: the Dense layers reading the flattened outputs (BatchNorm folded in, kernels side by
   side), one BLAS product per ring of :data:`BLOCK_ROWS` windows, so the ``n2 * F2`` outputs never take memory
   per window of the chunk and no Python runs between the stack and those layers.

Numba is optional: :func:`available` says whether it imports; the numpy stack is the fallback. Compiled code
is cached on disk (``cache=True``); :func:`_configure_cache` points numba at a user cache directory when the
package directory is not writable.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

ALPHABET_SIZE = 21
"""Residue codes in windows (``ACDEFGHIKLMNPQRSTVWY`` and ``X``)."""

BLOCK_ROWS = 512
"""At most this many sequence positions per product block (the block's ``Y`` stays in the core's L2 cache)."""

MAX_EDGE_TABLE_BYTES = 64 << 20
"""Edge-cell product tables larger than this are not precomputed (the numpy stack is used instead)."""


def _configure_cache() -> None:
    """Let numba cache compiled code in a writable place: beside this file if possible, else the user cache."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return
    here = Path(__file__).resolve().parent
    pycache = here / "__pycache__"
    try:
        pycache.mkdir(exist_ok=True)
        writable = os.access(pycache, os.W_OK)
    except OSError:
        writable = False
    if writable:
        return
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    if sys.platform == "darwin":
        base = os.path.join(os.path.expanduser("~"), "Library", "Caches")
    os.environ["NUMBA_CACHE_DIR"] = os.path.join(base, "phosnet", "numba")


_KERNEL: dict[str, Any] = {}
_WORKSPACES = threading.local()
_LOCK = threading.Lock()


def kernel() -> Any:
    """The compiled stack function, or ``None`` when numba is not importable (loaded on first use, then warm)."""
    with _LOCK:
        if "fn" not in _KERNEL:
            try:
                _configure_cache()
                # the BLAS numba's np.dot calls, loaded now, so a thread-pool controller made afterwards limits it too
                import scipy.linalg.cython_blas  # type: ignore[import-untyped]  # noqa: F401

                fn = _compile()
                _warm(fn)
            except Exception as exc:  # noqa: BLE001 - numba missing or broken: the numpy path serves
                logger.info("compiled scan kernel unavailable (%s); using numpy", exc)
                fn = None
            _KERNEL["fn"] = fn
        return _KERNEL["fn"]


def available() -> bool:
    """Whether the compiled kernel can be used (loads it, waiting if need be)."""
    return kernel() is not None


def ready() -> bool:
    """Whether the kernel is loaded (never waits, never loads)."""
    return _KERNEL.get("fn") is not None


def load_in_background() -> None:
    """Start loading the kernel in a thread (numba's import and the cached machine code take about a second).

    The thread is a daemon, so an interrupted run never waits for it at exit (a thread caught in an import when
    Ctrl-C came could hang the shutdown); a run that completes calls :func:`finish_loading`, so a first,
    compiling run still writes the cache.
    """
    if "fn" in _KERNEL or "thread" in _KERNEL:
        return
    _KERNEL["thread"] = threading.Thread(target=kernel, name="phosnet-kernel-loader", daemon=True)
    _KERNEL["thread"].start()


def finish_loading() -> None:
    """Wait for a background load started by :func:`load_in_background` (no-op when none was started)."""
    thread = _KERNEL.get("thread")
    if thread is not None:
        thread.join()


def _warm(fn: Any) -> None:
    """Call the kernel once on a tiny input, so its machine code is loaded (or compiled and cached) now."""
    stack = FusedStack(np.zeros((22**3, 2), np.float32), 22, 3, True, 2, np.zeros((5, 2, 2), np.float32),
                       np.zeros(2, np.float32), True, 31, True)
    stack(np.zeros(33, np.int8), np.array([0, 2]), fn=fn)


def _compile() -> Any:
    from numba import njit

    @njit(cache=True, nogil=True, fastmath=False)
    def stack(
        code: np.ndarray,  # (m,) int8 residue codes
        starts: np.ndarray,  # (n,) int64, increasing: window i is code[starts[i] : starts[i] + width]
        width: int,
        table: np.ndarray,  # (base ** k1, F1) float32: first convolution + elementwise layers, per combined index
        base: int,
        k1: int,
        o1: int,
        pool_size: int,
        w2cat: np.ndarray,  # (F1, k2 * F2) float32: the second convolution's taps side by side
        bias2: np.ndarray,  # (F2,)
        tap_cell: np.ndarray,  # (n2, k2) int64: interior cell of output p's tap t, or -1
        cells: np.ndarray,  # interior cells used by some output
        edge_lo: np.ndarray,  # (E,) first window position an edge cell depends on
        edge_len: np.ndarray,  # (E,) how many positions
        edge_row: np.ndarray,  # (E,) first row of its block in edge_table
        edge_uses: np.ndarray,  # (E,) how many (output, tap) pairs use it
        edge_out: np.ndarray,  # (E, U) output cell of each use
        edge_table: np.ndarray,  # (rows, U * F2) float32: products cell @ W_t for each residue combination
        relu: bool,
        block_rows: int,
        row_of: np.ndarray,  # (cap,) int64 workspace
        pool: np.ndarray,  # (cap, F1) float32 workspace
        y: np.ndarray,  # (cap, k2 * F2) float32 workspace
        out: np.ndarray,  # (n, n2, F2) float32; with a head, a ring of (>= block_rows, n2, F2) windows
        head_w: np.ndarray,  # (n2 * F2, H) float32: the Dense layers after Flatten, side by side (or (1, 1))
        head_out: np.ndarray,  # (n, H) float32: the flattened outputs times head_w (with a head)
        use_head: bool,
    ) -> None:
        n = starts.shape[0]
        f1 = table.shape[1]
        n2 = tap_cell.shape[0]
        k2 = tap_cell.shape[1]
        f2 = bias2.shape[0]
        last = cells[cells.shape[0] - 1] * pool_size if cells.shape[0] else 0
        acc = np.empty(f2, dtype=np.float32)
        filled = 0  # windows in the ring not yet multiplied by the head (use_head)
        done = 0  # windows whose head outputs are written
        w0 = 0
        while w0 < n:
            lo = starts[w0]
            # windows w0..w1 whose needed positions fit in one block
            w1 = w0
            while w1 < n and starts[w1] + last - lo < block_rows:
                w1 += 1
            if w1 == w0:
                w1 = w0 + 1
            span = starts[w1 - 1] + last + 1 - lo
            for a in range(span):
                row_of[a] = -1
            rows = 0
            for i in range(w0, w1):
                s = starts[i] - lo
                for c in range(cells.shape[0]):
                    a = s + pool_size * cells[c]
                    if row_of[a] < 0:
                        row_of[a] = rows
                        rows += 1
            # pooled first convolution at the needed positions
            for a in range(span):
                r = row_of[a]
                if r < 0:
                    continue
                for u in range(pool_size):
                    at = lo + a + u - o1
                    idx = 0
                    for t in range(k1):
                        idx = idx * base + code[at + t]
                    if u == 0:
                        for f in range(f1):
                            pool[r, f] = table[idx, f]
                    else:
                        for f in range(f1):
                            v = table[idx, f]
                            if v > pool[r, f]:
                                pool[r, f] = v
            if rows:
                np.dot(pool[:rows], w2cat, y[:rows])
            # every window's second-convolution outputs (with a head: into the ring, multiplied when it is full)
            if use_head and filled + (w1 - w0) > out.shape[0]:
                np.dot(out[:filled].reshape((filled, n2 * f2)), head_w, head_out[done : done + filled])
                done += filled
                filled = 0
            for i in range(w0, w1):
                o = filled + i - w0 if use_head else i
                s = starts[i] - lo
                for p in range(n2):
                    for f in range(f2):
                        acc[f] = bias2[f]
                    for t in range(k2):
                        j = tap_cell[p, t]
                        if j >= 0:
                            r = row_of[s + pool_size * j]
                            col = t * f2
                            for f in range(f2):
                                acc[f] += y[r, col + f]
                    for f in range(f2):
                        out[o, p, f] = acc[f]
                for e in range(edge_lo.shape[0]):
                    idx = 0
                    at = starts[i] + edge_lo[e]
                    for q in range(edge_len[e]):
                        idx = idx * ALPHABET_SIZE + code[at + q]
                    row = edge_row[e] + idx
                    for u in range(edge_uses[e]):
                        p = edge_out[e, u]
                        col = u * f2
                        for f in range(f2):
                            out[o, p, f] += edge_table[row, col + f]
                if relu:
                    for p in range(n2):
                        for f in range(f2):
                            if out[o, p, f] < 0:
                                out[o, p, f] = 0
            if use_head:
                filled += w1 - w0
            w0 = w1
        if use_head and filled:
            np.dot(out[:filled].reshape((filled, n2 * f2)), head_w, head_out[done : done + filled])

    return stack


class FusedStack:
    """The arrays the kernel needs for one shared convolution stack, built from its layers' weights.

    ``table`` is the first convolution's combined lookup table (``base ** k1`` rows, elementwise layers folded
    in, row ``base - 1`` of each tap the zero padding); ``kernel2`` ``(k2, F1, F2)`` and ``bias2`` the second
    convolution; ``same1``/``same2`` their paddings; ``relu`` whether the second one's activation is ReLU (any
    other activation is left to the caller).
    """

    def __init__(self, table: np.ndarray, base: int, k1: int, same1: bool, pool_size: int, kernel2: np.ndarray,
                 bias2: np.ndarray, same2: bool, width: int, relu: bool,
                 head: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        if table.shape[0] != base**k1:
            raise ValueError("table rows != base ** k1")
        self.table = np.ascontiguousarray(table, dtype=np.float32)
        self.base, self.k1, self.pool_size, self.width, self.relu = base, k1, pool_size, width, relu
        k2, f1, f2 = kernel2.shape
        self.o1 = (k1 - 1) // 2 if same1 else 0
        r1 = k1 - 1 - self.o1 if same1 else 0
        w1 = width if same1 else width - k1 + 1
        n1 = w1 // pool_size
        o2 = (k2 - 1) // 2 if same2 else 0
        n2 = n1 if same2 else n1 - k2 + 1
        if n1 < 1 or n2 < 1:
            raise ValueError("window too short for the convolutions")
        self.n2, self.f2 = n2, f2
        self.w2cat = np.ascontiguousarray(kernel2.transpose(1, 0, 2).reshape(f1, k2 * f2), dtype=np.float32)
        self.bias2 = np.ascontiguousarray(bias2, dtype=np.float32)

        def is_edge(j: int) -> bool:
            return same1 and (j * pool_size < self.o1 or j * pool_size + pool_size - 1 > width - 1 - r1)

        tap_cell = np.full((n2, k2), -1, dtype=np.int64)
        uses: dict[int, list[tuple[int, int]]] = {}
        for p in range(n2):
            for t in range(k2):
                j = p - o2 + t
                if 0 <= j < n1:
                    if is_edge(j):
                        uses.setdefault(j, []).append((p, t))
                    else:
                        tap_cell[p, t] = j
        self.tap_cell = tap_cell
        self.cells = np.array(sorted({int(j) for j in tap_cell.ravel() if j >= 0}), dtype=np.int64)
        edges = sorted(uses)
        max_uses = max((len(uses[j]) for j in edges), default=1)
        lo, length, first_row, counts = [], [], [], []
        blocks = []
        row = 0
        for j in edges:
            dep_lo = max(0, j * pool_size - self.o1)
            dep_hi = min(width, j * pool_size + pool_size - 1 - self.o1 + k1)  # exclusive
            n_rows = ALPHABET_SIZE ** (dep_hi - dep_lo)
            if n_rows * max_uses * f2 * 4 > MAX_EDGE_TABLE_BYTES:
                raise ValueError(f"edge cell {j} depends on {dep_hi - dep_lo} residues: table too large")
            cell = self._edge_cells(j, dep_lo, dep_hi)  # (n_rows, F1)
            product = np.zeros((n_rows, max_uses * f2), dtype=np.float32)
            for u, (_, t) in enumerate(uses[j]):
                product[:, u * f2 : (u + 1) * f2] = cell @ kernel2[t].astype(np.float32)
            blocks.append(product)
            lo.append(dep_lo)
            length.append(dep_hi - dep_lo)
            first_row.append(row)
            counts.append(len(uses[j]))
            row += n_rows
        self.edge_lo = np.array(lo, dtype=np.int64)
        self.edge_len = np.array(length, dtype=np.int64)
        self.edge_row = np.array(first_row, dtype=np.int64)
        self.edge_uses = np.array(counts, dtype=np.int64)
        self.edge_out = np.zeros((len(edges), max_uses), dtype=np.int64)
        for e, j in enumerate(edges):
            for u, (p, _) in enumerate(uses[j]):
                self.edge_out[e, u] = p
        self.edge_table = np.ascontiguousarray(np.concatenate(blocks) if blocks else np.zeros((1, f2), np.float32))
        last = int(self.cells[-1]) * pool_size if len(self.cells) else 0
        self._block = BLOCK_ROWS
        self._cap = max(self._block, last + 1) + 1
        self.head = None
        if head is not None:
            if not relu or head[0].shape[0] != n2 * f2:
                raise ValueError("a head needs the ReLU in the kernel and n2 * F2 inputs")
            self.head = (np.ascontiguousarray(head[0], dtype=np.float32), np.ascontiguousarray(head[1], np.float32))

    def _workspace(self, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """This thread's buffers, shared by every stack of its shape (an ensemble's members run one after another)
        and kept between calls: no fresh pages per chunk, memory flat. With a head the outputs of the second
        convolution go to a ring of :data:`BLOCK_ROWS` windows (a block never holds more), and only the head's
        outputs take a row per window."""
        f1, cols = self.table.shape[1], self.w2cat.shape[1]
        units = self.head[0].shape[1] if self.head is not None else 0
        buffers = _WORKSPACES.__dict__.setdefault("by_shape", {})
        key = (self._cap, f1, cols, self.n2, self.f2, units)
        found = buffers.get(key)
        rows = max(n, self._block)
        if found is None or (units and len(found[4]) < n) or (not units and len(found[3]) < n):
            found = buffers[key] = (np.full(self._cap, -1, dtype=np.int64), np.empty((self._cap, f1), np.float32),
                                    np.empty((self._cap, cols), np.float32),
                                    np.empty((self._block if units else rows, self.n2, self.f2), np.float32),
                                    np.empty((rows if units else 1, max(units, 1)), np.float32))
        return found

    def _edge_cells(self, j: int, dep_lo: int, dep_hi: int) -> np.ndarray:
        """Pooled cell ``j`` of a window for every combination of the residues at ``dep_lo:dep_hi`` (zero padding
        outside the window), rows in the kernel's order (first residue most significant)."""
        length = dep_hi - dep_lo
        combos = np.indices((ALPHABET_SIZE,) * length).reshape(length, -1).T  # (21 ** length, length)
        pad = self.base - 1
        cell = None
        for u in range(self.pool_size):
            q = j * self.pool_size + u  # first-convolution output position in the window
            idx = np.zeros(len(combos), dtype=np.int64)
            for t in range(self.k1):
                pos = q - self.o1 + t
                column = combos[:, pos - dep_lo] if 0 <= pos < self.width else np.full(len(combos), pad)
                idx = idx * self.base + column
            value = self.table[idx]
            cell = value if cell is None else np.maximum(cell, value)
        assert cell is not None
        return cell

    def __call__(self, code: np.ndarray, starts: np.ndarray, fn: Any = None) -> np.ndarray:
        """Outputs of the second convolution, ``(n, n2, F2)`` float32, for windows ``code[s : s + width]``; with a
        head, the head's outputs ``(n, H)`` (flattened outputs times its kernel, plus its bias) instead.

        The result is a view of this thread's buffer: valid until the thread's next call of a stack of the same
        shape (copy it to keep it longer).
        """
        fn = fn or kernel()
        if fn is None:
            raise RuntimeError("numba is not available")
        n = len(starts)
        row_of, pool, y, buffer, head_buffer = self._workspace(n)
        head_w = self.head[0] if self.head is not None else _NO_HEAD
        if n:
            fn(np.ascontiguousarray(code, dtype=np.int8), np.ascontiguousarray(starts, dtype=np.int64), self.width,
               self.table, self.base, self.k1, self.o1, self.pool_size, self.w2cat, self.bias2, self.tap_cell,
               self.cells, self.edge_lo, self.edge_len, self.edge_row, self.edge_uses, self.edge_out,
               self.edge_table, self.relu, self._block, row_of, pool, y, buffer, head_w, head_buffer,
               self.head is not None)
        if self.head is None:
            return buffer[:n]
        out = head_buffer[:n]
        out += self.head[1]
        return out


_NO_HEAD = np.zeros((1, 1), np.float32)
