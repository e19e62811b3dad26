"""The model bundle: one owner of what a saved phosnet model is, how it is written and how it is read.

A model is a Keras ``.keras`` file plus a JSON metadata file (see ``docs/DESIGN.md``: window, flank,
residues, alphabet, input encoding, thresholds at fixed specificities, provenance). The bundled models are
package data in ``phosnet/pretrained/``.

* reading: :func:`load_model` -> :class:`PhosnetModel` (metadata at once; the Keras model, and so
  TensorFlow, only when :attr:`PhosnetModel.keras_model` is first used); :func:`read_weights` is the one
  reader of the weights for the numpy engine (straight from the archive, no TensorFlow);
* writing: :func:`bundle_metadata` builds the metadata of a trained model and :func:`write_bundle` writes
  ``model.keras`` + ``model.json`` + ``metadata.json`` into a run folder (what ``phosnet train`` leaves).
"""

from __future__ import annotations

import io
import json
import logging
import math
import os
import re
import shlex
import sys
import warnings
import zipfile
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np

from phosnet._tf import KerasModel
from phosnet.background import Background
from phosnet.calling import DEFAULT_THRESHOLD
from phosnet.encoding import ALPHABET
from phosnet.errors import InputError, PhosnetError
from phosnet.io.run_folder import METADATA_FILE, MODEL_FILE, MODEL_RECORD_FILE
from phosnet.precision import Precision

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "akt-default"
"""Name of the bundled default model (``phosnet/pretrained/akt-default.keras`` + ``.json``)."""

PRETRAINED_DIR = Path(__file__).resolve().parent / "pretrained"
"""Where bundled models live."""


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
        self, keras_model: KerasModel | None = None, metadata: dict[str, Any] | None = None, *,
        path: str | os.PathLike | None = None,
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
        """Candidate residues the model predicts (e.g. ``"ST"``; stored as ``["S", "T"]``, or ``"ST"`` by older
        models)."""
        return "".join(self.metadata["residues"])

    @property
    def kinases(self) -> tuple[str, ...]:
        """The kinases whose sites the model predicts (e.g. ``("AKT1", "AKT2", "AKT3")``; empty when its metadata
        does not say: older models). The background's held-out sites and ``evaluate``'s positives are theirs."""
        return tuple(str(k) for k in self.metadata.get("kinases") or ())

    @property
    def input_encoding(self) -> str:
        """``"onehot"`` (input ``(window, 21)``) or ``"index"`` (input ``(window,)`` integers)."""
        return str(self.metadata["input_encoding"])

    @property
    def thresholds(self) -> dict[float, float]:
        """Score thresholds keyed by the specificity they reach on the validation split."""
        return {float(k): float(v) for k, v in (self.metadata.get("thresholds") or {}).items()}

    @cached_property
    def background(self) -> Background | None:
        """The reference background (percentiles, stringency levels) stored in the metadata, if any."""
        return Background.from_metadata(self.metadata)

    @cached_property
    def precision(self) -> Precision | None:
        """The calibrated precision table (percentile -> precision and interval) stored in the metadata, if any;
        it reads the background's percentiles, so a model without a background has none."""
        return Precision.from_metadata(self.metadata) if self.background is not None else None

    def precisions(self, percentiles: np.ndarray | None) -> np.ndarray | None:
        """``(n, 3)`` precision, low, high of each percentile (:mod:`phosnet.precision`); ``None`` when the model
        has no precision table or there are no percentiles."""
        table = self.precision
        if table is None or percentiles is None:
            return None
        return table.columns(percentiles)

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
        try:
            with zipfile.ZipFile(self.path) as archive:
                config = json.loads(archive.read("config.json"))
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:  # JSONDecodeError is a ValueError
            raise InputError(f"{self.path}: config.json in the archive is broken ({exc})") from None
        if not isinstance(config, dict) or not isinstance(config.get("config", {}), dict):
            raise InputError(f"{self.path}: config.json in the archive is not a Keras model config")
        return config

    def _input_shape(self) -> tuple[int, ...]:
        if self._keras_model is not None:
            return tuple(self._keras_model.inputs[0].shape[1:])
        for layer in self.config.get("config", {}).get("layers", []):
            if layer.get("class_name") == "InputLayer":
                shape = layer["config"].get("batch_shape") or layer["config"].get("batch_input_shape")
                return tuple(shape[1:])
        raise InputError(f"{self.path}: cannot find the model's input layer")

    @property
    def keras_model(self) -> KerasModel:
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

    def weights(self) -> dict[str, Any]:
        """``{layer name: [arrays] or nested dict}``: from the live Keras model, else from the archive."""
        if self._keras_model is not None:
            return _weights_from_keras(self._keras_model)
        assert self.path is not None
        return read_weights(self.path, self.config)

