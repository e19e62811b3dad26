"""phosnet: predict the serine/threonine residues that the kinase AKT (PKB) phosphorylates.

Importing ``phosnet`` is fast: readers, windows and encoders use numpy only. ``predict``, ``load_model`` and
``evaluate`` of a saved model run on the numpy engine without TensorFlow; ``train`` needs it (the ``[train]``
extra: ``pip install "phosnet[train]"``).
"""

from __future__ import annotations

from phosnet import _startup  # noqa: F401 - first of all: a quiet Ctrl-C while the command starts

# isort: split

import logging
from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from phosnet.encoding import ALPHABET, AMINO_ACIDS, decode, normalize_sequence, one_hot, to_index
from phosnet.errors import InputError, PhosnetError
from phosnet.io.fasta import Protein, read_fasta, read_proteins
from phosnet.io.sites import read_sites
from phosnet.windows import Windows, extract_windows, window_indices

try:
    __version__ = version("phosnet")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

logging.getLogger(__name__).addHandler(logging.NullHandler())

# Public names resolved on first access (PEP 562), so `import phosnet` stays light (no pandas-heavy or
# TensorFlow-importing module is loaded until its function is used).
_LAZY = {
    "predict": "phosnet.scan",
    "predict_iter": "phosnet.scan",
    "load_model": "phosnet.bundle",
    "train": "phosnet.akt",
    "evaluate": "phosnet.akt",
    "explain": "phosnet.explainer",
    "plot_explain": "phosnet.plots",
    "score_variants": "phosnet.variants",
    "plot_map": "phosnet.maps",
    "enrich": "phosnet.enrichment",
    "score_sites": "phosnet.measured",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'phosnet' has no attribute {name!r}")


__all__ = [
    "ALPHABET",
    "AMINO_ACIDS",
    "InputError",
    "PhosnetError",
    "Protein",
    "Windows",
    "__version__",
    "decode",
    "extract_windows",
    "normalize_sequence",
    "one_hot",
    "read_fasta",
    "read_proteins",
    "read_sites",
    "to_index",
    "window_indices",
    *_LAZY,
]
