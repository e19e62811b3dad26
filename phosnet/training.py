"""The one training core, shared by the sequence model and the image models.

:func:`train_model` fits a compiled Keras model with early stopping and learning-rate reduction driven by one
monitored metric (``val_auc`` for sequences, ``val_accuracy`` for images, with ``mode="max"`` written out:
Keras' "auto" mode once picked the wrong direction for AUC), keeps the best model as ``model.keras``, logs
the history to ``history.tsv`` and leaves a run folder that records what was trained and how:

===================  ==========================================================================
file                 content
===================  ==========================================================================
``model.keras``      the best model seen (by the monitored metric); its weights end up in ``model``
``last.keras``       the model after the last finished epoch, to resume an interrupted run
``state.json``       last finished epoch, best value so far, epochs without improvement
``history.tsv``      one row per epoch: losses, metrics, learning rate (Keras ``CSVLogger``)
``config.json``      the resolved settings (the caller's ``config`` plus the training options)
``metadata.json``    versions, seed, monitored metric, best epoch, the caller's ``metadata``
``metrics.json``     written by the caller after evaluation, with :func:`write_json`
===================  ==========================================================================

Every file is written to a temporary file in the run folder and renamed into place
(:func:`phosnet.io.atomic.atomic_output`, :func:`save_model`), so a run killed at any instant (SIGKILL
included) leaves complete checkpoints and can be resumed; a resumed run drops the temporary files of the
killed one and the history rows of an epoch whose checkpoint was not written.
"""

from __future__ import annotations

import logging
import math
import os
import platform
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from phosnet._tf import keras, tensorflow
from phosnet.errors import InputError
from phosnet.io.atomic import atomic_output, atomic_save, remove_stale_temps, write_errors
from phosnet.io.jsonio import read_json, write_json
from phosnet.io.run_folder import (
    CONFIG_FILE,
    HISTORY_FILE,
    LAST_FILE,
    METADATA_FILE,
    MODEL_FILE,
    STATE_FILE,
)

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from phosnet._tf import KerasModel




@dataclass
class TrainingResult:
    """What :func:`train_model` returns: the model (best weights), its run folder and the epoch history."""

    model: KerasModel
    run_dir: Path
    history: pd.DataFrame
    best_epoch: int
    best_value: float
    monitor: str
    epochs_run: int


def save_model(model: KerasModel, path: str | os.PathLike) -> None:
    """``model.save(path)`` through a temporary ``.keras`` file renamed into place (a kill mid-write leaves the
    previous file intact); a failed write raises :class:`~phosnet.errors.PhosnetError` naming ``path``."""
    with write_errors(path):
        atomic_save(model.save, path, suffix=".keras")


def load_checkpoint(path: str | os.PathLike) -> Any:
    """Load a ``.keras`` checkpoint; an unreadable one is an :class:`~phosnet.errors.InputError` naming it."""
    try:
        return keras().models.load_model(path)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{path}: cannot load this checkpoint ({message})") from None


def _trim_history(path: Path, last_epoch: int) -> None:
    """Keep the rows of ``history.tsv`` up to ``last_epoch`` (0-based) and drop a torn last line, so a resumed
    run does not log an epoch twice when the killed one had logged it but not saved its checkpoint."""
    if not path.exists():
        return
    lines = path.read_text().splitlines(keepends=True)
    if not lines:
        return
    header, kept = lines[0], [lines[0]]
    width = header.count("\t")
    for line in lines[1:]:
        fields = line.rstrip("\n").split("\t")
        if not line.endswith("\n") or len(fields) != width + 1:
            break
        try:
            epoch = int(float(fields[0]))
        except ValueError:
            break
        if epoch > last_epoch:
            break
        kept.append(line)
    if len(kept) != len(lines):
        with atomic_output(path) as handle:
            handle.write("".join(kept))


def set_seed(seed: int, *, deterministic: bool = False) -> None:
    """Seed Python, NumPy and TensorFlow (``keras.utils.set_random_seed``); call it before building a model.

    ``deterministic=True`` also asks TensorFlow for deterministic kernels (bit-identical reruns, slower).
    """
    keras().utils.set_random_seed(int(seed))
    if deterministic:
        tensorflow().config.experimental.enable_op_determinism()


