"""Image task: MNIST/CIFAR-10 loaders, training on the shared core, evaluation, prediction and plots.

Only :mod:`phosnet.images.loaders` is imported eagerly (numpy only); the task functions import
TensorFlow when called (the k-NN classifier, :mod:`phosnet.images.knn`, never does).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from phosnet.images.loaders import (
    CIFAR10_CLASSES,
    MNIST_CLASSES,
    ImageData,
    load_cifar10,
    load_dataset,
    load_mnist,
    read_idx,
    read_image,
)

_LAZY = {
    "train_image_model": "phosnet.images.task",
    "evaluate_image_model": "phosnet.images.task",
    "predict_images": "phosnet.images.task",
    "load_image_model": "phosnet.images.task",
    "train_knn": "phosnet.images.knn",
    "load_knn_model": "phosnet.images.knn",
    "cross_validate_knn": "phosnet.images.knn",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'phosnet.images' has no attribute {name!r}")


__all__ = [
    "CIFAR10_CLASSES",
    "MNIST_CLASSES",
    "ImageData",
    "load_cifar10",
    "load_dataset",
    "load_mnist",
    "read_idx",
    "read_image",
    *_LAZY,
]
