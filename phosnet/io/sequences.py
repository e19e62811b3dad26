"""Input normalisation: every accepted form of "some proteins" as ``(protein_id, sequence)`` pairs.

Accepted by :func:`iter_sequences` (the Python API): a FASTA path (plain or ``.gz``) or ``"-"``, FASTA text, one
sequence string, a ``{id: sequence}`` mapping, Biopython ``SeqRecord`` objects, :class:`~phosnet.io.fasta.Protein`
records or ``(id, sequence)`` pairs. :func:`iter_records` gives the same as ``(protein_id, sequence,
description)`` triples (the FASTA header or SeqRecord description, from which the output's UniProt columns come;
empty for the other forms). :func:`checked_fasta_inputs` (the CLI) opens FASTA files and parses their first record
at once, so bad input is reported before any work, and tracks the bytes read for a progress bar.
"""

from __future__ import annotations

import io
import itertools
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from phosnet.encoding import normalize_sequence
from phosnet.errors import InputError
from phosnet.io.fasta import open_binary, read_fasta

Sequences = Any  # a path, '-', a {id: seq} mapping, SeqRecords, (id, seq) pairs, Protein records or one string


Record = tuple[str, str, str]
"""``(protein_id, sequence, description)``."""


FASTA_SUFFIXES = (".fa", ".fasta", ".faa", ".fas", ".fna", ".ffn", ".mpfa", ".pep", ".aa", ".seq", ".txt", ".gz")
"""Names ending so (any case) are file paths, as is any string holding a path separator."""

INPUT_RULE = (
    "a str is FASTA text if it starts with '>', standard input if it is '-', a file path if it holds '/' or ends "
    "in a FASTA suffix (.fa, .fasta, .faa, .gz, ...), else one protein sequence in upper-case letters; "
    "pass a pathlib.Path to read a file of any name"
)
"""The one rule for telling a path from a sequence (:func:`iter_records`)."""

_UPPER_SEQUENCE = re.compile(r"^[A-Z]+\*?$")


def _sequence_text(value: Any, record: str, source: str) -> str:
    """A record's sequence as text: a str or a Biopython ``Seq``; anything else is a ``TypeError`` naming it."""
    if isinstance(value, str):
        return value
    if type(value).__name__ in {"Seq", "MutableSeq"}:  # Biopython, without importing it
        return str(value)
    raise TypeError(f"{source}: record {record!r}: the sequence must be a str (or Bio.Seq), "
                    f"not {type(value).__name__} ({value!r:.40})")


def _identifier(value: Any, source: str, number: int) -> str:
    if isinstance(value, str) and value.strip():
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise TypeError(f"{source}: record {number}: the identifier must be a non-empty str, not {value!r:.40}")


def _normalized(protein_id: Any, sequence: Any, source: str, description: str = "", number: int = 0) -> Record:
    protein_id = _identifier(protein_id, source, number)
    text = _sequence_text(sequence, protein_id, source)
    try:
        seq = normalize_sequence(text.replace("\n", "").replace("\r", "").replace(" ", ""))
    except ValueError as exc:
        raise InputError(f"{source}: record {protein_id}: {exc}") from None
    if not seq:
        raise InputError(f"{source}: record {protein_id}: no residues")
    return protein_id, seq, str(description or "")


def _unique(records: Iterator[Record], source: str) -> Iterator[Record]:
    """Pass records on; a repeated identifier (two rows with one key in the output) is an error naming both."""
    seen: dict[str, int] = {}
    for number, record in enumerate(records, start=1):
        first = seen.setdefault(record[0], number)
        if first != number:
            raise InputError(f"{source}: record {number} ({record[0]}): duplicate identifier {record[0]!r} "
                             f"(also record {first}); identifiers must be unique")
        yield record


def _from_fasta(source: Any) -> Iterator[Record]:
    from phosnet.io.fasta import source_name

    records = ((p.protein_id, p.sequence, p.description) for p in read_fasta(source))
    return _unique(records, source_name(source))


def looks_like_path(text: str) -> bool:
    """Whether a str names a file by the :data:`INPUT_RULE`: a path separator or a FASTA suffix."""
    return "/" in text or os.sep in text or text.lower().endswith(FASTA_SUFFIXES)


