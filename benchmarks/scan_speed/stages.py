"""CPU seconds and wall time of each stage of a proteome scan, run one after another in one process.

    /work/venv/bin/python benchmarks/scan_speed/stages.py [--model PATH] [--engine-workers N] [--old-writer REV]

Stages: start-up (imports, model load, engine build), reading + windowing (all batches kept in memory, so
this is not the streaming scan's memory profile), prediction, formatting + writing the TSV. The streaming
``phosnet scan`` overlaps these stages in three threads; ``run.py`` measures it end to end. CPU seconds
(``getrusage``, all threads) are the fairer number on a shared machine.

``--old-writer REV`` also times the TSV writer of git revision ``REV`` (its ``SiteWriter.write_codes``, the
writer before the one row formatter) on the same scores, alternating old and new three times each, and
prints both output sizes.
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


def _old_writer_class(revision: str, folder: Path) -> type:
    """``SiteWriter`` of ``phosnet/io/writers.py`` at a git revision, imported from a temporary copy."""
    import importlib.util
    import subprocess

    source = subprocess.run(["git", "show", f"{revision}:phosnet/io/writers.py"], capture_output=True, text=True,
                            check=True, cwd=HERE.parents[1]).stdout
    path = folder / "old_writers.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("old_writers", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.SiteWriter


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--proteome", type=Path, default=PROTEOME)
    parser.add_argument("--model", default=None, help="model [default: bundled]")
    parser.add_argument("--engine", default="auto")
    parser.add_argument("--engine-workers", type=int, default=None, help="engine threads [default: CPUs]")
    parser.add_argument("--old-writer", default=None, metavar="REV", help="also time the writer of this git revision")
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()}")
    clock = _Clock()
    import numpy as np

    from phosnet.batches import DEFAULT_BATCH_SIZE, raw_batches
    from phosnet.encoding import ALPHABET
    from phosnet.engines import make_engine
    from phosnet.io.rows import SiteRows
    from phosnet.io.sequences import iter_records
    from phosnet.io.writers import SiteWriter
    from phosnet.scan import resolve_settings

    settings = resolve_settings(args.model, engine=args.engine)
    engine = make_engine(settings.model, settings.engine)
    if args.engine_workers is not None and hasattr(engine, "workers"):
        engine.workers = args.engine_workers
    flank, width = settings.model.flank, settings.model.window
    clock.lap("start-up")
    batches = list(raw_batches(iter_records(args.proteome), settings.residues, flank, DEFAULT_BATCH_SIZE))
    clock.lap("read + window")
    scores = []
    for b in batches:
        if getattr(engine, "shares", False):
            scores.append(engine.score_positions(b.code, b.starts, width))
        else:
            scores.append(engine(b.windows))
    clock.lap(f"predict ({engine.name})")
    name = settings.model.name

    background = settings.model.background

    def write_new(path: Path) -> None:  # percentiles included: the new writer's whole cost
        with open(path, "w") as handle:
            writer = SiteWriter(handle, "tsv")
            for b, s in zip(batches, scores, strict=True):
                percentiles = background.percentile(s) if background is not None else None
                writer.write(SiteRows(b.protein_ids, b.protein_index, b.positions, b.windows, s,
                                      s >= settings.threshold, name, percentiles, b.descriptions, ALPHABET))

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.tsv"
        write_new(out)
        clock.lap("format + write TSV")
        if args.old_writer:
            old = _old_writer_class(args.old_writer, Path(tmp))

            def write_old(path: Path) -> None:
                with open(path, "w") as handle:
                    writer = old(handle, "tsv")
                    for b, s in zip(batches, scores, strict=True):
                        writer.write_codes(b.protein_ids, b.protein_index, b.positions, b.windows, s,
                                           s >= settings.threshold, name, ALPHABET)

            for round_ in range(3):
                for label, write in ((f"old writer ({args.old_writer})", write_old), ("new writer", write_new)):
                    cpu = _cpu()
                    write(out)
                    size = out.stat().st_size / 1e6
                    print(f"round {round_ + 1}: {label:<28} CPU {_cpu() - cpu:6.2f} s   {size:7.1f} MB", flush=True)
            clock.lap("writer comparison")
    n = int(sum(len(s) for s in scores))
    total_wall = sum(r[1] for r in clock.rows)
    total_cpu = sum(r[2] for r in clock.rows)
    print(f"{'total':<22} wall {total_wall:6.2f} s   CPU {total_cpu:6.2f} s   ({n:,} sites; mean score "
          f"{float(np.mean(np.concatenate(scores))):.4f})")
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
