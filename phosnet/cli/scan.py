"""``phosnet scan``: score every candidate residue of FASTA files and write a tidy site table.

Parses the options and calls :func:`phosnet.scan.scan_to_file`. Inputs are checked (files exist, first record
parses, model file found, options consistent) before the model is loaded, so mistakes are reported at once.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import click

from phosnet.batches import DEFAULT_BATCH_SIZE
from phosnet.cli._options import call_options, engine_option, model_option
from phosnet.io.tables import KIND_FORMATS


class _Progress:
    """A tqdm bar on stderr; silent when stderr is not a terminal.

    With ``total_bytes`` (the input files' size; compressed bytes for ``.gz``) it counts bytes read, so it
    shows a percentage and the time left; otherwise (standard input) it counts sites. Proteins and sites
    go in its postfix.
    """

    def __init__(self, disable: bool | None, total_bytes: int | None = None,
                 bytes_read: Callable[[], int] | None = None) -> None:
        from tqdm import tqdm

        self.proteins = self.sites = 0
        self.bytes_read = bytes_read if total_bytes else None
        if self.bytes_read is not None:
            self.bar = tqdm(total=total_bytes, unit="B", unit_scale=True, unit_divisor=1024, disable=disable,
                            file=sys.stderr, dynamic_ncols=True, desc="phosnet scan", leave=False, mininterval=0.5)
        else:
            self.bar = tqdm(unit=" sites", unit_scale=True, disable=disable, file=sys.stderr, dynamic_ncols=True,
                            desc="phosnet scan", leave=False, mininterval=0.5)

    def __call__(self, proteins: int, sites: int) -> None:
        self.proteins += proteins
        self.sites += sites
        if self.bytes_read is not None:
            self.bar.set_postfix_str(f"{self.proteins:,} proteins, {self.sites:,} sites", refresh=False)
            self.bar.update(self.bytes_read() - self.bar.n)
        else:
            self.bar.set_postfix_str(f"{self.proteins:,} proteins", refresh=False)
            self.bar.update(sites)

    def close(self) -> None:
        self.bar.close()


@click.command("scan")
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")
@click.option("-o", "--output", default="-", metavar="PATH",
              help="Output file ('-' = stdout); the format follows the suffix (.tsv, .csv, .gff3).")
@model_option
@click.option("--residues", default=None, metavar="LETTERS",
              help="Candidate residues, a subset of the model's (S or T of an ST model; others are refused)  "
                   "[default: the model's, e.g. ST]")
@call_options
@click.option("--predicted-only", is_flag=True, help="Write only the residues predicted as sites.")
@click.option("--format", "fmt", type=click.Choice(KIND_FORMATS["sites"]), default=None,
              help="Output format  [default: from the output suffix; tsv for stdout]")
@click.option("--batch-size", type=click.IntRange(min=1), default=DEFAULT_BATCH_SIZE, help="Windows per batch.")
@click.option("--summary", default=None, metavar="PATH",
              help="Also write a JSON summary (version, model, threshold, counts).")
@engine_option
@click.pass_context
def scan(
    ctx: click.Context,
    inputs: tuple[str, ...],
    output: str,
    model: str | None,
    residues: str | None,
    stringency: str | None,
    threshold: float | None,
    specificity: float | None,
    predicted_only: bool,
    fmt: str | None,
    batch_size: int,
    summary: str | None,
    engine: str,
) -> None:
    """Score every S/T (or --residues) of the proteins in INPUT (FASTA, .gz, or '-' for stdin).

    Writes one row per candidate residue: protein_id, accession, gene, position (1-based), residue, window,
    score, percentile (0-100 against the model's human-proteome background), precision, precision_low,
    precision_high (calibrated: the out-of-fold share of known sites among substrate S/T scored at or above
    that percentile, with its 95% interval), predicted, model. Ends with one line on stderr (proteins, sites,
    calls, seconds, output) unless -q.

    \b
    Example:
      phosnet scan proteome.fasta.gz -o sites.tsv --stringency high
    """
    from phosnet.calling import check_threshold_options
    from phosnet.cli._options import is_quiet
    from phosnet.errors import InputError
    from phosnet.io.outputs import check_outputs, model_inputs
    from phosnet.io.sequences import checked_fasta_inputs
    from phosnet.io.tables import table_format
    from phosnet.scan import prepare_process, resolve_settings, scan_to_file

    quiet = is_quiet(ctx)
    check_threshold_options(threshold, specificity, stringency)
    if model is not None and not model.strip():
        raise InputError("--model is empty; give a bundled model name, a .keras file or a run folder")
    check_outputs({"--output": output, "--summary": summary}, [*inputs, *model_inputs(model)])
    output_format = table_format(output, fmt, kind="sites")
    records = checked_fasta_inputs(inputs)
    prepare_process(records.total_bytes, engine)
    settings = resolve_settings(model, residues=residues, threshold=threshold, specificity=specificity,
                                stringency=stringency, engine=engine)
    progress = _Progress(disable=True if quiet else None, total_bytes=records.total_bytes,
                         bytes_read=records.bytes_read)
    try:
        report = scan_to_file(
            records, output, settings=settings, output_format=output_format, predicted_only=predicted_only,
            batch_size=batch_size, callback=progress, summary=summary, summary_extra={"inputs": list(inputs)},
        )
    finally:
        progress.close()
    if not quiet:
        click.echo(report.completion_line(), err=True)
