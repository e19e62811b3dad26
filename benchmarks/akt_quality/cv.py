#!/usr/bin/env python
"""Cross-validated model selection: k-fold CV over whole cd-hit clusters of the AKT pool (train + validation
splits of data/akt_sites.tsv; the fixed test split is never used here).

    nice -n 10 python benchmarks/akt_quality/cv.py                 # train what is missing, score, write tables
    nice -n 10 python benchmarks/akt_quality/cv.py --score-only    # score the finished fold runs only

Folds: the 202 clusters of the pool go whole into ``--folds`` folds, balanced by AKT sites (clusters shuffled
with seed 0, largest first, each to the fold with the fewest sites so far). For fold f the held-out clusters
are fold f, the inner validation split (early stopping, best epoch) is fold f+1 (mod k) and the rest train.

Pretraining never sees a held-out fold: the proteins of fold f (every organism) are searched against the human
proteome with ``cd-hit-2d -c 0.4 -n 2 -s2 0`` (the 40% identity of data/clusters.tsv), and every pretraining
window that occurs in one of those homologs (or in the held-out proteins) is dropped from the pretraining table
for fold f. (data/pretrain_agc.tsv.gz already lacks the fixed validation/test proteins and their homologs.)

Candidates (recipes under benchmarks/akt_quality/recipes/): each is trained per fold with ``--members`` seeds
(the shipped recipes use 5; fewer here for compute), fine-tuning patience 3 (not 8) and at most 2 distillation
epochs (not 6) (``CV_OVERRIDES``), and scored twice: the recipe's own combined network
(distilled) and the members' score average. The in vitro variant adds the Sugiyama et al. 2019 in vitro AKT
sites (data/akt_invitro_sites.tsv) as extra training positives (their proteins' other S/T as negatives),
dropping in vitro proteins of the AKT pool, every in vitro protein that is a 40% homolog of a held-out
protein (the same cd-hit-2d search; all in vitro proteins are in that proteome) and every in vitro S/T whose
window occurs in a held-out protein; it fine-tunes from the same pretrained network as its base candidate
(copied, not re-run). The x5 candidates (v1x5, v2x5) are v1 and v2 with 5 fine-tuned members per fold: they start
from copies of the base candidate's finished members (the pretrained network and members 0-2, same seeds), so
only members 3 and 4 and the distillation over all 5 are trained; their score average is the recipe's
5-network average (what the bundled ``akt-ensemble`` ships for v1).

Metrics per fold and pooled out-of-fold: ROC-AUC, PR-AUC, sensitivity at 95% and 99% specificity, in two views
(all S/T; AKT sites vs other known human phosphosites), with the Kinase Library scored on the same sites.
Writes benchmarks/akt_quality/cv_results.json and cv_tables.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from views import newer_like  # this folder is on sys.path when the script runs

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
DATA = REPO / "data"
RUNS = HERE / "runs" / "cv"
SITES = DATA / "akt_sites.tsv"
PROTEINS = DATA / "akt_proteins.fasta"
PRETRAIN = DATA / "pretrain_agc.tsv.gz"
INVITRO = DATA / "akt_invitro_sites.tsv"
INVITRO_PROTEINS = DATA / "akt_invitro_proteins.fasta"
PROTEOME = REPO.parent / "shared" / "datasets" / "proteome" / "human_uniprot201401_subset.fasta.gz"
KL_SCORES = REPO / "benchmarks" / "kinase_library" / "akt_sites_kl_scores.tsv.gz"
CDHIT_2D_ARGS = ["-c", "0.4", "-n", "2", "-s2", "0", "-M", "0", "-T", "1", "-d", "0"]

# name -> (recipe file, recipe overrides, in vitro positives?, candidate whose pretrained network it reuses)
CANDIDATES: dict[str, tuple[str, dict, bool, str | None]] = {
    "v1": ("recipes/v1.yaml", {}, False, None),                # the old bundled recipe (ReLU head)
    "v2": ("recipes/v2.yaml", {}, False, None),                # + linear path to the logit
    # v2 + in vitro positives; compared as the members' score average (no distillation, to save compute)
    "v2-invitro": ("recipes/v2.yaml", {"combine": "average"}, True, "v2"),
    # 5 members per fold (as shipped); members 0-2 and the pretrained network copied from v1 / v2 (see EXTENDS)
    "v1x5": ("recipes/v1.yaml", {"ensemble": 5}, False, "v1"),
    "v2x5": ("recipes/v2.yaml", {"ensemble": 5}, False, "v2"),
    # recurrent networks (issue 23) against the CNN, each as the members' score average (no distillation); the
    # "model" override is merged into the recipe's model settings (head, learning rate kept)
    "v2-avg": ("recipes/v2.yaml", {"combine": "average"}, False, None),
    "bigru": ("recipes/v2.yaml", {"combine": "average", "model": {"architecture": "bigru"}}, False, None),
    "conv-bilstm": ("recipes/v2.yaml", {"combine": "average", "model": {"architecture": "conv-bilstm"}}, False,
                    None),
    # model v3 candidates (issue 22), one member each like v2-avg: the in vitro sites in the pretraining table
    # (see PRETRAIN_INVITRO), and positive-unlabelled weighting (the unlabelled S/T weigh half)
    "v2-ivpre": ("recipes/v2.yaml", {"combine": "average"}, False, None),
    "v2-pu": ("recipes/v2.yaml", {"combine": "average", "unlabelled_weight": 0.5}, False, None),
    "v2-w41": ("recipes/v2.yaml", {"combine": "average"}, False, None),  # a 41-residue window (FLANK)
}
FLANK = {"v2-w41": 20}  # residues each side of the site (default 15); its pretraining windows are widened too
PRETRAIN_INVITRO = {"v2-ivpre"}  # pretrain on the AGC table plus the fold's in vitro S/T (sites = positives)
# architecture ensembles: the score average of finished candidates' out-of-fold scores (nothing trained)
ENSEMBLES = {"ens-cnn-gru": ("v2-avg", "bigru"), "ens-cnn-gru-lstm": ("v2-avg", "bigru", "conv-bilstm")}
# candidate -> base candidate whose finished members (not its distilled network) it copies and extends
EXTENDS = {"v1x5": "v1", "v2x5": "v2"}
LABELS = {
    "v1": "v1 (old default: ReLU head)",
    "v2": "v2 (ReLU head + linear path)",
    "v2-invitro": "v2 + in vitro positives",
    "v1x5": "v1 (old default: ReLU head), 5 seeds",
    "v2x5": "v2 (ReLU head + linear path), 5 seeds",
    "v2-avg": "v2 CNN (Conv1D+BN)",
    "bigru": "BiGRU(32) + v2 head",
    "conv-bilstm": "conv1 + BiLSTM(32) + v2 head",
    "v2-ivpre": "v2 CNN, in vitro sites in pretraining",
    "v2-pu": "v2 CNN, unlabelled S/T weigh 0.5",
    "v2-w41": "v2 CNN, 41-residue window",
    "ens-cnn-gru": "ensemble: v2 CNN + BiGRU",
    "ens-cnn-gru-lstm": "ensemble: v2 CNN + BiGRU + conv-BiLSTM",
}
SPECS = ("0.95", "0.99")
# Compute on a shared 2-core machine: every candidate's recipe is trained per fold with these changes (the
# shipped recipes: patience 8, distill_epochs 6, 5 members). Fine-tuning from the pretrained network peaks in
# its first epochs (the bundled run: best epoch 1-7 of 9-15), so patience 3 rarely changes the chosen epoch.
CV_OVERRIDES = {"patience": 3, "distill_epochs": 2}


def log(message: str) -> None:
    print(f"[{dt.datetime.now(dt.UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def assign_folds(sites: pd.DataFrame, k: int, seed: int = 0) -> dict[str, int]:
    """Cluster -> fold: shuffled, then by AKT sites (largest first) to the fold with the fewest sites so far."""
    per = sites.groupby("cluster").agg(pos=("label", "sum"), n=("label", "size")).reset_index()
    per = per.iloc[np.random.default_rng(seed).permutation(len(per))]
    per = per.sort_values("pos", ascending=False, kind="stable")
    load = np.zeros((k, 2))
    folds = {}
    for cluster, pos, n in zip(per["cluster"], per["pos"], per["n"], strict=True):
        f = int(np.lexsort((load[:, 1], load[:, 0]))[0])
        folds[cluster] = f
        load[f] += (pos, n)
    return folds


def read_fasta(path: Path) -> dict[str, str]:
    from phosnet.io.fasta import read_proteins

    return read_proteins(path)


def cdhit_homologs(query: dict[str, str], cache: Path) -> set[str]:
    """Human proteome accessions that cd-hit-2d clusters with a query protein at 40% identity (cached)."""
    if cache.exists():
        return set(cache.read_text().split())
    exe = shutil.which("cd-hit-2d")
    if exe is None:
        sys.exit("cd-hit-2d is not installed (apt-get install cd-hit)")
    with tempfile.TemporaryDirectory() as tmp:
        q = Path(tmp) / "query.fasta"
        q.write_text("".join(f">{k}\n{v}\n" for k, v in sorted(query.items())))
        db = Path(tmp) / "proteome.fasta"
        with gzip.open(PROTEOME, "rt") as src:
            db.write_text(src.read())
        out = Path(tmp) / "hits"
        proc = subprocess.run([exe, "-i", str(q), "-i2", str(db), "-o", str(out), *CDHIT_2D_ARGS],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit(f"cd-hit-2d failed: {proc.stderr[-2000:]}")
        hits = set()
        for line in Path(str(out) + ".clstr").read_text().splitlines():
            m = re.search(r">(\S+?)\.\.\.", line)
            if m and not line.rstrip().endswith("*"):
                hits.add(m.group(1))
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text("\n".join(sorted(hits)) + "\n")
    return hits


def st_windows(sequences: dict[str, str], flank: int = 15) -> set[str]:
    """Every S/T-centred window (X-padded) of the given proteins."""
    out = set()
    for seq in sequences.values():
        padded = "X" * flank + seq + "X" * flank
        for i, aa in enumerate(seq):
            if aa in "ST":
                out.add(padded[i:i + 2 * flank + 1])
    return out


def fold_inputs(f: int, k: int, pool: pd.DataFrame, folds: dict[str, int], proteome: dict[str, str],
                akt_proteins: dict[str, str]) -> dict[str, Path]:
    """Write fold f's site tables (plain and with in vitro positives), FASTA and filtered pretraining table."""
    out = RUNS / "folds" / f"fold-{f}"
    paths = {"sites": out / "sites.tsv", "sites_invitro": out / "sites_invitro.tsv",
             "proteins_invitro": out / "proteins_invitro.fasta", "pretrain": out / "pretrain.tsv.gz"}
    if all(p.exists() for p in paths.values()):
        paths["pretrain_invitro"] = pretrain_with_invitro(out, paths)
        return paths
    out.mkdir(parents=True, exist_ok=True)
    fold_of = pool["cluster"].map(folds).to_numpy()
    split = np.where(fold_of == f, "test", np.where(fold_of == (f + 1) % k, "validation", "train"))
    table = pool[["protein_id", "position", "residue", "label", "cluster"]].copy()
    table["split"] = split
    held = sorted(set(table.loc[table["split"] == "test", "protein_id"]))
    homologs = cdhit_homologs({p: akt_proteins[p] for p in held}, out / "homologs.txt") | set(held)
    # pretraining without the held-out proteins' homologs
    bad = st_windows({a: proteome[a] for a in homologs if a in proteome} | {p: akt_proteins[p] for p in held})
    pre = pd.read_csv(PRETRAIN, sep="\t", dtype={"window": str, "label": np.int8})
    keep = ~pre["window"].isin(bad)
    pre[keep].to_csv(paths["pretrain"], sep="\t", index=False, compression="gzip")
    (out / "pretrain_dropped.txt").write_text(f"{int((~keep).sum())} of {len(pre)} pretraining windows dropped "
                                              f"({int(pre.loc[~keep, 'label'].sum())} positives); "
                                              f"{len(homologs)} accessions\n")
    table.to_csv(paths["sites"], sep="\t", index=False)
    # in vitro positives: proteins outside the AKT pool and not homologous to a held-out protein
    iv = pd.read_csv(INVITRO, sep="\t", dtype={"protein_id": str})
    iv = iv[~iv["protein_id"].isin(set(SITES_ALL["protein_id"])) & ~iv["protein_id"].isin(homologs)]
    iv_seqs = read_fasta(INVITRO_PROTEINS)
    rows = []
    positives = set(zip(iv["protein_id"], iv["position"], strict=True))
    shared = 0  # like the pretraining table: no window that also occurs in a held-out protein or its homologs
    for p in sorted(set(iv["protein_id"])):
        seq = iv_seqs[p]
        padded = "X" * 15 + seq + "X" * 15
        for i, aa in enumerate(seq, start=1):
            if aa in "ST":
                if padded[i - 1:i + 30] in bad:
                    shared += 1
                    continue
                rows.append((p, i, aa, int((p, i) in positives), f"IV-{p}", "train"))
    extra = pd.DataFrame(rows, columns=["protein_id", "position", "residue", "label", "cluster", "split"])
    pd.concat([table, extra], ignore_index=True).to_csv(paths["sites_invitro"], sep="\t", index=False)
    with open(paths["proteins_invitro"], "w") as handle:
        for p, seq in {**akt_proteins, **{p: iv_seqs[p] for p in set(iv["protein_id"])}}.items():
            handle.write(f">{p}\n{seq}\n")
    paths["pretrain_invitro"] = pretrain_with_invitro(out, paths)
    (out / "invitro.txt").write_text(f"{int(extra['label'].sum())} in vitro sites on {iv['protein_id'].nunique()} "
                                     f"proteins, {len(extra)} S/T ({shared} S/T dropped: window also in a "
                                     f"held-out protein)\n")
    return paths


