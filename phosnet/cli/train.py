"""``phosnet train`` and ``phosnet evaluate``: parse options, call :mod:`phosnet.akt`, print a summary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from phosnet.io.run_folder import CORE_FILES, METRICS_FILE, MODEL_RECORD_FILE, PREDICTIONS_FILE, SPLITS_FILE
from phosnet.models.recurrent import ARCHITECTURES
from phosnet.windows import DEFAULT_FLANK, DEFAULT_RESIDUES

_EXISTING = click.Path(exists=True, dir_okay=False, path_type=Path)

RUN_FILES = (
    *CORE_FILES, SPLITS_FILE, MODEL_RECORD_FILE, PREDICTIONS_FILE, "validation_roc.png", "validation_pr.png",
    "test_roc.png", "test_pr.png",
)
"""Files ``phosnet train`` writes in its run folder (and, for the training core's ones, in its subfolders)."""

EVALUATE_FILES = (METRICS_FILE, PREDICTIONS_FILE, "roc.png", "pr.png")
"""Files ``phosnet evaluate -o DIR`` writes."""


def _summary(metrics: dict[str, Any]) -> str:
    sens = metrics["sensitivity"]
    return (
        f"ROC-AUC {metrics['roc_auc']:.3f}  PR-AUC {metrics['pr_auc']:.3f}  "
        + "  ".join(f"Sn@Sp{float(k):.0%} {v:.3f}" for k, v in sens.items())
        + f"  ({metrics['positives']} positives / {metrics['n']} sites)"
    )


@click.command("train")
@click.argument("sites", type=_EXISTING)
@click.argument("proteins", type=_EXISTING)
@click.option("-o", "--out-dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Run folder: model.keras, model.json, history.tsv, metrics.json, plots.")
@click.option("--recipe", default=None,
              help="A recipe shipped with phosnet, by name: akt-default trains the way the bundled model was "
                   "trained. --config and the options below override it.")
@click.option("--config", "config", type=_EXISTING, default=None,
              help="Training recipe (YAML or JSON; see phosnet.akt.Recipe). Options below override it.")
@click.option("--epochs", type=click.IntRange(1), default=None, help="Maximum epochs (recipe default: 20).")
@click.option("--batch-size", type=click.IntRange(1), default=None, help="Batch size (recipe default: 64).")
@click.option("--ensemble", type=click.IntRange(1), default=None, help="Members (seeds) combined into one model.")
@click.option("--pretrain", type=_EXISTING, default=None,
              help="window,label table of general phosphosites to pretrain on before the AKT sites.")
@click.option("--hard-negatives", type=_EXISTING, default=None,
              help="Table of known phosphosites (accession, position): training negatives listed there weigh the "
                   "recipe's hard_negative_weight.")
@click.option("--seed", type=int, default=0, help="Seed of the first member (member i uses seed + i).")
@click.option("--flank", type=click.IntRange(0), default=DEFAULT_FLANK, help="Residues each side of the site.")
@click.option("--residues", default=DEFAULT_RESIDUES, help="Candidate residues (negatives of positives-only tables).")
@click.option("--kinases", default=None, metavar="K1,K2",
              help="The kinases the model predicts (recorded in its metadata; positives of other kinases only "
                   "become negatives)  [default: those SITES' kinases column names, else AKT1,AKT2,AKT3]")
@click.option("--split-column", default="split",
              help="Column with train/validation/test. Without it, proteins (or 'cluster' values) are split "
                   "at random 70/15/15 with --split-seed.")
@click.option("--split-seed", type=int, default=0, help="Seed of that random split.")
@click.option("--validation-split", type=click.FloatRange(0.01, 0.5), default=0.15,
              help="Share of proteins for validation when the table has no split column.")
@click.option("--test-split", type=click.FloatRange(0.0, 0.5), default=0.15,
              help="Share of proteins for test when the table has no split column.")
@click.option("--name", default="akt-custom", help="Model name recorded in model.json.")
@click.option("--background", type=_EXISTING, default=None, metavar="FASTA",
              help="Reference proteome (e.g. the human proteome): the model scores its every S/T and stores the "
                   "table that gives scans a percentile column and --stringency levels.")
@click.option("--resume", is_flag=True, help="Continue an interrupted run in --out-dir.")
@click.option("--architecture", type=click.Choice(ARCHITECTURES), default=None,
              help="Network (default: the recipe's, conv1d): the Conv1D+BN net, or recurrent: bidirectional LSTM/"
                   "GRU, conv1 then a BiLSTM, plain SimpleRNN (scanning those needs TensorFlow).")
@click.pass_context
def train(ctx: click.Context, sites: Path, proteins: Path, out_dir: Path, recipe: str | None, config: Path | None,
          epochs: int | None, batch_size: int | None, ensemble: int | None, pretrain: Path | None,
          hard_negatives: Path | None, seed: int, flank: int, residues: str, kinases: str | None, split_column: str,
          split_seed: int, validation_split: float, test_split: float, name: str, background: Path | None,
          resume: bool, architecture: str | None) -> None:
    """Train an AKT site model on SITES (a site table) and PROTEINS (FASTA).

    SITES lists protein_id and position, with a 0/1 label for every candidate or only the positives (then every
    other S/T of those proteins is a negative). Thresholds at 90/95/99% specificity are set on the validation
    split; test metrics are reported when there is a test split.
    """
    from phosnet._tf import require_tensorflow

    require_tensorflow("phosnet train")

    from phosnet.cli._options import is_quiet
    from phosnet.io.outputs import check_run_folder
    from phosnet.windows import check_window_options

    try:
        residues = check_window_options(residues, flank)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--residues") from None
    check_run_folder(out_dir, RUN_FILES, [sites, proteins, config, pretrain, hard_negatives])
    from phosnet.akt import read_config
    from phosnet.akt import train as train_api
    from phosnet.bundle import command_line

    quiet = is_quiet(ctx)
    command = command_line()  # with TensorFlow's thread settings: they change the trained weights
    values = read_config(config) if config is not None else {}
    if hard_negatives is not None:
        values["hard_negatives"] = str(hard_negatives)
    if recipe is not None:
        from phosnet.recipes import load_recipe

        values = load_recipe(recipe, {**values, "pretrain": str(pretrain) if pretrain is not None else None})
    if architecture is not None:
        values["model"] = {**(values.get("model") or {}), "architecture": architecture}
    from phosnet.akt.recipe import resolve_recipe

    # the whole resolved recipe, checked before TensorFlow is imported and before the run folder exists
    resolve_recipe(values, source=str(config) if config is not None else (f"recipe {recipe}" if recipe else None),
                   epochs=epochs, batch_size=batch_size, ensemble=ensemble,
                   pretrain=str(pretrain) if pretrain is not None else None)
    result = train_api(
        sites, proteins, out_dir=out_dir, config=values, epochs=epochs, batch_size=batch_size, seed=seed,
        flank=flank, residues=residues, split_column=split_column, split_seed=split_seed,
        validation_fraction=validation_split, test_fraction=test_split, pretrain=pretrain, ensemble=ensemble,
        resume=resume, name=name, command=command, progress=not quiet, background=background,
        kinases=[k.strip() for k in kinases.split(",") if k.strip()] if kinases else None,
    )
    click.echo(f"validation  {_summary(result.metrics['validation'])}")
    if "test" in result.metrics:
        click.echo(f"test        {_summary(result.metrics['test'])}")
    stored = result.metadata.get("background")
    if stored:
        levels = stored["stringency"].items()
        click.echo("stringency  " + "  ".join(
            f"{level} (top {n['top_percent']:g}%) score >= {n['threshold']:.4g}" for level, n in levels
        ) + f"  (background: {stored['sites']:,} S/T of {stored['source']})")
    click.echo(f"model: {result.run_dir / 'model.keras'}")


@click.command("evaluate")
@click.argument("model", type=str)
@click.argument("sites", type=_EXISTING)
@click.argument("proteins", type=_EXISTING)
@click.option("-o", "--out-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write metrics.json, predictions.tsv, roc.png and pr.png here.")
@click.option("--split", default="test",
              help="Rows of this split ('all' for every row): from SITES' split column, else from the split "
                   "recorded in MODEL's run folder; without either every row is used, and the output says so.")
@click.option("--split-column", default="split", help="Column holding the split.")
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON instead of one line.")
def evaluate(model: str, sites: Path, proteins: Path, out_dir: Path | None, split: str, split_column: str,
             as_json: bool) -> None:
    """Rate MODEL on SITES and PROTEINS: ROC-AUC, PR-AUC, sensitivity, MCC and thresholds.

    MODEL is a bundled model name (e.g. akt-default), a .keras file or a run folder.
    """
    from phosnet.io.outputs import check_outputs

    if not model.strip():
        raise click.BadParameter("is empty; give a bundled model name, a .keras file or a run folder",
                                 param_hint="MODEL")
    if out_dir is not None:
        model_inputs = [model] if Path(model).exists() else []
        check_outputs({f"--out-dir ({name})": out_dir / name for name in EVALUATE_FILES},
                      [sites, proteins, *model_inputs])
    from phosnet.akt import evaluate as evaluate_api

    result = evaluate_api(model, sites, proteins, split=split, split_column=split_column, out_dir=out_dir)
    if as_json:
        click.echo(json.dumps(result.metrics, indent=2))
    else:
        m = result.metrics
        click.echo(f"{m['model']} on {m['split']} ({m['proteins']} proteins; split from {m['split_source']}): "
                   f"{_summary(m)}")
