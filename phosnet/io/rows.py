"""The site row, in one place: which columns a scan reports, in which order, and how each value is made.

Every writer (TSV, CSV and GFF3 in :mod:`phosnet.io.writers`) and the API's DataFrame (:mod:`phosnet.scan`)
take their rows from a :class:`SiteRows` block, so a column is defined once:

========== =====================================================================================
protein_id the FASTA header's first word, unchanged
accession  UniProt accession from an ``sp|ACC|NAME`` / ``tr|ACC|NAME`` id, or the id when it is an accession;
           empty otherwise (:func:`phosnet.io.uniprot.parse_header`, the one header parser)
gene       gene name from ``GN=GENE`` in the header's description; empty otherwise
position   1-based position of the residue
residue    the candidate residue (centre of the window)
window     the residues around it (``X`` = padding past a protein end)
score      the model's float32 score, written with 9 significant digits in positional form (never an
           exponent): every float32 reads back exactly, so sorting a written file (numerically, also with
           ``sort -n``) gives the model's order, with ties only where the floats tie
percentile rank of the score against the model's reference background (every S/T of a reference
           proteome, 100 = highest); empty when the model has no background table
precision  calibrated precision (0-1): the out-of-fold share of known sites among the S/T of known substrate
           proteins scored at or above this percentile (:mod:`phosnet.precision`); empty when the model
           carries no precision table
precision_low, precision_high
           its 95% cluster-bootstrap interval
predicted  ``true``/``false``: whether the site is called under the scan's rule
model      the model's name
========== =====================================================================================

Scores are formatted by a vectorised equivalent of ``numpy.format_float_positional(score, precision=9,
unique=False, fractional=False, trim="-")`` (:func:`score_slots`), tested to be byte-identical to it, because a
proteome has over a million rows and formatting them one by one is slow.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from phosnet.encoding import ALPHABET
from phosnet.io.uniprot import parse_header
from phosnet.precision import PRECISION_DECIMALS

if TYPE_CHECKING:
    import pandas as pd

SITE_COLUMNS = (
    "protein_id", "accession", "gene", "position", "residue", "window", "score", "percentile", "precision",
    "precision_low", "precision_high", "predicted", "model",
)
"""Columns of a site table, in order."""

SCORE_DIGITS = 9
"""Significant digits written for scores: enough for every float32 to read back exactly."""

PERCENTILE_DECIMALS = 2
"""Decimals written for percentiles (0.00-100.00)."""

PRECISION_COLUMNS = ("precision", "precision_low", "precision_high")
"""The calibrated precision and its interval, in the order of :attr:`SiteRows.precisions`' columns."""

# ----------------------------------------------------------------------------------------------------------
# Scores: 9 significant digits, positional, vectorised
# ----------------------------------------------------------------------------------------------------------
def _packed_digits(width: int, dtype: type, drop_trailing_zeros: bool = False) -> np.ndarray:
    """ASCII digits of 0 .. 10**width - 1 (zero-padded), packed into one ``dtype`` integer each.

    With ``drop_trailing_zeros`` the trailing zero digits are NUL bytes instead (all of them for 0).
    """
    size = np.dtype(dtype).itemsize
    numbers = np.arange(10**width, dtype=np.int64)
    table = np.zeros((10**width, size), dtype=np.uint8)
    for k in range(width):
        table[:, k] = 48 + numbers // 10 ** (width - 1 - k) % 10
    if drop_trailing_zeros:
        trailing = np.ones(10**width, dtype=bool)
        for k in range(width - 1, -1, -1):
            trailing &= table[:, k] == 48
            table[trailing, k] = 0
    return table.view(dtype).ravel()


_DIGITS_4 = _packed_digits(4, np.uint32)
_DIGITS_4_SHORT = _packed_digits(4, np.uint32, drop_trailing_zeros=True)
_DIGITS_5_SHORT = _packed_digits(5, np.uint64, drop_trailing_zeros=True)
_POW10 = np.array([float(10**k) for k in range(0, 120)])  # exact to the last bit (Python rounds ints correctly)


def _positional(value: float) -> str:
    """One score as positional text with :data:`SCORE_DIGITS` significant digits (the slow path for odd values)."""
    if not np.isfinite(value):
        return str(value)
    return np.format_float_positional(value, precision=SCORE_DIGITS, unique=False, fractional=False, trim="-")


