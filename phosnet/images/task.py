"""The image task on phosnet's one training core: train, evaluate and predict MNIST/CIFAR-10 classifiers.

:func:`train_image_model` loads the data, builds and compiles a model from :mod:`phosnet.models.image`,
and hands it to :func:`phosnet.training.train_model` with ``monitor="val_accuracy", mode="max"`` (early
stopping with best weights, LR reduction, ``.keras`` checkpoints, ``history.tsv``, seeds, resume), then
writes ``metrics.json`` (``test_accuracy``, ``test_loss``, timing), ``training_curves.png`` and
``predictions.png`` into the run folder.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from phosnet.errors import InputError
from phosnet.images.loaders import (
    CIFAR10_CLASSES,
    MNIST_CLASSES,
    ImageData,
    load_dataset,
    read_images,
)
from phosnet.images.runs import ImageRun
from phosnet.io.jsonio import write_json
from phosnet.io.run_folder import LAST_FILE, METADATA_FILE, METRICS_FILE, MODEL_FILE

logger = logging.getLogger(__name__)
logger.addHandler(logging.NullHandler())

__all__ = [
    "ImageRun",
    "evaluate_image_model",
    "load_image_model",
    "predict_images",
    "split_validation",
    "train_image_model",
]

CURVES_FILE = "training_curves.png"
GRID_FILE = "predictions.png"

if TYPE_CHECKING:
    from phosnet.bundle import KerasModel



def split_validation(
    x: np.ndarray, y: np.ndarray, fraction: float, *, seed: int = 0
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Hold out a random, seeded ``fraction`` of ``(x, y)`` for validation.

    >>> (xt, yt), (xv, yv) = split_validation(np.zeros((10, 2)), np.arange(10), 0.2)
    >>> len(xt), len(xv)
    (8, 2)
    """
    if not 0.0 < fraction < 1.0:
        raise InputError(f"validation split must be between 0 and 1, got {fraction}")
    n = len(x)
    n_val = max(1, int(round(n * fraction)))
    if n_val >= n:
        raise InputError(f"validation split {fraction} leaves no training images out of {n}")
    order = np.random.default_rng(seed).permutation(n)
    val, train = np.sort(order[:n_val]), np.sort(order[n_val:])
    return (x[train], y[train]), (x[val], y[val])


def _time_budget_callback(seconds: float):
    from phosnet._tf import keras as _keras

    keras = _keras()

    class _StopAfter(keras.callbacks.Callback):  # type: ignore[name-defined]
        """Stop training (mid-epoch if need be) once ``seconds`` have passed; count the batches run."""

        def __init__(self) -> None:
            super().__init__()
            self.batches = 0
            self.start = time.perf_counter()

        def on_train_begin(self, logs=None):
            self.start = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            self.batches += 1
            if time.perf_counter() - self.start >= seconds and not self.model.stop_training:
                logger.info("time budget of %.0f s reached", seconds)
                self.model.stop_training = True

    return _StopAfter()


def _evaluate_arrays(model: KerasModel, x: np.ndarray, y: np.ndarray, batch_size: int) -> dict[str, float]:
    values = model.evaluate(x, y, batch_size=batch_size, verbose=0, return_dict=True)
    out = {"test_accuracy": float(values["accuracy"])}
    if "loss" in values:  # k-NN has none
        out["test_loss"] = float(values["loss"])
    return out


