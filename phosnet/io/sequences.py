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
_SEQUENCE_RE = re.compile(r"^[A-Za-z]+\*?$")


Record = tuple[str, str, str]
"""``(protein_id, sequence, description)``."""


def _normalized(protein_id: str, sequence: str, source: str, description: str = "") -> Record:
    try:
        seq = normalize_sequence(str(sequence).replace("\n", "").replace("\r", "").replace(" ", ""))
    except ValueError as exc:
        raise InputError(f"{source}: record {protein_id}: {exc}") from None
    if not seq:
        raise InputError(f"{source}: record {protein_id}: no residues")
    return str(protein_id), seq, str(description or "")


def _from_fasta(source: Any) -> Iterator[Record]:
    return ((p.protein_id, p.sequence, p.description) for p in read_fasta(source))


def _is_file(text: str) -> bool:
    try:
        return Path(text).exists()
    except (OSError, ValueError):  # e.g. a long sequence is a name too long for the file system
        return False


def iter_sequences(sequences: Sequences) -> Iterator[tuple[str, str]]:
    """Normalize the accepted input forms to ``(protein_id, sequence)`` pairs, lazily.

    Accepted: a FASTA path (plain or ``.gz``) or ``"-"`` (stdin); FASTA text (starting with ``>``); one
    sequence string (id ``"sequence"``); a ``{id: sequence}`` mapping; Biopython ``SeqRecord`` objects (or an
    iterable of them); :class:`~phosnet.io.fasta.Protein` records; ``(id, sequence)`` pairs.
    """
    return ((protein_id, sequence) for protein_id, sequence, _ in iter_records(sequences))


def iter_records(sequences: Sequences) -> Iterator[Record]:
    """:func:`iter_sequences` with each protein's description: ``(protein_id, sequence, description)``.

    Also accepts ``(id, sequence, description)`` triples (what :func:`checked_fasta_inputs` yields).
    """
    if isinstance(sequences, os.PathLike):
        yield from _from_fasta(sequences)
        return
    if isinstance(sequences, str):
        text = sequences.strip()
        if text.startswith(">"):
            yield from _from_fasta(io.StringIO(text + "\n"))
        elif sequences != "-" and _SEQUENCE_RE.match(text) and not _is_file(sequences):
            yield _normalized("sequence", text, "<string>")
        else:
            yield from _from_fasta(sequences)
        return
    if isinstance(sequences, Mapping):
        for protein_id, seq in sequences.items():
            yield _normalized(protein_id, seq, "<mapping>")
        return
    if hasattr(sequences, "seq") and hasattr(sequences, "id"):  # one SeqRecord
        yield _normalized(sequences.id, str(sequences.seq), "<SeqRecord>", getattr(sequences, "description", ""))
        return
    if hasattr(sequences, "read"):  # an open handle
        yield from _from_fasta(sequences)
        return
    if not isinstance(sequences, Iterable):
        raise TypeError(f"cannot read sequences from a {type(sequences).__name__}")
    for number, item in enumerate(sequences, start=1):
        if hasattr(item, "seq") and hasattr(item, "id"):
            yield _normalized(item.id, str(item.seq), "<SeqRecord>", getattr(item, "description", ""))
        elif hasattr(item, "protein_id") and hasattr(item, "sequence"):
            yield _normalized(item.protein_id, item.sequence, "<proteins>", getattr(item, "description", ""))
        elif isinstance(item, tuple) and len(item) in (2, 3):
            yield _normalized(item[0], item[1], "<pairs>", item[2] if len(item) == 3 else "")
        elif isinstance(item, str):
            yield _normalized(f"sequence{number}", item, "<strings>")
        else:
            raise TypeError(f"cannot read a sequence from a {type(item).__name__} (item {number})")


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
        streams = []
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
        self._records = ((p.protein_id, p.sequence, p.description) for p in itertools.chain.from_iterable(streams))

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
