"""Build the reference background of the bundled models: percentile table and stringency levels.

One command (from the repository root), re-run whenever a bundled model's weights change::

    /work/venv/bin/python benchmarks/background/build.py [--check]

For each bundled model (``phosnet/pretrained/NAME.keras``):

1. scans every S/T of the human proteome (``../shared/datasets/proteome/human_uniprot201401_subset.fasta.gz``)
   and stores the quantile table, the thresholds of the stringency levels (top 0.2 / 1 / 5% of those sites)
   and how many sites each level calls, in ``phosnet/pretrained/NAME.json`` under ``"background"``
   (:func:`phosnet.background_build.build_background`);
2. measures each level's sensitivity on the held-out sites of the model's kinases (its metadata's ``kinases``;
   the ``kinases`` column of ``--sites``): for the AKT models the 62 positives of the test split of
   ``data/akt_sites.tsv`` (proteins never trained on, nor used to pick thresholds), and the share of the test
   proteins' other S/T it calls;
3. recomputes the table on the committed 40-protein sample ``tests/data/background/human_sample.fasta`` and
   writes it to ``tests/data/background/NAME.sample.json``: the test suite recomputes it with the same code
   and checks the bundle was built for the weights it ships (``model_sha256``).

``--check`` then runs ``phosnet scan PROTEOME --stringency LEVEL`` for each level and records the share of sites
called (the done-when of issue 13: 0.2 / 1 / 5% within 10% of that share) in ``RESULTS.md`` beside this file.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PROTEOME = ROOT.parent / "shared" / "datasets" / "proteome" / "human_uniprot201401_subset.fasta.gz"
SAMPLE = ROOT / "tests" / "data" / "background" / "human_sample.fasta"
PRETRAINED = ROOT / "phosnet" / "pretrained"


def held_out(model: Path, background: dict, sites: Path, proteins: Path) -> None:
    """Add, per level, the sensitivity on the test split's sites of the model's kinases and the share of its other
    S/T called."""
    import phosnet
    from phosnet.background import add_held_out
    from phosnet.datasets import kinase_labels
    from phosnet.io.fasta import read_proteins

    kinases = phosnet.load_model(model).kinases
    table = pd.read_csv(sites, sep="\t")
    test = table[table["split"] == "test"].copy()
    if kinases and "kinases" in test.columns:  # the sites of the model's own kinases (metadata "kinases")
        test["label"] = kinase_labels(test["label"], test["kinases"], kinases)
    sequences = read_proteins(proteins)
    scored = phosnet.predict({p: sequences[p] for p in sorted(set(test["protein_id"]))}, model=model, threshold=1.0)
    merged = test.merge(scored[["protein_id", "position", "score"]], on=["protein_id", "position"], validate="1:1")
    assert len(merged) == len(test), "every test site must be scored"
    add_held_out(background, merged["score"], merged["label"])


def build(name: str, proteome: Path, sites: Path, proteins: Path) -> dict:
    from phosnet.background_build import build_background
    from phosnet.io.digest import sha256_file

    model = PRETRAINED / f"{name}.keras"
    started = time.perf_counter()
    background = build_background(model, proteome)
    background["model_sha256"] = sha256_file(model)
    background["command"] = "python benchmarks/background/build.py"
    held_out(model, background, sites, proteins)
    meta_path = PRETRAINED / f"{name}.json"
    metadata = json.loads(meta_path.read_text())
    metadata["background"] = background
    meta_path.write_text(json.dumps(metadata, indent=2) + "\n")
    sample = build_background(model, SAMPLE)
    sample["model_sha256"] = background["model_sha256"]
    (SAMPLE.parent / f"{name}.sample.json").write_text(json.dumps(sample, indent=1) + "\n")
    print(f"{name}: {background['sites']:,} background sites in {time.perf_counter() - started:.0f} s")
    for level, numbers in background["stringency"].items():
        print(f"  {level:<6} threshold {numbers['threshold']:.6g}  calls {numbers['background_calls']:,} "
              f"({numbers['background_percent']}%)  held-out sensitivity {numbers['test_sensitivity']:.3f}")
    return background


def check(name: str, proteome: Path) -> list[dict]:
    """``phosnet scan --stringency LEVEL`` on the proteome: the share of sites each level calls."""
    from phosnet.calling import STRINGENCY

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for level, top in STRINGENCY.items():
            summary = Path(tmp) / f"{level}.json"
            command = [sys.executable, "-m", "phosnet", "scan", str(proteome), "--model", name, "--stringency", level,
                       "--predicted-only", "-q", "-o", str(Path(tmp) / "calls.tsv"), "--summary", str(summary)]
            subprocess.run(command, check=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
            info = json.loads(summary.read_text())
            share = 100.0 * info["predicted"] / info["sites"]
            proteins = pd.read_csv(Path(tmp) / "calls.tsv", sep="\t", usecols=["protein_id"])["protein_id"].nunique()
            rows.append({"model": name, "level": level, "target_percent": top, "sites": info["sites"],
                         "calls": info["predicted"], "percent": round(share, 4), "proteins_called": proteins,
                         "proteins": info["proteins"], "within_10pct": abs(share - top) <= 0.1 * top})
            print(f"  scan --stringency {level}: {info['predicted']:,} of {info['sites']:,} sites ({share:.3f}%), "
                  f"in {proteins:,} of {info['proteins']:,} proteins")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["akt-default", "akt-ensemble"])
    parser.add_argument("--proteome", type=Path, default=PROTEOME)
    parser.add_argument("--sites", type=Path, default=ROOT / "data" / "akt_sites.tsv")
    parser.add_argument("--proteins", type=Path, default=ROOT / "data" / "akt_proteins.fasta")
    parser.add_argument("--check", action="store_true", help="also scan the proteome at each level (RESULTS.md)")
    args = parser.parse_args()
    built = {name: build(name, args.proteome, args.sites, args.proteins) for name in args.models}
    if not args.check:
        return
    rows = [row for name in args.models for row in check(name, args.proteome)]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout
    lines = [
        "# Background and stringency levels of the bundled models", "",
        f"- command: `python benchmarks/background/build.py --check` (commit {commit.strip()})",
        f"- date: {datetime.datetime.now().isoformat(timespec='seconds')}",
        f"- machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}",
        f"- proteome: `{args.proteome.name}` ({next(iter(built.values()))['sites']:,} S/T sites)",
        "- held-out: the 62 AKT sites of the test split of `data/akt_sites.tsv` (49 proteins never trained on)", "",
        "| model | level | top of background | threshold | held-out sensitivity | test proteins' other S/T called "
        "| `phosnet scan --stringency` calls | share of sites | within 10% | proteins with a call |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |",
    ]
    for row in rows:
        level = built[row["model"]]["stringency"][row["level"]]
        lines.append(
            f"| {row['model']} | {row['level']} | {row['target_percent']}% | {level['threshold']:.6g} "
            f"| {level['test_sensitivity']:.3f} | {100 * level['test_other_st_called']:.2f}% | {row['calls']:,} "
            f"| {row['percent']:.3f}% | {'yes' if row['within_10pct'] else 'NO'} "
            f"| {row['proteins_called']:,} of {row['proteins']:,} |"
        )
    lines += ["", "The bundled tables are rebuilt byte for byte by this command (re-run after any change of weights; "
              "`tests/test_background.py` fails when `model_sha256` no longer matches the shipped weights)."]
    (HERE / "RESULTS.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
