"""The compiled (numba) kernel of the shared convolution stack: Keras' scores and rank order, and its fallbacks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import randomize_weights

import phosnet
from phosnet.batches import raw_batches
from phosnet.bundle import load_model
from phosnet.engines import _fused
from phosnet.engines.threaded import NumpyEngine
from phosnet.io.sequences import iter_sequences

DATA = Path(__file__).parent / "data" / "scan"
TINY = DATA / "tiny.keras"
EXAMPLE = Path(phosnet.__file__).parent / "examples" / "akt_substrates.fasta"
BUNDLED = (Path(phosnet.__file__).parent / "pretrained" / "akt-default.keras").exists()

needs_numba = pytest.mark.skipif(not _fused.available(), reason="numba is not importable")


def _proteins() -> list[tuple[str, str]]:
    """The example's 5 proteins, random ones of awkward lengths, and one where every residue is a candidate."""
    rng = np.random.default_rng(7)
    letters = np.array(list("ACDEFGHIKLMNPQRSTVWYX"))
    pairs = list(iter_sequences(EXAMPLE))
    pairs += [(f"r{n}", "".join(rng.choice(letters, size=n))) for n in (1, 2, 15, 16, 31, 33, 400)]
    pairs.append(("st", "ST" * 40))
    return pairs


def _keras(model, windows: np.ndarray) -> np.ndarray:
    x = phosnet.one_hot(windows) if model.input_encoding == "onehot" else windows.astype(np.int32)
    return model.keras_model.predict(x, batch_size=512, verbose=0).reshape(-1)


def _assert_same_ranking(scores: np.ndarray, reference: np.ndarray) -> None:
    """Every pair Keras orders (by more than float32 noise) is ordered the same way."""
    order = np.argsort(reference, kind="stable")
    ref, got = reference[order], scores[order]
    later = ref[None, :] > ref[:, None] + 1e-6
    assert not (later & (got[None, :] < got[:, None])).any()


def _check(model, chunk: int = 256) -> NumpyEngine:
    """Compiled engine == Keras (1e-4, in fact ~1e-7) with Keras' ranking, by positions and by windows."""
    [batch] = list(raw_batches(iter(_proteins()), "ST", model.flank, 10**7))
    reference = _keras(model, batch.windows)
    assert reference.std() > 1e-3
    engine = NumpyEngine(model, chunk=chunk, compiled="always")
    by_position = engine.score_positions(batch.code, batch.starts, model.window)
    assert engine.used_compiled
    by_window = engine(batch.windows)
    assert engine.used_compiled
    for scores in (by_position, by_window):
        np.testing.assert_allclose(scores, reference, atol=1e-5, rtol=0)
        _assert_same_ranking(scores, reference)
    plain = NumpyEngine(model, chunk=chunk, compiled="never")
    np.testing.assert_allclose(plain.score_positions(batch.code, batch.starts, model.window), reference, atol=1e-5)
    assert not plain.used_compiled
    return engine


@needs_numba
@pytest.mark.skipif(not BUNDLED, reason="no bundled model")
@pytest.mark.parametrize("name", ["akt-default", "akt-ensemble"])
def test_bundled_models_compiled_equal_keras(name: str) -> None:
    _check(load_model(name))


@needs_numba
@pytest.mark.slow
def test_user_trained_default_architecture_equals_keras(tmp_path: Path) -> None:
    """A model trained (a few steps) by the user with the default architecture, saved and loaded from disk."""
    from phosnet._tf import keras
    from phosnet.models.sequence import build_sequence_model

    keras().utils.set_random_seed(3)
    net = build_sequence_model(conv1_filters=8, conv2_filters=16, dense_units=8)
    rng = np.random.default_rng(3)
    x = phosnet.one_hot(rng.integers(0, 21, size=(256, 31)).astype(np.int8))
    net.fit(x, (x[:, 15, 15] > 0).astype(np.float32), epochs=2, batch_size=64, verbose=0)
    net.save(tmp_path / "mine.keras")
    _check(load_model(tmp_path / "mine.keras"))
    _check(load_model(TINY), chunk=64)


def _variant(tmp_path: Path, name: str, seed: int, **options) -> Path:
    from phosnet._tf import keras
    from phosnet.models.sequence import build_sequence_model

    keras().utils.set_random_seed(seed)
    net = build_sequence_model({"conv1_filters": 8, "conv2_filters": 16, "dense_units": 8, **options})
    randomize_weights(net, seed)
    path = tmp_path / f"{name}.keras"
    net.save(path)
    return path


