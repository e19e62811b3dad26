"""Fixtures shared by the test modules: the committed tiny data, the bundled example proteins, a scan of them.

The data are kB-sized files in ``tests/data`` (see the README files there) and the example FASTA shipped with
the package; nothing is downloaded.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import phosnet

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def example_fasta() -> Path:
    """The bundled example proteins (human AKT substrates), as a user gets them."""
    return Path(phosnet.__file__).parent / "examples" / "akt_substrates.fasta"


@pytest.fixture(scope="session")
def tiny_model() -> Path:
    """A tiny committed network with metadata (``tiny-test``; thresholds 0.435 at Sp 0.95, 0.45 at 0.99)."""
    return DATA / "scan" / "tiny.keras"


@pytest.fixture(scope="session")
def train_data() -> tuple[Path, Path]:
    """The tiny training set: a site table with a split column, and its proteins."""
    return DATA / "train" / "sites.tsv", DATA / "train" / "proteins.fasta"


@pytest.fixture(scope="session")
def tiny_example_scan(example_fasta: Path, tiny_model: Path) -> pd.DataFrame:
    """``phosnet.predict`` of the example proteins with the tiny model (the reference the scan tests compare to)."""
    return phosnet.predict(example_fasta, model=tiny_model)
