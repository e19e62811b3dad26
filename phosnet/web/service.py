"""The work behind ``phosnet serve``, without any web framework: inputs under limits, jobs, and the verbs.

Every result comes from the library the CLI calls, and every download from the CLI's own writers into a
private temporary folder, so a page's TSV or GFF3 is byte for byte what ``phosnet scan`` / ``explain`` /
``variants`` write for the same input and options:

* :func:`read_fasta_upload` parses pasted or uploaded FASTA (plain or gzip) with :func:`phosnet.io.fasta.read_fasta`
  (its error messages, naming the upload and the record), within the server's :class:`Limits`;
* :func:`run_scan` streams :func:`phosnet.scan.scan_batches` into the scan's site-table writers
  (:func:`phosnet.io.tables.open_table`, TSV and GFF3) and keeps the rows as the API's DataFrame;
* :func:`explain_site`, :func:`run_variants` and :func:`site_map` call ``explain_iter``, ``score_variants_iter``
  and ``plot_map`` with the CLI's table writer (:func:`phosnet.io.tables.write_table`) and figure functions;
* :class:`phosnet.web.jobs.JobManager` runs these off the event loop on a bounded thread pool.

The client never names a path: models are chosen by the names :class:`ModelStore` offers, uploads are bytes.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import logging
import os
import re
import threading
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from phosnet.errors import InputError
from phosnet.io.uniprot import parse_header
from phosnet.web.jobs import Job, LimitExceeded, Limits

if TYPE_CHECKING:
    import pandas as pd

    from phosnet.bundle import PhosnetModel
    from phosnet.scan import ScanSettings

logger = logging.getLogger(__name__)

Record = tuple[str, str, str]
"""``(protein_id, sequence, description)``, as :func:`phosnet.io.sequences.iter_records` yields."""

PASTED = "pasted text"
"""How pasted FASTA is named in error messages (an upload is named by its file name)."""

_FIGURE_LOCK = threading.Lock()  # matplotlib's font cache and backends are not meant for threads at once


# ----------------------------------------------------------------------------------------------------------
# Inputs
# ----------------------------------------------------------------------------------------------------------
class _NamedBytes(io.BytesIO):
    """Bytes with a ``name``: :func:`phosnet.io.fasta.source_name` names the upload by it in messages."""

    def __init__(self, data: bytes, name: str) -> None:
        super().__init__(data)
        self.name = name


def upload_name(filename: str | None) -> str:
    """How an uploaded file is named in messages: its base name as the client sent it (never opened), or
    :data:`PASTED`.

    >>> upload_name("C:\\\\data\\\\my proteins.fa.gz"), upload_name("../../etc/passwd"), upload_name(None)
    ('my proteins.fa.gz', 'passwd', 'pasted text')
    """
    if not filename:
        return PASTED
    base = re.split(r"[\\/]", str(filename))[-1].strip()
    return "".join(c for c in base if c.isprintable())[:200] or "upload"


def _decompressed_size_over(data: bytes, cap: int) -> bool:
    """Whether gzip ``data`` inflates to more than ``cap`` bytes (read in blocks, nothing kept). A corrupt
    stream is left to the FASTA reader, which names the problem as the CLI does."""
    if data[:2] != b"\x1f\x8b":
        return len(data) > cap
    total = 0
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            while block := stream.read(1 << 20):
                total += len(block)
                if total > cap:
                    return True
    except (OSError, EOFError, zlib.error):
        return False
    return False


def read_fasta_upload(data: bytes, name: str, limits: Limits) -> list[Record]:
    """Parse FASTA bytes (plain or gzip, detected by content) into records, as ``phosnet scan`` reads a file.

    Errors are :class:`~phosnet.errors.InputError` with the CLI's wording, naming ``name`` and the record; a
    repeated identifier is one too. Over ``limits``: :class:`LimitExceeded`.
    """
    from phosnet.io.sequences import iter_records

    if not data.strip():
        raise InputError(f"{name}: no FASTA text; paste sequences or choose a file")
    if len(data) > limits.max_upload_bytes:
        raise LimitExceeded(f"{name}: {len(data):,} bytes; this server takes at most {limits.max_upload_bytes:,}")
    if _decompressed_size_over(data, limits.max_fasta_bytes):
        raise LimitExceeded(f"{name}: more than {limits.max_fasta_bytes:,} bytes of FASTA text; this server takes "
                            f"at most {limits.max_residues:,} residues")
    records: list[Record] = []
    residues = 0
    for record in iter_records(_NamedBytes(data, name)):
        residues += len(record[1])
        if residues > limits.max_residues:
            raise LimitExceeded(f"{name}: more than {limits.max_residues:,} residues (at record {len(records) + 1}, "
                                f"{record[0]}); this server takes at most {limits.max_residues:,}")
        records.append(record)
    return records


@dataclass(frozen=True)
class CallOptions:
    """The page's choices: a model the server offers and the call rule (at most one of the three)."""

    model: str | None = None
    stringency: str | None = None
    threshold: float | None = None
    specificity: float | None = None

    def check(self) -> None:
        """The scan's one check of the call options (same messages as the CLI)."""
        from phosnet.calling import check_threshold_options

        check_threshold_options(self.threshold, self.specificity, self.stringency)

    def rule_kwargs(self) -> dict[str, Any]:
        """``stringency``, ``threshold`` and ``specificity`` as the library takes them."""
        return {"stringency": self.stringency, "threshold": self.threshold, "specificity": self.specificity}

    def as_dict(self) -> dict[str, Any]:
        return {"model": self.model, **self.rule_kwargs()}


