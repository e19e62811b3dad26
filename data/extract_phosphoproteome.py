#!/usr/bin/env python
"""Extract the human S/T phosphoproteome shipped in the kinase-library wheel to data/kl_phosphoproteome.tsv.gz.

    benchmarks/kinase_library/.venv/bin/python data/extract_phosphoproteome.py

(after `bash benchmarks/kinase_library/setup_env.sh`). Any Python works if the wheel's data folder is
given with --kl-dir (the extraction reads a plain TSV; it only needs the wheel to be installed somewhere).

Source: kinase_library/databases/substrates/ochoa/phosphoproteome_ser_thr.txt in kinase-library 1.8.0,
i.e. the human phosphoproteome of Ochoa et al. (2019) Nat Biotechnol 38:365-373, Table S2
(doi:10.1038/s41587-019-0344-3), as redistributed by the Kinase Library under CC BY-NC-SA 3.0.

Output columns: accession (UniProt, as in the wheel), position (1-based), residue (S/T), gene,
localization_prob (the wheel's best_localization_prob). Sorted, gzip with mtime 0: byte-identical reruns.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import sys
from pathlib import Path

REL = Path("databases") / "substrates" / "ochoa" / "phosphoproteome_ser_thr.txt"


def find_kl_dir(given: Path | None) -> Path:
    if given is not None:
        return given
    try:
        import kinase_library

        return Path(kinase_library.__file__).parent
    except ImportError:
        pass
    repo = Path(__file__).resolve().parent.parent
    hits = sorted((repo / "benchmarks" / "kinase_library" / ".venv").glob("lib/python*/site-packages/kinase_library"))
    if hits:
        return hits[0]
    sys.exit(
        "extract_phosphoproteome.py: kinase_library not found; run benchmarks/kinase_library/setup_env.sh "
        "or pass --kl-dir"
    )


def main(argv=None) -> int:
    repo = Path(__file__).resolve().parent.parent
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kl-dir", type=Path, help="the installed kinase_library package folder")
    ap.add_argument("--out", type=Path, default=repo / "data" / "kl_phosphoproteome.tsv.gz")
    args = ap.parse_args(argv)

    src = find_kl_dir(args.kl_dir) / REL
    if not src.exists():
        sys.exit(f"extract_phosphoproteome.py: {src} not found (kinase-library version without the Ochoa set?)")
    rows = set()
    with open(src, newline="") as fh:
        for r in csv.DictReader(fh, delimiter="\t"):
            res = r["residue"].strip().upper()
            if res not in ("S", "T"):
                continue
            rows.add(
                (r["uniprot"].strip(), int(r["position"]), res, r["gene"].strip(), r["best_localization_prob"].strip())
            )
    rows = sorted(rows)
    buf = io.StringIO()
    w = csv.writer(buf, delimiter="\t", lineterminator="\n")
    w.writerow(["accession", "position", "residue", "gene", "localization_prob"])
    w.writerows(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
        gz.write(buf.getvalue().encode())
    print(f"{len(rows)} S/T sites from {src} -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