def pretrain_with_invitro(out: Path, paths: dict[str, Path]) -> Path:
    """The fold's pretraining table plus its in vitro S/T (the in vitro rows of ``sites_invitro.tsv``: proteins
    outside the pool and not homologous to a held-out protein, windows shared with one dropped), sites = 1."""
    target = out / "pretrain_invitro.tsv.gz"
    if target.exists():
        return target
    table = pd.read_csv(paths["sites_invitro"], sep="\t", dtype={"protein_id": str, "cluster": str})
    extra = table[table["cluster"].str.startswith("IV-")]
    sequences = read_fasta(paths["proteins_invitro"])
    windows = ["X" * 15 + sequences[p] + "X" * 15 for p in extra["protein_id"]]
    rows = pd.DataFrame({"window": [w[q - 1:q + 30] for w, q in zip(windows, extra["position"], strict=True)],
                         "label": extra["label"].to_numpy(np.int8)})
    pre = pd.read_csv(paths["pretrain"], sep="\t", dtype={"window": str, "label": np.int8})
    pd.concat([pre, rows], ignore_index=True).to_csv(target, sep="\t", index=False, compression="gzip")
    return target


_PROTEOME_WINDOWS: dict[str, tuple[str, int]] = {}


def widened_pretraining(out: Path, paths: dict[str, Path], flank: int, proteome: dict[str, str]) -> Path:
    """The fold's pretraining table with each 31-residue window widened to ``2 * flank + 1``: every window is
    found in the human proteome it was taken from (first occurrence) and re-cut there; a window not found is
    dropped (counted in the log)."""
    target = out / f"pretrain_w{2 * flank + 1}.tsv.gz"
    if target.exists():
        return target
    if not _PROTEOME_WINDOWS:
        for accession, seq in proteome.items():
            padded = "X" * 15 + seq + "X" * 15
            for i, aa in enumerate(seq, start=1):
                if aa in "ST":
                    _PROTEOME_WINDOWS.setdefault(padded[i - 1:i + 30], (accession, i))
    pre = pd.read_csv(paths["pretrain"], sep="\t", dtype={"window": str, "label": np.int8})
    wide, labels = [], []
    for window, label in zip(pre["window"], pre["label"], strict=True):
        hit = _PROTEOME_WINDOWS.get(window)
        if hit is None:
            continue
        accession, i = hit
        padded = "X" * flank + proteome[accession] + "X" * flank
        wide.append(padded[i - 1:i + 2 * flank])
        labels.append(label)
    log(f"{target.name}: {len(wide)} of {len(pre)} pretraining windows widened")
    pd.DataFrame({"window": wide, "label": np.asarray(labels, np.int8)}).to_csv(target, sep="\t", index=False,
                                                                                compression="gzip")
    return target


