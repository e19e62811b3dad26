"""Scoring measured phosphosites: an experiment's site table -> one scored row per site (``phosnet sites``).

The table (any form of :mod:`phosnet.io.site_tables`) is placed first, all of it, before anything is scored:
each row becomes one or more sites on a protein of the FASTA (protein + position; a peptide mapped onto every
protein it occurs in, with :class:`phosnet.peptides.PeptideIndex`; MaxQuant's ``Proteins`` / ``Positions
within proteins``), or a window scored as it stands. A row that cannot be placed (unknown protein, position
off the protein, residue not S/T/Y or not the one the table names, peptide not found, no site marked, a
window without a centre) is an :class:`~phosnet.errors.InputError` naming file, line and problem, or, with
``skip_unplaced``, a row of the ``unplaced`` table.

Scores of placed sites are the scan's own: the FASTA is scanned exactly as ``phosnet scan`` scans it
(:func:`phosnet.scan.scan_batches`, same batches, same engine, same calling rule) and the measured sites are
picked out of its batches, so each score, percentile and call is bit for bit the row ``phosnet scan FASTA``
writes for that protein and position (the engine's float32 rounding depends on which windows share a batch,
so scoring only the measured windows would not be). A proteome scan takes seconds. Windows (form 3, or a
MaxQuant table without a FASTA) are scored directly by the scan's engine, padded with ``X`` or cropped (equal
flanks) to the model's window (31 for the bundled models); their call uses the same rule.

A site on a residue the model does not score (Y for the S/T models) is listed with ``status`` ``not scored``
and the reason; it has no score, percentile or call.

Output columns (:data:`SITE_COLUMNS`, after ``line``, ``input`` and the table's own columns):

========== ===========================================================================================
line       the row's line in the input file (header = line 1; the Excel row for a sheet)
input      the site as the table wrote it: the peptide, the window, or ``protein:residue+position``
(columns)  every column of the input row, unchanged (text); a name that clashes with an output column
           gets the prefix ``input_``
protein    the FASTA id the site was placed on (for a window: the table's protein column, if any)
accession  UniProt accession (from ``sp|ACC|NAME``, or the id itself when it is an accession)
gene       gene (``GN=`` in the FASTA header, else the table's gene column)
position   1-based position in the protein (empty for a window without one)
residue    the site's residue (S, T, Y)
site       residue + position (``T246``), or the residue alone for a window without position
window     the model's window around the site (``X`` = padding)
matches    how many places of the FASTA the input was placed on (a peptide in several proteins: one row each)
score      the model's score (empty when not scored)
percentile rank of the score in the model's reference background (0-100)
precision  calibrated precision (0-1) of that percentile, with ``precision_low``, ``precision_high`` (its 95%
           interval): the out-of-fold share of known sites among the S/T of known substrates scored at or
           above it (:mod:`phosnet.precision`); empty for a model without a precision table
call       ``true`` when the site is called under the rule (``--stringency``/``--specificity``/``--threshold``)
status     ``scored`` or ``not scored``
reason     why a site is not scored (empty for scored sites)
model      the model's name
========== ===========================================================================================
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from phosnet.encoding import ALPHABET_BYTES, PAD, sequence_to_index_codes
from phosnet.errors import InputError
from phosnet.io.site_tables import SiteTable, describe_dropped, read_site_table
from phosnet.io.uniprot import parse_header
from phosnet.peptides import MIN_PEPTIDE_RESIDUES, PeptideIndex, parse_peptide

if TYPE_CHECKING:
    import pandas as pd

    from phosnet.bundle import ModelSource
    from phosnet.mutations import SiteScorer

logger = logging.getLogger(__name__)

SITE_COLUMNS = (
    "protein", "accession", "gene", "position", "residue", "site", "window", "matches", "score", "percentile",
    "precision", "precision_low", "precision_high", "call", "status", "reason", "model",
)
"""The output's own columns, in order (after ``line``, ``input`` and the input table's columns)."""

UNPLACED_COLUMNS = ("reason",)
"""The unplaced table: ``line``, ``input``, the input table's columns, then these."""