def versions() -> dict[str, str]:
    """Versions of phosnet, TensorFlow, Keras, NumPy and Python, for metadata files."""
    from phosnet import __version__

    return {
        "phosnet": __version__,
        "tensorflow": tensorflow().__version__,
        "keras": keras().__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


def _improved(value: float, best: float | None, mode: str) -> bool:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return False
    return best is None or (value > best if mode == "max" else value < best)


def _callbacks(
    run_dir: Path, monitor: str, mode: str, patience: int, lr_patience: int, lr_factor: float, min_lr: float,
    resume_state: dict[str, Any] | None, label: str, epochs: int, initial_epoch: int, show_bar: bool,
) -> list:
    """The standard callbacks; on resume, early stopping and the best checkpoint continue from ``state.json``."""
    k = keras()
    best = resume_state.get("best") if resume_state else None
    wait = int(resume_state.get("wait", 0)) if resume_state else 0

    class _ResumableEarlyStopping(k.callbacks.EarlyStopping):  # type: ignore[name-defined]
        def on_train_begin(self, logs=None):
            super().on_train_begin(logs)
            if best is not None:
                self.best, self.wait = best, wait

    class _RunState(k.callbacks.Callback):  # type: ignore[name-defined]
        """Save ``last.keras`` and ``state.json`` after every epoch, so an interrupted run can resume, and
        ``model.keras`` when the monitored metric improved (each atomically; Keras' ``ModelCheckpoint`` writes
        in place, which a kill mid-write turns into a truncated file); report
        the epoch as one INFO log line and, with ``show_bar`` and stderr on a terminal, on a tqdm bar."""

        def __init__(self) -> None:
            super().__init__()
            self.best, self.wait = best, wait
            self.bar: Any = None

        def on_train_begin(self, logs=None):
            from tqdm import tqdm

            self.bar = tqdm(total=epochs, initial=initial_epoch, desc=label, unit=" epoch", leave=False,
                            file=sys.stderr, dynamic_ncols=True, disable=None if show_bar else True)

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            value = logs.get(monitor)
            if _improved(value, self.best, mode):
                self.best, self.wait = float(value), 0
                save_model(self.model, run_dir / MODEL_FILE)
            else:
                self.wait += 1
            save_model(self.model, run_dir / LAST_FILE)
            write_json(run_dir / STATE_FILE, {"epoch": epoch, "best": self.best, "wait": self.wait})
            shown = f"{monitor} {value:.4f}" if value is not None else f"{monitor} -"
            best_text = f"best {self.best:.4f}" if self.best is not None else "best -"
            logger.info("%s: epoch %d/%d, loss %.4f, %s (%s)", label, epoch + 1, epochs,
                        float(logs.get("loss", float("nan"))), shown, best_text)
            self.bar.set_postfix_str(f"{shown} ({best_text})", refresh=False)
            self.bar.update(1)

        def on_train_end(self, logs=None):
            self.bar.close()

    return [
        _ResumableEarlyStopping(
            monitor=monitor, mode=mode, patience=patience, restore_best_weights=True, verbose=0
        ),
        k.callbacks.ReduceLROnPlateau(
            monitor=monitor, mode=mode, factor=lr_factor, patience=lr_patience, min_lr=min_lr, verbose=0
        ),
        k.callbacks.CSVLogger(run_dir / HISTORY_FILE, separator="\t", append=resume_state is not None),
        _RunState(),
    ]


def train_model(
    model: KerasModel,
    train_data: Any,
    validation_data: Any,
    *,
    run_dir: str | os.PathLike,
    monitor: str = "val_auc",
    mode: str = "max",
    epochs: int = 50,
    batch_size: int | None = 64,
    patience: int = 8,
    lr_patience: int = 3,
    lr_factor: float = 0.5,
    min_lr: float = 1e-6,
    class_weight: dict[int, float] | None = None,
    seed: int = 0,
    config: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    resume: bool = False,
    extra_callbacks: Sequence[Any] = (),
    verbose: int = 0,
    progress: bool = False,
    label: str | None = None,
) -> TrainingResult:
    """Fit a compiled Keras ``model`` and leave a complete run folder in ``run_dir``.

    Parameters
    ----------
    model
        A compiled ``keras.Model`` (build it after :func:`set_seed` for reproducible weights).
    train_data, validation_data
        ``(x, y)`` tuples of arrays, or ``tf.data.Dataset`` objects that yield batches (then ``batch_size`` is
        ignored).
    run_dir
        Folder for the run's files (see the module docstring); created if missing.
    monitor, mode
        The metric that drives early stopping, learning-rate reduction and the best checkpoint, and whether
        larger (``"max"``) or smaller (``"min"``) is better.
    epochs, batch_size, patience, lr_patience, lr_factor, min_lr
        Training length and callback settings: stop after ``patience`` epochs without improvement, multiply
        the learning rate by ``lr_factor`` after ``lr_patience`` such epochs.
    class_weight
        Loss weight per class (e.g. ``{0: 1.0, 1: 20.0}`` for rare positives).
    seed
        Seeds Python, NumPy and TensorFlow before fitting (shuffling, dropout).
    config, metadata
        The caller's settings and facts (data checksum, window, ...), saved to ``config.json`` and
        ``metadata.json`` together with the training options and versions.
    resume
        Continue an interrupted run from ``last.keras`` and ``state.json`` in ``run_dir`` (the ``model``
        argument is then replaced by the saved one, optimizer state included).
    verbose, progress, label
        ``verbose`` is Keras' own output (on stdout; 0 = none). Every epoch is also logged at INFO on the
        ``phosnet`` logger as ``label`` (default: the run folder's last two parts), and with ``progress`` a
        bar over the epochs shows on stderr when it is a terminal.
    """
    if mode not in {"max", "min"}:
        raise ValueError("mode must be 'max' or 'min'")
    k = keras()
    run_dir = Path(run_dir)
    with write_errors(run_dir):
        run_dir.mkdir(parents=True, exist_ok=True)
    resume_state = None
    initial_epoch = 0
    if resume:
        if not (run_dir / LAST_FILE).exists() or not (run_dir / STATE_FILE).exists():
            raise FileNotFoundError(f"{run_dir}: nothing to resume (no {LAST_FILE} and {STATE_FILE})")
        remove_stale_temps(run_dir)
        try:
            resume_state = read_json(run_dir / STATE_FILE)
            initial_epoch = int(resume_state["epoch"]) + 1
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InputError(f"{run_dir / STATE_FILE}: cannot resume from it ({exc})") from None
        model = load_checkpoint(run_dir / LAST_FILE)
        _trim_history(run_dir / HISTORY_FILE, initial_epoch - 1)
        logger.info("resuming %s at epoch %d", run_dir, initial_epoch + 1)

    options = {
        "monitor": monitor, "mode": mode, "epochs": epochs, "batch_size": batch_size, "patience": patience,
        "lr_patience": lr_patience, "lr_factor": lr_factor, "min_lr": min_lr,
        "class_weight": {str(c): w for c, w in (class_weight or {}).items()} or None, "seed": seed,
    }
    write_json(run_dir / CONFIG_FILE, {**(config or {}), "training": options})

    k.utils.set_random_seed(int(seed) + initial_epoch)
    callbacks = _callbacks(run_dir, monitor, mode, patience, lr_patience, lr_factor, min_lr, resume_state,
                           label or "/".join(run_dir.parts[-2:]), epochs, initial_epoch, progress)
    callbacks += list(extra_callbacks)
    fit_kwargs: dict[str, Any] = {
        "epochs": epochs, "initial_epoch": initial_epoch, "callbacks": callbacks, "verbose": verbose,
        "class_weight": class_weight,
    }
    if isinstance(train_data, tuple):
        x, y = train_data
        fit_kwargs.update(x=x, y=y, batch_size=batch_size, shuffle=True)
    else:
        fit_kwargs.update(x=train_data)
    fit_kwargs["validation_data"] = validation_data
    if initial_epoch < epochs:
        model.fit(**fit_kwargs)

    best_path = run_dir / MODEL_FILE
    if best_path.exists():
        # The checkpoint holds the best weights over all sessions of a resumed run.
        model.set_weights(load_checkpoint(best_path).get_weights())
    history = pd.read_csv(run_dir / HISTORY_FILE, sep="\t") if (run_dir / HISTORY_FILE).exists() else pd.DataFrame()
    if not history.empty and monitor in history:
        scores = history[monitor].to_numpy(dtype=float)
        best_row = int(np.nanargmax(scores) if mode == "max" else np.nanargmin(scores))
        best_epoch, best_value = int(history["epoch"].iloc[best_row]) + 1, float(scores[best_row])
    else:
        best_epoch, best_value = 0, float("nan")
    write_json(
        run_dir / METADATA_FILE,
        {
            **(metadata or {}),
            "monitor": monitor,
            "mode": mode,
            "best_epoch": best_epoch,
            "best_value": best_value,
            "epochs_run": len(history),
            "seed": seed,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "versions": versions(),
        },
    )
    return TrainingResult(model, run_dir, history, best_epoch, best_value, monitor, len(history))
