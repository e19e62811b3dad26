#!/usr/bin/env python
"""ROC-AUC / PR-AUC of the Kinase Library AKT scores on phosnet's splits (no Kinase Library venv needed).

    /work/venv/bin/python benchmarks/kinase_library/evaluate.py [--out benchmarks/kinase_library/metrics.tsv]

Reads benchmarks/kinase_library/akt_sites_kl_scores.tsv.gz (made by score_windows.py from data/akt_sites.tsv)
and data/human_phosphosites.tsv. Views:
  all_st         positives vs every other S/T of the same proteins (the dataset's convention)
  phosphosites   positives vs only those negatives that are known human phosphosites (Ochoa et al. 2019,
                 via kinase-library): "AKT site or some other kinase's site?"
  phosphosites_human   the same, positives also restricted to human proteins
Scores: kl_AKT1, kl_AKT2, kl_AKT3 (log2 score) and kl_max = max of the three; also *_pct (percentiles).
PR-AUC is average precision (sklearn.metrics.average_precision_score).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scores", type=Path, default=HERE / "akt_sites_kl_scores.tsv.gz")
    ap.add_argument("--phosphosites", type=Path, default=REPO / "data" / "human_phosphosites.tsv")
    ap.add_argument("--out", type=Path, help="also write the table here (TSV)")
    args = ap.parse_args(argv)

    d = pd.read_csv(args.scores, sep="\t", keep_default_na=False)
    pp = pd.read_csv(args.phosphosites, sep="\t")
    known = set(zip(pp.accession, pp.position, strict=True))
    d["phosphosite"] = [(p, q) in known for p, q in zip(d.protein_id, d.position, strict=True)]
    d["kl_max"] = d[["kl_AKT1", "kl_AKT2", "kl_AKT3"]].max(axis=1)
    d["kl_max_pct"] = d[["kl_AKT1_pct", "kl_AKT2_pct", "kl_AKT3_pct"]].max(axis=1)
    scores = ["kl_max", "kl_AKT1", "kl_AKT2", "kl_AKT3", "kl_max_pct"]
    views = {
        "all_st": lambda x: x,
        "phosphosites": lambda x: x[(x.label == 1) | x.phosphosite],
        "phosphosites_human": lambda x: x[((x.label == 1) | x.phosphosite) & (x.organism == "human")],
    }
    rows = []
    for split in ["test", "validation", "train", "all"]:
        part = d if split == "all" else d[d.split == split]
        for view, f in views.items():
            v = f(part)
            for s in scores:
                rows.append(
                    {
                        "split": split,
                        "view": view,
                        "score": s,
                        "positives": int(v.label.sum()),
                        "negatives": int((v.label == 0).sum()),
                        "roc_auc": round(roc_auc_score(v.label, v[s]), 4),
                        "pr_auc": round(average_precision_score(v.label, v[s]), 4),
                        "pr_auc_random": round(v.label.mean(), 4),
                    }
                )
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 200, "display.max_rows", 500):
        print(table.to_string(index=False))
    if args.out:
        table.to_csv(args.out, sep="\t", index=False, lineterminator="\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
