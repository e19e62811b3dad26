"""Pictures of an image run: training curves and a grid of test predictions (PNG, matplotlib Agg)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from phosnet.io.atomic import atomic_save

__all__ = ["grid_indices", "plot_confusion_matrix", "plot_prediction_grid", "plot_training_curves"]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: str | os.PathLike, *, dpi: int = 100) -> Path:
    """Save a matplotlib figure atomically (format from the suffix, PNG by default) and close it."""
    path = Path(path)
    try:
        atomic_save(lambda tmp: fig.savefig(tmp, dpi=dpi, format=path.suffix.lstrip(".") or "png"), path)
    finally:
        _pyplot().close(fig)
    return path


def plot_training_curves(history: pd.DataFrame, path: str | os.PathLike, *, title: str = "") -> Path:
    """Plot loss and accuracy per epoch (train and validation) side by side.

    Parameters
    ----------
    history : pandas.DataFrame
        One row per epoch with columns such as ``loss``, ``val_loss``, ``accuracy``, ``val_accuracy``
        (the training core's ``history.tsv``).
    path : path-like
        PNG file to write.
    title : str
        Figure title.
    """
    plt = _pyplot()
    epochs = history["epoch"] + 1 if "epoch" in history else np.arange(1, len(history) + 1)
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    for ax, metric in zip(axes, ("loss", "accuracy"), strict=True):
        for column, style in ((metric, "-o"), (f"val_{metric}", "--s")):
            if column in history:
                ax.plot(epochs, history[column], style, markersize=3, label=column.replace("_", " "))
        ax.set_xlabel("epoch")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return save_figure(fig, path)


def plot_prediction_grid(
    images: np.ndarray, y_true: np.ndarray, probabilities: np.ndarray, class_names: Sequence[str],
    path: str | os.PathLike, *, columns: int = 6, title: str = "",
) -> Path:
    """Draw images with their predicted class and confidence; wrong predictions in red with the truth.

    Parameters
    ----------
    images : numpy.ndarray
        ``(N, H, W, C)`` images in ``[0, 1]``.
    y_true : numpy.ndarray
        True class index of each image.
    probabilities : numpy.ndarray
        ``(N, classes)`` predicted probabilities.
    class_names : sequence of str
        Name of each class.
    path : path-like
        PNG file to write.
    columns : int
        Images per row.
    title : str
        Figure title.
    """
    plt = _pyplot()
    n = len(images)
    rows = max(1, -(-n // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(1.6 * columns, 1.8 * rows), squeeze=False)
    predicted = probabilities.argmax(axis=1)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        image = images[i]
        if image.shape[-1] == 1:
            ax.imshow(image[..., 0], cmap="gray", vmin=0, vmax=1)
        else:
            ax.imshow(np.clip(image, 0, 1))
        right = predicted[i] == y_true[i]
        label = f"{class_names[predicted[i]]} {probabilities[i, predicted[i]]:.0%}"
        if not right:
            label += f"\n(true: {class_names[y_true[i]]})"
        ax.set_title(label, fontsize=8, color="black" if right else "red")
        if not right:
            for spine in ax.spines.values():
                spine.set_visible(True)
                spine.set_color("red")
                spine.set_linewidth(2)
            ax.axis("on")
            ax.set_xticks([])
            ax.set_yticks([])
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)


def plot_confusion_matrix(
    counts: np.ndarray, class_names: Sequence[str], path: str | os.PathLike, *, title: str = ""
) -> Path:
    """Draw a confusion matrix (rows: true class, columns: predicted), shaded by row share, with the counts.

    Parameters
    ----------
    counts : numpy.ndarray
        ``(classes, classes)`` counts ``[true, predicted]``.
    class_names : sequence of str
        Name of each class.
    path : path-like
        PNG file to write.
    title : str
        Figure title.
    """
    plt = _pyplot()
    counts = np.asarray(counts)
    share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    n = len(class_names)
    fig, ax = plt.subplots(figsize=(1.0 + 0.55 * n, 0.8 + 0.55 * n))
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for i in range(n):
        for j in range(n):
            ax.text(j, i, str(int(counts[i, j])), ha="center", va="center", fontsize=7,
                    color="white" if share[i, j] > 0.5 else "black")
    ax.set_xticks(range(n), class_names, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(n), class_names, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return save_figure(fig, path)


def grid_indices(y_true: np.ndarray, predicted: np.ndarray, n: int = 24, wrong: int = 8) -> np.ndarray:
    """First test images plus up to ``wrong`` misclassified ones, so errors show up in the grid."""
    misses = np.flatnonzero(predicted != y_true)[:wrong]
    first = [i for i in range(len(y_true)) if i not in set(misses)][: n - len(misses)]
    return np.sort(np.concatenate([np.asarray(first, dtype=int), misses]))
