"""What every benchmark records about a run, in one place: a timed CLI call (wall, CPU, peak memory), the
machine and the load. Benchmarks import it after putting ``benchmarks/`` on ``sys.path``."""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed(args: list[str]) -> dict[str, float]:
    """Run ``python -m phosnet -q ARGS`` (this checkout) under ``/usr/bin/time -v``: wall s, CPU s, peak RSS MB."""
    command = [sys.executable, "-m", "phosnet", "-q", *args]
    start = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-v", *command], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{proc.stderr}")
    match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    cpu = sum(float(m) for m in re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", proc.stderr))
    return {"wall_s": wall, "cpu_s": cpu, "rss_mb": int(match.group(1)) / 1024 if match else float("nan")}


def cpu_model() -> str:
    """The CPU's model name (``lscpu``), else what :mod:`platform` knows."""
    try:
        found = re.search(r"Model name:\s*(.+)", subprocess.run(["lscpu"], capture_output=True, text=True).stdout)
        return found.group(1).strip() if found else platform.processor()
    except OSError:
        return platform.processor()


def machine() -> str:
    """CPU, cores this process may use, OS and Python: the line every RESULTS.md section starts from."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{cpu_model()}, {cores} cores, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def load() -> str:
    """The 1-, 5- and 15-minute load averages."""
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())
