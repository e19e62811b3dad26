"""UniProt FASTA headers, parsed in one place (``>sp|P31749|AKT1_HUMAN RAC-alpha ... OS=Homo sapiens GN=AKT1``).

Every reader of a header uses :func:`parse_header`: the scan's ``accession`` and ``gene`` columns
(:mod:`phosnet.io.rows`), :class:`phosnet.io.fasta.Protein`'s ``accession``, the protein aliases of ``explain``,
``variants`` and ``map`` (:class:`phosnet.mutations.ProteinIndex`) and the measured-site tables
(:mod:`phosnet.measured`). The rules:

* ``db|ACCESSION|ENTRY_NAME`` with ``db`` ``sp`` (Swiss-Prot) or ``tr`` (TrEMBL), lower case as UniProt writes
  it, and a non-empty accession: the accession (an isoform keeps its suffix, ``P31749-2``) and the entry name;
  any other ``a|b|c`` id (``gi|...``, ``ref|...``) is not a UniProt header;
* an id that is itself a UniProt accession (UniProt's accession pattern, optionally ``-N``) is its own
  accession, with no entry name;
* the gene is the first ``GN=`` word of the description (the header after ``>``), also in a non-UniProt
  header; none when the description has no ``GN=`` or is not given.
"""

from __future__ import annotations

import re
from typing import NamedTuple

ACCESSION = re.compile(r"^(?:[OPQ][0-9][A-Z0-9]{3}[0-9]|[A-NR-Z][0-9](?:[A-Z][A-Z0-9]{2}[0-9]){1,2})(?:-\d+)?$")
"""A UniProt accession (https://www.uniprot.org/help/accession_numbers), optionally with an isoform suffix."""

_GENE = re.compile(r"(?:^|\s)GN=(\S+)")


class UniProtHeader(NamedTuple):
    """What a FASTA header says in UniProt's terms; empty strings for what it does not say."""

    accession: str
    entry_name: str
    gene: str


def is_accession(text: str) -> bool:
    """Whether ``text`` is a UniProt accession.

    >>> is_accession("P31749"), is_accession("A0A024R161"), is_accession("P31749-2"), is_accession("AKT1")
    (True, True, True, False)
    """
    return bool(ACCESSION.match(text))


def parse_header(protein_id: str, description: str | None = None) -> UniProtHeader:
    """``(accession, entry_name, gene)`` of a FASTA record (``protein_id`` = the header's first word).

    >>> parse_header("sp|P31749|AKT1_HUMAN", "sp|P31749|AKT1_HUMAN RAC-alpha OS=Homo sapiens OX=9606 GN=AKT1 PE=1")
    UniProtHeader(accession='P31749', entry_name='AKT1_HUMAN', gene='AKT1')
    >>> parse_header("P49841", "P49841 GN=GSK3B")
    UniProtHeader(accession='P49841', entry_name='', gene='GSK3B')
    >>> parse_header("gi|12345|ref|NP_1|")
    UniProtHeader(accession='', entry_name='', gene='')
    """
    parts = protein_id.split("|")
    if len(parts) >= 3 and parts[0] in {"sp", "tr"} and parts[1]:
        accession, entry_name = parts[1], parts[2]
    else:
        accession, entry_name = (protein_id if is_accession(protein_id) else ""), ""
    found = _GENE.search(description) if description else None
    return UniProtHeader(accession, entry_name, found.group(1) if found else "")


__all__ = ["ACCESSION", "UniProtHeader", "is_accession", "parse_header"]
