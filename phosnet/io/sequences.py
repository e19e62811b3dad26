"""Input normalisation: every accepted form of "some proteins" as ``(protein_id, sequence)`` pairs.

Accepted by :func:`iter_sequences` (the Python API): a FASTA path (plain or ``.gz``) or ``"-"``, FASTA text, one
sequence string, a ``{id: sequence}`` mapping, Biopython ``SeqRecord`` objects, :class:`~phosnet.io.fasta.Protein`
records or ``(id, sequence)`` pairs. :func:`checked_fasta_inputs` (the CLI) opens FASTA files and parses their
first record at once, so bad input is reported before any work.
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
from phosnet.io.fasta import read_fasta

Sequences = Any  # a path, '-', a {id: seq} mapping, SeqRecords, (id, seq) pairs, Protein records or one string
_SEQUENCE_RE = re.compile(r"^[A-Za-z]+\*?$")


def _normalized(protein_id: str, sequence: str, source: str) -> tuple[str, str]:
    try:
        seq = normalize_sequence(str(sequence).replace("\n", "").replace("\r", "").replace(" ", ""))
    except ValueError as exc:
        raise InputError(f"{source}: record {protein_id}: {exc}") from None
    if not seq:
        raise InputError(f"{source}: record {protein_id}: no residues")
    return str(protein_id), seq


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
    if isinstance(sequences, os.PathLike):
        yield from ((p.protein_id, p.sequence) for p in read_fasta(sequences))
        return
    if isinstance(sequences, str):
        text = sequences.strip()
        if text.startswith(">"):
            yield from ((p.protein_id, p.sequence) for p in read_fasta(io.StringIO(text + "\n")))
        elif sequences != "-" and _SEQUENCE_RE.match(text) and not _is_file(sequences):
            yield _normalized("sequence", text, "<string>")
        else:
            yield from ((p.protein_id, p.sequence) for p in read_fasta(sequences))
        return
    if isinstance(sequences, Mapping):
        for protein_id, seq in sequences.items():
            yield _normalized(protein_id, seq, "<mapping>")
        return
    if hasattr(sequences, "seq") and hasattr(sequences, "id"):  # one SeqRecord
        yield _normalized(sequences.id, str(sequences.seq), "<SeqRecord>")
        return
    if hasattr(sequences, "read"):  # an open handle
        yield from ((p.protein_id, p.sequence) for p in read_fasta(sequences))
        return
    if not isinstance(sequences, Iterable):
        raise TypeError(f"cannot read sequences from a {type(sequences).__name__}")
    for number, item in enumerate(sequences, start=1):
        if hasattr(item, "seq") and hasattr(item, "id"):
            yield _normalized(item.id, str(item.seq), "<SeqRecord>")
        elif hasattr(item, "protein_id") and hasattr(item, "sequence"):
            yield _normalized(item.protein_id, item.sequence, "<proteins>")
        elif isinstance(item, tuple) and len(item) == 2:
            yield _normalized(item[0], item[1], "<pairs>")
        elif isinstance(item, str):
            yield _normalized(f"sequence{number}", item, "<strings>")
        else:
            raise TypeError(f"cannot read a sequence from a {type(item).__name__} (item {number})")


def checked_fasta_inputs(inputs: Iterable[str | os.PathLike]) -> Iterator[tuple[str, str]]:
    """Open every FASTA input and parse its first record now (errors before any work); chain them lazily."""
    names = list(inputs)
    if sum(1 for i in names if str(i) == "-") > 1:
        raise InputError("standard input ('-') can be given only once")
    streams = []
    for name in names:
        records = read_fasta(name)
        first = next(records)  # read_fasta raises InputError for an empty or malformed file
        streams.append(itertools.chain([first], records))
    return ((p.protein_id, p.sequence) for p in itertools.chain.from_iterable(streams))


__all__ = ["Sequences", "checked_fasta_inputs", "iter_sequences"]
