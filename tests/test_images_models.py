"""Image model builders: output shapes and parameter counts of the standard definitions."""

from __future__ import annotations

import numpy as np
import pytest

from phosnet.errors import InputError

pytest.importorskip("keras")

from phosnet.models.image import build_image_model, compile_image_model  # noqa: E402

CASES = [
    ("mlp", (28, 28, 1), 101_770),
    ("cnn", (28, 28, 1), 80_202),
    ("cnn_bn", (28, 28, 1), 80_346),
    ("lenet5", (28, 28, 1), 61_706),
    ("alexnet", (32, 32, 3), 7_511_370),
]


@pytest.mark.parametrize(("name", "shape", "params"), CASES)
def test_shape_and_parameter_count(name, shape, params):
    model = build_image_model(name, shape, 10)
    assert model.count_params() == params
    assert model.output_shape == (None, 10)
    out = model(np.zeros((2, *shape), np.float32), training=False)
    np.testing.assert_allclose(np.asarray(out).sum(axis=1), 1.0, rtol=1e-5)  # softmax


def test_options_change_the_network():
    assert build_image_model("mlp", (28, 28, 1), 10, hidden=64).count_params() == 784 * 64 + 64 + 650
    assert build_image_model("cnn", (32, 32, 3), 5).output_shape == (None, 5)
    augmented = build_image_model("cnn", (28, 28, 1), 10, augment=0.1)
    assert augmented.count_params() == 80_202  # augmentation adds no weights
    assert build_image_model("alexnet", (28, 28, 1), 10).output_shape == (None, 10)


def test_unknown_names():
    with pytest.raises(InputError, match="unknown image model"):
        build_image_model("resnet", (28, 28, 1), 10)
    with pytest.raises(InputError, match="unknown optimizer"):
        compile_image_model(build_image_model("mlp", (28, 28, 1), 10), optimizer="lbfgs")
