"""The shared training core: run folder, best checkpoint, early stopping, seeds, resume."""

from __future__ import annotations

import json

import numpy as np
import pytest

from phosnet import training
from phosnet._tf import keras

pytestmark = pytest.mark.slow  # trains networks


def _tiny_model(seed: int):
    training.set_seed(seed)
    k = keras()
    model = k.Sequential([k.Input((4,)), k.layers.Dense(8, activation="relu"), k.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=k.optimizers.Adam(0.01), loss="binary_crossentropy", metrics=[k.metrics.AUC(name="auc")])
    return model


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 4)).astype("float32")
    y = (x[:, 0] + 0.5 * rng.normal(size=200) > 0).astype("float32")
    return (x[:150], y[:150]), (x[150:], y[150:])


def test_run_folder_and_best_checkpoint(tmp_path, data):
    train, val = data
    result = training.train_model(
        _tiny_model(1), train, val, run_dir=tmp_path, epochs=3, batch_size=32, config={"model": "tiny"},
        metadata={"data": "synthetic"},
    )
    for name in ("model.keras", "last.keras", "state.json", "history.tsv", "config.json", "metadata.json"):
        assert (tmp_path / name).exists(), name
    assert list(result.history["epoch"]) == [0, 1, 2]
    assert {"auc", "val_auc", "loss", "val_loss", "learning_rate"} <= set(result.history.columns)
    assert json.loads((tmp_path / "config.json").read_text())["training"]["monitor"] == "val_auc"
    metadata = json.loads((tmp_path / "metadata.json").read_text())
    assert metadata["data"] == "synthetic" and metadata["best_value"] == result.history["val_auc"].max()
    # The returned model carries the best checkpoint's weights, and the checkpoint reloads to the same scores.
    reloaded = keras().models.load_model(tmp_path / "model.keras")
    np.testing.assert_allclose(reloaded.predict(val[0], verbose=0), result.model.predict(val[0], verbose=0), atol=1e-6)


def test_early_stopping_restores_best_weights(tmp_path, data):
    train, val = data
    k = keras()

    class _Sabotage(k.callbacks.Callback):
        """After epoch 2, scramble the weights so every later epoch is worse than the best one."""

        def on_epoch_begin(self, epoch, logs=None):
            if epoch >= 2:
                self.model.set_weights([w * 0 + np.random.default_rng(epoch).normal(size=w.shape) for w in
                                        self.model.get_weights()])

    result = training.train_model(
        _tiny_model(2), train, val, run_dir=tmp_path, epochs=30, batch_size=150, patience=2,
        extra_callbacks=[_Sabotage()],
    )
    assert result.epochs_run < 30  # stopped early
    best = result.history["val_auc"].max()
    assert result.best_value == best
    auc = k.metrics.AUC()
    auc.update_state(val[1], result.model.predict(val[0], verbose=0))
    assert float(auc.result()) == pytest.approx(best, abs=1e-6)


def test_same_seed_same_weights_different_seed_different(tmp_path, data):
    train, val = data
    runs = [
        training.train_model(
            _tiny_model(seed), train, val, run_dir=tmp_path / str(i), epochs=1, batch_size=32, seed=seed
        )
        for i, seed in enumerate((7, 7, 8))
    ]
    first, again, other = (r.model.get_weights()[0] for r in runs)
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other)


def test_resume_continues_where_it_stopped(tmp_path, data):
    train, val = data
    training.train_model(_tiny_model(3), train, val, run_dir=tmp_path, epochs=2, batch_size=32, patience=50)
    assert json.loads((tmp_path / "state.json").read_text())["epoch"] == 1
    result = training.train_model(
        None, train, val, run_dir=tmp_path, epochs=4, batch_size=32, patience=50, resume=True
    )
    assert list(result.history["epoch"]) == [0, 1, 2, 3]
    assert json.loads((tmp_path / "state.json").read_text())["epoch"] == 3


def test_resume_without_state_is_an_error(tmp_path, data):
    train, val = data
    with pytest.raises(FileNotFoundError, match="nothing to resume"):
        training.train_model(None, train, val, run_dir=tmp_path, epochs=1, resume=True)


def test_every_epoch_is_logged_and_the_bar_stays_off_the_stdout(tmp_path, data, capsys):
    import logging

    train, val = data
    records: list[str] = []
    handler = logging.Handler(logging.INFO)
    handler.emit = lambda record: records.append(record.getMessage())  # type: ignore[method-assign]
    log = logging.getLogger("phosnet.training")
    old_level = log.level
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        result = training.train_model(_tiny_model(5), train, val, run_dir=tmp_path, epochs=3, batch_size=32,
                                      progress=True, label="tiny run")
    finally:
        log.removeHandler(handler)
        log.setLevel(old_level)
    lines = [line for line in records if line.startswith("tiny run: epoch")]
    assert [line.split(",")[0] for line in lines] == [f"tiny run: epoch {i}/3" for i in (1, 2, 3)]
    assert f"best {result.best_value:.4f}" in lines[-1]
    assert capsys.readouterr().out == ""  # progress goes to stderr (and only on a terminal), never to stdout
