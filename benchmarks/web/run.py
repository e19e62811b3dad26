"""Load benchmark of ``phosnet serve``: N concurrent clients posting the example proteins, and one 10 MB proteome
upload, against a real server on this machine (loopback only); every answer is checked byte for byte against
``phosnet scan``'s file for the same input. Records p50/p95 latency, errors (must be 0) and the server's peak
memory (VmHWM).

    nice -n 10 python benchmarks/web/run.py [--clients 20] [--requests 10] [--megabytes 10] [--proteome FASTA.gz]

Bounded: clients x requests small requests and one upload, each with a timeout; the server is stopped at the end.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from measure import cpu_model  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "phosnet" / "examples" / "akt_substrates.fasta"
PROTEOME = ROOT.parent / "shared" / "datasets" / "proteome" / "human_uniprot201401_subset.fasta.gz"




def proteome_slice(megabytes: float, target: Path, proteome: Path) -> tuple[int, int]:
    """The first whole records of the proteome up to ``megabytes`` of FASTA text; returns (proteins, bytes)."""
    limit = int(megabytes * 1e6)
    out, size, proteins = [], 0, 0
    with gzip.open(proteome, "rt") as handle:
        record: list[str] = []
        for line in handle:
            if line.startswith(">") and record:
                text = "".join(record)
                if size + len(text) > limit:
                    break
                out.append(text)
                size += len(text)
                proteins += 1
                record = []
            record.append(line)
    target.write_text("".join(out))
    return proteins, size


def cli_scan(fasta: Path, output: Path) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "phosnet", "scan", str(fasta), "-o", str(output), "-q"], check=True,
                   cwd=ROOT)
    return time.perf_counter() - started


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=10, help="small requests per client")
    parser.add_argument("--megabytes", type=float, default=10.0, help="size of the proteome upload (FASTA text)")
    parser.add_argument("--proteome", type=Path, default=PROTEOME, help="the proteome to cut the upload from")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="phosnet-web-bench-"))
    big = work / "proteome.fasta"
    proteins, size = proteome_slice(args.megabytes, big, args.proteome)
    reference_small, reference_big = work / "example.tsv", work / "proteome.tsv"
    cli_scan(EXAMPLE, reference_small)
    cli_big_seconds = cli_scan(big, reference_big)
    expected_small, expected_big = reference_small.read_bytes(), reference_big.read_bytes()

    server = subprocess.Popen([sys.executable, "-m", "phosnet", "serve", "--port", "0"], stdout=subprocess.PIPE,
                              text=True, cwd=ROOT)
    assert server.stdout is not None
    url = server.stdout.readline().split()[2].rstrip("/")
    base_rss = peak_rss_mb(server.pid)
    example_text = EXAMPLE.read_text()
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    big_result: dict[str, float] = {}

    def client(number: int) -> None:
        with httpx.Client(base_url=url, timeout=300) as http:
            for _ in range(args.requests):
                started = time.perf_counter()
                try:
                    answer = http.post("/api/scan", data={"fasta": example_text, "format": "tsv"})
                    ok = answer.status_code == 200 and answer.content == expected_small
                    problem = None if ok else f"client {number}: {answer.status_code} {answer.text[:100]!r}"
                except httpx.HTTPError as exc:
                    problem = f"client {number}: {type(exc).__name__}: {exc}"
                with lock:
                    latencies.append(time.perf_counter() - started)
                    if problem:
                        errors.append(problem)

    def uploader() -> None:
        started = time.perf_counter()
        try:
            with httpx.Client(base_url=url, timeout=600) as http, big.open("rb") as handle:
                job = http.post("/api/jobs", files={"file": ("proteome.fasta", handle)}).json()
                deadline = time.monotonic() + 1800
                while time.monotonic() < deadline:
                    status = http.get(f"/api/jobs/{job['id']}").json()
                    if status["state"] not in {"queued", "running"}:
                        break
                    time.sleep(0.5)
                if status["state"] != "done":
                    raise RuntimeError(f"upload job {status['state']}: {status.get('error')}")
                scanned = time.perf_counter() - started
                data = http.get(f"/api/jobs/{job['id']}/download/tsv").content
                if data != expected_big:
                    raise RuntimeError(f"proteome TSV differs from the CLI's "
                                       f"({len(data)} vs {len(expected_big)} bytes)")
                big_result.update(scan_seconds=scanned, total_seconds=time.perf_counter() - started,
                                  sites=status["result"]["counts"]["sites"], tsv_bytes=len(data))
                http.delete(f"/api/jobs/{job['id']}")
        except Exception as exc:  # recorded as an error of the run
            with lock:
                errors.append(f"upload: {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=uploader)] + [threading.Thread(target=client, args=(i,))
                                                     for i in range(args.clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    peak = peak_rss_mb(server.pid)
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=60)

    ordered = sorted(latencies)
    result = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{cpu_model()}, {os.cpu_count()} cores",
        "command": "nice -n 10 python benchmarks/web/run.py " + " ".join(sys.argv[1:]),
        "clients": args.clients, "small_requests": len(latencies),
        "small_p50_s": round(statistics.median(ordered), 3) if ordered else None,
        "small_p95_s": round(ordered[max(0, int(0.95 * len(ordered)) - 1)], 3) if ordered else None,
        "small_max_s": round(ordered[-1], 3) if ordered else None,
        "upload_mb": round(size / 1e6, 2), "upload_proteins": proteins,
        "upload_scan_s": round(big_result.get("scan_seconds", float("nan")), 2),
        "upload_with_download_s": round(big_result.get("total_seconds", float("nan")), 2),
        "upload_sites": big_result.get("sites"), "cli_scan_of_upload_s": round(cli_big_seconds, 2),
        "wall_s": round(wall, 2), "errors": len(errors), "error_examples": errors[:5],
        "server_rss_start_mb": round(base_rss), "server_peak_rss_mb": round(peak),
        "server_exit": server.returncode,
    }
    print(json.dumps(result, indent=2))
    (Path(__file__).parent / "last_run.json").write_text(json.dumps(result, indent=2) + "\n")
    for path in work.iterdir():
        path.unlink()
    work.rmdir()
    if errors:
        sys.exit(1)


if __name__ == "__main__":
    main()
