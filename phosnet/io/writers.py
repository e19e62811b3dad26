"""Streaming writers for site tables: TSV, CSV and GFF3, written batch by batch, header once.

The table has one row per candidate residue: ``protein_id, position`` (1-based), ``residue, window, score,
predicted, model``; no metadata in the header line. GFF3 rows use 1-based ``start = end = position``, type
``phosphorylation_site`` (Sequence Ontology SO:0001811), source ``phosnet`` and the score in column 6.
Combine with :func:`phosnet.io.atomic.atomic_output` so that a file appears only when complete.

>>> import io, numpy as np
>>> out = io.StringIO()
>>> w = SiteWriter(out, "tsv")
>>> w.write(["P1", "P1"], np.array([2, 4]), ["S", "T"], ["XMSKT", "SKTXX"], np.array([0.91, 0.2]),
...         np.array([True, False]), "m")
>>> [line.split(chr(9)) for line in out.getvalue().splitlines()][1:]
[['P1', '2', 'S', 'XMSKT', '0.9100', 'true', 'm'], ['P1', '4', 'T', 'SKTXX', '0.2000', 'false', 'm']]
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import IO

import numpy as np

COLUMNS = ("protein_id", "position", "residue", "window", "score", "predicted", "model")
"""Columns of a site table, in order."""

FORMATS = ("tsv", "csv", "gff3")
"""Output formats; see :func:`format_for`."""

SUFFIXES = {".tsv": "tsv", ".txt": "tsv", ".tab": "tsv", ".csv": "csv", ".gff3": "gff3", ".gff": "gff3"}

GFF3_TYPE = "phosphorylation_site"
"""GFF3 feature type: the Sequence Ontology term SO:0001811."""

SCORE_DECIMALS = 4
"""Decimals written for scores."""

_SCORE_STRINGS = np.array([f"{i / 10**SCORE_DECIMALS:.{SCORE_DECIMALS}f}" for i in range(10**SCORE_DECIMALS + 1)])
_SCORE_BYTES = np.frombuffer("".join(_SCORE_STRINGS.tolist()).encode("ascii"), np.uint8).reshape(
    len(_SCORE_STRINGS), -1
)
_POWERS_OF_TEN = 10 ** np.arange(1, 19, dtype=np.int64)
_GFF_UNSAFE_SEQID = re.compile(r"[^a-zA-Z0-9.:^*$@!+_?\-|]")
_GFF_UNSAFE_ATTR = re.compile(r"[;=&,\t\n\r%]")


def format_for(path: str | os.PathLike | None, fmt: str | None = None) -> str:
    """The output format: ``fmt`` if given, else from the suffix of ``path`` (``.tsv``, ``.csv``, ``.gff3``).

    Standard output (``None`` or ``"-"``) and unknown suffixes give ``"tsv"``.

    >>> format_for("out.gff3"), format_for("-"), format_for("x.csv", "tsv")
    ('gff3', 'tsv', 'tsv')
    """
    if fmt is not None:
        fmt = fmt.lower()
        if fmt not in FORMATS:
            raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
        return fmt
    if path is None or str(path) == "-":
        return "tsv"
    return SUFFIXES.get(Path(path).suffix.lower(), "tsv")


def _score_index(scores: np.ndarray) -> np.ndarray:
    scaled = np.rint(np.clip(np.asarray(scores, dtype=np.float64), 0.0, 1.0) * 10**SCORE_DECIMALS)
    return scaled.astype(np.int64)


def format_scores(scores: np.ndarray) -> list[str]:
    """Scores in ``[0, 1]`` as fixed-point strings (vectorised lookup, much faster than ``%`` formatting)."""
    return _SCORE_STRINGS[_score_index(scores)].tolist()


def _csv_field(text: str) -> str:
    if any(c in text for c in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _gff_escape(text: str, pattern: re.Pattern[str]) -> str:
    return pattern.sub(lambda m: f"%{ord(m.group()):02X}", text)


class SiteWriter:
    """Write site rows to an open text handle in ``tsv``, ``csv`` or ``gff3``; the header goes out once.

    Parameters
    ----------
    handle
        An open text handle (e.g. from :func:`phosnet.io.atomic.atomic_output`).
    fmt
        ``"tsv"``, ``"csv"`` or ``"gff3"``.
    """

    def __init__(self, handle: IO[str], fmt: str = "tsv") -> None:
        self.handle = handle
        self.fmt = format_for(None, fmt)
        self.rows = 0
        self._header_written = False

    def write_header(self) -> None:
        """Write the header (done automatically before the first rows)."""
        if self._header_written:
            return
        if self.fmt == "gff3":
            self.handle.write("##gff-version 3\n")
        else:
            sep = "\t" if self.fmt == "tsv" else ","
            self.handle.write(sep.join(COLUMNS) + "\n")
        self._header_written = True

    def write(
        self,
        protein_ids: Sequence[str] | np.ndarray,
        positions: Sequence[int] | np.ndarray,
        residues: Sequence[str] | np.ndarray,
        windows: Sequence[str] | np.ndarray,
        scores: np.ndarray,
        predicted: np.ndarray,
        model: str,
    ) -> None:
        """Append rows (one per site); all columns have the same length, ``model`` is one name for all."""
        self.write_header()
        ids = list(protein_ids)
        if not ids:
            return
        pos = np.asarray(positions).tolist()
        res = list(np.asarray(residues).tolist())
        win = list(np.asarray(windows).tolist())
        score = format_scores(scores)
        pred = np.where(np.asarray(predicted, dtype=bool), "true", "false").tolist()
        if self.fmt == "gff3":
            lines = self._gff3(ids, pos, res, win, score, pred, model)
        else:
            sep = "\t" if self.fmt == "tsv" else ","
            if self.fmt == "csv":
                ids = [_csv_field(i) for i in ids]
                model = _csv_field(model)
            tail = f"{sep}{model}\n"
            lines = [
                f"{i}{sep}{p}{sep}{r}{sep}{w}{sep}{s}{sep}{d}{tail}"
                for i, p, r, w, s, d in zip(ids, pos, res, win, score, pred, strict=True)
            ]
        self.handle.write("".join(lines))
        self.rows += len(ids)

    def write_codes(
        self,
        protein_ids: Sequence[str],
        protein_index: np.ndarray,
        positions: np.ndarray,
        windows: np.ndarray,
        scores: np.ndarray,
        predicted: np.ndarray,
        model: str,
        alphabet: str,
    ) -> None:
        """:meth:`write` from numpy columns, the fast way: the same text, built as one byte buffer per call.

        ``protein_ids`` holds each protein once and ``protein_index`` points every row into it; ``windows``
        is ``(n, width)`` integer indices into ``alphabet``, centred on the residue. GFF3 goes through
        :meth:`write`.
        """
        positions = np.asarray(positions, dtype=np.int64)
        n = len(positions)
        width = windows.shape[1] if windows.ndim == 2 else 0
        letters = np.frombuffer(alphabet.encode("ascii"), dtype=np.uint8)[windows] if n else windows
        if self.fmt == "gff3" or not n or not width or (positions < 1).any():
            texts = np.ascontiguousarray(letters).view(f"S{max(width, 1)}").ravel().astype(str) if n else []
            self.write(
                np.asarray(protein_ids, dtype=object)[protein_index] if n else [], positions,
                [t[width // 2] for t in texts], texts, scores, predicted, model,
            )
            return
        self.write_header()
        sep = 9 if self.fmt == "tsv" else 44
        ids = [_csv_field(i) for i in protein_ids] if self.fmt == "csv" else list(protein_ids)
        if self.fmt == "csv":
            model = _csv_field(model)
        encoded = [i.encode("utf-8") for i in ids]
        id_len = np.array([len(b) for b in encoded], dtype=np.int64)
        longest = max(int(id_len.max()), 1)
        id_bytes = np.frombuffer(b"".join(b.ljust(longest, b"\0") for b in encoded), np.uint8).reshape(-1, longest)
        row_id_len = id_len[protein_index]
        digits = np.searchsorted(_POWERS_OF_TEN, positions, side="right") + 1
        middle = width + 4 + len(_SCORE_STRINGS[0])  # sep residue sep window sep score
        tails = [np.frombuffer(f"{chr(sep)}{word}{chr(sep)}{model}\n".encode(), np.uint8) for word in ("false", "true")]
        pred = np.asarray(predicted, dtype=bool)
        lengths = row_id_len + 1 + digits + middle + np.where(pred, len(tails[1]), len(tails[0]))
        offset = np.cumsum(lengths) - lengths
        buf = np.empty(int(lengths.sum()), dtype=np.uint8)
        cols = np.arange(longest)
        mask = cols < row_id_len[:, None]
        buf[(offset[:, None] + cols)[mask]] = id_bytes[protein_index][mask]
        at = offset + row_id_len
        buf[at] = sep
        at += 1
        for k in range(int(digits.max())):
            has = digits > k
            power = 10 ** np.maximum(digits - 1 - k, 0)
            buf[(at + k)[has]] = (48 + positions // power % 10)[has]
        at += digits
        block = np.empty((n, middle), dtype=np.uint8)
        block[:, 0] = sep
        block[:, 1] = letters[:, width // 2]
        block[:, 2] = sep
        block[:, 3 : 3 + width] = letters
        block[:, 3 + width] = sep
        block[:, 4 + width :] = _SCORE_BYTES[_score_index(scores)]
        buf[at[:, None] + np.arange(middle)] = block
        at += middle
        for value, tail in ((False, tails[0]), (True, tails[1])):
            rows = at[pred == value]
            if len(rows):
                buf[rows[:, None] + np.arange(len(tail))] = tail
        self.handle.write(buf.tobytes().decode("utf-8"))
        self.rows += n

    @staticmethod
    def _gff3(
        ids: list[str], pos: list[int], res: list[str], win: list[str], score: list[str], pred: list[str], model: str
    ) -> list[str]:
        escaped: dict[str, str] = {}
        model_attr = _gff_escape(model, _GFF_UNSAFE_ATTR)
        lines = []
        for i, p, r, w, s, d in zip(ids, pos, res, win, score, pred, strict=True):
            seqid = escaped.get(i)
            if seqid is None:
                seqid = escaped[i] = _gff_escape(i, _GFF_UNSAFE_SEQID)
            lines.append(
                f"{seqid}\tphosnet\t{GFF3_TYPE}\t{p}\t{p}\t{s}\t.\t.\t"
                f"Name={r}{p};residue={r};window={w};predicted={d};model={model_attr};Ontology_term=SO:0001811\n"
            )
        return lines


__all__ = ["COLUMNS", "FORMATS", "GFF3_TYPE", "SiteWriter", "format_for", "format_scores"]
