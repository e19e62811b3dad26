"""Speed and memory of ``phosnet explain`` and ``phosnet variants`` on human proteins.

One command (from the repository root)::

    /work/venv/bin/python benchmarks/whatif/run.py [--sites 1000] [--variants 100000 20000]

Measures, each as a subprocess of the CLI timed end to end (start-up, reading, writing included) with peak
resident memory (``/usr/bin/time -v``):

1. ``phosnet explain PROTEOME --sites SITES -o out.tsv``: ``--sites`` S/T sites drawn at random (seed 0) from the
   human proteome; every site is 31 x 21 mutated windows;
2. ``phosnet variants PROTEOME VARIANTS -o out.tsv`` for each ``--variants`` size: random missense variants
   (seed 0; random protein, position and substitute; half written in HGVS), to show time per variant and that
   memory does not grow with the number of variants (the table is streamed in chunks).

The model is the bundled ``akt-default``; the engine is the numpy one (no TensorFlow). Results are printed and
written to ``RESULTS.md`` beside this file.
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from measure import load, machine, timed  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PROTEOME = ROOT.parent / "shared" / "datasets" / "proteome" / "human_uniprot201401_subset.fasta.gz"
AMINO = "ACDEFGHIKLMNPQRSTVWY"
THREE = dict(zip(AMINO, ["Ala", "Cys", "Asp", "Glu", "Phe", "Gly", "His", "Ile", "Lys", "Leu", "Met", "Asn",
                         "Pro", "Gln", "Arg", "Ser", "Thr", "Val", "Trp", "Tyr"], strict=True))


def read_proteome(path: Path) -> dict[str, str]:
    from phosnet import read_proteins

    return read_proteins(path)


def write_sites(proteins: dict[str, str], n: int, path: Path, rng: np.random.Generator) -> None:
    ids = list(proteins)
    rows = set()
    while len(rows) < n:
        protein_id = ids[rng.integers(len(ids))]
        seq = proteins[protein_id]
        candidates = [i + 1 for i, c in enumerate(seq) if c in "ST"]
        if candidates:
            rows.add((protein_id, int(rng.choice(candidates))))
    path.write_text("protein_id\tposition\n" + "".join(f"{p}\t{q}\n" for p, q in sorted(rows)))


def write_variants(proteins: dict[str, str], n: int, path: Path, rng: np.random.Generator) -> None:
    ids = list(proteins)
    with path.open("w") as handle:
        handle.write("protein_id\tvariant\n")
        for k in range(n):
            ref = "X"
            while ref not in AMINO:  # X (unknown residue) is no reference for a missense variant
                protein_id = ids[rng.integers(len(ids))]
                seq = proteins[protein_id]
                position = int(rng.integers(len(seq))) + 1
                ref = seq[position - 1]
            alt = AMINO[(AMINO.index(ref) + 1 + rng.integers(19)) % 20]
            text = f"p.{THREE[ref]}{position}{THREE[alt]}" if k % 2 else f"{ref}{position}{alt}"
            handle.write(f"{protein_id}\t{text}\n")




def count_rows(path: Path) -> int:
    with path.open() as handle:
        return sum(1 for _ in handle) - 1






def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--proteome", type=Path, default=PROTEOME)
    parser.add_argument("--sites", type=int, default=1000, help="0 skips explain")
    parser.add_argument("--variants", type=int, nargs="+", default=[100_000, 20_000])
    parser.add_argument("--results", type=Path, default=HERE / "RESULTS.md")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    started = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"- started {started}; machine: {machine()}", f"- proteome: `{args.proteome}`"]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        proteome = folder / "proteome.fasta"  # uncompressed, so every run reads the same bytes
        with gzip.open(args.proteome, "rt") if args.proteome.suffix == ".gz" else args.proteome.open() as src:
            proteome.write_text(src.read())
        proteins = read_proteome(proteome)
        lines.append(f"- {len(proteins):,} proteins")
        if args.sites:
            sites = folder / "sites.tsv"
            write_sites(proteins, args.sites, sites, rng)
            out = folder / "explain.tsv"
            print(f"explain: {args.sites} sites (load {load()})", file=sys.stderr)
            before = load()
            result = timed(["explain", str(proteome), "--sites", str(sites), "-o", str(out)])
            rows = count_rows(out)
            lines.append(
                f"- `phosnet explain PROTEOME --sites SITES -o out.tsv`, {args.sites:,} random S/T sites: "
                f"**{result['wall_s']:.1f} s** wall ({result['cpu_s']:.1f} s CPU), {rows:,} rows "
                f"({rows / result['wall_s']:,.0f} mutated windows/s end to end, {args.sites / result['wall_s']:.1f} "
                f"sites/s), peak RSS **{result['rss_mb']:.0f} MB**; load average before: {before}"
            )
            print(lines[-1], file=sys.stderr)
        for n in args.variants:
            variants = folder / f"variants_{n}.tsv"
            write_variants(proteins, n, variants, rng)
            out = folder / f"variants_{n}.out.tsv"
            print(f"variants: {n} (load {load()})", file=sys.stderr)
            before = load()
            result = timed(["variants", str(proteome), str(variants), "-o", str(out)])
            rows = count_rows(out)
            lines.append(
                f"- `phosnet variants PROTEOME VARIANTS -o out.tsv`, {n:,} random missense variants: "
                f"**{result['wall_s']:.1f} s** wall ({result['cpu_s']:.1f} s CPU, "
                f"{n / result['wall_s']:,.0f} variants/s), {rows:,} variant-site rows, peak RSS "
                f"**{result['rss_mb']:.0f} MB**; load average before: {before}"
            )
            print(lines[-1], file=sys.stderr)
    command = "python benchmarks/whatif/run.py " + " ".join(sys.argv[1:])
    text = (
        f"\n## Run of {started}\n\nCommand: `{command.strip()}`\n\n" + "\n".join(lines) + "\n"
    )
    if not args.results.exists():
        args.results.write_text(
            "# What-if tools: speed and memory (`benchmarks/whatif/`)\n\nEach run appends a section "
            "(command, machine, date, load). Wall times include start-up, reading the proteome and writing.\n"
        )
    with args.results.open("a") as handle:
        handle.write(text)
    print(text)


if __name__ == "__main__":
    main()
