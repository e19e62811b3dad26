"""Image task on the shared training core: short runs per model family, run folder, evaluate, predict, CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

pytest.importorskip("keras")

from phosnet.cli.image import image  # noqa: E402
from phosnet.errors import InputError  # noqa: E402
from phosnet.images.loaders import load_cifar10, load_mnist  # noqa: E402
from phosnet.images.task import (  # noqa: E402
    evaluate_image_model,
    predict_images,
    split_validation,
    train_image_model,
)

pytestmark = pytest.mark.slow  # trains image networks

RUN_FILES = ("model.keras", "history.tsv", "config.json", "metrics.json", "training_curves.png",
             "predictions.png")


def _digits(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Learnable fake digits: class k lights up row band k."""
    y = np.arange(n) % 10
    x = rng.integers(0, 40, (n, 28, 28), dtype=np.uint8)
    for i, k in enumerate(y):
        x[i, 2 + 2 * k : 4 + 2 * k, 4:24] = 255
    return x, y.astype(np.uint8)


@pytest.fixture(scope="module")
def mnist_file(tmp_path_factory):
    rng = np.random.default_rng(1)
    (x_train, y_train), (x_test, y_test) = _digits(40, rng), _digits(12, rng)
    path = tmp_path_factory.mktemp("mnist") / "mnist.npz"
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return path


@pytest.fixture(scope="module")
def cifar_file(tmp_path_factory):
    rng = np.random.default_rng(2)
    path = tmp_path_factory.mktemp("cifar") / "cifar.npz"
    np.savez(path, x_train=rng.integers(0, 256, (30, 32, 32, 3), dtype=np.uint8),
             y_train=(np.arange(30) % 10).reshape(-1, 1), x_test=rng.integers(0, 256, (10, 32, 32, 3),
             dtype=np.uint8), y_test=np.arange(10).reshape(-1, 1))
    return path


