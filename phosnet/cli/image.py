"""``phosnet image``: the 2D-image task (MNIST, CIFAR-10) on the shared training core.

Each subcommand parses its options and calls :mod:`phosnet.images`; nothing else happens here.
"""

from __future__ import annotations

import json

import click

from phosnet.images.knn import KNN_METRICS
from phosnet.io.run_folder import CORE_FILES

RUN_FILES = (*CORE_FILES, "training_curves.png", "predictions.png")
"""Files ``phosnet image train`` writes in its run folder."""

DATASET = click.Choice(["mnist", "cifar10"])
MODELS = ["mlp", "cnn", "cnn_bn", "lenet5", "alexnet", "knn"]
DATA_HELP = "Data file or directory (mnist.npz / IDX dir; cifar-10-batches-py / .npz). " \
            "Default: $PHOSNET_MNIST or $PHOSNET_CIFAR10, else the standard download."


@click.group("image", context_settings={"show_default": True})
def image() -> None:
    """Train and use image classifiers (MNIST, CIFAR-10)."""


def _need_tensorflow(model: str) -> None:
    """Every image model but k-NN (a name or a saved model's path) needs TensorFlow: say so before any work."""
    from phosnet._tf import require_tensorflow
    from phosnet.images.knn import is_knn_model

    if model != "knn" and not is_knn_model(model):
        require_tensorflow("phosnet image")


