"""``phosnet variants``: what missense variants do to the AKT sites around them, streamed to a table."""

from __future__ import annotations

import logging
import sys
from collections import Counter
from collections.abc import Iterator
from typing import TYPE_CHECKING

import click

from phosnet.cli._options import call_options, engine_option, model_option

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger(__name__)


@click.command("variants")
@click.argument("fasta", metavar="FASTA")
@click.argument("variants", metavar="VARIANTS")
@click.option("-o", "--output", default="-", metavar="PATH",
              help="Table ('-' = stdout); .csv for CSV, else tab-separated.")
@model_option
@call_options
@engine_option
@click.pass_context
def variants(
    ctx: click.Context,
    fasta: str,
    variants: str,
    output: str,
    model: str | None,
    stringency: str | None,
    threshold: float | None,
    specificity: float | None,
    engine: str,
) -> None:
    """Score the S/T sites around each missense variant with the reference and the alternative residue.

    VARIANTS is a TSV (or .csv) with columns protein_id (FASTA id, UniProt accession, entry name or gene) and
    variant (R23W or p.Arg23Trp). Writes one row per variant x S/T whose window holds it: protein_id,
    variant, hgvs, site, position, offset, ref_score, alt_score, delta, ref/alt/delta percentile,
    ref/alt precision, ref_predicted, alt_predicted, effect (gain, loss, created, destroyed, none), model.

    \b
    Example:
      phosnet variants proteome.fasta cancer_variants.tsv -o variant_sites.tsv
    """
    from tqdm import tqdm

    from phosnet.calling import check_threshold_options
    from phosnet.cli._options import is_quiet
    from phosnet.io.outputs import check_outputs, model_inputs
    from phosnet.io.tables import write_table
    from phosnet.mutations import ProteinIndex, site_scorer
    from phosnet.variants import score_variants_iter

    check_threshold_options(threshold, specificity, stringency)  # before reading any input
    check_outputs({"--output": output}, [fasta, variants, *model_inputs(model)])
    proteins = ProteinIndex(fasta)
    scorer = site_scorer(model, threshold=threshold, specificity=specificity, stringency=stringency,
                         engine=engine)
    quiet = is_quiet(ctx)
    bar = tqdm(unit=" variants", unit_scale=True, disable=True if quiet else None, file=sys.stderr, leave=False,
               desc="phosnet variants")
    effects: Counter[str] = Counter()

    def counted() -> Iterator[pd.DataFrame]:
        for frame in score_variants_iter(proteins, variants, scorer=scorer, callback=bar.update):
            effects.update(frame["effect"])
            yield frame

    try:
        rows = write_table(counted(), output)
    finally:
        bar.close()
    logger.info("%d variant-site rows (call: %s, score >= %.4g): %s", rows, scorer.rule, scorer.threshold,
                ", ".join(f"{effects[e]} {e}" for e in ("gain", "loss", "created", "destroyed", "none")))
