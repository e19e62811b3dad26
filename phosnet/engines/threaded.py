"""The numpy engine: a saved phosnet network scored without TensorFlow, on worker threads.

:class:`NumpyEngine` runs the model's graph (:mod:`phosnet.engines.interpreter`, with the shared convolution
stacks of :mod:`phosnet.engines.shared_conv`) on chunks of windows, one chunk per worker thread (numpy and the
compiled kernel release the GIL), BLAS single-threaded meanwhile. For calls of at least
:data:`COMPILE_AFTER_WINDOWS` windows the shared stacks run in the compiled kernel of
:mod:`phosnet.engines._fused` (numba; numpy when it does not import). Weights come from
:meth:`phosnet.bundle.PhosnetModel.weights`.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import os
import threading
import weakref
from collections.abc import Generator, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from phosnet.encoding import PAD_INDEX
from phosnet.engines import _fused
from phosnet.engines.base import ScoreCall, UnsupportedModel
from phosnet.engines.interpreter import _dense, _OneHot, _Shared, _takes_shared
from phosnet.engines.shared_conv import _SharedConvStack, _SharedGraph

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
        self.graph = _SharedGraph(config, model.weights())
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

    def score_stream(self, calls: Iterable[ScoreCall[T]], ahead: int = 2
                     ) -> Generator[tuple[T, np.ndarray], None, None]:
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
