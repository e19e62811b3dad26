"""k-nearest-neighbour image classifier (scikit-learn, no TensorFlow) with k and distance chosen by k-fold CV.

:func:`train_knn` splits the training images into seeded folds, scores every ``(metric, k)`` cell of the grid
on every held-out fold, keeps the cell with the best mean accuracy, fits a
:class:`sklearn.neighbors.KNeighborsClassifier` with it on the whole training set (optionally after a PCA) and
reports on the test set. The run folder mirrors the Keras models' (see :data:`KNN_RUN_FILES`): ``model.npz``
(plain arrays, loaded without pickle), ``config.json``, ``metadata.json``, ``cv.tsv`` (the grid, one row per
cell with each fold's accuracy: what ``history.tsv`` is for the networks), ``metrics.json``,
``confusion_matrix.png`` and ``predictions.png``.

Importing this module is cheap (numpy only; pandas and scikit-learn load when called): the CLI reads its
constants at start-up. Cost: brute-force distances, computed ``chunk`` query images at a time (memory
``chunk x n_train`` floats, never ``n_test x n_train``); one neighbour search with the largest k per fold and
metric serves every k.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from phosnet.errors import InputError
from phosnet.images.loaders import ImageData, load_dataset
from phosnet.images.runs import ImageRun
from phosnet.io.atomic import atomic_save
from phosnet.io.jsonio import write_json
from phosnet.io.run_folder import CONFIG_FILE, METADATA_FILE, METRICS_FILE

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger(__name__)
logger.addHandler(logging.NullHandler())

__all__ = [
    "KNN_METRICS",
    "KNN_RUN_FILES",
    "KnnModel",
    "cross_validate_knn",
    "is_knn_model",
    "load_knn_model",
    "train_knn",
]

KNN_MODEL_FILE = "model.npz"
CV_FILE = "cv.tsv"
CONFUSION_FILE = "confusion_matrix.png"
KNN_RUN_FILES = (KNN_MODEL_FILE, CONFIG_FILE, METADATA_FILE, CV_FILE, METRICS_FILE, CONFUSION_FILE,
                 "predictions.png")
"""Files a k-NN run writes in its run folder."""

KNN_METRICS = ("euclidean", "cosine", "manhattan")
"""Distances the grid may contain (scikit-learn names)."""

DEFAULT_KS = (1, 3, 5, 7, 9)
DEFAULT_METRICS = ("euclidean", "cosine")
CHUNK = 1024
"""Query images per distance block: ``CHUNK x n_train`` float64 distances (500 MB on full MNIST) at most."""


def vote(neighbour_labels: np.ndarray, k: int, n_classes: int) -> np.ndarray:
    """Class probabilities of uniform k-NN from neighbour labels sorted nearest first (as scikit-learn).

    >>> vote(np.array([[2, 1, 1], [0, 2, 1]]), 3, 3).argmax(axis=1)  # a tie goes to the lower class, as sklearn
    array([1, 0])
    """
    top = neighbour_labels[:, :k]
    counts = np.zeros((len(top), n_classes), dtype=np.float64)
    np.add.at(counts, (np.repeat(np.arange(len(top)), top.shape[1]), top.ravel()), 1.0)
    return counts / top.shape[1]


def _flat(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x.reshape(len(x), -1), dtype=np.float32)


def _neighbours(fit_x: np.ndarray, query: np.ndarray, k: int, metric: str, chunk: int) -> np.ndarray:
    """Indices into ``fit_x`` of the ``k`` nearest neighbours of each query row, ``chunk`` rows at a time."""
    from sklearn.neighbors import NearestNeighbors

    search = NearestNeighbors(n_neighbors=k, algorithm="brute", metric=metric).fit(fit_x)
    out = np.empty((len(query), k), dtype=np.int64)
    for start in range(0, len(query), chunk):
        out[start:start + chunk] = search.kneighbors(query[start:start + chunk], return_distance=False)
    return out


def _pca(x: np.ndarray, components: int | None, seed: int) -> Any:
    if not components:
        return None
    from sklearn.decomposition import PCA

    if components > min(x.shape):
        raise InputError(f"PCA with {components} components needs at least that many images and pixels")
    return PCA(n_components=components, svd_solver="randomized", random_state=seed).fit(x)


def fold_ids(n: int, folds: int, seed: int) -> np.ndarray:
    """Fold number (0 .. folds-1) of each of ``n`` items: a seeded permutation dealt round-robin.

    >>> np.bincount(fold_ids(10, 3, 0)).tolist()
    [4, 3, 3]
    """
    ids = np.empty(n, dtype=np.int64)
    ids[np.random.default_rng(seed).permutation(n)] = np.arange(n) % folds
    return ids


def cross_validate_knn(
    x: np.ndarray, y: np.ndarray, *, ks: Sequence[int] = DEFAULT_KS, metrics: Sequence[str] = DEFAULT_METRICS,
    folds: int = 5, pca: int | None = None, seed: int = 0, chunk: int = CHUNK, n_classes: int | None = None,
) -> pd.DataFrame:
    """Accuracy of every ``(metric, k)`` on every held-out fold of ``(x, y)``.

    The PCA (when asked) is fitted on each fold's training part only. Returns one row per cell: ``metric, k,
    fold_1 .. fold_N, mean, std`` (accuracies), in grid order.
    """
    import pandas as pd
    ks = sorted({int(k) for k in ks})
    _check_grid(ks, metrics, folds, len(x))
    flat = _flat(x)
    n_classes = int(n_classes or y.max() + 1)
    ids = fold_ids(len(flat), folds, seed)
    scores = {(m, k): [] for m in metrics for k in ks}  # type: dict[tuple[str, int], list[float]]
    for fold in range(folds):
        held, kept = ids == fold, ids != fold
        fit_x, query = flat[kept], flat[held]
        reducer = _pca(fit_x, pca, seed)
        if reducer is not None:
            fit_x, query = reducer.transform(fit_x), reducer.transform(query)
        for metric in metrics:
            index = _neighbours(fit_x, query, min(max(ks), len(fit_x)), metric, chunk)
            labels = y[kept][index]
            for k in ks:
                predicted = vote(labels, k, n_classes).argmax(axis=1)
                scores[(metric, k)].append(float(np.mean(predicted == y[held])))
        logger.info("k-NN CV fold %d/%d done", fold + 1, folds)
    rows = []
    for (metric, k), values in scores.items():
        row: dict[str, Any] = {"metric": metric, "k": k}
        row.update({f"fold_{i + 1}": v for i, v in enumerate(values)})
        row.update({"mean": float(np.mean(values)), "std": float(np.std(values))})
        rows.append(row)
    return pd.DataFrame(rows)


def _check_grid(ks: Sequence[int], metrics: Sequence[str], folds: int, n: int) -> None:
    if not ks or min(ks) < 1:
        raise InputError("k-NN: every k must be at least 1")
    bad = [m for m in metrics if m not in KNN_METRICS]
    if not metrics or bad:
        raise InputError(f"k-NN: unknown distance {', '.join(bad) or '(none)'} (choose from {', '.join(KNN_METRICS)})")
    if folds < 2 or folds > n:
        raise InputError(f"k-NN: {folds} folds need at least 2 folds and as many training images (have {n})")
    if max(ks) > n - -(-n // folds):
        raise InputError(f"k-NN: k={max(ks)} exceeds the {n - -(-n // folds)} images a CV fold trains on")


@dataclass
class KnnModel:
    """A fitted k-NN classifier over (optionally PCA-projected) flattened images.

    It answers like the Keras image models where the image verbs need it: ``input_shape``,
    ``output_shape``, ``predict`` (class probabilities) and ``evaluate`` (accuracy; k-NN has no loss).
    """

    features: np.ndarray
    labels: np.ndarray
    k: int
    metric: str
    image_shape: tuple[int, ...]
    class_names: tuple[str, ...]
    pca_mean: np.ndarray | None = None
    pca_components: np.ndarray | None = None
    chunk: int = CHUNK
    name: str = "knn"

    def __post_init__(self) -> None:
        from sklearn.neighbors import KNeighborsClassifier

        self.classifier = KNeighborsClassifier(n_neighbors=self.k, metric=self.metric, algorithm="brute")
        self.classifier.fit(self.features, self.labels)

    @property
    def input_shape(self) -> tuple[Any, ...]:
        return (None, *self.image_shape)

    @property
    def output_shape(self) -> tuple[Any, ...]:
        return (None, len(self.class_names))

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Flatten images (and project them onto the PCA when the model has one)."""
        flat = _flat(x)
        if self.pca_components is not None and self.pca_mean is not None:
            flat = (flat - self.pca_mean) @ self.pca_components.T
        return flat

    def predict(self, x: np.ndarray, batch_size: int | None = None, verbose: int = 0) -> np.ndarray:
        """Class probabilities ``(n, classes)`` (the share of the k neighbours in each class), by chunks."""
        step = batch_size or self.chunk
        out = np.zeros((len(x), len(self.class_names)), dtype=np.float32)
        seen = self.classifier.classes_
        for start in range(0, len(x), step):
            out[start:start + step, seen] = self.classifier.predict_proba(self.transform(x[start:start + step]))
        return out

    def evaluate(self, x: np.ndarray, y: np.ndarray, batch_size: int | None = None, **_: Any) -> dict[str, float]:
        """``{"accuracy": ...}`` on ``(x, y)``."""
        return {"accuracy": float(np.mean(self.predict(x, batch_size).argmax(axis=1) == np.asarray(y)))}

    def count_params(self) -> int:
        """Stored numbers (training features, labels and PCA), for the metrics' ``parameters``."""
        extra = 0 if self.pca_components is None else self.pca_components.size + self.pca_mean.size  # type: ignore[union-attr]
        return int(self.features.size + self.labels.size + extra)

    def save(self, path: str | os.PathLike) -> None:
        """Write the model as plain arrays (``.npz``, no pickle) atomically."""
        features = self.features
        arrays: dict[str, Any] = {
            "labels": self.labels.astype(np.int64), "k": np.int64(self.k), "metric": np.str_(self.metric),
            "image_shape": np.asarray(self.image_shape, dtype=np.int64),
            "class_names": np.asarray(self.class_names, dtype=np.str_),
        }
        as_bytes = np.round(features * 255.0)
        if self.pca_components is None and np.array_equal(as_bytes / np.float32(255.0), features):
            arrays["features_uint8"] = as_bytes.astype(np.uint8)  # lossless: pixels were bytes / 255
        else:
            arrays["features"] = features
        if self.pca_components is not None:
            arrays["pca_mean"], arrays["pca_components"] = self.pca_mean, self.pca_components

        def _write(tmp: str) -> None:
            with open(tmp, "wb") as handle:
                np.savez(handle, **arrays)

        atomic_save(_write, path)


