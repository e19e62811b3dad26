"""Train a GAN on MNIST through the one training core, and draw digits from a saved generator.

:func:`train_gan` fits :class:`phosnet.models.gan` 's ``GAN`` with :func:`phosnet.training.train_model`
(checkpoints ``model.keras`` / ``last.keras``, ``state.json``, resume, ``history.tsv`` with ``d_loss``,
``g_loss`` and, with a classifier, ``val_confident`` and ``val_inception_score`` per epoch, monitored with
``mode="max"``), writes a PNG grid of samples from fixed noise after every epoch (``samples/epoch-NNN.png``),
and saves the generator alone as ``generator.keras``. :func:`sample_digits` draws ``n`` images from a saved
generator with a seed.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from phosnet.errors import InputError
from phosnet.images.loaders import ImageData, load_dataset
from phosnet.io.atomic import atomic_save
from phosnet.io.jsonio import write_json
from phosnet.io.run_folder import CORE_FILES, LAST_FILE, METRICS_FILE

logger = logging.getLogger(__name__)
logger.addHandler(logging.NullHandler())

__all__ = ["GAN_RUN_FILES", "GanRun", "sample_digits", "save_samples", "train_gan"]

GENERATOR_FILE = "generator.keras"
SAMPLES_DIR = "samples"
GAN_RUN_FILES = (*CORE_FILES, GENERATOR_FILE)
"""Files ``phosnet image gan`` writes in its run folder (plus ``samples/epoch-NNN.png``)."""


def noise(n: int, latent_dim: int, seed: int) -> np.ndarray:
    """``n`` standard-normal noise vectors, reproducible from ``seed``.

    >>> noise(2, 3, 0).shape, bool((noise(2, 3, 0) == noise(2, 3, 0)).all())
    ((2, 3), True)
    """
    return np.random.default_rng(seed).standard_normal((n, latent_dim)).astype(np.float32)


def save_samples(images: np.ndarray, path: str | os.PathLike, *, columns: int = 10, title: str = "") -> Path:
    """Write ``images`` ``(n, 28, 28, 1)`` as a PNG grid, or as a ``.npy`` stack when ``path`` ends in ``.npy``
    (atomically either way)."""
    path = Path(path)
    if path.suffix == ".npy":
        def _write(tmp: str) -> None:
            with open(tmp, "wb") as handle:
                np.save(handle, images)

        atomic_save(_write, path)
        return path
    from phosnet.images.plots import _pyplot, save_figure

    plt = _pyplot()
    n = len(images)
    columns = max(1, min(columns, n))
    rows = -(-n // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(0.9 * columns, 0.9 * rows + (0.3 if title else 0)),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(images[i, ..., 0], cmap="gray", vmin=0, vmax=1)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return save_figure(fig, path, dpi=80)


class GanRun:
    """What :func:`train_gan` produced: ``run_dir``, the trained ``gan``, ``metrics`` and ``history``."""

    def __init__(self, run_dir: Path, gan: Any, metrics: dict, history: Any) -> None:
        self.run_dir, self.gan, self.metrics, self.history = run_dir, gan, metrics, history


def _samples_callback(fixed: np.ndarray, folder: Path):
    from phosnet._tf import keras

    class _Samples(keras().callbacks.Callback):  # type: ignore[name-defined,misc]
        """After every epoch, the generator's images for the same noise, as ``samples/epoch-NNN.png``."""

        def on_epoch_end(self, epoch, logs=None):
            images = self.model.generator.predict(fixed, verbose=0)
            save_samples(images, folder / f"epoch-{epoch + 1:03d}.png", title=f"epoch {epoch + 1}")

    return _Samples()


