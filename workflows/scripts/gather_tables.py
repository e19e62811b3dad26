"""Concatenate per-chunk ``phosnet scan`` tables (TSV, CSV or GFF3) into one, with the header line once.

The header line is the column names for TSV/CSV and the ``##gff-version 3`` directive for GFF3 (phosnet's
GFF3 has no other directives), so the same rule gathers all three.

Chunks are read in the order given, so the rows come out in the order of the original FASTA file. An empty
chunk file (a chunk that received no records) is skipped; every non-empty chunk must start with the same
header line. Files are streamed line by line, so a proteome's table never sits in memory.

Run by the workflow's ``gather_scan`` rule (``script:``), or by hand::

    python gather_tables.py whole.tsv chunk_1.tsv chunk_2.tsv chunk_3.tsv
"""

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

log = logging.getLogger("gather_tables")


def gather_tables(chunks: Sequence[str | Path], output: str | Path) -> int:
    """Write the header of the first non-empty chunk, then the data lines of every chunk; returns the row count.

    Written to a temporary file beside ``output`` and renamed on success. Raises ``ValueError`` when headers
    differ or when every chunk is empty.
    """
    output = Path(output)
    partial = output.with_name(output.name + ".partial")
    header: str | None = None
    rows = 0
    try:
        with open(partial, "w", encoding="utf-8", newline="") as out:
            for chunk in chunks:
                with open(chunk, encoding="utf-8", newline="") as handle:
                    first = handle.readline()
                    if not first:
                        log.info("%s: empty chunk, skipped", chunk)
                        continue
                    if header is None:
                        header = first
                        out.write(header)
                    elif first != header:
                        raise ValueError(f"{chunk}: header {first.rstrip()!r} differs from {header.rstrip()!r}")
                    for line in handle:
                        out.write(line)
                        rows += 1
        if header is None:
            raise ValueError("every chunk is empty: nothing to gather")
        os.replace(partial, output)
    finally:
        partial.unlink(missing_ok=True)
    log.info("%s: %d rows from %d chunks", output, rows, len(chunks))
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", help="gathered table")
    parser.add_argument("chunks", nargs="+", help="chunk tables, in order")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    gather_tables(args.chunks, args.output)
    return 0


def _run_from_snakemake(smk) -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(name)s: %(message)s", filename=smk.log[0] if smk.log else None, force=True
    )
    try:
        gather_tables(list(smk.input.tables), smk.output.table)
    except Exception:
        log.exception("gathering %s failed", smk.output.table)
        raise


if __name__ == "__main__":
    _snakemake = globals().get("snakemake")
    if _snakemake is not None:
        _run_from_snakemake(_snakemake)
    else:
        sys.exit(main())
