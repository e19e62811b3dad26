"""FASTA reading on Biopython: plain, gzip (detected by content) or ``-`` for stdin, validated record by record.

Records are yielded one at a time, so a proteome never has to sit in memory. Every problem raises
:class:`phosnet.errors.InputError` with a one-line message naming the file and the record.
"""

from __future__ import annotations

import gzip
import io
import os
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, NamedTuple

from Bio.SeqIO.FastaIO import SimpleFastaParser

from phosnet.encoding import normalize_sequence
from phosnet.errors import InputError, located

FastaSource = str | os.PathLike | IO


class Protein(NamedTuple):
    """One FASTA record: ``protein_id`` is the header's first word; ``accession`` the UniProt accession if any."""

    protein_id: str
    description: str
    sequence: str
    accession: str


def uniprot_accession(protein_id: str) -> str:
    """``sp|P31749|AKT1_HUMAN`` -> ``P31749``; any other identifier is returned unchanged.

    >>> uniprot_accession("sp|P31749|AKT1_HUMAN"), uniprot_accession("P31749")
    ('P31749', 'P31749')
    """
    parts = protein_id.split("|")
    if len(parts) >= 3 and parts[0] in {"sp", "tr"} and parts[1]:
        return parts[1]
    return protein_id


def source_name(source: FastaSource) -> str:
    """How a source is named in messages: its path, ``<stdin>`` for ``-``, or the handle's name."""
    if isinstance(source, str | os.PathLike):
        return "<stdin>" if str(source) == "-" else str(source)
    return str(getattr(source, "name", "<stream>"))


def open_binary(path: str | os.PathLike) -> IO[bytes]:
    """Open a FASTA file (plain or ``.gz``) for reading bytes; a clear error for a missing file or a directory.

    A caller that passes the handle to :func:`read_fasta` can follow the reading with ``handle.tell()`` (for a
    ``.gz`` file: compressed bytes read), e.g. for a progress bar.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(located(path, "no such file"))
    if path.is_dir():
        raise InputError(located(path, "is a directory, not a FASTA file"))
    return open(path, "rb")  # noqa: SIM115 - closed by the caller


def _open_text(source: FastaSource) -> tuple[IO[str], bool]:
    """Open ``source`` as text, un-gzipping when it starts with the gzip magic; returns (handle, owned)."""
    stdin = False
    if isinstance(source, str | os.PathLike) and str(source) != "-":
        raw: IO[bytes] = open_binary(source)
    elif isinstance(source, str | os.PathLike):
        raw = sys.stdin.buffer
        stdin = True
    elif isinstance(source, io.TextIOBase):
        return source, False
    else:
        raw = source  # a binary handle
    buffered = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(raw)  # type: ignore[arg-type]
    magic = buffered.peek(2)[:2]
    stream: IO[bytes] = gzip.GzipFile(fileobj=buffered) if magic == b"\x1f\x8b" else buffered
    text = io.TextIOWrapper(stream, encoding="ascii", errors="strict", newline=None)
    return text, not stdin


def _lines(handle: IO[str], name: str) -> Iterator[str]:
    """Lines of ``handle``, turning decoding failures into one-line input errors."""
    try:
        for line in handle:
            if "\x00" in line:
                raise InputError(located(name, "binary content (NUL byte): not a FASTA file"))
            yield line
    except UnicodeDecodeError as exc:
        raise InputError(located(name, f"binary or non-ASCII content at byte {exc.start}: not a FASTA file")) from None
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise InputError(located(name, f"corrupt or truncated gzip file ({exc})")) from None


def _checked_lines(lines: Iterator[str], name: str) -> Iterator[str]:
    """Pass lines on, checking that the first non-blank line is a ``>`` header."""
    for line in lines:
        if line.strip():
            if not line.startswith(">"):
                raise InputError(located(name, "does not start with a '>' header line: not a FASTA file"))
            yield line
            break
    yield from lines


def read_fasta(source: FastaSource) -> Iterator[Protein]:
    """Yield :class:`Protein` records from a FASTA file, a ``.gz`` file, ``-`` (stdin) or an open handle.

    Sequences are upper-cased and follow the rule of :mod:`phosnet.encoding` (U->C, O->K, B/Z/J->X, trailing
    ``*`` dropped). Raises :class:`~phosnet.errors.InputError` for a file that is not FASTA, a record without
    residues or with characters that are not residue letters, a truncated ``.gz``, or no records at all.
    """
    name = source_name(source)
    handle, owned = _open_text(source)
    count = 0
    try:
        lines = _checked_lines(_lines(handle, name), name)
        for number, (title, raw_sequence) in enumerate(SimpleFastaParser(lines), start=1):
            count = number
            protein_id = title.split(None, 1)[0] if title.strip() else ""
            label = f"{number} ({protein_id})" if protein_id else str(number)
            if not protein_id:
                raise InputError(located(name, "empty header (no identifier)", label))
            try:
                sequence = normalize_sequence(raw_sequence.replace(" ", "").replace("\t", ""))
            except ValueError as exc:
                raise InputError(located(name, str(exc), label)) from None
            if not sequence:
                raise InputError(located(name, "no residues", label))
            yield Protein(protein_id, title, sequence, uniprot_accession(protein_id))
    finally:
        if owned:
            handle.close()
    if count == 0:
        raise InputError(located(name, "no FASTA records"))


def read_proteins(source: FastaSource, *, key: str = "protein_id") -> dict[str, str]:
    """Read a whole FASTA file into ``{id: sequence}``, keyed by ``protein_id`` or ``accession``.

    Raises :class:`~phosnet.errors.InputError` on a duplicated identifier.
    """
    if key not in {"protein_id", "accession"}:
        raise ValueError("key must be 'protein_id' or 'accession'")
    proteins: dict[str, str] = {}
    for number, protein in enumerate(read_fasta(source), start=1):
        identifier = getattr(protein, key)
        if identifier in proteins:
            raise InputError(located(source_name(source), f"duplicate identifier {identifier!r}", str(number)))
        proteins[identifier] = protein.sequence
    return proteins
