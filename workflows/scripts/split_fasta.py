"""Split a FASTA file into N chunk files on record boundaries, keeping the order of the records.

Chunk ``i`` holds a contiguous run of records, so concatenating the chunks (and anything computed record by
record from them) in chunk order gives back the original order. Runs are balanced by residue count, every
chunk gets at least one record when there are at least N records, and chunks past the number of records are
written empty. Record text is copied unchanged (headers, line wrapping, letters), so ``phosnet scan`` sees
exactly what it would see in the whole file. Plain or gzip input (detected by content).

Run by the workflow's ``split_proteome`` rule (``script:``), or by hand::

    python split_fasta.py proteome.fasta.gz chunk_1.fasta chunk_2.fasta chunk_3.fasta
"""

import argparse
import gzip
import logging
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

log = logging.getLogger("split_fasta")


def open_text(path: str | Path) -> IO[str]:
    """Open a plain or gzip-compressed text file (by its first two bytes, not its suffix)."""
    with open(path, "rb") as handle:
        magic = handle.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rt", encoding="ascii", newline="")
    return open(path, encoding="ascii", newline="")  # noqa: SIM115 - the caller closes it


def record_lengths(path: str | Path) -> list[int]:
    """Residue characters per record (whitespace ignored); text before the first header counts for none."""
    lengths: list[int] = []
    with open_text(path) as handle:
        for line in handle:
            if line.startswith(">"):
                lengths.append(0)
            elif lengths:
                lengths[-1] += len("".join(line.split()))
    return lengths


def assign_chunks(lengths: Sequence[int], n_chunks: int) -> list[int]:
    """Chunk index (0-based) of each record: contiguous, non-decreasing, balanced by residues.

    With ``m`` records, chunks ``0 .. min(m, n_chunks) - 1`` each get at least one record and no index is
    skipped.

    >>> assign_chunks([10, 10, 10, 10], 2)
    [0, 0, 1, 1]
    >>> assign_chunks([1000, 1, 1], 3)
    [0, 1, 2]
    >>> assign_chunks([5, 5], 4)
    [0, 1]
    """
    if n_chunks < 1:
        raise ValueError("n_chunks must be at least 1")
    m = len(lengths)
    k = min(n_chunks, m)
    total = sum(lengths) or 1
    chunks: list[int] = []
    before = 0
    for i, length in enumerate(lengths):
        # The chunk the middle of this record falls in, if residues were cut into k equal parts ...
        ideal = min(k - 1, int((before + length / 2) * k / total))
        if i == 0:
            chunk = 0
        else:
            # ... but never skip a chunk, and leave at least one record for each chunk still to come.
            low = max(chunks[-1], k - (m - i))
            chunk = min(max(ideal, low), chunks[-1] + 1)
        chunks.append(chunk)
        before += length
    return chunks


def iter_records(handle: IO[str]) -> Iterator[str]:
    """Yield the raw text of each record (header line included); text before the first header is yielded first."""
    lines: list[str] = []
    for line in handle:
        if line.startswith(">") and lines:
            yield "".join(lines)
            lines = []
        lines.append(line)
    if lines:
        yield "".join(lines)


def split_fasta(path: str | Path, outputs: Sequence[str | Path]) -> list[int]:
    """Write the records of ``path`` into ``outputs`` (one file per chunk); returns the records per chunk."""
    lengths = record_lengths(path)
    assignment = assign_chunks(lengths, len(outputs)) if lengths else []
    counts = [0] * len(outputs)
    handles = [open(out, "w", encoding="ascii", newline="") for out in outputs]  # noqa: SIM115
    try:
        with open_text(path) as source:
            index = -1
            for text in iter_records(source):
                if text.startswith(">"):
                    index += 1
                    chunk = assignment[index]
                    counts[chunk] += 1
                else:
                    chunk = 0  # stray text before the first header: keep it, so phosnet reports it as it would
                handles[chunk].write(text)
    finally:
        for handle in handles:
            handle.close()
    log.info("%s: %d records, %d residues -> %s records per chunk", path, len(lengths), sum(lengths), counts)
    return counts


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("fasta", help="input FASTA (plain or gzip)")
    parser.add_argument("chunks", nargs="+", help="output chunk files, in order")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    split_fasta(args.fasta, args.chunks)
    return 0


def _run_from_snakemake(smk) -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(name)s: %(message)s", filename=smk.log[0] if smk.log else None, force=True
    )
    try:
        split_fasta(smk.input.fasta, list(smk.output.chunks))
    except Exception:
        log.exception("splitting %s failed", smk.input.fasta)
        raise


if __name__ == "__main__":
    _snakemake = globals().get("snakemake")
    if _snakemake is not None:
        _run_from_snakemake(_snakemake)
    else:
        sys.exit(main())
