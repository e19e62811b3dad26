"""What does a missense variant do to AKT sites? Score every candidate site whose window holds the variant.

A variant is ``R23W`` or HGVS protein notation ``p.Arg23Trp`` (also ``p.(Arg23Trp)``, ``p.R23W``). For each
S/T within ``flank`` residues of it (the window of the reference or of the alternative sequence) the site is
scored with the reference and the alternative residue, and the effect is named:

``created`` / ``destroyed``
    the variant makes or removes the S/T itself (the other side has no site and no score);
``gain`` / ``loss``
    the site crosses the call threshold in use (not called -> called, or called -> not called);
``none``
    the call does not change (the scores may still move: see ``delta``).

The variant table is read in chunks and every chunk is checked, scored and yielded before the next is read, so
memory stays bounded whatever the number of variants. A reference residue that does not match the sequence,
a position off the protein, an unknown protein or a spelling that is not a missense substitution is an
:class:`~phosnet.errors.InputError` naming the file and line.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from phosnet.bundle import ModelSource
from phosnet.encoding import ALPHABET, AMINO_ACIDS
from phosnet.errors import InputError
from phosnet.mutations import ProteinIndex, SiteScorer, padded_code, site_scorer

VARIANT_COLUMNS = [
    "protein_id", "input_protein", "variant", "input", "hgvs", "site", "position", "offset",
    "ref_score", "alt_score", "delta", "ref_percentile", "alt_percentile", "delta_percentile",
    "ref_precision", "alt_precision",
    "ref_predicted", "alt_predicted", "effect", "model",
]
"""Columns of the variants table, in order."""

CHUNK_ROWS = 20_000
"""Variant rows read, checked and scored together."""

THREE_LETTER = {
    "Ala": "A", "Arg": "R", "Asn": "N", "Asp": "D", "Cys": "C", "Gln": "Q", "Glu": "E", "Gly": "G", "His": "H",
    "Ile": "I", "Leu": "L", "Lys": "K", "Met": "M", "Phe": "F", "Pro": "P", "Ser": "S", "Thr": "T", "Trp": "W",
    "Tyr": "Y", "Val": "V",
}
ONE_TO_THREE = {v: k for k, v in THREE_LETTER.items()}

_SHORT_RE = re.compile(r"^(?:p\.)?\(?([A-Z])(\d+)([A-Z])\)?$")
_HGVS_RE = re.compile(r"^p\.\(?([A-Z][a-z]{2})(\d+)([A-Z][a-z]{2})\)?$")


@dataclass(frozen=True)
class Variant:
    """A missense substitution: reference residue, 1-based position, alternative residue."""

    ref: str
    position: int
    alt: str

    @property
    def short(self) -> str:
        """``R23W``."""
        return f"{self.ref}{self.position}{self.alt}"

    @property
    def hgvs(self) -> str:
        """``p.Arg23Trp``."""
        return f"p.{ONE_TO_THREE[self.ref]}{self.position}{ONE_TO_THREE[self.alt]}"


def parse_variant(text: str) -> Variant:
    """``R23W``, ``p.R23W``, ``p.Arg23Trp`` or ``p.(Arg23Trp)`` -> :class:`Variant` (``ValueError`` otherwise).

    >>> parse_variant("p.Arg23Trp") == parse_variant("R23W")
    True
    >>> parse_variant("p.(Ser9Ala)").hgvs
    'p.Ser9Ala'
    """
    text = str(text).strip()
    match = _HGVS_RE.match(text)
    if match:
        ref, alt = THREE_LETTER.get(match[1]), THREE_LETTER.get(match[3])
        if ref is None or alt is None:
            unknown = match[1] if ref is None else match[3]
            raise ValueError(f"variant {text!r}: {unknown!r} is not one of the 20 amino acids")
        position = match[2]
    else:
        match = _SHORT_RE.match(text)
        if not match:
            raise ValueError(f"variant {text!r} is not a missense substitution (write R23W or p.Arg23Trp)")
        ref, position, alt = match[1], match[2], match[3]
        for letter in (ref, alt):
            if letter not in AMINO_ACIDS:
                raise ValueError(f"variant {text!r}: {letter!r} is not one of the 20 amino acids")
    if ref == alt:
        raise ValueError(f"variant {text!r} does not change the residue")
    if int(position) < 1:
        raise ValueError(f"variant {text!r}: positions start at 1")
    return Variant(ref, int(position), alt)


# ----------------------------------------------------------------------------------------------------------
# Reading the variant table in chunks
# ----------------------------------------------------------------------------------------------------------
VariantSource = Any  # a TSV/CSV path, a DataFrame, or (protein_id, variant) pairs (an iterator is read lazily)


def _chunks(variants: VariantSource, chunk_rows: int) -> Iterator[tuple[str, int, pd.DataFrame]]:
    """``(source name, line number of the chunk's first row, chunk)`` with columns ``protein_id, variant``."""
    if isinstance(variants, pd.DataFrame):
        frames: Iterable[pd.DataFrame] = (
            variants.iloc[i : i + chunk_rows] for i in range(0, len(variants), chunk_rows)
        )
        name = "<variants>"
    elif isinstance(variants, str | os.PathLike):
        path = Path(variants)
        name = str(path)
        if not path.is_file():
            raise InputError(f"{name}: no such file")
        suffixes = [s.lower() for s in path.suffixes if s.lower() != ".gz"]
        sep = "," if suffixes and suffixes[-1] == ".csv" else "\t"
        try:
            frames = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, chunksize=chunk_rows)
        except pd.errors.EmptyDataError:
            raise InputError(f"{name}: is empty") from None
        except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
            raise InputError(f"{name}: cannot be read as a table ({str(exc).splitlines()[0]})") from None
    else:  # (protein_id, variant) pairs, read lazily
        pairs = iter(variants)
        frames = (
            pd.DataFrame(chunk, columns=["protein_id", "variant"], dtype=str)
            for chunk in iter(lambda: list(itertools.islice(pairs, chunk_rows)), [])
        )
        name = "<variants>"
    line = 2
    iterator = iter(frames)
    while True:
        try:
            frame = next(iterator)
        except StopIteration:
            return
        except (UnicodeDecodeError, EOFError, OSError, pd.errors.ParserError) as exc:
            raise InputError(f"{name}: cannot be read as a table ({str(exc).splitlines()[0]})") from None
        frame.columns = [str(c).strip() for c in frame.columns]
        missing = [c for c in ("protein_id", "variant") if c not in frame.columns]
        if missing:
            raise InputError(f"{name}: missing column(s) {', '.join(missing)}; found {list(frame.columns)}")
        yield name, line, frame
        line += len(frame)


