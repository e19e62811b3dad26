"""How the members of an ensemble become one Keras model: score average, weight average (soup), inference copy.

Distillation (a trained combination) is a training stage: :func:`phosnet.akt.stages.distill`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from phosnet.bundle import KerasModel



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


def inference_copy(model: KerasModel) -> KerasModel:
    """The same network and weights without optimizer state (what a bundled ``.keras`` file should hold)."""
    from phosnet._tf import keras

    # from_config, not clone_model: Keras 3's clone keeps the compile state, and the optimizer's slots would
    # triple the file.
    copy = keras().Model.from_config(model.get_config())
    copy.set_weights(model.get_weights())
    return copy


__all__ = ["average_models", "inference_copy", "soup_models"]
