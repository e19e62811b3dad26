"""k-NN image classifier: CV grid equals scikit-learn's own scores, run folder, evaluate/predict, CLI, no TF."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from sklearn.neighbors import KNeighborsClassifier

from phosnet.cli.image import image
from phosnet.errors import InputError
from phosnet.images.knn import cross_validate_knn, fold_ids, load_knn_model, train_knn
from phosnet.images.loaders import load_mnist
from phosnet.images.task import evaluate_image_model, predict_images


def _digits(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Noisy fake digits: class k lights up a row band near 2k (so neighbours mostly, not always, agree)."""
    y = rng.integers(0, 10, n)
    x = rng.integers(0, 120, (n, 28, 28), dtype=np.uint8)
    for i, k in enumerate(y):
        x[i, 2 + 2 * k : 4 + 2 * k, 4:24] = 255
    return x, y.astype(np.uint8)


@pytest.fixture(scope="module")
def mnist_file(tmp_path_factory):
    rng = np.random.default_rng(5)
    (x_train, y_train), (x_test, y_test) = _digits(60, rng), _digits(20, rng)
    path = tmp_path_factory.mktemp("mnist") / "mnist.npz"
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return path


@pytest.fixture(scope="module")
def knn_run(mnist_file, tmp_path_factory):
    return train_knn(load_mnist(mnist_file), run_dir=tmp_path_factory.mktemp("runs") / "knn", ks=(1, 3, 5),
                     metrics=("euclidean", "cosine"), folds=3, seed=0, chunk=7)


def test_cv_cells_equal_scikit_learn_fold_by_fold(mnist_file):
    data = load_mnist(mnist_file)
    grid = cross_validate_knn(data.x_train, data.y_train, ks=(1, 3, 5), metrics=("euclidean", "manhattan"),
                              folds=3, seed=4, chunk=5)
    ids = fold_ids(len(data.x_train), 3, 4)
    flat = data.x_train.reshape(len(data.x_train), -1)
    for row in grid.itertuples():
        for fold in range(3):
            held = ids == fold
            knn = KNeighborsClassifier(n_neighbors=row.k, metric=row.metric, algorithm="brute")
            expected = knn.fit(flat[~held], data.y_train[~held]).score(flat[held], data.y_train[held])
            assert getattr(row, f"fold_{fold + 1}") == pytest.approx(expected), (row.metric, row.k, fold)
    assert len(grid) == 6 and grid["mean"].between(0, 1).all()
    assert grid["std"].gt(0).any()  # the folds differ: not one score copied around


def test_run_folder_records_grid_and_choice(knn_run):
    folder = knn_run.run_dir
    for name in ("model.npz", "config.json", "metadata.json", "cv.tsv", "metrics.json", "confusion_matrix.png",
                 "predictions.png"):
        assert (folder / name).is_file(), name
    grid = pd.read_csv(folder / "cv.tsv", sep="\t")
    assert list(grid.columns) == ["metric", "k", "fold_1", "fold_2", "fold_3", "mean", "std", "selected"]
    np.testing.assert_allclose(grid["mean"], knn_run.history["mean"], rtol=1e-8)
    chosen = grid[grid["selected"]]
    assert len(chosen) == 1 and chosen["mean"].iloc[0] == grid["mean"].max()
    metrics = json.loads((folder / "metrics.json").read_text())
    assert (metrics["k"], metrics["metric"]) == (int(chosen["k"].iloc[0]), chosen["metric"].iloc[0])
    assert np.asarray(metrics["confusion_matrix"]).sum() == metrics["n_test"] == 20
    assert json.loads((folder / "config.json").read_text())["folds"] == 3


