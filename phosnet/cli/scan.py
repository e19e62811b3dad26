"""``phosnet scan``: score every candidate residue of FASTA files and write a tidy site table.

Parses the options and calls :func:`phosnet.scan.scan_to_file`. Inputs are checked (files exist, first record
parses, model file found, options consistent) before the model is loaded, so mistakes are reported at once.
"""

from __future__ import annotations

import sys

import click

from phosnet.batches import DEFAULT_BATCH_SIZE
from phosnet.engines import ENGINES


class _Progress:
    """A tqdm bar on stderr (sites, with proteins as a postfix); silent when stderr is not a terminal."""

    def __init__(self, disable: bool | None) -> None:
        from tqdm import tqdm

        self.proteins = 0
        self.bar = tqdm(
            unit=" sites", unit_scale=True, disable=disable, file=sys.stderr, dynamic_ncols=True,
            desc="phosnet scan", leave=False, mininterval=0.5,
        )

    def __call__(self, proteins: int, sites: int) -> None:
        self.proteins += proteins
        self.bar.set_postfix_str(f"{self.proteins:,} proteins", refresh=False)
        self.bar.update(sites)

    def close(self) -> None:
        self.bar.close()


@click.command("scan")
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")
@click.option("-o", "--output", default="-", metavar="PATH",
              help="Output file ('-' = stdout); the format follows the suffix (.tsv, .csv, .gff3).")
@click.option("-m", "--model", default=None, metavar="NAME|PATH",
              help="Bundled model name, .keras file or training run folder  [default: the bundled akt-default]")
@click.option("--residues", default=None, metavar="LETTERS",
              help="Candidate residues, from S, T, Y  [default: the model's, e.g. ST]")
@click.option("--threshold", type=float, default=None,
              help="Call a site when score >= this  [default: the model's threshold at its default specificity]")
@click.option("--specificity", type=float, default=None,
              help="Use the model's stored threshold for this specificity (e.g. 0.95).")
@click.option("--predicted-only", is_flag=True, help="Write only the residues predicted as sites.")
@click.option("--format", "fmt", type=click.Choice(["tsv", "csv", "gff3"]), default=None,
              help="Output format  [default: from the output suffix; tsv for stdout]")
@click.option("--batch-size", type=click.IntRange(min=1), default=DEFAULT_BATCH_SIZE, help="Windows per batch.")
@click.option("--summary", default=None, metavar="PATH",
              help="Also write a JSON summary (version, model, threshold, counts).")
@click.option("--engine", type=click.Choice(ENGINES), default="auto",
              help="Prediction engine (all give the same scores; auto = numpy when the model allows).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@click.pass_context
def scan(
    ctx: click.Context,
    inputs: tuple[str, ...],
    output: str,
    model: str | None,
    residues: str | None,
    threshold: float | None,
    specificity: float | None,
    predicted_only: bool,
    fmt: str | None,
    batch_size: int,
    summary: str | None,
    engine: str,
    quiet: bool,
) -> None:
    """Score every S/T (or --residues) of the proteins in INPUT (FASTA, .gz, or '-' for stdin).

    Writes one row per candidate residue: protein_id, position (1-based), residue, window, score,
    predicted, model.

    \b
    Example:
      phosnet scan proteome.fasta.gz -o sites.tsv --specificity 0.95
    """
    from phosnet.io.sequences import checked_fasta_inputs
    from phosnet.io.writers import format_for
    from phosnet.scan import check_threshold_options, resolve_settings, scan_to_file

    quiet = quiet or bool(getattr(ctx.obj, "quiet", False))
    check_threshold_options(threshold, specificity)
    output_format = format_for(output, fmt)
    pairs = checked_fasta_inputs(inputs)
    settings = resolve_settings(model, residues=residues, threshold=threshold, specificity=specificity, engine=engine)
    progress = _Progress(disable=True if quiet else None)
    try:
        report = scan_to_file(
            pairs, output, settings=settings, output_format=output_format, predicted_only=predicted_only,
            batch_size=batch_size, callback=progress, summary=summary, summary_extra={"inputs": list(inputs)},
        )
    finally:
        progress.close()
    if report.closed_early:
        raise click.exceptions.Exit(0)  # `| head` is a normal way to stop (click would exit 1 on EPIPE)
