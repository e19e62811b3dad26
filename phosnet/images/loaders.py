"""MNIST and CIFAR-10 loaders, and single-image readers for prediction.

Pure numpy (plus Pillow for PNG/JPEG): importing this module never imports TensorFlow.

Supported inputs
----------------
MNIST
    * a Keras-layout ``mnist.npz`` (``x_train (N,28,28) uint8, y_train, x_test, y_test``);
    * a directory holding the four raw IDX files (``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
      ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``), each optionally gzipped (``.gz``); the
      ``train-images.idx3-ubyte`` spelling is accepted too.
CIFAR-10
    * the official python batches directory ``cifar-10-batches-py`` (``data_batch_1..5``, ``test_batch``,
      optional ``batches.meta``), or its parent;
    * an ``.npz`` with ``x_train (N,32,32,3) uint8, y_train, x_test, y_test``.

The path comes from the argument, else from ``PHOSNET_MNIST`` / ``PHOSNET_CIFAR10``; only when neither is
given is the standard Keras download used (``download=True``).

Every loader returns an :class:`ImageData` with pixels scaled to ``[0, 1]`` as ``float32``, a channel
axis (``(N, H, W, C)``) and integer labels (``int64``, shape ``(N,)``).
"""

from __future__ import annotations

import gzip
import logging
import os
import pickle
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from phosnet.errors import InputError

logger = logging.getLogger(__name__)
logger.addHandler(logging.NullHandler())

__all__ = [
    "CIFAR10_CLASSES",
    "DATASETS",
    "ENV_VARS",
    "MNIST_CLASSES",
    "ImageData",
    "load_cifar10",
    "load_dataset",
    "load_mnist",
    "read_idx",
    "read_image",
    "read_images",
    "scale_images",
]

MNIST_CLASSES: tuple[str, ...] = tuple(str(i) for i in range(10))
"""MNIST class names: the digits ``"0"`` .. ``"9"``."""

CIFAR10_CLASSES: tuple[str, ...] = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)
"""CIFAR-10 class names in label order."""

ENV_VARS: dict[str, str] = {"mnist": "PHOSNET_MNIST", "cifar10": "PHOSNET_CIFAR10"}
"""Environment variable read for each dataset when no path is given."""

DATASETS: tuple[str, ...] = ("mnist", "cifar10")

_IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

_MNIST_IDX = {
    "x_train": ("train-images-idx3-ubyte", "train-images.idx3-ubyte"),
    "y_train": ("train-labels-idx1-ubyte", "train-labels.idx1-ubyte"),
    "x_test": ("t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"),
    "y_test": ("t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"),
}


