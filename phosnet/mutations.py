"""What-if scoring shared by ``explain`` and ``variants``: mutated windows scored by the scan's engine.

This module is the one place that couples the what-if tools to the scan: it settles the model, candidate
residues and call rule (stringency, specificity or threshold) with :func:`phosnet.scan.resolve_settings`
(never a second copy of those rules), computes percentiles with the model's background as a scan does, and
scores ``int8`` index windows with the scan's engine (``make_engine(model)(windows)``), so with the bundled
model no TensorFlow is imported. It also holds the small pieces both tools need: a protein lookup by
id, UniProt accession, entry name or gene, site names such as ``P31749:S473``, and windows cut from a padded code.

A window whose centre is not a candidate residue (S/T for the bundled model) is *no site*: it gets no score
(``NaN``), exactly as :func:`phosnet.predict` gives such a residue no row. The network's raw output on such a
window means nothing (it was trained on S/T centres only; for GSK3B S9A it is higher than for the wild type).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from phosnet.bundle import ModelSource
from phosnet.calling import called
from phosnet.encoding import ALPHABET, sequence_to_index
from phosnet.engines import make_engine
from phosnet.errors import InputError
from phosnet.io.sequences import iter_records
from phosnet.io.uniprot import parse_header
from phosnet.scan import ScanSettings, resolve_settings
from phosnet.windows import padded

ENGINE_BATCH = 16384
"""Mutated windows scored per engine call (bounds memory: 16,384 x 31 bytes)."""

_SITE_RE = re.compile(r"^(?:(?P<protein>.+?):)?(?P<residue>[A-Za-z])?(?P<position>\d+)$")


@dataclass
class SiteScorer:
    """The resolved settings (model, residues, threshold) and the engine that scores windows."""

    settings: ScanSettings
    engine: Any

    @property
    def flank(self) -> int:
        return self.settings.model.flank

    @property
    def width(self) -> int:
        return self.settings.model.window

    @property
    def residues(self) -> str:
        return self.settings.residues

    @property
    def threshold(self) -> float:
        return self.settings.threshold

    @property
    def model_name(self) -> str:
        return self.settings.model.name

    def is_candidate(self, centre: np.ndarray) -> np.ndarray:
        """Which alphabet indices (of window centres) are candidate residues."""
        wanted = np.array([ALPHABET.index(r) for r in self.residues], dtype=np.int8)
        return np.isin(centre, wanted)

    def score(self, windows: np.ndarray) -> np.ndarray:
        """Scores (``float64``) of ``(n, width)`` ``int8`` windows; ``NaN`` where the centre is no candidate."""
        out = np.full(len(windows), np.nan)
        keep = np.flatnonzero(self.is_candidate(windows[:, self.flank]))
        for start in range(0, len(keep), ENGINE_BATCH):
            rows = keep[start : start + ENGINE_BATCH]
            out[rows] = self.engine(np.ascontiguousarray(windows[rows]))
        return out

    @property
    def rule(self) -> str:
        """The call rule in a few words (``stringency medium (top 1%)``), as the scan describes it."""
        return self.settings.describe_rule()

    def percentile(self, scores: np.ndarray) -> np.ndarray:
        """Percentile (0-100) of each score in the model's background (as a scan computes it); ``NaN`` for no
        site, and everywhere when the model carries no background."""
        background = self.settings.model.background
        if background is None:
            return np.full(len(scores), np.nan)
        return background.percentile(np.asarray(scores, dtype=np.float64))

    def precision(self, scores: np.ndarray) -> np.ndarray:
        """Calibrated precision (0-1) of each score, as a scan computes it (:mod:`phosnet.precision`); ``NaN``
        for no site, and everywhere when the model carries no precision table."""
        columns = self.settings.model.precisions(self.percentile(scores))
        return np.full(len(scores), np.nan) if columns is None else columns[:, 0]

    def called(self, scores: np.ndarray) -> np.ndarray:
        """The call at the threshold in use (``False`` for no site), by the scan's rule (:mod:`phosnet.calling`)."""
        return called(scores, self.threshold)


