#!/usr/bin/env python
"""Copy the in vitro AKT sites (Sugiyama et al. 2019) and their proteins into data/.

Run from the repository root (deterministic, re-runnable):

    python data/build_invitro.py            # options: --shared DIR (default ../shared), --out DIR

Reads ``shared/datasets/akt_invitro/sites.tsv`` (284 in vitro AKT1/2/3 sites placed on the human proteome) and
``shared/datasets/proteome/human_uniprot201401_subset.fasta.gz``; checks every site's residue against the
sequence and writes

* ``akt_invitro_sites.tsv``: ``protein_id, position, residue, kinases, peptide_15`` (as shipped, sorted), and
* ``akt_invitro_proteins.fasta``: the sequences of those proteins (60 residues a line),

so benchmarks (``benchmarks/akt_quality/cv.py``) and recipes can use them without ``../shared``.
Source: Sugiyama N, Imamura H, Ishihama Y. Large-scale discovery of substrates of the human kinome. Sci Rep
2019;9:10503 (CC BY 4.0).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from phosnet.io.fasta import read_proteins


def main(argv: list[str] | None = None) -> int:
    repo = Path(__file__).resolve().parent.parent
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", type=Path, default=repo.parent / "shared", help="the shared/ folder")
    ap.add_argument("--out", type=Path, default=repo / "data", help="output folder (default data/)")
    args = ap.parse_args(argv)
    sites = pd.read_csv(args.shared / "datasets" / "akt_invitro" / "sites.tsv", sep="\t", dtype={"protein_id": str})
    proteome = read_proteins(args.shared / "datasets" / "proteome" / "human_uniprot201401_subset.fasta.gz")
    bad = [f"{p} {q}" for p, q, r in zip(sites["protein_id"], sites["position"], sites["residue"], strict=True)
           if p not in proteome or q > len(proteome[p]) or proteome[p][q - 1] != r or r not in "ST"]
    if bad:
        sys.exit("build_invitro.py: error: sites not matching the proteome: " + ", ".join(bad))
    columns = ["protein_id", "position", "residue", "kinases", "peptide_15"]
    sites = sites.sort_values(["protein_id", "position"])[columns]
    args.out.mkdir(parents=True, exist_ok=True)
    sites.to_csv(args.out / "akt_invitro_sites.tsv", sep="\t", index=False)
    with open(args.out / "akt_invitro_proteins.fasta", "w") as handle:
        for p in sorted(set(sites["protein_id"])):
            seq = proteome[p]
            handle.write(f">{p}\n" + "".join(seq[i:i + 60] + "\n" for i in range(0, len(seq), 60)))
    print(f"{len(sites)} sites on {sites['protein_id'].nunique()} proteins", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
