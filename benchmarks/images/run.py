"""Image benchmark: MNIST test accuracy and seconds per epoch per model, CIFAR-10 subset in a time budget.

One command (from the repository root)::

    python benchmarks/images/run.py

writes ``benchmarks/images/RESULTS.md`` (command, machine, date, tables) and one run folder per model
under ``--work-dir``. Every run goes through ``phosnet.images.train_image_model``, i.e. the same training
core as the sequence model (early stopping on ``val_accuracy``, mode max).

MNIST rows: the original small-CNN recipe (``cnn``: Adam 1e-3, batch 128, 12 epochs) sets the time
budget that the improved recipe (``cnn_bn``: BatchNorm, Adam 3e-3 with cosine decay, random shifts of up to
8%, 7 epochs) must stay under. AlexNet gets one MNIST epoch or ``--budget`` seconds, whichever ends first
(its s/epoch is then extrapolated). ``training s`` includes per-epoch validation and checkpoint writing.
``--knn raw,pca50`` adds the k-NN classifier (k and distance by 5-fold CV) on both datasets.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

# name, model, overrides for train_image_model
MNIST_RUNS = [
    ("mlp", "mlp", {}),
    ("cnn (original recipe, 12 epochs)", "cnn", {"epochs": 12, "patience": 12}),
    ("cnn_bn (improved recipe)", "cnn_bn", {}),
    ("lenet5", "lenet5", {}),
    ("alexnet (1 epoch or the CIFAR budget)", "alexnet", {"epochs": 1, "time_budget": "budget"}),
]
CIFAR_MODELS = ["mlp", "cnn", "cnn_bn", "lenet5", "alexnet"]
KNN_VARIANTS = {"raw": None, "pca50": 50}  # k-NN on raw pixels / on 50 principal components


def machine() -> str:
    """``lscpu`` model name and the number of usable cores."""
    model = platform.processor() or "unknown CPU"
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return f"{model}, {len(os.sched_getaffinity(0))} cores"


def run_one(data, label: str, model: str, run_dir: Path, **overrides) -> dict:
    from phosnet.images.task import train_image_model

    start = time.perf_counter()
    run = train_image_model(data, run_dir=run_dir, model=model, seed=0, verbose=2, **overrides)
    metrics = dict(run.metrics)
    metrics["wall_seconds"] = round(time.perf_counter() - start, 1)
    metrics["label"] = label
    print(json.dumps(metrics), flush=True)
    return metrics


def run_knn(data, variant: str, run_dir: Path) -> dict:
    """k-NN with k (1-9 odd) and distance (euclidean, cosine) chosen by 5-fold CV on the training set."""
    from phosnet.images.knn import train_knn

    start = time.perf_counter()
    run = train_knn(data, run_dir=run_dir, pca=KNN_VARIANTS[variant], folds=5, seed=0)
    metrics = {k: v for k, v in run.metrics.items() if k != "confusion_matrix"}
    metrics["wall_seconds"] = round(time.perf_counter() - start, 1)
    metrics["label"] = f"knn ({variant})"
    print(json.dumps(metrics), flush=True)
    return metrics


def knn_table(rows: list[dict]) -> list[str]:
    """The k-NN rows: grid choice, CV accuracy, seconds and test accuracy."""
    lines = [
        "| dataset | model | chosen k | distance | 5-fold CV accuracy | CV + fit s | test prediction s | "
        "test accuracy |",
        "| --- | --- | ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    lines += [
        f"| {r['dataset']} ({r['n_train']:,} train / {r['n_test']:,} test) | {r['label']} | {r['k']} | "
        f"{r['metric']} | {r['cv_accuracy']:.4f} ± {r['cv_std']:.4f} | {r['train_seconds']:.0f} | "
        f"{r['predict_seconds']:.0f} | {r['test_accuracy']:.4f} |"
        for r in rows
    ]
    return lines + [""]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist", default=str(ROOT.parent / "shared/datasets/mnist/mnist.npz"))
    parser.add_argument("--cifar", default=str(ROOT.parent / "shared/datasets/cifar10/cifar10_subset.npz"))
    parser.add_argument("--budget", type=float, default=120.0, help="CIFAR-10 seconds of training per model")
    parser.add_argument("--mnist-models", default=",".join(r[1] for r in MNIST_RUNS))
    parser.add_argument("--cifar-models", default=",".join(CIFAR_MODELS))
    parser.add_argument("--knn", default="", help="k-NN variants on both datasets: raw, pca50 (comma list)")
    parser.add_argument("--work-dir", default="/tmp/phosnet-image-bench")
    parser.add_argument("--out", default=str(Path(__file__).with_name("RESULTS.md")))
    args = parser.parse_args(argv)

    from phosnet.images.loaders import load_cifar10, load_mnist

    work = Path(args.work_dir)
    wanted_mnist = set(filter(None, args.mnist_models.split(",")))
    wanted_cifar = [m for m in args.cifar_models.split(",") if m]
    wanted_knn = [v for v in args.knn.split(",") if v]
    mnist_rows, cifar_rows, knn_rows = [], [], []
    if wanted_mnist:
        mnist = load_mnist(args.mnist)
        for label, model, overrides in MNIST_RUNS:
            if model in wanted_mnist:
                overrides = {k: args.budget if v == "budget" else v for k, v in overrides.items()}
                mnist_rows.append(run_one(mnist, label, model, work / f"mnist-{model}", **overrides))
    if wanted_knn:
        from phosnet.images.loaders import load_dataset

        for name, path in (("mnist", args.mnist), ("cifar10", args.cifar)):
            images = load_dataset(name, path)
            knn_rows += [run_knn(images, v, work / f"{name}-knn-{v}") for v in wanted_knn]
    if wanted_cifar:
        cifar = load_cifar10(args.cifar)
        for model in wanted_cifar:
            cifar_rows.append(run_one(cifar, model, model, work / f"cifar10-{model}", epochs=200,
                                      patience=200, time_budget=args.budget))

    command = "python benchmarks/images/run.py " + " ".join(argv if argv is not None else sys.argv[1:])
    lines = [
        "## Images: MNIST and CIFAR-10 (phosnet image task on the shared training core)",
        "",
        f"- command: `{command.strip()}`",
        f"- machine: {machine()}",
        f"- date: {datetime.date.today().isoformat()}",
        "- split: seeded 10% of the training images for validation (early stopping on val_accuracy), the "
        "official test set for test accuracy; seed 0",
        "",
    ]
    if mnist_rows:
        lines += [
            f"### MNIST (`{args.mnist}`): 54,000 train / 6,000 validation / 10,000 test",
            "",
            "| model | parameters | epochs | s/epoch | training s | test accuracy | test loss |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        lines += [
            f"| {r['label']} | {r['parameters']:,} | {r['epochs_run']:g} | {r['seconds_per_epoch']:.1f} | "
            f"{r['train_seconds']:.0f} | {r['test_accuracy']:.4f} | {r['test_loss']:.4f} |"
            for r in mnist_rows
        ]
        lines.append("")
    if cifar_rows:
        lines += [
            f"### CIFAR-10 subset (`{args.cifar}`): 9,000 train / 1,000 validation / 10,000 test, "
            f"{args.budget:.0f} s training budget per model",
            "",
            "| model | parameters | epochs in budget | s/epoch | test accuracy | test loss |",
            "| --- | ---: | ---: | ---: | ---: | ---: |",
        ]
        lines += [
            f"| {r['label']} | {r['parameters']:,} | {r['epochs_run']:g} | {r['seconds_per_epoch']:.1f} | "
            f"{r['test_accuracy']:.4f} | {r['test_loss']:.4f} |"
            for r in cifar_rows
        ]
        lines.append("")
    if knn_rows:
        lines += ["### k-NN (scikit-learn; k in 1,3,5,7,9 and euclidean/cosine chosen by 5-fold CV on the "
                  "training images)", "", *knn_table(knn_rows)]
    Path(args.out).write_text("\n".join(lines))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
