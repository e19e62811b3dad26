#!/usr/bin/env python
"""Does phosnet answer a real phosphoproteomics experiment? AKT activity in rat L6 myotubes (insulin, AICAR, both).

One command (phosnet's environment; the Kinase Library part runs in its own venv, made by
``bash benchmarks/kinase_library/setup_env.sh``, and is skipped with a message when that venv is missing):

    nice -n 10 /work/venv/bin/python benchmarks/phosphoproteomics/run.py

Steps, all fixed before the data were looked at (the method is phosnet.enrich's defaults; nothing is tuned here):

1. score every site's 31-residue window (``window_31``; the source's ``_`` padding read as phosnet's ``X``) with
   ``phosnet.score_sites`` (bundled model, its default medium stringency: the top 1% of the human proteome
   background); Y sites are listed as not scored;
2. ``phosnet.enrich`` per experiment (12 log2 ratio columns vs basal) and per condition (the mean of its four
   experiments, with a one-sample t-test as p-value): AKT activity (KSEA z), running-sum ES/NES/p, Fisher tests;
3. the same activity test with the predicted AKT site set taken from the Kinase Library's AKT score (the same
   number of top sites as phosnet calls) and from the plain RxRxxS/T motif;
4. ranking: which score separates the insulin-regulated sites (mean insulin log2 ratio >= 1 and t-test p <=
   0.05, the enrich defaults) from the other measured S/T sites: ROC-AUC and PR-AUC of phosnet's score, the
   Kinase Library's AKT score (max of AKT1/2/3 log2 scores) and the motif, on all sites and on the sites that
   are not (near-)copies of a known AKT site phosnet was trained on.

Writes ``results/*.tsv`` and ``figures/`` beside this file (derived from GPL-3 data; see README.md) and prints
the tables of RESULTS.md. Intermediate files (the scored table, Kinase Library scores) go to ``work/``.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))

DATA = ROOT.parent / "shared" / "datasets" / "phospho_l6_insulin" / "phosR_L6_myotube_ins_aicar_ratio.tsv.gz"
KL_PYTHON = ROOT / "benchmarks" / "kinase_library" / ".venv" / "bin" / "python"
KL_SCRIPT = ROOT / "benchmarks" / "kinase_library" / "score_windows.py"
CONDITIONS = {"insulin": "Ins", "aicar": "AICAR", "aicar_insulin": "AICARIns"}
KNOWN_IDENTITY = 11
"""A measured site is a copy of a known (training) AKT site when >= this many of the 15 central residues match."""


def score_windows(table: pd.DataFrame) -> pd.DataFrame:
    """``phosnet.score_sites`` of the ``window_31`` column (window form: ``_`` padding read as ``X``; Y sites
    listed as not scored): the bundled model's score, percentile and call, the input columns echoed."""
    import phosnet

    out = phosnet.score_sites(table, form="window", columns={"window": "window_31", "gene": "gene"})
    scores = out["score"].to_numpy(dtype=float)
    print(f"scored {np.isfinite(scores).sum()} S/T windows ({np.isnan(scores).sum()} not scored) with "
          f"{out['model'].iloc[0]}: {int(out['call'].astype(bool).sum())} called", file=sys.stderr)
    return out


def kinase_library_scores(scored: pd.DataFrame, work: Path, kl_python: Path) -> pd.Series | None:
    """max(AKT1, AKT2, AKT3) log2 score of the Kinase Library per S/T row, or None when its venv is missing."""
    if not kl_python.exists():
        print(f"Kinase Library venv not found ({kl_python}); run bash benchmarks/kinase_library/setup_env.sh. "
              "Skipping its comparison.", file=sys.stderr)
        return None
    st = scored[scored["score"].notna()]
    cache = work / "kl_scores.tsv"
    source = work / "kl_input.tsv"
    st[["window"]].to_csv(source, sep="\t", index=False)
    if not _same(cache, st):
        subprocess.run([str(kl_python), str(KL_SCRIPT), "--no-percentile", str(source), str(cache)], check=True)
    kl = pd.read_csv(cache, sep="\t")
    if kl["window"].tolist() != st["window"].tolist():
        raise SystemExit(f"{cache}: windows differ from the scored table; delete it and rerun")
    out = pd.Series(np.nan, index=scored.index)
    out[st.index] = kl[["kl_AKT1", "kl_AKT2", "kl_AKT3"]].max(axis=1).to_numpy()
    return out