# ----------------------------------------------------------------------------------------------------------
# Weights for the numpy engine: the one reader of Keras 3's weights layout
# ----------------------------------------------------------------------------------------------------------
_CONTAINERS = {"Functional", "Model"}
"""Keras classes of (nested) models."""


def _snake(name: str) -> str:
    """Keras' ``to_snake_case`` (names of the groups in ``model.weights.h5``)."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _weights_from_h5(model_cfg: dict[str, Any], group: Any) -> dict[str, Any]:
    """``{layer name: [arrays] or nested dict}`` from a Keras 3 weights file, following its naming rule."""
    out: dict[str, Any] = {}
    used: dict[str, int] = {}
    layers_group = group.get("layers") if group is not None else None
    for layer in model_cfg["config"]["layers"]:
        key = _snake(layer["class_name"])
        if key in used:
            used[key] += 1
            key = f"{key}_{used[key]}"
        else:
            used[key] = 0
        sub = layers_group.get(key) if layers_group is not None else None
        name = layer.get("name") or layer["config"]["name"]
        if layer["class_name"] in _CONTAINERS:
            out[name] = _weights_from_h5(layer, sub)
        elif sub is not None and "vars" in sub:
            out[name] = [np.asarray(sub["vars"][str(i)][()]) for i in range(len(sub["vars"]))]
        else:
            out[name] = []
    return out


def _weights_from_keras(model: KerasModel) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for layer in model.layers:
        if hasattr(layer, "layers"):  # a nested model
            out[layer.name] = _weights_from_keras(layer)
        else:
            out[layer.name] = [np.asarray(w) for w in layer.get_weights()]
    return out


def read_weights(path: str | os.PathLike, config: dict[str, Any]) -> dict[str, Any]:
    """The weights of a ``.keras`` archive as ``{layer name: [arrays] or nested dict}``, without TensorFlow.

    Keras 3 stores them in ``model.weights.h5``, one group per layer named after the snake-cased class
    (``conv1d``, ``conv1d_1``, ...) in the order of ``config``; this function is the only place that knows it.
    """
    import h5py

    try:
        with zipfile.ZipFile(path) as archive, h5py.File(io.BytesIO(archive.read("model.weights.h5"))) as h5:
            return _weights_from_h5(config, h5)
    except (OSError, ValueError, KeyError, RuntimeError, zipfile.BadZipFile) as exc:  # h5py: OSError/RuntimeError
        raise InputError(f"{path}: the model's weights (model.weights.h5) cannot be read ({exc})") from None


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
    for candidate in (path.with_suffix(".json"), path.parent / METADATA_FILE):
        if candidate.is_file():
            metadata = _read_json(candidate)
            break
    else:
        logger.info("no metadata beside %s; deriving window and encoding from the model", path)
    metadata.setdefault("name", path.stem if path.stem != "model" else path.parent.name or path.stem)
    return PhosnetModel(metadata=metadata, path=path)


ModelSource: TypeAlias = "str | os.PathLike[str] | PhosnetModel | KerasModel | None"
"""What every ``model=`` argument takes (see :func:`load_model`)."""


def load_model(model: ModelSource = None) -> PhosnetModel:
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
        if not (path / MODEL_FILE).is_file():
            raise InputError(f"{path}: no model.keras in this folder")
        return _from_file(path / MODEL_FILE)
    if path.is_file():
        return _from_file(path)
    bundled = ", ".join(available_models()) or "none installed"
    raise InputError(f"{model}: no such model file, folder or bundled model (bundled: {bundled})")


# ----------------------------------------------------------------------------------------------------------
# Writing a bundle (the training side)
# ----------------------------------------------------------------------------------------------------------
METADATA_FILES = (MODEL_RECORD_FILE, METADATA_FILE)
"""Metadata files of a run folder (the same JSON twice: beside the model, and for :func:`load_model`)."""

THREAD_VARIABLES = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")
"""TensorFlow's thread counts: training is bit-reproducible for one count, not across counts (the order of
float sums changes), so a training command records them when they are set."""


def command_line(argv: list[str] | None = None) -> str:
    """This process's ``phosnet`` command line, prefixed by the thread settings it ran with (shell-quoted)."""
    settings = [f"{key}={shlex.quote(os.environ[key])}" for key in THREAD_VARIABLES if os.environ.get(key)]
    return " ".join([*settings, *(shlex.quote(a) for a in ["phosnet", *(sys.argv[1:] if argv is None else argv)])])


