"""Training data of the AKT task beyond labelled windows: loss weights, hard negatives and ``tf.data`` pipelines.

The labelled windows themselves come from :mod:`phosnet.datasets`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from phosnet.akt.recipe import Recipe
from phosnet.encoding import ALPHABET
from phosnet.errors import InputError


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
    weigh ``positive_weight``, negatives in ``hard_negatives`` weigh ``hard_negative_weight``, other negatives
    ``unlabelled_weight``. ``None`` when every weight would be 1."""
    if recipe.positive_weight == 1.0 and recipe.unlabelled_weight == 1.0 \
            and (not recipe.hard_negatives or recipe.hard_negative_weight == 1.0):
        return None
    labels = table["label"].to_numpy()
    weights = np.full(len(table), recipe.unlabelled_weight, dtype=np.float32)
    weights[labels == 1] = recipe.positive_weight
    if recipe.hard_negatives and recipe.hard_negative_weight != 1.0:
        known = read_site_set(recipe.hard_negatives)
        pairs = zip(table["protein_id"], table["position"], strict=True)
        hard = np.array([(str(p), int(q)) in known for p, q in pairs], dtype=bool)
        weights[(labels == 0) & hard] = recipe.hard_negative_weight
    return weights


def index_dataset(
    index: np.ndarray, labels: np.ndarray, batch_size: int, encoding: str, shuffle_seed: int | None
) -> Any:
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


__all__ = ["index_dataset", "read_site_set", "sample_weights"]
