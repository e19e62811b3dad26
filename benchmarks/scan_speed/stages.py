"""CPU seconds and wall time of each stage of a proteome scan, run one after another in one process.

    /work/venv/bin/python benchmarks/scan_speed/stages.py [--model PATH] [--engine-workers N]

Stages: start-up (imports, model load, engine build), reading + windowing (all batches kept in memory, so
this is not the streaming scan's memory profile), prediction, formatting + writing the TSV. The streaming
``phosnet scan`` overlaps these stages in three threads; ``run.py`` measures it end to end. CPU seconds
(``getrusage``, all threads) are the fairer number on a shared machine.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROTEOME = HERE.parents[1].parent / "shared" / "datasets" / "proteome" / "human_uniprot201401_subset.fasta.gz"


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class _Clock:
    def __init__(self) -> None:
        self.rows: list[tuple[str, float, float]] = []
        self.wall, self.cpu = time.perf_counter(), _cpu()

    def lap(self, name: str) -> None:
        wall, cpu = time.perf_counter(), _cpu()
        self.rows.append((name, wall - self.wall, cpu - self.cpu))
        print(f"{name:<22} wall {wall - self.wall:6.2f} s   CPU {cpu - self.cpu:6.2f} s", flush=True)
        self.wall, self.cpu = wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--proteome", type=Path, default=PROTEOME)
    parser.add_argument("--model", default=None, help="model [default: bundled]")
    parser.add_argument("--engine", default="auto")
    parser.add_argument("--engine-workers", type=int, default=None, help="engine threads [default: CPUs]")
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()}")
    clock = _Clock()
    import numpy as np

    from phosnet.batches import DEFAULT_BATCH_SIZE, raw_batches
    from phosnet.encoding import ALPHABET
    from phosnet.engines import make_engine
    from phosnet.io.sequences import iter_sequences
    from phosnet.io.writers import SiteWriter
    from phosnet.scan import resolve_settings

    settings = resolve_settings(args.model, engine=args.engine)
    engine = make_engine(settings.model, settings.engine)
    if args.engine_workers is not None and hasattr(engine, "workers"):
        engine.workers = args.engine_workers
    flank, width = settings.model.flank, settings.model.window
    clock.lap("start-up")
    batches = list(raw_batches(iter_sequences(args.proteome), settings.residues, flank, DEFAULT_BATCH_SIZE))
    clock.lap("read + window")
    scores = []
    for b in batches:
        if getattr(engine, "shares", False):
            scores.append(engine.score_positions(b.code, b.starts, width))
        else:
            scores.append(engine(b.windows))
    clock.lap(f"predict ({engine.name})")
    with tempfile.TemporaryDirectory() as tmp, open(Path(tmp) / "out.tsv", "w") as handle:
        writer = SiteWriter(handle, "tsv")
        for b, s in zip(batches, scores, strict=True):
            writer.write_codes(b.protein_ids, b.protein_index, b.positions, b.windows, s, s >= settings.threshold,
                               settings.model.name, ALPHABET)
    clock.lap("format + write TSV")
    n = int(sum(len(s) for s in scores))
    total_wall = sum(r[1] for r in clock.rows)
    total_cpu = sum(r[2] for r in clock.rows)
    print(f"{'total':<22} wall {total_wall:6.2f} s   CPU {total_cpu:6.2f} s   ({n:,} sites; mean score "
          f"{float(np.mean(np.concatenate(scores))):.4f})")
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