def train_gan(
    dataset: ImageData | str = "mnist",
    *,
    run_dir: str | os.PathLike,
    data: str | os.PathLike | None = None,
    classifier: str | os.PathLike | None = None,
    epochs: int = 10,
    batch_size: int = 128,
    latent_dim: int = 64,
    n_train: int | None = None,
    n_quality: int = 1000,
    seed: int = 0,
    resume: bool = False,
    progress: bool = False,
) -> GanRun:
    """Train the GAN on the training images of ``dataset`` (28x28 grey: MNIST).

    Parameters
    ----------
    dataset : ImageData or "mnist"
        The images (labels unused).
    run_dir : path-like
        Run folder (see :data:`GAN_RUN_FILES`).
    classifier : path-like, optional
        A trained MNIST classifier (``phosnet image train`` run folder or ``.keras``) that scores sample quality
        every epoch (``val_confident``, ``val_inception_score``; the best epoch by the latter is kept). Without
        one, the monitored value is ``g_loss`` (lowest kept) and quality is not measured.
    epochs, batch_size, latent_dim : int
        Training length, real images per step, noise size.
    n_train : int, optional
        Use only the first training images.
    n_quality : int
        Generated images (fixed, seeded noise) classified per epoch.
    seed : int
        Seeds the weights, the shuffling and the fixed noise.
    resume : bool
        Continue an interrupted run from ``last.keras`` (both optimizers' state included).
    """
    from phosnet.models.gan import build_gan, register
    from phosnet.training import save_model, set_seed, train_model

    if isinstance(dataset, str):
        dataset = load_dataset(dataset, data)
    if n_train is not None:
        dataset = dataset.subset(n_train, None)
    if dataset.input_shape != (28, 28, 1):
        raise InputError(f"the GAN makes 28x28 grey images; {dataset.name} images are {dataset.input_shape}")
    if epochs < 1 or batch_size < 1 or n_quality < 1:
        raise InputError("epochs, batch size and the number of quality samples must be at least 1")
    run_dir = Path(run_dir)
    if resume and not (run_dir / LAST_FILE).is_file():
        raise InputError(f"{run_dir}: nothing to resume (no last.keras)")
    run_dir.mkdir(parents=True, exist_ok=True)
    register()
    judge = None
    if classifier is not None:
        from phosnet.images.task import load_image_model

        loaded = load_image_model(classifier)[0]
        if tuple(loaded.input_shape[1:]) != (28, 28, 1) or not hasattr(loaded, "layers"):
            raise InputError(f"{classifier}: not a Keras classifier of 28x28 grey images")
        judge = type(loaded).from_config(loaded.get_config())  # without optimizer state: the GAN's
        judge.set_weights(loaded.get_weights())                 # checkpoints hold the network only
    set_seed(seed)
    gan = build_gan(latent_dim, judge)
    from phosnet._tf import tensorflow

    tf = tensorflow()
    quality_noise = noise(n_quality, latent_dim, seed + 1)
    validation = (tf.data.Dataset.from_tensors((quality_noise, np.zeros(n_quality, np.float32)))
                  if judge is not None else None)  # the quality batch: one fixed batch of noise
    monitor, mode = ("val_inception_score", "max") if judge is not None else ("g_loss", "min")
    config = {"task": "gan", "dataset": dataset.name, "data": dataset.source, "classifier": str(classifier or ""),
              "latent_dim": latent_dim, "n_train": int(len(dataset.x_train)), "n_quality": n_quality}
    start = time.perf_counter()
    result = train_model(
        gan, (dataset.x_train, np.zeros(len(dataset.x_train), np.float32)), validation, run_dir=run_dir,
        monitor=monitor, mode=mode, epochs=epochs, batch_size=batch_size, patience=epochs + 1,
        lr_patience=epochs + 1, seed=seed, config=config, resume=resume, progress=progress,
        metadata={"task": "gan", "latent_dim": latent_dim}, label=f"GAN on {dataset.name}",
        extra_callbacks=[_samples_callback(noise(50, latent_dim, seed + 2), run_dir / SAMPLES_DIR)],
    )
    seconds = time.perf_counter() - start
    trained = result.model
    save_model(trained.generator, run_dir / GENERATOR_FILE)
    history = result.history
    metrics: dict[str, Any] = {"dataset": dataset.name, "epochs_run": int(result.epochs_run),
                               "best_epoch": int(result.best_epoch), "monitor": monitor,
                               "train_seconds": round(seconds, 2), "latent_dim": latent_dim,
                               "n_train": int(len(dataset.x_train))}
    if judge is not None and len(history):
        best = history.iloc[result.best_epoch - 1]
        metrics.update({"confident": float(best["val_confident"]),
                        "inception_score": float(best["val_inception_score"]),
                        "final_confident": float(history["val_confident"].iloc[-1]),
                        "final_inception_score": float(history["val_inception_score"].iloc[-1])})
    write_json(run_dir / METRICS_FILE, metrics)
    logger.info("GAN on %s: %s", dataset.name, metrics)
    return GanRun(run_dir, trained, metrics, history)


def sample_digits(generator: str | os.PathLike | Any, n: int = 50, *, seed: int = 0) -> np.ndarray:
    """``n`` images ``(n, 28, 28, 1)`` in ``[0, 1]`` from a saved generator (``generator.keras`` or its run
    folder), the same for the same ``seed``."""
    if n < 1:
        raise InputError("the number of samples must be at least 1")
    if isinstance(generator, str | os.PathLike):
        from phosnet.training import load_checkpoint

        path = Path(generator)
        path = path / GENERATOR_FILE if path.is_dir() else path
        if not path.is_file():
            raise InputError(f"{generator}: no {GENERATOR_FILE} (give a GAN run folder or a generator .keras file)")
        generator = load_checkpoint(path)
    shape = generator.input_shape
    if len(shape) != 2:
        raise InputError("not a generator: its input is not one noise vector")
    return np.asarray(generator.predict(noise(n, int(shape[1]), seed), verbose=0), dtype=np.float32)