def score_slots(scores: np.ndarray) -> np.ndarray:
    """Scores as positional text with 9 significant digits, in fixed ASCII slots, NUL bytes where a row has none.

    Dropping the NUL bytes of a row gives ``numpy.format_float_positional(score, precision=9, unique=False,
    fractional=False, trim="-")`` (tested byte for byte): the digits of ``"%.9g"``, so every float32 reads back
    exactly, but never in exponent form (``0.0000441881384``, not ``4.41881384e-05``), so that ``sort -n``,
    ``awk`` and spreadsheets order the file as the model does. Scores from 1e-99 to below 1 (every sigmoid
    output but 0 and 1) are formatted with numpy table look-ups; anything else one by one. Columns: ``0``,
    ``.``, the leading zeros (as many as the batch's smallest score needs), 9 digits (trailing zeros dropped).
    """
    x = np.asarray(scores, dtype=np.float64).ravel()
    n = len(x)
    fast = (x >= 1e-99) & (x < 1.0)  # NaN compares false
    v = x[fast]
    exponent = np.floor(np.log10(v)).astype(np.int64)  # -99 .. -1
    mantissa = np.rint(v * _POW10[8 - exponent])
    for _ in range(2):  # log10 can be one off next to a power of ten
        wrong = np.flatnonzero((mantissa >= 1e9) | (mantissa < 1e8))
        if not len(wrong):
            break
        exponent[wrong] += np.where(mantissa[wrong] >= 1e9, 1, -1)
        mantissa[wrong] = np.rint(v[wrong] * _POW10[np.clip(8 - exponent[wrong], 0, 119)])
    odd = (exponent >= 0) | (mantissa >= 1e9) | (mantissa < 1e8)  # e.g. 0.9999999996 -> "1": the slow path
    if odd.any():
        fast[np.flatnonzero(fast)[odd]] = False
        v, exponent, mantissa = v[~odd], exponent[~odd], mantissa[~odd]
    slow = {int(i): _positional(float(x[i])).encode("ascii") for i in np.flatnonzero(~fast)}
    zeros = -exponent - 1  # leading zeros after the point
    most_zeros = int(zeros.max()) if len(zeros) else 0
    columns = max(2 + most_zeros + SCORE_DIGITS, max((len(w) for w in slow.values()), default=0))
    out = np.zeros((n, columns), dtype=np.uint8)
    k = len(v)
    m = mantissa.astype(np.int64)
    high = m // 100000  # first 4 digits
    low = m - high * 100000  # last 5
    head = np.where(low == 0, _DIGITS_4_SHORT[high], _DIGITS_4[high]).view(np.uint8).reshape(k, 4)
    text = np.zeros((k, 2 + most_zeros + SCORE_DIGITS), dtype=np.uint8)
    text[:, 0] = 48
    text[:, 1] = 46
    text[:, 2 : 2 + most_zeros] = np.where(np.arange(most_zeros) < zeros[:, None], 48, 0)
    text[:, 2 + most_zeros : 6 + most_zeros] = head
    text[:, 6 + most_zeros :] = _DIGITS_5_SHORT[low].view(np.uint8).reshape(k, 8)[:, :5]
    out[fast, : text.shape[1]] = text
    for i, word in slow.items():
        out[i, : len(word)] = np.frombuffer(word, np.uint8)
    return out


def compact_rows(slots: np.ndarray) -> list[str]:
    """Each row of a NUL-padded ASCII slot matrix as a string, NUL bytes dropped."""
    if not len(slots):
        return []
    if not slots.shape[1]:
        return [""] * len(slots)
    keep = slots != 0
    text = slots[keep].tobytes().decode("ascii")
    ends = np.cumsum(keep.sum(axis=1)).tolist()
    starts = [0, *ends[:-1]]
    return [text[a:b] for a, b in zip(starts, ends, strict=True)]


def format_scores(scores: np.ndarray) -> list[str]:
    """Scores as text, as written to every format (9 significant digits, positional: every float32 reads back
    exactly, and a numeric sort of the file gives the model's order).

    >>> format_scores(np.array([0.5, 0.912345671, 1.2345e-05, 0.0], dtype=np.float32))
    ['0.5', '0.912345648', '0.000012345', '0']
    """
    return compact_rows(score_slots(scores))


_FIXED_WORDS: dict[tuple[float, int], np.ndarray] = {}


def _fixed_slots(values: np.ndarray | None, n: int, top: float, decimals: int) -> np.ndarray:
    """Values in ``[0, top]`` with ``decimals`` decimals in ``(n, 8)`` NUL-padded ASCII slots, by one look-up in a
    table of every such word (made once per ``(top, decimals)``); all NUL (an empty field) for NaN or ``None``."""
    if values is None:
        return np.zeros((n, 8), dtype=np.uint8)
    scale = 10**decimals
    table = _FIXED_WORDS.get((top, decimals))
    if table is None:
        words = [f"{i / scale:.{decimals}f}".encode().ljust(8, b"\0") for i in range(round(top * scale) + 1)]
        table = _FIXED_WORDS[(top, decimals)] = np.frombuffer(b"".join(words) + b"\0" * 8, dtype=np.uint64)
    x = np.asarray(values, dtype=np.float64)
    index = np.where(np.isfinite(x), np.rint(np.clip(x, 0.0, top) * scale), len(table) - 1).astype(np.int64)
    return table[index].view(np.uint8).reshape(len(x), 8)


