"""The scan: every candidate residue (S/T by default) of every protein, scored by a model, streamed in batches.

* :func:`resolve_settings` loads the model and settles residues and the threshold (:class:`ScanSettings`);
* :func:`scan_batches` reads and windows proteins in a producer thread (:mod:`phosnet.batches`,
  :mod:`phosnet._threads`), scores them in a second (:mod:`phosnet.engines`) and yields
  :class:`~phosnet.batches.SiteBatch` objects, so memory does not grow with the number of proteins;
* :func:`predict` / :func:`predict_iter` are the public API (pandas DataFrames);
* :func:`scan_to_file` writes a site table (TSV/CSV/GFF3) atomically, with counts and an optional JSON
  summary: what ``phosnet scan`` calls.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from phosnet._threads import prefetch
from phosnet.batches import COLUMNS, DEFAULT_BATCH_SIZE, SiteBatch, raw_batches
from phosnet.bundle import PhosnetModel, load_model
from phosnet.engines import make_engine
from phosnet.errors import InputError, PhosnetError
from phosnet.io.rows import empty_frame
from phosnet.io.sequences import Sequences, iter_sequences
from phosnet.windows import check_window_options

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int], None]
"""``callback(proteins_done, sites_done)``, called after each batch (increments, not totals)."""


def check_threshold_options(threshold: float | None, specificity: float | None) -> None:
    """The one check of the call options: ``threshold`` in [0, 1], ``specificity`` in (0, 1), not both."""
    if threshold is not None and specificity is not None:
        raise InputError("give either a threshold or a specificity, not both")
    if threshold is not None and not 0.0 <= float(threshold) <= 1.0:
        raise InputError(f"threshold must be between 0 and 1, got {threshold}")
    if specificity is not None and not 0.0 < float(specificity) < 1.0:
        raise InputError(f"specificity must be between 0 and 1, got {specificity}")


@dataclass
class ScanSettings:
    """What a scan resolved from its options and the model (written to the CLI's ``--summary``)."""

    model: PhosnetModel
    residues: str
    threshold: float
    specificity: float | None
    engine: str
    engine_used: str | None = None


def resolve_settings(
    model: Any = None,
    *,
    residues: str | None = None,
    threshold: float | None = None,
    specificity: float | None = None,
    engine: str = "auto",
) -> ScanSettings:
    """Load the model and settle residues and the threshold (``threshold`` and ``specificity`` exclude each other)."""
    check_threshold_options(threshold, specificity)
    loaded = load_model(model)
    try:
        resolved_residues = check_window_options(residues or loaded.residues, loaded.flank)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    if not set(resolved_residues) <= set(loaded.residues.upper()):
        logger.warning("model %s was trained on %s; scoring %s anyway", loaded.name, loaded.residues, resolved_residues)
    if threshold is None:
        if specificity is None:
            specificity = loaded.metadata.get("default_specificity")
            if specificity is not None and not loaded.thresholds:
                specificity = None
        threshold = loaded.threshold(specificity)
    return ScanSettings(loaded, resolved_residues, float(threshold), specificity, engine)


def scan_batches(
    sequences: Sequences,
    settings: ScanSettings,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    callback: ProgressCallback | None = None,
) -> Iterator[SiteBatch]:
    """Score every candidate residue, yielding :class:`SiteBatch` objects as they are ready.

    Reading and windowing run in a producer thread, prediction in a second one, each up to two batches ahead
    of the caller (who formats and writes), so the stages overlap.
    """
    if batch_size < 1:
        raise InputError(f"batch size must be positive, got {batch_size}")
    model = settings.model
    engine = model.engine(settings.engine)
    settings.engine_used = engine.name
    pairs = iter_sequences(sequences)

    def scored() -> Iterator[SiteBatch]:
        raw = prefetch(raw_batches(pairs, settings.residues, model.flank, batch_size))
        try:
            for batch in raw:
                if not len(batch.positions):
                    scores = np.zeros(0, np.float32)
                elif getattr(engine, "shares", False) and batch.code is not None:
                    scores = engine.score_positions(batch.code, batch.starts, model.window)
                else:
                    scores = engine(batch.windows)
                yield SiteBatch(
                    batch.protein_ids, batch.protein_index, batch.positions, batch.windows,
                    scores, scores >= settings.threshold, batch.n_proteins,
                )
        finally:
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
    model: Any = None,
    residues: str | None = None,
    threshold: float | None = None,
    specificity: float | None = None,
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
        Columns :data:`COLUMNS`; batches hold whole proteins, in input order.
    """
    settings = resolve_settings(model, residues=residues, threshold=threshold, specificity=specificity, engine=engine)
    for batch in scan_batches(sequences, settings, batch_size=batch_size, callback=callback):
        if predicted_only:
            batch = batch.select(batch.predicted)
        if len(batch):
            yield batch.to_frame(settings.model.name)


def predict(
    sequences: Sequences,
    *,
    model: Any = None,
    residues: str | None = None,
    threshold: float | None = None,
    specificity: float | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    predicted_only: bool = False,
    engine: str = "auto",
) -> pd.DataFrame:
    """Score every candidate residue (S/T by default) of ``sequences`` with an AKT site model.

    Parameters
    ----------
    sequences
        A FASTA path (plain or ``.gz``) or ``"-"``, FASTA text, one sequence string, a ``{id: sequence}``
        mapping, Biopython ``SeqRecord`` objects, or ``(id, sequence)`` pairs.
    model
        ``None`` for the bundled model, a bundled name, a ``.keras`` path or run folder, or a loaded model.
    residues
        Candidate residues (subset of ``"STY"``); default: the model's.
    threshold, specificity
        The ``predicted`` column is ``score >= threshold``; give a threshold, or a specificity whose
        threshold is stored with the model (default: the model's ``default_specificity``).
    batch_size
        Windows per batch.
    predicted_only
        Keep only the rows predicted as sites.
    engine
        ``"auto"`` (numpy fast path, TensorFlow fallback), ``"numpy"``, ``"tensorflow"`` or ``"keras"``.

    Returns
    -------
    pandas.DataFrame
        One row per candidate residue: ``protein_id, position`` (1-based), ``residue, window, score,
        predicted, model``.
    """
    frames = list(
        predict_iter(
            sequences, model=model, residues=residues, threshold=threshold, specificity=specificity,
            batch_size=batch_size, predicted_only=predicted_only, engine=engine,
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
        **counts,
    }


@dataclass
class ScanReport:
    """What :func:`scan_to_file` did: counts, seconds, and whether the reader closed the output early."""

    settings: ScanSettings
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    closed_early: bool = False


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

    The table is written batch by batch into a temporary file renamed into place only when complete. When
    the reader of stdout goes away (``| head``) the scan stops quietly: stdout is pointed at ``/dev/null`` and
    the report says ``closed_early``. ``summary`` (a JSON path) records version, model, threshold and counts.
    """
    from phosnet.io.atomic import atomic_output
    from phosnet.io.jsonio import write_json
    from phosnet.io.writers import SiteWriter, format_for

    output_format = format_for(output, output_format)
    report = ScanReport(settings, {"proteins": 0, "sites": 0, "predicted": 0, "rows_written": 0})
    counts = report.counts
    model_name = settings.model.name
    started = time.perf_counter()
    try:
        with atomic_output(output) as handle:
            writer = SiteWriter(handle, output_format)
            writer.write_header()
            for batch in scan_batches(sequences, settings, batch_size=batch_size, callback=callback):
                counts["proteins"] += batch.n_proteins
                counts["sites"] += len(batch)
                counts["predicted"] += int(batch.predicted.sum())
                rows = batch.select(batch.predicted) if predicted_only else batch
                writer.write(rows.rows(model_name))
            counts["rows_written"] = writer.rows
            handle.flush()
    except BrokenPipeError:
        # The reader went away (`| head`): a normal way to stop, not an error. Point stdout at /dev/null so
        # that Python's flush at exit does not complain.
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):  # stdout without a file descriptor (captured in tests)
            pass
        logger.info("output closed by the reader; stopped")
        report.closed_early = True
        return report
    except OSError as exc:
        raise PhosnetError(f"{output}: cannot write ({exc.strerror or exc})") from None
    report.seconds = time.perf_counter() - started
    if summary:
        write_json(summary, summary_dict(
            settings, **(summary_extra or {}), output=str(output), format=output_format,
            predicted_only=predicted_only, **counts, seconds=round(report.seconds, 3),
        ))
    logger.info(
        "scanned %s proteins, %s sites, %s predicted (threshold %.4g) in %.1f s",
        f"{counts['proteins']:,}", f"{counts['sites']:,}", f"{counts['predicted']:,}", settings.threshold,
        report.seconds,
    )
    return report


__all__ = [
    "COLUMNS",
    "DEFAULT_BATCH_SIZE",
    "ScanReport",
    "ScanSettings",
    "SiteBatch",
    "check_threshold_options",
    "iter_sequences",
    "make_engine",
    "predict",
    "predict_iter",
    "resolve_settings",
    "scan_batches",
    "scan_to_file",
]