@pytest.fixture(scope="module")
def cnn_run(mnist_file, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("runs") / "cnn"
    return train_image_model(load_mnist(mnist_file), run_dir=run_dir, model="cnn", epochs=2, batch_size=8,
                             validation_split=0.25, seed=0)


def test_split_validation_is_seeded():
    x, y = np.arange(20).reshape(20, 1), np.arange(20)
    (a, _), (va, _) = split_validation(x, y, 0.25, seed=3)
    (b, _), (vb, _) = split_validation(x, y, 0.25, seed=3)
    np.testing.assert_array_equal(va, vb)
    assert len(va) == 5 and len(np.intersect1d(a, va)) == 0
    with pytest.raises(InputError):
        split_validation(x, y, 1.5)


def test_run_folder_contents(cnn_run):
    for name in RUN_FILES:
        assert (cnn_run.run_dir / name).is_file(), name
    metrics = json.loads((cnn_run.run_dir / "metrics.json").read_text())
    assert 0.0 <= metrics["test_accuracy"] <= 1.0 and metrics["test_loss"] > 0
    assert metrics["parameters"] == 80_202 and metrics["n_test"] == 12
    history = pd.read_csv(cnn_run.run_dir / "history.tsv", sep="\t")
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(history.columns)
    assert len(history) == metrics["epochs_run"] <= 2
    config = json.loads((cnn_run.run_dir / "config.json").read_text())
    assert "cnn" in json.dumps(config)


@pytest.mark.parametrize(("model", "options"), [("mlp", None), ("lenet5", None), ("cnn_bn", {"augment": 0.1})])
def test_one_epoch_per_mnist_family(mnist_file, tmp_path, model, options):
    run = train_image_model("mnist", data=mnist_file, run_dir=tmp_path / model, model=model, epochs=1,
                            batch_size=8, validation_split=0.25, model_options=options, plots=False)
    assert run.metrics["epochs_run"] == 1
    assert (tmp_path / model / "model.keras").is_file()


def test_alexnet_on_cifar(cifar_file, tmp_path):
    options = {"filters": (8, 8, 8, 8, 8), "dense": 16}
    run = train_image_model(load_cifar10(cifar_file), run_dir=tmp_path / "alex", model="alexnet", epochs=1,
                            batch_size=8, validation_split=0.2, model_options=options)
    assert run.model.output_shape == (None, 10)
    assert (tmp_path / "alex" / "predictions.png").is_file()
    assert run.metrics["dataset"] == "cifar10"


def test_evaluate_matches_metrics(cnn_run, mnist_file):
    metrics = evaluate_image_model(cnn_run.run_dir, "mnist", data=mnist_file)
    assert metrics["test_accuracy"] == pytest.approx(cnn_run.metrics["test_accuracy"], abs=1e-6)
    with pytest.raises(InputError, match="expects"):
        evaluate_image_model(cnn_run.run_dir, "cifar10", data=_cifar_like(mnist_file))


def _cifar_like(mnist_file):
    path = mnist_file.parent / "c.npz"
    z = np.zeros((4, 32, 32, 3), np.uint8)
    np.savez(path, x_train=z, y_train=np.zeros(4), x_test=z, y_test=np.zeros(4))
    return path


def test_predict_images_api(cnn_run, tmp_path):
    np.save(tmp_path / "stack.npy", np.zeros((3, 28, 28), np.uint8))
    table = predict_images(cnn_run.run_dir, [tmp_path / "stack.npy"], top=3)
    assert list(table.columns) == ["image", "label", "class", "confidence", "top"]
    assert len(table) == 3 and table["confidence"].between(0, 1).all()
    assert set(table["class"]) <= {str(i) for i in range(10)}


def test_cli_predict(cnn_run, tmp_path):
    from PIL import Image

    Image.fromarray(np.full((28, 28), 200, np.uint8)).save(tmp_path / "digit.png")
    np.save(tmp_path / "digit.npy", np.zeros((28, 28), np.float32))
    result = CliRunner().invoke(image, ["predict", str(cnn_run.run_dir / "model.keras"),
                                        str(tmp_path / "digit.png"), str(tmp_path / "digit.npy")])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[0] == "image\tlabel\tclass\tconfidence" and len(lines) == 3
    assert lines[1].startswith(str(tmp_path / "digit.png"))


def test_cli_predict_bad_image_is_one_line(cnn_run, tmp_path):
    (tmp_path / "x.png").write_text("nope")
    result = CliRunner().invoke(image, ["predict", str(cnn_run.run_dir), str(tmp_path / "x.png")])
    assert result.exit_code != 0
    assert isinstance(result.exception, InputError) and "\n" not in str(result.exception)


def test_cli_train_and_evaluate(mnist_file, tmp_path):
    out = tmp_path / "run"
    result = CliRunner().invoke(image, ["train", "--dataset", "mnist", "--data", str(mnist_file), "--model",
                                        "mlp", "--out-dir", str(out), "--epochs", "1", "--batch-size", "8",
                                        "--validation-split", "0.25", "--seed", "1"])
    assert result.exit_code == 0, result.output
    assert "test accuracy" in result.output
    assert (out / "metrics.json").is_file()
    result = CliRunner().invoke(image, ["evaluate", str(out), "--dataset", "mnist", "--data", str(mnist_file)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["n_test"] == 12


def test_time_budget_stops_mid_epoch(mnist_file, tmp_path):
    run = train_image_model("mnist", data=mnist_file, run_dir=tmp_path / "budget", model="mlp", epochs=5,
                            batch_size=4, validation_split=0.25, time_budget=1e-6, plots=False)
    assert 0 < run.metrics["epochs_run"] < 1
    assert (tmp_path / "budget" / "model.keras").is_file()


def test_cli_subprocess_help():
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "phosnet", "image", "predict", "--help"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "PNG/JPEG or .npy" in done.stdout
