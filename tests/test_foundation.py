"""Package-level promises: fast imports without TensorFlow, doctests, the CLI group and its entry points."""

from __future__ import annotations

import doctest
import subprocess
import sys

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


@pytest.mark.parametrize("module", ["phosnet.encoding", "phosnet.windows", "phosnet.io.fasta"])
def test_doctests(module):
    result = doctest.testmod(__import__(module, fromlist=["_"]))
    assert result.attempted > 0 and result.failed == 0


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