@dataclass
class ImageData:
    """A train/test image classification dataset, already scaled.

    Attributes
    ----------
    x_train, x_test : numpy.ndarray
        ``float32`` images in ``[0, 1]``, shape ``(N, H, W, C)``.
    y_train, y_test : numpy.ndarray
        ``int64`` class indices, shape ``(N,)``.
    class_names : tuple of str
        Name of each class index.
    name : str
        Dataset name (``"mnist"`` or ``"cifar10"``).
    source : str
        Where the arrays were read from (path or ``"download"``).
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    name: str
    source: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """Shape of one image, ``(H, W, C)``."""
        return tuple(int(d) for d in self.x_train.shape[1:])  # type: ignore[return-value]

    @property
    def num_classes(self) -> int:
        """Number of classes."""
        return len(self.class_names)

    def subset(self, n_train: int | None = None, n_test: int | None = None) -> ImageData:
        """Return the first ``n_train`` training and ``n_test`` test images (``None`` keeps all)."""
        return ImageData(
            self.x_train[:n_train], self.y_train[:n_train], self.x_test[:n_test], self.y_test[:n_test],
            self.class_names, self.name, self.source, dict(self.extra),
        )


# ---------------------------------------------------------------------------------------------- helpers
def scale_images(x: np.ndarray, *, channels: int | None = None, source: object = "array") -> np.ndarray:
    """Scale images to ``float32`` in ``[0, 1]`` and make sure they have a channel axis.

    Integer arrays (and float arrays with values above 1) are divided by 255. A 3-D array ``(N, H, W)``
    gets a trailing channel axis; with ``channels`` given, the channel count is checked.

    >>> scale_images(np.full((2, 3, 3), 255, dtype=np.uint8)).shape
    (2, 3, 3, 1)
    """
    x = np.asarray(x)
    if x.ndim == 3:
        x = x[..., np.newaxis]
    if x.ndim != 4:
        raise InputError(f"{source}: expected images of shape (N, H, W) or (N, H, W, C), got {x.shape}")
    if channels is not None and x.shape[-1] != channels:
        raise InputError(f"{source}: expected {channels} channel(s), got shape {x.shape}")
    if np.issubdtype(x.dtype, np.integer) or (x.size and float(np.max(x)) > 1.0):
        return (x.astype(np.float32) / 255.0).astype(np.float32)
    return x.astype(np.float32)


def _labels(y: np.ndarray, n: int, source: object, key: str) -> np.ndarray:
    y = np.asarray(y).reshape(-1)
    if y.shape[0] != n:
        raise InputError(f"{source}: {key} has {y.shape[0]} labels for {n} images")
    if y.size and not np.issubdtype(y.dtype, np.integer):
        if not np.all(np.equal(np.mod(y, 1), 0)):
            raise InputError(f"{source}: {key} holds non-integer labels")
    return y.astype(np.int64)


def _check_labels(y: np.ndarray, n_classes: int, source: object, key: str) -> None:
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise InputError(f"{source}: {key} has labels outside 0..{n_classes - 1}")


def _from_arrays(
    arrays: dict[str, np.ndarray], *, name: str, classes: tuple[str, ...], channels: int, source: object
) -> ImageData:
    out: dict[str, np.ndarray] = {}
    for part in ("train", "test"):
        x = scale_images(arrays[f"x_{part}"], channels=channels, source=source)
        y = _labels(arrays[f"y_{part}"], x.shape[0], source, f"y_{part}")
        _check_labels(y, len(classes), source, f"y_{part}")
        out[f"x_{part}"], out[f"y_{part}"] = x, y
    return ImageData(out["x_train"], out["y_train"], out["x_test"], out["y_test"], classes, name, str(source))


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    if not zipfile.is_zipfile(path):
        raise InputError(f"{path}: not an .npz archive (expected x_train, y_train, x_test, y_test arrays)")
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [k for k in ("x_train", "y_train", "x_test", "y_test") if k not in data.files]
            if missing:
                raise InputError(
                    f"{path}: missing array(s) {', '.join(missing)} (found {', '.join(data.files) or 'none'})"
                )
            return {k: data[k] for k in ("x_train", "y_train", "x_test", "y_test")}
    except InputError:
        raise
    except (OSError, ValueError, EOFError) as exc:
        raise InputError(f"{path}: not a readable .npz file ({exc})") from exc


def _open(path: Path):
    with open(path, "rb") as handle:
        magic = handle.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file (the raw MNIST format), gzipped or not.

    Parameters
    ----------
    path : path-like
        File to read; gzip compression is detected from the content, not the suffix.

    Returns
    -------
    numpy.ndarray
        Array with the dimensions and element type stored in the header.
    """
    path = Path(path)
    try:
        with _open(path) as handle:
            raw = handle.read()
    except (OSError, EOFError) as exc:
        raise InputError(f"{path}: cannot read IDX file ({exc})") from exc
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise InputError(f"{path}: not an IDX file (bad magic number)")
    dtype, ndim = _IDX_DTYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise InputError(f"{path}: truncated IDX header")
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = int(np.prod(dims)) * dtype.itemsize
    if len(raw) - header != expected:
        raise InputError(f"{path}: IDX header says {dims} but the file holds {len(raw) - header} data bytes")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims).astype(dtype.newbyteorder("="))


def _find_idx(directory: Path, names: Sequence[str]) -> Path:
    for name in names:
        for candidate in (directory / name, directory / f"{name}.gz"):
            if candidate.is_file():
                return candidate
    raise InputError(f"{directory}: no {names[0]}[.gz] file (MNIST IDX directory expected)")


