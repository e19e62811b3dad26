"""Image loaders on tiny files written by the tests: mnist.npz, IDX (plain/gz), CIFAR batches, npz, images."""

from __future__ import annotations

import gzip
import pickle
import struct

import numpy as np
import pytest

from phosnet.errors import InputError
from phosnet.images.loaders import (
    CIFAR10_CLASSES,
    load_cifar10,
    load_dataset,
    load_mnist,
    read_idx,
    read_image,
    read_images,
    scale_images,
)

RNG = np.random.default_rng(0)


def tiny_mnist(n_train: int = 30, n_test: int = 12) -> dict[str, np.ndarray]:
    return {
        "x_train": RNG.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "y_train": np.arange(n_train, dtype=np.uint8) % 10,
        "x_test": RNG.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "y_test": np.arange(n_test, dtype=np.uint8) % 10,
    }


def tiny_cifar(n_train: int = 30, n_test: int = 12) -> dict[str, np.ndarray]:
    return {
        "x_train": RNG.integers(0, 256, (n_train, 32, 32, 3), dtype=np.uint8),
        "y_train": (np.arange(n_train, dtype=np.uint8) % 10).reshape(-1, 1),
        "x_test": RNG.integers(0, 256, (n_test, 32, 32, 3), dtype=np.uint8),
        "y_test": (np.arange(n_test, dtype=np.uint8) % 10).reshape(-1, 1),
    }


def write_idx(path, array: np.ndarray, compress: bool) -> None:
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + array.astype(np.uint8).tobytes()
    if compress:
        with gzip.open(path, "wb") as handle:
            handle.write(payload)
    else:
        path.write_bytes(payload)


def write_idx_dir(directory, arrays: dict[str, np.ndarray], compress: bool) -> None:
    names = {"x_train": "train-images-idx3-ubyte", "y_train": "train-labels-idx1-ubyte",
             "x_test": "t10k-images-idx3-ubyte", "y_test": "t10k-labels-idx1-ubyte"}
    directory.mkdir()
    for key, name in names.items():
        write_idx(directory / (name + (".gz" if compress else "")), arrays[key], compress)


def write_cifar_batches(directory, arrays: dict[str, np.ndarray]) -> None:
    directory.mkdir()

    def dump(name, x, y):
        batch = {b"data": x.transpose(0, 3, 1, 2).reshape(len(x), -1), b"labels": [int(v) for v in y.ravel()]}
        with open(directory / name, "wb") as handle:
            pickle.dump(batch, handle)

    half = len(arrays["x_train"]) // 2
    dump("data_batch_1", arrays["x_train"][:half], arrays["y_train"][:half])
    dump("data_batch_2", arrays["x_train"][half:], arrays["y_train"][half:])
    dump("test_batch", arrays["x_test"], arrays["y_test"])


def check(data, arrays, shape):
    assert data.x_train.shape == (len(arrays["x_train"]), *shape)
    assert data.x_train.dtype == np.float32
    assert 0.0 <= data.x_train.min() and data.x_train.max() <= 1.0
    assert data.y_train.dtype == np.int64 and data.y_train.ndim == 1
    np.testing.assert_array_equal(data.y_test, arrays["y_test"].ravel())
    np.testing.assert_allclose(data.x_test.reshape(arrays["x_test"].shape) * 255, arrays["x_test"], atol=1e-3)


def test_mnist_npz(tmp_path):
    arrays = tiny_mnist()
    np.savez(tmp_path / "mnist.npz", **arrays)
    data = load_mnist(tmp_path / "mnist.npz")
    check(data, arrays, (28, 28, 1))
    assert data.input_shape == (28, 28, 1) and data.num_classes == 10


@pytest.mark.parametrize("compress", [False, True])
def test_mnist_idx(tmp_path, compress):
    arrays = tiny_mnist()
    write_idx_dir(tmp_path / "idx", arrays, compress)
    check(load_mnist(tmp_path / "idx"), arrays, (28, 28, 1))