def _int_list(ctx: click.Context, param: click.Parameter, value: str) -> list[int]:
    try:
        return [int(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a comma-separated list of integers") from None


@image.command("train")
@click.option("--dataset", type=DATASET, required=True, help="Dataset to train on.")
@click.option("--data", type=click.Path(exists=True), default=None, help=DATA_HELP)
@click.option("--model", "model_name", type=click.Choice(MODELS), default="cnn",
              help="Architecture; cnn_bn is the small CNN with BatchNorm (the improved recipe); knn = "
                   "k-nearest neighbours (scikit-learn, no TensorFlow; k and distance by CV).")
@click.option("--out-dir", type=click.Path(file_okay=False), required=True, help="Run folder to write.")
@click.option("--epochs", type=click.IntRange(min=1), default=None,
              help="Maximum epochs (default: the model's recipe).")
@click.option("--batch-size", type=click.IntRange(min=1), default=None, help="Batch size (default: recipe).")
@click.option("--learning-rate", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Initial learning rate (default: recipe).")
@click.option("--validation-split", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.1,
              help="Fraction of training images held out for early stopping.")
@click.option("--patience", type=click.IntRange(min=1), default=5,
              help="Epochs without val_accuracy gain before stopping.")
@click.option("--schedule", type=click.Choice(["none", "cosine"]), default=None,
              help="Learning-rate schedule (default: the recipe's; none = constant, lowered on plateaus).")
@click.option("--augment", type=click.FloatRange(0, 0.5), default=None,
              help="Random shifts while training, as a fraction of the image (cnn, cnn_bn, alexnet; "
                   "default: the recipe's, 0.08 for cnn_bn, else none).")
@click.option("--time-budget", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Stop training once this many seconds have passed (mid-epoch if need be).")
@click.option("--n-train", type=click.IntRange(min=2), default=None, help="Use only the first N training images.")
@click.option("--seed", type=int, default=0, help="Random seed (weights, split, shuffling).")
@click.option("--resume", is_flag=True, help="Continue an interrupted run in --out-dir.")
@click.option("--k", "ks", default="1,3,5,7,9", callback=_int_list, help="knn: numbers of neighbours to try.")
@click.option("--metric", "knn_metrics", multiple=True, type=click.Choice(KNN_METRICS),
              default=("euclidean", "cosine"), help="knn: distances to try (repeat the option).")
@click.option("--folds", type=click.IntRange(min=2), default=5, help="knn: cross-validation folds.")
@click.option("--pca", type=click.IntRange(min=1), default=None,
              help="knn: project onto this many principal components first (default: raw pixels).")
@click.pass_context
def train(ctx: click.Context, dataset: str, data: str | None, model_name: str, out_dir: str,
          epochs: int | None, batch_size: int | None, learning_rate: float | None, validation_split: float,
          patience: int, schedule: str | None, augment: float | None, time_budget: float | None,
          n_train: int | None, seed: int, resume: bool, ks: list[int], knn_metrics: tuple[str, ...],
          folds: int, pca: int | None) -> None:
    """Train an image classifier; write the model, history, metrics.json and plots to --out-dir."""
    from phosnet.cli._options import is_quiet
    from phosnet.io.outputs import check_run_folder

    _need_tensorflow(model_name)
    if model_name == "knn":
        from phosnet.images.knn import KNN_RUN_FILES, train_knn

        if resume or augment or time_budget:
            raise click.UsageError("--resume, --augment and --time-budget do not apply to --model knn")
        check_run_folder(out_dir, KNN_RUN_FILES, [data])
        knn = train_knn(dataset, data=data, run_dir=out_dir, ks=ks, metrics=knn_metrics, folds=folds, pca=pca,
                        n_train=n_train, seed=seed)
        m = knn.metrics
        click.echo(f"knn on {dataset}: k={m['k']} {m['metric']} (CV accuracy {m['cv_accuracy']:.4f} over "
                   f"{folds} folds), test accuracy {m['test_accuracy']:.4f} ({m['train_seconds']:.1f} s CV + fit, "
                   f"{m['predict_seconds']:.1f} s test); run folder {knn.run_dir}")
        return
    from phosnet.images.task import train_image_model

    options = {"augment": augment} if augment is not None else None
    if augment and model_name not in ("cnn", "cnn_bn", "alexnet"):
        raise click.BadParameter(f"--augment is not available for {model_name}", param_hint="--augment")
    check_run_folder(out_dir, RUN_FILES, [data])
    quiet = is_quiet(ctx)
    run = train_image_model(
        dataset, data=data, run_dir=out_dir, model=model_name, epochs=epochs, batch_size=batch_size,
        learning_rate=learning_rate, schedule="" if schedule == "none" else schedule,
        validation_split=validation_split, patience=patience,
        model_options=options, time_budget=time_budget, n_train=n_train, seed=seed, resume=resume,
        progress=not quiet,
    )
    m = run.metrics
    click.echo(f"{model_name} on {dataset}: test accuracy {m['test_accuracy']:.4f}, test loss "
               f"{m['test_loss']:.4f} ({m['epochs_run']} epochs, {m['seconds_per_epoch']:.1f} s/epoch); "
               f"run folder {run.run_dir}")


@image.command("evaluate")
@click.argument("model", type=click.Path(exists=True))
@click.option("--dataset", type=DATASET, required=True, help="Dataset whose test set to use.")
@click.option("--data", type=click.Path(exists=True), default=None, help=DATA_HELP)
@click.option("--batch-size", type=click.IntRange(min=1), default=512, help="Batch size.")
def evaluate(model: str, dataset: str, data: str | None, batch_size: int) -> None:
    """Test accuracy and loss of MODEL (a run folder, a .keras or a k-NN .npz file), printed as JSON."""
    from phosnet.images.task import evaluate_image_model

    _need_tensorflow(model)
    metrics = evaluate_image_model(model, dataset, data=data, batch_size=batch_size)
    click.echo(json.dumps(metrics, indent=2))


@image.command("predict")
@click.argument("model", type=click.Path(exists=True))
@click.argument("images", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--top", type=click.IntRange(min=1), default=1, help="Also list the N most likely classes.")
def predict(model: str, images: tuple[str, ...], top: int) -> None:
    """Classify IMAGES (PNG/JPEG or .npy) with MODEL (run folder, .keras or k-NN .npz); one TSV row per image."""
    from phosnet.images.task import predict_images
    from phosnet.io.tables import write_table

    _need_tensorflow(model)
    table = predict_images(model, list(images), top=top)
    write_table(table, "-")


@image.command("gan")
@click.option("--dataset", type=click.Choice(["mnist"]), default="mnist", help="Images to learn (28x28 grey).")
@click.option("--data", type=click.Path(exists=True), default=None, help=DATA_HELP)
@click.option("--out-dir", type=click.Path(file_okay=False), required=True, help="Run folder to write.")
@click.option("--classifier", type=click.Path(exists=True), default=None,
              help="A trained MNIST classifier (phosnet image train run folder or .keras): measures sample "
                   "quality per epoch (share classified with confidence > 0.9, inception score).")
@click.option("--epochs", type=click.IntRange(min=1), default=10, help="Epochs.")
@click.option("--batch-size", type=click.IntRange(min=1), default=128, help="Real images per step.")
@click.option("--latent-dim", type=click.IntRange(min=1), default=64, help="Noise size.")
@click.option("--n-train", type=click.IntRange(min=1), default=None, help="Use only the first N training images.")
@click.option("--seed", type=int, default=0, help="Random seed (weights, shuffling, sample noise).")
@click.option("--resume", is_flag=True, help="Continue an interrupted run in --out-dir.")
@click.pass_context
def gan(ctx: click.Context, dataset: str, data: str | None, out_dir: str, classifier: str | None, epochs: int,
        batch_size: int, latent_dim: int, n_train: int | None, seed: int, resume: bool) -> None:
    """Train a GAN; write generator.keras, checkpoints, history and samples/epoch-NNN.png to --out-dir."""
    from phosnet.cli._options import is_quiet
    from phosnet.io.outputs import check_run_folder

    _need_tensorflow("gan")
    from phosnet.images.gan import GAN_RUN_FILES, train_gan

    check_run_folder(out_dir, GAN_RUN_FILES, [data, classifier])
    run = train_gan(dataset, data=data, run_dir=out_dir, classifier=classifier, epochs=epochs,
                    batch_size=batch_size, latent_dim=latent_dim, n_train=n_train, seed=seed, resume=resume,
                    progress=not is_quiet(ctx))
    m = run.metrics
    quality = (f", best epoch {m['best_epoch']}: {m['confident']:.1%} confident, inception score "
               f"{m['inception_score']:.2f}" if "confident" in m else "")
    click.echo(f"GAN on {dataset}: {m['epochs_run']} epochs in {m['train_seconds']:.0f} s{quality}; "
               f"generator {run.run_dir / 'generator.keras'}")


@image.command("sample")
@click.option("--generator", type=click.Path(exists=True), required=True,
              help="generator.keras or the GAN's run folder.")
@click.option("-n", "n", type=click.IntRange(min=1), default=50, help="Images to draw.")
@click.option("--seed", type=int, default=0, help="Noise seed (same seed, same images).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True,
              help="A .png grid, or .npy for the (n, 28, 28, 1) array.")
def sample(generator: str, n: int, seed: int, output: str) -> None:
    """Draw N images from a trained GAN generator."""
    from phosnet.io.outputs import check_outputs

    _need_tensorflow("sample")
    check_outputs({"--output": output}, [generator])
    from phosnet.images.gan import sample_digits, save_samples

    save_samples(sample_digits(generator, n, seed=seed), output)
    click.echo(f"{n} samples (seed {seed}) written to {output}")