def is_knn_model(path: str | os.PathLike) -> bool:
    """True for a k-NN run folder (with ``model.npz``) or a ``.npz`` model file."""
    path = Path(path)
    return (path / KNN_MODEL_FILE).is_file() if path.is_dir() else path.suffix == ".npz"


def load_knn_model(path: str | os.PathLike) -> KnnModel:
    """Load a k-NN model from its run folder or ``model.npz`` (``allow_pickle=False``: safe on any file)."""
    path = Path(path)
    file = path / KNN_MODEL_FILE if path.is_dir() else path
    try:
        with np.load(file, allow_pickle=False) as z:
            features = (z["features_uint8"].astype(np.float32) / np.float32(255.0)
                        if "features_uint8" in z else z["features"].astype(np.float32))
            return KnnModel(
                features=features, labels=z["labels"], k=int(z["k"]), metric=str(z["metric"]),
                image_shape=tuple(int(d) for d in z["image_shape"]),
                class_names=tuple(str(c) for c in z["class_names"]),
                pca_mean=z["pca_mean"] if "pca_mean" in z else None,
                pca_components=z["pca_components"] if "pca_components" in z else None,
            )
    except (OSError, KeyError, ValueError) as exc:
        raise InputError(f"{file}: not a phosnet k-NN model ({exc})") from None


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts ``[true, predicted]``.

    >>> confusion_matrix(np.array([0, 1, 1]), np.array([0, 0, 1]), 2).tolist()
    [[1, 0], [1, 1]]
    """
    return np.bincount(np.asarray(y_true) * n_classes + np.asarray(y_pred),
                       minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def train_knn(
    dataset: ImageData | str,
    *,
    run_dir: str | os.PathLike,
    data: str | os.PathLike | None = None,
    ks: Sequence[int] = DEFAULT_KS,
    metrics: Sequence[str] = DEFAULT_METRICS,
    folds: int = 5,
    pca: int | None = None,
    n_train: int | None = None,
    n_test: int | None = None,
    seed: int = 0,
    chunk: int = CHUNK,
    plots: bool = True,
) -> Any:
    """Choose k and the distance by ``folds``-fold CV on the training images, fit, and report on the test set.

    Parameters
    ----------
    dataset : ImageData or {"mnist", "cifar10"}
        Loaded data, or the name of the dataset to load from ``data``.
    run_dir : path-like
        Run folder (created); see :data:`KNN_RUN_FILES`.
    ks, metrics : sequences
        The grid: numbers of neighbours and distances (:data:`KNN_METRICS`). Default: 1-9 odd, euclidean
        and cosine.
    folds : int
        CV folds (seeded, stratified by nothing: a random deal). Default: 5.
    pca : int, optional
        Project the flattened images onto this many principal components first (fitted per CV fold, then
        on all training images); faster and often more accurate than raw pixels. Default: raw pixels.
    n_train, n_test : int, optional
        Use only the first images.
    seed : int
        Seeds the folds and the PCA.
    chunk : int
        Query images per distance block (memory ``chunk x n_train``).
    plots : bool
        Write ``confusion_matrix.png`` and ``predictions.png``.

    Returns
    -------
    phosnet.images.runs.ImageRun
        ``model`` is a :class:`KnnModel`; ``history`` is the CV grid (``cv.tsv``).
    """
    if isinstance(dataset, str):
        dataset = load_dataset(dataset, data)
    if n_train is not None or n_test is not None:
        dataset = dataset.subset(n_train, n_test)
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    metrics = list(dict.fromkeys(metrics))
    ks = sorted({int(k) for k in ks})
    config = {"task": "image", "dataset": dataset.name, "data": dataset.source, "model": "knn", "ks": ks,
              "metrics": metrics, "folds": folds, "pca": pca, "seed": seed, "chunk": chunk,
              "n_train": int(len(dataset.x_train)), "n_test": int(len(dataset.x_test))}
    write_json(run_dir / CONFIG_FILE, config)

    start = time.perf_counter()
    grid = cross_validate_knn(dataset.x_train, dataset.y_train, ks=ks, metrics=metrics, folds=folds, pca=pca,
                              seed=seed, chunk=chunk, n_classes=dataset.num_classes)
    cv_seconds = time.perf_counter() - start
    best = grid.sort_values(["mean", "k"], ascending=[False, True], kind="stable").iloc[0]
    grid["selected"] = (grid["metric"] == best["metric"]) & (grid["k"] == best["k"])
    from phosnet.io.tables import write_table

    write_table(grid, run_dir / CV_FILE)

    start = time.perf_counter()
    flat = _flat(dataset.x_train)
    reducer = _pca(flat, pca, seed)
    model = KnnModel(
        features=flat if reducer is None else reducer.transform(flat).astype(np.float32),
        labels=dataset.y_train.astype(np.int64), k=int(best["k"]), metric=str(best["metric"]),
        image_shape=dataset.input_shape, class_names=tuple(dataset.class_names),
        pca_mean=None if reducer is None else reducer.mean_.astype(np.float32),
        pca_components=None if reducer is None else reducer.components_.astype(np.float32), chunk=chunk,
    )
    fit_seconds = time.perf_counter() - start
    model.save(run_dir / KNN_MODEL_FILE)
    write_json(run_dir / METADATA_FILE, {"task": "image", "dataset": dataset.name, "model": "knn",
                                           "class_names": list(dataset.class_names),
                                           "input_shape": list(dataset.input_shape), "k": model.k,
                                           "metric": model.metric, "pca": pca})
    start = time.perf_counter()
    probabilities = model.predict(dataset.x_test)
    predict_seconds = time.perf_counter() - start
    predicted = probabilities.argmax(axis=1)
    confusion = confusion_matrix(dataset.y_test, predicted, dataset.num_classes)
    result: dict[str, Any] = {
        "test_accuracy": float(np.mean(predicted == dataset.y_test)),
        "cv_accuracy": float(best["mean"]), "cv_std": float(best["std"]),
        "dataset": dataset.name, "model": "knn", "k": model.k, "metric": model.metric, "pca": pca,
        "folds": folds, "parameters": model.count_params(),
        "cv_seconds": round(cv_seconds, 2), "fit_seconds": round(fit_seconds, 2),
        "predict_seconds": round(predict_seconds, 2), "train_seconds": round(cv_seconds + fit_seconds, 2),
        "n_train": int(len(dataset.x_train)), "n_test": int(len(dataset.x_test)),
        "confusion_matrix": confusion,
    }
    write_json(run_dir / METRICS_FILE, result)
    if plots:
        from phosnet.images.plots import grid_indices, plot_confusion_matrix, plot_prediction_grid

        title = f"k-NN (k={model.k}, {model.metric}) on {dataset.name}"
        plot_confusion_matrix(confusion, dataset.class_names, run_dir / CONFUSION_FILE, title=title)
        index = grid_indices(dataset.y_test, predicted)
        plot_prediction_grid(dataset.x_test[index], dataset.y_test[index], probabilities[index],
                             dataset.class_names, run_dir / "predictions.png",
                             title=f"{title}: test predictions (wrong in red)")
    logger.info("k-NN (k=%d, %s) on %s: CV accuracy %.4f, test accuracy %.4f", model.k, model.metric,
                dataset.name, result["cv_accuracy"], result["test_accuracy"])
    return ImageRun(run_dir=run_dir, model=model, metrics=result, history=grid)
