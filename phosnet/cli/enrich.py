"""``phosnet enrich``: did AKT go up or down in an experiment? Activity score, Fisher tests, driver sites."""

from __future__ import annotations

import logging
import os

import click

from phosnet.cli._options import call_options, model_option
from phosnet.io.tables import write_table

logger = logging.getLogger(__name__)


@click.command("enrich")
@click.argument("table", metavar="SCORED_TABLE")
@click.option("--contrast", "contrasts", multiple=True, required=True, metavar="COL|NAME=COL1,COL2,...",
              help="A log2 fold-change column (repeat for more contrasts), or NAME=COL1,COL2,... to summarise "
                   "several sample columns by their mean (with a one-sample t-test as p-value).")
@click.option("--pvalue", "pvalues", multiple=True, metavar="COL",
              help="P-value (or adjusted p-value) column for the Fisher test, one per --contrast in order.")
@click.option("--fc-cutoff", type=float, default=1.0, help="Regulated: |log2 fold change| >= this ...")
@click.option("--p-cutoff", type=float, default=0.05, help="... and p <= this (when a p-value is known).")
@click.option("--permutations", type=int, default=1000, help="Random site sets for the running-sum p-value.")
@click.option("--seed", type=int, default=0, help="Seed of the permutations.")
@click.option("--min-sites", type=int, default=5, help="Fewest predicted AKT sites with a value a contrast needs.")
@click.option("-o", "--output", default="-", metavar="PATH",
              help="Activity table, one row per contrast ('-' = stdout); .csv for CSV, else tab-separated.")
@click.option("--drivers", default=None, metavar="PATH",
              help="Side table of the predicted AKT sites of each contrast, leading-edge drivers first.")
@click.option("--plots", default=None, metavar="DIR|PDF",
              help="Volcano plot and running-sum plot per contrast: a folder of PNGs or one multi-page .pdf.")
@model_option
@call_options
def enrich(
    table: str,
    contrasts: tuple[str, ...],
    pvalues: tuple[str, ...],
    fc_cutoff: float,
    p_cutoff: float,
    permutations: int,
    seed: int,
    min_sites: int,
    output: str,
    drivers: str | None,
    plots: str | None,
    model: str | None,
    stringency: str | None,
    threshold: float | None,
    specificity: float | None,
) -> None:
    """Is AKT activated or inhibited in an experiment? Test whether the predicted AKT sites of a scored site
    table (phosnet sites / phosnet scan output, or any table with a score column) move up or down.

    Per contrast: the AKT activity score (KSEA z-score; positive = AKT substrates up = AKT activated) with its
    p-value, the weighted KS running-sum enrichment (ES, NES, permutation p-value), and Fisher's exact tests of
    AKT sites among up- and down-regulated sites. Predicted AKT sites: the table's call column, or score >=
    the threshold of --stringency/--specificity/--threshold.

    \b
    Example:
      phosnet enrich scored.tsv --contrast Ins_exp1 --contrast insulin=Ins_exp1,Ins_exp2,Ins_exp3 \\
          -o activity.tsv --drivers drivers.tsv --plots figures/
    """
    from phosnet.calling import check_threshold_options
    from phosnet.enrichment import enrich as run
    from phosnet.io.outputs import check_outputs, model_inputs
    from phosnet.plots import figure_target, plot_enrich

    check_threshold_options(threshold, specificity, stringency)  # before reading any input
    plot_file = plots if plots and not plots.endswith(("/", os.sep)) and not os.path.isdir(plots) else None
    check_outputs({"--output": output, "--drivers": drivers, "--plots": plot_file}, [table, *model_inputs(model)])
    if plots:
        figure_target(plots, 2 * len(contrasts))
    result = run(table, list(contrasts), pvalues=list(pvalues) or None, model=model, threshold=threshold,
                 specificity=specificity, stringency=stringency, fc_cutoff=fc_cutoff, p_cutoff=p_cutoff,
                 permutations=permutations, seed=seed, min_sites=min_sites)
    write_table(result.activity, output)
    if drivers:
        write_table(result.drivers, drivers)
    for row in result.activity.itertuples():
        logger.info("%s: AKT activity %.3g (p %.3g), ES %.3g (p %.3g): %s", row.contrast, row.akt_activity,
                    row.ksea_p, row.gsea_es, row.gsea_p, row.direction or row.note)
    if plots:
        written = plot_enrich(result, plots, fc_cutoff=fc_cutoff, p_cutoff=p_cutoff)
        logger.info("wrote %d figure file(s) to %s", len(written), plots)