# ----------------------------------------------------------------------------------------------------------
# Scoring
# ----------------------------------------------------------------------------------------------------------
class _Proteins:
    """The proteins, their padded codes and candidate masks (made on first use)."""

    def __init__(self, index: ProteinIndex, scorer: SiteScorer) -> None:
        self.index = index
        self.flank = scorer.flank
        self.wanted = np.frombuffer(scorer.residues.encode("ascii"), dtype=np.uint8)
        self._codes: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def code(self, protein_id: str) -> tuple[np.ndarray, np.ndarray]:
        """``(padded int8 code, candidate mask of the unpadded sequence)``."""
        if protein_id not in self._codes:
            sequence = self.index.sequences[protein_id]
            raw = np.frombuffer(sequence.encode("ascii"), dtype=np.uint8)
            self._codes[protein_id] = (padded_code(sequence, self.flank), np.isin(raw, self.wanted))
        return self._codes[protein_id]


def _score_unique(scorer: SiteScorer, windows: np.ndarray) -> np.ndarray:
    """Scores of ``windows``, each distinct window scored once (reference windows repeat across variants)."""
    if not len(windows):
        return np.zeros(0)
    rows = np.ascontiguousarray(windows).view(np.dtype((np.void, windows.shape[1]))).ravel()
    unique, inverse = np.unique(rows, return_inverse=True)
    distinct = unique.view(np.int8).reshape(len(unique), windows.shape[1])
    return scorer.score(distinct)[inverse.ravel()]


