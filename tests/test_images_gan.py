"""GAN on the training core: run folder, per-epoch quality in the history (recomputed), resume, sample verb."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

pytest.importorskip("keras")

from phosnet.cli.image import image  # noqa: E402
from phosnet.images.gan import noise, sample_digits, train_gan  # noqa: E402
from phosnet.images.loaders import load_mnist  # noqa: E402

pytestmark = pytest.mark.slow  # trains a (tiny) GAN


def _quality(probabilities: np.ndarray) -> tuple[float, float]:
    """Share with max probability > 0.9, and exp(mean KL(p(y|x) || p(y))), in numpy."""
    p = np.clip(probabilities.astype(np.float64), 1e-12, 1.0)
    marginal = p.mean(axis=0, keepdims=True)
    return float(np.mean(probabilities.max(axis=1) > 0.9)), float(np.exp(np.mean(np.sum(p * np.log(p / marginal),
                                                                                       axis=1))))


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    from phosnet._tf import keras

    root = tmp_path_factory.mktemp("gan")
    rng = np.random.default_rng(0)
    x = rng.integers(0, 60, (64, 28, 28), dtype=np.uint8)
    x[:, 10:18, 6:22] = 255
    np.savez(root / "mnist.npz", x_train=x, y_train=np.arange(64) % 10, x_test=x[:10], y_test=np.arange(10))
    k = keras()
    k.utils.set_random_seed(1)
    judge = k.Sequential([k.Input((28, 28, 1)), k.layers.Flatten(), k.layers.Dense(10, activation="softmax")])
    judge.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    judge.save(root / "judge.keras")
    return root


@pytest.fixture(scope="module")
def gan_run(files):
    return train_gan(load_mnist(files / "mnist.npz"), run_dir=files / "run", classifier=files / "judge.keras",
                     epochs=2, batch_size=16, latent_dim=8, n_quality=40, seed=3)


def test_quality_metric_on_known_probabilities():
    from phosnet._tf import tensorflow
    from phosnet.models.gan import sample_quality_tensors

    tf = tensorflow()
    spread = np.eye(10, dtype=np.float32)[np.arange(40) % 10]
    same = np.eye(10, dtype=np.float32)[np.zeros(40, dtype=int)]
    unsure = np.full((40, 10), 0.1, dtype=np.float32)
    for probabilities, expected in ((spread, (1.0, 10.0)), (same, (1.0, 1.0)), (unsure, (0.0, 1.0))):
        confident, score = (float(v) for v in sample_quality_tensors(tf, tf.constant(probabilities)))
        assert (confident, score) == pytest.approx(expected, rel=1e-4)
        assert (confident, score) == pytest.approx(_quality(probabilities), rel=1e-4)


def test_run_folder_history_and_samples(gan_run):
    folder = gan_run.run_dir
    for name in ("model.keras", "last.keras", "state.json", "history.tsv", "config.json", "metadata.json",
                 "metrics.json", "generator.keras", "samples/epoch-001.png", "samples/epoch-002.png"):
        assert (folder / name).is_file(), name
    history = pd.read_csv(folder / "history.tsv", sep="\t")
    assert len(history) == 2
    assert {"d_loss", "g_loss", "val_confident", "val_inception_score"} <= set(history.columns)
    assert history["val_inception_score"].between(1.0, 10.0).all()
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["monitor"] == "val_inception_score" and metrics["epochs_run"] == 2
    best = history["val_inception_score"].idxmax()
    assert metrics["best_epoch"] == best + 1
    assert metrics["inception_score"] == pytest.approx(history["val_inception_score"][best])


def test_history_quality_is_the_classifiers_verdict_on_the_kept_generator(gan_run, files):
    """The kept generator (best epoch) on the fixed quality noise, judged by the classifier in numpy, gives the
    best epoch's history values."""
    from phosnet._tf import keras

    judge = keras().models.load_model(files / "judge.keras")
    images = sample_digits(gan_run.run_dir, 40, seed=3 + 1)  # train_gan's quality noise is seed + 1
    np.testing.assert_allclose(images, gan_run.gan.generator.predict(noise(40, 8, 4), verbose=0), atol=1e-6)
    confident, score = _quality(judge.predict(images, verbose=0))
    assert confident == pytest.approx(gan_run.metrics["confident"], abs=1e-6)
    assert score == pytest.approx(gan_run.metrics["inception_score"], rel=1e-4)


def test_resume_continues_both_optimizers(files, tmp_path):
    data = load_mnist(files / "mnist.npz")
    first = train_gan(data, run_dir=tmp_path / "r", epochs=1, batch_size=16, latent_dim=8, seed=0)
    steps = int(first.gan.g_optimizer.iterations.numpy())
    assert steps == 4 and first.metrics["monitor"] == "g_loss"
    again = train_gan(data, run_dir=tmp_path / "r", epochs=2, batch_size=16, latent_dim=8, seed=0, resume=True)
    assert len(pd.read_csv(tmp_path / "r" / "history.tsv", sep="\t")) == 2
    assert json.loads((tmp_path / "r" / "state.json").read_text())["epoch"] == 1
    assert int(again.gan.g_optimizer.iterations.numpy()) == 2 * steps  # the generator's Adam state came back
    assert int(again.gan.optimizer.iterations.numpy()) == 2 * steps


def test_sample_cli_is_seeded(gan_run, tmp_path):
    runner = CliRunner()
    outputs = {}
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        out = tmp_path / f"{name}.npy"
        done = runner.invoke(image, ["sample", "--generator", str(gan_run.run_dir / "generator.keras"), "-n", "6",
                                     "--seed", str(seed), "-o", str(out)])
        assert done.exit_code == 0, done.output
        outputs[name] = np.load(out)
    assert outputs["a"].shape == (6, 28, 28, 1)
    np.testing.assert_array_equal(outputs["a"], outputs["b"])
    assert not np.allclose(outputs["a"], outputs["c"])
    np.testing.assert_allclose(outputs["a"], sample_digits(gan_run.run_dir, 6, seed=7), atol=1e-6)
    done = runner.invoke(image, ["sample", "--generator", str(gan_run.run_dir), "-n", "12", "-o",
                                 str(tmp_path / "grid.png")])
    assert done.exit_code == 0 and (tmp_path / "grid.png").read_bytes()[:4] == b"\x89PNG"
