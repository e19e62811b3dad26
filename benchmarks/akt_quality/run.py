#!/usr/bin/env python
"""AKT site quality on held-out protein clusters: phosnet's default recipe vs the plain seed recipe vs the
Kinase Library, on the validation and test splits of data/akt_sites.tsv, in two views.

    python benchmarks/akt_quality/run.py            # trains both recipes, scores KL, writes the tables
    python benchmarks/akt_quality/run.py --reuse    # reuse finished runs in benchmarks/akt_quality/runs/
    python benchmarks/akt_quality/run.py --reuse --skip-seed --extra "v1=/tmp/v1.keras"   # + another model

Views
  all S/T      every S/T of the split's proteins; positives = known AKT sites (the training task)
  phosphosites the AKT sites against the other *known* human phosphosites of the same proteins
               (data/human_phosphosites.tsv): "which of my phosphosites are AKT's?"; also restricted to
               human proteins (mouse/rat proteins contribute AKT sites but no known-phosphosite negatives)

Methods
  phosnet default   `phosnet train --recipe akt-default` (phosnet/recipes/akt-default.yaml, the bundled
                    model's recipe)
  seed recipe       the default network, Adam 1e-3, batch 64, 20 epochs, early stopping / LR reduction /
                    best checkpoint on val_auc (mode max), no pretraining, no class weighting, one model
  bundled model     phosnet/pretrained/akt-default.keras as shipped (should match "phosnet default")
  Kinase Library    AKT1, AKT2, AKT3 log2 site scores (kinase-library 1.8.0, own venv), their maximum, and
                    the maximum of their percentiles in the library's human phosphoproteome

Thresholds for MCC are set on validation (95% specificity) and applied to test, for every method alike.
A paired bootstrap over whole protein clusters gives confidence intervals for the bundled model's ROC-AUC and
PR-AUC margins over the Kinase Library (phosnet.evaluation.paired_bootstrap).
Nothing is chosen on the test split here: the recipes are fixed before this script runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from views import newer_like  # this folder is on sys.path when the script runs

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
DATA = REPO / "data"
SITES = DATA / "akt_sites.tsv"
PROTEINS = DATA / "akt_proteins.fasta"
KL_DIR = REPO / "benchmarks" / "kinase_library"
KL_SCORES = KL_DIR / "akt_sites_kl_scores.tsv.gz"
KINASES = ("AKT1", "AKT2", "AKT3")
SPECS = ("0.90", "0.95", "0.99")
BOOTSTRAP = 2000


def sh(cmd: list[str], log: Path) -> float:
    """Run a command, its output to ``log``; returns the wall time."""
    print("+", " ".join(shlex.quote(c) for c in cmd), flush=True)
    start = time.time()
    with open(log, "w") as handle:
        proc = subprocess.run(cmd, stdout=handle, stderr=subprocess.STDOUT, cwd=REPO)
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}); see {log}")
    return time.time() - start


def train_run(name: str, args: list[str], reuse: bool) -> tuple[Path, float | None]:
    out = HERE / "runs" / name
    if reuse and (out / "model.keras").exists():
        return out, None
    if out.exists():
        import shutil

        shutil.rmtree(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "phosnet", "train", "data/akt_sites.tsv", "data/akt_proteins.fasta",
           "--out-dir", str(out.relative_to(REPO)), *args]
    seconds = sh(cmd, HERE / "runs" / f"{name}.log")
    return out, seconds


def kl_scores(table: pd.DataFrame) -> pd.DataFrame:
    """Kinase Library AKT1/2/3 scores of the rows (from the shared score file, else scored now in its venv)."""
    if KL_SCORES.exists():
        kl = pd.read_csv(KL_SCORES, sep="\t", dtype={"protein_id": str})
    else:
        python = KL_DIR / ".venv" / "bin" / "python"
        if not python.exists():
            sys.exit(f"no {KL_SCORES} and no {python}: run bash benchmarks/kinase_library/setup_env.sh first")
        tmp_in, tmp_out = HERE / "runs" / "kl_in.tsv", HERE / "runs" / "kl_scores.tsv"
        table[["protein_id", "position", "window"]].to_csv(tmp_in, sep="\t", index=False)
        sh([str(python), str(KL_DIR / "score_windows.py"), str(tmp_in), str(tmp_out), "--no-percentile"],
           HERE / "runs" / "kl.log")
        kl = pd.read_csv(tmp_out, sep="\t", dtype={"protein_id": str})
    cols = ["protein_id", "position", *[f"kl_{k}" for k in KINASES]]
    cols += [f"kl_{k}_pct" for k in KINASES if f"kl_{k}_pct" in kl.columns]
    merged = table[["protein_id", "position"]].merge(kl[cols], on=["protein_id", "position"], how="left")
    if merged[cols[2:]].isna().any().any():
        sys.exit("Kinase Library scores are missing for some rows")
    return merged


def metrics_row(method: str, labels: np.ndarray, scores: np.ndarray, val_threshold: float | None) -> dict:
    from phosnet.evaluation import binary_metrics, confusion_at

    m = binary_metrics(labels, scores)
    row = {"method": method, "n": m["n"], "positives": m["positives"], "ROC-AUC": m["roc_auc"], "PR-AUC": m["pr_auc"]}
    for s in SPECS:
        row[f"Sn@Sp{s[2:]}"] = m["sensitivity"][s]
    row["MCC@Sp95"] = m["mcc"]["0.95"]
    if val_threshold is not None:
        calls = confusion_at(labels, scores, val_threshold)
        row["MCC (val thr)"] = calls["mcc"]
        row["Sp (val thr)"] = calls["specificity"]
    return row


def fmt_table(rows: list[dict]) -> str:
    table = pd.DataFrame(rows)
    cols = list(table.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for _, r in table.iterrows():
        cells = [f"{v:.3f}" if isinstance(v, float) else str(v) for v in r]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reuse", action="store_true", help="reuse finished runs in benchmarks/akt_quality/runs/")
    ap.add_argument("--skip-seed", action="store_true", help="leave out the seed recipe")
    ap.add_argument("--no-train", action="store_true",
                    help="train nothing: score the bundled model (and --extra models) against the Kinase Library")
    ap.add_argument("--tag", default="", help="write results_TAG.json, results_TAG_tables.md, figures/TAG_* "
                                              "(default: results.json, results_tables.md)")
    ap.add_argument("--extra", action="append", default=[], metavar="LABEL=MODEL",
                    help="also score this model (.keras file, run folder or bundled name), e.g. a previous bundled "
                         "model saved from git; repeatable")
    args = ap.parse_args(argv)

    from phosnet.akt import predict_windows
    from phosnet.bundle import load_model
    from phosnet.calling import threshold_at_specificity
    from phosnet.datasets import labelled_windows
    from phosnet.evaluation import paired_bootstrap, plot_curves

    started = dt.datetime.now(dt.UTC)
    runs: dict[str, Path] = {}
    times: dict[str, float | None] = {}
    if not args.no_train:
        default_run, default_s = train_run("default", ["--recipe", "akt-default", "--name", "akt-default"],
                                           args.reuse)
        runs["phosnet default"] = default_run
        times["phosnet default"] = default_s
    if not args.skip_seed and not args.no_train:
        seed_run, seed_s = train_run("seed", ["--config", "benchmarks/akt_quality/seed.yaml", "--name", "akt-seed"],
                                     args.reuse)
        runs["seed recipe"] = seed_run
        times["seed recipe"] = seed_s

    data = labelled_windows(SITES, PROTEINS)
    table = data.table[["protein_id", "position", "label", "split"]].copy()
    table["window"] = data.windows()
    scores: dict[str, np.ndarray] = {}
    for method, run in runs.items():
        scores[method] = predict_windows(load_model(run).keras_model, data.index)
    bundled = load_model("akt-default")
    scores["bundled akt-default"] = predict_windows(bundled.keras_model, data.index)
    for extra in args.extra:
        label, _, path = extra.partition("=")
        scores[label] = predict_windows(load_model(path).keras_model, data.index)
    members = sorted((runs["phosnet default"] / "members").glob("member-*/finetune/model.keras")) \
        if "phosnet default" in runs else []
    if len(members) > 1:  # the default run's members one by one and score-averaged (what the soup replaces)
        from phosnet._tf import keras

        member_scores = [predict_windows(keras().models.load_model(m), data.index) for m in members]
        scores[f"{len(members)}-network score average (same members)"] = np.mean(member_scores, axis=0)
        for i, s in enumerate(member_scores):
            scores[f"member {i} alone"] = s
    kl = kl_scores(table)
    for k in KINASES:
        scores[f"KL {k}"] = kl[f"kl_{k}"].to_numpy()
    scores["KL max(AKT1-3)"] = kl[[f"kl_{k}" for k in KINASES]].max(axis=1).to_numpy()
    if all(f"kl_{k}_pct" in kl.columns for k in KINASES):  # the library's proteome percentiles
        scores["KL max percentile(AKT1-3)"] = kl[[f"kl_{k}_pct" for k in KINASES]].max(axis=1).to_numpy()

    known = pd.read_csv(DATA / "human_phosphosites.tsv", sep="\t", dtype={"accession": str})
    known_set = set(zip(known["accession"], known["position"], strict=True))
    table["known_phosphosite"] = [(p, q) in known_set for p, q in zip(table.protein_id, table.position, strict=True)]
    organism = pd.read_csv(DATA / "clusters.tsv", sep="\t", dtype=str).set_index("protein_id")["organism"]
    human = (table["protein_id"].map(organism) == "human").to_numpy()
    phospho = (table["label"] == 1).to_numpy() | table["known_phosphosite"].to_numpy()
    views = {"all S/T": np.ones(len(table), bool), "phosphosites": phospho,
             "phosphosites, human proteins": phospho & human,
             "newer-like": newer_like(table)}

    results: dict = {}
    sections = []
    for view, view_mask in views.items():
        for split in ("validation", "test"):
            mask = view_mask & (table["split"] == split).to_numpy()
            val_mask = view_mask & (table["split"] == "validation").to_numpy()
            y = table["label"].to_numpy()[mask]
            rows = []
            for method, s in scores.items():
                thr = threshold_at_specificity(table["label"].to_numpy()[val_mask], s[val_mask], 0.95)
                rows.append(metrics_row(method, y, s[mask], thr))
            results[f"{view} / {split}"] = rows
            sections.append(f"### {split}, {view} ({int(mask.sum())} sites, {int(y.sum())} AKT sites)\n\n"
                            + fmt_table(rows))
            curves = {m: (y, s[mask]) for m, s in scores.items()
                      if m not in {"KL AKT1", "KL AKT3"} and not m.startswith("member ")}
            tag = {"all S/T": "all", "phosphosites": "phospho", "newer-like": "newer"}.get(view, "phospho_human")
            plot_curves(curves, HERE / "figures", prefix=f"{args.tag + '_' if args.tag else ''}{split}_{tag}_",
                        title=f"({split}, {view})")

    # How sure is "phosnet beats the Kinase Library"? Paired bootstrap over whole protein clusters.
    clusters = pd.read_csv(DATA / "clusters.tsv", sep="\t", dtype=str).set_index("protein_id")["cluster"]
    cluster = table["protein_id"].map(clusters).to_numpy()
    rivals = [m for m in ("KL AKT1", "KL AKT2", "KL max percentile(AKT1-3)") if m in scores]
    rivals += [m for m in scores if m.endswith("score average (same members)")]
    rivals += [extra.partition("=")[0] for extra in args.extra]
    boot_rows = []
    for view in ("all S/T", "phosphosites", "newer-like"):
        for split in ("validation", "test"):
            mask = views[view] & (table["split"] == split).to_numpy()
            for rival in rivals:
                b = paired_bootstrap(table["label"].to_numpy()[mask], scores["bundled akt-default"][mask],
                                     scores[rival][mask], cluster[mask], n_boot=BOOTSTRAP, seed=0)
                boot_rows.append({"split": split, "view": view, "against": rival, "clusters": b["groups"],
                                  **{f"{k}_{m}": b[m][k] for m in ("roc_auc", "pr_auc")
                                     for k in ("difference", "ci_low", "ci_high", "p_a_not_better")}})
    results["bootstrap"] = boot_rows
    header = ("| split | view | bundled phosnet minus | ROC-AUC diff [95% CI] | P(not better) "
              "| PR-AUC diff [95% CI] | P(not better) |\n|---|---|---|---|---|---|---|\n")
    body = "".join(
        f"| {r['split']} | {r['view']} | {r['against']} | {r['difference_roc_auc']:+.3f} "
        f"[{r['ci_low_roc_auc']:+.3f}, {r['ci_high_roc_auc']:+.3f}] | {r['p_a_not_better_roc_auc']:.2f} "
        f"| {r['difference_pr_auc']:+.3f} [{r['ci_low_pr_auc']:+.3f}, {r['ci_high_pr_auc']:+.3f}] "
        f"| {r['p_a_not_better_pr_auc']:.2f} |\n" for r in boot_rows)
    sections.append(f"### Paired cluster bootstrap ({BOOTSTRAP} replicates; whole cd-hit clusters resampled)\n\n"
                    + header + body)

    cpu = next((line.split(":", 1)[1].strip() for line in subprocess.run(
        ["lscpu"], capture_output=True, text=True).stdout.splitlines() if line.startswith("Model name")), "?")
    import os

    meta = {
        "command": "python benchmarks/akt_quality/run.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "date": started.isoformat(timespec="seconds"),
        "machine": f"{cpu}, {os.cpu_count()} cores (shared), {platform.platform()}",
        "python": platform.python_version(),
        "training_seconds": times,
        "training_commands": {m: json.loads((r / "model.json").read_text())["training_command"]
                              for m, r in runs.items()},
    }
    suffix = f"_{args.tag}" if args.tag else ""
    (HERE / f"results{suffix}.json").write_text(json.dumps({"meta": meta, "results": results}, indent=2) + "\n")
    (HERE / f"results{suffix}_tables.md").write_text("\n\n".join(sections) + "\n")
    print("\n\n".join(sections))
    print(json.dumps(meta, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
