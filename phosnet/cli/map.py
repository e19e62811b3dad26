"""``phosnet map``: each protein's site map (score along the sequence, calls labelled, known sites marked)."""

from __future__ import annotations

import logging
import os
import sys

import click

from phosnet.cli._options import call_options, engine_option, model_option
from phosnet.io.tables import FIGURE_FORMATS

logger = logging.getLogger(__name__)


@click.command("map")
@click.argument("fasta", metavar="FASTA")
@click.argument("proteins", nargs=-1, metavar="[PROTEIN]...")
@click.option("-o", "--output", required=True, metavar="PATH",
              help="A .png/.svg/.pdf for one protein; a .pdf (a page per protein) or a folder for several.")
@click.option("--sites", "known_sites", default=None, metavar="PATH",
              help="Known sites to mark (site table: protein_id, position; rows labelled 0 are skipped).")
@click.option("--value", type=click.Choice(["score", "percentile"]), default="score",
              help="What to draw along the sequence (percentile needs a model with a background).")
@click.option("--format", "fmt", type=click.Choice(FIGURE_FORMATS), default=None,
              help="File format in a folder  [default: png]")
@model_option
@call_options
@engine_option
def map_command(
    fasta: str,
    proteins: tuple[str, ...],
    output: str,
    known_sites: str | None,
    value: str,
    fmt: str | None,
    model: str | None,
    stringency: str | None,
    threshold: float | None,
    specificity: float | None,
    engine: str,
) -> None:
    """Draw the site map of the proteins in FASTA (or only the PROTEINs named: id, accession, entry name or gene).

    \b
    Example:
      phosnet map proteins.fasta P31749 FOXO3_HUMAN --sites known.tsv -o maps.pdf
    """
    from tqdm import tqdm

    from phosnet.calling import check_threshold_options
    from phosnet.io.outputs import check_outputs, model_inputs
    from phosnet.maps import plot_map

    check_threshold_options(threshold, specificity, stringency)  # before reading any input
    if not (output.endswith(("/", os.sep)) or os.path.isdir(output)):  # a folder takes one file per protein
        check_outputs({"--output": output}, [fasta, known_sites, *model_inputs(model)])
    quiet = bool(getattr(click.get_current_context().obj, "quiet", False))
    bar = tqdm(unit=" proteins", disable=True if quiet else None, file=sys.stderr, leave=False, desc="phosnet map")

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.update(done)

    try:
        written = plot_map(fasta, output, proteins=list(proteins) or None, known_sites=known_sites, value=value,
                           model=model, threshold=threshold, specificity=specificity, stringency=stringency,
                           engine=engine, fmt=fmt, callback=progress)
    finally:
        bar.close()
    logger.info("wrote %d file(s): %s", len(written), output)
