"""Classic image classifiers (MLP, small CNN, LeNet-5, AlexNet for CIFAR-10) as Keras models.

TensorFlow/Keras is imported inside the builders, so importing this module stays cheap.

Parameter counts for the default settings (10 classes)
------------------------------------------------------
=========  ==============  ==========  =============================================================
name       input           parameters  layers
=========  ==============  ==========  =============================================================
mlp        28x28x1         101,770     Flatten, Dense 128 ReLU, Dropout 0.2, Dense 10
cnn        28x28x1          80,202     Conv 16@5x5, MaxPool, Conv 32@5x5, MaxPool, Dense 128, Dropout 0.5
cnn_bn     28x28x1          80,346     the same with BatchNorm after each conv (no conv bias): the
                                       improved recipe
lenet5     28x28x1          61,706     Conv 6@5x5 same sigmoid, AvgPool, Conv 16@5x5 sigmoid, AvgPool,
                                       Dense 120, 84 (sigmoid), 10
alexnet    32x32x3       7,511,370     Conv 64/192/384/256/256 @3x3 + BatchNorm + L2 5e-4, 3 MaxPools,
                                       Dense 1024, 1024 with Dropout 0.5
=========  ==============  ==========  =============================================================

All models end in a softmax and are compiled by :func:`compile_image_model` with sparse categorical
cross-entropy and an ``accuracy`` metric, so the training core can monitor ``val_accuracy``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from phosnet.errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    import keras

__all__ = [
    "IMAGE_MODELS",
    "RECIPES",
    "build_alexnet",
    "build_cnn",
    "build_image_model",
    "build_lenet5",
    "build_mlp",
    "compile_image_model",
]

Shape = Sequence[int]


def _keras():
    from phosnet._tf import keras

    return keras()


def _augmentation(keras, augment: float) -> list:
    """Random shifts of up to ``augment`` of the height/width (active only while training)."""
    if not augment:
        return []
    return [keras.layers.RandomTranslation(augment, augment, fill_mode="constant", name="augment")]


def build_mlp(
    input_shape: Shape = (28, 28, 1), num_classes: int = 10, *, hidden: int = 128, dropout: float = 0.2,
    name: str = "mlp",
) -> keras.Model:
    """Multi-layer perceptron: Flatten, Dense ``hidden`` ReLU, Dropout, Dense ``num_classes`` softmax.

    ==========  =======  ===================================
    parameter   default  meaning
    ==========  =======  ===================================
    hidden      128      units of the hidden layer
    dropout     0.2      dropout rate after the hidden layer
    ==========  =======  ===================================
    """
    keras = _keras()
    layers = keras.layers
    return keras.Sequential(
        [
            keras.Input(shape=tuple(input_shape)),
            layers.Flatten(),
            layers.Dense(hidden, activation="relu"),
            layers.Dropout(dropout),
            layers.Dense(num_classes, activation="softmax"),
        ],
        name=name,
    )


def build_cnn(
    input_shape: Shape = (28, 28, 1), num_classes: int = 10, *, filters: Sequence[int] = (16, 32),
    kernel_size: int = 5, dense: int = 128, dropout: float = 0.5, padding: str = "valid",
    batch_norm: bool = False, augment: float = 0.0, name: str = "cnn",
) -> keras.Model:
    """The small MNIST CNN: (Conv ``k``x``k`` ReLU, MaxPool 2) per filter count, Dense, Dropout, softmax.

    ===========  ========  ==================================================================
    parameter    default   meaning
    ===========  ========  ==================================================================
    filters      (16, 32)  filters of each conv block
    kernel_size  5         convolution kernel size
    dense        128       units of the hidden dense layer
    dropout      0.5       dropout rate before the output layer
    padding      "valid"   convolution padding (the original uses "valid": 80,202 parameters)
    batch_norm   False     BatchNorm after each convolution (the improved recipe, ``cnn_bn``)
    augment      0.0       random shifts (fraction of the image) while training; 0 = none
    ===========  ========  ==================================================================
    """
    keras = _keras()
    layers = keras.layers
    stack: list = [keras.Input(shape=tuple(input_shape)), *_augmentation(keras, augment)]
    for n_filters in filters:
        if batch_norm:
            stack += [
                layers.Conv2D(n_filters, kernel_size, padding=padding, use_bias=False),
                layers.BatchNormalization(),
                layers.Activation("relu"),
            ]
        else:
            stack.append(layers.Conv2D(n_filters, kernel_size, padding=padding, activation="relu"))
        stack.append(layers.MaxPooling2D(2))
    stack += [
        layers.Flatten(),
        layers.Dense(dense, activation="relu"),
        layers.Dropout(dropout),
        layers.Dense(num_classes, activation="softmax"),
    ]
    return keras.Sequential(stack, name=name)


def build_lenet5(
    input_shape: Shape = (28, 28, 1), num_classes: int = 10, *, activation: str = "sigmoid",
    name: str = "lenet5",
) -> keras.Model:
    """LeNet-5 as usually taught on MNIST (LeCun et al. 1998, with average pooling).

    Conv 6@5x5 ``same``, AvgPool 2, Conv 16@5x5 ``valid``, AvgPool 2, Dense 120, Dense 84, Dense
    ``num_classes`` softmax; 61,706 parameters on 28x28x1.

    ==========  =========  =====================================
    parameter   default    meaning
    ==========  =========  =====================================
    activation  "sigmoid"  activation of conv and hidden layers
    ==========  =========  =====================================
    """
    keras = _keras()
    layers = keras.layers
    return keras.Sequential(
        [
            keras.Input(shape=tuple(input_shape)),
            layers.Conv2D(6, 5, padding="same", activation=activation),
            layers.AveragePooling2D(2),
            layers.Conv2D(16, 5, activation=activation),
            layers.AveragePooling2D(2),
            layers.Flatten(),
            layers.Dense(120, activation=activation),
            layers.Dense(84, activation=activation),
            layers.Dense(num_classes, activation="softmax"),
        ],
        name=name,
    )


def build_alexnet(
    input_shape: Shape = (32, 32, 3), num_classes: int = 10, *,
    filters: Sequence[int] = (64, 192, 384, 256, 256), kernel_sizes: Sequence[int] = (3, 3, 3, 3, 3),
    pool_after: Sequence[int] = (0, 1, 4), dense: int = 1024, dropout: float = 0.5, l2: float = 5e-4,
    batch_norm: bool = True, augment: float = 0.0, name: str = "alexnet",
) -> keras.Model:
    """AlexNet adapted to 32x32 CIFAR-10 images.

    Five convolutions (``same`` padding, each followed by BatchNorm and ReLU), 2x2 max pooling after the
    layers listed in ``pool_after``, then Dense ``dense`` x2 with Dropout and a softmax. All kernels carry
    an L2 penalty.

    ============  ==========================  ==================================================
    parameter     default                     meaning
    ============  ==========================  ==================================================
    filters       (64, 192, 384, 256, 256)    filters of the five conv layers
    kernel_sizes  (3, 3, 3, 3, 3)             kernel sizes (AlexNet's 11/5 shrink for 32x32)
    pool_after    (0, 1, 4)                   conv layers (0-based) followed by MaxPool 2
    dense         1024                        units of both hidden dense layers
    dropout       0.5                         dropout after each hidden dense layer
    l2            5e-4                        L2 weight decay on kernels
    batch_norm    True                        BatchNorm after each convolution
    augment       0.0                         random shifts while training; 0 = none
    ============  ==========================  ==================================================
    """
    if len(filters) != len(kernel_sizes):
        raise InputError("alexnet: filters and kernel_sizes must have the same length")
    keras = _keras()
    layers = keras.layers
    reg = keras.regularizers.L2(l2) if l2 else None
    stack: list = [keras.Input(shape=tuple(input_shape)), *_augmentation(keras, augment)]
    for i, (n_filters, size) in enumerate(zip(filters, kernel_sizes, strict=True)):
        stack.append(layers.Conv2D(n_filters, size, padding="same", kernel_regularizer=reg))
        if batch_norm:
            stack.append(layers.BatchNormalization())
        stack.append(layers.Activation("relu"))
        if i in pool_after:
            stack.append(layers.MaxPooling2D(2))
    stack.append(layers.Flatten())
    for _ in range(2):
        stack += [layers.Dense(dense, activation="relu", kernel_regularizer=reg), layers.Dropout(dropout)]
    stack.append(layers.Dense(num_classes, activation="softmax"))
    return keras.Sequential(stack, name=name)


def _cnn_bn(input_shape: Shape = (28, 28, 1), num_classes: int = 10, **options: Any) -> keras.Model:
    options.setdefault("batch_norm", True)
    options.setdefault("name", "cnn_bn")
    return build_cnn(input_shape, num_classes, **options)


IMAGE_MODELS: dict[str, Callable[..., Any]] = {
    "mlp": build_mlp,
    "cnn": build_cnn,
    "cnn_bn": _cnn_bn,
    "lenet5": build_lenet5,
    "alexnet": build_alexnet,
}
"""Builders by name: each takes ``(input_shape, num_classes, **options)``."""

RECIPES: dict[str, dict[str, Any]] = {
    "mlp": {"optimizer": "adam", "learning_rate": 1e-3, "schedule": None, "batch_size": 128, "epochs": 10},
    "cnn": {"optimizer": "adam", "learning_rate": 1e-3, "schedule": None, "batch_size": 128, "epochs": 12},
    "cnn_bn": {"optimizer": "adam", "learning_rate": 3e-3, "schedule": "cosine", "batch_size": 128, "epochs": 7,
               "model_options": {"augment": 0.08}},
    "lenet5": {"optimizer": "adam", "learning_rate": 2e-3, "schedule": None, "batch_size": 128, "epochs": 10},
    "alexnet": {"optimizer": "adam", "learning_rate": 1e-3, "schedule": None, "batch_size": 128, "epochs": 30},
}
"""Default training settings per model (overridable from the API and the CLI)."""


def build_image_model(
    name: str, input_shape: Shape, num_classes: int = 10, **options: Any
) -> keras.Model:
    """Build the model called ``name`` (see :data:`IMAGE_MODELS`) for ``input_shape`` images."""
    try:
        builder = IMAGE_MODELS[name]
    except KeyError:
        raise InputError(f"unknown image model {name!r} (choose from {', '.join(IMAGE_MODELS)})") from None
    return builder(tuple(int(d) for d in input_shape), num_classes, **options)


def compile_image_model(
    model: keras.Model, *, optimizer: str = "adam", learning_rate: float = 1e-3, schedule: str | None = None,
    decay_steps: int | None = None,
) -> keras.Model:
    """Compile ``model`` with sparse categorical cross-entropy and an ``accuracy`` metric.

    Parameters
    ----------
    model : keras.Model
        Model to compile (in place; also returned).
    optimizer : {"adam", "sgd", "rmsprop"}
        Optimizer; SGD uses Nesterov momentum 0.9. Default: "adam".
    learning_rate : float
        Initial learning rate. Default: 1e-3.
    schedule : {None, "cosine"}
        ``None``: constant rate (the training core lowers it on plateaus); ``"cosine"``: cosine decay to 1%
        of ``learning_rate`` over ``decay_steps`` batches (then the caller must keep the core's plateau
        reduction from firing). Default: None.
    decay_steps : int, optional
        Length of the cosine schedule in batches (epochs x batches per epoch).
    """
    keras = _keras()
    rate: Any = learning_rate
    if schedule == "cosine":
        if not decay_steps or decay_steps < 1:
            raise InputError("a cosine schedule needs decay_steps >= 1")
        rate = keras.optimizers.schedules.CosineDecay(learning_rate, int(decay_steps), alpha=0.01)
    elif schedule is not None:
        raise InputError(f"unknown learning-rate schedule {schedule!r} (choose from cosine)")
    optimizers = {
        "adam": lambda: keras.optimizers.Adam(rate),
        "sgd": lambda: keras.optimizers.SGD(rate, momentum=0.9, nesterov=True),
        "rmsprop": lambda: keras.optimizers.RMSprop(rate),
    }
    if optimizer not in optimizers:
        raise InputError(f"unknown optimizer {optimizer!r} (choose from {', '.join(optimizers)})")
    model.compile(
        optimizer=optimizers[optimizer](),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model
