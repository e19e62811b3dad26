"""The bundled pretrained model(s) and their metadata; :func:`load_model` and :class:`PhosnetModel`.

A model is a Keras ``.keras`` file plus a JSON metadata file (see ``docs/DESIGN.md``: window, flank,
residues, alphabet, input encoding, thresholds at fixed specificities, provenance). Loading is lazy: the
metadata is read at once, the Keras model (and so TensorFlow) only when :attr:`PhosnetModel.keras_model` is
first used. The scan's numpy engine reads the weights straight from the ``.keras`` archive and never needs
TensorFlow.
"""

from __future__ import annotations

import json
import logging
import math
import os
import warnings
import zipfile
from functools import cached_property
from pathlib import Path
from typing import Any

from phosnet.encoding import ALPHABET
from phosnet.errors import InputError, PhosnetError

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "akt-default"
"""Name of the bundled default model (``phosnet/pretrained/akt-default.keras`` + ``.json``)."""

PRETRAINED_DIR = Path(__file__).resolve().parent
"""Where bundled models live."""

DEFAULT_THRESHOLD = 0.5
"""Score threshold used when a model carries no thresholds of its own."""


def available_models() -> list[str]:
    """Names of the bundled models (``<name>.keras`` files in :data:`PRETRAINED_DIR`)."""
    return sorted(p.stem for p in PRETRAINED_DIR.glob("*.keras"))


