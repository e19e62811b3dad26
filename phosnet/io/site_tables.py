"""Measured-site tables as experiments hand them over: read, their form told apart, MaxQuant's rows filtered.

A table is TSV or CSV (plain or ``.gz``; the separator from the suffix, else from the header line) or Excel
(``.xlsx``/``.xlsm``, with the optional ``openpyxl``: ``pip install "phosnet[excel]"``). Every cell is read
as the text it holds (nothing is turned into numbers or NaN), so the table's own columns are echoed exactly
and join back by the strings the user wrote. Leading lines starting with ``#`` are skipped; empty rows are
skipped; line numbers (for messages) are those of the file, header = line 1 after the comments. A one-column
file without a header (a list of peptides or windows) is recognised by its first line.

Forms (:data:`FORMS`), detected from the column names (case, spaces and ``_`` ignored) or chosen:

``protein``
    a protein column (``protein``, ``protein_id``, ``accession``, ``uniprot`` ...) and a position column
    (``position``, ``site``, ``pos``; ``473`` or ``S473``), optionally a residue column (``residue``, ``aa``,
    ``amino acid``); needs the FASTA the ids refer to.
``peptide``
    a phosphopeptide column (``peptide``, ``modified sequence``, ``phosphopeptide`` ...), sites marked in any
    spelling of :mod:`phosnet.peptides`; needs the FASTA.
``window``
    a window column (``window``, ``sequence window``, ``site window``, ``SITE_+/-7_AA``, ``peptide_15`` ...):
    an odd number of residues (7-61) centred on the site, ``_``/``X``/``-`` as padding, lower case allowed at the
    centre only (PhosphoSitePlus' 15-mers); scored without a FASTA.
``maxquant``
    MaxQuant's ``Phospho (STY)Sites.txt`` (``Proteins``, ``Positions within proteins``, ``Amino acid``,
    ``Sequence window``, ``Localization prob``); reverse (``REV__``, ``Reverse`` = ``+``) and contaminant
    (``CON__``, ``Potential contaminant`` = ``+``) rows and rows below ``min_localization`` are dropped and
    counted.

Without such names, a column is recognised by its content (marked peptides; windows).
"""

from __future__ import annotations

import io
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from phosnet.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

FORMS = ("protein", "peptide", "window", "maxquant")
"""The forms of a measured-site table."""

ALIASES: dict[str, tuple[str, ...]] = {
    "protein": ("protein", "proteinid", "proteins", "accession", "accessions", "uniprot", "uniprotid",
                "uniprotaccession", "uniprotkb", "acc", "accid", "proteinaccession", "proteinaccessions",
                "leadingprotein", "leadingrazorprotein", "masterproteinaccessions", "substrateaccession",
                "subacc", "id"),
    "position": ("position", "pos", "site", "siteposition", "residueposition", "positioninprotein",
                 "positionsinproteins", "positionswithinproteins", "location", "siteloc", "subsite"),
    "residue": ("residue", "aa", "aminoacid", "res", "siteresidue", "residuetype"),
    "peptide": ("peptide", "modifiedsequence", "modifiedpeptide", "modifiedpeptidesequence", "phosphopeptide",
                "peptidesequence", "annotatedsequence", "modifiedpeptides", "stripped"),
    "window": ("window", "sequencewindow", "sitewindow", "site7aa", "siteplusminus7aa", "peptide15",
               "sequence15", "flankingsequence", "flank", "sitesequence", "windows", "window15", "window31",
               "sequencewindow15", "sequencewindow31", "motif"),
    "gene": ("gene", "genes", "genename", "genenames", "genesymbol", "symbol"),
}
"""Column names of each role, normalised (lower case, letters and digits only)."""

MAXQUANT_COLUMNS = ("Proteins", "Positions within proteins")
"""The columns that make a table MaxQuant's site table."""

_WINDOW_CHARS = re.compile(r"^[A-Za-z_\-]+$")
_MARKED = re.compile(r"[(\[](?i:ph|\+?79\.9|\+?80|unimod:21)|p[STY]|[sty]|[STY][*#]")
_EXCEL = (".xlsx", ".xlsm")


def normalized_name(name: str) -> str:
    """A column name compared without case, spaces or punctuation (``Sequence window`` -> ``sequencewindow``).

    >>> normalized_name("SITE_+/-7_AA"), normalized_name("Amino acid")
    ('site7aa', 'aminoacid')
    """
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


