"""Train and evaluate AKT site models: the Python API behind ``phosnet train`` and ``phosnet evaluate``.

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
    metadata.json          the same metadata (what phosnet.pretrained.load_model reads in a run folder)
    config.json            the resolved recipe and data options
    metrics.json           validation and test metrics
    history.tsv            per-epoch history of every member and stage (columns member, stage)
    predictions.tsv        validation and test scores, one row per site
    validation_roc.png ... ROC and precision-recall curves per split
    members/member-<i>/{pretrain,finetune}/   the training-core run folders (resume restarts here)
    distill/               the distillation stage's run folder (combine: distill)
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import sys
import warnings
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from phosnet.datasets import LabelledWindows, labelled_windows, read_window_table
from phosnet.encoding import ALPHABET
from phosnet.errors import InputError, reject_unknown_settings
from phosnet.evaluation import binary_metrics, plot_curves
from phosnet.windows import DEFAULT_FLANK, DEFAULT_RESIDUES

logger = logging.getLogger(__name__)

DEFAULT_SPECIFICITY = 0.95


@dataclass
class Recipe:
    """How to train (every field can be set in a ``--config`` YAML/JSON file).

    ===========================  ===========  =======================================================
    field                        default      meaning
    ===========================  ===========  =======================================================
    model                        {}           :class:`~phosnet.models.sequence.SequenceModelConfig` fields
    epochs                       20           maximum epochs of the AKT (fine-tuning) stage
    batch_size                   64           batch size of that stage
    patience                     8            early-stopping patience (epochs without better val_auc)
    lr_patience                  3            epochs without improvement before the learning rate halves
    positive_weight              1.0          loss weight of a positive site (negatives weigh 1)
    ensemble                     1            members trained with seeds seed, seed+1, ...
    combine                      "average"    how members become one model: "average" (one Keras model
                                              averaging the members' scores; costs ``ensemble`` x a
                                              single network to run), "soup" (one network whose weights
                                              are the members' mean: a uniform *model soup*, as cheap as one
                                              member; needs members fine-tuned from one shared pretrained
                                              network, i.e. ``pretrain`` with ``pretrain_shared``) or
                                              "distill" (the soup, then trained to reproduce the members'
                                              score average on the training and pretraining windows:
                                              knowledge distillation; one network)
    distill_epochs               6            maximum epochs of distillation (best epoch by val_auc)
    distill_batch_size           256          its batch size
    distill_learning_rate        3e-4         its Adam learning rate
    pretrain                     None         ``window, label`` table of general phosphosites (TSV/.gz)
    pretrain_epochs              5            maximum pretraining epochs
    pretrain_batch_size          256          pretraining batch size
    pretrain_learning_rate       1e-3         Adam learning rate while pretraining
    pretrain_validation          0.05         share of the pretraining table held out for its val_auc
    pretrain_shared              True         pretrain once and fine-tune every member from it (faster);
                                              False: each member pretrains with its own seed
    pretrain_positive_weight     1.0          loss weight of a positive while pretraining
    hard_negatives               None         table of known phosphosites (TSV/.gz with ``accession``
                                              or ``protein_id``, and ``position``): training negatives
                                              listed there are *hard negatives* (other kinases' sites)
    hard_negative_weight         1.0          loss weight of a hard negative in the AKT stage
    ===========================  ===========  =======================================================

    With ``pretrain`` set, ``model.learning_rate`` is the fine-tuning learning rate.
    """

    model: dict[str, Any] = field(default_factory=dict)
    epochs: int = 20
    batch_size: int = 64
    patience: int = 8
    lr_patience: int = 3
    positive_weight: float = 1.0
    ensemble: int = 1
    combine: str = "average"
    distill_epochs: int = 6
    distill_batch_size: int = 256
    distill_learning_rate: float = 3e-4
    pretrain: str | None = None
    pretrain_epochs: int = 5
    pretrain_batch_size: int = 256
    pretrain_learning_rate: float = 1e-3
    pretrain_validation: float = 0.05
    pretrain_shared: bool = True
    pretrain_positive_weight: float = 1.0
    hard_negatives: str | None = None
    hard_negative_weight: float = 1.0

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None) -> Recipe:
        """Fill in defaults for a partial dict; unknown keys are an :class:`~phosnet.errors.InputError`."""
        values = dict(values or {})
        reject_unknown_settings(values, {f.name for f in fields(cls)}, "training")
        recipe = cls(**values)
        from phosnet.models.sequence import SequenceModelConfig

        try:
            SequenceModelConfig.from_dict(recipe.model)
        except (TypeError, ValueError) as exc:
            raise InputError(str(exc)) from None
        if recipe.ensemble < 1:
            raise InputError("ensemble must be at least 1")
        if recipe.combine not in {"average", "soup", "distill"}:
            raise InputError(f"combine must be 'average', 'soup' or 'distill', got {recipe.combine!r}")
        if recipe.combine != "average" and recipe.ensemble > 1 and not (recipe.pretrain and recipe.pretrain_shared):
            raise InputError(f"combine: {recipe.combine} averages weights, which is only meaningful for members "
                             "fine-tuned from one shared pretrained network: set pretrain (and pretrain_shared: true)")
        if recipe.hard_negative_weight != 1.0 and not recipe.hard_negatives:
            raise InputError("hard_negative_weight needs a hard_negatives table")
        if recipe.hard_negative_weight < 0 or recipe.positive_weight < 0:
            raise InputError("loss weights must not be negative")
        return recipe

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form (for ``config.json``)."""
        return asdict(self)


def read_config(path: str | os.PathLike) -> dict[str, Any]:
    """Read a recipe from JSON (``.json``) or YAML (anything else) into a dict."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    text = path.read_text()
    if path.suffix.lower() != ".json":
        try:
            import yaml
        except ImportError:
            raise InputError(f"{path}: reading YAML needs PyYAML (pip install pyyaml), or give a .json file") from None
    try:
        if path.suffix.lower() == ".json":
            values = json.loads(text)
        else:
            values = yaml.safe_load(text)
    except Exception as exc:
        raise InputError(f"{path}: cannot be parsed ({str(exc).splitlines()[0]})") from None
    if not isinstance(values, dict):
        raise InputError(f"{path}: expected a mapping of settings at the top level")
    return values


@dataclass
class TrainResult:
    """What :func:`train` returns."""

    model: Any
    run_dir: Path
    metadata: dict[str, Any]
    metrics: dict[str, Any]
    predictions: pd.DataFrame


def _compile(model: Any, learning_rate: float) -> None:
    from phosnet._tf import keras

    k = keras()
    model.compile(
        optimizer=k.optimizers.Adam(learning_rate),
        loss="binary_crossentropy",
        metrics=[k.metrics.AUC(name="auc"), k.metrics.AUC(curve="PR", name="pr_auc")],
    )


def read_site_set(path: str | os.PathLike) -> set[tuple[str, int]]:
    """``(protein, position)`` pairs of a site table with ``accession`` (or ``protein_id``) and ``position``."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    table = pd.read_csv(path, sep="\t", dtype=str)
    column = "accession" if "accession" in table.columns else "protein_id"
    if column not in table.columns or "position" not in table.columns:
        raise InputError(f"{path}: needs columns accession (or protein_id) and position")
    return set(zip(table[column], table["position"].astype(int), strict=True))


def sample_weights(table: pd.DataFrame, recipe: Recipe) -> np.ndarray | None:
    """Per-site loss weights of a window table (``protein_id, position, label``) under ``recipe``: positives
    weigh ``positive_weight``, negatives in ``hard_negatives`` weigh ``hard_negative_weight``, others 1.
    ``None`` when every weight would be 1."""
    if recipe.positive_weight == 1.0 and (not recipe.hard_negatives or recipe.hard_negative_weight == 1.0):
        return None
    labels = table["label"].to_numpy()
    weights = np.ones(len(table), dtype=np.float32)
    weights[labels == 1] = recipe.positive_weight
    if recipe.hard_negatives and recipe.hard_negative_weight != 1.0:
        known = read_site_set(recipe.hard_negatives)
        pairs = zip(table["protein_id"], table["position"], strict=True)
        hard = np.array([(str(p), int(q)) in known for p, q in pairs], dtype=bool)
        weights[(labels == 0) & hard] = recipe.hard_negative_weight
    return weights


def _finished(stage_dir: Path) -> bool:
    from phosnet.training import METADATA_FILE, MODEL_FILE

    return (stage_dir / METADATA_FILE).exists() and (stage_dir / MODEL_FILE).exists()


def _index_dataset(index: np.ndarray, labels: np.ndarray, batch_size: int, encoding: str, shuffle_seed: int | None):
    """A ``tf.data`` pipeline that one-hot encodes int8 windows batch by batch (keeps memory small)."""
    from phosnet._tf import tensorflow

    tf = tensorflow()
    ds = tf.data.Dataset.from_tensor_slices((index, labels))
    if shuffle_seed is not None:
        ds = ds.shuffle(len(labels), seed=shuffle_seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)
    if encoding == "onehot":
        ds = ds.map(lambda x, y: (tf.one_hot(tf.cast(x, tf.int32), len(ALPHABET)), y))
    else:
        ds = ds.map(lambda x, y: (tf.cast(x, tf.int32), y))
    return ds.prefetch(2)


def _pretrain(
    member: int, seed: int, recipe: Recipe, pretrain_data: tuple, pre_dir: Path, model_config: dict[str, Any],
    resume: bool, verbose: int, progress: bool = False,
) -> Any:
    """The pretraining stage (reused when ``pre_dir`` holds a finished run); returns the pretrained model."""
    from phosnet._tf import keras
    from phosnet.models.sequence import build_sequence_model
    from phosnet.training import MODEL_FILE, set_seed, train_model

    if _finished(pre_dir):
        return keras().models.load_model(pre_dir / MODEL_FILE)
    encoding = model_config.get("input_encoding", "onehot")
    set_seed(seed)
    model = build_sequence_model(model_config)
    index, labels = pretrain_data
    order = np.random.default_rng(seed).permutation(len(labels))
    n_val = max(1, int(round(recipe.pretrain_validation * len(labels))))
    val, tr = order[:n_val], np.sort(order[n_val:])
    _compile(model, recipe.pretrain_learning_rate)
    logger.info("member %d: pretraining on %d windows", member, len(tr))
    with warnings.catch_warnings():  # Keras warns that fit's default shuffle=True does not apply to datasets
        warnings.filterwarnings("ignore", message=".*shuffle=True.*")
        result = train_model(
            model,
            _index_dataset(index[tr], labels[tr], recipe.pretrain_batch_size, encoding, seed),
            _index_dataset(index[val], labels[val], 1024, encoding, None),
            run_dir=pre_dir, epochs=recipe.pretrain_epochs, patience=2, lr_patience=1, seed=seed,
            class_weight={0: 1.0, 1: float(recipe.pretrain_positive_weight)}
            if recipe.pretrain_positive_weight != 1.0 else None,
            config={"stage": "pretrain", "recipe": recipe.to_dict()}, metadata={"member": member},
            resume=resume and (pre_dir / "state.json").exists(), verbose=verbose, progress=progress,
            label=f"member {member}: pretraining",
        )
    return result.model


def _train_member(
    member: int, seed: int, recipe: Recipe, data: LabelledWindows, pretrain_data: tuple | None,
    member_dir: Path, model_config: dict[str, Any], resume: bool, verbose: int, progress: bool = False,
) -> Any:
    """Train one ensemble member (pretraining, then the AKT stage); returns the best Keras model."""
    from phosnet._tf import keras
    from phosnet.models.sequence import build_sequence_model
    from phosnet.training import MODEL_FILE, set_seed, train_model

    k = keras()
    encoding = model_config.get("input_encoding", "onehot")
    finetune_dir = member_dir / "finetune"
    if _finished(finetune_dir):
        logger.info("member %d: already trained (%s)", member, finetune_dir)
        return k.models.load_model(finetune_dir / MODEL_FILE)

    if pretrain_data is not None:
        pre_dir = (member_dir.parent / "member-0" if recipe.pretrain_shared else member_dir) / "pretrain"
        model = _pretrain(member, seed, recipe, pretrain_data, pre_dir, model_config, resume, verbose, progress)
        set_seed(seed)
        _compile(model, float(model_config.get("learning_rate", 1e-3)))
    else:
        set_seed(seed)
        model = build_sequence_model(model_config)

    train_part, val_part = data.subset("train"), data.subset("validation")
    weights = {0: 1.0, 1: float(recipe.positive_weight)} if recipe.positive_weight != 1.0 else None
    train_data: Any = (train_part.inputs(encoding), train_part.labels)
    if recipe.hard_negatives and recipe.hard_negative_weight != 1.0:
        # Per-site weights: a shuffled tf.data pipeline of (x, y, weight) batches (positive_weight included).
        from phosnet._tf import tensorflow

        tf = tensorflow()
        per_site = sample_weights(train_part.table, recipe)
        logger.info("member %d: %d hard negatives weigh %g", member,
                    int((per_site == recipe.hard_negative_weight).sum()), recipe.hard_negative_weight)
        train_data = (tf.data.Dataset.from_tensor_slices((*train_data, per_site))
                      .shuffle(len(per_site), seed=seed, reshuffle_each_iteration=True)
                      .batch(recipe.batch_size).prefetch(2))
        weights = None
    logger.info("member %d: training on %d windows (%d positives)", member, len(train_part),
                int(train_part.labels.sum()))
    with warnings.catch_warnings():  # Keras warns that fit's default shuffle=True does not apply to datasets
        warnings.filterwarnings("ignore", message=".*shuffle=True.*")
        result = train_model(
            model,
            train_data,
            (val_part.inputs(encoding), val_part.labels),
            run_dir=finetune_dir, epochs=recipe.epochs, batch_size=recipe.batch_size, patience=recipe.patience,
            lr_patience=recipe.lr_patience, class_weight=weights, seed=seed,
            config={"stage": "finetune", "recipe": recipe.to_dict()}, metadata={"member": member},
            resume=resume and (finetune_dir / "state.json").exists(), verbose=verbose, progress=progress,
            label=f"member {member}: fine-tuning",
        )
    return result.model


def average_models(members: list[Any], name: str = "phosnet_ensemble") -> Any:
    """One Keras model whose score is the mean of ``members``' scores (same input); a single member is
    returned as is. The result saves to and loads from a plain ``.keras`` file (built-in layers only)."""
    from phosnet._tf import keras

    if len(members) == 1:
        return members[0]
    k = keras()
    first = members[0]
    inputs = k.Input(shape=first.input_shape[1:], dtype=first.inputs[0].dtype, name="window")
    outputs = []
    for i, member in enumerate(members):
        wrapped = k.Model(member.inputs[0], member.outputs[0], name=f"member_{i}")
        outputs.append(wrapped(inputs))
    score = k.layers.Average(name="score")(outputs)
    return k.Model(inputs, score, name=name)


def soup_models(members: list[Any]) -> Any:
    """One network whose every weight (BatchNorm statistics included) is the mean of ``members``' weights.

    A uniform *model soup* (Wortsman et al., 2022): members fine-tuned from one pretrained network stay in one
    basin of the loss, so their weight average scores about as well as their score average while costing one
    network to run. ``members`` must share one architecture. A single member is returned as is.
    """
    if len(members) == 1:
        return members[0]
    from phosnet._tf import keras

    weights = [m.get_weights() for m in members]
    if any([w.shape for w in ws] != [w.shape for w in weights[0]] for ws in weights):
        raise ValueError("a model soup needs members of one architecture")
    soup = keras().models.clone_model(members[0])
    soup.set_weights([np.mean(layer_weights, axis=0) for layer_weights in zip(*weights, strict=True)])
    return soup


def _distill(
    members: list[Any], recipe: Recipe, data: LabelledWindows, pretrain_data: tuple | None, stage_dir: Path,
    encoding: str, seed: int, resume: bool, verbose: int, progress: bool = False,
) -> Any:
    """Knowledge distillation: the members' weight soup, trained to reproduce their score average.

    Targets are the teacher's (score average's) scores on the training-split windows and, when the recipe
    pretrains, the pretraining windows (no labels used; validation/test proteins and their homologs are not
    among them). Soft targets with binary cross-entropy; the best epoch by ``val_auc`` on the labelled
    validation split is kept, as in every other stage (the stage's training-set ``auc``/``pr_auc`` columns
    compare scores with soft targets and mean nothing). Returns the distilled network.
    """
    from phosnet._tf import keras
    from phosnet.training import MODEL_FILE, set_seed, train_model

    if _finished(stage_dir):
        return keras().models.load_model(stage_dir / MODEL_FILE)
    windows = data.subset("train").index
    if pretrain_data is not None:
        windows = np.concatenate([windows, pretrain_data[0]])
    teacher = average_models(members)
    targets = predict_windows(teacher, windows, encoding, batch_size=8192).astype(np.float32)
    set_seed(seed)
    # clone, then inference copy: the bundled model was made this way, and each build draws from the seeded
    # generator, so building once would change dropout and shuffling and not reproduce it bit for bit
    student = inference_copy(soup_models(members))
    _compile(student, recipe.distill_learning_rate)
    val_part = data.subset("validation")
    logger.info("distilling %d networks into one on %d windows", len(members), len(windows))
    with warnings.catch_warnings():  # Keras warns that fit's default shuffle=True does not apply to datasets
        warnings.filterwarnings("ignore", message=".*shuffle=True.*")
        result = train_model(
            student,
            _index_dataset(windows, targets, recipe.distill_batch_size, encoding, seed),
            (val_part.inputs(encoding), val_part.labels),
            run_dir=stage_dir, epochs=recipe.distill_epochs, patience=3, lr_patience=2, seed=seed,
            config={"stage": "distill", "recipe": recipe.to_dict()}, metadata={"teacher_members": len(members)},
            resume=resume and (stage_dir / "state.json").exists(), verbose=verbose, progress=progress,
            label="distillation",
        )
    return result.model


def inference_copy(model: Any) -> Any:
    """The same network and weights without optimizer state (what a bundled ``.keras`` file should hold)."""
    from phosnet._tf import keras

    # from_config, not clone_model: Keras 3's clone keeps the compile state, and the optimizer's slots would
    # triple the file.
    copy = keras().Model.from_config(model.get_config())
    copy.set_weights(model.get_weights())
    return copy


def predict_windows(model: Any, index: np.ndarray, encoding: str = "onehot", batch_size: int = 2048) -> np.ndarray:
    """Scores of a Keras model for int8 index windows, encoded batch by batch."""
    from phosnet.encoding import one_hot

    scores = []
    for start in range(0, len(index), batch_size):
        chunk = index[start:start + batch_size]
        x = one_hot(chunk) if encoding == "onehot" else chunk.astype(np.int32)
        scores.append(np.asarray(model.predict_on_batch(x)).reshape(-1))
    return np.concatenate(scores) if scores else np.zeros(0, dtype=np.float32)


def _sha256(path: str | os.PathLike | None) -> str | None:
    from phosnet.training import sha256_file

    return sha256_file(path) if path is not None and Path(path).is_file() else None


def _collect_history(run_dir: Path) -> None:
    from phosnet.training import HISTORY_FILE

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
        pd.concat(frames, ignore_index=True).to_csv(run_dir / HISTORY_FILE, sep="\t", index=False)


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

    Returns
    -------
    TrainResult
        The final Keras model, the run folder, the metadata (bundled-model format), metrics and predictions.
    """
    from phosnet.training import set_seed, versions, write_json

    values = read_config(config) if isinstance(config, (str, os.PathLike)) else dict(config or {})
    if epochs is not None:
        values["epochs"] = epochs
    if batch_size is not None:
        values["batch_size"] = batch_size
    if pretrain is not None:
        values["pretrain"] = str(pretrain)
    if ensemble is not None:
        values["ensemble"] = ensemble
    recipe = Recipe.from_dict(values)
    run_dir = Path(out_dir)
    if not resume and (run_dir / "model.keras").exists():
        raise InputError(f"{run_dir}: holds a trained model already (use --resume, or another --out-dir)")
    run_dir.mkdir(parents=True, exist_ok=True)

    fractions = (1.0 - validation_fraction - test_fraction, validation_fraction, test_fraction)
    data = labelled_windows(sites, proteins, flank=flank, residues=residues, split_column=split_column,
                            split_seed=split_seed, fractions=fractions)
    for split in ("train", "validation"):
        part = data.subset(split)
        if len(part) == 0 or part.labels.min() == part.labels.max():
            raise InputError(f"{sites}: the {split} split needs both positive and negative sites")
    model_config = {**recipe.model, "window": 2 * flank + 1}
    encoding = model_config.get("input_encoding", "onehot")
    pretrain_data = read_window_table(recipe.pretrain, flank=flank) if recipe.pretrain else None

    write_json(run_dir / "config.json", {
        "recipe": recipe.to_dict(), "seed": seed, "flank": flank, "residues": residues,
        "split_column": split_column, "split_seed": split_seed, "sites": str(sites), "proteins": str(proteins),
    })
    members = []
    for i in range(recipe.ensemble):
        members.append(_train_member(i, seed + i, recipe, data, pretrain_data, run_dir / "members" / f"member-{i}",
                                     model_config, resume, verbose, progress))
    set_seed(seed)
    if recipe.combine == "distill" and len(members) > 1:
        combined = _distill(members, recipe, data, pretrain_data, run_dir / "distill", encoding, seed, resume, verbose,
                            progress)
    elif recipe.combine == "soup":
        combined = soup_models(members)
    else:
        combined = average_models(members)
    model = inference_copy(combined)
    _collect_history(run_dir)

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
    predictions["predicted"] = (predictions["score"] >= threshold).astype(int)

    for split, part in (("validation", val), ("test", test)):
        if split in metrics:
            plot_curves({name: (part["label"], part["score"])}, run_dir, prefix=f"{split}_", title=f"({split})")
    train_table = data.subset("train").table
    metadata = {
        "name": name,
        "description": description or (
            f"AKT (PKB) S/T site model: Conv1D+BatchNorm, {recipe.ensemble} member(s)"
            + ({"soup": " (weight-averaged: one network)", "distill": " (distilled into one network)"}
               .get(recipe.combine, "") if recipe.ensemble > 1 else "")
            + (f", pretrained on {Path(recipe.pretrain).name}" if recipe.pretrain else "")
        ),
        "window": 2 * flank + 1,
        "flank": flank,
        "residues": residues,
        "alphabet": ALPHABET,
        "input_encoding": encoding,
        "thresholds": thresholds,
        "default_specificity": DEFAULT_SPECIFICITY,
        "metrics": metrics.get("test", {}),
        "validation_metrics": val_metrics,
        "training_data": {
            "sites": str(sites), "proteins": str(proteins), "pretrain": recipe.pretrain,
            "train_sites": int(len(train_table)), "train_positives": int(train_table["label"].sum()),
        },
        "training_data_sha256": _sha256(sites),
        "proteins_sha256": _sha256(proteins),
        "pretrain_sha256": _sha256(recipe.pretrain),
        "training_command": command or " ".join(shlex.quote(a) for a in ["phosnet", *sys.argv[1:]]),
        "recipe": recipe.to_dict(),
        "seed": seed,
        "phosnet_version": versions()["phosnet"],
        "tensorflow_version": versions()["tensorflow"],
        "keras_version": versions()["keras"],
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    model.save(run_dir / "model.keras")
    write_json(run_dir / "model.json", metadata)
    write_json(run_dir / "metadata.json", metadata)
    write_json(run_dir / "metrics.json", metrics)
    predictions.to_csv(run_dir / "predictions.tsv", sep="\t", index=False)
    return TrainResult(model, run_dir, metadata, metrics, predictions)


@dataclass
class EvaluationResult:
    """What :func:`evaluate` returns: metrics (dict) and one scored row per site (DataFrame)."""

    metrics: dict[str, Any]
    predictions: pd.DataFrame


def evaluate(
    model: Any,
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
        :func:`phosnet.pretrained.load_model`).
    sites, proteins
        Site table and FASTA, as for :func:`train`. Positives-only tables get every other S/T as negatives.
    split
        Evaluate only the rows of this split when the table has a ``split_column``; ``"all"`` or ``None``:
        every row. Default: ``"test"``.
    out_dir
        If given, ``metrics.json``, ``predictions.tsv``, ``roc.png`` and ``pr.png`` are written there.

    Returns
    -------
    EvaluationResult
        ``metrics`` as :func:`phosnet.evaluation.binary_metrics` (with ``at_thresholds`` when the model has
        stored thresholds) and ``predictions`` (``protein_id, position, residue, label, window, score``).
    """
    from phosnet.pretrained import load_model

    loaded = load_model(model)
    flank, residues = int(loaded.flank), str(loaded.residues)
    data = labelled_windows(sites, proteins, flank=flank, residues=residues, split_column=split_column,
                            missing_split="none")
    has_split = not (data.table["split"] == "all").all()
    if has_split and split not in (None, "all"):
        data = data.subset(split)
        if len(data) == 0:
            raise InputError(f"{sites}: no rows with {split_column} = {split}")
    encoding = loaded.metadata.get("input_encoding", "onehot")
    scores = predict_windows(loaded.keras_model, data.index, encoding, batch_size)
    predictions = data.table[["protein_id", "position", "residue", "label"]].copy()
    predictions["window"] = data.windows()
    predictions["score"] = scores
    thresholds = loaded.metadata.get("thresholds") or None
    metrics = binary_metrics(predictions["label"], scores, thresholds=thresholds)
    metrics["model"] = loaded.name
    metrics["split"] = split if has_split else "all"
    if out_dir is not None:
        from phosnet.training import write_json

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        write_json(out / "metrics.json", metrics)
        predictions.to_csv(out / "predictions.tsv", sep="\t", index=False)
        plot_curves({loaded.name: (predictions["label"], scores)}, out, title=f"({metrics['split']})")
    return EvaluationResult(metrics, predictions)


__all__ = [
    "EvaluationResult", "Recipe", "TrainResult", "average_models", "evaluate", "inference_copy", "predict_windows",
    "soup_models", "train",
]
