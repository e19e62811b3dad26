#!/usr/bin/env python
"""Tied scores: how many S/T of the human proteome share one score under a model (a ranking tool must rank).

    python benchmarks/score_ties/run.py                          # the bundled akt-default
    python benchmarks/score_ties/run.py --model akt-ensemble     # any bundled name, .keras file or run folder
    python benchmarks/score_ties/run.py --write-sample tests/data/ties/proteome_sample.fasta

Scans ../shared/datasets/proteome/human_uniprot201401_subset.fasta.gz with the numpy engine (float32 scores,
as the model computes them) and reports: S/T scanned, distinct scores, the largest group of S/T sharing one
score (its score, size, share, and how many *distinct* windows it holds: identical windows tie legitimately),
and, for the known AKT sites of phosnet/examples/akt_substrates.fasta (data/akt_sites.tsv), their score,
rank and how many proteome S/T share it. The bar (issue #14): no score shared by more than 0.01% of the S/T.

``--write-sample`` writes the proteome sample the test suite uses (tests/test_score_ties.py): the 5 example
proteins, 150 proteins at random (seed 0) and up to 150 proteins carrying a site that shares the model's
largest tie, so the test fails on a model with a plateau. Results are appended to results.jsonl.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
PROTEOME = REPO.parent / "shared" / "datasets" / "proteome" / "human_uniprot201401_subset.fasta.gz"
EXAMPLES = REPO / "phosnet" / "examples" / "akt_substrates.fasta"
BAR = 1e-4  # at most 0.01% of the S/T may share one score


def known_example_sites() -> pd.DataFrame:
    """The AKT sites of data/akt_sites.tsv on the example file's proteins (by accession)."""
    from phosnet.io.fasta import read_fasta

    accessions = {p.protein_id.split("|")[1] if "|" in p.protein_id else p.protein_id: p.protein_id
                  for p in read_fasta(EXAMPLES)}
    sites = pd.read_csv(REPO / "data" / "akt_sites.tsv", sep="\t", dtype={"protein_id": str})
    sites = sites[(sites["label"] == 1) & sites["protein_id"].isin(accessions)]
    return sites[["protein_id", "position", "residue"]].reset_index(drop=True)


def tie_report(table: pd.DataFrame) -> dict:
    """Largest group of rows sharing one score (table: protein_id, position, window, score)."""
    groups = table.groupby("score")
    sizes = groups.size()
    top = float(sizes.idxmax())
    members = table[table["score"] == top]
    return {"sites": int(len(table)), "distinct_scores": int(len(sizes)),
            "largest_tie": int(sizes.max()), "largest_tie_share": float(sizes.max() / len(table)),
            "largest_tie_score": top, "largest_tie_distinct_windows": int(members["window"].nunique()),
            "largest_tie_rank": int((table["score"] > top).sum()) + 1,
            "groups_over_bar": int((sizes > BAR * len(table)).sum()),
            "sites_in_ties_of_10_or_more": int(sizes[sizes >= 10].sum())}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="akt-default", help="bundled name, .keras file or run folder")
    ap.add_argument("--proteome", type=Path, default=PROTEOME)
    ap.add_argument("--write-sample", type=Path, default=None, help="write the test suite's proteome sample here")
    args = ap.parse_args(argv)
    from phosnet.io.fasta import read_proteins
    from phosnet.scan import predict

    started = dt.datetime.now(dt.UTC)
    proteome = read_proteins(args.proteome)
    t0 = time.time()
    table = predict(proteome, model=args.model, engine="numpy")[["protein_id", "position", "window", "score"]]
    seconds = time.time() - t0
    report = tie_report(table)
    scores = table["score"].to_numpy()
    counts = table["score"].value_counts()
    sites = known_example_sites()
    example_rows = []
    for p, q, r in zip(sites["protein_id"], sites["position"], sites["residue"], strict=True):
        hit = table[(table["protein_id"] == p) & (table["position"] == q)]
        if hit.empty:
            continue
        s = float(hit["score"].iloc[0])
        example_rows.append({"site": f"{p} {r}{q}", "score": s, "rank": int((scores > s).sum()) + 1,
                             "sharing": int(counts[hit["score"].iloc[0]])})
    from phosnet.bundle import load_model

    thresholds = load_model(args.model).metadata.get("thresholds", {})
    report["calls_at_stored_thresholds"] = {k: int((scores >= v).sum()) for k, v in thresholds.items()}
    report["example_sites"] = example_rows
    report["example_sites_on_a_tie"] = sum(r["sharing"] > 1 for r in example_rows)
    report["meets_bar"] = report["largest_tie_share"] <= BAR and report["example_sites_on_a_tie"] == 0
    cpu = next((line.split(":", 1)[1].strip() for line in subprocess.run(
        ["lscpu"], capture_output=True, text=True).stdout.splitlines() if line.startswith("Model name")), "?")
    report["meta"] = {"command": "python benchmarks/score_ties/run.py " + " ".join(argv or sys.argv[1:]),
                      "model": args.model, "date": started.isoformat(timespec="seconds"),
                      "machine": f"{cpu}, {os.cpu_count()} cores (shared), {platform.platform()}",
                      "scan_seconds": round(seconds, 1)}
    with open(HERE / "results.jsonl", "a") as handle:
        handle.write(json.dumps(report) + "\n")
    print(json.dumps(report, indent=2))

    if args.write_sample is not None:
        from phosnet.io.fasta import read_fasta

        rng = np.random.default_rng(0)
        ids = sorted(proteome)
        chosen = [p.protein_id.split("|")[1] for p in read_fasta(EXAMPLES)]
        chosen += [ids[i] for i in rng.choice(len(ids), 150, replace=False)]
        tied = sorted(set(table.loc[table["score"] == report["largest_tie_score"], "protein_id"]))
        chosen += [tied[i] for i in rng.permutation(len(tied))[:150]]
        examples = {p.protein_id.split("|")[1]: p.sequence for p in read_fasta(EXAMPLES)}
        seen = set()
        args.write_sample.parent.mkdir(parents=True, exist_ok=True)
        with open(args.write_sample, "w") as handle:
            for p in chosen:
                if p in seen:
                    continue
                seen.add(p)
                seq = proteome.get(p, examples.get(p))
                handle.write(f">{p}\n" + "".join(seq[i:i + 60] + "\n" for i in range(0, len(seq), 60)))
        print(f"wrote {len(seen)} proteins to {args.write_sample}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
