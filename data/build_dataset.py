#!/usr/bin/env python
"""Build phosnet's default AKT dataset in data/ from ../shared/datasets.

Run from the repository root (deterministic, re-runnable):

    python data/build_dataset.py                 # reads ../shared, writes data/
    python data/build_dataset.py --shared DIR    # another copy of shared/

Writes (see data/README.md):
  data/akt_proteins.fasta          the 303 substrate sequences, as in shared/ (header = accession)
  data/akt_sites.tsv               one row per S/T in those proteins, labelled, with cluster, split and window
  data/clusters.tsv                protein -> cd-hit cluster (40% identity) -> split
  data/human_phosphosites.tsv      known human phosphosites (Kinase Library phosphoproteome) on those proteins
  data/phosphoproteome_sites.tsv.gz  all of those phosphosites that map onto the shared human proteome, with windows
  data/split_counts.tsv            proteins / positives / negatives per split

The phosphoproteome sites are read from data/kl_phosphoproteome.tsv.gz, which
data/extract_phosphoproteome.py extracts from the kinase-library wheel (run it
with benchmarks/kinase_library/.venv/bin/python). If that file is missing, the
two phosphoproteome outputs are skipped with a warning.

Needs numpy, pandas, biopython, and the `cd-hit` binary (Debian: apt-get install cd-hit).
"""

from __future__ import annotations

import argparse
import gzip
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import NoReturn

import numpy as np
import pandas as pd
from Bio import SeqIO

FLANK = 15  # window = 2 * FLANK + 1 = 31 residues
PAD = "X"
SPLITS = ("train", "validation", "test")
SPLIT_FRACTIONS = {"train": 0.70, "validation": 0.15, "test": 0.15}
# cd-hit at 40% identity (word size 2, as cd-hit requires below 50%), no memory cap, 2 threads, full ids.
# -b 100 widens the alignment band from the default 20: with the default, the paralogues TBC1D1 and TBC1D4
# (49% identical, AKT substrates with the same motifs) land in different clusters, i.e. potentially in
# different splits, because indels push their alignment out of the narrow band.
CDHIT_ARGS = ["-c", "0.4", "-n", "2", "-M", "0", "-T", "2", "-d", "0", "-b", "100"]

# Same rule as phosnet/encoding.py (docs/DESIGN.md): upper-case; U->C, O->K; B/Z/J->X; trailing * dropped.
_TRANSLATE = str.maketrans({"U": "C", "O": "K", "B": "X", "Z": "X", "J": "X"})
_VALID = re.compile(r"^[ACDEFGHIKLMNPQRSTVWYX]*$")


def fail(message: str) -> NoReturn:
    sys.exit(f"build_dataset.py: error: {message}")


def normalize(sequence: str, where: str) -> str:
    seq = sequence.strip().upper()
    seq = seq.removesuffix("*")
    seq = seq.translate(_TRANSLATE)
    if not _VALID.match(seq):
        bad = sorted(set(seq) - set("ACDEFGHIKLMNPQRSTVWYX"))
        fail(f"{where}: unexpected characters {bad}")
    return seq


def window(seq: str, position: int, flank: int = FLANK) -> str:
    """31-mer centred on 1-based `position`, padded with X past either end."""
    i = position - 1
    left = seq[max(0, i - flank) : i].rjust(flank, PAD)
    right = seq[i + 1 : i + 1 + flank].ljust(flank, PAD)
    return left + seq[i] + right