@dataclass
class SiteTable:
    """A measured-site table read as text: the cells, each row's file line, the form and the role columns."""

    source: str
    frame: pd.DataFrame
    lines: list[int]
    form: str
    columns: dict[str, str]
    dropped: Counter[str] = field(default_factory=Counter)
    rows_read: int = 0
    _texts: dict[str | None, list[str]] = field(default_factory=dict, init=False, repr=False, compare=False)
    """Each column's stripped cells, read once (:meth:`texts`)."""

    def __len__(self) -> int:
        return len(self.frame)

    def where(self, row: int) -> str:
        """``FILE: line N`` of a row (for messages)."""
        return f"{self.source}: line {self.lines[row]}"

    def texts(self, role: str) -> list[str]:
        """The stripped cells of the column playing ``role`` (empty strings when no column does), read from the
        frame once per column: placing 100,000 rows cell by cell through pandas took most of the run."""
        column = self.columns.get(role)
        if column not in self._texts:  # None: no column plays the role, every cell is empty
            self._texts[column] = [""] * len(self.frame) if column is None else \
                [str(value).strip() for value in self.frame[column].tolist()]
        return self._texts[column]


def _separator(name: str, header: str) -> str:
    suffixes = [s.lower() for s in Path(name).suffixes if s.lower() != ".gz"]
    if suffixes and suffixes[-1] == ".csv":
        return ","
    if "\t" in header or (suffixes and suffixes[-1] in {".tsv", ".tab", ".txt"}):
        return "\t"
    return "," if "," in header else "\t"


