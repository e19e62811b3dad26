"""Phosphopeptides as search engines write them, and where they sit in a proteome.

:func:`parse_peptide` reads the common spellings of a modified peptide into the bare sequence and the
0-based offsets of its phosphosites:

* a modification after its residue, in parentheses or brackets: ``AAGS(ph)PEK``, ``S(Phospho)``,
  ``S[Phospho]``, MaxQuant's ``_AAGS(Phospho (STY))PEK_``, mass shifts ``S[+80]``, ``S(+79.97)``, ProForma's
  ``S[UNIMOD:21]``;
* the residue prefixed by ``p``: ``AAGpSPEK``, ``AAG(pS)PEK``;
* the site in lower case: ``AAGsPEK`` (other lower-case letters are modified residues, not sites: ``m`` is an
  oxidised methionine);
* ``S*`` / ``S#`` after S, T or Y (SEQUEST, Kinase Library);
* several sites in one peptide (``AAGS(ph)PET(ph)K``: two sites).

Any other modification (``M(ox)``, ``M(Oxidation (M))``, ``C[+57.02]``, ``(ac)`` / ``_(Acetyl (Protein N-term))``
at the N-terminus, ``Q(gl)``, MaxQuant's localisation probabilities ``S(0.98)``) is stripped and is not a
site. Flanking residues (``K.AAGS(ph)PEK.L``), MaxQuant's underscores and ProForma's terminal ``-`` are
dropped. A phospho mark is the mass shift of HPO3 (79.97 Da, ``+80``) or a name starting with ``ph``.

:class:`PeptideIndex` finds every place a set of bare peptides occurs in a proteome without a scan per
peptide: each peptide's first ``k`` residues (``k <= 8``) become one integer, the proteome's ``k``-mers become
integers in a few numpy passes, the proteome positions whose ``k``-mer some peptide starts with are found at
once (``searchsorted``), and only those candidates are compared letter for letter.

>>> parse_peptide("_AAGS(Phospho (STY))PEK_")
Peptide(sequence='AAGSPEK', sites=(3,))
>>> parse_peptide("AAG(pS)PEM(ox)T(ph)K")
Peptide(sequence='AAGSPEMTK', sites=(3, 7))
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from phosnet.errors import InputError

MIN_PEPTIDE_RESIDUES = 6
"""Shortest peptide placed on a proteome: a shorter one occurs in too many proteins to say whose site it is
(a 1-residue ``t`` matches every T of the human proteome; search engines report peptides of 6-7 or more)."""

PHOSPHO_MASS = 79.96633
"""Monoisotopic mass of HPO3, the shift a phosphorylation adds (Da)."""

_MASS = re.compile(r"^[+]?(\d+(?:\.\d*)?)$")
_FLANKED = re.compile(r"^(?:[A-Za-z-]|\[[A-Za-z-]\])\.(.+)\.(?:[A-Za-z-]|\[[A-Za-z-]\])$")
_CLOSE = {"(": ")", "[": "]", "{": "}"}


@dataclass(frozen=True)
class Peptide:
    """A bare peptide (upper-case residues) and the 0-based offsets of its marked phosphosites."""

    sequence: str
    sites: tuple[int, ...]


def is_phospho(modification: str) -> bool:
    """Whether the text of one modification (what stands between its brackets) names a phosphorylation.

    >>> [is_phospho(m) for m in ("ph", "Phospho (STY)", "+79.97", "80", "UNIMOD:21", "ox", "+15.99", "0.98")]
    [True, True, True, True, True, False, False, False]
    """
    text = modification.strip().lower()
    if text.startswith(("ph", "hpo3", "po3")) or text in {"p", "unimod:21", "mod:00696"}:
        return True
    mass = _MASS.match(text)
    return mass is not None and abs(float(mass.group(1)) - PHOSPHO_MASS) < 0.5


def _bracketed(text: str, start: int) -> int:
    """Index just past the bracket group opening at ``text[start]`` (nested groups allowed)."""
    depth = 0
    for i in range(start, len(text)):
        if text[i] in _CLOSE:
            depth += 1
        elif text[i] in _CLOSE.values():
            depth -= 1
            if depth == 0:
                return i + 1
    raise ValueError(f"unclosed {text[start]!r}")


def parse_peptide(text: str) -> Peptide:
    """The bare sequence and phosphosite offsets of a modified peptide (spellings: see the module docstring).

    Raises ``ValueError`` (with the problem) for characters that are not residues or modifications.

    >>> parse_peptide("AAGsPEK"), parse_peptide("AAGpSPEK").sites, parse_peptide("K.AAGS[+80]PEK.L").sites
    (Peptide(sequence='AAGSPEK', sites=(3,)), (3,), (3,))
    """
    peptide = str(text).strip()
    flanked = _FLANKED.match(peptide)
    if flanked:
        peptide = flanked.group(1)
    peptide = peptide.strip("_")
    residues: list[str] = []
    sites: list[int] = []
    i = 0
    while i < len(peptide):
        char = peptide[i]
        if char in _CLOSE:  # a modification: of the residue before it, or of the N-terminus
            end = _bracketed(peptide, i)
            inner = peptide[i + 1 : end - 1]
            if inner[:1] == "p" and len(inner) == 2 and inner[1].isupper():  # (pS)
                sites.append(len(residues))
                residues.append(inner[1])
            elif residues and is_phospho(inner) and (not sites or sites[-1] != len(residues) - 1):
                sites.append(len(residues) - 1)
            i = end
        elif char == "p" and i + 1 < len(peptide) and peptide[i + 1] in "STY":  # pS
            sites.append(len(residues))
            residues.append(peptide[i + 1])
            i += 2
        elif char.isalpha() and char.isascii():
            if char.islower() and char in "sty":
                sites.append(len(residues))
            residues.append(char.upper())
            i += 1
        elif char in "*#" and residues and residues[-1] in "STY":  # S*, S#
            if not sites or sites[-1] != len(residues) - 1:
                sites.append(len(residues) - 1)
            i += 1
        elif char in "*#@^~" and residues:  # a mark on another residue (M*: oxidation)
            i += 1
        elif char in "-_." and (i == 0 or i == len(peptide) - 1 or peptide[i - 1] in "])}" or
                                peptide[i + 1] in "[({"):  # ProForma's N-/C-terminal modification dash
            i += 1
        else:
            raise ValueError(f"{char!r} is neither a residue nor a modification")
    if not residues:
        raise ValueError("no residues")
    return Peptide("".join(residues), tuple(sites))


_K_MAX = 8
"""Residues of the integer prefix of each peptide (5 bits a residue: 8 fit easily in 64 bits)."""


def _letter_codes(text: bytes) -> np.ndarray:
    """Upper-case ASCII letters as 1..26 (anything else 0), ``uint64``."""
    raw = np.frombuffer(text, dtype=np.uint8).astype(np.int64) - 64
    return np.where((raw >= 1) & (raw <= 26), raw, 0).astype(np.uint64)


def _kmer_codes(codes: np.ndarray, k: int) -> np.ndarray:
    """The integer of every ``k``-mer of ``codes`` (5 bits a residue, first residue highest)."""
    n = len(codes) - k + 1
    if n <= 0:
        return np.zeros(0, dtype=np.uint64)
    out = np.zeros(n, dtype=np.uint64)
    for j in range(k):
        out <<= np.uint64(5)
        out |= codes[j : j + n]
    return out


class PeptideIndex:
    """Where peptides occur in one text holding a proteome (proteins separated by non-residue padding).

    ``text`` is the proteome as one ASCII string; ``first`` the offset of each protein's residue 1 in it and
    ``lengths`` their lengths, so a hit is turned into ``(protein number, 0-based start)``.
    """

    def __init__(self, text: str, first: np.ndarray, lengths: np.ndarray) -> None:
        self.text = text
        self.first = np.asarray(first, dtype=np.int64)
        self.lengths = np.asarray(lengths, dtype=np.int64)
        self._codes = _letter_codes(text.encode("ascii"))

    def find(self, peptides: Sequence[str]) -> list[list[tuple[int, int]]]:
        """For each bare peptide, every ``(protein number, 0-based start)`` it occurs at, in proteome order."""
        found: list[list[tuple[int, int]]] = [[] for _ in peptides]
        by_k: dict[int, list[int]] = {}
        for number, peptide in enumerate(peptides):
            if peptide:
                by_k.setdefault(min(len(peptide), _K_MAX), []).append(number)
        for k, numbers in by_k.items():
            prefixes = _kmer_codes(_letter_codes("".join(peptides[n][:k] for n in numbers).encode("ascii")), k)
            wanted = prefixes[::k]  # the k-mers that start at each peptide's first residue
            kmers = _kmer_codes(self._codes, k)
            unique = np.unique(wanted)
            slot = np.searchsorted(unique, kmers)
            hit = np.flatnonzero(unique[np.minimum(slot, len(unique) - 1)] == kmers)
            hit_codes = kmers[hit]
            order = np.argsort(hit_codes, kind="stable")
            hit, hit_codes = hit[order], hit_codes[order]
            lo = np.searchsorted(hit_codes, wanted, side="left")
            hi = np.searchsorted(hit_codes, wanted, side="right")
            for number, a, b in zip(numbers, lo.tolist(), hi.tolist(), strict=True):
                peptide = peptides[number]
                places = sorted(int(p) for p in hit[a:b] if self.text.startswith(peptide, int(p)))
                for place in places:
                    protein = int(np.searchsorted(self.first, place, side="right")) - 1
                    start = place - int(self.first[protein])
                    if protein >= 0 and start + len(peptide) <= int(self.lengths[protein]):
                        found[number].append((protein, start))
        return found


def checked_peptide(text: str, where: str) -> Peptide:
    """:func:`parse_peptide`, its ``ValueError`` as an :class:`InputError` naming ``where``."""
    try:
        return parse_peptide(text)
    except ValueError as exc:
        raise InputError(f"{where}: peptide {text!r}: {exc}") from None


__all__ = [
    "MIN_PEPTIDE_RESIDUES", "PHOSPHO_MASS", "Peptide", "PeptideIndex", "checked_peptide", "is_phospho", "parse_peptide",
]
