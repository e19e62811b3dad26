"""Batches of candidate sites: proteins windowed into batches (:class:`RawBatch`), and scored (:class:`SiteBatch`).

A batch holds whole proteins and at least :data:`DEFAULT_BATCH_SIZE` windows (the unit of reading, prediction and
writing), as ``int8`` alphabet indices; the windows also exist as start offsets into one padded code array, so the
numpy engine can share convolutions between overlapping windows.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from phosnet.encoding import ALPHABET, PAD, sequence_to_index_codes
from phosnet.io.rows import SiteRows
from phosnet.windows import candidate_positions

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_BATCH_SIZE = 16384
"""Windows per batch (the unit of reading, prediction and writing)."""


@dataclass
class SiteBatch:
    """Scored candidate sites of a run of proteins, as numpy columns (one row per site).

    ``protein_index`` points into ``protein_ids`` (and ``descriptions``, the FASTA header text of each
    protein); ``windows`` holds ``int8`` alphabet indices; ``percentiles`` is ``None`` without a background.
    """

    protein_ids: list[str]
    protein_index: np.ndarray
    positions: np.ndarray
    windows: np.ndarray
    scores: np.ndarray
    predicted: np.ndarray
    n_proteins: int
    descriptions: list[str] | None = None
    percentiles: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.positions)

    def select(self, mask: np.ndarray) -> SiteBatch:
        """The rows where ``mask`` is true."""
        return SiteBatch(
            self.protein_ids, self.protein_index[mask], self.positions[mask], self.windows[mask],
            self.scores[mask], self.predicted[mask], self.n_proteins, self.descriptions,
            None if self.percentiles is None else self.percentiles[mask],
        )

    def rows(self, model_name: str) -> SiteRows:
        """The batch as output rows (:class:`phosnet.io.rows.SiteRows`, the one row formatter)."""
        return SiteRows(
            self.protein_ids, self.protein_index, self.positions, self.windows, self.scores, self.predicted,
            model_name, self.percentiles, self.descriptions, ALPHABET,
        )

    def to_frame(self, model_name: str) -> pd.DataFrame:
        """The batch as a tidy :class:`pandas.DataFrame` with :data:`phosnet.io.rows.SITE_COLUMNS`."""
        return self.rows(model_name).frame()


@dataclass
class RawBatch:
    """Windows of a run of whole proteins, before scoring (what the reader thread hands on)."""

    protein_ids: list[str]
    protein_index: np.ndarray
    positions: np.ndarray
    windows: np.ndarray
    n_proteins: int
    code: np.ndarray | None = None  # the proteins' codes, each padded with `flank` X on both sides, concatenated
    starts: np.ndarray | None = None  # window i is code[starts[i] : starts[i] + width]
    descriptions: list[str] | None = None  # FASTA header text of each protein (for the UniProt columns)


def raw_batches(
    records: Iterator[tuple[str, ...]], residues: str, flank: int, batch_size: int
) -> Iterator[RawBatch]:
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


def _batch(records: list[tuple[str, ...]], n_proteins: int, residues: list[str], flank: int) -> RawBatch:
    """One :class:`RawBatch` of ``records`` (each with at least one candidate), ``n_proteins`` read in all."""
    width = 2 * flank + 1
    if not records:
        return RawBatch([], np.zeros(0, np.int32), np.zeros(0, np.int64), np.zeros((0, width), np.int8),
                        n_proteins, np.zeros(0, np.int8), np.zeros(0, np.int64), [])
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
    return RawBatch(ids, protein_index, positions, windows, n_proteins, code, starts, descriptions)


__all__ = ["DEFAULT_BATCH_SIZE", "RawBatch", "SiteBatch", "raw_batches"]
