"""Streaming writers for site tables: TSV, CSV and GFF3, written batch by batch, header once.

Rows come from :class:`phosnet.io.rows.SiteRows`, the one place that defines the columns (``protein_id,
accession, gene, position, residue, window, score, percentile, precision, precision_low, precision_high,
predicted, model``) and their values; this
module only lays them out as text. No metadata in the header line. GFF3 rows use 1-based ``start = end =
position``, type ``phosphorylation_site`` (Sequence Ontology SO:0001811), source ``phosnet``, the score in
column 6 and the other columns as attributes. Written through :func:`phosnet.io.tables.open_table` (``kind="sites"``),
the one output layer: format from the suffix, atomic write, errors naming the output.

TSV and CSV rows are built as one byte buffer per block: every field is laid out in fixed-width columns of a
``(rows, width)`` byte matrix, NUL where a row's field is shorter, and the NUL bytes are dropped at once.

>>> import io, numpy as np
>>> out = io.StringIO()
>>> rows = SiteRows(["sp|P31749|AKT1_HUMAN"], np.array([0, 0]), np.array([2, 3]),
...                 np.array([[20, 10, 15], [10, 15, 16]]), np.array([0.91, 2e-5], dtype=np.float32),
...                 np.array([True, False]), "m", descriptions=["sp|P31749|AKT1_HUMAN RAC-alpha GN=AKT1"])
>>> SiteWriter(out, "csv").write(rows)
>>> print(out.getvalue(), end="")
protein_id,accession,gene,position,residue,window,score,percentile,precision,precision_low,precision_high,predicted,model
sp|P31749|AKT1_HUMAN,P31749,AKT1,2,M,XMS,0.910000026,,,,,true,m
sp|P31749|AKT1_HUMAN,P31749,AKT1,3,S,MST,0.0000199999995,,,,,false,m
"""

from __future__ import annotations

import re
from typing import IO

import numpy as np

from phosnet.io.rows import (
    PRECISION_COLUMNS,
    SITE_COLUMNS,
    SiteRows,
    format_percentiles,
    format_precisions,
    format_scores,
    percentile_slots,
    precision_slots,
    score_slots,
)

FORMATS = ("tsv", "csv", "gff3")
"""The layouts of a site table; which one a path gets is decided by :func:`phosnet.io.tables.table_format`."""

GFF3_TYPE = "phosphorylation_site"
"""GFF3 feature type: the Sequence Ontology term SO:0001811."""

_GFF_UNSAFE_SEQID = re.compile(r"[^a-zA-Z0-9.:^*$@!+_?\-|]")
_GFF_UNSAFE_ATTR = re.compile(r"[;=&,\t\n\r%]")