class ModelStore:
    """The models a server offers, by name only: its ``--model`` (default) and the bundled ones, each loaded
    once. A client can never make the server open a path."""

    def __init__(self, default: str | os.PathLike | None = None) -> None:
        from phosnet.bundle import available_models, load_model

        first = load_model(default)  # an operator's mistake is reported by `phosnet serve` at once
        self.default = first.name
        self._models: dict[str, PhosnetModel] = {first.name: first}
        self.names = [first.name, *(n for n in available_models() if n != first.name)]
        self._lock = threading.Lock()

    def get(self, name: str | None = None) -> PhosnetModel:
        """The model ``name`` (``None``: the default); an unknown name is an InputError listing the offers."""
        from phosnet.bundle import load_model

        name = name or self.default
        if name not in self.names:
            raise InputError(f"unknown model {name!r}; this server offers {', '.join(self.names)}")
        with self._lock:
            if name not in self._models:
                self._models[name] = load_model(name)
            return self._models[name]

    def describe(self) -> list[dict[str, Any]]:
        """What ``/api/models`` lists: name, description, residues, window, stringency levels, specificities."""
        out = []
        for name in self.names:
            model = self.get(name)
            meta = model.metadata
            background = meta.get("background") or {}
            out.append({
                "name": name,
                "default": name == self.default,
                "description": meta.get("description", ""),
                "residues": model.residues,
                "window": model.window,
                "stringency": {level: {"top_percent": numbers.get("top_percent"), "threshold": numbers.get("threshold")}
                               for level, numbers in (background.get("stringency") or {}).items()} or None,
                "specificities": sorted(float(k) for k in (meta.get("thresholds") or {})),
                "default_specificity": meta.get("default_specificity"),
            })
        return out


def settings_for(models: ModelStore, options: CallOptions) -> ScanSettings:
    """The scan's settings for the options, resolved by the scan itself (:func:`phosnet.scan.resolve_settings`)."""
    from phosnet.scan import resolve_settings

    options.check()
    return resolve_settings(models.get(options.model), **options.rule_kwargs())


def settings_summary(settings: ScanSettings) -> dict[str, Any]:
    """Version, model and call rule of a result (what the page shows beside it)."""
    from phosnet import __version__

    return {"phosnet_version": __version__, "model": settings.model.name, "threshold": settings.threshold,
            "rule": settings.describe_rule(), "stringency": settings.stringency,
            "specificity": settings.specificity, "residues": settings.residues,
            "percentiles": settings.model.background is not None}


# ----------------------------------------------------------------------------------------------------------
# The verbs
# ----------------------------------------------------------------------------------------------------------
@dataclass
class ScanResult:
    """A finished scan: its records (for maps and explanations), settings, counts, the table rows kept for the
    page (all of them, or the called sites past ``max_table_rows``) and the CLI-identical downloads."""

    records: list[Record]
    settings: ScanSettings
    options: CallOptions
    counts: dict[str, int]
    frame: pd.DataFrame
    complete: bool
    files: dict[str, Path]
    proteins: list[dict[str, Any]]

    def summary(self) -> dict[str, Any]:
        return {**settings_summary(self.settings), "counts": self.counts, "table_rows": len(self.frame),
                "table_complete": self.complete, "proteins": self.proteins}

    def protein_number(self, number: int) -> Record:
        if not 0 <= number < len(self.records):
            raise InputError(f"no protein number {number} in this result ({len(self.records)} proteins)")
        return self.records[number]