def _read_text(path: str) -> tuple[pd.DataFrame, list[int], list[str], int]:
    """Cells (all text), file line of each row, the header and its line of a TSV/CSV file (``.gz`` by
    content)."""
    import gzip

    import pandas as pd

    with open(path, "rb") as handle:
        raw = handle.read()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise InputError(f"{path}: not a readable gzip file ({exc})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    lines = text.splitlines()
    skip = 0
    while skip < len(lines) and (lines[skip].startswith("#") or not lines[skip].strip()):
        skip += 1
    if skip >= len(lines):
        raise InputError(f"{path}: no table (the file is empty)")
    sep = _separator(path, lines[skip])
    body = "\n".join(lines[skip:]) + "\n"
    try:
        frame = pd.read_csv(io.StringIO(body), sep=sep, dtype=str, keep_default_na=False, na_filter=False,
                            skip_blank_lines=False, quoting=0)
    except (pd.errors.ParserError, ValueError) as exc:
        raise InputError(f"{path}: cannot read the table ({str(exc).strip().splitlines()[-1]})") from None
    header_line = skip + 1
    numbers = [header_line + 1 + i for i in range(len(frame))]
    return frame, numbers, [str(c) for c in frame.columns], header_line


def _read_excel(path: str, sheet: str | int | None) -> tuple[pd.DataFrame, list[int], list[str], int]:
    import pandas as pd

    try:
        import openpyxl  # noqa: F401
    except ImportError:
        raise InputError(f'{path}: reading Excel files needs openpyxl: pip install "phosnet[excel]" '
                         "(or save the sheet as TSV/CSV)") from None
    try:
        frame = pd.read_excel(path, sheet_name=0 if sheet is None else sheet, dtype=str, keep_default_na=False,
                              na_filter=False)
    except (ValueError, KeyError, OSError) as exc:
        raise InputError(f"{path}: cannot read the sheet ({exc})") from None
    frame = frame.fillna("").astype(str)
    return frame, [2 + i for i in range(len(frame))], [str(c) for c in frame.columns], 1


def _looks_marked(values: list[str]) -> bool:
    """Whether most values are peptides with a phosphosite marked in one of the known spellings (and they
    are not windows with a lower-case centre)."""
    if not values or _looks_window(values):
        return False
    marked = sum(1 for v in values if _MARKED.search(v))
    return marked >= max(1, (len(values) + 1) // 2)


def _window_like(value: str) -> bool:
    """Letters (and ``_``/``-`` padding), an odd number from 7 to 61, lower case at most at the centre
    (PhosphoSitePlus writes the site so); a peptide with a lower-case site elsewhere is no window."""
    n = len(value)
    if not (n % 2 == 1 and 7 <= n <= 61 and _WINDOW_CHARS.match(value)):
        return False
    return value[n // 2].islower() or not any(c.islower() for c in value)


def _looks_window(values: list[str]) -> bool:
    """Whether every value is a window (:func:`_window_like`)."""
    return bool(values) and all(_window_like(v) for v in values)


def _roles(columns: list[str]) -> dict[str, str]:
    """The first column of each role found by name."""
    found: dict[str, str] = {}
    names = {normalized_name(c): c for c in reversed(columns)}
    for role, aliases in ALIASES.items():
        for alias in aliases:
            if alias in names:
                found[role] = names[alias]
                break
    return found


def detect_form(frame: pd.DataFrame, columns: list[str], source: str, form: str | None = None,
                overrides: dict[str, str] | None = None) -> tuple[str, dict[str, str]]:
    """The table's form and the column of each role (``protein``, ``position``, ``residue``, ``peptide``,
    ``window``, ``gene``), from ``form`` and ``overrides`` when given, else from the names and the content."""
    roles = _roles(columns)
    for role, column in (overrides or {}).items():
        if column not in columns:
            raise InputError(f"{source}: no column {column!r} (columns: {', '.join(columns)})")
        roles[role] = column
    if form is not None and form not in FORMS:
        raise InputError(f"form must be one of {', '.join(FORMS)}, not {form!r}")
    sample = {c: [v for v in frame[c].astype(str).head(200).tolist() if v.strip()] for c in columns}
    if form is None and all(c in columns for c in MAXQUANT_COLUMNS):
        form = "maxquant"
    if form == "maxquant":
        missing = [c for c in MAXQUANT_COLUMNS if c not in columns]
        if missing and "Sequence window" not in columns:
            raise InputError(f"{source}: a MaxQuant site table needs the columns {', '.join(MAXQUANT_COLUMNS)} "
                             f"(or 'Sequence window'); missing {', '.join(missing)}")
        roles.update(protein="Proteins", position="Positions within proteins")
        if "Amino acid" in columns:
            roles["residue"] = "Amino acid"
        if "Sequence window" in columns:
            roles["window"] = "Sequence window"
        if "Gene names" in columns:
            roles["gene"] = "Gene names"
        return form, roles
    if form is None:
        if "peptide" in roles and (not sample[roles["peptide"]] or _looks_marked(sample[roles["peptide"]])):
            form = "peptide"
        elif "window" in roles and _looks_window(sample[roles["window"]]):
            form = "window"
        elif "protein" in roles and "position" in roles:
            form = "protein"
        elif "window" in roles:
            form = "window"
        elif "peptide" in roles:
            form = "peptide"
        else:  # by content
            for column in columns:
                if _looks_marked(sample[column]):
                    roles["peptide"], form = column, "peptide"
                    break
                if _looks_window(sample[column]):
                    roles["window"], form = column, "window"
                    break
    if form is None:
        raise InputError(f"{source}: cannot tell the table's form from its columns ({', '.join(columns)}): name "
                         "them protein + position (+ residue), peptide, or window, or give --format")
    if form in {"peptide", "window"} and form not in roles:
        candidates = [c for c in columns if normalized_name(c) in {"sequence", "seq"}]
        test = _looks_marked if form == "peptide" else _looks_window
        guess = next((c for c in candidates + columns if test(sample[c])), None)
        if guess is None:
            raise InputError(f"{source}: no {form} column among {', '.join(columns)} (name it {form!r})")
        roles[form] = guess
    if form == "protein":
        missing = [r for r in ("protein", "position") if r not in roles]
        if missing:
            raise InputError(f"{source}: the protein form needs a {' and a '.join(missing)} column "
                             f"(columns: {', '.join(columns)})")
    return form, roles


def _headerless(frame: pd.DataFrame, columns: list[str]) -> bool:
    """A one-column table whose 'header' is itself a peptide or a window."""
    if len(columns) != 1 or normalized_name(columns[0]) in {a for v in ALIASES.values() for a in v}:
        return False
    first = columns[0]
    if not re.search(r"[A-Z]{3}", first):  # a peptide or a window has upper-case residues, a name rarely
        return False
    values = [first, *frame[first].head(50).tolist()]
    return _looks_marked(values) or _looks_window(values)


def _drop_maxquant(frame: pd.DataFrame, lines: list[int], min_localization: float | None, source: str
                   ) -> tuple[pd.DataFrame, list[int], Counter[str]]:
    """MaxQuant's reverse and contaminant rows, and those below ``min_localization``, dropped and counted."""
    import numpy as np

    counts: Counter[str] = Counter()
    proteins = frame["Proteins"].astype(str) if "Proteins" in frame else None
    keep = np.ones(len(frame), dtype=bool)

    def flagged(column: str) -> np.ndarray:
        if column not in frame:
            return np.zeros(len(frame), bool)
        return np.array(frame[column].astype(str).str.strip().eq("+").to_numpy(), dtype=bool)

    reverse = flagged("Reverse")
    contaminant = flagged("Potential contaminant") | flagged("Contaminant")
    if proteins is not None:
        reverse = reverse | proteins.str.contains(r"(?:^|;)REV__", regex=True).to_numpy(dtype=bool)
        contaminant = contaminant | proteins.str.contains(r"(?:^|;)CON__", regex=True).to_numpy(dtype=bool)
    counts["reverse"] = int(reverse.sum())
    keep &= ~reverse
    counts["contaminant"] = int((contaminant & keep).sum())
    keep &= ~contaminant
    if min_localization is not None:
        if "Localization prob" not in frame:
            raise InputError(f"{source}: --min-localization needs a 'Localization prob' column")
        text = frame["Localization prob"].astype(str).str.strip()
        import pandas as pd

        prob = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)
        bad = np.flatnonzero(np.isnan(prob) & text.ne("").to_numpy() & keep)
        if len(bad):
            raise InputError(f"{source}: line {lines[bad[0]]}: Localization prob {text.iloc[bad[0]]!r} "
                             "is not a number")
        low = ~(prob >= min_localization)
        counts["below localization"] = int((low & keep).sum())
        keep &= ~low
    kept = np.flatnonzero(keep)
    return frame.iloc[kept].reset_index(drop=True), [lines[i] for i in kept], counts


def read_site_table(
    table: str | os.PathLike | pd.DataFrame,
    *,
    form: str | None = None,
    columns: dict[str, str] | None = None,
    min_localization: float | None = None,
    sheet: str | int | None = None,
) -> SiteTable:
    """Read a measured-site table (path or DataFrame) as text, tell its form and filter MaxQuant's rows.

    ``columns`` names the column of a role (``{"peptide": "Modified sequence"}``) when the names are not the
    usual ones. ``min_localization`` (0-1) keeps MaxQuant sites at least that well localised.
    """
    import numpy as np
    import pandas as pd

    if min_localization is not None and not 0.0 <= float(min_localization) <= 1.0:
        raise InputError(f"min_localization must be between 0 and 1, got {min_localization}")
    if isinstance(table, pd.DataFrame):
        source = "<table>"
        frame = table.reset_index(drop=True)
        frame.columns = [str(c) for c in frame.columns]
        frame = frame.astype(object).where(frame.notna(), "").astype(str)
        lines = [2 + i for i in range(len(frame))]
        names = list(frame.columns)
    else:
        source = os.fspath(table)
        if not os.path.exists(source):
            raise InputError(f"{source}: no such file")
        if os.path.isdir(source):
            raise InputError(f"{source}: is a directory, not a table")
        if source.lower().endswith(_EXCEL):
            frame, lines, names, header_line = _read_excel(source, sheet)
        else:
            frame, lines, names, header_line = _read_text(source)
        if _headerless(frame, names):
            frame = pd.concat([pd.DataFrame({"input": [names[0]]}),
                               frame.rename(columns={names[0]: "input"})], ignore_index=True)
            lines = [header_line, *lines]
            names = ["input"]
    blank = frame.apply(lambda col: col.astype(str).str.strip().eq("")).all(axis=1).to_numpy(dtype=bool) \
        if len(frame) else np.zeros(0, bool)
    if blank.any():
        kept = [i for i, b in enumerate(blank) if not b]
        frame = frame.iloc[kept].reset_index(drop=True)
        lines = [lines[i] for i in kept]
    rows_read = len(frame)
    chosen, roles = detect_form(frame, names, source, form, columns)
    dropped: Counter[str] = Counter()
    if chosen == "maxquant":
        frame, lines, dropped = _drop_maxquant(frame, lines, min_localization, source)
    elif min_localization is not None:
        raise InputError("--min-localization applies to MaxQuant site tables only")
    return SiteTable(source, frame, lines, chosen, roles, dropped, rows_read)


def describe_dropped(dropped: Counter[str]) -> str:
    """``12 reverse, 30 contaminant`` (empty when nothing was dropped)."""
    return ", ".join(f"{n:,} {what}" for what, n in dropped.items() if n)


__all__ = ["ALIASES", "FORMS", "SiteTable", "describe_dropped", "detect_form", "normalized_name",
           "read_site_table"]