def _from_string(text: str) -> Iterator[Record]:
    stripped = text.strip()
    if not stripped:
        raise InputError(f"empty string: give a sequence, FASTA text or a path ({INPUT_RULE})")
    if stripped.startswith(">"):
        yield from _from_fasta(io.StringIO(stripped + "\n"))
    elif text == "-":
        yield from _from_fasta("-")
    elif looks_like_path(stripped) and "\n" not in stripped:
        if not Path(text).is_file() and not Path(stripped).is_file():
            raise InputError(f"{text}: no such file ({INPUT_RULE})")
        yield from _from_fasta(text if Path(text).is_file() else stripped)
    elif "\n" in stripped or "\r" in stripped:
        raise InputError(f"a multi-line string must be FASTA text starting with '>' ({INPUT_RULE})")
    elif _UPPER_SEQUENCE.match(stripped):
        yield _normalized("sequence", stripped, "<string>")
    else:
        shown = stripped if len(stripped) <= 40 else stripped[:37] + "..."
        raise InputError(f"{shown!r} is neither a file path nor a protein sequence ({INPUT_RULE})")


def iter_sequences(sequences: Sequences) -> Iterator[tuple[str, str]]:
    """Normalize the accepted input forms to ``(protein_id, sequence)`` pairs, lazily.

    The rule (:data:`INPUT_RULE`), one for every form:

    * ``os.PathLike`` (``pathlib.Path``): a FASTA file (plain or gzip), whatever its name;
    * ``str``: FASTA text if it starts with ``>``; standard input if it is ``"-"``; a file path if it holds a
      path separator or ends in a FASTA suffix (:data:`FASTA_SUFFIXES`; a missing file is an error naming it);
      otherwise one protein sequence, which must be upper-case letters (id ``"sequence"``). So
      ``"MKTSPSRS"`` is always a sequence (even if a file of that name exists) and ``"myproteins"`` is an
      error, not a protein; multi-line text must be FASTA, and ``""`` is an error;
    * a ``{id: sequence}`` mapping; Biopython ``SeqRecord`` objects (or an iterable of them);
      :class:`~phosnet.io.fasta.Protein` records; ``(id, sequence)`` pairs in a list; a list of sequence
      strings (ids ``sequence1``, ...), each following the ``str`` rule for sequences;
    * anything else (``None``, ``bytes``, numbers, a bare tuple, a sequence that is not a ``str``): ``TypeError``
      naming the record. Identifiers must be unique (FASTA, pairs): a repeat is an
      :class:`~phosnet.errors.InputError` naming both records.
    """
    return ((protein_id, sequence) for protein_id, sequence, _ in iter_records(sequences))


def iter_records(sequences: Sequences) -> Iterator[Record]:
    """:func:`iter_sequences` with each protein's description: ``(protein_id, sequence, description)``.

    Also accepts ``(id, sequence, description)`` triples (what :func:`checked_fasta_inputs` yields).
    """
    if sequences is None:
        raise TypeError(f"sequences is None: give a path, a sequence, a {{id: sequence}} mapping or records "
                        f"({INPUT_RULE})")
    if isinstance(sequences, (bytes, bytearray, memoryview)):
        raise TypeError("sequences is bytes: decode it to a str, or pass a pathlib.Path for a file")
    if isinstance(sequences, os.PathLike):
        yield from _from_fasta(sequences)
        return
    if isinstance(sequences, str):
        yield from _from_string(sequences)
        return
    if isinstance(sequences, Mapping):
        for number, (protein_id, seq) in enumerate(sequences.items(), start=1):
            yield _normalized(protein_id, seq, "<mapping>", number=number)
        return
    if hasattr(sequences, "seq") and hasattr(sequences, "id"):  # one SeqRecord
        yield _normalized(sequences.id, sequences.seq, "<SeqRecord>", getattr(sequences, "description", ""))
        return
    if hasattr(sequences, "read"):  # an open handle
        yield from _from_fasta(sequences)
        return
    if isinstance(sequences, tuple) and 2 <= len(sequences) <= 3 and all(isinstance(v, str) for v in sequences):
        raise TypeError("a bare tuple is ambiguous: for one (id, sequence) pair pass [(id, sequence)], for "
                        "several sequences pass a list")
    if not isinstance(sequences, Iterable) or isinstance(sequences, (int, float, bool)):
        raise TypeError(f"cannot read sequences from a {type(sequences).__name__} ({INPUT_RULE})")
    yield from _unique(_from_items(sequences), "<records>")