PHOSPHO_RESIDUES = "STY"
"""Residues a phosphosite can be on; others cannot be placed."""

_POSITION = re.compile(r"^\s*(?P<residue>[A-Za-z]{0,3}?)\s*(?P<position>\d+)(?:\.0*)?\s*$")
_THREE = {"SER": "S", "THR": "T", "TYR": "Y", "PSER": "S", "PTHR": "T", "PTYR": "Y", "PS": "S", "PT": "T",
          "PY": "Y"}


class Unplaced(Exception):
    """One row cannot be placed (the message says why)."""


@dataclass
class SiteScores:
    """What :func:`score_site_table` made: the scored sites, the unplaced rows and the counts."""

    sites: pd.DataFrame
    unplaced: pd.DataFrame
    table: SiteTable
    rule: str
    counts: dict[str, int] = field(default_factory=dict)

    def summary_line(self) -> str:
        """One line: rows read, dropped, placed sites, scored, calls, not scored, unplaced."""
        counts = self.counts
        dropped = describe_dropped(self.table.dropped)
        return (f"{counts['rows']:,} rows ({self.table.form} form)"
                + (f", dropped {dropped}" if dropped else "")
                + f": {counts['sites']:,} sites, {counts['scored']:,} scored, {counts['calls']:,} calls at "
                f"{self.rule}, {counts['not_scored']:,} not scored, {counts['unplaced']:,} unplaced")


def _residue_letter(text: str) -> str | None:
    """``S``, ``s``, ``Ser``, ``pS`` -> ``S``; empty -> ``None``; anything else -> the text upper-cased."""
    value = str(text).strip().upper()
    if not value:
        return None
    return _THREE.get(value, value)


@dataclass
class _Proteome:
    """The FASTA in memory: ids, descriptions, sequences, aliases, and one padded text of all of them."""

    records: list[tuple[str, str, str]]
    flank: int

    def __post_init__(self) -> None:
        from phosnet.mutations import ProteinIndex

        self.ids = [r[0] for r in self.records]
        self.number = {pid: i for i, pid in enumerate(self.ids)}
        self.index = ProteinIndex(self.records)
        sequences = [r[1] for r in self.records]
        self.lengths = np.fromiter(map(len, sequences), dtype=np.int64, count=len(sequences))
        pad = PAD * self.flank
        self.text = pad + (pad + pad).join(sequences) + pad  # windows.padded's rule, as the scan's batches
        self.first = np.cumsum(np.concatenate([[0], self.lengths[:-1] + 2 * self.flank])) + self.flank \
            if len(sequences) else np.zeros(0, np.int64)
        self._peptides: PeptideIndex | None = None

    def resolve(self, name: str) -> str | None:
        """The FASTA id ``name`` means: the id, a UniProt accession, entry name or gene (also when ``name`` is a
        full ``sp|ACC|NAME`` id and the FASTA holds bare accessions)."""
        found = self.index.resolve(name)
        if found is None and "|" in name:
            header = parse_header(name)
            for alias in (header.accession, header.entry_name):
                if alias and (found := self.index.resolve(alias)) is not None:
                    break
        return found

    def peptides(self) -> PeptideIndex:
        if self._peptides is None:
            self._peptides = PeptideIndex(self.text, self.first, self.lengths)
        return self._peptides

    def windows(self, numbers: np.ndarray, positions: np.ndarray, width: int) -> np.ndarray:
        """``(n, width)`` alphabet indices of the windows at 1-based ``positions`` of proteins ``numbers``."""
        if not len(numbers):
            return np.zeros((0, width), np.int8)
        starts = self.first[numbers] + positions - 1 - self.flank
        code = sequence_to_index_codes(np.frombuffer(self.text.encode("ascii"), dtype=np.uint8))
        return code[starts[:, None] + np.arange(width)]


