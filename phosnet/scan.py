"""The scan: every candidate residue (S/T by default) of every protein, scored by a model, streamed in batches.

* :func:`resolve_settings` loads the model and settles residues and the threshold (:class:`ScanSettings`);
* :func:`scan_batches` reads and windows proteins in a producer thread (:mod:`phosnet.batches`,
  :mod:`phosnet._threads`), scores them in a second (:mod:`phosnet.engines`) and yields
  :class:`~phosnet.io.rows.SiteRows` blocks, so memory does not grow with the number of proteins;
* :func:`predict` / :func:`predict_iter` are the public API (pandas DataFrames);
* :func:`scan_to_file` writes a site table (TSV/CSV/GFF3) atomically, with counts and an optional JSON
  summary: what ``phosnet scan`` calls.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from phosnet._threads import prefetch
from phosnet.batches import DEFAULT_BATCH_SIZE, raw_batches
from phosnet.bundle import ModelSource, PhosnetModel, load_model
from phosnet.calling import DEFAULT_STRINGENCY, CallRule, check_threshold_options
from phosnet.engines import finish_compiled, make_engine
from phosnet.errors import InputError
from phosnet.io.rows import SITE_COLUMNS, SiteRows, empty_frame
from phosnet.io.sequences import Sequences, iter_records, iter_sequences
from phosnet.windows import check_window_options

if TYPE_CHECKING:  # pandas is imported by the DataFrame API only (a file scan never needs it)
    import pandas as pd

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int], None]
"""``callback(proteins_done, sites_done)``, called after each batch (increments, not totals)."""


@dataclass
class ScanSettings:
    """What a scan resolved from its options and the model (written to the CLI's ``--summary``)."""

    model: PhosnetModel
    residues: str
    threshold: float
    specificity: float | None
    engine: str
    engine_used: str | None = None
    stringency: str | None = None

    @property
    def call(self) -> CallRule:
        """The call rule (:mod:`phosnet.calling`): ``call(scores)`` gives ``predicted``."""
        background = self.model.background
        return CallRule(self.threshold, self.specificity, self.stringency,
                        None if background is None else {"source": background.source, "sites": background.sites})

    @property
    def rule(self) -> dict[str, Any]:
        """How ``predicted`` is decided: ``score >= threshold``, and where the threshold comes from."""
        return self.call.as_dict()

    def describe_rule(self) -> str:
        """The rule in a few words, e.g. ``stringency medium (top 1%)``."""
        return self.call.describe()


def resolve_settings(
    model: ModelSource = None,
    *,
    residues: str | None = None,
    threshold: float | None = None,
    specificity: float | None = None,
    stringency: str | None = None,
    engine: str = "auto",
) -> ScanSettings:
    """Load the model and settle residues and the call threshold.

    ``threshold``, ``specificity`` and ``stringency`` exclude each other. With none, a model with a background
    table calls at :data:`~phosnet.calling.DEFAULT_STRINGENCY` (``medium``, the top 1% of its background),
    one without at its default specificity. A model without a background table gets an empty percentile
    column, and one warning saying so.
    """
    check_threshold_options(threshold, specificity, stringency)
    if engine in {"tensorflow", "keras"}:
        from phosnet._tf import require_tensorflow

        require_tensorflow(f"--engine {engine}")
    loaded = load_model(model)
    try:
        resolved_residues = check_window_options(residues or loaded.residues, loaded.flank)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    untrained = "".join(r for r in resolved_residues if r not in loaded.residues.upper())
    if untrained:  # its threshold and background mean nothing for a residue it never saw: refuse, never guess
        raise InputError(f"model {loaded.name} was trained on {loaded.residues} sites only; it cannot score "
                         f"{untrained} (residues must be a subset of {loaded.residues}; train a model with "
                         f"--residues {loaded.residues}{untrained} for that)")
    background = loaded.background
    if background is None:
        if stringency is not None:
            raise InputError(f"model {loaded.name} has no background table, which --stringency needs "
                             "(phosnet train --background FASTA makes one); use --specificity or --threshold")
        logger.warning("model %s has no background table: the percentile column is empty", loaded.name)
    elif threshold is None and specificity is None and stringency is None:
        stringency = DEFAULT_STRINGENCY
    if loaded.precision is None:
        logger.info("model %s has no precision table: the precision columns are empty", loaded.name)
    if stringency is not None:
        assert background is not None
        threshold = background.threshold(stringency)
    elif threshold is None:
        if specificity is None:
            specificity = loaded.metadata.get("default_specificity")
            if specificity is not None and not loaded.thresholds:
                specificity = None
        threshold = loaded.threshold(specificity)
    return ScanSettings(loaded, resolved_residues, float(threshold), specificity, engine, stringency=stringency)


def scan_batches(
    sequences: Sequences,
    settings: ScanSettings,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    callback: ProgressCallback | None = None,
) -> Iterator[SiteRows]:
    """Score every candidate residue, yielding scored :class:`~phosnet.io.rows.SiteRows` blocks as they are ready.

    Reading and windowing run in a producer thread, prediction in a second one, each up to two batches ahead
    of the caller (who formats and writes), so the stages overlap.
    """
    if batch_size < 1:
        raise InputError(f"batch size must be positive, got {batch_size}")
    model = settings.model
    engine = make_engine(model, settings.engine)
    settings.engine_used = engine.name
    records = iter_records(sequences)
    background = model.background
    call = settings.call

    def scored() -> Generator[SiteRows, None, None]:
        raw = prefetch(raw_batches(records, settings.residues, model.flank, batch_size), depth=4)
        # the numpy engine queues the next batches' chunks on its threads while this one is handed on
        pairs = engine.score_stream((batch, batch.code, batch.starts, model.window) for batch in raw)
        try:
            for batch, scores in pairs:
                percentiles = None if background is None else background.percentile(scores)
                yield batch.scored(scores, call(scores), model.name, percentiles, model.precisions(percentiles))
        finally:
            pairs.close()
            raw.close()

    stream = prefetch(scored(), name="phosnet-scorer")
    try:
        for batch in stream:
            yield batch
            if callback is not None:
                callback(batch.n_proteins, len(batch))
    finally:
        stream.close()


def predict_iter(
    sequences: Sequences,
    *,
    model: ModelSource = None,
    residues: str | None = None,
    threshold: float | None = None,
    specificity: float | None = None,
    stringency: str | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    predicted_only: bool = False,
    callback: ProgressCallback | None = None,
    engine: str = "auto",
) -> Iterator[pd.DataFrame]:
    """Scan ``sequences`` and yield one :class:`pandas.DataFrame` per batch (for proteomes).

    Parameters are those of :func:`predict`; ``callback(proteins, sites)`` is called after each batch.

    Yields
    ------
    pandas.DataFrame
        Columns :data:`SITE_COLUMNS`; batches hold whole proteins, in input order.
    """
    settings = resolve_settings(model, residues=residues, threshold=threshold, specificity=specificity,
                                stringency=stringency, engine=engine)
    for batch in scan_batches(sequences, settings, batch_size=batch_size, callback=callback):
        if predicted_only:
            batch = batch.select(batch.predicted)
        if len(batch):
            yield batch.frame()


def predict(
    sequences: Sequences,
    *,
    model: ModelSource = None,
    residues: str | None = None,
    threshold: float | None = None,
    specificity: float | None = None,
    stringency: str | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    predicted_only: bool = False,
    engine: str = "auto",
) -> pd.DataFrame:
    """Score every candidate residue (S/T by default) of ``sequences`` with an AKT site model.

    Parameters
    ----------
    sequences
        A FASTA path (plain or ``.gz``) or ``"-"``, FASTA text, one sequence string, a ``{id: sequence}``
        mapping, Biopython ``SeqRecord`` objects, or ``(id, sequence)`` pairs, told apart by one rule
        (:func:`phosnet.io.sequences.iter_sequences`): a ``pathlib.Path`` is a file; a ``str`` is FASTA text if
        it starts with ``>``, stdin if ``"-"``, a path if it holds ``/`` or ends in a FASTA suffix (``.fa``,
        ``.fasta``, ``.faa``, ``.gz``, ...), else one sequence in upper-case letters. Wrong types (``None``,
        ``bool``, ``bytes``, a bare tuple) raise ``TypeError`` naming the record; a missing file, an invalid
        sequence or a repeated identifier raise :class:`~phosnet.errors.InputError`.
    model
        ``None`` for the bundled model, a bundled name, a ``.keras`` path or run folder, or a loaded model.
    residues
        Candidate residues, a subset of the model's (an S/T model refuses ``"Y"``: its threshold and background
        mean nothing for tyrosines); default: the model's.
    threshold, specificity, stringency
        The ``predicted`` column is ``score >= threshold``; give a threshold, a specificity whose threshold is
        stored with the model, or a stringency (``"high"``, ``"medium"``, ``"low"``: the top 0.2 / 1 / 5% of
        the model's reference background). Default: ``"medium"`` when the model has a background table, else
        the model's ``default_specificity``.
    batch_size
        Windows per batch.
    predicted_only
        Keep only the rows predicted as sites.
    engine
        ``"auto"`` (numpy fast path, TensorFlow fallback), ``"numpy"``, ``"tensorflow"`` or ``"keras"``.

    Returns
    -------
    pandas.DataFrame
        One row per candidate residue: ``protein_id, accession, gene, position`` (1-based), ``residue,
        window, score, percentile, precision, precision_low, precision_high, predicted, model`` (see
        :mod:`phosnet.io.rows`).
    """
    import pandas as pd

    frames = list(
        predict_iter(
            sequences, model=model, residues=residues, threshold=threshold, specificity=specificity,
            stringency=stringency, batch_size=batch_size, predicted_only=predicted_only, engine=engine,
        )
    )
    if not frames:
        return empty_frame()
    return pd.concat(frames, ignore_index=True)


def summary_dict(settings: ScanSettings, **counts: Any) -> dict[str, Any]:
    """The JSON summary of a scan: phosnet version, model, threshold, residues and counts."""
    from phosnet import __version__

    model = settings.model
    return {
        "phosnet_version": __version__,
        "model": model.name,
        "model_path": str(model.path) if model.path else None,
        "engine": settings.engine_used or settings.engine,
        "residues": settings.residues,
        "threshold": settings.threshold,
        "specificity": settings.specificity,
        "stringency": settings.stringency,
        "rule": settings.rule,
        "percentiles": settings.model.background is not None,
        "precision": settings.model.precision is not None,
        **counts,
    }


@dataclass
class ScanReport:
    """What :func:`scan_to_file` did: counts and seconds."""

    settings: ScanSettings
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    output: str = "-"

    def completion_line(self) -> str:
        """One line saying what was done: proteins, sites, calls (and the rule), seconds, output."""
        counts = self.counts
        where = "stdout" if self.output == "-" else self.output
        return (f"phosnet scan: {counts.get('proteins', 0):,} proteins, {counts.get('sites', 0):,} sites, "
                f"{counts.get('predicted', 0):,} calls at {self.settings.describe_rule()} in {self.seconds:.1f} s "
                f"-> {where}")


LARGE_INPUT_BYTES = 1 << 20
"""Inputs this large (bytes on disk) surely hold enough sites for the compiled kernel: it starts loading at once."""


def prepare_process(input_bytes: int | None, engine: str = "auto") -> None:
    """Set up this process for a scan of ``input_bytes`` of FASTA: cap glibc's malloc arenas (peak memory stays
    flat, :func:`phosnet._threads.limit_malloc_arenas`) and, for an input of :data:`LARGE_INPUT_BYTES` or more,
    start loading the compiled kernel while the model loads and the first batch is read. Process-wide: for a
    command, before its threads start (``phosnet scan`` calls it; a library caller need not)."""
    from phosnet._threads import limit_malloc_arenas
    from phosnet.engines import prepare_compiled

    limit_malloc_arenas()
    if (input_bytes or 0) >= LARGE_INPUT_BYTES:
        prepare_compiled(engine)


def scan_to_file(
    sequences: Sequences,
    output: str | os.PathLike = "-",
    *,
    settings: ScanSettings,
    output_format: str | None = None,
    predicted_only: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    callback: ProgressCallback | None = None,
    summary: str | os.PathLike | None = None,
    summary_extra: dict[str, Any] | None = None,
) -> ScanReport:
    """Scan ``sequences`` into the site table ``output`` (``"-"`` = stdout; format from the suffix or given).

    The table is written batch by batch through :func:`phosnet.io.tables.open_table`: into a temporary file
    renamed into place only when complete, or whole rows to stdout. When the reader of stdout goes away
    (``| head``) :class:`BrokenPipeError` is raised (the CLI stops quietly). ``summary`` (a JSON path) records
    version, model, threshold and counts.
    """
    from phosnet.io.jsonio import write_json
    from phosnet.io.tables import open_table, table_format

    output_format = table_format(output, output_format, kind="sites")
    report = ScanReport(settings, {"proteins": 0, "sites": 0, "predicted": 0, "rows_written": 0}, output=str(output))
    counts = report.counts
    started = time.perf_counter()
    with open_table(output, output_format, kind="sites") as writer:
        for batch in scan_batches(sequences, settings, batch_size=batch_size, callback=callback):
            counts["proteins"] += batch.n_proteins
            counts["sites"] += len(batch)
            counts["predicted"] += int(batch.predicted.sum())
            rows = batch.select(batch.predicted) if predicted_only else batch
            writer.write(rows)
        counts["rows_written"] = writer.rows
    report.seconds = time.perf_counter() - started
    finish_compiled()  # a kernel load started by prepare_process ends, so its compiled code is cached
    if summary is not None:
        write_json(summary, summary_dict(
            settings, **(summary_extra or {}), output=str(output), format=output_format,
            predicted_only=predicted_only, **counts, seconds=round(report.seconds, 3),
        ))
    logger.debug("%s", report.completion_line())
    return report


__all__ = [
    "DEFAULT_BATCH_SIZE",
    "SITE_COLUMNS",
    "ScanReport",
    "ScanSettings",
    "check_threshold_options",
    "iter_sequences",
    "make_engine",
    "predict",
    "predict_iter",
    "resolve_settings",
    "scan_batches",
    "scan_to_file",
]
