"""``phosnet explain``: saturation mutagenesis of sites' windows, as a tidy table and figures."""

from __future__ import annotations

import click

from phosnet.cli._options import call_options, engine_option, model_option


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
    substitute, score, delta, percentile, delta_percentile, precision, predicted, model.

    \b
    Example:
      phosnet explain proteins.fasta P49841:S9 P31749:S473 -o explain.tsv --plot explain.pdf
    """
    from phosnet.calling import check_threshold_options
    from phosnet.cli._options import is_quiet
    from phosnet.explain_files import explain_to_files

    check_threshold_options(threshold, specificity, stringency)  # before reading any input
    explain_to_files(fasta, site_names, site_table, output, plot=plot, model=model, threshold=threshold,
                     specificity=specificity, stringency=stringency, engine=engine,
                     progress=False if is_quiet(ctx) else None)
