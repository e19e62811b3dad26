"""FASTA reading on Biopython: plain, gzip (detected by content) or ``-`` for stdin, validated record by record.

Records are yielded one at a time, so a proteome never has to sit in memory. Every problem raises
:class:`phosnet.errors.InputError` with a one-line message naming the file and the record. Headers may hold
UTF-8 or Latin-1 text and the file may start with a byte-order mark; sequence lines must be ASCII letters (a
non-ASCII byte is reported with its record, line and column). bzip2, xz, zip, zstd and UTF-16 inputs are
recognised and named in the error.
"""

from __future__ import annotations

import gzip
import io
import os
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, NamedTuple

from Bio.SeqIO.FastaIO import SimpleFastaParser

from phosnet.encoding import normalize_sequence
from phosnet.errors import InputError, located
from phosnet.io.uniprot import parse_header

FastaSource = str | os.PathLike | IO


class Protein(NamedTuple):
    """One FASTA record: ``protein_id`` is the header's first word; ``accession`` the UniProt accession
    (:func:`phosnet.io.uniprot.parse_header`), else the ``protein_id`` unchanged (the key of ``read_proteins``)."""

    protein_id: str
    description: str
    sequence: str
    accession: str


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
    try:
        return open(path, "rb")  # noqa: SIM115 - closed by the caller
    except OSError as exc:
        raise InputError(located(path, f"cannot be read ({exc.strerror or exc})")) from None


_UNSUPPORTED_MAGIC = (
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"PK\x03\x04", "zip"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
    (b"7z\xbc\xaf\x27\x1c", "7-Zip"),
    (b"\x04\x22\x4d\x18", "lz4"),
)


def _open_binary(source: FastaSource, name: str) -> tuple[IO[bytes] | IO[str], list[IO]]:
    """Open ``source`` for reading, un-gzipping when it starts with the gzip magic; returns the handle and the
    handles to close when done (none for stdin and a caller's handle).

    An open text handle is returned as it is. Other compressions (bzip2, xz, zip, zstd, ...) and UTF-16 text
    are named in an :class:`~phosnet.errors.InputError`.
    """
    stdin = False
    if isinstance(source, str | os.PathLike) and os.fspath(source) != "-":
        raw: IO[bytes] = open_binary(source)
    elif isinstance(source, str | os.PathLike):
        if sys.stdin is None or getattr(sys.stdin, "buffer", None) is None:
            raise InputError(located(name, "standard input is closed; give a FASTA file or pipe one in"))
        raw = sys.stdin.buffer
        stdin = True
    elif isinstance(source, io.TextIOBase):
        return source, []
    else:
        raw = source  # a binary handle
    try:
        buffered: Any = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(raw)  # type: ignore[arg-type,type-var]
        magic = buffered.peek(8)[:8]
    except (OSError, ValueError) as exc:
        message = "standard input is closed" if stdin else f"cannot be read ({getattr(exc, 'strerror', None) or exc})"
        raise InputError(located(name, message)) from None
    for prefix, kind in _UNSUPPORTED_MAGIC:
        if magic.startswith(prefix):
            raise InputError(located(name, f"is {kind}-compressed; phosnet reads plain or gzip (.gz) FASTA: "
                                           f"decompress it first (or recompress with gzip)"))
    if magic[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise InputError(located(name, "is UTF-16 text; save it as ASCII or UTF-8"))
    stream: Any = gzip.GzipFile(fileobj=buffered) if magic[:2] == b"\x1f\x8b" else buffered
    if stdin or not isinstance(source, str | os.PathLike):
        return stream, [stream] if stream is not buffered else []
    return stream, [stream, buffered, raw]


def _decoded_lines(handle: IO[bytes], name: str) -> Iterator[str]:
    """Lines of a binary FASTA stream as text: headers may be UTF-8 (or, failing that, Latin-1) and may start
    with a byte-order mark; sequence lines must be ASCII, else an error names the record, line and column.

    Decoding is UTF-8 with ``surrogateescape`` in large blocks (fast); only a non-ASCII line is looked at again.
    """
    text = io.TextIOWrapper(handle, encoding="utf-8", errors="surrogateescape", newline=None)  # type: ignore[arg-type]
    record, header_line, number = 0, "", 0
    try:
        for number, line in enumerate(text, start=1):
            if line.isascii():  # the fast path: plain ASCII, as nearly every line is
                if "\x00" in line:
                    raise InputError(located(name, f"binary content (NUL byte) at line {number}: not a FASTA file"))
                if line.startswith(">"):
                    record, header_line = record + 1, line
                yield line
                continue
            if line.startswith(">"):  # a UTF-8 header, or failing that a Latin-1 one: every byte is a character
                raw = line.encode("utf-8", "surrogateescape")
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError:
                    line = raw.decode("latin-1")
                record, header_line = record + 1, line
                yield line
                continue
            if number == 1 and line.startswith("\ufeff"):  # a byte-order mark
                line = line[1:]
                if line.startswith(">") or line.isascii():
                    if line.startswith(">"):
                        record, header_line = 1, line
                    yield line
                    continue
            if "\x00" in line:
                raise InputError(located(name, f"binary content (NUL byte) at line {number}: not a FASTA file"))
            column = next(i for i, c in enumerate(line) if not c.isascii())
            before = len(line[:column].encode("utf-8", "surrogateescape"))
            byte = line[column].encode("utf-8", "surrogateescape")[0]
            problem = f"non-ASCII byte 0x{byte:02x} at line {number}, column {before + 1}"
            if record == 0:
                raise InputError(located(name, f"binary or {problem}: not a FASTA file"))
            header = header_line[1:].split(None, 1)[0] if header_line[1:].strip() else ""
            label = f"{record} ({header})" if header else str(record)
            raise InputError(located(name, f"{problem} of the sequence: not a residue letter", label))
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise InputError(located(name, f"corrupt or truncated gzip file ({exc})")) from None
    except OSError as exc:
        raise InputError(located(name, f"read error after line {number} ({exc.strerror or exc})")) from None
    finally:
        text.detach() if not text.closed else None


def _text_lines(handle: IO[str], name: str) -> Iterator[str]:
    """Lines of an already-open text handle (the caller chose its encoding)."""
    for line in handle:
        if "\x00" in line:
            raise InputError(located(name, "binary content (NUL byte): not a FASTA file"))
        yield line.lstrip("\ufeff") if line.startswith("\ufeff") else line


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
    handle, to_close = _open_binary(source, name)
    count = 0
    try:
        raw_lines = (_text_lines(handle, name) if isinstance(handle, io.TextIOBase)  # type: ignore[arg-type]
                     else _decoded_lines(handle, name))  # type: ignore[arg-type]
        lines = _checked_lines(raw_lines, name)  # type: ignore[arg-type]
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
            yield Protein(protein_id, title, sequence, parse_header(protein_id).accession or protein_id)
    finally:
        for opened in to_close:
            opened.close()
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