def _score_chunk(
    name: str, first_line: int, frame: pd.DataFrame, proteins: _Proteins, scorer: SiteScorer
) -> pd.DataFrame:
    flank, width = scorer.flank, scorer.width
    residues = scorer.residues
    ids: list[str] = []
    given: list[tuple[Any, Any]] = []  # the protein and variant as the user wrote them (to join back on)
    variant_rows: list[Variant] = []
    site_variant: list[np.ndarray] = []
    site_positions: list[np.ndarray] = []
    for number, (given_id, text) in enumerate(zip(frame["protein_id"], frame["variant"], strict=True)):
        where = f"{name}: record line {first_line + number}"
        try:
            variant = parse_variant(text)
        except ValueError as exc:
            raise InputError(f"{where}: {exc}") from None
        protein_id = proteins.index.resolve(given_id)
        if protein_id is None:
            raise InputError(f"{where}: unknown protein {given_id!r}")
        sequence = proteins.index.sequences[protein_id]
        if variant.position > len(sequence):
            raise InputError(f"{where}: {variant.short}: position {variant.position} is off {protein_id} "
                             f"({len(sequence)} residues)")
        found = sequence[variant.position - 1]
        if found != variant.ref:
            raise InputError(f"{where}: {variant.short}: {protein_id} has {found} at {variant.position}, "
                             f"not {variant.ref}")
        _, candidate = proteins.code(protein_id)
        lo, hi = max(1, variant.position - flank), min(len(sequence), variant.position + flank)
        sites = np.flatnonzero(candidate[lo - 1 : hi]) + lo
        if variant.alt in residues and variant.ref not in residues:
            sites = np.sort(np.append(sites, variant.position))
        ids.append(protein_id)
        given.append((given_id, text))
        variant_rows.append(variant)
        site_variant.append(np.full(len(sites), len(variant_rows) - 1, dtype=np.int64))
        site_positions.append(sites.astype(np.int64))
    which = np.concatenate(site_variant) if site_variant else np.zeros(0, np.int64)
    positions = np.concatenate(site_positions) if site_positions else np.zeros(0, np.int64)

    # windows: the chunk's proteins' padded codes, concatenated; the reference window of site q of a protein
    # starts at base + q - 1; the alternative one differs at offset (variant - q)
    order = list(dict.fromkeys(ids))
    codes = [proteins.code(p)[0] for p in order]
    base_of = dict(zip(order, np.cumsum([0] + [len(c) for c in codes[:-1]]).tolist(), strict=True))
    code = np.concatenate(codes) if codes else np.zeros(0, np.int8)
    variant_base = np.array([base_of[p] for p in ids], dtype=np.int64)
    variant_pos = np.array([v.position for v in variant_rows], dtype=np.int64)
    variant_alt = np.array([ALPHABET.index(v.alt) for v in variant_rows], dtype=np.int8)
    starts = variant_base[which] + positions - 1
    ref_windows = code[starts[:, None] + np.arange(width)] if len(starts) else np.zeros((0, width), np.int8)
    alt_windows = ref_windows.copy()
    offsets = variant_pos[which] - positions
    alt_windows[np.arange(len(alt_windows)), flank + offsets] = variant_alt[which]
    scores = _score_unique(scorer, np.concatenate([ref_windows, alt_windows]))
    ref_score, alt_score = scores[: len(starts)], scores[len(starts) :]
    return _frame(ids, given, variant_rows, which, positions, offsets, ref_score, alt_score, ref_windows, scorer)


def _frame(
    ids: list[str], given: list[tuple[Any, Any]], variants: list[Variant], which: np.ndarray, positions: np.ndarray,
    offsets: np.ndarray, ref_score: np.ndarray, alt_score: np.ndarray, ref_windows: np.ndarray, scorer: SiteScorer,
) -> pd.DataFrame:
    ref_site, alt_site = ~np.isnan(ref_score), ~np.isnan(alt_score)
    ref_call, alt_call = scorer.called(ref_score), scorer.called(alt_score)
    effect = np.full(len(positions), "none", dtype=object)
    effect[ref_site & alt_site & ~ref_call & alt_call] = "gain"
    effect[ref_site & alt_site & ref_call & ~alt_call] = "loss"
    effect[~ref_site & alt_site] = "created"
    effect[ref_site & ~alt_site] = "destroyed"
    ref_percentile, alt_percentile = scorer.percentile(ref_score), scorer.percentile(alt_score)
    letters = np.array(list(ALPHABET), dtype=object)
    centre = letters[ref_windows[:, scorer.flank]]
    alt_letters = np.array([v.alt for v in variants], dtype=object)[which]
    centre[~ref_site] = alt_letters[~ref_site]  # a created site is named by its new residue
    given_protein, given_variant = np.empty(len(given), dtype=object), np.empty(len(given), dtype=object)
    for k, (protein, text) in enumerate(given):
        given_protein[k], given_variant[k] = protein, text
    return pd.DataFrame(
        {
            "protein_id": np.array(ids, dtype=object)[which],
            "input_protein": given_protein[which],
            "variant": np.array([v.short for v in variants], dtype=object)[which],
            "input": given_variant[which],
            "hgvs": np.array([v.hgvs for v in variants], dtype=object)[which],
            "site": centre + positions.astype(str).astype(object),
            "position": positions,
            "offset": offsets,
            "ref_score": ref_score,
            "alt_score": alt_score,
            "delta": alt_score - ref_score,
            "ref_percentile": ref_percentile,
            "alt_percentile": alt_percentile,
            "delta_percentile": alt_percentile - ref_percentile,
            "ref_precision": scorer.precision(ref_score),
            "alt_precision": scorer.precision(alt_score),
            "ref_predicted": ref_call,
            "alt_predicted": alt_call,
            "effect": effect,
            "model": scorer.model_name,
        },
        columns=VARIANT_COLUMNS,
    )


