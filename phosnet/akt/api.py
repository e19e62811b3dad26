"""Train and evaluate AKT site models: the Python API behind ``phosnet train`` and ``phosnet evaluate``.

The stages live in :mod:`phosnet.akt.stages`, the recipe in :mod:`phosnet.akt.recipe`.

:func:`train` turns a site table and proteins into labelled windows (:mod:`phosnet.datasets`), builds the
Conv1D + BatchNorm network (:mod:`phosnet.models.sequence`) and fits it with the one training core
(:func:`phosnet.training.train_model`: early stopping, learning-rate reduction and the best checkpoint on
``val_auc`` with ``mode="max"``). A *recipe* (:class:`Recipe`) says how: optional pretraining on general
phosphosites, class weighting, and an ensemble of seeds combined into one Keras model (scores or weights
averaged). Thresholds at 90/95/99% specificity are taken on the validation split, and the run folder gets
everything needed to bundle the model.

Run folder layout::

    model.keras            the final model (members' scores or weights averaged when ensemble > 1)
    model.json             metadata in the bundled-model format (window, thresholds, metrics, checksums, ...)
    metadata.json          the same metadata (what phosnet.bundle.load_model reads in a run folder)
    config.json            the resolved recipe and data options
    metrics.json           validation and test metrics
    history.tsv            per-epoch history of every member and stage (columns member, stage)
    predictions.tsv        validation and test scores, one row per site
    validation_roc.png ... ROC and precision-recall curves per split
    members/member-<i>/{pretrain,finetune}/   the training-core run folders (resume restarts here)
    distill/               the distillation stage's run folder (combine: distill)
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from phosnet.akt.combine import average_models, inference_copy, soup_models
from phosnet.akt.recipe import Recipe, resolve_recipe
from phosnet.akt.stages import StageOptions, distill, train_member
from phosnet.bundle import (
    MODEL_FILE,
    ModelSource,
    bundle_metadata,
    load_model,
    write_bundle,
    write_metadata,
)
from phosnet.calling import DEFAULT_SPECIFICITY, called
from phosnet.datasets import SPLIT_SYNONYMS, LabelledWindows, labelled_windows, read_window_table, table_kinases
from phosnet.engines import make_engine, predict_windows
from phosnet.errors import InputError
from phosnet.evaluation import binary_metrics, plot_curves
from phosnet.io.digest import sha256_file, sha256_if_file
from phosnet.io.jsonio import write_json
from phosnet.io.run_folder import CONFIG_FILE, HISTORY_FILE, METRICS_FILE, PREDICTIONS_FILE, SPLITS_FILE
from phosnet.io.tables import write_table
from phosnet.windows import DEFAULT_FLANK, DEFAULT_RESIDUES

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from phosnet.bundle import KerasModel



@dataclass
class TrainResult:
    """What :func:`train` returns."""

    model: KerasModel
    run_dir: Path
    metadata: dict[str, Any]
    metrics: dict[str, Any]
    predictions: pd.DataFrame


def _collect_history(run_dir: Path) -> None:
    frames = []
    for path in sorted((run_dir / "members").glob(f"member-*/*/{HISTORY_FILE}")):
        table = pd.read_csv(path, sep="\t")
        table.insert(0, "stage", path.parent.name)
        table.insert(0, "member", int(path.parent.parent.name.split("-")[1]))
        frames.append(table)
    distill = run_dir / "distill" / HISTORY_FILE
    if distill.exists():  # the distillation stage: member -1 (it belongs to no single member)
        table = pd.read_csv(distill, sep="\t")
        table.insert(0, "stage", "distill")
        table.insert(0, "member", -1)
        frames.append(table)
    if frames:
        write_table(pd.concat(frames, ignore_index=True), run_dir / HISTORY_FILE)


def train(
    sites: str | os.PathLike,
    proteins: str | os.PathLike,
    *,
    out_dir: str | os.PathLike,
    config: dict[str, Any] | str | os.PathLike | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    seed: int = 0,
    flank: int = DEFAULT_FLANK,
    residues: str = DEFAULT_RESIDUES,
    split_column: str = "split",
    split_seed: int = 0,
    validation_fraction: float = 0.15,
    test_fraction: float = 0.15,
    pretrain: str | os.PathLike | None = None,
    ensemble: int | None = None,
    resume: bool = False,
    name: str = "akt-custom",
    description: str | None = None,
    command: str | None = None,
    verbose: int = 0,
    progress: bool = False,
    background: str | os.PathLike | None = None,
    kinases: Sequence[str] | None = None,
) -> TrainResult:
    """Train an AKT site model on a site table and proteins; leave a complete run folder in ``out_dir``.

    Parameters
    ----------
    sites
        Site table (see :mod:`phosnet.datasets`): either every candidate with a 0/1 ``label``, or the
        positives only (negatives = the other S/T of the same proteins). With a ``split`` column
        (``train``/``validation``/``test``) that split is used; without, whole proteins (or whole ``cluster``
        values) are split at random with ``split_seed``.
    proteins
        FASTA file of the proteins named in ``sites``.
    out_dir
        Run folder (created; see the module docstring).
    config
        A :class:`Recipe` as a dict or a YAML/JSON file; the explicit arguments below override it.
    epochs, batch_size, pretrain, ensemble
        Override the recipe's ``epochs``, ``batch_size``, ``pretrain`` table and ``ensemble`` size.
    seed
        Seed of the first member (member ``i`` uses ``seed + i``).
    flank, residues
        Window half-width (windows are ``2 * flank + 1``) and candidate residues.
    split_column, split_seed, validation_fraction, test_fraction
        Which column holds the split, and how to split when there is none.
    resume
        Continue an interrupted run in ``out_dir`` (finished members are reused, the running one resumes).
    name, description, command
        Recorded in the metadata (``command`` defaults to this process's command line).
    verbose, progress
        Keras' own progress output (on stdout; 0 = none), and a bar over each stage's epochs on stderr
        when it is a terminal (every epoch is also logged at INFO).
    background
        A reference proteome (FASTA): the trained model scores its every S/T and stores the quantile table that
        gives scans their ``percentile`` column and ``--stringency`` levels (:mod:`phosnet.background`), with
        what each level finds on the test split.
    kinases
        The kinases the model predicts (recorded in its metadata as ``kinases``). Default: those the site table's
        positives name in its ``kinases`` column, else :data:`DEFAULT_KINASES`. Given explicitly, positives of
        other kinases only become negatives.

    Returns
    -------
    TrainResult
        The final Keras model, the run folder, the metadata (bundled-model format), metrics and predictions.
    """
    from phosnet._tf import require_tensorflow

    require_tensorflow("training")
    from phosnet.training import set_seed

    recipe = resolve_recipe(config, epochs=epochs, batch_size=batch_size, ensemble=ensemble,
                            pretrain=str(pretrain) if pretrain is not None else None)
    run_dir = Path(out_dir)
    if not resume and (run_dir / MODEL_FILE).exists():
        raise InputError(f"{run_dir}: holds a trained model already (use --resume, or another --out-dir)")

    fractions = (1.0 - validation_fraction - test_fraction, validation_fraction, test_fraction)
    data = labelled_windows(sites, proteins, flank=flank, residues=residues, split_column=split_column,
                            split_seed=split_seed, fractions=fractions, kinases=kinases)
    kinases = [k.strip().upper() for k in kinases] if kinases else (table_kinases(data.table) or list(DEFAULT_KINASES))
    for split in ("train", "validation"):
        part = data.subset(split)
        if len(part) == 0 or part.labels.min() == part.labels.max():
            raise InputError(f"{sites}: the {split} split needs both positive and negative sites")
    options = StageOptions(recipe, {**recipe.model, "window": 2 * flank + 1}, resume, verbose, progress)
    pretrain_data = read_window_table(recipe.pretrain, flank=flank) if recipe.pretrain else None
    # every input is read and checked: only now does the run folder appear (an input error leaves none)
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{run_dir}: cannot create the run folder ({exc.strerror or exc})") from None
    write_table(split_assignment(data), run_dir / SPLITS_FILE)

    write_json(run_dir / CONFIG_FILE, {
        "recipe": recipe.to_dict(), "seed": seed, "flank": flank, "residues": residues,
        "split_column": split_column, "split_seed": split_seed, "sites": str(sites), "proteins": str(proteins),
    })
    members = [
        train_member(options, i, seed + i, data, pretrain_data, run_dir / "members" / f"member-{i}")
        for i in range(recipe.ensemble)
    ]
    set_seed(seed)
    if recipe.combine == "distill" and len(members) > 1:
        combined = distill(options, members, data, pretrain_data, run_dir / "distill", seed)
    elif recipe.combine == "soup":
        combined = soup_models(members)
    else:
        combined = average_models(members)
    model = inference_copy(combined)
    _collect_history(run_dir)

    predictions, metrics = _score_held_out(model, data, options.encoding, name, run_dir)
    train_table = data.subset("train").table
    metadata = bundle_metadata(
        name=name,
        description=description or _describe(recipe, kinases, residues),
        flank=flank,
        residues=residues,
        kinases=kinases,
        input_encoding=options.encoding,
        thresholds=metrics["validation"]["thresholds"],
        default_specificity=DEFAULT_SPECIFICITY,
        command=command,
        metrics=metrics.get("test", {}),
        validation_metrics=metrics["validation"],
        training_data={
            "sites": str(sites), "proteins": str(proteins), "pretrain": recipe.pretrain,
            "train_sites": int(len(train_table)), "train_positives": int(train_table["label"].sum()),
        },
        training_data_sha256=sha256_if_file(sites),
        proteins_sha256=sha256_if_file(proteins),
        pretrain_sha256=sha256_if_file(recipe.pretrain),
        recipe=recipe.to_dict(),
        seed=seed,
    )
    path = write_bundle(run_dir, model, metadata)
    if background is not None:
        metadata["background"] = _background(path, background, predictions)
        write_metadata(run_dir, metadata)
    write_json(run_dir / METRICS_FILE, metrics)
    write_table(predictions, run_dir / PREDICTIONS_FILE)
    return TrainResult(model, run_dir, metadata, metrics, predictions)


def _background(model_path: Path, proteome: str | os.PathLike, predictions: pd.DataFrame) -> dict[str, Any]:
    """The background entry of a freshly trained model: its scores on ``proteome``, and per stringency level
    what it finds on the test split (when there is one)."""
    from phosnet.background import add_held_out
    from phosnet.background_build import build_background

    entry = build_background(model_path, proteome)
    entry["model_sha256"] = sha256_file(model_path)
    test = predictions[predictions["split"] == "test"]
    if len(test):
        add_held_out(entry, test["score"], test["label"])
    return entry


DEFAULT_KINASES = ("AKT1", "AKT2", "AKT3")
"""The kinases of a model trained on a site table that names none (the AKT task's default)."""


def _describe(recipe: Recipe, kinases: Sequence[str], residues: str) -> str:
    """The default description of a trained model."""
    return (
        f"{'/'.join(kinases)} {'/'.join(residues)} site model: Conv1D+BatchNorm, {recipe.ensemble} member(s)"
        + ({"soup": " (weight-averaged: one network)", "distill": " (distilled into one network)"}
           .get(recipe.combine, "") if recipe.ensemble > 1 else "")
        + (f", pretrained on {Path(recipe.pretrain).name}" if recipe.pretrain else "")
    )


"""The run folder's record of which protein went to which split (``protein_id``, ``split``)."""


def split_assignment(data: LabelledWindows) -> pd.DataFrame:
    """One row per protein: the split its sites went to (what :func:`evaluate` reads back)."""
    return data.table[["protein_id", "split"]].drop_duplicates("protein_id").reset_index(drop=True)


def recorded_splits(loaded: Any) -> pd.Series | None:
    """``protein_id -> split`` recorded in a model's run folder: ``splits.tsv`` (every protein), else the
    validation and test proteins of ``predictions.tsv`` (older runs); ``None`` for a model without a run folder."""
    path = getattr(loaded, "path", None)
    if path is None:
        return None
    folder = Path(path).parent
    for name, complete in ((SPLITS_FILE, True), (PREDICTIONS_FILE, False)):
        table_path = folder / name
        if table_path.is_file():
            try:
                table = pd.read_csv(table_path, sep="\t", usecols=["protein_id", "split"], dtype=str)
            except (ValueError, OSError, pd.errors.ParserError):
                continue
            mapping = table.drop_duplicates("protein_id").set_index("protein_id")["split"]
            mapping.attrs["file"] = str(table_path)
            mapping.attrs["complete"] = complete
            return mapping
    return None


def training_proteins(recorded: pd.Series | None) -> set[str]:
    """The proteins a run trained on, when its folder records them (``splits.tsv``)."""
    if recorded is None or not recorded.attrs.get("complete"):
        return set()
    return set(recorded.index[recorded == "train"])


def _score_held_out(
    model: KerasModel, data: LabelledWindows, encoding: str, name: str, run_dir: Path
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Validation and test scores of the final model, metrics (thresholds set on validation) and curve plots."""
    scored = []
    for split in ("validation", "test"):
        part = data.subset(split)
        if len(part):
            table = part.table[["protein_id", "position", "residue", "label", "split"]].copy()
            table["window"] = part.windows()
            table["score"] = predict_windows(model, part.index, encoding)
            scored.append(table)
    predictions = pd.concat(scored, ignore_index=True)
    val = predictions[predictions["split"] == "validation"]
    val_metrics = binary_metrics(val["label"], val["score"])
    thresholds = val_metrics["thresholds"]
    metrics: dict[str, Any] = {"validation": val_metrics}
    test = predictions[predictions["split"] == "test"]
    if len(test) and 0 < test["label"].sum() < len(test):
        metrics["test"] = binary_metrics(test["label"], test["score"], thresholds=thresholds)
    threshold = thresholds[f"{DEFAULT_SPECIFICITY:.2f}"]
    predictions["predicted"] = called(predictions["score"].to_numpy(), threshold).astype(int)
    for split, rows in (("validation", val), ("test", test)):
        if split in metrics:
            plot_curves({name: (rows["label"], rows["score"])}, run_dir, prefix=f"{split}_", title=f"({split})")
    return predictions, metrics


@dataclass
class EvaluationResult:
    """What :func:`evaluate` returns: metrics (dict) and one scored row per site (DataFrame)."""

    metrics: dict[str, Any]
    predictions: pd.DataFrame


def evaluate(
    model: ModelSource,
    sites: str | os.PathLike,
    proteins: str | os.PathLike,
    *,
    split: str | None = "test",
    split_column: str = "split",
    out_dir: str | os.PathLike | None = None,
    batch_size: int = 2048,
) -> EvaluationResult:
    """Score the sites of a table with a model and rate the scores against the labels.

    Parameters
    ----------
    model
        ``None`` (the bundled default), a bundled name, a ``.keras`` path or a run folder (see
        :func:`phosnet.bundle.load_model`).
    sites, proteins
        Site table and FASTA, as for :func:`train`. Positives-only tables get every other candidate residue (the
        model's ``residues``) as negatives; with a ``kinases`` column, the positives are the sites of the model's
        kinases (a site of other kinases only is a negative).
    split
        Evaluate only the rows of this split (default ``"test"``; ``"all"`` or ``None``: every row). The split
        comes from the table's ``split_column``; without one, from the split recorded in the model's run folder
        (``splits.tsv``, or the validation/test proteins of ``predictions.tsv``); without either, every row is
        used and the metrics say so (``split_source``). A warning names proteins the model was trained on.
    out_dir
        If given, ``metrics.json``, ``predictions.tsv``, ``roc.png`` and ``pr.png`` are written there.

    Returns
    -------
    EvaluationResult
        ``metrics`` as :func:`phosnet.evaluation.binary_metrics` (with ``at_thresholds`` when the model has
        stored thresholds) and ``predictions`` (``protein_id, position, residue, label, window, score``).
    """
    loaded = load_model(model)
    make_engine(loaded, "auto")  # before any work: a model the numpy engine cannot run needs TensorFlow
    flank, residues = int(loaded.flank), str(loaded.residues)
    data = labelled_windows(sites, proteins, flank=flank, residues=residues, split_column=split_column,
                            missing_split="none", kinases=loaded.kinases or None)  # the model's kinases' sites
    if split is not None and str(split).strip().lower() != "all":
        if str(split).strip().lower() not in SPLIT_SYNONYMS:
            raise InputError(f"split {split!r} is not train, validation, test or all")
        split = SPLIT_SYNONYMS[str(split).strip().lower()]
    else:
        split = None
    recorded = recorded_splits(loaded)
    has_split = not (data.table["split"] == "all").all()
    if split is None:
        has_split, source = False, "every row (--split all)"
    elif has_split:
        source = f"the table's {split_column!r} column"
    elif recorded is not None and split is not None:
        data.table["split"] = data.table["protein_id"].map(recorded).fillna("unassigned").to_numpy()
        has_split, source = True, f"the split recorded in the model's run folder ({recorded.attrs['file']})"
    else:
        source = "no split column and no recorded split: every row"
    if has_split and split is not None:
        data = data.subset(split)
        if len(data) == 0:
            raise InputError(f"{sites}: no rows in the {split} split (split from {source})")
    used = split if has_split and split is not None else "all"
    labels = data.table["label"].to_numpy()
    if len(labels) == 0 or labels.min() == labels.max():
        kind = "positive" if len(labels) and labels.min() == 1 else "negative"
        raise InputError(f"{sites}: the {used} rows are all {kind} ({len(labels)} sites); ROC and PR curves "
                         "need both positive and negative sites")
    proteins_used = int(data.table["protein_id"].nunique())
    logger.info("evaluating %s on %s: %d sites of %d proteins (split from %s)", loaded.name, used, len(labels),
                proteins_used, source)
    trained_on = sorted(set(data.table["protein_id"]) & training_proteins(recorded))
    if trained_on:
        logger.warning("%d of the %d evaluated proteins were in %s's training split (e.g. %s): its scores on "
                       "them are optimistic", len(trained_on), proteins_used, loaded.name, trained_on[0])
    scores = predict_windows(loaded, data.index, batch_size=batch_size)  # numpy engine if it can: no TensorFlow
    predictions = data.table[["protein_id", "position", "residue", "label"]].copy()
    predictions["window"] = data.windows()
    predictions["score"] = scores
    thresholds = loaded.metadata.get("thresholds") or None
    metrics = binary_metrics(predictions["label"], scores, thresholds=thresholds)
    metrics["model"] = loaded.name
    metrics["kinases"] = list(loaded.kinases)
    metrics["split"] = used
    metrics["split_source"] = source
    metrics["proteins"] = proteins_used
    metrics["trained_on_proteins"] = len(trained_on)
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        write_json(out / METRICS_FILE, metrics)
        write_table(predictions, out / PREDICTIONS_FILE)
        plot_curves({loaded.name: (predictions["label"], scores)}, out, title=f"({metrics['split']})")
    return EvaluationResult(metrics, predictions)


__all__ = ["EvaluationResult", "TrainResult", "evaluate", "predict_windows", "train"]