def _resolve(path: str | os.PathLike | None, dataset: str) -> Path | None:
    if path is None or str(path) == "":
        env = os.environ.get(ENV_VARS[dataset], "")
        if not env:
            return None
        path = env
    resolved = Path(path).expanduser()
    if not resolved.exists():
        raise InputError(f"{resolved}: no such file or directory ({dataset} data)")
    return resolved


def _download(dataset: str) -> dict[str, np.ndarray]:
    logger.info("no %s path given (option or %s): downloading with keras.datasets", dataset, ENV_VARS[dataset])
    try:
        import keras

        module = keras.datasets.mnist if dataset == "mnist" else keras.datasets.cifar10
        (x_train, y_train), (x_test, y_test) = module.load_data()
    except Exception as exc:  # noqa: BLE001 - any failure means: tell the user to give a path
        raise InputError(
            f"{dataset}: no data path given and the download failed ({exc}); pass --data PATH "
            f"or set {ENV_VARS[dataset]}"
        ) from exc
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


# ---------------------------------------------------------------------------------------------- loaders
def load_mnist(path: str | os.PathLike | None = None, *, download: bool = True) -> ImageData:
    """Load MNIST from a Keras ``mnist.npz`` or a directory of raw IDX files.

    Parameters
    ----------
    path : path-like, optional
        ``.npz`` file or IDX directory. Default: ``$PHOSNET_MNIST``, else the Keras download.
    download : bool
        Allow the standard download when no path is given. Default: True.

    Returns
    -------
    ImageData
        ``x`` of shape ``(N, 28, 28, 1)`` in ``[0, 1]``, labels 0..9.
    """
    resolved = _resolve(path, "mnist")
    if resolved is None:
        if not download:
            raise InputError("mnist: no data path given (use --data PATH or set PHOSNET_MNIST)")
        arrays, source = _download("mnist"), "download"
    elif resolved.is_dir():
        arrays = {key: read_idx(_find_idx(resolved, names)) for key, names in _MNIST_IDX.items()}
        source = str(resolved)
    else:
        arrays, source = _read_npz(resolved), str(resolved)
    return _from_arrays(arrays, name="mnist", classes=MNIST_CLASSES, channels=1, source=source)


def _unpickle(path: Path) -> dict:
    try:
        with open(path, "rb") as handle:
            return pickle.load(handle, encoding="bytes")
    except Exception as exc:  # noqa: BLE001 - pickle raises many types on bad input
        raise InputError(f"{path}: not a CIFAR-10 python batch ({exc})") from exc


def _read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    batch = _unpickle(path)
    batch = {k.decode() if isinstance(k, bytes) else k: v for k, v in batch.items()}
    if "data" not in batch or "labels" not in batch:
        raise InputError(f"{path}: CIFAR-10 batch without 'data' and 'labels'")
    data = np.asarray(batch["data"], dtype=np.uint8)
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise InputError(f"{path}: CIFAR-10 batch data has shape {data.shape}, expected (N, 3072)")
    x = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return x, np.asarray(batch["labels"])


def _cifar_dir(directory: Path) -> dict[str, np.ndarray]:
    if not (directory / "test_batch").is_file() and (directory / "cifar-10-batches-py").is_dir():
        directory = directory / "cifar-10-batches-py"
    train = sorted(directory.glob("data_batch_*"), key=lambda p: p.name)
    if not train or not (directory / "test_batch").is_file():
        raise InputError(f"{directory}: no data_batch_* and test_batch files (cifar-10-batches-py expected)")
    parts = [_read_cifar_batch(p) for p in train]
    x_test, y_test = _read_cifar_batch(directory / "test_batch")
    return {
        "x_train": np.concatenate([p[0] for p in parts]),
        "y_train": np.concatenate([p[1] for p in parts]),
        "x_test": x_test,
        "y_test": y_test,
    }


