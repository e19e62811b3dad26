"""End-to-end ``phosnet scan`` of the human proteome: this checkout against another git revision, same run.

    /work/venv/bin/python benchmarks/scan_speed/compare.py REV [--rounds 3] [--proteome PATH]

Exports ``REV`` into a temporary folder and runs ``python -m phosnet scan PROTEOME -o out.tsv -q`` from it and
from this checkout alternately (old, new, old, new, ...), each in its own process with the same environment,
and reports wall and CPU seconds (the child's ``getrusage``: user + system, all threads) of every run and the
medians. On a shared machine compare CPU seconds, and the two within one run. Each version scans with its own
bundled model files, so the new one pays for what it writes (e.g. percentiles).
"""

from __future__ import annotations

import argparse
import datetime
import os
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PROTEOME = ROOT.parent / "shared" / "datasets" / "proteome" / "human_uniprot201401_subset.fasta.gz"


def export(revision: str, folder: Path) -> Path:
    """``git archive REV`` unpacked into ``folder``."""
    archive = folder / "old.tar"
    with open(archive, "wb") as handle:
        subprocess.run(["git", "archive", revision], stdout=handle, check=True, cwd=ROOT)
    with tarfile.open(archive) as tar:
        tar.extractall(folder / "old", filter="data")
    return folder / "old"


def timed(checkout: Path, proteome: Path, output: Path) -> tuple[float, float, int]:
    """Wall and CPU seconds of one scan run from ``checkout``, and the output's size."""
    env = {**os.environ, "PYTHONPATH": str(checkout), "TF_CPP_MIN_LOG_LEVEL": "3"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "phosnet", "scan", str(proteome), "-o", str(output), "-q"], env=env,
                   check=True, cwd=checkout)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, output.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("revision")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--proteome", type=Path, default=PROTEOME)
    args = parser.parse_args()
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout
    print(f"date {datetime.datetime.now().isoformat(timespec='seconds')}, load average {os.getloadavg()}")
    results: dict[str, list[tuple[float, float, int]]] = {"old": [], "new": []}
    with tempfile.TemporaryDirectory() as tmp:
        old = export(args.revision, Path(tmp))
        for round_ in range(args.rounds):
            for label, checkout in (("old", old), ("new", ROOT)):
                wall, cpu, size = timed(checkout, args.proteome, Path(tmp) / f"{label}.tsv")
                results[label].append((wall, cpu, size))
                print(f"round {round_ + 1} {label} ({args.revision if label == 'old' else head.strip()}): "
                      f"wall {wall:6.1f} s  CPU {cpu:6.1f} s  output {size / 1e6:6.1f} MB", flush=True)
    for label, runs in results.items():
        print(f"median {label}: wall {statistics.median(r[0] for r in runs):.1f} s, "
              f"CPU {statistics.median(r[1] for r in runs):.1f} s")
    print(f"load average at end {os.getloadavg()}")


if __name__ == "__main__":
    main()
