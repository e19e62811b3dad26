#!/usr/bin/env python
"""The pretraining table of model v3: ``pretrain_agc.tsv.gz`` plus the in vitro AKT substrates' S/T.

Run from the repository root (deterministic, re-runnable; needs only files in data/):

    python data/build_pretrain_invitro.py

Adds to the AGC-kinase pretraining windows every S/T window of the in vitro AKT substrate proteins
(``akt_invitro_sites.tsv`` / ``akt_invitro_proteins.fasta``, Sugiyama et al. 2019): label 1 for the in vitro AKT
sites, 0 for the proteins' other S/T. Left out, as in the cross-validation that chose this table
(``benchmarks/akt_quality/cv.py``, candidate ``v2-ivpre``): in vitro proteins that are AKT substrates of
``akt_sites.tsv`` (any split), proteins listed in ``pretrain_excluded.tsv`` (the validation/test proteins and
their cd-hit-2d 40% homologs in the human proteome), and any window that also occurs in a validation or test
protein. Writes ``pretrain_agc_invitro.tsv.gz`` (``window, label``) and prints what it added.
Licences: the AGC table's (PhosphoSitePlus, CC BY-NC-SA 3.0) and the in vitro set's (CC BY 4.0): see
``LICENSE-DATA.md``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

DATA = Path(__file__).resolve().parent
sys.path.insert(0, str(DATA.parent))

from phosnet.io.fasta import read_proteins  # noqa: E402

FLANK = 15


def st_windows(sequence: str) -> list[tuple[int, str]]:
    """``(position, window)`` of every S/T of ``sequence`` (1-based, X-padded)."""
    padded = "X" * FLANK + sequence + "X" * FLANK
    return [(i, padded[i - 1:i + 2 * FLANK]) for i, aa in enumerate(sequence, start=1) if aa in "ST"]


def main() -> None:
    sites = pd.read_csv(DATA / "akt_sites.tsv", sep="\t", dtype={"protein_id": str})
    proteins = read_proteins(DATA / "akt_proteins.fasta")
    excluded = set(pd.read_csv(DATA / "pretrain_excluded.tsv", sep="\t", dtype=str)["accession"])
    held_out = {p for p in set(sites.loc[sites["split"].isin(["validation", "test"]), "protein_id"])}
    held_windows = {w for p in held_out for _, w in st_windows(proteins[p])}
    invitro = pd.read_csv(DATA / "akt_invitro_sites.tsv", sep="\t", dtype={"protein_id": str})
    sequences = read_proteins(DATA / "akt_invitro_proteins.fasta")
    keep = sorted(set(invitro["protein_id"]) - set(sites["protein_id"]) - excluded)
    positives = set(zip(invitro["protein_id"], invitro["position"], strict=True))
    rows, dropped = [], 0
    for protein in keep:
        for position, window in st_windows(sequences[protein]):
            if window in held_windows:
                dropped += 1
                continue
            rows.append((window, int((protein, position) in positives)))
    added = pd.DataFrame(rows, columns=["window", "label"]).astype({"label": np.int8})
    agc = pd.read_csv(DATA / "pretrain_agc.tsv.gz", sep="\t", dtype={"window": str, "label": np.int8})
    out = DATA / "pretrain_agc_invitro.tsv.gz"
    pd.concat([agc, added], ignore_index=True).to_csv(out, sep="\t", index=False, compression="gzip")
    print(f"{out.name}: {len(agc):,} AGC windows + {len(added):,} in vitro S/T ({int(added['label'].sum())} AKT "
          f"sites) of {len(keep)} proteins; {len(set(invitro['protein_id'])) - len(keep)} in vitro proteins left "
          f"out (AKT substrates or validation/test homologs), {dropped} windows shared with a held-out protein")


if __name__ == "__main__":
    main()
