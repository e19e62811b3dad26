"""How to train an AKT model: the :class:`Recipe` (every setting, with its default) and reading it from a file."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from phosnet.errors import InputError, check_setting_types, reject_unknown_settings


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
    distill_patience             3            its early-stopping patience
    distill_lr_patience          2            its epochs without improvement before the learning rate halves
    pretrain                     None         ``window, label`` table of general phosphosites (TSV/.gz)
    pretrain_epochs              5            maximum pretraining epochs
    pretrain_batch_size          256          pretraining batch size
    pretrain_learning_rate       1e-3         Adam learning rate while pretraining
    pretrain_validation          0.05         share of the pretraining table held out for its val_auc
    pretrain_patience            2            pretraining early-stopping patience
    pretrain_lr_patience         1            pretraining epochs without improvement before the rate halves
    pretrain_shared              True         pretrain once and fine-tune every member from it (faster);
                                              False: each member pretrains with its own seed
    pretrain_positive_weight     1.0          loss weight of a positive while pretraining
    hard_negatives               None         table of known phosphosites (TSV/.gz with ``accession``
                                              or ``protein_id``, and ``position``): training negatives
                                              listed there are *hard negatives* (other kinases' sites)
    hard_negative_weight         1.0          loss weight of a hard negative in the AKT stage
    unlabelled_weight            1.0          loss weight of the other negatives in the AKT stage: the
                                              S/T of substrates nobody reported, some of them unreported
                                              sites (positive-unlabelled: below 1 trusts them less)
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
    distill_patience: int = 3
    distill_lr_patience: int = 2
    pretrain: str | None = None
    pretrain_epochs: int = 5
    pretrain_batch_size: int = 256
    pretrain_learning_rate: float = 1e-3
    pretrain_validation: float = 0.05
    pretrain_patience: int = 2
    pretrain_lr_patience: int = 1
    pretrain_shared: bool = True
    pretrain_positive_weight: float = 1.0
    hard_negatives: str | None = None
    hard_negative_weight: float = 1.0
    unlabelled_weight: float = 1.0

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None) -> Recipe:
        """Fill in defaults for a partial dict; unknown keys are an :class:`~phosnet.errors.InputError`."""
        values = dict(values or {})
        reject_unknown_settings(values, {f.name for f in fields(cls)}, "training")
        check_setting_types(values, cls())
        if not isinstance(values.get("model", {}), dict):
            raise InputError(f"model: {values['model']!r} is not a mapping of network settings")
        recipe = cls(**values)
        for f in fields(recipe):  # epochs, batch sizes and the member count are at least 1
            if f.name.endswith(("epochs", "batch_size")) or f.name == "ensemble":
                if getattr(recipe, f.name) < 1:
                    raise InputError(f"{f.name}: must be at least 1, not {getattr(recipe, f.name)}")
        from phosnet.models.sequence import SequenceModelConfig

        try:
            SequenceModelConfig.from_dict(recipe.model)
        except (TypeError, ValueError) as exc:
            raise InputError(str(exc)) from None
        if recipe.combine not in {"average", "soup", "distill"}:
            raise InputError(f"combine must be 'average', 'soup' or 'distill', got {recipe.combine!r}")
        if recipe.combine != "average" and recipe.ensemble > 1 and not (recipe.pretrain and recipe.pretrain_shared):
            raise InputError(f"combine: {recipe.combine} averages weights, which is only meaningful for members "
                             "fine-tuned from one shared pretrained network: set pretrain (and pretrain_shared: true)")
        if recipe.hard_negative_weight != 1.0 and not recipe.hard_negatives:
            raise InputError("hard_negative_weight needs a hard_negatives table")
        if min(recipe.hard_negative_weight, recipe.positive_weight, recipe.unlabelled_weight) < 0:
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


def resolve_recipe(config: dict[str, Any] | str | os.PathLike | None, *, source: str | None = None,
                   **overrides: Any) -> Recipe:
    """The recipe of ``config`` (a dict, a YAML/JSON file or ``None``) with the non-``None`` ``overrides`` applied,
    checked whole, the network's settings included (:meth:`Recipe.from_dict`), so a value training would reject
    fails before anything is written; the error names ``source`` (default: the file ``config``) and the key."""
    if isinstance(config, str | os.PathLike):
        source = source or os.fspath(config)
        values = read_config(config)
    else:
        values = dict(config or {})
    values.update({key: value for key, value in overrides.items() if value is not None})
    try:
        return Recipe.from_dict(values)
    except InputError as exc:
        if source is None:
            raise
        raise InputError(f"{source}: {exc}") from None


__all__ = ["Recipe", "read_config", "resolve_recipe"]
