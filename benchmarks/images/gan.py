#!/usr/bin/env python
"""The MNIST GAN on the training core: sample quality per epoch, judged by a phosnet MNIST classifier.

    nice -n 10 python benchmarks/images/gan.py [--epochs 8] [--mnist ../shared/datasets/mnist/mnist.npz]

Trains the classifier first (``phosnet image train --model cnn_bn``, the improved recipe), then
``phosnet image gan --classifier`` for ``--epochs`` epochs on full MNIST, each as a CLI subprocess timed end to
end. Every epoch's samples are scored by the classifier (``history.tsv``: share of samples classified with
confidence > 0.9, inception score 1-10, the generator's and discriminator's losses). Appends the table, the
command, the machine and the date to ``GAN_RESULTS.md`` beside this file; the last epoch's sample grid is
copied to ``gan_samples.png`` there.
"""

from __future__ import annotations

import argparse
import datetime
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from measure import load, machine  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]




def run(args: list[str]) -> None:
    subprocess.run([sys.executable, "-m", "phosnet", *args, "-q"], check=True, cwd=ROOT)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist", default=str(ROOT.parent / "shared/datasets/mnist/mnist.npz"))
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--work-dir", default="/tmp/phosnet-gan-bench")
    parser.add_argument("--report-only", action="store_true",
                        help="write the section from the run folders already in --work-dir instead of training")
    args = parser.parse_args()
    work = Path(args.work_dir)
    started = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    started_load = load()
    if not args.report_only:
        shutil.rmtree(work, ignore_errors=True)
        run(["image", "train", "--dataset", "mnist", "--data", args.mnist, "--model", "cnn_bn",
             "--out-dir", str(work / "classifier")])
        run(["image", "gan", "--data", args.mnist, "--classifier", str(work / "classifier"),
             "--epochs", str(args.epochs), "--out-dir", str(work / "gan")])
    classifier = json.loads((work / "classifier" / "metrics.json").read_text())
    gan = json.loads((work / "gan" / "metrics.json").read_text())
    accuracy, classifier_s, gan_s = classifier["test_accuracy"], classifier["train_seconds"], gan["train_seconds"]
    epochs = int(gan["epochs_run"])
    history = pd.read_csv(work / "gan" / "history.tsv", sep="\t")
    samples = sorted((work / "gan" / "samples").glob("epoch-*.png"))
    if samples:
        shutil.copy(samples[-1], HERE / "gan_samples.png")
    shown = [c for c in history.columns if c != "lr"]
    table = ["| " + " | ".join(shown) + " |", "|" + " --- |" * len(shown)]
    for _, row in history.iterrows():
        table.append("| " + " | ".join(f"{row[c]:.4g}" if isinstance(row[c], float) else str(row[c])
                                        for c in shown) + " |")
    command = "nice -n 10 python benchmarks/images/gan.py " + " ".join(sys.argv[1:])
    text = (f"\n## Run of {started}\n\nCommand: `{command.strip()}`; machine: {machine()}; load at the start "
            f"{started_load}.\n\nClassifier (`image train --model cnn_bn`): test accuracy {accuracy:.4f}, "
            f"{classifier_s:.0f} s of training. GAN (`image gan --epochs {epochs}`, full MNIST): "
            f"{gan_s:.0f} s of training ({gan_s / epochs:.0f} s per epoch with the per-epoch judging).\n\n"
            + "\n".join(table) + "\n\nLast epoch's samples: `gan_samples.png`.\n")
    out = HERE / "GAN_RESULTS.md"
    if not out.exists():
        out.write_text("# MNIST GAN: sample quality per epoch (`benchmarks/images/gan.py`)\n\nEach run appends a "
                       "section. Quality is the judgement of a phosnet MNIST classifier: `confident` = share of "
                       "samples classified with confidence > 0.9, inception score 1 (one class or noise) to 10 "
                       "(all ten digits, evenly and confidently).\n")
    with out.open("a") as handle:
        handle.write(text)
    print(text)


if __name__ == "__main__":
    main()