def load_cifar10(path: str | os.PathLike | None = None, *, download: bool = True) -> ImageData:
    """Load CIFAR-10 from the ``cifar-10-batches-py`` directory or an ``.npz``.

    Parameters
    ----------
    path : path-like, optional
        Batches directory (or its parent) or ``.npz`` file. Default: ``$PHOSNET_CIFAR10``, else the Keras
        download.
    download : bool
        Allow the standard download when no path is given. Default: True.

    Returns
    -------
    ImageData
        ``x`` of shape ``(N, 32, 32, 3)`` in ``[0, 1]``, labels 0..9 in CIFAR order.
    """
    resolved = _resolve(path, "cifar10")
    if resolved is None:
        if not download:
            raise InputError("cifar10: no data path given (use --data PATH or set PHOSNET_CIFAR10)")
        arrays, source = _download("cifar10"), "download"
    elif resolved.is_dir():
        arrays, source = _cifar_dir(resolved), str(resolved)
    else:
        arrays, source = _read_npz(resolved), str(resolved)
    return _from_arrays(arrays, name="cifar10", classes=CIFAR10_CLASSES, channels=3, source=source)


def load_dataset(name: str, path: str | os.PathLike | None = None, *, download: bool = True) -> ImageData:
    """Load ``"mnist"`` or ``"cifar10"`` (see :func:`load_mnist`, :func:`load_cifar10`)."""
    key = name.lower().replace("-", "")
    if key == "mnist":
        return load_mnist(path, download=download)
    if key == "cifar10":
        return load_cifar10(path, download=download)
    raise InputError(f"unknown dataset {name!r} (choose from {', '.join(DATASETS)})")


# ---------------------------------------------------------------------------------------- single images
def read_image(path: str | os.PathLike, input_shape: Sequence[int]) -> np.ndarray:
    """Read images for prediction, shaped for a model.

    PNG/JPEG (any Pillow format) are converted to grayscale or RGB to match ``input_shape`` and resized
    to its height and width. ``.npy`` files may hold one image ``(H, W)``/``(H, W, C)`` or a stack
    ``(N, H, W[, C])`` that already has the model's size.

    Parameters
    ----------
    path : path-like
        Image file.
    input_shape : sequence of int
        ``(H, W, C)`` of the model input.

    Returns
    -------
    numpy.ndarray
        ``float32`` array ``(N, H, W, C)`` in ``[0, 1]`` (``N`` = 1 for picture files).
    """
    path = Path(path)
    height, width, channels = (int(d) for d in input_shape)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    if path.suffix.lower() == ".npy":
        try:
            x = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise InputError(f"{path}: not a readable .npy file ({exc})") from exc
        if not np.issubdtype(x.dtype, np.number):
            raise InputError(f"{path}: .npy holds {x.dtype}, not numbers")
        if x.ndim == 2 or (x.ndim == 3 and x.shape[-1] == channels and x.shape[:2] == (height, width)):
            x = x[np.newaxis]
        x = scale_images(x, source=path)
        if x.shape[1:] != (height, width, channels):
            raise InputError(f"{path}: image shape {x.shape[1:]} does not match the model input "
                             f"{(height, width, channels)}")
        return x
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError as exc:  # pragma: no cover - pillow is a dependency
        raise InputError(f"{path}: reading pictures needs Pillow") from exc
    try:
        with Image.open(path) as opened:
            picture = opened.convert("L" if channels == 1 else "RGB")
            if picture.size != (width, height):
                picture = picture.resize((width, height), Image.Resampling.BILINEAR)
            x = np.asarray(picture, dtype=np.uint8)
    except (UnidentifiedImageError, OSError) as exc:
        raise InputError(f"{path}: not a readable image ({exc})") from exc
    if channels not in (1, 3):
        raise InputError(f"{path}: models with {channels} channels cannot read pictures; use .npy")
    return scale_images(x[np.newaxis], channels=channels, source=path)


def read_images(
    paths: Sequence[str | os.PathLike], input_shape: Sequence[int]
) -> tuple[np.ndarray, list[str]]:
    """Read several image files; return the stacked array and one label per image (``file`` or ``file[i]``)."""
    arrays, names = [], []
    for path in paths:
        x = read_image(path, input_shape)
        arrays.append(x)
        if x.shape[0] == 1:
            names.append(str(path))
        else:
            names.extend(f"{path}[{i}]" for i in range(x.shape[0]))
    if not arrays:
        raise InputError("no image files given")
    return np.concatenate(arrays), names
