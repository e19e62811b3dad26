#!/usr/bin/env python
"""The bundled model's calibrated ``precision`` column: fit out of fold, check on the fixed test split.

One command (from the repository root)::

    nice -n 10 python benchmarks/akt_quality/precision.py

1. **Out-of-fold percentiles** (only when the cross-validation runs exist, ``--runs``): for each of the 5 fold
   models of the bundled recipe (``cv.py``'s ``v2-ivpre`` run with ``--members 1``: one network of the v3
   recipe per fold, trained without that fold's clusters), scan every S/T of the human proteome to make *that model's*
   background, and turn its scores of the held-out fold's S/T into percentiles of it. Written to
   ``precision_oof.tsv.gz`` beside this file (committed, so steps 2-3 run without the runs): ``protein_id,
   position, label, cluster, fold, score, percentile``.
2. **Fit** (:func:`phosnet.precision.precision_table`): the share of known AKT sites among those 26,181 S/T at or
   above each percentile, isotonic, with a 95% cluster-bootstrap interval; stored in
   ``phosnet/pretrained/akt-default.json`` under ``"precision"``. The bundled model's own percentiles (its
   background) read it.
3. **Reliability on the fixed test split** (never used to fit): the bundled model scores the S/T of the test
   proteins; per bin of predicted precision, the predicted value against the observed share of AKT sites at or
   above the bin's lowest percentile, with cluster-bootstrap intervals. Writes ``figures/reliability.png``,
   ``precision_results.json`` and prints the table (recorded in ``RESULTS.md``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from measure import machine  # noqa: E402

SITES = ROOT / "data" / "akt_sites.tsv"
PROTEINS = ROOT / "data" / "akt_proteins.fasta"
PROTEOME = ROOT.parent / "shared" / "datasets" / "proteome" / "human_uniprot201401_subset.fasta.gz"
RUNS = HERE / "runs" / "cv" / "v2-ivpre"
OOF = HERE / "precision_oof.tsv.gz"
BUNDLED = ROOT / "phosnet" / "pretrained" / "akt-default.json"
RESULTS = HERE / "precision_results.json"
FIGURE = HERE / "figures" / "reliability.png"
BINS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 1.0)  # bins of predicted precision for the reliability check


def out_of_fold(runs: Path, proteome: Path) -> pd.DataFrame:
    """Each pool S/T's out-of-fold score and its percentile in the background of the fold model that scored it."""
    from phosnet.background import Background
    from phosnet.background_build import build_background

    clusters = pd.read_csv(SITES, sep="\t", usecols=["protein_id", "position", "cluster"])
    parts = []
    for fold in sorted(runs.glob("fold-*")):
        started = time.perf_counter()
        background = Background.from_metadata({"background": build_background(fold, proteome)})
        assert background is not None
        predictions = pd.read_csv(fold / "predictions.tsv", sep="\t")
        held_out = predictions[predictions["split"] == "test"].copy()  # cv.py: the held-out fold is "test"
        held_out["fold"] = int(fold.name.split("-")[1])
        held_out["percentile"] = background.percentile(held_out["score"].to_numpy())
        parts.append(held_out[["protein_id", "position", "label", "fold", "score", "percentile"]])
        print(f"{fold.name}: {len(held_out):,} sites, background in {time.perf_counter() - started:.0f} s", flush=True)
    table = pd.concat(parts).merge(clusters, on=["protein_id", "position"], how="left", validate="1:1")
    assert table["cluster"].notna().all(), "every out-of-fold site is a pool site"
    return table[["protein_id", "position", "label", "cluster", "fold", "score", "percentile"]]


def cluster_bootstrap_share(frame: pd.DataFrame, at: float, replicates: int, rng: np.random.Generator) -> list[float]:
    """Share of label 1 among sites at or above percentile ``at``, and its 95% cluster-bootstrap interval."""
    names, index = np.unique(frame["cluster"].astype(str), return_inverse=True)
    above = (frame["percentile"].to_numpy() >= at).astype(float)
    hits = above * frame["label"].to_numpy()
    n_above = np.bincount(index, above, len(names))
    n_hits = np.bincount(index, hits, len(names))
    draws = rng.integers(0, len(names), (replicates, len(names)))
    totals = n_above[draws].sum(axis=1)
    shares = np.where(totals > 0, n_hits[draws].sum(axis=1) / np.maximum(totals, 1), np.nan)
    share = n_hits.sum() / n_above.sum() if n_above.sum() else float("nan")
    return [float(share), float(np.nanpercentile(shares, 2.5)), float(np.nanpercentile(shares, 97.5))]


