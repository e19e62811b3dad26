"""Speed and memory of ``phosnet sites`` on 100,000 measured sites against the human proteome.

One command (from the repository root)::

    nice -n 10 /work/venv/bin/python benchmarks/site_scoring/run.py [--sites 100000]

Draws ``--sites`` distinct S/T sites at random (seed 0) from the human proteome and writes them as three
tables, as experiments hand them over:

1. protein form: ``accession, position, residue, log2fc``;
2. peptide form: each site's tryptic peptide (cleaved after K/R, not before P; extended over the next
   cleavage when shorter than 7, cut to 20 residues either side of the site when longer), the site marked in
   a rotation of five spellings (``S(ph)``, ``(pS)``, ``pS``, lower case, MaxQuant's ``_S(Phospho (STY))_``)
   with every M written oxidised in one of the MaxQuant rows, mapped back onto the whole proteome;
3. window form: each site's 15-mer (PhosphoSitePlus style: centre in lower case, ``_`` padding), no FASTA.

Each ``phosnet sites`` run, and ``phosnet scan`` of the same proteome as the yardstick (the sites' scores
come from a scan of the FASTA, so a scan is the floor of the FASTA forms), is a subprocess of the CLI timed
end to end (start-up, reading, writing) with peak resident memory (``/usr/bin/time -v``), under the caller's
``nice``. The FASTA forms' scores are then checked against the scan's table: equal for every site (the exact
promise), and the peptide form must place every site where it was drawn. Results are printed and appended to
``RESULTS.md`` beside this file.
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import os
import re
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from measure import load, machine, timed  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SHARED = next((p for p in (ROOT.parent / "shared", ROOT.parents[1] / "shared") if p.is_dir()), ROOT.parent / "shared")
PROTEOME = SHARED / "datasets" / "proteome" / "human_uniprot201401_subset.fasta.gz"  # ../shared from a worktree too
SPELLINGS = ("(ph)", "(pS)", "pS", "lower", "maxquant")


def sample_sites(proteins: dict[str, str], n: int, rng: np.random.Generator) -> list[tuple[str, int, str]]:
    """``n`` distinct (protein, 1-based position, residue) S/T sites, uniform over the proteome's S/T."""
    ids = list(proteins)
    pairs = [(k, m.start() + 1) for k, seq in enumerate(proteins.values()) for m in re.finditer("[ST]", seq)]
    chosen = rng.choice(len(pairs), size=min(n, len(pairs)), replace=False)
    out = []
    for i in sorted(chosen.tolist()):
        k, position = pairs[i]
        out.append((ids[k], position, proteins[ids[k]][position - 1]))
    return out


def tryptic(sequence: str, position: int) -> tuple[int, str]:
    """The tryptic peptide holding 1-based ``position``: (0-based start, peptide)."""
    def cut_after(i: int) -> bool:  # trypsin cuts after K/R unless P follows
        return sequence[i] in "KR" and (i + 1 >= len(sequence) or sequence[i + 1] != "P")

    site = position - 1
    start = site
    while start > 0 and not cut_after(start - 1):
        start -= 1
    end = site
    while end < len(sequence) - 1 and not cut_after(end):
        end += 1
    while end - start + 1 < 7 and end < len(sequence) - 1:  # a missed cleavage: extend to the next site
        end += 1
        while end < len(sequence) - 1 and not cut_after(end):
            end += 1
    while end - start + 1 < 7 and start > 0:  # at the protein's end: extend to the previous cleavage instead
        start -= 1
        while start > 0 and not cut_after(start - 1):
            start -= 1
    start, end = max(start, site - 20), min(end, site + 20)
    return start, sequence[start : end + 1]


def marked(peptide: str, offset: int, spelling: str) -> str:
    residue = peptide[offset]
    before, after = peptide[:offset], peptide[offset + 1 :]
    if spelling == "(ph)":
        return f"{before}{residue}(ph){after}"
    if spelling == "(pS)":
        return f"{before}(p{residue}){after}"
    if spelling == "pS":
        return f"{before}p{residue}{after}"
    if spelling == "lower":
        return f"{before}{residue.lower()}{after}"
    ox = "M(Oxidation (M))"
    return f"_{before.replace('M', ox)}{residue}(Phospho (STY)){after.replace('M', ox)}_"


def window15(sequence: str, position: int) -> str:
    site = position - 1
    letters = [sequence[i] if 0 <= i < len(sequence) else "_" for i in range(site - 7, site + 8)]
    letters[7] = letters[7].lower()
    return "".join(letters)


def write_tables(proteins: dict[str, str], sites: list[tuple[str, int, str]], folder: Path,
                 rng: np.random.Generator) -> dict[str, Path]:
    fold_change = rng.normal(size=len(sites))
    paths = {form: folder / f"{form}.tsv" for form in ("protein", "peptide", "window")}
    with paths["protein"].open("w") as p, paths["peptide"].open("w") as q, paths["window"].open("w") as w:
        p.write("accession\tposition\tresidue\tlog2fc\n")
        q.write("peptide\tprotein_drawn\tposition_drawn\tlog2fc\n")
        w.write("window\tlog2fc\n")
        for k, ((protein, position, residue), fc) in enumerate(zip(sites, fold_change, strict=True)):
            seq = proteins[protein]
            p.write(f"{protein}\t{position}\t{residue}\t{fc:.3f}\n")
            start, peptide = tryptic(seq, position)
            q.write(f"{marked(peptide, position - 1 - start, SPELLINGS[k % 5])}\t{protein}\t{position}\t{fc:.3f}\n")
            w.write(f"{window15(seq, position)}\t{fc:.3f}\n")
    return paths