def _progress(job: Job | None, lengths: list[int]) -> Callable[[int, int], None]:
    """The scan's progress callback: residues of the proteins done so far, as a fraction; checks for cancel."""
    total = max(1, sum(lengths))
    cumulative = np.cumsum([0, *lengths])
    done = [0]

    def callback(proteins: int, sites: int) -> None:
        done[0] += proteins
        if job is not None:
            job.progress = float(cumulative[min(done[0], len(lengths))]) / total
            job.check()

    return callback


def run_scan(records: list[Record], settings: ScanSettings, options: CallOptions, folder: Path, *,
             job: Job | None = None, max_table_rows: int = Limits.max_table_rows) -> ScanResult:
    """Scan ``records`` as ``phosnet scan`` does, writing ``scan.tsv`` and ``scan.gff3`` into ``folder`` with the
    scan's writer, and keeping the rows as the API's DataFrame (:func:`phosnet.predict`'s values)."""
    import pandas as pd

    from phosnet.io.rows import empty_frame
    from phosnet.io.tables import open_table
    from phosnet.scan import scan_batches

    files = {"tsv": folder / "scan.tsv", "gff3": folder / "scan.gff3"}
    counts = {"proteins": 0, "sites": 0, "predicted": 0}
    frames: list[pd.DataFrame] = []
    kept, complete = 0, True
    callback = _progress(job, [len(r[1]) for r in records])
    per_protein = np.zeros((len(records), 2), dtype=np.int64)  # sites, calls
    first = 0
    with open_table(files["tsv"], "tsv", kind="sites") as tsv, open_table(files["gff3"], "gff3", kind="sites") as gff:
        for batch in scan_batches(records, settings, callback=callback):
            tsv.write(batch)
            gff.write(batch)
            counts["proteins"] += batch.n_proteins
            counts["sites"] += len(batch)
            counts["predicted"] += int(batch.predicted.sum())
            index = np.asarray(batch.protein_index, dtype=np.intp) + first
            np.add.at(per_protein[:, 0], index, 1)
            np.add.at(per_protein[:, 1], index[np.asarray(batch.predicted, dtype=bool)], 1)
            first += batch.n_proteins
            if complete and kept + len(batch) > max_table_rows:  # from here the page keeps the calls only
                complete = False
                frames = [frame[frame["predicted"]] for frame in frames]
            chosen = batch if complete else batch.select(batch.predicted)
            if len(chosen):
                frames.append(chosen.frame())
                kept += len(chosen)
    frame = pd.concat(frames, ignore_index=True) if frames else empty_frame()
    proteins = []
    for number, (protein_id, sequence, description) in enumerate(records):
        header = parse_header(protein_id, description)
        accession, gene = header.accession, header.gene
        proteins.append({"number": number, "protein_id": protein_id, "accession": accession, "gene": gene,
                         "length": len(sequence), "sites": int(per_protein[number, 0]),
                         "calls": int(per_protein[number, 1])})
    return ScanResult(records, settings, options, counts, frame, complete, files, proteins)


def write_table_bytes(frames: Iterator[pd.DataFrame], folder: Path, name: str) -> tuple[bytes, int]:
    """Write a what-if table (explain, variants) as the CLI writes ``-o NAME.tsv`` (its writer, atomically, into
    the private ``folder``); return the bytes and the row count."""
    from phosnet.io.tables import write_table

    path = folder / name
    rows = write_table(frames, path)
    return path.read_bytes(), rows


@dataclass
class TableResult:
    """An explain or variants table: its DataFrame, the CLI-identical TSV, the call rule, a figure if any."""

    frame: pd.DataFrame
    tsv: bytes
    settings: ScanSettings
    figure: bytes | None = None

    def as_json(self) -> dict[str, Any]:
        return {**settings_summary(self.settings), **frame_json(self.frame)}


def _scorer(models: ModelStore, options: CallOptions) -> Any:
    from phosnet.mutations import site_scorer

    options.check()
    return site_scorer(models.get(options.model), **options.rule_kwargs())