def _same(cache: Path, st: pd.DataFrame) -> bool:
    try:
        return pd.read_csv(cache, sep="\t", usecols=["window"])["window"].tolist() == st["window"].tolist()
    except (OSError, ValueError):
        return False


def motif(windows: pd.Series, pattern: str) -> np.ndarray:
    """1.0 where the 31-mer matches ``RxRxxS/T`` (R at -5 and -3) or ``RxxS/T`` (R at -3), else 0.0."""
    minus5 = windows.str[10] == "R"
    minus3 = windows.str[12] == "R"
    centre = windows.str[15].isin(["S", "T"])
    hit = (minus5 & minus3 & centre) if pattern == "RxRxxS/T" else (minus3 & centre)
    return hit.to_numpy(dtype=float)


def known_copies(windows: pd.Series) -> np.ndarray:
    """Which 31-mers share >= KNOWN_IDENTITY of their 15 central residues with a known AKT site of phosnet's
    training data (data/akt_sites.tsv, label 1, any split): those sites the model has seen, or their orthologs."""
    from phosnet.encoding import to_index

    known = pd.read_csv(ROOT / "data" / "akt_sites.tsv", sep="\t", usecols=["label", "window"])
    known = to_index(list(known.loc[known["label"] == 1, "window"].str[8:23]))
    measured = to_index(list(windows.str[8:23]))
    out = np.zeros(len(measured), dtype=bool)
    for start in range(0, len(measured), 512):
        block = measured[start : start + 512]
        same = (block[:, None, :] == known[None, :, :]).sum(axis=2)
        out[start : start + 512] = (same >= KNOWN_IDENTITY).any(axis=1)
    return out


