"""``phosnet scan``: score every candidate residue of FASTA files and write a tidy site table.

Inputs are checked (files exist, first record parses, model file found, options consistent) before the model
is loaded, so mistakes are reported at once. The output is written batch by batch into a temporary file
that is renamed into place only when the scan completes.
"""

from __future__ import annotations

import itertools
import logging
import os
import sys
import time
from collections.abc import Iterator
from typing import Any

import click

from phosnet.errors import InputError, PhosnetError

logger = logging.getLogger(__name__)


def _checked_inputs(inputs: tuple[str, ...]) -> Iterator[tuple[str, str]]:
    """Open every input and parse its first record now (errors before any work); chain them lazily."""
    from phosnet.io.fasta import read_fasta

    if sum(1 for i in inputs if i == "-") > 1:
        raise InputError("standard input ('-') can be given only once")
    streams = []
    for name in inputs:
        records = read_fasta(name)
        first = next(records)  # read_fasta raises InputError for an empty or malformed file
        streams.append(itertools.chain([first], records))
    return ((p.protein_id, p.sequence) for p in itertools.chain.from_iterable(streams))


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
@click.option("--batch-size", type=click.IntRange(min=1), default=16384, help="Windows per batch.")
@click.option("--summary", default=None, metavar="PATH",
              help="Also write a JSON summary (version, model, threshold, counts).")
@click.option("--engine", type=click.Choice(["auto", "numpy", "tensorflow", "keras"]), default="auto",
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
    from phosnet.encoding import ALPHABET
    from phosnet.io.atomic import atomic_output
    from phosnet.io.writers import SiteWriter, format_for
    from phosnet.scan import resolve_settings, scan_batches, summary_dict, write_json

    state = ctx.obj
    quiet = quiet or bool(getattr(state, "quiet", False))
    if threshold is not None and specificity is not None:
        raise InputError("give --threshold or --specificity, not both")
    output_format = format_for(output, fmt)
    pairs = _checked_inputs(inputs)
    settings = resolve_settings(model, residues=residues, threshold=threshold, specificity=specificity, engine=engine)
    progress = _Progress(disable=True if quiet else None)
    started = time.perf_counter()
    counts = {"proteins": 0, "sites": 0, "predicted": 0, "rows_written": 0}
    model_name = settings.model.name
    try:
        with atomic_output(output) as handle:
            writer = SiteWriter(handle, output_format)
            writer.write_header()
            for batch in scan_batches(pairs, settings, batch_size=batch_size, callback=progress):
                counts["proteins"] += batch.n_proteins
                counts["sites"] += len(batch)
                counts["predicted"] += int(batch.predicted.sum())
                rows = batch.select(batch.predicted) if predicted_only else batch
                writer.write_codes(
                    rows.protein_ids, rows.protein_index, rows.positions, rows.windows, rows.scores, rows.predicted,
                    model_name, ALPHABET,
                )
            counts["rows_written"] = writer.rows
            handle.flush()
    except BrokenPipeError:
        # The reader went away (`| head`): a normal way to stop, not an error. Point stdout at /dev/null so
        # that Python's flush at exit does not complain, and exit 0 (click would exit 1 on EPIPE).
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):  # stdout without a file descriptor (captured in tests)
            pass
        logger.info("output closed by the reader; stopped")
        raise click.exceptions.Exit(0) from None
    except OSError as exc:
        raise PhosnetError(f"{output}: cannot write ({exc.strerror or exc})") from None
    finally:
        progress.close()
    elapsed = time.perf_counter() - started
    if summary:
        info: dict[str, Any] = summary_dict(
            settings, inputs=list(inputs), output=output, format=output_format, predicted_only=predicted_only,
            **counts, seconds=round(elapsed, 3),
        )
        write_json(summary, info)
    logger.info(
        "scanned %s proteins, %s sites, %s predicted (threshold %.4g) in %.1f s",
        f"{counts['proteins']:,}", f"{counts['sites']:,}", f"{counts['predicted']:,}", settings.threshold, elapsed,
    )