def percentile_slots(percentiles: np.ndarray | None, n: int) -> np.ndarray:
    """Percentiles (0-100) with :data:`PERCENTILE_DECIMALS` decimals in ``(n, 8)`` NUL-padded ASCII slots;
    all NUL (an empty field) for NaN or when ``percentiles`` is ``None``."""
    return _fixed_slots(percentiles, n, 100.0, PERCENTILE_DECIMALS)


def precision_slots(precisions: np.ndarray | None, n: int) -> np.ndarray:
    """Precisions (0-1) with :data:`~phosnet.precision.PRECISION_DECIMALS` decimals in ``(n, 8)`` NUL-padded ASCII
    slots; all NUL (an empty field) for NaN or when ``precisions`` is ``None``."""
    return _fixed_slots(precisions, n, 1.0, PRECISION_DECIMALS)


def format_precisions(precisions: np.ndarray | None, n: int) -> list[str]:
    """Precisions as text (``0.412``); empty strings for NaN or when ``precisions`` is ``None``.

    >>> format_precisions(np.array([0.41234, 1.0, np.nan]), 3)
    ['0.412', '1.000', '']
    """
    return compact_rows(precision_slots(precisions, n))


def format_percentiles(percentiles: np.ndarray | None, n: int) -> list[str]:
    """Percentiles as text (``99.87``); empty strings for NaN or when ``percentiles`` is ``None``.

    >>> format_percentiles(np.array([99.8765, 0.0, np.nan]), 3)
    ['99.88', '0.00', '']
    """
    return compact_rows(percentile_slots(percentiles, n))


