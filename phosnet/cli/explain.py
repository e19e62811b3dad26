"""``phosnet explain``: saturation mutagenesis of sites' windows, as a tidy table and figures."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

import click

from phosnet.cli._options import call_options, engine_option, model_option
from phosnet.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger(__name__)


@click.command("explain")
@click.argument("fasta", metavar="FASTA")
@click.argument("site_names", nargs=-1, metavar="[SITE]...")
@click.option("--sites", "site_table", default=None, metavar="PATH",
              help="Site table (protein_id, position[, residue]) to explain, besides any SITE arguments.")
@click.option("-o", "--output", default="-", metavar="PATH",
              help="Table ('-' = stdout); .csv for CSV, else tab-separated.")
@click.option("--plot", default=None, metavar="PATH",
              help="Heatmap + importance logo per site: .png/.svg (one site), .pdf (a page per site) or a folder.")
@model_option
@call_options
@engine_option
@click.pass_context
def explain(
    ctx: click.Context,
    fasta: str,
    site_names: tuple[str, ...],
    site_table: str | None,
    output: str,
    plot: str | None,
    model: str | None,
    stringency: str | None,
    threshold: float | None,
    specificity: float | None,
    engine: str,
) -> None:
    """Why does a site score high? Score every substitution at every position of its window.

    SITE is PROTEIN:S473 (protein id, UniProt accession, entry name or gene; S473 alone for a one-protein FASTA).
    Writes one row per site x offset x substitute: protein_id, site, position, offset, mutation, wild_type,
    substitute, score, delta, percentile, delta_percentile, predicted, model.

    \b
    Example:
      phosnet explain proteins.fasta P49841:S9 P31749:S473 -o explain.tsv --plot explain.pdf
    """
    from tqdm import tqdm

    from phosnet.calling import check_threshold_options
    from phosnet.cli._options import is_quiet
    from phosnet.explainer import SITES_PER_BATCH, explain_iter, resolve_sites
    from phosnet.io.outputs import check_outputs, model_inputs
    from phosnet.io.tables import write_table
    from phosnet.mutations import ProteinIndex, site_scorer
    from phosnet.plots import figure_target, plot_explain

    check_threshold_options(threshold, specificity, stringency)  # before reading any input
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
    scorer = site_scorer(model, threshold=threshold, specificity=specificity, stringency=stringency,
                         engine=engine)
    quiet = is_quiet(ctx)
    frames = []
    batches = tqdm(
        explain_iter(proteins.sequences, sites, scorer=scorer), total=-(-len(sites) // SITES_PER_BATCH),
        unit=" batches", disable=True if quiet else None, file=sys.stderr, leave=False, desc="phosnet explain",
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
    if plot:
        import pandas as pd

        written = plot_explain(pd.concat(frames, ignore_index=True), plot, threshold=scorer.threshold)
        logger.info("wrote %d figure file(s) to %s", len(written), plot)