def train_image_model(
    dataset: ImageData | str,
    *,
    run_dir: str | os.PathLike,
    model: str = "cnn",
    data: str | os.PathLike | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    validation_split: float = 0.1,
    seed: int = 0,
    optimizer: str | None = None,
    learning_rate: float | None = None,
    schedule: str | None = None,
    patience: int = 5,
    lr_patience: int = 2,
    model_options: dict[str, Any] | None = None,
    time_budget: float | None = None,
    n_train: int | None = None,
    n_test: int | None = None,
    plots: bool = True,
    resume: bool = False,
    verbose: int = 0,
    progress: bool = False,
) -> ImageRun:
    """Train an image classifier through :func:`phosnet.training.train_model` and report on the test set.

    Parameters
    ----------
    dataset : ImageData or {"mnist", "cifar10"}
        Loaded data, or the name of the dataset to load from ``data``.
    run_dir : path-like
        Run folder (created): ``model.keras``, ``history.tsv``, ``config.json``, ``metrics.json``, PNGs.
    model : {"mlp", "cnn", "cnn_bn", "lenet5", "alexnet"}
        Architecture (see :mod:`phosnet.models.image`). Default: "cnn". (k-NN: :func:`phosnet.images.train_knn`.)
    data : path-like, optional
        Data file/directory when ``dataset`` is a name (else ``$PHOSNET_MNIST`` / ``$PHOSNET_CIFAR10``).
    epochs, batch_size, optimizer, learning_rate, schedule : optional
        Override the model's recipe (:data:`phosnet.models.image.RECIPES`); ``schedule=""`` turns a
        recipe's cosine schedule off (constant rate, lowered on plateaus by the core).
    validation_split : float
        Fraction of the training images held out (seeded) for early stopping. Default: 0.1.
    seed : int
        Seeds weights, the validation split and shuffling. Default: 0.
    patience, lr_patience : int
        Epochs without ``val_accuracy`` gain before stopping / halving the learning rate.
    model_options : dict, optional
        Keyword arguments for the model builder (e.g. ``{"augment": 0.1}``), on top of the recipe's.
    time_budget : float, optional
        Stop after the epoch during which this many seconds of training have passed.
    n_train, n_test : int, optional
        Use only the first images (quick runs, CIFAR subsets).
    plots : bool
        Write ``training_curves.png`` and ``predictions.png``. Default: True.
    resume : bool
        Continue an interrupted run from ``last.keras`` (see the training core).
    verbose : int
        Keras verbosity (0 silent, 1 progress bar, 2 one line per epoch; on stdout).
    progress : bool
        A bar over the epochs on stderr when it is a terminal (every epoch is also logged at INFO).

    Returns
    -------
    ImageRun
        Run folder, trained model, metrics and history.
    """
    from phosnet.models.image import RECIPES, build_image_model, compile_image_model
    from phosnet.training import set_seed, train_model


    if isinstance(dataset, str):
        dataset = load_dataset(dataset, data)
    if n_train is not None or n_test is not None:
        dataset = dataset.subset(n_train, n_test)
    if model not in RECIPES:
        raise InputError(f"unknown image model {model!r} (choose from {', '.join(RECIPES)})")
    recipe = dict(RECIPES[model])
    model_options = {**recipe.pop("model_options", {}), **(model_options or {})}
    for key, value in (("epochs", epochs), ("batch_size", batch_size), ("optimizer", optimizer),
                       ("learning_rate", learning_rate), ("schedule", schedule)):
        if value is not None:
            recipe[key] = value or None
    if recipe["epochs"] < 1 or recipe["batch_size"] < 1:
        raise InputError("epochs and batch size must be at least 1")
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)

    train, validation = split_validation(dataset.x_train, dataset.y_train, validation_split, seed=seed)
    set_seed(seed)
    net = build_image_model(model, dataset.input_shape, dataset.num_classes, **model_options)
    steps = -(-len(train[0]) // recipe["batch_size"]) * recipe["epochs"]
    compile_image_model(net, optimizer=recipe["optimizer"], learning_rate=recipe["learning_rate"],
                        schedule=recipe["schedule"], decay_steps=steps)
    if recipe["schedule"]:
        lr_patience = recipe["epochs"] + 1  # the schedule sets the rate: no plateau reduction on top

    config = {
        "task": "image",
        "dataset": dataset.name,
        "data": dataset.source,
        "model": model,
        "model_options": model_options,
        **recipe,
        "validation_split": validation_split,
        "seed": seed,
        "patience": patience,
        "lr_patience": lr_patience,
        "time_budget": time_budget,
        "n_train": int(len(train[0])),
        "n_validation": int(len(validation[0])),
        "n_test": int(len(dataset.x_test)),
    }
    metadata = {
        "task": "image",
        "dataset": dataset.name,
        "class_names": list(dataset.class_names),
        "input_shape": list(dataset.input_shape),
        "model": model,
        "parameters": int(net.count_params()),
    }
    kwargs: dict[str, Any] = {
        "run_dir": run_dir, "monitor": "val_accuracy", "mode": "max", "epochs": recipe["epochs"],
        "batch_size": recipe["batch_size"], "patience": patience, "lr_patience": lr_patience,
        "seed": seed, "config": config, "metadata": metadata, "resume": resume, "verbose": verbose,
        "progress": progress, "label": f"{model} on {dataset.name}",
    }
    budget = _time_budget_callback(time_budget) if time_budget else None
    if budget is not None:
        kwargs["extra_callbacks"] = [budget]
    if resume and not (run_dir / LAST_FILE).is_file():
        raise InputError(f"{run_dir}: nothing to resume (no last.keras)")
    logger.info("training %s on %s: %d train, %d validation images", model, dataset.name,
                len(train[0]), len(validation[0]))
    start = time.perf_counter()
    result = train_model(net, train, validation, **kwargs)
    seconds = time.perf_counter() - start
    trained = result.model
    history = result.history
    epochs_run: float = result.epochs_run or recipe["epochs"]
    if budget is not None and budget.batches:  # the budget may end an epoch early: count batches
        epochs_run = budget.batches / -(-len(train[0]) // recipe["batch_size"])
    metrics: dict[str, Any] = _evaluate_arrays(trained, dataset.x_test, dataset.y_test, 512)
    if "val_accuracy" in history:
        metrics["best_val_accuracy"] = float(history["val_accuracy"].max())
    metrics.update(
        {
            "dataset": dataset.name,
            "model": model,
            "parameters": int(trained.count_params()),
            "epochs_run": round(float(epochs_run), 2) if budget is not None else int(epochs_run),
            "train_seconds": round(seconds, 2),
            "seconds_per_epoch": round(seconds / max(epochs_run, 1e-9), 2),
            "n_train": int(len(train[0])),
            "n_validation": int(len(validation[0])),
            "n_test": int(len(dataset.x_test)),
        }
    )
    write_json(run_dir / METRICS_FILE, metrics)
    if plots:
        _write_plots(trained, dataset, history, run_dir)
    logger.info("%s on %s: test accuracy %.4f", model, dataset.name, metrics["test_accuracy"])
    return ImageRun(run_dir=run_dir, model=trained, metrics=metrics, history=history)


def _write_plots(model: KerasModel, dataset: ImageData, history: pd.DataFrame, run_dir: Path) -> None:
    from phosnet.images.plots import grid_indices, plot_prediction_grid, plot_training_curves

    title = f"{model.name} on {dataset.name}"
    if len(history):
        plot_training_curves(history, run_dir / CURVES_FILE, title=title)
    sample = min(len(dataset.x_test), 2000)
    probabilities = model.predict(dataset.x_test[:sample], batch_size=512, verbose=0)
    index = grid_indices(dataset.y_test[:sample], probabilities.argmax(axis=1))
    plot_prediction_grid(
        dataset.x_test[index], dataset.y_test[index], probabilities[index], dataset.class_names,
        run_dir / GRID_FILE, title=f"{title}: test predictions (wrong in red)",
    )


def _metadata_for(model_path: Path) -> dict:
    for folder in (model_path.parent,):
        path = folder / METADATA_FILE
        if path.is_file():
            try:
                meta = json.loads(path.read_text())
            except (OSError, ValueError):
                return {}
            if isinstance(meta, dict):
                if "class_names" in meta:
                    return meta
                for value in meta.values():  # the core may nest the caller's metadata
                    if isinstance(value, dict) and "class_names" in value:
                        return value
    return {}


def load_image_model(path: str | os.PathLike) -> tuple[Any, tuple[str, ...]]:
    """Load a trained image model from a run folder or a ``.keras`` file.

    A k-NN run folder (``model.npz``) loads as a :class:`phosnet.images.knn.KnnModel`, without TensorFlow.

    Returns
    -------
    model : keras.Model or KnnModel
        The model.
    class_names : tuple of str
        From the run's ``metadata.json``; else the MNIST/CIFAR-10 names guessed from the input shape,
        else ``"0"``, ``"1"``, ...
    """
    from phosnet.images.knn import is_knn_model, load_knn_model

    if is_knn_model(path):
        knn = load_knn_model(path)
        return knn, knn.class_names
    from phosnet._tf import keras as _keras

    keras = _keras()

    path = Path(path)
    model_path = path / MODEL_FILE if path.is_dir() else path
    if not model_path.is_file():
        raise InputError(f"{path}: no {MODEL_FILE} or model.npz (give a run folder, a .keras or a k-NN .npz file)")
    if model_path.suffix != ".keras":
        raise InputError(f"{model_path}: not a .keras model file")
    try:
        model = keras.models.load_model(model_path)
    except Exception as exc:  # noqa: BLE001 - Keras raises many types for unreadable files
        raise InputError(f"{model_path}: cannot load the model ({exc})") from exc
    n_classes = int(model.output_shape[-1])
    names = _metadata_for(model_path).get("class_names")
    if not names or len(names) != n_classes:
        shape = tuple(model.input_shape[1:])
        if n_classes == 10 and shape == (28, 28, 1):
            names = MNIST_CLASSES
        elif n_classes == 10 and shape == (32, 32, 3):
            names = CIFAR10_CLASSES
        else:
            names = tuple(str(i) for i in range(n_classes))
    return model, tuple(names)


def evaluate_image_model(
    model: str | os.PathLike | Any,
    dataset: ImageData | str,
    *,
    data: str | os.PathLike | None = None,
    batch_size: int = 512,
    n_test: int | None = None,
) -> dict[str, Any]:
    """Test accuracy and loss of a trained model (run folder, ``.keras`` file or model object).

    Returns
    -------
    dict
        ``test_accuracy``, ``test_loss``, ``n_test`` and ``dataset``.
    """
    net = load_image_model(model)[0] if isinstance(model, str | os.PathLike) else model
    if isinstance(dataset, str):
        dataset = load_dataset(dataset, data)
    x, y = dataset.x_test[:n_test], dataset.y_test[:n_test]
    expected = tuple(net.input_shape[1:])
    if x.shape[1:] != expected:
        raise InputError(f"{dataset.name} images have shape {x.shape[1:]} but the model expects {expected}")
    metrics: dict[str, Any] = _evaluate_arrays(net, x, y, batch_size)
    metrics.update({"n_test": int(len(x)), "dataset": dataset.name})
    return metrics


def predict_images(
    model: str | os.PathLike | Any, paths: Sequence[str | os.PathLike], *, top: int = 1,
    class_names: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Classify image files (PNG/JPEG/.npy).

    Parameters
    ----------
    model : path-like or keras.Model
        Run folder, ``.keras`` file or loaded model.
    paths : sequence of path-like
        Image files; a ``.npy`` stack gives one row per image.
    top : int
        Also report the ``top`` best classes (column ``top``, ``"class:prob;..."``) when > 1.
    class_names : sequence of str, optional
        Names for a model object (read from the run folder otherwise).

    Returns
    -------
    pandas.DataFrame
        Columns ``image, label, class, confidence`` (``label`` = class index).
    """
    if isinstance(model, str | os.PathLike):
        net, names = load_image_model(model)
    else:
        net = model
        names = tuple(class_names) if class_names else tuple(str(i) for i in range(net.output_shape[-1]))
    x, labels = read_images(paths, net.input_shape[1:])
    probabilities = net.predict(x, batch_size=256, verbose=0)
    best = probabilities.argmax(axis=1)
    table = pd.DataFrame(
        {
            "image": labels,
            "label": best.astype(int),
            "class": [names[i] for i in best],
            "confidence": probabilities[np.arange(len(best)), best].astype(float),
        }
    )
    if top > 1:
        order = np.argsort(-probabilities, axis=1)[:, :top]
        table["top"] = [";".join(f"{names[j]}:{p[j]:.3f}" for j in row) for row, p in zip(order, probabilities,
                                                                                        strict=True)]
    return table