def check_against_scan(out: Path, scan: Path, drawn: Path | None) -> str:
    """Scores of ``out`` against the scan's rows: how many sites, how many differ (must be 0), and (peptides)
    how many rows of each drawn site are where it was drawn."""
    import pandas as pd

    sites = pd.read_csv(out, sep="\t", dtype={"protein": str}, keep_default_na=False, na_values=[""])
    table = pd.read_csv(scan, sep="\t", usecols=["protein_id", "position", "score", "predicted"],
                        dtype={"protein_id": str})
    scored = sites[sites["status"] == "scored"]
    merged = scored.merge(table, left_on=["protein", "position"], right_on=["protein_id", "position"], how="left")
    differ = int((merged["score_x"].to_numpy(np.float32) != merged["score_y"].to_numpy(np.float32)).sum())
    calls = int((merged["call"].astype(str).str.lower() == "true").ne(merged["predicted"]).sum())
    text = f"{len(scored):,} scored rows, {differ} scores and {calls} calls differ from the scan's"
    if drawn is not None:
        back = scored["protein_drawn"].astype(str).eq(scored["protein"]) & scored["position_drawn"].eq(
            scored["position"])
        lines = scored.loc[back, "line"].nunique()
        shared = int((scored["matches"] > 1).sum())
        text += (f"; {lines:,} of {sites['line'].nunique():,} input rows have a row where the site was drawn; "
                 f"{shared:,} rows from peptides found in more than one place")
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--proteome", type=Path, default=PROTEOME)
    parser.add_argument("--sites", type=int, default=100_000)
    parser.add_argument("--results", type=Path, default=HERE / "RESULTS.md")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from phosnet import read_proteins

    rng = np.random.default_rng(0)
    started = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"- started {started}; machine: {machine()}; niceness {os.nice(0)}",
             f"- proteome: `{args.proteome.name}`"]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        proteome = folder / "proteome.fasta"  # uncompressed, so every run reads the same bytes
        with gzip.open(args.proteome, "rt") if args.proteome.suffix == ".gz" else args.proteome.open() as src:
            proteome.write_text(src.read())
        proteins = read_proteins(proteome)
        sites = sample_sites(proteins, args.sites, rng)
        lines.append(f"- {len(proteins):,} proteins; {len(sites):,} distinct S/T sites drawn (seed 0)")
        tables = write_tables(proteins, sites, folder, rng)
        scan = folder / "scan.tsv"
        before = load()
        result = timed(["scan", str(proteome), "-o", str(scan)])
        scan_wall = result["wall_s"]
        lines.append(f"- yardstick `phosnet scan PROTEOME -o scan.tsv` (every S/T): **{result['wall_s']:.1f} s** "
                     f"wall ({result['cpu_s']:.1f} s CPU), peak RSS **{result['rss_mb']:.0f} MB**; load before "
                     f"{before}")
        print(lines[-1], file=sys.stderr)
        runs = [("protein", ["--fasta", str(proteome)]), ("peptide", ["--fasta", str(proteome)]), ("window", [])]
        for form, extra in runs:
            out = folder / f"{form}.out.tsv"
            before = load()
            result = timed(["sites", str(tables[form]), *extra, "-o", str(out)])
            with out.open() as handle:
                rows = sum(1 for _ in handle) - 1
            check = check_against_scan(out, scan, tables[form] if form == "peptide" else None) if extra else \
                f"{rows:,} rows (windows: no FASTA, scored directly)"
            lines.append(
                f"- `phosnet sites {form}.tsv{' --fasta PROTEOME' if extra else ''} -o out.tsv`, "
                f"{len(sites):,} sites ({form} form): **{result['wall_s']:.1f} s** wall ({result['cpu_s']:.1f} s "
                f"CPU, {len(sites) / result['wall_s']:,.0f} sites/s, {result['wall_s'] / scan_wall:.2f}x the "
                f"scan), {rows:,} rows, peak RSS **{result['rss_mb']:.0f} MB**; {check}; load before {before}")
            print(lines[-1], file=sys.stderr)
    command = "nice -n 10 python benchmarks/site_scoring/run.py " + " ".join(sys.argv[1:])
    text = f"\n## Run of {started}\n\nCommand: `{command.strip()}`\n\n" + "\n".join(lines) + "\n"
    if not args.results.exists():
        args.results.write_text(
            "# Scoring measured sites: speed and memory (`benchmarks/site_scoring/`)\n\nEach run appends a "
            "section (command, machine, date, load). Wall times include start-up, reading and writing.\n")
    with args.results.open("a") as handle:
        handle.write(text)
    print(text)


if __name__ == "__main__":
    main()