VARIANTS = {
    "index-input": {"input_encoding": "index"},
    "valid-padding": {"padding": "valid"},
    "flatten-elu": {"pooling": "flatten", "dense_activation": "elu"},
    "pool3-kernel7": {"pool_size": 3, "conv2_kernel": 7, "pooling": "flatten"},
    "window-21": {"window": 21},
}


@needs_numba
@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_other_sizes_and_options_equal_keras(name: str, tmp_path: Path) -> None:
    """The kernel is general over layer sizes, paddings, pooling, window width and input encoding."""
    _check(load_model(_variant(tmp_path, name, 11, **VARIANTS[name])))


@needs_numba
@pytest.mark.slow
def test_linear_path_head_equals_keras(tmp_path: Path) -> None:
    from phosnet.models.sequence import SequenceModelConfig

    if "linear_path" not in SequenceModelConfig.__dataclass_fields__:
        pytest.skip("no linear_path option")
    _check(load_model(_variant(tmp_path, "linear", 12, pooling="flatten", linear_path=True)))


@needs_numba
@pytest.mark.slow
def test_stacks_the_kernel_cannot_take_stay_on_numpy(tmp_path: Path) -> None:
    """A first convolution too wide for a combined lookup table: the numpy stack serves, with Keras' scores."""
    model = load_model(_variant(tmp_path, "wide", 13, conv1_kernel=5))
    [batch] = list(raw_batches(iter(_proteins()), "ST", 15, 10**7))
    engine = NumpyEngine(model, chunk=128, compiled="always")
    scores = engine.score_positions(batch.code, batch.starts, 31)
    assert not engine.used_compiled
    np.testing.assert_allclose(scores, _keras(model, batch.windows), atol=1e-5, rtol=0)


