"""Batches of candidate sites: proteins windowed into blocks of :class:`~phosnet.io.rows.SiteRows` before scoring.

A batch holds whole proteins and at least :data:`DEFAULT_BATCH_SIZE` windows (the unit of reading, prediction and
writing), as ``int8`` alphabet indices; the windows also exist as start offsets into one padded code array, so the
numpy engine can share convolutions between overlapping windows.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from phosnet.encoding import ALPHABET, PAD, sequence_to_index_codes
from phosnet.io.rows import SiteRows
from phosnet.windows import candidate_positions

DEFAULT_BATCH_SIZE = 16384
"""Windows per batch (the unit of reading, prediction and writing)."""


def raw_batches(
    records: Iterator[tuple[str, ...]], residues: str, flank: int, batch_size: int
) -> Iterator[SiteRows]:
    """Window proteins and group them into batches of at least ``batch_size`` windows (whole proteins).

    ``records`` are ``(protein_id, sequence)`` pairs or ``(protein_id, sequence, description)`` triples. Per
    protein only its candidates are counted (``str.count``); each batch is then encoded, searched and windowed
    in a few numpy calls over all its proteins at once (per-protein numpy calls cost more than the work).
    """
    wanted = sorted(set(residues))
    pending: list[tuple[str, ...]] = []
    n_rows = n_proteins = 0
    for record in records:
        n_proteins += 1
        found = sum(record[1].count(letter) for letter in wanted)
        if found:
            pending.append(record)
            n_rows += found
        if n_rows >= batch_size:
            yield _batch(pending, n_proteins, wanted, flank)
            pending, n_rows, n_proteins = [], 0, 0
    if n_rows or n_proteins:
        yield _batch(pending, n_proteins, wanted, flank)


def _batch(records: list[tuple[str, ...]], n_proteins: int, residues: list[str], flank: int) -> SiteRows:
    """One unscored block of ``records`` (each with at least one candidate), ``n_proteins`` read in all."""
    width = 2 * flank + 1
    if not records:
        return SiteRows.unscored([], np.zeros(0, np.int32), np.zeros(0, np.int64), np.zeros((0, width), np.int8),
                                 n_proteins=n_proteins, code=np.zeros(0, np.int8), starts=np.zeros(0, np.int64),
                                 descriptions=[])
    ids = [record[0] for record in records]
    sequences = [record[1] for record in records]
    # each protein padded with `flank` X on both sides (windows.padded's rule), concatenated
    text = PAD * flank + (PAD * (2 * flank)).join(sequences) + PAD * flank
    lengths = np.fromiter(map(len, sequences), dtype=np.int64, count=len(sequences))
    ends = np.cumsum(lengths + 2 * flank)  # where each protein's padded stretch ends in the code array
    code = sequence_to_index_codes(np.frombuffer(text.encode("ascii"), dtype=np.uint8))
    if code.size and code.min() < 0:
        owner = int(np.searchsorted(ends, np.flatnonzero(code < 0)[0], side="right"))
        raise ValueError(f"sequence {ids[owner]!r} holds letters outside {ALPHABET!r}")
    first = ends - lengths - flank  # each protein's residue 1
    centres = candidate_positions(text, "".join(residues))  # padding X is never a candidate
    protein_index = (np.searchsorted(first, centres, side="right") - 1).astype(np.int32)
    positions = centres - first[protein_index] + 1
    starts = centres - flank
    windows = code[starts[:, None] + np.arange(width)]
    descriptions = [record[2] if len(record) > 2 else "" for record in records]
    return SiteRows.unscored(ids, protein_index, positions, windows, n_proteins=n_proteins, code=code, starts=starts,
                             descriptions=descriptions)


__all__ = ["DEFAULT_BATCH_SIZE", "raw_batches"]