def _from_items(items: Iterable[Any]) -> Iterator[Record]:
    for number, item in enumerate(items, start=1):
        if hasattr(item, "seq") and hasattr(item, "id"):
            yield _normalized(item.id, item.seq, "<SeqRecord>", getattr(item, "description", ""), number)
        elif hasattr(item, "protein_id") and hasattr(item, "sequence"):
            yield _normalized(item.protein_id, item.sequence, "<proteins>", getattr(item, "description", ""),
                              number)
        elif isinstance(item, tuple) and len(item) in (2, 3):
            yield _normalized(item[0], item[1], "<pairs>", item[2] if len(item) == 3 else "", number)
        elif isinstance(item, str):
            text = item.strip()
            if not _UPPER_SEQUENCE.match(text):
                shown = text if len(text) <= 40 else text[:37] + "..."
                raise InputError(f"<strings>: item {number} ({shown!r}) is not a protein sequence in upper-case "
                                 "letters")
            yield _normalized(f"sequence{number}", text, "<strings>", number=number)
        else:
            raise TypeError(f"cannot read a sequence from a {type(item).__name__} (item {number}: {item!r:.40})")


class FastaInputs:
    """FASTA inputs opened and checked at once, read lazily as ``(protein_id, sequence, description)`` records.

    ``total_bytes`` is the inputs' size on disk (``None`` when one is standard input) and :meth:`bytes_read`
    how much of it the reader has consumed (compressed bytes for ``.gz``), for a progress bar with an ETA.
    """

    def __init__(self, inputs: Iterable[str | os.PathLike]) -> None:
        names = list(inputs)
        if sum(1 for i in names if str(i) == "-") > 1:
            raise InputError("standard input ('-') can be given only once")
        self._files: list[tuple[Any, int]] = []
        streams: list[Iterator[Any]] = []
        for name in names:
            if str(name) == "-":
                records = read_fasta(name)
            else:
                handle = open_binary(name)
                self._files.append((handle, os.fstat(handle.fileno()).st_size))
                records = read_fasta(handle)
            first = next(records)  # read_fasta raises InputError for an empty or malformed file
            streams.append(itertools.chain([first], records))
        self.total_bytes: int | None = None if len(self._files) < len(names) else sum(s for _, s in self._files)
        self._records = self._unique_across(names, streams)

    @staticmethod
    def _unique_across(names: list[Any], streams: list[Iterator[Any]]) -> Iterator[Record]:
        """The records of every input in turn; an identifier seen before (in this or an earlier input) is an
        error naming the file, the record number and where it was first seen, as ``phosnet train`` does."""
        seen: dict[str, tuple[int, int]] = {}
        for which, (name, stream) in enumerate(zip(names, streams, strict=True)):
            shown = "<stdin>" if str(name) == "-" else str(name)
            for number, protein in enumerate(stream, start=1):
                first = seen.setdefault(protein.protein_id, (which, number))
                if first != (which, number):
                    other = "<stdin>" if str(names[first[0]]) == "-" else str(names[first[0]])
                    where = f"record {first[1]}" + ("" if first[0] == which else f" of {other}")
                    raise InputError(f"{shown}: record {number} ({protein.protein_id}): duplicate identifier "
                                     f"{protein.protein_id!r} (also {where}); identifiers must be unique")
                yield protein.protein_id, protein.sequence, protein.description

    def __iter__(self) -> Iterator[Record]:
        return self._records

    def bytes_read(self) -> int:
        """Bytes of the input files read so far."""
        done = 0
        for handle, size in self._files:
            try:
                done += size if handle.closed else min(handle.tell(), size)
            except (OSError, ValueError):  # closed by the reader thread meanwhile
                done += size
        return done


def checked_fasta_inputs(inputs: Iterable[str | os.PathLike]) -> FastaInputs:
    """Open every FASTA input and parse its first record now (errors before any work); chain them lazily."""
    return FastaInputs(inputs)


__all__ = ["FastaInputs", "Record", "Sequences", "checked_fasta_inputs", "iter_records", "iter_sequences"]
