"""Import TensorFlow/Keras lazily and quietly, and say which extra to install when they are missing.

TensorFlow is an optional dependency (``pip install "phosnet[train]"``): scanning, explaining and evaluating
a saved model run on the numpy engine without it. :func:`require_tensorflow` is the check a verb that needs it
makes before any work; :func:`tensorflow` raises the same one-line :class:`~phosnet.errors.PhosnetError`.

TensorFlow writes start-up chatter (oneDNN, CUDA/cuDNN factory, CPU feature notices) straight to file
descriptor 2, which ``TF_CPP_MIN_LOG_LEVEL`` does not fully silence. While TensorFlow is imported and its
first op runs, fd 2 is pointed at a temporary file; the captured text is logged at DEBUG level (shown with
``phosnet -vv``). Set ``PHOSNET_TF_CHATTER=1`` to let it through.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
from collections.abc import Iterator
from importlib.util import find_spec
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy as np

from phosnet.errors import PhosnetError

logger = logging.getLogger(__name__)
_loaded: ModuleType | None = None

TRAIN_EXTRA = 'pip install "phosnet[train]"'
"""How to install what training needs."""


class KerasModel(Protocol):
    """What phosnet uses of a ``keras.Model``, as a type (Keras ships no type stubs): the seams between phosnet's
    code and Keras' say ``KerasModel``, not ``Any``. Further Keras methods (``fit``, ``compile``, ...) are typed
    ``Any`` through ``__getattr__``."""

    name: str

    @property
    def inputs(self) -> Sequence[Any]: ...

    @property
    def layers(self) -> Sequence[Any]: ...

    def get_config(self) -> dict[str, Any]: ...

    def get_weights(self) -> list[np.ndarray]: ...

    def save(self, filepath: str | os.PathLike[str]) -> None: ...

    def predict(self, x: Any, *args: Any, **kwargs: Any) -> Any: ...

    def __call__(self, x: Any, *args: Any, **kwargs: Any) -> Any: ...

    def __getattr__(self, name: str) -> Any: ...



def missing_tensorflow(what: str) -> PhosnetError:
    """The one-line error for ``what`` (a verb or option) when TensorFlow is not installed."""
    return PhosnetError(f"{what} needs TensorFlow: {TRAIN_EXTRA}")


def tensorflow_installed() -> bool:
    """Whether TensorFlow and Keras can be imported (checked without importing them)."""
    try:
        return find_spec("tensorflow") is not None and find_spec("keras") is not None
    except (ImportError, ValueError):
        return False


def require_tensorflow(what: str) -> None:
    """Raise :func:`missing_tensorflow` unless TensorFlow is installed (cheap: nothing is imported)."""
    if not tensorflow_installed():
        raise missing_tensorflow(what)


@contextlib.contextmanager
def _captured_stderr_fd() -> Iterator[list[str]]:
    """Redirect OS-level stderr (fd 2) into a temporary file; yields a list that receives the text."""
    captured: list[str] = []
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no usable fd 2 (embedded interpreters, some notebooks)
        yield captured
        return
    with tempfile.TemporaryFile(mode="w+b") as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield captured
        finally:
            with contextlib.suppress(ValueError, OSError):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            captured.append(sink.read().decode("utf-8", "replace"))


def _import_tensorflow() -> ModuleType:
    try:
        import tensorflow as tf
    except ImportError:
        raise missing_tensorflow("training, the image task and the Keras engines") from None
    return tf


def tensorflow() -> ModuleType:
    """Return the ``tensorflow`` module, importing it (silenced) on first use."""
    global _loaded
    if _loaded is not None:
        return _loaded
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if os.environ.get("PHOSNET_TF_CHATTER"):
        _loaded = _import_tensorflow()
        return _loaded
    with _captured_stderr_fd() as captured:
        tf = _import_tensorflow()

        tf.get_logger().setLevel(logging.ERROR)
        with contextlib.suppress(Exception):
            import absl.logging

            absl.logging.set_verbosity(absl.logging.ERROR)
        tf.constant(0.0) + 1.0  # creates the CPU device, which prints its own notices
    text = "".join(captured).strip()
    if text:
        logger.debug("TensorFlow start-up output:\n%s", text)
    _loaded = tf
    return tf


def keras() -> ModuleType:
    """Return the ``keras`` module (Keras 3, TensorFlow backend), importing TensorFlow quietly first."""
    tensorflow()
    import keras as keras_module

    return keras_module