@dataclass
class _Placed:
    """Placed sites as columns (one entry per output row)."""

    row: list[int] = field(default_factory=list)
    protein: list[int] = field(default_factory=list)  # FASTA number, -1 for a window
    position: list[int] = field(default_factory=list)  # 0 = unknown
    residue: list[str] = field(default_factory=list)
    window: list[str] = field(default_factory=list)  # windows only
    matches: list[int] = field(default_factory=list)
    protein_text: list[str] = field(default_factory=list)  # windows: the table's protein, gene
    gene_text: list[str] = field(default_factory=list)

    def add(self, row: int, protein: int, position: int, residue: str, matches: int = 1, window: str = "",
            protein_text: str = "", gene_text: str = "") -> None:
        self.row.append(row)
        self.protein.append(protein)
        self.position.append(position)
        self.residue.append(residue)
        self.window.append(window)
        self.matches.append(matches)
        self.protein_text.append(protein_text)
        self.gene_text.append(gene_text)


def _cell(table: SiteTable, role: str, row: int) -> str:
    return table.texts(role)[row]


def _check_residue(found: str, given: str | None, where: str) -> None:
    if found not in PHOSPHO_RESIDUES:
        raise Unplaced(f"{where} is {found}, not a phosphosite residue (S/T/Y)")
    if given is not None and given != found:
        raise Unplaced(f"{where} is {found}, not {given}")


def _place_on_protein(proteome: _Proteome, names: str, positions: str, given: str | None) -> tuple[int, int, str]:
    """(FASTA number, position, residue) of a protein cell (``;`` lists allowed: first that resolves) and a
    position cell (``473``, ``S473``; a ``;`` list aligned with the proteins)."""
    name_list = [n.strip() for n in names.split(";") if n.strip()]
    position_list = [p.strip() for p in positions.split(";") if p.strip()]
    if not name_list:
        raise Unplaced("no protein")
    if not position_list:
        raise Unplaced("no position")
    if len(position_list) != len(name_list):
        position_list = position_list[:1] * len(name_list)
    for name, position_text in zip(name_list, position_list, strict=True):
        protein_id = proteome.resolve(name)
        if protein_id is None:
            continue
        match = _POSITION.match(position_text)
        if not match:
            raise Unplaced(f"position {position_text!r} is not a number (473 or S473)")
        position = int(match["position"])
        if match["residue"]:
            from_position = _residue_letter(match["residue"])
            if given is not None and from_position != given:
                raise Unplaced(f"residue {given} and site {position_text} disagree")
            given = from_position
        sequence = proteome.index.sequences[protein_id]
        if not 1 <= position <= len(sequence):
            raise Unplaced(f"position {position} is off {protein_id} ({len(sequence)} residues)")
        found = sequence[position - 1]
        _check_residue(found, given, f"residue {position} of {protein_id}")
        return proteome.number[protein_id], position, found
    raise Unplaced(f"protein {names!r} is not in the FASTA" if len(name_list) == 1
                   else f"none of the proteins {names!r} is in the FASTA")


def _normal_window(text: str, width: int) -> str:
    """A window as the model reads it: upper case, ``_``/``-`` as ``X``, padded with ``X`` or cropped (equal
    flanks) to ``width``.

    >>> _normal_window("__ARsPEK_", 11), _normal_window("MKAARSsPEKLLG", 7)
    ('XXXARSPEKXX', 'ARSSPEK')
    """
    window = text.strip().upper().replace("_", PAD).replace("-", PAD)
    if not window or not window.isalpha() or not window.isascii():
        raise Unplaced(f"window {text!r} holds characters other than residues, '_', '-' or 'X'")
    if len(window) % 2 == 0:
        raise Unplaced(f"window {text!r} has an even number of residues ({len(window)}), so no centre")
    flank, wanted = len(window) // 2, width // 2
    if flank >= wanted:
        return window[flank - wanted : flank + wanted + 1]
    return PAD * (wanted - flank) + window + PAD * (wanted - flank)