def read_fasta(path: Path) -> dict[str, str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as handle:
        out = {}
        for rec in SeqIO.parse(handle, "fasta"):
            if rec.id in out:
                fail(f"{path}: duplicate record {rec.id}")
            out[rec.id] = normalize(str(rec.seq), f"{path}: {rec.id}")
    return out


# ----------------------------------------------------------------------------- clustering
def cdhit_clusters(fasta: Path) -> tuple[dict[str, str], str]:
    exe = shutil.which("cd-hit")
    if exe is None:
        fail(
            "cd-hit is not installed (needed for the 40%-identity protein clusters). "
            "Install it with:  apt-get update && apt-get install -y cd-hit"
        )
    version = subprocess.run([exe, "-h"], check=False, capture_output=True, text=True).stdout
    m = re.search(r"CD-HIT version ([0-9.]+)", version)
    version = m.group(1) if m else "unknown"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "clusters"
        cmd = [exe, "-i", str(fasta), "-o", str(out), *CDHIT_ARGS]
        proc = subprocess.run(cmd, check=False, capture_output=True, text=True)
        if proc.returncode != 0:
            fail(f"cd-hit failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
        text = Path(str(out) + ".clstr").read_text()
    clusters: dict[str, str] = {}
    current = None
    for line in text.splitlines():
        if line.startswith(">Cluster"):
            current = int(line.split()[1])
        else:
            m = re.search(r">(\S+?)\.\.\.", line)
            if m is None or current is None:
                fail(f"cannot parse cd-hit .clstr line: {line!r}")
            clusters[m.group(1)] = current
    # Name clusters by their sorted member list so ids do not depend on cd-hit's numbering quirks.
    members: dict[int, list[str]] = {}
    for pid, c in clusters.items():
        members.setdefault(c, []).append(pid)
    ordered = sorted(members.values(), key=min)
    names = {pid: f"C{k:03d}" for k, ids in enumerate(ordered) for pid in ids}
    return names, version


# ----------------------------------------------------------------------------- splitting
def assign_splits(cluster_pos: pd.Series, seed: int) -> dict[str, str]:
    """Whole clusters -> splits, ~70/15/15 of positives, deterministic.

    Clusters are shuffled with `seed`, then taken largest (most positives) first; each goes to the
    split whose positive count is furthest below its target, relative to the target.
    """
    rng = np.random.default_rng(seed)
    names = np.array(sorted(cluster_pos.index))
    names = names[rng.permutation(len(names))]
    names = sorted(names, key=lambda c: -int(cluster_pos[c]))  # stable: ties keep the shuffled order
    total = float(cluster_pos.sum())
    target = {s: SPLIT_FRACTIONS[s] * total for s in SPLITS}
    have = {s: 0 for s in SPLITS}
    out = {}
    for c in names:
        s = max(SPLITS, key=lambda s: (target[s] - have[s]) / target[s])
        out[c] = s
        have[s] += int(cluster_pos[c])
    return out


# ----------------------------------------------------------------------------- phosphoproteome
def load_phosphoproteome(path: Path) -> pd.DataFrame | None:
    if not path.exists():
        print(
            f"warning: {path} not found; skipping human_phosphosites.tsv and phosphoproteome_sites.tsv.gz "
            f"(create it with: benchmarks/kinase_library/.venv/bin/python data/extract_phosphoproteome.py)",
            file=sys.stderr,
        )
        return None
    pp = pd.read_csv(path, sep="\t", dtype={"accession": str, "position": int, "residue": str})
    return pp


def map_sites(pp: pd.DataFrame, seqs: dict[str, str]) -> tuple[pd.DataFrame, dict[str, int]]:
    """Keep sites whose accession is in `seqs` and whose residue matches the sequence there."""
    stats = {"sites": len(pp), "accession_found": 0, "residue_match": 0}
    rows = []
    for acc, pos, res in zip(pp["accession"], pp["position"], pp["residue"], strict=True):
        seq = seqs.get(acc)
        if seq is None:
            continue
        stats["accession_found"] += 1
        if 1 <= pos <= len(seq) and seq[pos - 1] == res:
            stats["residue_match"] += 1
            rows.append((acc, pos, res, window(seq, pos)))
    df = pd.DataFrame(rows, columns=["accession", "position", "residue", "window"])
    return df.sort_values(["accession", "position"], kind="stable").reset_index(drop=True), stats


def write_tsv_gz(df: pd.DataFrame, path: Path) -> None:
    # mtime=0 and no filename in the header: byte-identical output on every run.
    data = df.to_csv(sep="\t", index=False, lineterminator="\n").encode()
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz:
        gz.write(data)


# ----------------------------------------------------------------------------- main
def main(argv=None) -> int:
    repo = Path(__file__).resolve().parent.parent
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--shared",
        type=Path,
        default=repo.parent / "shared",
        help="the shared/ folder (default: ../shared from the repo root)",
    )
    ap.add_argument("--out", type=Path, default=repo / "data", help="output folder (default: data/)")
    ap.add_argument("--seed", type=int, default=0, help="seed for the cluster-to-split assignment (default 0)")
    ap.add_argument(
        "--phosphoproteome",
        type=Path,
        default=repo / "data" / "kl_phosphoproteome.tsv.gz",
        help="sites extracted from the kinase-library wheel by data/extract_phosphoproteome.py",
    )
    args = ap.parse_args(argv)

    akt = args.shared / "datasets" / "akt"
    sites_path, fasta_path = akt / "sites.tsv", akt / "proteins.fasta"
    proteome_path = args.shared / "datasets" / "proteome" / "human_uniprot201401_subset.fasta.gz"
    for p in (sites_path, fasta_path):
        if not p.exists():
            fail(f"{p} not found (use --shared DIR)")
    out = args.out
    out.mkdir(parents=True, exist_ok=True)

    seqs = read_fasta(fasta_path)
    sites = pd.read_csv(sites_path, sep="\t", dtype={"protein_id": str, "position": int, "residue": str})
    # ---- check the positives against the sequences (fail loudly)
    problems = []
    for r in sites.itertuples():
        seq = seqs.get(r.protein_id)
        if seq is None:
            problems.append(f"{r.protein_id}:{r.position}: protein not in {fasta_path.name}")
        elif not 1 <= r.position <= len(seq):
            problems.append(f"{r.protein_id}:{r.position}: position outside 1..{len(seq)}")
        elif seq[r.position - 1] != r.residue:
            problems.append(f"{r.protein_id}:{r.position}: residue {r.residue} but sequence has {seq[r.position - 1]}")
        elif r.residue not in "ST":
            problems.append(f"{r.protein_id}:{r.position}: residue {r.residue} is not S/T")
    dups = sites[sites.duplicated(["protein_id", "position"], keep=False)]
    problems += [f"{p}:{q}: duplicate site row" for p, q in zip(dups.protein_id, dups.position, strict=True)]
    if problems:
        fail(f"{len(problems)} site(s) in {sites_path} do not match {fasta_path}:\n  " + "\n  ".join(problems[:50]))
    missing = sorted(set(seqs) - set(sites.protein_id))
    if missing:
        print(f"warning: {len(missing)} proteins have no AKT site; their S/T are all negatives", file=sys.stderr)

    meta = sites.groupby("protein_id").agg(
        organism=("organism", "first"), gene=("gene", "first"), n_org=("organism", "nunique")
    )
    if (meta.n_org > 1).any():
        fail("a protein has sites from more than one organism: " + ", ".join(meta.index[meta.n_org > 1]))

    # ---- akt_proteins.fasta: same records, same order, 60 residues a line
    with open(out / "akt_proteins.fasta", "w") as fh:
        for pid, seq in seqs.items():
            fh.write(f">{pid}\n" + "".join(seq[i : i + 60] + "\n" for i in range(0, len(seq), 60)))

    # ---- clusters and splits
    clusters, cdhit_version = cdhit_clusters(out / "akt_proteins.fasta")
    absent = sorted(set(seqs) - set(clusters))
    if absent:  # cd-hit drops sequences shorter than its -l (10); give each its own cluster
        n0 = len(set(clusters.values()))
        for k, pid in enumerate(absent):
            clusters[pid] = f"C{n0 + k:03d}"
        print(f"warning: cd-hit left out {absent}; each put in its own cluster", file=sys.stderr)
    pos_per_protein = sites.groupby("protein_id").size().reindex(list(seqs), fill_value=0)
    cluster_pos = pos_per_protein.groupby(pd.Series(clusters)).sum()
    cluster_split = assign_splits(cluster_pos, args.seed)

    clus = pd.DataFrame({"protein_id": list(seqs)})
    clus["cluster"] = clus.protein_id.map(clusters)
    clus["split"] = clus.cluster.map(cluster_split)
    clus["organism"] = clus.protein_id.map(meta.organism).fillna("")
    clus["gene"] = clus.protein_id.map(meta.gene).fillna("")
    clus = clus.sort_values(["cluster", "protein_id"]).reset_index(drop=True)
    clus.to_csv(out / "clusters.tsv", sep="\t", index=False, lineterminator="\n")

    # ---- akt_sites.tsv: every S/T
    known = {(p, q): k for p, q, k in zip(sites.protein_id, sites.position, sites.kinases, strict=True)}
    c_of, s_of = (
        dict(zip(clus.protein_id, clus.cluster, strict=True)),
        dict(zip(clus.protein_id, clus.split, strict=True)),
    )
    rows = []
    for pid in sorted(seqs):
        seq = seqs[pid]
        org = meta.organism.get(pid, "")
        for i, aa in enumerate(seq):
            if aa in "ST":
                kin = known.get((pid, i + 1))
                rows.append(
                    (pid, i + 1, aa, int(kin is not None), kin or "", org, c_of[pid], s_of[pid], window(seq, i + 1))
                )
    table = pd.DataFrame(
        rows,
        columns=["protein_id", "position", "residue", "label", "kinases", "organism", "cluster", "split", "window"],
    )
    if int(table.label.sum()) != len(sites):
        fail(f"{len(sites)} sites in, {int(table.label.sum())} positives out")
    table.to_csv(out / "akt_sites.tsv", sep="\t", index=False, lineterminator="\n")

    counts = (
        table.groupby("split")
        .agg(
            proteins=("protein_id", "nunique"),
            clusters=("cluster", "nunique"),
            positives=("label", "sum"),
            negatives=("label", lambda x: int((x == 0).sum())),
        )
        .reindex(list(SPLITS))
    )
    counts.loc["all"] = [
        table.protein_id.nunique(),
        table.cluster.nunique(),
        int(table.label.sum()),
        int((table.label == 0).sum()),
    ]
    counts.index.name = "split"
    counts.to_csv(out / "split_counts.tsv", sep="\t", lineterminator="\n")
    print(f"cd-hit {cdhit_version}: {clus.cluster.nunique()} clusters at 40% identity")
    print(counts.to_string())

    # ---- phosphoproteome views
    pp = load_phosphoproteome(args.phosphoproteome)
    if pp is not None:
        on_akt, st = map_sites(pp, seqs)
        print(
            f"phosphoproteome on AKT substrates: {st['accession_found']} sites on these accessions, "
            f"{st['residue_match']} with matching residue"
        )
        on_akt[["accession", "position", "residue"]].to_csv(
            out / "human_phosphosites.tsv", sep="\t", index=False, lineterminator="\n"
        )
        proteome = read_fasta(proteome_path)
        full, st = map_sites(pp, proteome)
        print(
            f"phosphoproteome on {proteome_path.name}: {st['sites']} sites, {st['accession_found']} on "
            f"accessions present, {st['residue_match']} with matching residue"
        )
        write_tsv_gz(full, out / "phosphoproteome_sites.tsv.gz")
    return 0


if __name__ == "__main__":
    sys.exit(main())
