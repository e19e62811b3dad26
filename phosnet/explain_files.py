"""``phosnet explain`` as one call: sites resolved on a FASTA, the mutagenesis table written as it streams,
and the figures (heatmap + importance logo per site) from the same table.

It joins :mod:`phosnet.explainer` (the table) and :mod:`phosnet.plots` (the figures), which cannot import
each other (the plots read the explainer's helpers), so the CLI only parses options and calls this.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from phosnet.errors import InputError
from phosnet.explainer import SITES_PER_BATCH, explain_iter, resolve_sites
from phosnet.io.outputs import check_outputs, model_inputs
from phosnet.io.tables import write_table
from phosnet.mutations import ProteinIndex, site_scorer
from phosnet.plots import figure_target, plot_explain

if TYPE_CHECKING:
    import pandas as pd

    from phosnet.bundle import ModelSource

logger = logging.getLogger(__name__)


@dataclass
class ExplainReport:
    """What :func:`explain_to_files` wrote: sites, table rows, figure files, and the call rule used."""

    sites: int
    rows: int
    figures: list[str]
    rule: str
    threshold: float


def explain_to_files(
    fasta: str | os.PathLike,
    site_names: Sequence[str] = (),
    site_table: str | os.PathLike | None = None,
    output: str | os.PathLike = "-",
    *,
    plot: str | None = None,
    model: ModelSource = None,
    threshold: float | None = None,
    specificity: float | None = None,
    stringency: str | None = None,
    engine: str = "auto",
    progress: bool | None = None,
) -> ExplainReport:
    """Explain ``site_names`` (``PROTEIN:S473``) and the sites of ``site_table`` on the proteins of ``fasta``:
    the table to ``output`` (``"-"`` = stdout; streamed, atomic for a file) and, with ``plot``, the figures
    (``.png``/``.svg`` for one site, ``.pdf`` a page per site, or a folder). Outputs are checked (never onto an
    input) before anything is read; ``progress`` shows a bar on stderr (``None``: only on a terminal)."""
    from tqdm import tqdm

    if not site_names and not site_table:
        raise InputError("give sites to explain: SITE arguments (PROTEIN:S473) and/or --sites TABLE")
    plot_file = plot if plot and not plot.endswith(("/", os.sep)) and not os.path.isdir(plot) else None
    check_outputs({"--output": output, "--plot": plot_file}, [fasta, site_table, *model_inputs(model)])
    proteins = ProteinIndex(fasta)
    sites = (resolve_sites(list(site_names), proteins) if site_names else []) + (
        resolve_sites(site_table, proteins) if site_table else []
    )
    if plot:
        figure_target(plot, len(sites))
    scorer = site_scorer(model, threshold=threshold, specificity=specificity, stringency=stringency, engine=engine)
    frames: list[pd.DataFrame] = []
    batches = tqdm(
        explain_iter(proteins.sequences, sites, scorer=scorer), total=-(-len(sites) // SITES_PER_BATCH),
        unit=" batches", disable=None if progress is None else not progress, file=sys.stderr, leave=False,
        desc="phosnet explain",
    )

    def kept() -> Iterator[pd.DataFrame]:
        for frame in batches:
            if plot:  # the figures need the whole table; without them it streams
                frames.append(frame)
            yield frame

    try:
        rows = write_table(kept(), output)
    finally:
        batches.close()
    logger.info("explained %d site(s): %d rows (call: %s, score >= %.4g)", len(sites), rows, scorer.rule,
                scorer.threshold)
    written: list[str] = []
    if plot:
        import pandas as pd

        written = [str(p) for p in plot_explain(pd.concat(frames, ignore_index=True), plot,
                                                threshold=scorer.threshold)]
        logger.info("wrote %d figure file(s) to %s", len(written), plot)
    return ExplainReport(len(sites), rows, written, str(scorer.rule), float(scorer.threshold))


__all__ = ["ExplainReport", "explain_to_files"]
