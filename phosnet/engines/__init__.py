"""Prediction engines: what turns ``int8`` index windows into scores.

All engines give the same scores (to 1e-5, tested):

``"numpy"`` (:mod:`phosnet.engines.threaded`, the fast path)
    Runs the saved network with numpy (:mod:`~phosnet.engines.interpreter`, the shared convolution stacks of
    :mod:`~phosnet.engines.shared_conv`, the compiled kernel :mod:`~phosnet.engines._fused`) on worker threads;
    never imports TensorFlow. Limited to the layers phosnet builds.
``"tensorflow"`` (:mod:`phosnet.engines.keras`, the generic fallback)
    A ``tf.function`` over the Keras model, fed ``int8`` indices and one-hot encoding inside the graph.
``"keras"`` (:mod:`phosnet.engines.keras`)
    Plain ``keras_model.predict`` on one-hot windows; the reference the others are tested against.

``"auto"`` picks ``numpy`` and falls back to ``tensorflow`` for a model it cannot run. Engines are made once
per model and engine name and cached here (:func:`make_engine`; the cache holds the models weakly, so an engine
goes when its model does). What an engine must do is :class:`~phosnet.engines.base.Engine`.
"""

from __future__ import annotations

import logging
import threading
import weakref
from typing import TYPE_CHECKING

import numpy as np

from phosnet.bundle import PhosnetModel
from phosnet.engines import _fused
from phosnet.engines.base import Engine, UnsupportedModel
from phosnet.errors import InputError, PhosnetError

if TYPE_CHECKING:
    from phosnet.bundle import KerasModel

logger = logging.getLogger(__name__)

ENGINES = ("auto", "numpy", "tensorflow", "keras")
"""Accepted engine names."""

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
        # lazy (start-up): the CLI imports this package for ENGINES; the engine's modules load when one is built
        from phosnet.engines.threaded import NumpyEngine

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
            logger.warning("model %s: the numpy engine cannot run it (%s); scoring with TensorFlow (phosnet[train])",
                           model.name, exc)
    # lazy (start-up): the TensorFlow engines only when one is asked for (they import TensorFlow when made)
    from phosnet.engines.keras import KerasEngine, TensorFlowEngine

    return KerasEngine(model) if engine == "keras" else TensorFlowEngine(model)


_CACHE: weakref.WeakKeyDictionary[PhosnetModel, dict[str, Engine]] = weakref.WeakKeyDictionary()
"""The engines made so far, per model and engine name (engines hold no reference to their model)."""
_CACHE_LOCK = threading.Lock()


def make_engine(model: PhosnetModel, engine: str = "auto") -> Engine:
    """The prediction engine for ``model``: ``"auto"``, ``"numpy"``, ``"tensorflow"`` or ``"keras"`` (made once
    per model and kept until the model is collected or :func:`close_engines`)."""
    with _CACHE_LOCK:
        made = _CACHE.setdefault(model, {})
        if engine not in made:
            made[engine] = build_engine(model, engine)
        return made[engine]


def close_engines(model: PhosnetModel) -> None:
    """Shut down the worker threads of ``model``'s engines and forget them (they also go with the model)."""
    with _CACHE_LOCK:
        made = _CACHE.pop(model, {})
    for engine in made.values():
        engine.close()


def predict_windows(
    model: PhosnetModel | KerasModel, index: np.ndarray, encoding: str = "onehot", batch_size: int = 4096,
    engine: str = "auto",
) -> np.ndarray:
    """Scores of a model for ``int8`` index windows, through a prediction engine.

    ``model`` is a :class:`~phosnet.bundle.PhosnetModel` (its own encoding; a saved model is scored by the
    numpy engine without TensorFlow) or a ``keras.Model`` with input ``encoding``. ``batch_size`` is the Keras
    engine's batch.
    """
    loaded = model if isinstance(model, PhosnetModel) else PhosnetModel(model, {"input_encoding": encoding})
    if engine == "keras":
        from phosnet.engines.keras import KerasEngine  # lazy (start-up): as in build_engine

        return KerasEngine(loaded, batch_size=batch_size)(index)
    return make_engine(loaded, engine)(index)


def prepare_compiled(engine: str = "auto") -> None:
    """Start loading the numpy engine's compiled kernel in the background (for a caller that knows a large input is
    coming; the first large call waits for it anyway, so scores do not depend on timing)."""
    if engine in {"auto", "numpy"}:
        _fused.load_in_background()


def finish_compiled() -> None:
    """Wait for a kernel load started by :func:`prepare_compiled` (at the end of a completed run, so the compiled
    code gets cached; an interrupted run does not wait)."""
    _fused.finish_loading()


__all__ = [
    "ENGINES", "ENGINE_HELP", "ENGINE_TOLERANCE", "Engine", "UnsupportedModel", "build_engine", "close_engines",
    "finish_compiled", "make_engine", "predict_windows", "prepare_compiled",
]
