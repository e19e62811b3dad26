#!/usr/bin/env python
"""Build the pretraining table for phosnet's AKT model: sites of AGC-group kinases vs other S/T.

Run from the repository root after data/build_dataset.py (deterministic, re-runnable):

    python data/build_pretraining.py                    # --target agc (default)
    python data/build_pretraining.py --target phospho   # phosphosite vs not, any kinase

Reads the PhosphoSitePlus Kinase_Substrate_Dataset (07/2021) and the kinase groups
(kinome_information.tsv) shipped in the kinase-library 1.8.0 wheel (benchmarks/kinase_library/.venv, see
benchmarks/kinase_library/setup_env.sh), data/phosphoproteome_sites.tsv.gz, and the shared human proteome.
Only human substrates are used (their full sequences give 31-residue windows).

Writes data/pretrain_agc.tsv.gz (or data/pretrain_phospho.tsv.gz) with columns ``window`` (31-mer, X padding)
and ``label``; the rows are every S/T of the human proteins that carry a known phosphosite, kept as:
  agc      label 1: a PhosphoSitePlus site of a kinase of the AGC group (AKT's own group: PKA, PKC, PKG, SGK,
           RSK, S6K, AKT on training proteins, ...); label 0: every other known phosphosite (Ochoa et al.
           2019 phosphoproteome, other kinases' PhosphoSitePlus sites) and --negatives x that many
           non-phosphosite S/T, sampled with --seed
  phospho  label 1: any known phosphosite; label 0: --negatives x that many other S/T

Leakage guard: no protein of the validation or test clusters, and no homolog of one, is used. Homologs are
found with ``cd-hit-2d -c 0.4 -n 2 -s2 0`` (40% identity, the clustering of data/clusters.tsv) of the
validation/test AKT substrates (all organisms) against the human proteome; every proteome protein that
clusters with one of them is dropped, as is every accession of a validation/test protein.
Also writes data/pretrain_excluded.tsv (accession, reason).

Needs numpy, pandas, phosnet, and the cd-hit-2d binary (Debian: apt-get install cd-hit).
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

import numpy as np
import pandas as pd

from phosnet.encoding import decode
from phosnet.io.fasta import read_proteins
from phosnet.windows import window_indices

CDHIT_2D_ARGS = ["-c", "0.4", "-n", "2", "-s2", "0", "-M", "0", "-T", "2", "-d", "0"]


def fail(message: str):
    sys.exit(f"build_pretraining.py: error: {message}")


def homologs(query: dict[str, str], proteome_fasta: Path) -> set[str]:
    """Accessions of ``proteome_fasta`` that cd-hit-2d clusters with any ``query`` sequence at 40% identity."""
    exe = shutil.which("cd-hit-2d")
    if exe is None:
        fail("cd-hit-2d is not installed (apt-get install cd-hit)")
    with tempfile.TemporaryDirectory() as tmp:
        q = Path(tmp) / "query.fasta"
        q.write_text("".join(f">{k}\n{v}\n" for k, v in sorted(query.items())))
        db = Path(tmp) / "proteome.fasta"
        with gzip.open(proteome_fasta, "rt") if proteome_fasta.suffix == ".gz" else open(proteome_fasta) as src:
            db.write_text(src.read())
        out = Path(tmp) / "hits"
        proc = subprocess.run([exe, "-i", str(q), "-i2", str(db), "-o", str(out), *CDHIT_2D_ARGS],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            fail(f"cd-hit-2d failed: {proc.stderr[-2000:]}")
        hits = set()
        for line in Path(str(out) + ".clstr").read_text().splitlines():
            m = re.search(r">(\S+?)\.\.\.", line)
            if m and not line.rstrip().endswith("*"):  # members, not the query representatives
                hits.add(m.group(1))
    return hits


def main(argv: list[str] | None = None) -> int:
    repo = Path(__file__).resolve().parent.parent
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", type=Path, default=repo.parent / "shared", help="the shared/ folder")
    ap.add_argument("--target", choices=("agc", "phospho"), default="agc")
    ap.add_argument("--out", type=Path, default=None, help="default: data/pretrain_<target>.tsv.gz")
    ap.add_argument("--kl-dir", type=Path, default=None, help="the installed kinase_library package folder")
    ap.add_argument("--negatives", type=float, default=2.0, help="non-phosphosite S/T per phosphosite (default 2)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    data = repo / "data"
    out = args.out or data / f"pretrain_{args.target}.tsv.gz"
    kl_dir = args.kl_dir or next(iter(sorted((repo / "benchmarks" / "kinase_library" / ".venv").glob(
        "lib/python*/site-packages/kinase_library"))), None)
    if kl_dir is None:
        fail("kinase_library not found; run bash benchmarks/kinase_library/setup_env.sh or give --kl-dir")
    proteome_fasta = args.shared / "datasets" / "proteome" / "human_uniprot201401_subset.fasta.gz"
    clusters = pd.read_csv(data / "clusters.tsv", sep="\t", dtype=str)
    held_out = set(clusters.loc[clusters["split"] != "train", "protein_id"])
    akt = read_proteins(data / "akt_proteins.fasta")
    similar = homologs({k: akt[k] for k in held_out}, proteome_fasta)
    excluded = pd.DataFrame(
        [(a, "validation/test protein") for a in sorted(held_out)]
        + [(a, "40% homolog of a validation/test protein") for a in sorted(similar - held_out)],
        columns=["accession", "reason"],
    )
    excluded.to_csv(data / "pretrain_excluded.tsv", sep="\t", index=False, lineterminator="\n")
    drop = held_out | similar

    proteome = read_proteins(proteome_fasta)
    phospho: dict[str, set[int]] = {}
    sites = pd.read_csv(data / "phosphoproteome_sites.tsv.gz", sep="\t", dtype={"accession": str})
    for acc, pos in zip(sites["accession"], sites["position"], strict=True):
        phospho.setdefault(acc, set()).add(int(pos))
    psp = pd.read_csv(kl_dir / "databases" / "substrates" / "Kinase_Substrate_Dataset_count_07_2021.txt", sep="\t",
                      skiprows=3, dtype=str, encoding="latin-1")
    kinome = pd.read_csv(kl_dir / "databases" / "kinase_data" / "kinome_information.tsv", sep="\t", dtype=str)
    group = {**dict(zip(kinome["GENE_NAME"].str.upper(), kinome["FAMILY"], strict=True)),
             **dict(zip(kinome["KINASE"].str.upper(), kinome["FAMILY"], strict=True))}
    psp = psp[(psp["SUB_ORGANISM"] == "human") & psp["SUB_MOD_RSD"].str.match(r"^[ST]\d+$")].copy()
    psp["position"] = psp["SUB_MOD_RSD"].str[1:].astype(int)
    psp["group"] = psp["GENE"].str.upper().map(group)
    agc: dict[str, set[int]] = {}
    for acc, pos, grp in zip(psp["SUB_ACC_ID"], psp["position"], psp["group"], strict=True):
        phospho.setdefault(acc, set()).add(int(pos))
        if grp == "AGC":
            agc.setdefault(acc, set()).add(int(pos))

    windows, positive, known = [], [], []
    for acc in sorted(phospho):
        if acc in drop or acc not in proteome:
            continue
        positions, index = window_indices(proteome[acc])
        positions = positions.tolist()
        windows.append(index)
        known.append(np.array([p in phospho[acc] for p in positions], dtype=bool))
        target = agc.get(acc, set()) if args.target == "agc" else phospho[acc]
        positive.append(np.array([p in target for p in positions], dtype=np.int8))
    index, label, known_site = np.concatenate(windows), np.concatenate(positive), np.concatenate(known)
    rng = np.random.default_rng(args.seed)
    others = np.flatnonzero(~known_site)
    n_other = min(len(others), int(round(args.negatives * int(known_site.sum()))))
    keep = np.sort(np.concatenate([np.flatnonzero(known_site), rng.choice(others, n_other, replace=False)]))
    table = pd.DataFrame({"window": decode(index[keep]), "label": label[keep]})
    payload = table.to_csv(sep="\t", index=False, lineterminator="\n").encode()
    with open(out, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
        gz.write(payload)
    print(f"excluded {len(drop)} accessions ({len(similar - held_out)} homologs of validation/test proteins); "
          f"{len(table)} windows, {int(table['label'].sum())} positives ({args.target}) -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
