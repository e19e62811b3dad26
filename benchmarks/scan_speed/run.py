"""Speed and memory of ``phosnet scan`` on the human proteome, against a naive Keras baseline.

One command (from the repository root)::

    /work/venv/bin/python benchmarks/scan_speed/run.py

Measures, in one run:

1. ``phosnet scan PROTEOME -o out.tsv`` as a subprocess: wall time end to end (start-up, reading, writing
   included), sites per second and peak resident memory (``/usr/bin/time -v``, else ``getrusage``);
2. the same for the proteome twice over (ids renamed), to show that memory stays flat;
3. the naive baseline: one-hot every window and ``keras_model.predict(batch_size=4096)``, timed for its
   prediction step alone (reading, windowing and one-hot encoding excluded).

The model is the bundled ``akt-default`` when installed, else the default-size phosnet network with random
weights (the cost per window is the same). Results are printed and written to ``RESULTS.md`` beside this file.
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PROTEOME = ROOT.parent / "shared" / "datasets" / "proteome" / "human_uniprot201401_subset.fasta.gz"


def default_size_model(folder: Path) -> Path:
    """The default phosnet network, random weights (BatchNorm statistics too), saved with metadata."""
    from phosnet._tf import keras
    from phosnet.models.sequence import build_sequence_model

    keras().utils.set_random_seed(0)
    model = build_sequence_model()
    rng = np.random.default_rng(0)
    for layer in model.layers:
        weights = layer.get_weights()
        if weights:
            new = [rng.normal(0.0, 0.1, w.shape).astype(np.float32) for w in weights]
            if type(layer).__name__ == "BatchNormalization":
                new[-1] = rng.uniform(0.5, 2.0, weights[-1].shape).astype(np.float32)
            layer.set_weights(new)
    path = folder / "bench-default-size.keras"
    model.save(path)
    path.with_suffix(".json").write_text(
        json.dumps({"name": "bench-default-size", "window": 31, "flank": 15, "residues": "ST",
                    "input_encoding": "onehot", "thresholds": {"0.95": 0.5}, "default_specificity": 0.95})
    )
    return path


def doubled(proteome: Path, folder: Path) -> Path:
    """The proteome twice, the second copy with ``_copy2`` appended to each id."""
    out = folder / "proteome_x2.fasta"
    text = gzip.open(proteome, "rt").read()
    with open(out, "w") as handle:
        handle.write(text)
        handle.write(re.sub(r"^>(\S+)", r">\1_copy2", text, flags=re.M))
    return out


def timed_scan(input_path: Path, model: Path, output: Path, extra: list[str]) -> dict[str, float]:
    """Run ``phosnet scan`` in a subprocess; wall seconds, peak RSS (MB) and the scan's own summary."""
    summary = output.with_suffix(".summary.json")
    command = [sys.executable, "-m", "phosnet", "scan", str(input_path), "-o", str(output), "--model", str(model),
               "-q", "--summary", str(summary), *extra]
    use_time = Path("/usr/bin/time").exists()
    full = ["/usr/bin/time", "-v", *command] if use_time else command
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    proc = subprocess.run(full, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"scan failed:\n{proc.stderr}")
    if use_time:
        match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
        rss_mb = int(match.group(1)) / 1024 if match else float("nan")
        cpu = sum(float(m) for m in re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", proc.stderr))
    else:
        rss_mb = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
        cpu = float("nan")
    info = json.loads(summary.read_text())
    return {"wall_s": wall, "cpu_s": cpu, "rss_mb": rss_mb, "sites": info["sites"], "proteins": info["proteins"],
            "engine": info["engine"], "rows": info["rows_written"]}


def baseline(proteome: Path, model_path: Path, fraction: float) -> dict[str, float]:
    """Naive path: one-hot windows, ``keras_model.predict(batch_size=4096)``; only the predict calls are timed."""
    from phosnet import load_model, one_hot, read_fasta, window_indices

    model = load_model(model_path).keras_model
    chunks, pending, total = [], [], 0
    for protein in read_fasta(proteome):
        _, win = window_indices(protein.sequence)
        pending.append(win)
        total += len(win)
    windows = np.concatenate(pending)
    if fraction < 1:
        windows = windows[:: int(round(1 / fraction))]
    chunks = [windows[s : s + 65536] for s in range(0, len(windows), 65536)]
    model.predict(one_hot(chunks[0][:4096]), batch_size=4096, verbose=0)  # warm-up (graph tracing)
    seconds = cpu = 0.0
    for chunk in chunks:
        x = one_hot(chunk)
        start, start_cpu = time.perf_counter(), time.process_time()
        model.predict(x, batch_size=4096, verbose=0)
        seconds += time.perf_counter() - start
        cpu += time.process_time() - start_cpu
    return {"predict_s": seconds, "cpu_s": cpu, "windows": len(windows), "rate": len(windows) / seconds,
            "proteome_s_equiv": total / (len(windows) / seconds)}


def machine() -> str:
    try:
        model = re.search(r"Model name:\s*(.+)", subprocess.run(["lscpu"], capture_output=True, text=True).stdout)
        cpu = model.group(1).strip() if model else platform.processor()
    except OSError:
        cpu = platform.processor()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{cpu}, {cores} cores, {platform.system()} {platform.release()}; 1-min load average at start {load:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--proteome", type=Path, default=PROTEOME)
    parser.add_argument("--model", default=None, help="model for both paths [default: bundled, else default-size]")
    parser.add_argument("--baseline-fraction", type=float, default=1.0,
                        help="score this fraction of the windows in the baseline (its rate is extrapolated)")
    parser.add_argument("--skip-doubled", action="store_true")
    parser.add_argument("--results", type=Path, default=HERE / "RESULTS.md")
    args = parser.parse_args()

    from phosnet.bundle import PRETRAINED_DIR

    env_machine = machine()
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT,
                                check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = ""
    with tempfile.TemporaryDirectory(prefix="phosnet-bench-") as tmp:
        folder = Path(tmp)
        if args.model:
            model = Path(args.model)
        elif (PRETRAINED_DIR / "akt-default.keras").exists():
            model = PRETRAINED_DIR / "akt-default.keras"
        else:
            model = default_size_model(folder)
        print(f"model: {model}", flush=True)
        single = timed_scan(args.proteome, model, folder / "out.tsv", [])
        print(f"scan x1: {single}", flush=True)
        double = None
        if not args.skip_doubled:
            big = doubled(args.proteome, folder)
            double = timed_scan(big, model, folder / "out2.tsv", [])
            big.unlink()
            print(f"scan x2: {double}", flush=True)
        base = baseline(args.proteome, model, args.baseline_fraction)
        print(f"baseline: {base}", flush=True)
        model_name = model.name if model.parent == PRETRAINED_DIR else "default-size network, random weights"
        shutil.rmtree(folder, ignore_errors=True)

    rate = single["sites"] / single["wall_s"]
    lines = [
        "# Scan speed: `phosnet scan` on the human proteome",
        "",
        f"- command: `{sys.executable} benchmarks/scan_speed/{' '.join([Path(sys.argv[0]).name, *sys.argv[1:]])}`"
        + (f" (commit {commit})" if commit else ""),
        f"- date: {datetime.datetime.now().isoformat(timespec='seconds')}",
        f"- machine: {env_machine}; at end {os.getloadavg()[0]:.2f} (shared with other jobs: with a load above 2 on"
        " 2 cores the scan does not get both cores, so compare CPU seconds)",
        f"- input: `{args.proteome.name}` ({single['proteins']:,} proteins, {single['sites']:,} S/T sites)",
        f"- model: {model_name}; scan engine: {single['engine']}",
        "",
        "| run | wall (s) | CPU user+sys (s) | sites/s (wall) | peak RSS (MB) | target |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
        f"| `phosnet scan` proteome -> TSV (end to end) | {single['wall_s']:.1f} | {single['cpu_s']:.1f} | "
        f"{rate:,.0f} | "
        f"{single['rss_mb']:.0f} | <= 20 s, <= 1.5 GB |",
    ]
    if double:
        lines.append(
            f"| `phosnet scan` proteome x2 -> TSV | {double['wall_s']:.1f} | {double['cpu_s']:.1f} | "
            f"{double['sites'] / double['wall_s']:,.0f} | {double['rss_mb']:.0f} | same peak RSS as x1 |"
        )
    lines += [
        f"| naive baseline: one-hot + `model.predict(batch_size=4096)`, predict step only "
        f"({base['windows']:,} windows) | {base['predict_s']:.1f} | {base['cpu_s']:.1f} | "
        f"{base['rate']:,.0f} | - | scan faster end to end |",
        "",
        f"Baseline time for the whole proteome at its rate: {base['proteome_s_equiv']:.1f} s (prediction only), "
        f"vs {single['wall_s']:.1f} s for the whole scan end to end "
        f"({base['proteome_s_equiv'] / single['wall_s']:.1f}x).",
        "Wall times depend on what else runs on the machine (see the load average above); CPU seconds less so.",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    previous = args.results.read_text() if args.results.exists() else ""
    header = "# Scan speed runs (newest first)\n\n"
    body = previous.removeprefix(header)
    args.results.write_text(header + text.replace("# Scan speed", "## Scan speed", 1) + "\n" + body)


if __name__ == "__main__":
    main()