def train_fold(name: str, f: int, paths: dict[str, Path], members: int) -> float | None:
    """``phosnet train`` one candidate on one fold (skipped when finished); returns seconds or None."""
    recipe_file, overrides, invitro, base = CANDIDATES[name]
    out = RUNS / name / f"fold-{f}"
    if (out / "model.keras").exists():
        return None
    if name in EXTENDS:  # the base's finished members (same seeds): only the missing members are trained
        src = RUNS / base / f"fold-{f}" / "members"
        if not (RUNS / base / f"fold-{f}" / "model.keras").exists():
            sys.exit(f"{name} fold {f}: {base} fold {f} is not finished (its members are copied)")
        for member in sorted(src.glob("member-*")):
            if not (out / "members" / member.name).exists():
                shutil.copytree(member, out / "members" / member.name)
    elif base is not None:  # reuse the base candidate's pretrained network (same architecture and table)
        src = RUNS / base / f"fold-{f}" / "members" / "member-0" / "pretrain"
        dst = out / "members" / "member-0" / "pretrain"
        if src.exists() and not dst.exists():
            shutil.copytree(src, dst)
    import yaml

    recipe = yaml.safe_load((HERE / recipe_file).read_text())
    recipe.update(CV_OVERRIDES)
    recipe["ensemble"] = members
    for key, value in overrides.items():  # a "model" override changes some model settings, not all
        recipe[key] = {**recipe.get(key, {}), **value} if key == "model" else value
    recipe["pretrain"] = str(paths["pretrain_invitro" if name in PRETRAIN_INVITRO else
                                   f"pretrain_w{2 * FLANK[name] + 1}" if name in FLANK else "pretrain"])
    config = out / "recipe.json"
    out.mkdir(parents=True, exist_ok=True)
    config.write_text(json.dumps(recipe, indent=2))
    sites = paths["sites_invitro"] if invitro else paths["sites"]
    proteins = paths["proteins_invitro"] if invitro else PROTEINS
    cmd = [sys.executable, "-m", "phosnet", "train", str(sites), str(proteins), "--config", str(config),
           "--out-dir", str(out), "--name", f"cv-{name}-fold{f}", "--resume", "--flank", str(FLANK.get(name, 15))]
    log(f"training {name} fold {f}")
    start = time.time()
    with open(out / "train.log", "a") as handle:
        proc = subprocess.run(cmd, stdout=handle, stderr=subprocess.STDOUT, cwd=REPO)
    if proc.returncode != 0:
        sys.exit(f"{name} fold {f} failed; see {out / 'train.log'}")
    seconds = time.time() - start
    log(f"{name} fold {f}: {seconds:.0f} s")
    (out / "seconds.txt").write_text(f"{seconds:.0f}\n")
    return seconds


