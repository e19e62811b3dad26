"""Package-level promises: fast imports without TensorFlow, doctests, the CLI group and its entry points."""

from __future__ import annotations

import doctest
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import phosnet
from phosnet.cli import cli


def test_reader_window_encoder_modules_do_not_import_tensorflow():
    code = (
        "import sys, phosnet, phosnet.io, phosnet.windows, phosnet.encoding;"
        "print('tensorflow' in sys.modules or 'keras' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def _modules_with_examples() -> list[str]:
    """Every phosnet module whose source holds a ``>>>`` example (found by reading, so a new one is picked up)."""
    root = Path(__file__).resolve().parents[1]
    return sorted(
        ".".join(path.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
        for path in (root / "phosnet").rglob("*.py")
        if ">>> " in path.read_text()
    )


def test_the_core_modules_carry_examples():
    assert {"phosnet.encoding", "phosnet.windows", "phosnet.io.uniprot"} <= set(_modules_with_examples())


@pytest.mark.parametrize("module", _modules_with_examples())
def test_doctests(module):
    """Every example in every module's docstrings runs and gives what it shows (examples marked ``+SKIP``,
    which need the bundled model's full run or a file, are only parsed)."""
    finder = doctest.DocTestFinder()
    found = finder.find(__import__(module, fromlist=["_"]))
    assert sum(len(test.examples) for test in found) > 0
    result = doctest.testmod(__import__(module, fromlist=["_"]))
    assert result.failed == 0


def test_version_and_help_list_the_verbs():
    runner = CliRunner()
    version = runner.invoke(cli, ["--version"])
    assert version.exit_code == 0 and phosnet.__version__ in version.output
    help_text = runner.invoke(cli, ["--help"]).output
    for verb in ("scan", "train", "evaluate", "image", "models"):
        assert verb in help_text


def test_python_dash_m_and_console_script_agree():
    out = subprocess.run([sys.executable, "-m", "phosnet", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and phosnet.__version__ in out.stdout
    assert out.stderr == ""


def test_unknown_command_exits_non_zero():
    out = subprocess.run([sys.executable, "-m", "phosnet", "no-such-verb"], capture_output=True, text=True)
    assert out.returncode == 2 and "No such command" in out.stderr and "Traceback" not in out.stderr