def test_without_numba_the_numpy_path_serves(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> None:
        raise ImportError("No module named 'numba'")

    monkeypatch.setattr(_fused, "_KERNEL", {})
    monkeypatch.setattr(_fused, "_compile", broken)
    assert not _fused.available() and not _fused.ready()
    model = load_model(TINY)
    [batch] = list(raw_batches(iter(_proteins()), "ST", 15, 10**7))
    engine = NumpyEngine(model, compiled="always")
    scores = engine.score_positions(batch.code, batch.starts, 31)
    assert not engine.used_compiled
    np.testing.assert_allclose(scores, _keras(model, batch.windows), atol=1e-5, rtol=0)


@needs_numba
def test_auto_compiles_only_large_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    """The path depends on the call alone (its size), not on earlier calls or on when numba finished loading."""
    import phosnet.engines.threaded as numpy_engine

    monkeypatch.setattr(_fused, "_KERNEL", {})
    monkeypatch.setattr(numpy_engine, "COMPILE_AFTER_WINDOWS", 300)
    model = load_model(TINY)
    [batch] = list(raw_batches(iter(_proteins()), "ST", 15, 10**7))
    assert len(batch.starts) > 300
    engine = NumpyEngine(model, compiled="auto")
    small = engine(batch.windows[:100])
    assert not engine.used_compiled and "fn" not in _fused._KERNEL  # few windows: numba not even loaded
    large = engine.score_positions(batch.code, batch.starts, 31)
    assert engine.used_compiled
    again = engine(batch.windows[:100])
    assert not engine.used_compiled
    np.testing.assert_array_equal(small, again)
    np.testing.assert_allclose(small, large[:100], atol=1e-6, rtol=0)
    _fused._KERNEL.clear()
    _fused.load_in_background()  # a caller that expects a large input can start loading early
    _fused._KERNEL["thread"].join()
    assert _fused.ready()


def test_a_small_scan_never_imports_numba(tmp_path: Path) -> None:
    """Neither the API nor the CLI pays numba's import (or pandas', for the CLI) on the 5-protein example."""
    code = (
        "import sys, phosnet\n"
        "from phosnet.cli import main\n"
        "try:\n"
        f"    main(['scan', {str(EXAMPLE)!r}, '--model', {str(TINY)!r}, '-o', {str(tmp_path / 'out.tsv')!r}, '-q'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('numba' in sys.modules, 'pandas' in sys.modules)\n"
        f"df = phosnet.predict({str(EXAMPLE)!r}, model={str(TINY)!r})\n"
        "print(len(df), 'numba' in sys.modules)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(phosnet.__file__).parents[1])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout
    assert out.split() == ["False", "False", "320", "False"]
    assert len((tmp_path / "out.tsv").read_text().splitlines()) == 321


def test_cache_goes_to_a_user_directory_when_the_package_is_read_only(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(os, "access", lambda *args, **kwargs: False)
    _fused._configure_cache()
    assert os.environ["NUMBA_CACHE_DIR"] == str(tmp_path / "cache" / "phosnet" / "numba")
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "mine"))
    _fused._configure_cache()  # a cache directory the user chose is kept
    assert os.environ["NUMBA_CACHE_DIR"] == str(tmp_path / "mine")


def test_score_stream_gives_each_call_its_own_scores_in_order() -> None:
    """The streamed scan (next calls queued on the workers before a call is collected) == one call at a time."""
    model = load_model(TINY)
    proteins = _proteins()
    sets = [proteins, proteins[3:], [("none", "MAAK")]]
    calls = [list(raw_batches(iter(chosen), "ST", model.flank, 10**7))[0] for chosen in sets]
    calls.insert(1, calls[0])
    with NumpyEngine(model, workers=2, compiled="never", chunk=16) as engine:
        expected = [engine.score_positions(b.code, b.starts, model.window) for b in calls]
        streamed = list(engine.score_stream((k, b.code, b.starts, model.window) for k, b in enumerate(calls)))
        assert [k for k, _ in streamed] == list(range(len(calls)))
        for (_, got), want in zip(streamed, expected, strict=True):
            np.testing.assert_array_equal(got, want)
        assert len(streamed[-1][1]) == 0 and len(streamed[0][1]) > 100
        abandoned = engine.score_stream((k, b.code, b.starts, model.window) for k, b in enumerate(calls))
        next(abandoned)
        abandoned.close()  # queued chunks are dropped, nothing hangs


@needs_numba
@pytest.mark.skipif(not BUNDLED, reason="bundled models not installed")
def test_the_kernel_runs_the_dense_head_of_the_bundled_models() -> None:
    """The Dense layers after the stack run inside the kernel for both bundled models (their scores == Keras is
    tested above), and a chunk's outputs are the Dense outputs, not the flattened cells."""
    for name in ("akt-default", "akt-ensemble"):
        model = load_model(name)
        engine = NumpyEngine(model, compiled="always")
        assert engine._stacks and all(stack.head is not None for stack in engine._stacks)
        forms = [stack.compiled_form(model.window, engine.onehot) for stack in engine._stacks]
        assert all(form is not None and form.head is not None for form in forms)
        [batch] = list(raw_batches(iter(_proteins()), "ST", model.flank, 10**7))
        values = engine._stacks[0](engine._chunks(batch.code, batch.starts, model.window, True)[0])
        assert values.values.shape[1] == engine._stacks[0].head.kernel.shape[1]


ROOT_DATA = Path(__file__).resolve().parents[1] / "data"


@needs_numba
@pytest.mark.skipif(not BUNDLED or not (ROOT_DATA / "akt_sites.tsv").exists(), reason="bundled models or data/")
@pytest.mark.parametrize("name", ["akt-default", "akt-ensemble"])
def test_scan_of_the_test_split_proteins_equals_keras(name: str) -> None:
    """The held-out test proteins of the AKT dataset, scanned as a proteome scan runs them (one streamed call
    through the compiled kernel, its head included): Keras' scores to 1e-4 and Keras' rank order."""
    import pandas as pd

    sites = pd.read_csv(ROOT_DATA / "akt_sites.tsv", sep="\t", usecols=["protein_id", "split"])
    test_ids = set(sites.loc[sites["split"] == "test", "protein_id"])
    proteins = [(i, s) for i, s in iter_sequences(ROOT_DATA / "akt_proteins.fasta") if i in test_ids]
    assert len(proteins) >= 20
    model = load_model(name)
    [batch] = list(raw_batches(iter(proteins), "ST", model.flank, 10**7))
    assert len(batch.starts) >= 2000
    reference = _keras(model, batch.windows)
    with NumpyEngine(model, compiled="always") as engine:  # a proteome scan's batches (>= 16,384 windows) compile
        [(_, scores)] = list(engine.score_stream([(0, batch.code, batch.starts, model.window)]))
        assert engine.used_compiled
    np.testing.assert_allclose(scores, reference, atol=1e-4, rtol=0)
    _assert_same_ranking(scores, reference)