def bundle_metadata(
    *,
    name: str,
    description: str,
    flank: int,
    residues: str,
    kinases: Sequence[str],
    input_encoding: str,
    thresholds: dict[str, float],
    default_specificity: float,
    command: str | None = None,
    **provenance: Any,
) -> dict[str, Any]:
    """The metadata of a trained model, in the bundled-model format (``docs/DESIGN.md``): ``kinases`` and
    ``residues`` (as lists: ``["AKT1", "AKT2", "AKT3"]``, ``["S", "T"]``) say what it predicts.

    ``provenance`` (metrics, training data and checksums, recipe, seed, ...) is stored as given; versions,
    the training command (default: this process's command line) and the creation time are added.
    """
    from phosnet.training import versions

    found = versions()
    return {
        "name": name,
        "description": description,
        "window": 2 * flank + 1,
        "flank": flank,
        "kinases": list(kinases),
        "residues": list(residues),
        "alphabet": ALPHABET,
        "input_encoding": input_encoding,
        "thresholds": thresholds,
        "default_specificity": default_specificity,
        **provenance,
        "training_command": command or command_line(),
        "phosnet_version": found["phosnet"],
        "tensorflow_version": found["tensorflow"],
        "keras_version": found["keras"],
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def write_bundle(run_dir: str | os.PathLike, keras_model: KerasModel, metadata: dict[str, Any]) -> Path:
    """Save ``keras_model`` as ``run_dir/model.keras`` with its metadata beside it; returns the model path."""

    from phosnet.io.atomic import atomic_save, write_errors

    run_dir = Path(run_dir)
    path = run_dir / MODEL_FILE
    with write_errors(path):  # a temporary .keras renamed into place: a kill mid-write never leaves a truncated model
        atomic_save(keras_model.save, path, suffix=".keras")
    write_metadata(run_dir, metadata)
    return path


def write_metadata(run_dir: str | os.PathLike, metadata: dict[str, Any]) -> None:
    """(Re)write a run folder's metadata files (e.g. after adding a background table)."""
    from phosnet.io.jsonio import write_json

    for name in METADATA_FILES:
        write_json(Path(run_dir) / name, metadata)


__all__ = [
    "DEFAULT_MODEL", "PRETRAINED_DIR", "THREAD_VARIABLES", "KerasModel", "ModelSource", "PhosnetModel",
    "available_models",
    "bundle_metadata", "command_line", "load_model", "read_weights", "write_bundle", "write_metadata",
]