# ----------------------------------------------------------------------------------------------------------
# A block of rows
# ----------------------------------------------------------------------------------------------------------
@dataclass
class SiteRows:
    """A block of candidate sites as numpy columns: the one record type from the reader to every writer.

    The scan's reader makes blocks of whole proteins before scoring (:func:`phosnet.batches.raw_batches`:
    ``scores`` NaN, ``predicted`` false, ``model`` empty); :meth:`scored` fills in the scorer's columns; every
    writer and the API's DataFrame take their rows from it. ``protein_ids`` (and ``descriptions``, the FASTA
    header text) hold each protein once; ``protein_index`` points every row into them. ``windows`` holds
    ``(n, width)`` integer indices into ``alphabet``, centred on the residue. ``percentiles`` is ``None`` when
    the model has no background table; ``precisions`` (``(n, 3)``: :data:`PRECISION_COLUMNS`) is ``None`` when it
    has no precision table. ``n_proteins`` counts the proteins read for the block, also those
    without a candidate (default: ``len(protein_ids)``). ``code``/``starts``, when set, are the proteins' codes
    padded and concatenated and each window's start in them (window ``i`` is ``code[starts[i]:][:width]``),
    which lets an engine share convolutions between overlapping windows.
    """

    protein_ids: Sequence[str]
    protein_index: np.ndarray
    positions: np.ndarray
    windows: np.ndarray
    scores: np.ndarray
    predicted: np.ndarray
    model: str = ""
    percentiles: np.ndarray | None = None
    descriptions: Sequence[str] | None = None
    alphabet: str = ALPHABET
    n_proteins: int = -1
    code: np.ndarray | None = None
    starts: np.ndarray | None = None
    precisions: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.n_proteins < 0:
            self.n_proteins = len(self.protein_ids)

    @classmethod
    def unscored(
        cls, protein_ids: Sequence[str], protein_index: np.ndarray, positions: np.ndarray, windows: np.ndarray,
        **fields: Any,
    ) -> SiteRows:
        """A block before scoring: ``scores`` NaN (float32), ``predicted`` false."""
        n = len(positions)
        return cls(protein_ids, protein_index, positions, windows, np.full(n, np.nan, np.float32),
                   np.zeros(n, dtype=bool), **fields)

    def scored(
        self, scores: np.ndarray, predicted: np.ndarray, model: str, percentiles: np.ndarray | None = None,
        precisions: np.ndarray | None = None,
    ) -> SiteRows:
        """The same sites with the scorer's columns filled in (the padded codes dropped: only engines read them)."""
        return replace(self, scores=scores, predicted=predicted, model=model, percentiles=percentiles,
                       precisions=precisions, code=None, starts=None)

    def __len__(self) -> int:
        return len(self.positions)

    @property
    def width(self) -> int:
        """Window width (0 for an empty block)."""
        return self.windows.shape[1] if self.windows.ndim == 2 else 0

    def protein_fields(self) -> tuple[list[str], list[str]]:
        """``(accessions, genes)``, one per protein (see :func:`phosnet.io.uniprot.parse_header`)."""
        descriptions = self.descriptions if self.descriptions is not None else [""] * len(self.protein_ids)
        headers = [parse_header(i, d) for i, d in zip(self.protein_ids, descriptions, strict=True)]
        return [h.accession for h in headers], [h.gene for h in headers]

    def window_letters(self) -> np.ndarray:
        """Windows as ``(n, width)`` ASCII codes."""
        table = np.frombuffer(self.alphabet.encode("ascii"), dtype=np.uint8)
        return table[np.asarray(self.windows, dtype=np.intp)] if len(self) else np.zeros((0, self.width), np.uint8)

    def window_strings(self) -> np.ndarray:
        """Windows as a ``U<width>`` array."""
        width = self.width
        if not len(self) or not width:
            return np.array([""] * len(self), dtype=f"U{max(width, 1)}")
        return np.ascontiguousarray(self.window_letters()).view(f"S{width}").ravel().astype(f"U{width}")

    def residue_strings(self) -> np.ndarray:
        """Centre residues as a ``U1`` array."""
        if not len(self) or not self.width:
            return np.array([""] * len(self), dtype="U1")
        return np.ascontiguousarray(self.window_letters()[:, self.width // 2]).view("S1").astype("U1")

    def per_row(self, values: Sequence[str]) -> np.ndarray:
        """A per-protein column spread to one value per row."""
        return np.asarray(list(values), dtype=object)[np.asarray(self.protein_index, dtype=np.intp)] if len(self) \
            else np.array([], dtype=object)

    def select(self, mask: np.ndarray) -> SiteRows:
        """The rows where ``mask`` is true (the proteins and ``n_proteins`` unchanged; no padded codes)."""
        return replace(
            self, protein_index=self.protein_index[mask], positions=self.positions[mask], windows=self.windows[mask],
            scores=self.scores[mask], predicted=self.predicted[mask],
            percentiles=None if self.percentiles is None else self.percentiles[mask],
            precisions=None if self.precisions is None else self.precisions[mask], code=None, starts=None,
        )

    def frame(self) -> pd.DataFrame:
        """The block as a tidy :class:`pandas.DataFrame` with :data:`SITE_COLUMNS` (score as float64, percentile NaN
        when there is no background table, precisions NaN without a precision table)."""
        import pandas as pd

        accessions, genes = self.protein_fields()
        n = len(self)
        precisions = np.full((n, 3), np.nan) if self.precisions is None else np.asarray(self.precisions, np.float64)
        return pd.DataFrame(
            {
                "protein_id": self.per_row(self.protein_ids),
                "accession": self.per_row(accessions),
                "gene": self.per_row(genes),
                "position": np.asarray(self.positions, dtype=np.int64),
                "residue": self.residue_strings().astype(object),
                "window": self.window_strings().astype(object),
                "score": np.asarray(self.scores, dtype=np.float64),
                "percentile": np.full(n, np.nan) if self.percentiles is None
                else np.asarray(self.percentiles, dtype=np.float64),
                **{name: precisions[:, k] for k, name in enumerate(PRECISION_COLUMNS)},
                "predicted": np.asarray(self.predicted, dtype=bool),
                "model": np.full(n, self.model, dtype=object),
            },
            columns=list(SITE_COLUMNS),
        )


EMPTY_DTYPES = {
    "protein_id": object, "accession": object, "gene": object, "position": np.int64, "residue": object,
    "window": object, "score": np.float64, "percentile": np.float64, "precision": np.float64,
    "precision_low": np.float64, "precision_high": np.float64, "predicted": bool, "model": object,
}
"""dtypes of the API's DataFrame (for an empty result)."""


def empty_frame() -> pd.DataFrame:
    """A DataFrame with :data:`SITE_COLUMNS` and no rows."""
    import pandas as pd

    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in EMPTY_DTYPES.items()}, columns=list(SITE_COLUMNS))


__all__ = [
    "PRECISION_COLUMNS", "SCORE_DIGITS", "SITE_COLUMNS", "SiteRows", "empty_frame", "format_percentiles",
    "format_precisions", "format_scores", "precision_slots", "score_slots",
]
