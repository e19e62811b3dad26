"""The light install: scanning and evaluating a saved model never import TensorFlow, and the verbs that need it
say in one line which extra to install (simulated here by making TensorFlow look missing)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import phosnet._tf
from phosnet.cli import main

EXTRA_HINT = 'needs TensorFlow: pip install "phosnet[train]"'

_NO_TF_SCRIPT = """
import json, sys
from phosnet.cli import main
from phosnet.akt import evaluate
for args in (["scan", sys.argv[1], "-o", sys.argv[2], "-q"], ["scan", sys.argv[1], "-o", sys.argv[3], "-q",
             "--model", sys.argv[4]]):
    try:
        main(args)
    except SystemExit as exc:
        assert not exc.code, exc.code
report = evaluate(sys.argv[4], sys.argv[5], sys.argv[6], split="all")
print(json.dumps({"tensorflow": "tensorflow" in sys.modules, "keras": "keras" in sys.modules,
                  "roc_auc": report.metrics["roc_auc"]}))
"""


def test_scan_and_evaluate_of_a_saved_model_never_import_tensorflow(
    tmp_path: Path, example_fasta: Path, tiny_model: Path, train_data: tuple[Path, Path]
) -> None:
    bundled, tiny = tmp_path / "bundled.tsv", tmp_path / "tiny.tsv"
    sites, proteins = train_data
    done = subprocess.run(
        [sys.executable, "-c", _NO_TF_SCRIPT, str(example_fasta), str(bundled), str(tiny), str(tiny_model),
         str(sites), str(proteins)],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["tensorflow"] is False and found["keras"] is False
    assert 0.0 <= found["roc_auc"] <= 1.0
    for table in (bundled, tiny):  # the scans wrote their tables: header + the 320 S/T of the example
        assert len(table.read_text().splitlines()) == 321


@pytest.fixture
def no_tensorflow(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make TensorFlow look uninstalled: the install check finds nothing and importing it fails."""
    monkeypatch.setattr(phosnet._tf, "find_spec", lambda name: None)
    monkeypatch.setattr(phosnet._tf, "_loaded", None)
    monkeypatch.setitem(sys.modules, "tensorflow", None)  # `import tensorflow` raises ImportError


def _one_line_error(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code not in (0, None)
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


@pytest.mark.usefixtures("no_tensorflow")
def test_verbs_that_need_tensorflow_name_the_extra_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], example_fasta: Path, train_data: tuple[Path, Path]
) -> None:
    sites, proteins = train_data
    run = tmp_path / "run"
    line = _one_line_error(["train", str(sites), str(proteins), "--out-dir", str(run)], capsys)
    assert line == f"phosnet: error: phosnet train {EXTRA_HINT}"
    assert not run.exists()  # checked before any work
    line = _one_line_error(["image", "train", "--dataset", "mnist", "--out-dir", str(tmp_path / "img")], capsys)
    assert line == f"phosnet: error: phosnet image {EXTRA_HINT}"
    out = tmp_path / "sites.tsv"
    line = _one_line_error(["scan", str(example_fasta), "-o", str(out), "--engine", "tensorflow"], capsys)
    assert line == f"phosnet: error: --engine tensorflow {EXTRA_HINT}"
    assert not out.exists()


@pytest.mark.usefixtures("no_tensorflow")
def test_evaluate_of_a_model_the_numpy_engine_cannot_run_names_the_extra(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], tiny_model: Path, train_data: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import phosnet.engines.threaded as numpy_engine
    from phosnet.engines import UnsupportedModel

    def unsupported(*args: object, **kwargs: object) -> None:
        raise UnsupportedModel("layer LSTM")

    monkeypatch.setattr(numpy_engine, "_SharedGraph", unsupported)
    sites, proteins = train_data
    out = tmp_path / "eval"
    line = _one_line_error(["evaluate", str(tiny_model), str(sites), str(proteins), "--out-dir", str(out)], capsys)
    assert line.startswith("phosnet: error: model tiny-test (the numpy engine cannot run it: layer LSTM)")
    assert line.endswith(EXTRA_HINT)
    assert not out.exists()


@pytest.mark.usefixtures("no_tensorflow")
def test_importing_tensorflow_when_missing_raises_the_one_line_error() -> None:
    from phosnet.errors import PhosnetError

    with pytest.raises(PhosnetError, match=r'needs TensorFlow: pip install "phosnet\[train\]"'):
        phosnet._tf.tensorflow()