class PhosnetModel:
    """A Keras model with the metadata the scan needs (window, residues, thresholds).

    Parameters
    ----------
    keras_model
        An already built ``keras.Model``, or ``None`` to load it lazily from ``path``.
    metadata
        The metadata dict (see ``docs/DESIGN.md``); missing keys are derived from the model's input shape.
    path
        The ``.keras`` file, if the model came from one.
    """

    def __init__(
        self, keras_model: Any = None, metadata: dict[str, Any] | None = None, *, path: str | os.PathLike | None = None
    ) -> None:
        if keras_model is None and path is None:
            raise ValueError("give a keras_model or a path")
        self._keras_model = keras_model
        self.path = Path(path) if path is not None else None
        meta = dict(metadata or {})
        shape = self._input_shape()
        if "window" not in meta:
            meta["window"] = shape[0]
        elif shape and shape[0] is not None and int(shape[0]) != int(meta["window"]):
            name = meta.get("name", path)
            raise InputError(f"model {name}: metadata window {meta['window']} != model input width {shape[0]}")
        if "input_encoding" not in meta:
            meta["input_encoding"] = "index" if len(shape) == 1 else "onehot"
        meta.setdefault("flank", (int(meta["window"]) - 1) // 2)
        meta.setdefault("residues", "ST")
        meta.setdefault("alphabet", ALPHABET)
        meta.setdefault("thresholds", {})
        if "name" not in meta:
            meta["name"] = self.path.stem if self.path is not None else getattr(keras_model, "name", "model")
        if meta["alphabet"] != ALPHABET:
            raise InputError(f"model {meta['name']}: alphabet {meta['alphabet']!r} is not phosnet's {ALPHABET!r}")
        if int(meta["window"]) != 2 * int(meta["flank"]) + 1:
            raise InputError(f"model {meta['name']}: window {meta['window']} != 2 * flank {meta['flank']} + 1")
        if meta["input_encoding"] not in {"onehot", "index"}:
            raise InputError(f"model {meta['name']}: unknown input_encoding {meta['input_encoding']!r}")
        self.metadata = meta

    # -- metadata ---------------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        """The model's name (written in the ``model`` output column)."""
        return str(self.metadata["name"])

    @property
    def window(self) -> int:
        """Residues per window (``2 * flank + 1``)."""
        return int(self.metadata["window"])

    @property
    def flank(self) -> int:
        """Residues on each side of the centre."""
        return int(self.metadata["flank"])

    @property
    def residues(self) -> str:
        """Candidate residues the model was trained on (e.g. ``"ST"``)."""
        return str(self.metadata["residues"])

    @property
    def input_encoding(self) -> str:
        """``"onehot"`` (input ``(window, 21)``) or ``"index"`` (input ``(window,)`` integers)."""
        return str(self.metadata["input_encoding"])

    @property
    def thresholds(self) -> dict[float, float]:
        """Score thresholds keyed by the specificity they reach on the validation split."""
        return {float(k): float(v) for k, v in (self.metadata.get("thresholds") or {}).items()}

    def threshold(self, specificity: float | None = None) -> float:
        """The score threshold for ``specificity`` (default: the model's ``default_specificity``).

        Falls back to 0.5 (with a warning) when the model carries no thresholds and no specificity is asked.
        """
        thresholds = self.thresholds
        if specificity is None:
            specificity = self.metadata.get("default_specificity")
            if specificity is None or not thresholds:
                logger.warning("model %s has no stored thresholds; using score >= %s", self.name, DEFAULT_THRESHOLD)
                return DEFAULT_THRESHOLD
        for key, value in thresholds.items():
            if math.isclose(key, float(specificity), abs_tol=1e-9):
                return value
        known = ", ".join(f"{k:g}" for k in sorted(thresholds)) or "none"
        raise InputError(f"model {self.name} has no threshold for specificity {specificity:g} (stored: {known})")

    def __repr__(self) -> str:
        where = f", path={str(self.path)!r}" if self.path else ""
        return f"PhosnetModel(name={self.name!r}, window={self.window}, residues={self.residues!r}{where})"

    # -- the Keras model --------------------------------------------------------------------------------
    @cached_property
    def config(self) -> dict[str, Any]:
        """The model's Keras config (from the archive's ``config.json``, without importing TensorFlow)."""
        if self._keras_model is not None:
            return {"class_name": type(self._keras_model).__name__, "config": self._keras_model.get_config()}
        assert self.path is not None
        with zipfile.ZipFile(self.path) as archive:
            return json.loads(archive.read("config.json"))

    def _input_shape(self) -> tuple[int, ...]:
        if self._keras_model is not None:
            return tuple(self._keras_model.inputs[0].shape[1:])
        for layer in self.config.get("config", {}).get("layers", []):
            if layer.get("class_name") == "InputLayer":
                shape = layer["config"].get("batch_shape") or layer["config"].get("batch_input_shape")
                return tuple(shape[1:])
        raise InputError(f"{self.path}: cannot find the model's input layer")

    @property
    def keras_model(self) -> Any:
        """The ``keras.Model`` (loaded from :attr:`path` on first use; this imports TensorFlow)."""
        if self._keras_model is None:
            from phosnet._tf import keras

            assert self.path is not None
            try:
                with warnings.catch_warnings():  # Keras notes on skipped optimizer state of nested models
                    warnings.simplefilter("ignore", UserWarning)
                    self._keras_model = keras().saving.load_model(self.path, compile=False)
            except Exception as exc:  # Keras raises many kinds for a bad archive
                raise InputError(f"{self.path}: cannot load the Keras model ({type(exc).__name__}: {exc})") from None
        return self._keras_model

    @property
    def is_loaded(self) -> bool:
        """Whether the Keras model is in memory (TensorFlow imported)."""
        return self._keras_model is not None


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read model metadata ({exc})") from None


def _check_archive(path: Path) -> None:
    """Fail early (before TensorFlow is imported) on a file that is not a ``.keras`` archive."""
    if not zipfile.is_zipfile(path):
        raise InputError(f"{path}: not a .keras model archive")
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
    if not {"config.json", "model.weights.h5"} <= names:
        raise InputError(f"{path}: not a .keras model archive (config.json or model.weights.h5 missing)")


def _from_file(path: Path) -> PhosnetModel:
    _check_archive(path)
    metadata: dict[str, Any] = {}
    for candidate in (path.with_suffix(".json"), path.parent / "metadata.json"):
        if candidate.is_file():
            metadata = _read_json(candidate)
            break
    else:
        logger.info("no metadata beside %s; deriving window and encoding from the model", path)
    metadata.setdefault("name", path.stem if path.stem != "model" else path.parent.name or path.stem)
    return PhosnetModel(metadata=metadata, path=path)


def load_model(model: str | os.PathLike | PhosnetModel | Any = None) -> PhosnetModel:
    """Load a phosnet model: the bundled default, a bundled name, a ``.keras`` path or a training run folder.

    Parameters
    ----------
    model
        ``None`` (the bundled ``akt-default``), a bundled model's name, a ``.keras`` file (metadata from the
        ``.json`` beside it or ``metadata.json`` in its folder), a run folder holding ``model.keras``, a
        :class:`PhosnetModel` (returned as is) or a ``keras.Model`` (wrapped, metadata derived).

    Returns
    -------
    PhosnetModel
        Metadata read now; the Keras model itself is loaded on first use.

    Raises
    ------
    PhosnetError
        When no bundled model is installed, or the name/path does not lead to a model.
    """
    if isinstance(model, PhosnetModel):
        return model
    if model is not None and not isinstance(model, str | os.PathLike):
        if hasattr(model, "predict") and hasattr(model, "inputs"):
            return PhosnetModel(model)
        raise TypeError(f"model must be a name, a path, a PhosnetModel or a keras.Model, not {type(model).__name__}")
    if model is None:
        path = PRETRAINED_DIR / f"{DEFAULT_MODEL}.keras"
        if not path.is_file():
            raise PhosnetError(
                f"no bundled model is installed ({path} is missing); pass a model file with --model PATH "
                "(or model= in Python)"
            )
        return _from_file(path)
    text = str(model)
    if text in available_models():
        return _from_file(PRETRAINED_DIR / f"{text}.keras")
    path = Path(model)
    if path.is_dir():
        if not (path / "model.keras").is_file():
            raise InputError(f"{path}: no model.keras in this folder")
        return _from_file(path / "model.keras")
    if path.is_file():
        return _from_file(path)
    bundled = ", ".join(available_models()) or "none installed"
    raise InputError(f"{model}: no such model file, folder or bundled model (bundled: {bundled})")


__all__ = ["DEFAULT_MODEL", "PhosnetModel", "available_models", "load_model"]
