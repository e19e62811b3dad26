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

from phosnet.encoding import ALPHABET, sequence_to_index
from phosnet.io.rows import COLUMNS as ROW_COLUMNS
from phosnet.io.rows import SiteRows
from phosnet.windows import candidate_positions, padded

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_BATCH_SIZE = 16384
"""Windows per batch (the unit of reading, prediction and writing)."""

COLUMNS = list(ROW_COLUMNS)
"""Columns of the scan's output, in order."""


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
        """The batch as a tidy :class:`pandas.DataFrame` with :data:`COLUMNS`."""
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

    ``records`` are ``(protein_id, sequence)`` pairs or ``(protein_id, sequence, description)`` triples.
    """
    width = 2 * flank + 1
    ids: list[str] = []
    descriptions: list[str] = []
    counts: list[int] = []
    centres: list[np.ndarray] = []
    codes: list[np.ndarray] = []
    offsets: list[int] = []
    n_rows = n_proteins = offset = 0

    def flush() -> RawBatch:
        if not ids:
            return RawBatch([], np.zeros(0, np.int32), np.zeros(0, np.int64), np.zeros((0, width), np.int8),
                            n_proteins, np.zeros(0, np.int8), np.zeros(0, np.int64), [])
        code = np.concatenate(codes)
        starts = np.concatenate([c + o for c, o in zip(centres, offsets, strict=True)])
        positions = np.concatenate(centres) + 1
        windows = code[starts[:, None] + np.arange(width)]
        return RawBatch(ids, np.repeat(np.arange(len(ids), dtype=np.int32), counts), positions, windows,
                        n_proteins, code, starts, descriptions)

    for record in records:
        protein_id, sequence = record[0], record[1]
        found = candidate_positions(sequence, residues)
        n_proteins += 1
        if len(found):
            ids.append(protein_id)
            descriptions.append(record[2] if len(record) > 2 else "")
            counts.append(len(found))
            centres.append(found.astype(np.int64))
            offsets.append(offset)
            codes.append(padded(sequence_to_index(sequence), flank))
            offset += len(sequence) + 2 * flank
            n_rows += len(found)
        if n_rows >= batch_size:
            yield flush()
            ids, descriptions, counts, centres, codes, offsets = [], [], [], [], [], []
            n_rows = n_proteins = offset = 0
    if n_rows or n_proteins:
        yield flush()


__all__ = ["COLUMNS", "DEFAULT_BATCH_SIZE", "RawBatch", "SiteBatch", "raw_batches"]
