"""Prediction engines: what turns ``int8`` index windows into scores.

All engines give the same scores (to 1e-5, tested):

``"numpy"`` (:mod:`phosnet.engines.numpy`, the fast path)
    Runs the saved network with numpy; never imports TensorFlow. Limited to the layers phosnet builds.
``"tensorflow"`` (:mod:`phosnet.engines.keras`, the generic fallback)
    A ``tf.function`` over the Keras model, fed ``int8`` indices and one-hot encoding inside the graph.
``"keras"`` (:mod:`phosnet.engines.keras`)
    Plain ``keras_model.predict`` on one-hot windows; the reference the others are tested against.

``"auto"`` picks ``numpy`` and falls back to ``tensorflow`` for a model it cannot run. Engines are made once
per model and kept by it: :meth:`phosnet.bundle.PhosnetModel.engine`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from phosnet.errors import InputError, PhosnetError

if TYPE_CHECKING:
    from phosnet.bundle import PhosnetModel

logger = logging.getLogger(__name__)

ENGINES = ("auto", "numpy", "tensorflow", "keras")
"""Accepted engine names."""


class UnsupportedModel(Exception):
    """The numpy engine cannot run this model (an unknown layer or option); use the TensorFlow engine."""


@runtime_checkable
class Engine(Protocol):
    """Scores windows: ``engine(windows)`` with ``windows`` ``int8`` of shape ``(n, width)`` -> ``float32 (n,)``.

    An engine that shares work between overlapping windows also has ``shares = True`` and
    ``score_positions(code, starts, width)``: the scores of the windows ``code[s : s + width]``.
    """

    name: str

    def __call__(self, windows: np.ndarray) -> np.ndarray: ...


ENGINE_TOLERANCE = 1e-5
"""The engines' scores agree with Keras' own forward pass to this absolute difference (``tests/test_scan.py``)."""

ENGINE_HELP = (
    "Prediction engine; auto = numpy when the model allows. The engines' scores are not bit-identical: they "
    f"agree with Keras' own to within {ENGINE_TOLERANCE:g} (tested), so a call can differ only for a score "
    f"within {ENGINE_TOLERANCE:g} of the threshold."
)
"""The ``--engine`` help text of every verb (states the tolerance instead of claiming equal scores)."""


def build_engine(model: PhosnetModel, engine: str = "auto") -> Engine:
    """A new engine ``engine`` for ``model`` (prefer :func:`make_engine`, which reuses the model's)."""
    if engine not in ENGINES:
        raise ValueError(f"engine must be 'auto', 'numpy', 'tensorflow' or 'keras', not {engine!r}")
    if engine in {"auto", "numpy"}:
        from phosnet.engines.numpy import NumpyEngine

        try:
            return NumpyEngine(model)
        except (IndexError, KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, PhosnetError):
                raise
            # weights missing or of the wrong shape for the layers the config names: a damaged archive
            where = model.path or model.name
            raise InputError(f"{where}: the model's weights do not fit its config ({type(exc).__name__}: {exc}); "
                             "the file is damaged or not a phosnet model") from exc
        except UnsupportedModel as exc:
            if engine == "numpy":
                raise PhosnetError(f"model {model.name}: the numpy engine cannot run it ({exc})") from None
            from phosnet._tf import require_tensorflow

            require_tensorflow(f"model {model.name} (the numpy engine cannot run it: {exc})")
            logger.info("model %s: %s not supported by the numpy engine; using TensorFlow", model.name, exc)
    from phosnet.engines.keras import KerasEngine, TensorFlowEngine

    return KerasEngine(model) if engine == "keras" else TensorFlowEngine(model)


def prepare_compiled(engine: str = "auto") -> None:
    """Start loading the numpy engine's compiled kernel in the background (for a caller that knows a large input is
    coming; the first large call waits for it anyway, so scores do not depend on timing)."""
    if engine in {"auto", "numpy"}:
        from phosnet.engines import _fused

        _fused.load_in_background()


def finish_compiled() -> None:
    """Wait for a kernel load started by :func:`prepare_compiled` (at the end of a completed run, so the compiled
    code gets cached; an interrupted run does not wait)."""
    from phosnet.engines import _fused

    _fused.finish_loading()


def make_engine(model: PhosnetModel, engine: str = "auto") -> Engine:
    """The prediction engine for ``model``: ``"auto"``, ``"numpy"``, ``"tensorflow"`` or ``"keras"`` (made once)."""
    return model.engine(engine)


__all__ = [
    "ENGINES", "ENGINE_HELP", "ENGINE_TOLERANCE", "Engine", "UnsupportedModel", "build_engine", "make_engine",
    "finish_compiled", "prepare_compiled",
]
