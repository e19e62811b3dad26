"""The AKT task: train and evaluate AKT (PKB) site models (the Python API of ``phosnet train``/``evaluate``).

==========================  ==============================================================================
module                      what it holds
==========================  ==============================================================================
:mod:`phosnet.akt.recipe`   :class:`Recipe` (every training setting and its default), reading it from a file
:mod:`phosnet.akt.data`     loss weights (positives, hard negatives) and ``tf.data`` pipelines
:mod:`phosnet.akt.stages`   the stages on the one training core: pretrain, train_member, distill
:mod:`phosnet.akt.combine`  members -> one model: score average, weight average (soup), inference copy
:mod:`phosnet.akt.api`      :func:`train`, :func:`evaluate`, :func:`predict_windows`
==========================  ==============================================================================
"""

from phosnet.akt.api import EvaluationResult, TrainResult, evaluate, predict_windows, train
from phosnet.akt.combine import average_models, inference_copy, soup_models
from phosnet.akt.data import read_site_set, sample_weights
from phosnet.akt.recipe import Recipe, read_config, resolve_recipe

__all__ = [
    "EvaluationResult", "Recipe", "TrainResult", "average_models", "evaluate", "inference_copy", "predict_windows",
    "read_config", "read_site_set", "resolve_recipe", "sample_weights", "soup_models", "train",
]
