"""The training stages of an AKT model, each a run of the one training core (:func:`phosnet.training.train_model`).

:func:`pretrain` (general phosphosites) -> :func:`train_member` (the AKT stage, one ensemble member) ->
:func:`distill` (optional: the members' weight soup trained towards their score average). A finished stage
(its run folder holds ``model.keras`` and ``metadata.json``) is reused, an interrupted one resumes. Every
stage takes a :class:`StageOptions` with what the stages share.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from phosnet.akt.combine import average_models, inference_copy, soup_models
from phosnet.akt.data import index_dataset, sample_weights
from phosnet.akt.recipe import Recipe
from phosnet.datasets import LabelledWindows
from phosnet.engines import predict_windows
from phosnet.io.run_folder import METADATA_FILE, MODEL_FILE, STATE_FILE

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from phosnet.bundle import KerasModel



@dataclass
class StageOptions:
    """What every stage needs besides its data: the recipe, the network's config and how to run."""

    recipe: Recipe
    model_config: dict[str, Any]
    resume: bool = False
    verbose: int = 0
    progress: bool = False

    @property
    def encoding(self) -> str:
        """The network's input encoding (``"onehot"`` or ``"index"``)."""
        return str(self.model_config.get("input_encoding", "onehot"))

    def resumes(self, stage_dir: Path) -> bool:
        """Whether the stage in ``stage_dir`` continues an interrupted run."""
        return self.resume and (stage_dir / STATE_FILE).exists()


def compile_model(model: KerasModel, learning_rate: float) -> None:
    """Compile for binary sites: Adam, binary cross-entropy, ROC-AUC (``auc``) and PR-AUC (``pr_auc``)."""
    from phosnet._tf import keras

    k = keras()
    model.compile(
        optimizer=k.optimizers.Adam(learning_rate),
        loss="binary_crossentropy",
        metrics=[k.metrics.AUC(name="auc"), k.metrics.AUC(curve="PR", name="pr_auc")],
    )


def finished(stage_dir: Path) -> bool:
    """Whether ``stage_dir`` holds a finished stage (reused instead of retrained)."""

    return (stage_dir / METADATA_FILE).exists() and (stage_dir / MODEL_FILE).exists()


def pretrain(options: StageOptions, member: int, seed: int, pretrain_data: tuple, pre_dir: Path) -> Any:
    """The pretraining stage (reused when ``pre_dir`` holds a finished run); returns the pretrained model."""
    from phosnet._tf import keras
    from phosnet.models.sequence import build_sequence_model
    from phosnet.training import set_seed, train_model

    if finished(pre_dir):
        return keras().models.load_model(pre_dir / MODEL_FILE)
    recipe, encoding = options.recipe, options.encoding
    set_seed(seed)
    model = build_sequence_model(options.model_config)
    index, labels = pretrain_data
    order = np.random.default_rng(seed).permutation(len(labels))
    n_val = max(1, int(round(recipe.pretrain_validation * len(labels))))
    val, tr = order[:n_val], np.sort(order[n_val:])
    compile_model(model, recipe.pretrain_learning_rate)
    logger.info("member %d: pretraining on %d windows", member, len(tr))
    with warnings.catch_warnings():  # Keras warns that fit's default shuffle=True does not apply to datasets
        warnings.filterwarnings("ignore", message=".*shuffle=True.*")
        result = train_model(
            model,
            index_dataset(index[tr], labels[tr], recipe.pretrain_batch_size, encoding, seed),
            index_dataset(index[val], labels[val], 1024, encoding, None),
            run_dir=pre_dir, epochs=recipe.pretrain_epochs, patience=recipe.pretrain_patience,
            lr_patience=recipe.pretrain_lr_patience, seed=seed,
            class_weight={0: 1.0, 1: float(recipe.pretrain_positive_weight)}
            if recipe.pretrain_positive_weight != 1.0 else None,
            config={"stage": "pretrain", "recipe": recipe.to_dict()}, metadata={"member": member},
            resume=options.resumes(pre_dir), verbose=options.verbose, progress=options.progress,
            label=f"member {member}: pretraining",
        )
    return result.model


