"""Windows of residues centred on candidate sites (S/T, optionally Y); pure numpy.

Positions are 1-based, as biologists count. Past either end of the protein the window is padded with
``X``. The work is vectorised (one ``sliding_window_view`` per protein), so a whole proteome can be windowed
protein by protein as a stream.

>>> w = extract_windows("MSKT", flank=2)
>>> w.positions.tolist(), w.residues.tolist(), w.windows.tolist()
([2, 4], ['S', 'T'], ['XMSKT', 'SKTXX'])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from phosnet.encoding import PAD, PAD_INDEX, sequence_to_index

DEFAULT_FLANK = 15
"""Residues on each side of the centre: windows are ``2 * 15 + 1 = 31`` wide."""

DEFAULT_RESIDUES = "ST"
"""Candidate residues scanned by default (AKT phosphorylates serine and threonine)."""

VALID_RESIDUES = frozenset("STY")


@dataclass(frozen=True)
class Windows:
    """Candidate sites of one protein: 1-based positions, centre residues and windows (as strings)."""

    positions: np.ndarray
    residues: np.ndarray
    windows: np.ndarray

    def __len__(self) -> int:
        return len(self.positions)


def check_window_options(residues: str, flank: int) -> str:
    """Validate ``residues`` (a subset of ``STY``) and ``flank`` (>= 0); return residues upper-cased."""
    residues = residues.upper()
    if not residues or not set(residues) <= VALID_RESIDUES:
        raise ValueError(f"residues must be letters from 'STY', got {residues!r}")
    if int(flank) != flank or flank < 0:
        raise ValueError(f"flank must be a non-negative integer, got {flank!r}")
    return residues


def candidate_positions(sequence: str, residues: str = DEFAULT_RESIDUES) -> np.ndarray:
    """0-based indices of the residues of ``sequence`` that are in ``residues``."""
    codes = np.frombuffer(sequence.encode("ascii"), dtype=np.uint8)
    wanted = np.frombuffer(residues.encode("ascii"), dtype=np.uint8)
    return np.flatnonzero(np.isin(codes, wanted))


def padded(codes: np.ndarray, flank: int, pad_code: int = PAD_INDEX) -> np.ndarray:
    """``codes`` with ``flank`` copies of ``pad_code`` on each side: the one padding rule of every window.

    Window ``i`` (centred on 0-based position ``i``) is ``padded(codes, flank)[i : i + 2 * flank + 1]``.

    >>> padded(np.array([1, 2], np.int8), 2, 20).tolist()
    [20, 20, 1, 2, 20, 20]
    """
    out = np.full(codes.size + 2 * flank, pad_code, dtype=codes.dtype)
    out[flank : flank + codes.size] = codes
    return out


def all_windows(codes: np.ndarray, flank: int, pad_code: int = PAD_INDEX) -> np.ndarray:
    """A read-only view: row ``i`` is the ``2 * flank + 1`` window centred on 0-based position ``i``."""
    return np.lib.stride_tricks.sliding_window_view(padded(codes, flank, pad_code), 2 * flank + 1)


def _window_rows(codes: np.ndarray, centres: np.ndarray, flank: int, pad_code: int) -> np.ndarray:
    """Rows of ``codes`` padded by ``flank`` on each side, one ``2*flank+1`` row per centre."""
    return all_windows(codes, flank, pad_code)[centres]


def extract_windows(
    sequence: str, residues: str = DEFAULT_RESIDUES, flank: int = DEFAULT_FLANK, pad: str = PAD
) -> Windows:
    """Windows of width ``2 * flank + 1`` centred on every residue of ``sequence`` that is in ``residues``.

    ``sequence`` should already be normalized (upper case; see :func:`phosnet.encoding.normalize_sequence`).
    Returns 1-based positions, the centre residues and the windows, padded with ``pad`` past either end.
    """
    residues = check_window_options(residues, flank)
    if len(pad) != 1:
        raise ValueError(f"pad must be one character, got {pad!r}")
    centres = candidate_positions(sequence, residues)
    codes = np.frombuffer(sequence.encode("ascii"), dtype=np.uint8)
    width = 2 * flank + 1
    rows = np.ascontiguousarray(_window_rows(codes, centres, flank, ord(pad)))
    windows = rows.view(f"S{width}").ravel().astype(f"U{width}") if len(centres) else np.array([], f"U{width}")
    return Windows(
        positions=centres.astype(np.int64) + 1,
        residues=codes[centres].view("S1").astype("U1"),
        windows=windows,
    )


def window_indices(
    sequence: str, residues: str = DEFAULT_RESIDUES, flank: int = DEFAULT_FLANK
) -> tuple[np.ndarray, np.ndarray]:
    """The fast, encoded form of :func:`extract_windows`: 1-based positions and an ``(n, L)`` int8 index array.

    ``X`` padding is index 20, as in :func:`phosnet.encoding.to_index`.
    """
    residues = check_window_options(residues, flank)
    centres = candidate_positions(sequence, residues)
    index = sequence_to_index(sequence)
    rows = _window_rows(index, centres, flank, PAD_INDEX)
    return centres.astype(np.int64) + 1, np.ascontiguousarray(rows)