def ranking(labels: np.ndarray, scores: dict[str, np.ndarray], view: str) -> list[dict]:
    from sklearn.metrics import average_precision_score, roc_auc_score

    rows = []
    for name, values in scores.items():
        keep = np.isfinite(values)
        y, v = labels[keep], values[keep]
        top = np.argsort(-v, kind="stable")[: max(1, int(y.sum()))]
        rows.append({"view": view, "score": name, "sites": int(len(y)), "regulated": int(y.sum()),
                     "roc_auc": roc_auc_score(y, v), "pr_auc": average_precision_score(y, v),
                     "precision_at_R": float(y[top].mean()), "random_pr_auc": float(y.mean())})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--kl-python", type=Path, default=KL_PYTHON)
    parser.add_argument("--permutations", type=int, default=1000)
    args = parser.parse_args(argv)

    import phosnet
    from phosnet.evaluation import paired_bootstrap
    from phosnet.plots import plot_enrich

    started = time.time()
    work, results, figures = HERE / "work", HERE / "results", HERE / "figures"
    for folder in (work, results, figures):
        folder.mkdir(exist_ok=True)
    raw = pd.read_csv(args.data, sep="\t")
    scored = score_windows(raw)
    scored.to_csv(work / "l6_scored.tsv", sep="\t", index=False)

    experiments = [c for c in raw.columns if "_exp" in c]
    conditions = [f"{name}={','.join(c for c in experiments if c.rsplit('_', 1)[0] == prefix)}"
                  for name, prefix in CONDITIONS.items()]
    contrasts = experiments + conditions

    # 2. phosnet's activity per experiment, from the written scored table (what a user runs)
    result = phosnet.enrich(work / "l6_scored.tsv", contrasts, permutations=args.permutations)
    activity = result.activity
    activity.to_csv(results / "activity.tsv", sep="\t", index=False, float_format="%.6g")
    insulin = result.drivers[(result.drivers["contrast"] == "insulin") & result.drivers["leading_edge"]]
    insulin.head(30).to_csv(results / "drivers_insulin.tsv", sep="\t", index=False, float_format="%.4g")
    one = phosnet.enrichment.Enrichment(
        activity[activity["contrast"] == "insulin"], result.drivers,
        result.sites[result.sites["contrast"] == "insulin"], result.rule, result.threshold)
    for old in figures.glob("*.png"):
        old.unlink()
    plot_enrich(one, figures, fc_cutoff=1.0, p_cutoff=0.05)

    # 3. the same test with the Kinase Library's and the motif's AKT site sets
    kl = kinase_library_scores(scored, work, args.kl_python)
    st = scored[scored["score"].notna()].reset_index(drop=True)
    n_called = int(st["call"].sum())
    sets = {"phosnet (medium stringency)": st["call"].to_numpy(dtype=bool),
            "RxRxxS/T motif": motif(st["window"], "RxRxxS/T") > 0}
    if kl is not None:
        kl_st = kl[scored["score"].notna()].to_numpy()
        top = np.zeros(len(st), dtype=bool)
        top[np.argsort(-kl_st, kind="stable")[:n_called]] = True
        sets[f"Kinase Library AKT (top {n_called})"] = top
    by_set = []
    for name, members in sets.items():
        table = st.assign(call=members)
        out = phosnet.enrich(table, contrasts, permutations=args.permutations).activity
        columns = ["contrast", "akt_sites", "akt_activity", "ksea_p", "gsea_es", "gsea_p"]
        by_set.append(out[columns].assign(sites_from=name))
    pd.concat(by_set).to_csv(results / "activity_by_site_set.tsv", sep="\t", index=False, float_format="%.6g")

    # 4. ranking of the insulin-regulated sites
    ins = st[[c for c in experiments if c.startswith("Ins_")]].to_numpy(dtype=float)
    from scipy.stats import ttest_1samp

    regulated = (ins.mean(axis=1) >= 1.0) & (ttest_1samp(ins, 0.0, axis=1).pvalue <= 0.05)
    scores = {"phosnet akt-default": st["score"].to_numpy(), "RxRxxS/T motif": motif(st["window"], "RxRxxS/T"),
              "RxxS/T motif": motif(st["window"], "RxxS/T")}
    if kl is not None:
        scores["Kinase Library AKT (max log2)"] = kl_st
    seen = known_copies(st["window"])
    rows = ranking(regulated, scores, "all measured S/T") + ranking(
        regulated[~seen], {k: v[~seen] for k, v in scores.items()}, "without known AKT sites (>=11/15 identical)")
    table = pd.DataFrame(rows)
    bootstrap = []
    for rival in [k for k in scores if k != "phosnet akt-default"]:
        for view, keep in (("all measured S/T", np.ones(len(st), dtype=bool)), ("without known AKT sites", ~seen)):
            ok = keep & np.isfinite(scores[rival])
            boot = paired_bootstrap(regulated[ok], scores["phosnet akt-default"][ok], scores[rival][ok], n_boot=1000)
            bootstrap.append({"view": view, "vs": rival, **{f"{m}_{k}": boot[m][k] for m in ("roc_auc", "pr_auc")
                                                          for k in ("difference", "ci_low", "ci_high")}})
    table.to_csv(results / "ranking.tsv", sep="\t", index=False, float_format="%.4f")
    pd.DataFrame(bootstrap).to_csv(results / "ranking_bootstrap.tsv", sep="\t", index=False, float_format="%.4f")

    pd.set_option("display.width", 200)
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(f"\n## run {when}, {platform.processor() or platform.machine()}, {time.time() - started:.0f} s; "
          f"{len(st)} S/T sites, {n_called} called, {int(seen.sum())} copies of known AKT sites, "
          f"{int(regulated.sum())} insulin-regulated ({int(regulated[~seen].sum())} without the known)")
    print(activity[["contrast", "akt_sites", "akt_activity", "ksea_p", "gsea_es", "gsea_nes", "gsea_p",
                    "fisher_up_odds_ratio", "fisher_up_p", "direction"]].to_markdown(index=False, floatfmt=".3g"))
    wide = pd.concat(by_set).pivot(index="contrast", columns="sites_from", values="akt_activity")
    wide = wide.loc[list(activity["contrast"])]
    print(wide.to_markdown(floatfmt=".2f"))
    print(table.to_markdown(index=False, floatfmt=".3f"))
    print(pd.DataFrame(bootstrap).to_markdown(index=False, floatfmt=".3f"))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
