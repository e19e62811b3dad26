"""``phosnet sites``: score an experiment's measured phosphosites (a table), one row per site, input echoed."""

from __future__ import annotations

import logging
import os

import click

from phosnet.cli._options import call_options, engine_option, model_option
from phosnet.io.site_tables import FORMS
from phosnet.io.tables import write_table

logger = logging.getLogger(__name__)


def _unplaced_path(output: str, unplaced: str | None) -> str | None:
    """Where the skipped rows go: ``--unplaced``, else beside a file output (``out.unplaced.tsv``)."""
    if unplaced is not None or output == "-":
        return unplaced
    base = os.fspath(output)
    for suffix in (".gz", ".tsv", ".csv", ".txt"):
        if base.lower().endswith(suffix):
            base = base[: -len(suffix)]
    return f"{base}.unplaced.tsv"


@click.command("sites")
@click.argument("table", metavar="TABLE")
@click.option("-f", "--fasta", default=None, metavar="FASTA",
              help="The proteins the table's ids or peptides refer to (needed for the protein and peptide forms).")
@click.option("-o", "--output", default="-", metavar="PATH",
              help="Scored site table ('-' = stdout); .csv for CSV, else tab-separated; .gz compressed.")
@click.option("--format", "form", type=click.Choice(["auto", *FORMS]), default="auto",
              help="The table's form; auto = told from the column names (and content).")
@click.option("--column", "column_roles", multiple=True, metavar="ROLE=NAME",
              help="The column holding a role when its name is unusual (roles: protein, position, residue, "
                   "peptide, window, gene), e.g. --column peptide='Modified sequence'.")
@click.option("--min-localization", type=float, default=None, metavar="P",
              help="MaxQuant tables: keep sites with Localization prob >= P (0.75 = class I)  [default: all]")
@click.option("--sheet", default=None, metavar="NAME", help="Excel input: the sheet to read [default: the first].")
@click.option("--skip-unplaced", is_flag=True,
              help="Rows that cannot be placed (unknown protein, position off the protein, residue not S/T/Y, "
                   "peptide not found) are counted and written apart instead of stopping with an error.")
@click.option("--unplaced", default=None, metavar="PATH",
              help="With --skip-unplaced: the table of skipped rows (line, input, reason) [default: beside "
                   "--output as NAME.unplaced.tsv; none for stdout].")
@model_option
@call_options
@engine_option
def sites(
    table: str,
    fasta: str | None,
    output: str,
    form: str,
    column_roles: tuple[str, ...],
    min_localization: float | None,
    sheet: str | None,
    skip_unplaced: bool,
    unplaced: str | None,
    model: str | None,
    stringency: str | None,
    threshold: float | None,
    specificity: float | None,
    engine: str,
) -> None:
    """Score the measured sites of TABLE (a phosphoproteomics result): one row per site, the input row echoed.

    TABLE is TSV/CSV (.gz) or Excel (.xlsx, with openpyxl) in one of four forms, told from its columns:
    protein + position (+ residue) with --fasta; phosphopeptides with the site marked (AAGS(ph)PEK,
    AAG(pS)PEK, AAGpSPEK, AAGsPEK, _AAGS(Phospho (STY))PEK_, S[+80] ...) mapped onto every --fasta protein
    they occur in; sequence windows centred on the site (13-31 residues, _ or X padding), scored directly;
    MaxQuant's Phospho (STY)Sites.txt (reverse and contaminant rows dropped and counted).

    Output columns: line, input, the table's own columns, protein, accession, gene, position, residue, site,
    window, matches, score, percentile, precision, precision_low, precision_high, call, status, reason, model.
    Scores, percentiles, precisions and calls are those
    phosnet scan gives for the same protein and position. Y sites are listed as 'not scored'.

    \b
    Examples:
      phosnet sites sites.tsv --fasta proteome.fasta -o scored.tsv
      phosnet sites "Phospho (STY)Sites.txt" --min-localization 0.75 -o scored.tsv
      phosnet sites windows.csv --stringency high -o scored.csv
    """
    from phosnet.errors import InputError
    from phosnet.io.outputs import check_outputs, model_inputs
    from phosnet.io.site_tables import describe_dropped, read_site_table
    from phosnet.measured import score_site_table
    from phosnet.scan import check_threshold_options

    check_threshold_options(threshold, specificity, stringency)  # before reading any input
    if unplaced is not None and not skip_unplaced:
        raise InputError("--unplaced needs --skip-unplaced")
    roles = {}
    for item in column_roles:
        role, sep, name = item.partition("=")
        if not sep or role not in {"protein", "position", "residue", "peptide", "window", "gene"}:
            raise InputError(f"--column {item!r}: write ROLE=NAME with ROLE one of protein, position, residue, "
                             "peptide, window, gene")
        roles[role] = name
    side = _unplaced_path(output, unplaced) if skip_unplaced else None
    check_outputs({"--output": output, "--unplaced": side}, [table, fasta, *model_inputs(model)])
    site_table = read_site_table(table, form=None if form == "auto" else form, columns=roles or None,
                                 min_localization=min_localization, sheet=sheet)
    dropped = describe_dropped(site_table.dropped)
    if dropped:
        logger.warning("%s: dropped %s of %s rows", table, dropped, f"{site_table.rows_read:,}")
    result = score_site_table(site_table, fasta, model=model, threshold=threshold, specificity=specificity,
                              stringency=stringency, engine=engine, skip_unplaced=skip_unplaced)
    if skip_unplaced and len(result.unplaced):
        where = f" (listed in {side})" if side else ""
        logger.warning("%s: %d rows cannot be placed and were skipped%s; first: line %d: %s", table,
                       len(result.unplaced), where, result.unplaced["line"].iloc[0],
                       result.unplaced["reason"].iloc[0])
    write_table(result.sites, output)
    if side is not None:
        write_table(result.unplaced, side)
    logger.info("phosnet sites: %s -> %s", result.summary_line(), "stdout" if output == "-" else output)
