"""What an engine is: the :class:`Engine` protocol every engine meets, and what the engines share.

Kept apart from :mod:`phosnet.engines` (which builds and caches engines, and so imports them) so that the
engine modules can import it without an import cycle.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable
from typing import Protocol, TypeVar, runtime_checkable

import numpy as np

T = TypeVar("T")

ScoreCall = tuple[T, np.ndarray, np.ndarray, int]
"""One call of :meth:`Engine.score_stream`: ``(tag, code, starts, width)``, the windows ``code[s : s + width]``
for ``s`` in ``starts`` (``code`` ``int8`` residue codes, proteins padded and concatenated; ``starts`` increasing)."""


class UnsupportedModel(Exception):
    """The numpy engine cannot run this model (an unknown layer or option); use the TensorFlow engine."""


@runtime_checkable
class Engine(Protocol):
    """Scores windows. Every engine has:

    * ``name``: ``"numpy"``, ``"tensorflow"`` or ``"keras"`` (what a scan reports as the engine used);
    * ``shares``: whether :meth:`score_stream` computes the convolutions once per sequence position, shared by
      overlapping windows (informational: the scores are the same either way, to float32 rounding);
    * ``engine(windows)``: ``int8`` windows ``(n, width)`` -> ``float32`` scores ``(n,)``;
    * :meth:`score_stream`: the scores of a stream of calls, in order (how a scan feeds its batches);
    * :meth:`close`: release worker threads (a later call starts new ones).
    """

    name: str

    @property
    def shares(self) -> bool: ...

    def __call__(self, windows: np.ndarray) -> np.ndarray: ...

    def score_stream(self, calls: Iterable[ScoreCall[T]], ahead: int = 2
                     ) -> Generator[tuple[T, np.ndarray], None, None]:
        """``(tag, scores)`` for each ``(tag, code, starts, width)`` of ``calls``, in order; an engine may work up
        to ``ahead`` calls ahead of the caller; closing the generator drops the work not yet collected."""
        ...

    def close(self) -> None: ...


def windows_at(code: np.ndarray, starts: np.ndarray, width: int) -> np.ndarray:
    """The windows ``code[s : s + width]`` for ``s`` in ``starts``, as ``int8 (len(starts), width)``.

    >>> windows_at(np.arange(6, dtype=np.int8), np.array([0, 3]), 3).tolist()
    [[0, 1, 2], [3, 4, 5]]
    """
    return np.ascontiguousarray(code[np.asarray(starts, dtype=np.int64)[:, None] + np.arange(width)], dtype=np.int8)


class WindowEngine:
    """The base of engines that score whole windows only (the TensorFlow engines): :meth:`score_stream` cuts each
    call's windows out of its code array and scores them with ``self(windows)``."""

    name = "window"
    shares = False

    def __call__(self, windows: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def score_stream(self, calls: Iterable[ScoreCall[T]], ahead: int = 2
                     ) -> Generator[tuple[T, np.ndarray], None, None]:
        """``(tag, self(windows))`` for each call, in order (``ahead`` is not used: nothing runs in parallel)."""
        for tag, code, starts, width in calls:
            yield tag, self(windows_at(code, starts, width)) if len(starts) else np.zeros(0, np.float32)

    def close(self) -> None:
        """Nothing to release."""


__all__ = ["Engine", "ScoreCall", "UnsupportedModel", "WindowEngine", "windows_at"]
