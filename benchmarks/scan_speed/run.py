"""Speed and memory of ``phosnet scan`` on the human proteome, against the arithmetic floor and a naive baseline.

One command (from the repository root)::

    /work/venv/bin/python benchmarks/scan_speed/run.py

Measures, in one run (so the ratios compare numbers taken under the same load):

1. ``phosnet scan PROTEOME -o out.tsv`` as a subprocess, ``--repeats`` times (median reported): wall time end to
   end (start-up, reading, writing included), CPU seconds, sites per second, peak resident memory
   (``/usr/bin/time -v``, else ``getrusage``);
2. the same for the proteome twice over (ids renamed), to show that memory stays flat;
3. the naive baseline: one-hot every window and ``keras_model.predict(batch_size=4096)``, timed for its
   prediction step alone (reading, windowing and one-hot encoding excluded);
4. the **floor**: the model's FLOPs on this proteome in the shared formulation (every convolution after the
   first computed once per needed sequence position, the first one a table lookup of the one-hot input, the
   dense layers once per window; counted from the model's layer shapes), divided by the float32 GEMM rate of
   this machine measured in this run (a 4096^3 numpy matmul on all cores, best of 5, before and after the
   scans), plus the measured time to read + window the proteome and to format + write the TSV;
5. start-up: ``phosnet scan`` of the 5-protein example, ``--startup-runs`` times (median).

It reports end to end / floor and naive predict step / end to end. The model is the bundled ``akt-default``
when installed, else the default-size phosnet network with random weights (the cost per window is the same).
Results are printed and written to ``RESULTS.md`` beside this file.
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
from typing import Any

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


def gemm_rate(size: int = 4096, repeats: int = 5) -> float:
    """float32 matrix-product rate, GFLOP/s: best of ``repeats`` ``size^3`` numpy matmuls (all cores)."""
    rng = np.random.default_rng(0)
    a = rng.random((size, size), dtype=np.float32)
    b = rng.random((size, size), dtype=np.float32)
    out = np.empty_like(a)
    np.matmul(a, b, out=out)  # warm-up (BLAS threads start)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        np.matmul(a, b, out=out)
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


def read_and_write(proteome: Path, model: Path, scores_tsv: Path, folder: Path) -> dict[str, Any]:
    """Seconds to read + window the proteome (the scan's reader) and to format + write its TSV (the scan's writer,
    percentiles included), one after the other in this process.

    The writer gets the scores of ``scores_tsv`` (the scan's own output), so it formats the same numbers. Also
    returns what the FLOP count needs: per batch the code length and window starts, and the number of windows.
    """
    import pandas as pd

    from phosnet.batches import DEFAULT_BATCH_SIZE, raw_batches
    from phosnet.encoding import ALPHABET
    from phosnet.io.rows import SiteRows
    from phosnet.io.sequences import iter_records
    from phosnet.io.writers import SiteWriter
    from phosnet.scan import resolve_settings

    settings = resolve_settings(str(model))
    flank, name, background = settings.model.flank, settings.model.name, settings.model.background
    start = time.perf_counter()
    batches = list(raw_batches(iter_records(proteome), settings.residues, flank, DEFAULT_BATCH_SIZE))
    read_s = time.perf_counter() - start
    scores = pd.read_csv(scores_tsv, sep="\t", usecols=["score"])["score"].to_numpy(np.float32)
    out = folder / "write_only.tsv"
    done = 0
    start = time.perf_counter()
    with open(out, "w") as handle:
        writer = SiteWriter(handle, "tsv")
        for b in batches:
            s = scores[done : done + len(b.positions)]
            done += len(b.positions)
            percentiles = background.percentile(s) if background is not None else None
            writer.write(SiteRows(b.protein_ids, b.protein_index, b.positions, b.windows, s, s >= settings.threshold,
                                  name, percentiles, b.descriptions, ALPHABET))
    write_s = time.perf_counter() - start
    out.unlink()
    spans = [(len(b.code), b.starts) for b in batches if b.code is not None and len(b.starts)]
    return {"read_s": read_s, "write_s": write_s, "spans": spans, "windows": sum(len(b.positions) for b in batches)}


def _leaf_models(model: Any) -> list[Any]:
    """The networks inside ``model`` (an ensemble's members; the model itself otherwise)."""
    subs = [layer for layer in model.layers if hasattr(layer, "layers")]
    return [leaf for sub in subs for leaf in _leaf_models(sub)] if subs else [model]


def shared_flops(keras_model: Any, spans: list[tuple[int, np.ndarray]], n_windows: int) -> dict[str, float]:
    """FLOPs (multiply + add = 2) of the model on these windows in the shared formulation, from its layer shapes.

    Per network: the first convolution over the one-hot input is a table lookup (0 FLOPs); every later
    convolution costs ``2 k C_in F`` per sequence position some window needs (positions ``s + P j``: window start
    ``s``, pooling ``P``, cell ``j``), i.e. once per position, not per window; dense layers ``2 in out`` per
    window. ``spans`` holds per batch the code length and the window starts.
    """
    parts: dict[str, float] = {}
    for member in _leaf_models(keras_model):
        convs = [layer for layer in member.layers if type(layer).__name__ == "Conv1D"]
        pools = [layer for layer in member.layers if type(layer).__name__ in {"MaxPooling1D", "AveragePooling1D"}]
        stride = int(np.prod([p.pool_size[0] for p in pools[:1]])) if pools else 1
        for conv in convs[1:]:
            cells = int(conv.input.shape[1])
            positions = 0
            for length, starts in spans:
                needed = np.zeros(length + stride * cells, dtype=bool)
                needed[(starts[:, None] + stride * np.arange(cells)).ravel()] = True
                positions += int(needed.sum())
            k, c_in, f = conv.kernel.shape
            key = "convolutions after the first (per position)"
            parts[key] = parts.get(key, 0.0) + 2.0 * k * c_in * f * positions
        for dense in (layer for layer in member.layers if type(layer).__name__ == "Dense"):
            c_in, units = dense.kernel.shape
            key = "dense layers (per window)"
            parts[key] = parts.get(key, 0.0) + 2.0 * c_in * units * n_windows
    parts["total"] = sum(parts.values())
    return parts


def startup(model: Path, runs: int, folder: Path, env: dict[str, str] | None = None) -> float:
    """Median wall seconds of ``phosnet scan`` on the bundled 5-protein example (start-up dominates)."""
    example = ROOT / "phosnet" / "examples" / "akt_substrates.fasta"
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "phosnet", "scan", str(example), "-o", str(folder / "example.tsv"),
                        "--model", str(model), "-q"], check=True, capture_output=True, env=env)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def machine() -> str:
    try:
        model = re.search(r"Model name:\s*(.+)", subprocess.run(["lscpu"], capture_output=True, text=True).stdout)
        cpu = model.group(1).strip() if model else platform.processor()
    except OSError:
        cpu = platform.processor()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{cpu}, {cores} cores, {platform.system()} {platform.release()}"