def reliability(metadata: dict, replicates: int = 2000) -> dict:
    """Predicted vs observed precision on the fixed test split, per bin of predicted precision."""
    import phosnet
    from phosnet.io.fasta import read_proteins
    from phosnet.precision import Precision

    table = Precision.from_metadata(metadata)
    assert table is not None
    sites = pd.read_csv(SITES, sep="\t")
    test = sites[sites["split"] == "test"]
    sequences = read_proteins(PROTEINS)
    scored = phosnet.predict({p: sequences[p] for p in sorted(set(test["protein_id"]))}, model=BUNDLED.with_suffix(
        ".keras"), threshold=1.0)
    frame = test.merge(scored[["protein_id", "position", "percentile", "precision"]], on=["protein_id", "position"],
                       validate="1:1")
    assert len(frame) == len(test)
    rng = np.random.default_rng(0)
    rows = []
    for lo, hi in zip(BINS[:-1], BINS[1:], strict=True):
        inside = frame[(frame["precision"] >= lo) & (frame["precision"] < hi)]
        if not len(inside):
            continue
        start = float(inside["percentile"].min())  # the bin's lowest percentile: its sites and all above
        predicted = table.lookup(np.array([start]))
        observed = cluster_bootstrap_share(frame, start, replicates, rng)
        rows.append({"bin": f"[{lo:.2f}, {hi:.2f})", "sites_in_bin": int(len(inside)),
                     "sites_at_or_above": int((frame["percentile"] >= start).sum()),
                     "from_percentile": round(start, 4),
                     "predicted": round(float(predicted[0][0]), 4),
                     "predicted_low": round(float(predicted[1][0]), 4),
                     "predicted_high": round(float(predicted[2][0]), 4),
                     "observed": round(observed[0], 4), "observed_low": round(observed[1], 4),
                     "observed_high": round(observed[2], 4)})
    levels = {}
    for level, numbers in metadata["background"]["stringency"].items():
        start = 100.0 - float(numbers["top_percent"])
        predicted = table.lookup(np.array([start]))
        levels[level] = {"top_percent": numbers["top_percent"],
                         "predicted": [round(float(v[0]), 4) for v in predicted],
                         "observed_test": [round(v, 4) for v in cluster_bootstrap_share(frame, start, replicates,
                                                                                        rng)]}
    return {"test_sites": int(len(frame)), "test_positives": int(frame["label"].sum()),
            "test_clusters": int(frame["cluster"].nunique()), "bins": rows, "stringency": levels}


def plot(result: dict, path: Path) -> None:
    """Predicted vs observed precision per bin, both with their intervals, on the diagonal's scale."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bins = result["bins"]
    x = np.array([b["predicted"] for b in bins])
    y = np.array([b["observed"] for b in bins])
    fig, ax = plt.subplots(figsize=(4.6, 4.4))
    ax.plot([0, 1], [0, 1], color="0.6", lw=1, ls="--", label="perfect calibration")
    ax.errorbar(x, y, yerr=[y - [b["observed_low"] for b in bins], [b["observed_high"] for b in bins] - y],
                xerr=[x - [b["predicted_low"] for b in bins], [b["predicted_high"] for b in bins] - x],
                fmt="o", color="tab:blue", ecolor="tab:blue", capsize=3, label="bins of the test split")
    for b in bins:
        ax.annotate(f"n={b['sites_at_or_above']}", (b["predicted"], b["observed"]), textcoords="offset points",
                    xytext=(5, -10), fontsize=7)
    top = float(max(0.1, np.nanmax([*[b["observed_high"] for b in bins], *[b["predicted_high"] for b in bins]])))
    ax.set_xlim(0, min(1.0, top * 1.1))
    ax.set_ylim(0, min(1.0, top * 1.1))
    ax.set_xlabel("predicted precision (out-of-fold fit, 95% interval)")
    ax.set_ylabel("observed share of AKT sites at or above\n(test split, 95% cluster bootstrap)")
    ax.set_title(f"akt-default precision on the test split\n({result['test_sites']:,} S/T, "
                 f"{result['test_positives']} AKT sites, {result['test_clusters']} clusters)", fontsize=9)
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=130)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=Path, default=RUNS, help="the v2-ivpre cross-validation runs (fold-0 ...)")
    parser.add_argument("--proteome", type=Path, default=PROTEOME)
    parser.add_argument("--replicates", type=int, default=1000, help="cluster-bootstrap resamples of the fit")
    args = parser.parse_args()
    from phosnet.precision import precision_table

    started = dt.datetime.now(dt.UTC)
    if args.runs.is_dir():
        out_of_fold(args.runs, args.proteome).to_csv(OOF, sep="\t", index=False, float_format="%.9g")
    oof = pd.read_csv(OOF, sep="\t")
    metadata = json.loads(BUNDLED.read_text())
    metadata["precision"] = precision_table(
        oof["percentile"].to_numpy(), oof["label"].to_numpy(), oof["cluster"].to_numpy(), replicates=args.replicates,
        source=f"{OOF.name}: out-of-fold v2-ivpre (v3 recipe) scores, 5-fold cluster cross-validation of the "
               "training pool",
        command="python benchmarks/akt_quality/precision.py",
    )
    BUNDLED.write_text(json.dumps(metadata, indent=2) + "\n")
    result = reliability(metadata)
    result.update({"command": "nice -n 10 python benchmarks/akt_quality/precision.py", "machine": machine(),
                   "date": started.strftime("%Y-%m-%d %H:%M UTC"), "oof_sites": int(len(oof)),
                   "oof_positives": int(oof["label"].sum())})
    RESULTS.write_text(json.dumps(result, indent=1) + "\n")
    plot(result, FIGURE)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