def test_test_accuracy_is_scikit_learns_and_evaluate_agrees(knn_run, mnist_file):
    data = load_mnist(mnist_file)
    m = knn_run.metrics
    knn = KNeighborsClassifier(n_neighbors=m["k"], metric=m["metric"], algorithm="brute")
    knn.fit(data.x_train.reshape(60, -1), data.y_train)
    expected = knn.score(data.x_test.reshape(20, -1), data.y_test)
    assert m["test_accuracy"] == pytest.approx(expected)
    again = evaluate_image_model(knn_run.run_dir, "mnist", data=mnist_file)
    assert again["test_accuracy"] == pytest.approx(expected) and "test_loss" not in again
    reloaded = load_knn_model(knn_run.run_dir / "model.npz")
    np.testing.assert_array_equal(reloaded.features, knn_run.model.features)  # the uint8 storage is lossless


def test_predict_images_matches_the_model(knn_run, mnist_file, tmp_path):
    data = load_mnist(mnist_file)
    stack = tmp_path / "six.npy"
    np.save(stack, (data.x_test[:6, ..., 0] * 255).round().astype(np.uint8))
    table = predict_images(knn_run.run_dir, [stack], top=2)
    probabilities = knn_run.model.predict(data.x_test[:6])
    assert table["label"].tolist() == probabilities.argmax(axis=1).tolist()
    np.testing.assert_allclose(table["confidence"], probabilities.max(axis=1), rtol=1e-6)
    assert table["image"].tolist() == [f"{stack}[{i}]" for i in range(6)]


def test_pca_variant_projects_and_reloads(mnist_file, tmp_path):
    run = train_knn(load_mnist(mnist_file), run_dir=tmp_path / "pca", ks=(1, 3), metrics=("euclidean",),
                    folds=2, pca=5, plots=False)
    model = load_knn_model(tmp_path / "pca")
    assert model.features.shape == (60, 5) and model.pca_components is not None
    data = load_mnist(mnist_file)
    np.testing.assert_array_equal(model.predict(data.x_test), run.model.predict(data.x_test))


def test_bad_grid_and_unsafe_files_are_one_line_errors(mnist_file, tmp_path):
    data = load_mnist(mnist_file)
    with pytest.raises(InputError, match="exceeds"):
        cross_validate_knn(data.x_train, data.y_train, ks=(50,), folds=3)
    with pytest.raises(InputError, match="unknown distance"):
        cross_validate_knn(data.x_train, data.y_train, metrics=("hamming",))
    evil = tmp_path / "evil.npz"
    np.savez(evil, labels=np.array([object()], dtype=object))
    with pytest.raises(InputError, match="not a phosnet k-NN model"):
        load_knn_model(evil)


def test_cli_train_evaluate_predict(mnist_file, tmp_path):
    runner = CliRunner()
    out = tmp_path / "cli"
    done = runner.invoke(image, ["train", "--dataset", "mnist", "--data", str(mnist_file), "--model", "knn",
                                 "--k", "1,3", "--metric", "euclidean", "--folds", "2", "--out-dir", str(out)])
    assert done.exit_code == 0, done.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert f"test accuracy {metrics['test_accuracy']:.4f}" in done.output
    done = runner.invoke(image, ["evaluate", str(out), "--dataset", "mnist", "--data", str(mnist_file)])
    assert json.loads(done.output)["test_accuracy"] == pytest.approx(metrics["test_accuracy"])
    done = runner.invoke(image, ["train", "--dataset", "mnist", "--data", str(mnist_file), "--model", "knn",
                                 "--resume", "--out-dir", str(out)])
    assert done.exit_code != 0


def test_knn_never_imports_tensorflow(mnist_file, tmp_path):
    script = ("import sys; from phosnet.cli import main\n"
              "try:\n    main(sys.argv[1:])\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
              "print('tensorflow' in sys.modules, 'keras' in sys.modules, file=sys.stderr)")
    done = subprocess.run(
        [sys.executable, "-c", script, "image", "train", "--dataset", "mnist", "--data", str(mnist_file),
         "--model", "knn", "--k", "1", "--metric", "euclidean", "--folds", "2", "--out-dir", str(tmp_path / "r"),
         "-q"], capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "False False"
    assert "knn on mnist" in done.stdout