def margins(view: str, mask: np.ndarray, y: np.ndarray, scores: dict[str, np.ndarray], table: pd.DataFrame,
            args: argparse.Namespace, results: dict) -> str:
    """Paired cluster-bootstrap intervals of each method's pooled margin over the baseline and over the Kinase
    Library's best score (max AKT1-3 percentile), in one view; recorded in ``results["margins"]``."""
    from phosnet.evaluation import paired_bootstrap

    base = next((m for m in scores if m.startswith(LABELS.get(args.baseline, args.baseline))), None)
    kl = "KL max percentile(AKT1-3)"
    lines = [f"Margins, {view} (paired bootstrap of {args.bootstrap} resamples of whole clusters, 95% intervals):",
             "", f"| method | ROC-AUC - {base} | PR-AUC - {base} | ROC-AUC - KL | PR-AUC - KL |",
             "|---|---|---|---|---|"]
    groups = table["cluster"].to_numpy()[mask]
    for method, s in scores.items():
        if method.startswith("KL "):
            continue
        cells = []
        for other in (base, kl):
            if other is None or other == method:
                cells += ["-", "-"]
                continue
            b = paired_bootstrap(y[mask], s[mask], scores[other][mask], groups=groups, n_boot=args.bootstrap)
            results.setdefault("margins", {})[f"{view} / {method} - {other}"] = b
            cells += [f"{b[k]['difference']:+.3f} ({b[k]['ci_low']:+.3f}, {b[k]['ci_high']:+.3f})"
                      for k in ("roc_auc", "pr_auc")]
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def fold_metrics(y: np.ndarray, s: np.ndarray) -> dict[str, float]:
    from phosnet.evaluation import binary_metrics

    m = binary_metrics(y, s)
    return {"ROC-AUC": m["roc_auc"], "PR-AUC": m["pr_auc"],
            **{f"Sn@Sp{k[2:]}": m["sensitivity"][k] for k in SPECS}}