def explain_site(records: list[Record], sites: list[str] | list[tuple[str, int]], models: ModelStore,
                 options: CallOptions, folder: Path, *, figure: str | None = None,
                 job: Job | None = None) -> TableResult:
    """``phosnet explain``: the mutagenesis table of ``sites`` (``P31749:S473`` or ``(protein, position)``), its
    TSV as the CLI writes it, and (``figure`` = ``svg``/``png``, one site) the CLI's heatmap + logo figure."""
    import pandas as pd

    from phosnet.explainer import explain_iter
    from phosnet.plots import plot_explain

    if not sites:
        raise InputError("give sites to explain: SITE arguments (PROTEIN:S473) and/or --sites TABLE")
    scorer = _scorer(models, options)
    frames: list[pd.DataFrame] = []

    def kept() -> Iterator[pd.DataFrame]:
        for frame in explain_iter(records, sites, scorer=scorer):
            if job is not None:
                job.check()
            frames.append(frame)
            yield frame

    tsv, _ = write_table_bytes(kept(), folder, "explain.tsv")
    table = pd.concat(frames, ignore_index=True)
    image = None
    if figure is not None:
        if figure not in {"svg", "png"}:
            raise InputError(f"figure format must be svg or png, not {figure!r}")
        target = folder / f"explain.{figure}"
        with _FIGURE_LOCK:
            plot_explain(table, target, threshold=scorer.threshold)
        image = target.read_bytes()
    return TableResult(table, tsv, scorer.settings, image)


def parse_variant_lines(text: str) -> pd.DataFrame:
    """``protein variant`` lines (tab, comma or spaces between; a ``protein_id variant`` header line optional)
    as the variant table ``phosnet variants`` reads (columns ``protein_id, variant``, text as given)."""
    import pandas as pd

    rows = []
    lines = [line for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        fields = [f for f in re.split(r"[\t, ]+", line.strip()) if f]
        if number == 1 and [f.lower() for f in fields] == ["protein_id", "variant"]:
            continue
        if len(fields) != 2:
            raise InputError(f"variants: line {number}: write one 'protein variant' per line (e.g. P49841 S9A), "
                             f"not {line.strip()[:60]!r}")
        rows.append(fields)
    if not rows:
        raise InputError("variants: no 'protein variant' lines (e.g. P49841 S9A)")
    return pd.DataFrame(rows, columns=["protein_id", "variant"], dtype=str)


def run_variants(records: list[Record], variants: pd.DataFrame, models: ModelStore, options: CallOptions,
                 folder: Path, *, job: Job | None = None) -> TableResult:
    """``phosnet variants``: the gain/loss table and its TSV as the CLI writes it."""
    import pandas as pd

    from phosnet.mutations import ProteinIndex
    from phosnet.variants import VARIANT_COLUMNS, score_variants_iter

    index = ProteinIndex(records)
    scorer = _scorer(models, options)
    frames: list[pd.DataFrame] = []

    def kept() -> Iterator[pd.DataFrame]:
        for frame in score_variants_iter(index, variants, scorer=scorer):
            if job is not None:
                job.check()
            frames.append(frame)
            yield frame

    tsv, _ = write_table_bytes(kept(), folder, "variants.tsv")
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=VARIANT_COLUMNS)
    return TableResult(table, tsv, scorer.settings)


def site_map(record: Record, models: ModelStore, options: CallOptions, folder: Path, fmt: str = "svg") -> bytes:
    """``phosnet map`` of one protein (the CLI's figure function and rule), as SVG or PNG bytes."""
    from phosnet.maps import plot_map

    if fmt not in {"svg", "png"}:
        raise InputError(f"figure format must be svg or png, not {fmt!r}")
    options.check()
    target = folder / f"map.{fmt}"
    with _FIGURE_LOCK:
        plot_map([record], target, model=models.get(options.model), **options.rule_kwargs())
    data = target.read_bytes()
    with contextlib.suppress(OSError):
        target.unlink()
    return data


def frame_json(frame: pd.DataFrame) -> dict[str, Any]:
    """A DataFrame as ``{"columns": [...], "rows": [[...], ...]}`` with its own values (NaN as ``null``)."""
    columns = [str(c) for c in frame.columns]
    values = []
    for column in frame.columns:
        series = frame[column]
        if series.dtype.kind == "f":
            array = series.to_numpy(dtype=np.float64)
            values.append([None if v != v else v for v in array.tolist()])
        else:
            values.append(series.tolist())
    return {"columns": columns, "rows": [list(row) for row in zip(*values, strict=True)] if values else []}