def _csv_field(text: str) -> str:
    if any(c in text for c in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _gff_escape(text: str, pattern: re.Pattern[str]) -> str:
    return pattern.sub(lambda m: f"%{ord(m.group()):02X}", text)


def _padded(words: list[str], sep: str) -> np.ndarray:
    """Words (each followed by ``sep``) as a NUL-padded ``(len(words), longest)`` byte matrix."""
    encoded = [(w + sep).encode("utf-8") for w in words]
    if any(b"\0" in b for b in encoded):
        raise ValueError("a protein id, gene or model name contains a NUL byte")
    longest = max((len(b) for b in encoded), default=0)
    return np.frombuffer(b"".join(b.ljust(longest, b"\0") for b in encoded), np.uint8).reshape(len(encoded), longest)


def _position_slots(positions: np.ndarray) -> np.ndarray:
    """Positive integers as right-aligned decimal digits, NUL-padded on the left."""
    positions = np.asarray(positions, dtype=np.int64)
    width = len(str(int(positions.max()))) if len(positions) else 1
    slots = np.empty((len(positions), width), dtype=np.uint8)
    for k in range(width):
        place = 10 ** (width - 1 - k)
        slots[:, k] = np.where(positions >= place, 48 + positions // place % 10, 0)
    return slots


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
        if fmt not in FORMATS:
            raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
        self.handle = handle
        self.fmt = fmt
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
            self.handle.write(sep.join(SITE_COLUMNS) + "\n")
        self._header_written = True

    def write(self, rows: SiteRows) -> None:
        """Append a block of rows."""
        self.write_header()
        if not len(rows):
            return
        if self.fmt == "gff3":
            self.handle.write("".join(self._gff3(rows)))
        else:
            self.handle.write(self._table_bytes(rows).decode("utf-8"))
        self.rows += len(rows)

    def _table_bytes(self, rows: SiteRows) -> bytes:
        """TSV/CSV text of ``rows`` as one byte buffer (fixed-width NUL-padded fields, then NULs dropped)."""
        sep = "\t" if self.fmt == "tsv" else ","
        field = _csv_field if self.fmt == "csv" else str
        n, width = len(rows), rows.width
        accessions, genes = rows.protein_fields()
        prefixes = _padded(
            [f"{field(i)}{sep}{a}{sep}{field(g)}" for i, a, g in zip(rows.protein_ids, accessions, genes, strict=True)],
            sep,
        )
        model = field(rows.model)
        tails = _padded([f"{word}{sep}{model}\n" for word in ("false", "true")], "")
        positions = _position_slots(rows.positions)
        letters = rows.window_letters()
        precisions = [precision_slots(None if rows.precisions is None else rows.precisions[:, k], n)
                      for k in range(len(PRECISION_COLUMNS))]
        parts = [
            prefixes[np.asarray(rows.protein_index, dtype=np.intp)], positions, None, score_slots(rows.scores), None,
            percentile_slots(rows.percentiles, n), None,
            *(piece for slots in precisions for piece in (slots, None)),
            tails[np.asarray(rows.predicted, dtype=np.intp)],
        ]
        sizes = [p.shape[1] if p is not None else 0 for p in parts]
        sizes[2] = 3 + width + 1  # sep residue sep window sep
        separators = range(4, len(parts) - 1, 2)  # after the score, the percentile and each precision column
        for k in separators:
            sizes[k] = 1
        matrix = np.empty((n, sum(sizes)), dtype=np.uint8)
        at = 0
        for part, size in zip(parts, sizes, strict=True):
            if part is not None:
                matrix[:, at : at + size] = part
            at += size
        at = sizes[0] + sizes[1]
        code = ord(sep)
        matrix[:, at] = code
        matrix[:, at + 1] = letters[:, width // 2] if width else 0
        matrix[:, at + 2] = code
        matrix[:, at + 3 : at + 3 + width] = letters
        matrix[:, at + 3 + width] = code
        for k in separators:
            matrix[:, sum(sizes[:k])] = code
        return matrix[matrix != 0].tobytes()

    @staticmethod
    def _gff3(rows: SiteRows) -> list[str]:
        accessions, genes = rows.protein_fields()
        seqids = [_gff_escape(i, _GFF_UNSAFE_SEQID) for i in rows.protein_ids]
        extras = [
            (f";accession={_gff_escape(a, _GFF_UNSAFE_ATTR)}" if a else "")
            + (f";gene={_gff_escape(g, _GFF_UNSAFE_ATTR)}" if g else "")
            for a, g in zip(accessions, genes, strict=True)
        ]
        model_attr = _gff_escape(rows.model, _GFF_UNSAFE_ATTR)
        scores = format_scores(rows.scores)
        percentiles = [f";percentile={p}" if p else "" for p in format_percentiles(rows.percentiles, len(rows))]
        if rows.precisions is not None:
            texts = [format_precisions(rows.precisions[:, k], len(rows)) for k in range(len(PRECISION_COLUMNS))]
            percentiles = [head + "".join(f";{name}={t[i]}" for name, t in zip(PRECISION_COLUMNS, texts, strict=True)
                                          if t[i])
                           for i, head in enumerate(percentiles)]
        called = np.where(np.asarray(rows.predicted, dtype=bool), "true", "false").tolist()
        return [
            f"{seqids[i]}\tphosnet\t{GFF3_TYPE}\t{p}\t{p}\t{s}\t.\t.\tName={r}{p}{extras[i]};residue={r};window={w}"
            f"{c};predicted={d};model={model_attr};Ontology_term=SO:0001811\n"
            for i, p, r, w, s, c, d in zip(
                np.asarray(rows.protein_index).tolist(), np.asarray(rows.positions).tolist(),
                rows.residue_strings().tolist(), rows.window_strings().tolist(), scores, percentiles, called,
                strict=True,
            )
        ]


__all__ = ["FORMATS", "GFF3_TYPE", "SITE_COLUMNS", "SiteRows", "SiteWriter", "format_scores"]
