"""Building a model's background table: scan every candidate residue of a reference proteome with the model.

Apart from :mod:`phosnet.background` (the table itself, read by every model bundle) because it scans: the scan
reads bundles, so a builder in the table's module would close an import cycle.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from phosnet.background import background_from_scores
from phosnet.bundle import ModelSource
from phosnet.io.digest import sha256_file
from phosnet.scan import predict_iter


def build_background(model: ModelSource, proteome: str | os.PathLike, *, engine: str = "auto") -> dict[str, Any]:
    """Scan every S/T (the model's residues) of ``proteome`` with ``model`` and make its background entry."""
    scores = [frame["score"].to_numpy() for frame in predict_iter(proteome, model=model, threshold=1.0,
                                                                   engine=engine)]
    name = os.path.basename(os.fspath(proteome))
    return background_from_scores(np.concatenate(scores), source=name, source_sha256=sha256_file(proteome))


__all__ = ["build_background"]