def train_member(
    options: StageOptions, member: int, seed: int, data: LabelledWindows, pretrain_data: tuple | None,
    member_dir: Path,
) -> Any:
    """Train one ensemble member (pretraining, then the AKT stage); returns the best Keras model."""
    from phosnet._tf import keras
    from phosnet.models.sequence import build_sequence_model
    from phosnet.training import set_seed, train_model

    recipe, encoding = options.recipe, options.encoding
    finetune_dir = member_dir / "finetune"
    if finished(finetune_dir):
        logger.info("member %d: already trained (%s)", member, finetune_dir)
        return keras().models.load_model(finetune_dir / MODEL_FILE)

    if pretrain_data is not None:
        pre_dir = (member_dir.parent / "member-0" if recipe.pretrain_shared else member_dir) / "pretrain"
        model = pretrain(options, member, seed, pretrain_data, pre_dir)
        set_seed(seed)
        compile_model(model, float(options.model_config.get("learning_rate", 1e-3)))
    else:
        set_seed(seed)
        model = build_sequence_model(options.model_config)

    train_part, val_part = data.subset("train"), data.subset("validation")
    weights = {0: 1.0, 1: float(recipe.positive_weight)} if recipe.positive_weight != 1.0 else None
    train_data: Any = (train_part.inputs(encoding), train_part.labels)
    if (recipe.hard_negatives and recipe.hard_negative_weight != 1.0) or recipe.unlabelled_weight != 1.0:
        # Per-site weights: a shuffled tf.data pipeline of (x, y, weight) batches (positive_weight included).
        from phosnet._tf import tensorflow

        tf = tensorflow()
        per_site = sample_weights(train_part.table, recipe)
        assert per_site is not None
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
            resume=options.resumes(finetune_dir), verbose=options.verbose, progress=options.progress,
            label=f"member {member}: fine-tuning",
        )
    return result.model


def distill(
    options: StageOptions, members: list[Any], data: LabelledWindows, pretrain_data: tuple | None, stage_dir: Path,
    seed: int,
) -> Any:
    """Knowledge distillation: the members' weight soup, trained to reproduce their score average.

    Targets are the teacher's (score average's) scores on the training-split windows and, when the recipe
    pretrains, the pretraining windows (no labels used; validation/test proteins and their homologs are not
    among them). Soft targets with binary cross-entropy; the best epoch by ``val_auc`` on the labelled
    validation split is kept, as in every other stage (the stage's training-set ``auc``/``pr_auc`` columns
    compare scores with soft targets and mean nothing). Returns the distilled network.
    """
    from phosnet._tf import keras
    from phosnet.training import set_seed, train_model

    if finished(stage_dir):
        return keras().models.load_model(stage_dir / MODEL_FILE)
    recipe, encoding = options.recipe, options.encoding
    windows = data.subset("train").index
    if pretrain_data is not None:
        windows = np.concatenate([windows, pretrain_data[0]])
    teacher = average_models(members)
    # the Keras engine, as when the bundled model was made (the targets' last bits steer the distilled weights)
    targets = predict_windows(teacher, windows, encoding, batch_size=8192, engine="keras").astype(np.float32)
    set_seed(seed)
    # clone, then inference copy: the bundled model was made this way, and each build draws from the seeded
    # generator, so building once would change dropout and shuffling and not reproduce it bit for bit
    student = inference_copy(soup_models(members))
    compile_model(student, recipe.distill_learning_rate)
    val_part = data.subset("validation")
    logger.info("distilling %d networks into one on %d windows", len(members), len(windows))
    with warnings.catch_warnings():  # Keras warns that fit's default shuffle=True does not apply to datasets
        warnings.filterwarnings("ignore", message=".*shuffle=True.*")
        result = train_model(
            student,
            index_dataset(windows, targets, recipe.distill_batch_size, encoding, seed),
            (val_part.inputs(encoding), val_part.labels),
            run_dir=stage_dir, epochs=recipe.distill_epochs, patience=recipe.distill_patience,
            lr_patience=recipe.distill_lr_patience, seed=seed,
            config={"stage": "distill", "recipe": recipe.to_dict()}, metadata={"teacher_members": len(members)},
            resume=options.resumes(stage_dir), verbose=options.verbose, progress=options.progress,
            label="distillation",
        )
    return result.model


__all__ = ["StageOptions", "compile_model", "distill", "finished", "pretrain", "train_member"]