def site_scorer(
    model: ModelSource = None,
    *,
    threshold: float | None = None,
    specificity: float | None = None,
    stringency: str | None = None,
    engine: str = "auto",
) -> SiteScorer:
    """Load the model, settle the call threshold as a scan does (default: medium stringency when the model has
    a background), and make its engine."""
    settings = resolve_settings(model, threshold=threshold, specificity=specificity, stringency=stringency,
                                engine=engine)
    made = make_engine(settings.model, engine)
    settings.engine_used = made.name
    return SiteScorer(settings, made)


def padded_code(sequence: str, flank: int) -> np.ndarray:
    """The sequence's ``int8`` code with ``flank`` X on either side: the window of 1-based ``p`` is
    ``code[p - 1 : p - 1 + 2 * flank + 1]``."""
    return padded(sequence_to_index(sequence), flank)


class ProteinIndex:
    """Proteins by ``protein_id``, with UniProt accession (``P31749``), entry name (``AKT1_HUMAN``) and gene
    name (``AKT1``, from ``GN=`` in the header) as aliases when they are unambiguous."""

    def __init__(self, sequences: Any) -> None:
        self.sequences: dict[str, str] = {}
        aliases: dict[str, set[str]] = {}
        for protein_id, sequence, description in iter_records(sequences):
            self.sequences[protein_id] = sequence
            header = parse_header(protein_id, description)
            for alias in {header.accession, header.gene, header.entry_name} - {"", protein_id}:
                aliases.setdefault(alias, set()).add(protein_id)
        self._aliases = {a: next(iter(ids)) for a, ids in aliases.items() if len(ids) == 1}

    def __len__(self) -> int:
        return len(self.sequences)

    def resolve(self, name: str) -> str | None:
        """The ``protein_id`` that ``name`` means, or ``None``."""
        name = str(name).strip()
        if name in self.sequences:
            return name
        return self._aliases.get(name)

    def only(self) -> str | None:
        """The one protein's id when there is exactly one."""
        return next(iter(self.sequences)) if len(self.sequences) == 1 else None


@dataclass(frozen=True)
class Site:
    """A site on a protein: ``protein_id``, 1-based ``position`` and the residue found there."""

    protein_id: str
    position: int
    residue: str

    @property
    def label(self) -> str:
        """``S473``."""
        return f"{self.residue}{self.position}"


def parse_site(text: str, proteins: ProteinIndex, source: str = "<sites>") -> Site:
    """``P31749:S473`` (or ``S473``/``473`` when there is one protein) -> :class:`Site`, checked."""
    match = _SITE_RE.match(str(text).strip())
    if not match:
        raise InputError(f"{source}: site {text!r} is not PROTEIN:S473")
    name = match["protein"] or proteins.only()
    if name is None:
        raise InputError(f"{source}: site {text!r} names no protein (write PROTEIN:{text})")
    return checked_site(name, int(match["position"]), match["residue"], proteins, f"{source}: site {text}")


def checked_site(name: str, position: int, residue: str | None, proteins: ProteinIndex, where: str) -> Site:
    """The :class:`Site`, or an :class:`InputError` naming ``where`` (unknown protein, off the protein,
    a residue that does not match the sequence)."""
    protein_id = proteins.resolve(name)
    if protein_id is None:
        raise InputError(f"{where}: unknown protein {name!r}")
    sequence = proteins.sequences[protein_id]
    if not 1 <= position <= len(sequence):
        raise InputError(f"{where}: position {position} is off {protein_id} ({len(sequence)} residues)")
    found = sequence[position - 1]
    if residue is not None and residue.upper() != found:
        raise InputError(f"{where}: {protein_id} has {found} at {position}, not {residue.upper()}")
    return Site(protein_id, position, found)