SITES_ALL = pd.read_csv(SITES, sep="\t", dtype={"protein_id": str})


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--members", type=int, default=3,
                    help="seeds per candidate and fold (shipped recipes: 5; the x5 candidates: always 5)")
    ap.add_argument("--candidates", default=",".join(CANDIDATES), help="comma-separated, of: " + ",".join(CANDIDATES))
    ap.add_argument("--only-folds", default=None, help="train only these folds (comma-separated); score all finished")
    ap.add_argument("--score-only", action="store_true", help="train nothing; score the finished fold runs")
    ap.add_argument("--bootstrap", type=int, default=0, metavar="N",
                    help="paired cluster-bootstrap intervals (N resamples of whole clusters) of every method's "
                         "pooled out-of-fold ROC-AUC / PR-AUC margin over BASELINE and over the Kinase Library")
    ap.add_argument("--tag", default="",
                    help="write cv_TAG_results.json and cv_TAG_tables.md (default: cv_results.json, cv_tables.md)")
    ap.add_argument("--baseline", default="v2-avg", help="candidate the --bootstrap margins are taken against")
    args = ap.parse_args(argv)
    for var in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS"):
        os.environ.setdefault(var, "1")  # one core: the machine is shared
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ["PYTHONPATH"] = str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")
    names = [c for c in args.candidates.split(",") if c]
    ensembles = [c for c in names if c in ENSEMBLES]
    names = [c for c in names if c not in ENSEMBLES]
    unknown = set(names) - set(CANDIDATES)
    if unknown:
        sys.exit(f"unknown candidates: {sorted(unknown)}")
    started = dt.datetime.now(dt.UTC)

    pool = SITES_ALL[SITES_ALL["split"].isin(["train", "validation"])].reset_index(drop=True)
    folds = assign_folds(pool, args.folds)
    akt_proteins = read_fasta(PROTEINS)
    from phosnet.io.fasta import read_proteins

    proteome = read_proteins(PROTEOME)
    paths = {f: fold_inputs(f, args.folds, pool, folds, proteome, akt_proteins) for f in range(args.folds)}
    for flank in sorted({FLANK[n] for n in names if n in FLANK}):
        for f in range(args.folds):
            paths[f][f"pretrain_w{2 * flank + 1}"] = widened_pretraining(RUNS / "folds" / f"fold-{f}", paths[f],
                                                                         flank, proteome)
    seconds: dict[str, dict[int, float]] = {}
    if not args.score_only:
        todo = range(args.folds) if args.only_folds is None else [int(x) for x in args.only_folds.split(",")]
        for f in todo:
            for name in names:
                s = train_fold(name, f, paths[f], args.members)
                if s is not None:
                    seconds.setdefault(name, {})[f] = s

    # scoring: out-of-fold scores of every method on the pool
    from phosnet._tf import keras
    from phosnet.akt import predict_windows
    from phosnet.datasets import labelled_windows

    data = labelled_windows(pool.assign(split="train")[["protein_id", "position", "residue", "label", "split"]],
                            akt_proteins)
    table = data.table[["protein_id", "position", "label"]].copy().reset_index(drop=True)
    by_flank = {15: data.index}

    def windows_at(flank: int) -> np.ndarray:
        """The pool's windows with ``flank`` residues each side, in ``table``'s order."""
        if flank not in by_flank:
            wide = labelled_windows(pool.assign(split="train")[["protein_id", "position", "residue", "label",
                                                                "split"]], akt_proteins, flank=flank)
            assert (wide.table[["protein_id", "position"]].to_numpy() == table[["protein_id", "position"]]
                    .to_numpy()).all()
            by_flank[flank] = wide.index
        return by_flank[flank]

    table["cluster"] = table["protein_id"].map(pool.groupby("protein_id")["cluster"].first())
    table["fold"] = table["cluster"].map(folds)
    kl = pd.read_csv(KL_SCORES, sep="\t", dtype={"protein_id": str})
    kl = table[["protein_id", "position"]].merge(kl, on=["protein_id", "position"], how="left")
    scores: dict[str, np.ndarray] = {}
    for k_ in ("AKT1", "AKT2", "AKT3"):
        scores[f"KL {k_}"] = kl[f"kl_{k_}"].to_numpy()
    scores["KL max percentile(AKT1-3)"] = kl[[f"kl_{k_}_pct" for k_ in ("AKT1", "AKT2", "AKT3")]].max(axis=1).to_numpy()
    finished: dict[str, list[int]] = {}
    members_of: dict[str, int] = {}
    member_scores: dict[str, np.ndarray] = {}
    for name in names:
        combined = np.full(len(table), np.nan)
        averaged = np.full(len(table), np.nan)
        done = []
        n_members: set[int] = set()
        for f in range(args.folds):
            run = RUNS / name / f"fold-{f}"
            if not (run / "model.keras").exists():
                continue
            mask = (table["fold"] == f).to_numpy()
            index = windows_at(FLANK.get(name, 15))
            combined[mask] = predict_windows(keras().models.load_model(run / "model.keras"), index[mask])
            member_files = sorted((run / "members").glob("member-*/finetune/model.keras"))
            n_members.add(len(member_files))
            averaged[mask] = np.mean([predict_windows(keras().models.load_model(m), index[mask])
                                      for m in member_files], axis=0)
            keras().backend.clear_session()
            done.append(f)
            if (run / "seconds.txt").exists():  # kept from the training run, so --score-only reports it too
                seconds.setdefault(name, {})[f] = float((run / "seconds.txt").read_text())
        if done:
            if len(n_members) != 1:
                sys.exit(f"{name}: folds differ in their number of members ({sorted(n_members)})")
            n = n_members.pop()
            finished[name] = done
            members_of[name] = n
            if CANDIDATES[name][1].get("combine", "distill") == "distill":
                scores[f"{LABELS[name]}, distilled from {n}"] = combined
            scores[f"{LABELS[name]}, {n}-network score average"] = averaged
            member_scores[name] = averaged
    for name in ensembles:  # architecture ensembles: the average of finished candidates' out-of-fold scores
        parts = ENSEMBLES[name]
        if all(p in member_scores for p in parts):
            scores[LABELS[name]] = np.mean([member_scores[p] for p in parts], axis=0)
            finished[name] = sorted(set.intersection(*(set(finished[p]) for p in parts)))

    known = pd.read_csv(DATA / "human_phosphosites.tsv", sep="\t", dtype={"accession": str})
    known_set = set(zip(known["accession"], known["position"], strict=True))
    phospho = np.array([(p, q) in known_set for p, q in zip(table.protein_id, table.position, strict=True)])
    y_all = table["label"].to_numpy()
    views = {"all S/T": np.ones(len(table), bool), "phosphosites": phospho | (y_all == 1),
             "newer-like": newer_like(table)}
    common = sorted(set.intersection(*(set(v) for v in finished.values()))) if finished else []
    results: dict = {"folds_scored": common, "per_fold": {}, "summary": {}}
    sections = []
    for view, vmask in views.items():
        rows = []
        for method, s in scores.items():
            per = []
            for f in common:
                m = vmask & (table["fold"] == f).to_numpy()
                per.append(fold_metrics(y_all[m], s[m]))
            results["per_fold"][f"{view} / {method}"] = per
            m = vmask & table["fold"].isin(common).to_numpy()
            pooled = fold_metrics(y_all[m], s[m]) if common else {}
            row = {"method": method}
            for key in ("ROC-AUC", "PR-AUC", *[f"Sn@Sp{k[2:]}" for k in SPECS]):
                values = np.array([p[key] for p in per])
                row[f"{key} mean"] = float(values.mean()) if len(values) else float("nan")
                row[f"{key} sd"] = float(values.std(ddof=1)) if len(values) > 1 else float("nan")
                row[f"{key} pooled"] = pooled.get(key, float("nan"))
            rows.append(row)
        results["summary"][view] = rows
        if args.bootstrap:
            sections.append(margins(view, vmask & table["fold"].isin(common).to_numpy(), y_all, scores, table,
                                    args, results))
        n = int((vmask & table["fold"].isin(common).to_numpy()).sum())
        npos = int(y_all[vmask & table["fold"].isin(common).to_numpy()].sum())
        lines = [f"### {view} (out of fold over folds {common}: {n} sites, {npos} AKT sites)", "",
                 "| method | ROC-AUC mean ± sd | pooled | PR-AUC mean ± sd | pooled | Sn@Sp95 mean ± sd | "
                 "Sn@Sp99 mean ± sd |", "|---|---|---|---|---|---|---|"]
        for r in rows:
            lines.append(f"| {r['method']} | {r['ROC-AUC mean']:.3f} ± {r['ROC-AUC sd']:.3f} | "
                         f"{r['ROC-AUC pooled']:.3f} | {r['PR-AUC mean']:.3f} ± {r['PR-AUC sd']:.3f} | "
                         f"{r['PR-AUC pooled']:.3f} | {r['Sn@Sp95 mean']:.3f} ± {r['Sn@Sp95 sd']:.3f} | "
                         f"{r['Sn@Sp99 mean']:.3f} ± {r['Sn@Sp99 sd']:.3f} |")
        sections.append("\n".join(lines))
        # per-fold ROC/PR of every method, for reading the spread
        per_lines = ["| method | " + " | ".join(f"fold {f} ROC / PR" for f in common) + " |",
                     "|---|" + "---|" * len(common)]
        for method in scores:
            per = results["per_fold"][f"{view} / {method}"]
            per_lines.append(f"| {method} | " + " | ".join(f"{p['ROC-AUC']:.3f} / {p['PR-AUC']:.3f}" for p in per)
                             + " |")
        sections.append(f"Per fold, {view}:\n\n" + "\n".join(per_lines))
    fold_rows = ["| fold | clusters | proteins | AKT sites | S/T | pretraining windows dropped | in vitro added |",
                 "|---|---|---|---|---|---|---|"]
    for f in range(args.folds):
        m = table["fold"] == f
        fdir = RUNS / "folds" / f"fold-{f}"
        fold_rows.append(f"| {f} | {table.loc[m, 'cluster'].nunique()} | {table.loc[m, 'protein_id'].nunique()} | "
                         f"{int(table.loc[m, 'label'].sum())} | {int(m.sum())} | "
                         f"{(fdir / 'pretrain_dropped.txt').read_text().strip()} | "
                         f"{(fdir / 'invitro.txt').read_text().strip()} |")
    sections.insert(0, "### Folds\n\n" + "\n".join(fold_rows))
    cpu = next((line.split(":", 1)[1].strip() for line in subprocess.run(
        ["lscpu"], capture_output=True, text=True).stdout.splitlines() if line.startswith("Model name")), "?")
    meta = {"command": "python benchmarks/akt_quality/cv.py " + " ".join(argv if argv is not None else sys.argv[1:]),
            "date": started.isoformat(timespec="seconds"), "members": args.members, "folds": args.folds,
            "machine": f"{cpu}, {os.cpu_count()} cores (shared), {platform.platform()}",
            "members_per_candidate": members_of, "training_seconds": seconds, "finished": finished}
    results["meta"] = meta
    prefix = f"cv_{args.tag}_" if args.tag else "cv_"
    (HERE / f"{prefix}results.json").write_text(json.dumps(results, indent=2) + "\n")
    (HERE / f"{prefix}tables.md").write_text("\n\n".join(sections) + "\n")
    print("\n\n".join(sections))
    print(json.dumps(meta, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