def test_read_idx_rejects_bad_files(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04rest")
    with pytest.raises(InputError, match="bad magic"):
        read_idx(tmp_path / "bad")
    write_idx(tmp_path / "short", np.zeros((3, 4), np.uint8), False)
    (tmp_path / "short").write_bytes((tmp_path / "short").read_bytes()[:-2])
    with pytest.raises(InputError, match="data bytes"):
        read_idx(tmp_path / "short")


def test_mnist_env_var(tmp_path, monkeypatch):
    arrays = tiny_mnist()
    np.savez(tmp_path / "m.npz", **arrays)
    monkeypatch.setenv("PHOSNET_MNIST", str(tmp_path / "m.npz"))
    check(load_dataset("mnist", download=False), arrays, (28, 28, 1))


def test_no_path_without_download(monkeypatch):
    monkeypatch.delenv("PHOSNET_CIFAR10", raising=False)
    with pytest.raises(InputError, match="PHOSNET_CIFAR10"):
        load_cifar10(download=False)


def test_cifar_npz(tmp_path):
    arrays = tiny_cifar()
    np.savez_compressed(tmp_path / "c.npz", **arrays)
    data = load_cifar10(tmp_path / "c.npz")
    check(data, arrays, (32, 32, 3))
    assert data.class_names == CIFAR10_CLASSES


@pytest.mark.parametrize("parent", [False, True])
def test_cifar_batches_dir(tmp_path, parent):
    arrays = tiny_cifar()
    write_cifar_batches(tmp_path / "cifar-10-batches-py", arrays)
    path = tmp_path if parent else tmp_path / "cifar-10-batches-py"
    check(load_cifar10(path), arrays, (32, 32, 3))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"x_train": np.zeros((2, 28, 28))}, "missing array"),
        ({**tiny_mnist(), "y_train": np.arange(5)}, "labels for"),
        ({**tiny_mnist(), "y_test": np.full(12, 11)}, "outside 0..9"),
    ],
)
def test_bad_npz(tmp_path, content, message):
    np.savez(tmp_path / "bad.npz", **content)
    with pytest.raises(InputError, match=message):
        load_mnist(tmp_path / "bad.npz")


def test_wrong_channels_and_missing(tmp_path):
    np.savez(tmp_path / "c.npz", **tiny_cifar())
    with pytest.raises(InputError, match="1 channel"):
        load_mnist(tmp_path / "c.npz")
    with pytest.raises(InputError, match="no such file"):
        load_mnist(tmp_path / "nothere.npz")
    (tmp_path / "notnpz.npz").write_text("hello")
    with pytest.raises(InputError, match="not an .npz archive"):
        load_mnist(tmp_path / "notnpz.npz")
    with pytest.raises(InputError, match="unknown dataset"):
        load_dataset("svhn", tmp_path / "c.npz")


def test_scale_images():
    x = scale_images(np.array([[[0, 255]]], dtype=np.uint8))
    assert x.shape == (1, 1, 2, 1) and x.max() == 1.0
    same = np.full((1, 2, 2, 1), 0.5, dtype=np.float64)
    assert scale_images(same).max() == pytest.approx(0.5)


def test_read_image_png_jpeg_npy(tmp_path):
    from PIL import Image

    pixels = RNG.integers(0, 256, (40, 30, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "a.png")
    Image.fromarray(pixels).save(tmp_path / "a.jpg")
    gray = read_image(tmp_path / "a.png", (28, 28, 1))
    assert gray.shape == (1, 28, 28, 1) and gray.dtype == np.float32
    assert read_image(tmp_path / "a.jpg", (32, 32, 3)).shape == (1, 32, 32, 3)
    np.save(tmp_path / "one.npy", RNG.integers(0, 256, (28, 28), dtype=np.uint8))
    np.save(tmp_path / "stack.npy", RNG.random((3, 28, 28, 1)).astype(np.float32))
    x, names = read_images([tmp_path / "one.npy", tmp_path / "stack.npy", tmp_path / "a.png"], (28, 28, 1))
    assert x.shape == (5, 28, 28, 1)
    assert names[0].endswith("one.npy") and names[1].endswith("stack.npy[0]") and names[4].endswith("a.png")
    with pytest.raises(InputError, match="does not match"):
        read_image(tmp_path / "one.npy", (32, 32, 3))
    (tmp_path / "fake.png").write_text("not a picture")
    with pytest.raises(InputError, match="not a readable image"):
        read_image(tmp_path / "fake.png", (28, 28, 1))