def load() -> float:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--proteome", type=Path, default=PROTEOME)
    parser.add_argument("--model", default=None, help="model for both paths [default: bundled, else default-size]")
    parser.add_argument("--baseline-fraction", type=float, default=1.0,
                        help="score this fraction of the windows in the baseline (its rate is extrapolated)")
    parser.add_argument("--repeats", type=int, default=3, help="end-to-end scans of the proteome (median reported)")
    parser.add_argument("--startup-runs", type=int, default=7, help="scans of the 5-protein example (0: skip)")
    parser.add_argument("--skip-doubled", action="store_true")
    parser.add_argument("--results", type=Path, default=HERE / "RESULTS.md")
    args = parser.parse_args()

    from phosnet.bundle import PRETRAINED_DIR

    env_machine = machine()
    loads = [load()]
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
        print(f"model: {model}; load average {loads[0]:.2f}", flush=True)
        rates = [gemm_rate()]
        print(f"GEMM rate: {rates[0]:.1f} GFLOP/s", flush=True)
        start_s = startup(model, args.startup_runs, folder) if args.startup_runs else float("nan")
        print(f"start-up (5-protein example, median of {args.startup_runs}): {start_s:.2f} s", flush=True)
        scans = []
        for _ in range(args.repeats):
            scans.append(timed_scan(args.proteome, model, folder / "out.tsv", []))
            loads.append(load())
            print(f"scan x1: {scans[-1]}; load average {loads[-1]:.2f}", flush=True)
        single = sorted(scans, key=lambda r: r["wall_s"])[len(scans) // 2]
        io_times = read_and_write(args.proteome, model, folder / "out.tsv", folder)
        print(f"read + window {io_times['read_s']:.2f} s, format + write {io_times['write_s']:.2f} s", flush=True)
        double = None
        if not args.skip_doubled:
            big = doubled(args.proteome, folder)
            double = timed_scan(big, model, folder / "out2.tsv", [])
            big.unlink()
            print(f"scan x2: {double}", flush=True)
        base = baseline(args.proteome, model, args.baseline_fraction)
        loads.append(load())
        print(f"baseline: {base}; load average {loads[-1]:.2f}", flush=True)
        from phosnet import load_model

        flops = shared_flops(load_model(model).keras_model, io_times.pop("spans"), io_times["windows"])
        rates.append(gemm_rate())
        loads.append(load())
        model_name = model.name if model.parent == PRETRAINED_DIR else "default-size network, random weights"
        shutil.rmtree(folder, ignore_errors=True)

    rate = max(rates)
    compute_s = flops["total"] / (rate * 1e9)
    floor = compute_s + io_times["read_s"] + io_times["write_s"]
    rate_sites = single["sites"] / single["wall_s"]
    walls = ", ".join(f"{r['wall_s']:.1f}" for r in scans)
    lines = [
        "# Scan speed: `phosnet scan` on the human proteome",
        "",
        f"- command: `{sys.executable} benchmarks/scan_speed/{' '.join([Path(sys.argv[0]).name, *sys.argv[1:]])}`"
        + (f" (commit {commit})" if commit else ""),
        f"- date: {datetime.datetime.now(datetime.UTC).isoformat(timespec='seconds')}",
        f"- machine (lscpu): {env_machine}; 1-min load average {' -> '.join(f'{x:.2f}' for x in loads)} (start,"
        " after each scan, after the baseline, at the end; the machine is shared: compare ratios within one run)",
        f"- input: `{args.proteome.name}` ({single['proteins']:,} proteins, {single['sites']:,} S/T sites)",
        f"- model: {model_name}; scan engine: {single['engine']}",
        "",
        "| run | wall (s) | CPU user+sys (s) | sites/s (wall) | peak RSS (MB) |",
        "| --- | ---: | ---: | ---: | ---: |",
        f"| `phosnet scan` proteome -> TSV (end to end; median of {len(scans)}: {walls}) | {single['wall_s']:.2f} | "
        f"{single['cpu_s']:.1f} | {rate_sites:,.0f} | {single['rss_mb']:.0f} |",
    ]
    if double:
        lines.append(
            f"| `phosnet scan` proteome x2 -> TSV | {double['wall_s']:.2f} | {double['cpu_s']:.1f} | "
            f"{double['sites'] / double['wall_s']:,.0f} | {double['rss_mb']:.0f} |"
        )
    lines += [
        f"| naive baseline: one-hot + `model.predict(batch_size=4096)`, predict step only "
        f"({base['windows']:,} windows) | {base['predict_s']:.2f} | {base['cpu_s']:.1f} | {base['rate']:,.0f} | - |",
        f"| floor: {flops['total'] / 1e12:.3f} TFLOP / {rate:.0f} GFLOP/s + read {io_times['read_s']:.2f} s + write "
        f"{io_times['write_s']:.2f} s | {floor:.2f} | - | {single['sites'] / floor:,.0f} | - |",
        f"| start-up: `phosnet scan` of the 5-protein example (median of {args.startup_runs}) | {start_s:.2f} "
        "| - | - | - |",
        "",
        "FLOPs in the shared formulation (from the model's layer shapes; the first convolution is a table lookup): "
        + "; ".join(f"{name} {value / 1e12:.3f} TFLOP" for name, value in flops.items() if name != "total")
        + f". GEMM rate: {' / '.join(f'{r:.0f}' for r in rates)} GFLOP/s (before / after the scans; the best is used).",
        "",
        f"**end to end / floor = {single['wall_s'] / floor:.2f}** (target <= 2); "
        f"**naive predict step / end to end = {base['proteome_s_equiv'] / single['wall_s']:.2f}** (target >= 3).",
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