def _input_text(table: SiteTable, row: int) -> str:
    form = table.form
    if form == "peptide":
        return _cell(table, "peptide", row)
    if form == "window":
        return _cell(table, "window", row)
    position = _cell(table, "position", row)
    residue = _cell(table, "residue", row)
    if form == "maxquant":
        position = position.split(";")[0]
        return f"{_cell(table, 'protein', row).split(';')[0]}:{residue}{position}"
    if _POSITION.match(position) and _POSITION.match(position)["residue"]:  # type: ignore[index]
        residue = ""
    return f"{_cell(table, 'protein', row)}:{residue}{position}"


def _place(table: SiteTable, proteome: _Proteome | None, width: int) -> tuple[_Placed, list[tuple[int, str]]]:
    """Every row of ``table`` placed (one or more sites), or its problem."""
    placed = _Placed()
    problems: list[tuple[int, str]] = []
    form = table.form
    peptide_hits: list[list[tuple[int, int]]] = []
    parsed: dict[int, Any] = {}
    if form == "peptide":
        assert proteome is not None
        unique: dict[str, int] = {}
        for row in range(len(table)):
            text = _cell(table, "peptide", row)
            try:
                peptide = parse_peptide(text)
            except ValueError as exc:
                parsed[row] = Unplaced(f"peptide {text!r}: {exc}")
                continue
            if len(peptide.sequence) < MIN_PEPTIDE_RESIDUES:
                parsed[row] = Unplaced(f"peptide {text!r}: {len(peptide.sequence)} residues, too short to place "
                                       f"(at least {MIN_PEPTIDE_RESIDUES})")
                continue
            parsed[row] = peptide
            unique.setdefault(peptide.sequence, len(unique))
        peptide_hits = proteome.peptides().find(list(unique))
        numbers = unique
    with_fasta = proteome is not None
    for row in range(len(table)):
        try:
            if form == "peptide":
                assert proteome is not None
                peptide = parsed[row]
                if isinstance(peptide, Unplaced):
                    raise peptide
                if not peptide.sites:
                    raise Unplaced(f"peptide {_cell(table, 'peptide', row)!r} marks no phosphosite")
                for offset in peptide.sites:
                    _check_residue(peptide.sequence[offset], None, f"marked residue {offset + 1} of the peptide")
                hits = peptide_hits[numbers[peptide.sequence]]
                if not hits:
                    raise Unplaced(f"peptide {peptide.sequence} is not in the FASTA")
                for protein, start in hits:
                    for offset in peptide.sites:
                        placed.add(row, protein, start + offset + 1, peptide.sequence[offset], len(hits))
            elif form == "protein" or (form == "maxquant" and with_fasta):
                assert proteome is not None
                given = _residue_letter(_cell(table, "residue", row))
                protein, position, residue = _place_on_protein(
                    proteome, _cell(table, "protein", row), _cell(table, "position", row), given)
                placed.add(row, protein, position, residue)
            else:  # a window
                text = _cell(table, "window", row)
                if not text:
                    raise Unplaced("no window")
                window = _normal_window(text, width)
                centre = window[width // 2]
                _check_residue(centre, _residue_letter(_cell(table, "residue", row)), "the window's centre")
                match = _POSITION.match(_cell(table, "position", row).split(";")[0])
                placed.add(row, -1, int(match["position"]) if match else 0, centre, 1, window,
                           _cell(table, "protein", row).split(";")[0], _cell(table, "gene", row).split(";")[0])
        except Unplaced as exc:
            problems.append((row, str(exc)))
    return placed, problems


def _echo(table: SiteTable, rows: list[int], taken: set[str]) -> pd.DataFrame:
    """The input rows' own columns (renamed ``input_<name>`` where they clash with the output's)."""
    frame = table.frame.iloc[rows].reset_index(drop=True)
    return frame.rename(columns={c: f"input_{c}" for c in frame.columns if c in taken})


def _lead_columns(table: SiteTable, rows: list[int]) -> dict[str, Any]:
    return {"line": np.asarray([table.lines[r] for r in rows], dtype=np.int64),
            "input": np.asarray([_input_text(table, r) for r in rows], dtype=object)}


def score_site_table(
    table: str | os.PathLike | pd.DataFrame,
    fasta: Any = None,
    *,
    form: str | None = None,
    columns: dict[str, str] | None = None,
    model: ModelSource = None,
    threshold: float | None = None,
    specificity: float | None = None,
    stringency: str | None = None,
    engine: str = "auto",
    min_localization: float | None = None,
    skip_unplaced: bool = False,
    sheet: str | int | None = None,
    scorer: SiteScorer | None = None,
) -> SiteScores:
    """:func:`score_sites` with everything it found: the sites, the unplaced rows and the counts."""
    import pandas as pd

    from phosnet.io.sequences import iter_records
    from phosnet.scan import check_threshold_options

    check_threshold_options(threshold, specificity, stringency)
    site_table = table if isinstance(table, SiteTable) else read_site_table(
        table, form=form, columns=columns, min_localization=min_localization, sheet=sheet)
    if site_table.form in {"protein", "peptide"} and fasta is None:
        raise InputError(f"{site_table.source}: a table of {site_table.form}s needs the FASTA they refer to "
                         "(--fasta)")
    if site_table.form == "maxquant" and fasta is None and "window" not in site_table.columns:
        raise InputError(f"{site_table.source}: a MaxQuant table without 'Sequence window' needs --fasta")
    records = list(iter_records(fasta)) if fasta is not None else None
    if scorer is None:
        from phosnet.mutations import site_scorer

        scorer = site_scorer(model, threshold=threshold, specificity=specificity, stringency=stringency,
                             engine=engine)
    width, flank = scorer.width, scorer.flank
    proteome = _Proteome(records, flank) if records is not None else None
    placed, problems = _place(site_table, proteome, width)
    if problems and not skip_unplaced:
        row, reason = problems[0]
        more = f" ({len(problems):,} rows cannot be placed; --skip-unplaced lists them apart)" \
            if len(problems) > 1 else " (--skip-unplaced lists such rows apart)"
        raise InputError(f"{site_table.where(row)}: {reason}{more}")

    n = len(placed.row)
    proteins = np.asarray(placed.protein, dtype=np.int64)
    positions = np.asarray(placed.position, dtype=np.int64)
    residues = np.asarray(placed.residue, dtype=object)
    candidate = np.isin(residues.astype(str), list(scorer.residues)) if n else np.zeros(0, bool)
    scores = np.full(n, np.nan)
    percentiles = np.full(n, np.nan)
    calls = np.zeros(n, dtype=bool)
    windows = np.zeros((n, width), dtype=np.int8)
    on_protein = proteins >= 0
    if on_protein.any():
        assert proteome is not None and records is not None
        windows[on_protein] = proteome.windows(proteins[on_protein], positions[on_protein], width)
        _scan_scores(records, scorer, proteins, positions, on_protein & candidate, scores, percentiles, calls)
    direct = np.flatnonzero(~on_protein)
    if len(direct):
        letters = "".join(placed.window[i] for i in direct).encode("ascii")
        windows[direct] = sequence_to_index_codes(np.frombuffer(letters, np.uint8)).reshape(len(direct), width)
        wanted = direct[candidate[direct]]
        if len(wanted):
            scores[wanted] = scorer.score(windows[wanted])
            percentiles[wanted] = scorer.percentile(scores[wanted])
            calls[wanted] = scorer.called(scores[wanted])

    precisions = scorer.settings.model.precisions(percentiles)
    if precisions is None:
        precisions = np.full((n, 3), np.nan)
    model_residues = "/".join(scorer.residues)
    taken = {"line", "input", *SITE_COLUMNS}
    ids = proteome.ids if proteome is not None else []
    descriptions = [r[2] for r in records] if records is not None else []
    accession_cache: dict[int, tuple[str, str]] = {}

    def protein_fields(i: int) -> tuple[str, str, str]:
        number = int(proteins[i])
        if number < 0:
            text = placed.protein_text[i]
            return text, parse_header(text).accession, placed.gene_text[i]
        if number not in accession_cache:
            header = parse_header(ids[number], descriptions[number])
            accession_cache[number] = (header.accession, header.gene)
        accession, gene = accession_cache[number]
        return ids[number], accession, gene or _cell(site_table, "gene", placed.row[i]).split(";")[0]

    fields = [protein_fields(i) for i in range(n)]
    position_column = pd.array([int(p) if p > 0 else None for p in positions], dtype="Int64")
    window_text = ALPHABET_BYTES[windows].view(f"S{width}").ravel().astype(f"U{width}") if n \
        else np.zeros(0, f"U{width}")
    status = np.where(candidate, "scored", "not scored").astype(object)
    why = np.where(candidate, "", f"the model {scorer.model_name} scores {model_residues} sites only").astype(object)
    own = pd.DataFrame({
        "protein": [f[0] for f in fields],
        "accession": [f[1] for f in fields],
        "gene": [f[2] for f in fields],
        "position": position_column,
        "residue": residues,
        "site": [f"{r}{p}" if p > 0 else r for r, p in zip(placed.residue, placed.position, strict=True)],
        "window": window_text.astype(object),
        "matches": np.asarray(placed.matches, dtype=np.int64),
        "score": scores,
        "percentile": percentiles,
        "precision": precisions[:, 0],
        "precision_low": precisions[:, 1],
        "precision_high": precisions[:, 2],
        "call": calls,
        "status": status,
        "reason": why,
        "model": np.full(n, scorer.model_name, dtype=object),
    }, columns=list(SITE_COLUMNS))
    lead = pd.DataFrame(_lead_columns(site_table, placed.row))
    sites = pd.concat([lead, _echo(site_table, placed.row, taken), own], axis=1)
    bad_rows = [r for r, _ in problems]
    unplaced = pd.concat([pd.DataFrame(_lead_columns(site_table, bad_rows)),
                          _echo(site_table, bad_rows, {"line", "input", *UNPLACED_COLUMNS}),
                          pd.DataFrame({"reason": [p for _, p in problems]}, dtype=object)], axis=1)
    counts = {"rows": site_table.rows_read, "sites": n, "scored": int(candidate.sum()),
              "calls": int(calls.sum()), "not_scored": int((~candidate).sum()), "unplaced": len(problems),
              **{f"dropped_{k.replace(' ', '_')}": v for k, v in site_table.dropped.items()}}
    return SiteScores(sites, unplaced, site_table, scorer.rule, counts)


def _scan_scores(records: list[tuple[str, str, str]], scorer: SiteScorer, proteins: np.ndarray,
                 positions: np.ndarray, wanted: np.ndarray, scores: np.ndarray, percentiles: np.ndarray,
                 calls: np.ndarray) -> None:
    """Fill the wanted rows' score, percentile and call from a scan of ``records`` (the scan's batches,
    engine and rule, so each value is the one ``phosnet scan`` writes). All of ``records``, not only those with
    a wanted site: the shared-convolution engine's float32 sums depend on a batch's make-up in the last digit,
    and a site's score must equal the scan's of the same FASTA to the bit."""
    from phosnet.scan import scan_batches

    rows = np.flatnonzero(wanted)
    if not len(rows):
        return
    keys = (proteins[rows] << 32) | positions[rows]
    unique, inverse = np.unique(keys, return_inverse=True)
    needed = np.zeros(len(records), dtype=bool)
    needed[proteins[rows]] = True
    number = {r[0]: i for i, r in enumerate(records)}
    got_score = np.full(len(unique), np.nan)
    got_percentile = np.full(len(unique), np.nan)
    got_call = np.zeros(len(unique), dtype=bool)
    seen = np.zeros(len(unique), dtype=bool)
    for batch in scan_batches(records, scorer.settings):
        if not len(batch):
            continue
        batch_numbers = np.fromiter((number[p] for p in batch.protein_ids), dtype=np.int64,
                                    count=len(batch.protein_ids))
        row_numbers = batch_numbers[batch.protein_index]
        hit = np.flatnonzero(needed[row_numbers])
        if not len(hit):
            continue
        batch_keys = (row_numbers[hit] << 32) | np.asarray(batch.positions[hit], dtype=np.int64)
        slot = np.searchsorted(unique, batch_keys)
        slot_ok = slot < len(unique)
        match = np.zeros(len(hit), dtype=bool)
        match[slot_ok] = unique[slot[slot_ok]] == batch_keys[slot_ok]
        slot, hit = slot[match], hit[match]
        got_score[slot] = batch.scores[hit]
        if batch.percentiles is not None:
            got_percentile[slot] = batch.percentiles[hit]
        got_call[slot] = batch.predicted[hit]
        seen[slot] = True
    if not seen.all():  # cannot happen: every wanted site is an S/T of a FASTA protein
        raise RuntimeError(f"{int((~seen).sum())} measured sites were not in the scan")
    scores[rows] = got_score[inverse]
    percentiles[rows] = got_percentile[inverse]
    calls[rows] = got_call[inverse]


def score_sites(
    table: str | os.PathLike | pd.DataFrame,
    fasta: Any = None,
    *,
    form: str | None = None,
    columns: dict[str, str] | None = None,
    model: ModelSource = None,
    threshold: float | None = None,
    specificity: float | None = None,
    stringency: str | None = None,
    engine: str = "auto",
    min_localization: float | None = None,
    skip_unplaced: bool = False,
    sheet: str | int | None = None,
) -> pd.DataFrame:
    """Score the sites of a phosphoproteomics table: one row per site, the input row echoed.

    Parameters
    ----------
    table
        A TSV/CSV (``.gz``) or Excel path, or a DataFrame, in one of the forms of
        :mod:`phosnet.io.site_tables` (protein + position, phosphopeptide, window, MaxQuant's
        ``Phospho (STY)Sites.txt``); ``form`` chooses it, else it is detected from the column names.
    fasta
        The proteins the table refers to (any input :func:`phosnet.predict` takes); needed by the protein
        and peptide forms, optional for MaxQuant (without it, its ``Sequence window`` is scored).
    columns
        The column of a role when its name is unusual: ``{"peptide": "Modified sequence"}``; roles are
        ``protein``, ``position``, ``residue``, ``peptide``, ``window``, ``gene``.
    model, threshold, specificity, stringency, engine
        As in :func:`phosnet.predict` (default: the bundled model, medium stringency).
    min_localization
        MaxQuant only: keep sites with ``Localization prob`` at least this (0.75 = class I).
    skip_unplaced
        Rows that cannot be placed are dropped (see :func:`score_site_table` for the list) instead of
        raising an :class:`~phosnet.errors.InputError` naming the first.

    Returns
    -------
    pandas.DataFrame
        ``line``, ``input``, the table's own columns, then :data:`SITE_COLUMNS` (see the module docstring).
    """
    return score_site_table(
        table, fasta, form=form, columns=columns, model=model, threshold=threshold, specificity=specificity,
        stringency=stringency, engine=engine, min_localization=min_localization, skip_unplaced=skip_unplaced,
        sheet=sheet,
    ).sites


__all__ = ["SITE_COLUMNS", "SiteScores", "score_site_table", "score_sites"]