def score_variants_iter(
    sequences: Any,
    variants: VariantSource,
    *,
    model: ModelSource = None,
    threshold: float | None = None,
    specificity: float | None = None,
    stringency: str | None = None,
    engine: str = "auto",
    chunk_rows: int = CHUNK_ROWS,
    scorer: SiteScorer | None = None,
    callback: Callable[[int], None] | None = None,
) -> Iterator[pd.DataFrame]:
    """:func:`score_variants` as a stream: one DataFrame per chunk of ``chunk_rows`` variant rows;
    ``callback(variant_rows)`` is called after each chunk."""
    index = sequences if isinstance(sequences, ProteinIndex) else ProteinIndex(sequences)
    chunks = _chunks(variants, chunk_rows)
    scorer = scorer or site_scorer(model, threshold=threshold, specificity=specificity, stringency=stringency,
                                   engine=engine)
    proteins = _Proteins(index, scorer)
    for name, first_line, frame in chunks:
        yield _score_chunk(name, first_line, frame, proteins, scorer)
        if callback is not None:
            callback(len(frame))


def score_variants(
    sequences: Any,
    variants: VariantSource,
    *,
    model: ModelSource = None,
    threshold: float | None = None,
    specificity: float | None = None,
    stringency: str | None = None,
    engine: str = "auto",
) -> pd.DataFrame:
    """Score the AKT sites around missense variants, with the reference and the alternative residue.

    Parameters
    ----------
    sequences
        The reference proteins, in any form :func:`phosnet.predict` accepts.
    variants
        A TSV/CSV path or DataFrame with columns ``protein_id`` (FASTA id, UniProt accession, entry name or gene)
        and ``variant`` (``R23W`` or ``p.Arg23Trp``; several rows per protein allowed), or
        ``(protein_id, variant)`` pairs.
    model, threshold, specificity, stringency, engine
        As for :func:`phosnet.predict` (default call: medium stringency when the model has a background); the
        threshold decides ``gain`` and ``loss``.

    Returns
    -------
    pandas.DataFrame
        One row per variant x candidate site whose window holds the variant (variants in input order, sites
        by position): ``protein_id`` (the FASTA id), ``input_protein`` (the protein as given), ``variant``
        (``R23W``), ``input`` (the variant as given, e.g. ``p.(Arg23Trp)``: with ``input_protein`` the key to
        join the table back to the variants), ``hgvs`` (``p.Arg23Trp``), ``site`` (``S9``, the
        residue of the reference, or of the alternative for a created site), ``position, offset`` (variant
        minus site position), ``ref_score, alt_score, delta, ref_percentile, alt_percentile,
        delta_percentile`` (empty where there is no site; percentiles also for a model without a background),
        ``ref_precision, alt_precision`` (calibrated, :mod:`phosnet.precision`; empty without a precision table),
        ``ref_predicted, alt_predicted, effect`` (see the module docstring), ``model``. A
        variant with no S/T within ``flank`` residues gives no row.
    """
    frames = list(score_variants_iter(sequences, variants, model=model, threshold=threshold,
                                      specificity=specificity, stringency=stringency, engine=engine))
    if not frames:
        return pd.DataFrame({c: [] for c in VARIANT_COLUMNS}, columns=VARIANT_COLUMNS)
    return pd.concat(frames, ignore_index=True)
