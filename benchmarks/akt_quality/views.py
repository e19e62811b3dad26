"""The newer-like view of issue 22, shared by ``cv.py`` and ``run.py``: AKT sites that PhosphoSitePlus (07/2021)
supports by a single reference (the stand-in for sites reported after the snapshot) against the other S/T; the
better-established sites are left out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

REFERENCES = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "akt" / "sites.tsv"
"""``../shared/datasets/akt/sites.tsv``: ``in_vivo_refs``, ``in_vitro_refs`` per known AKT site."""


def newer_like(table: pd.DataFrame) -> np.ndarray:
    """Mask over ``table`` (``protein_id, position, label``): the non-sites and the single-reference AKT sites."""
    refs = pd.read_csv(REFERENCES, sep="\t", dtype={"protein_id": str})
    refs["references"] = refs["in_vivo_refs"].fillna(0) + refs["in_vitro_refs"].fillna(0)
    counted = table[["protein_id", "position"]].merge(refs[["protein_id", "position", "references"]],
                                                      on=["protein_id", "position"], how="left")["references"]
    labels = table["label"].to_numpy()
    return (labels == 0) | ((labels == 1) & (counted.to_numpy() == 1))
