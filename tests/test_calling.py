"""The one call rule (phosnet.calling): a scan calls exactly what evaluate counts as called (issue 20)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
from click.testing import CliRunner

from phosnet.akt import evaluate
from phosnet.bundle import PRETRAINED_DIR
from phosnet.calling import called, threshold_at_specificity
from phosnet.cli import cli
from phosnet.evaluation import binary_metrics
from phosnet.io.fasta import read_fasta

DATA = Path(__file__).resolve().parent / "data" / "train"
SITES, PROTEINS = DATA / "sites.tsv", DATA / "proteins.fasta"


def _model_with_validation_thresholds(folder: Path) -> Path:
    """The bundled model with its thresholds set on the validation split of tests/data/train, as training sets
    them (binary_metrics on the validation scores), so the validation split has windows on the boundary."""
    validation = evaluate("akt-default", SITES, PROTEINS, split="validation").predictions
    metadata = json.loads((PRETRAINED_DIR / "akt-default.json").read_text())
    metadata["thresholds"] = binary_metrics(validation["label"], validation["score"])["thresholds"]
    shutil.copy(PRETRAINED_DIR / "akt-default.keras", folder / "m.keras")
    (folder / "m.json").write_text(json.dumps(metadata))
    return folder / "m.keras"


def test_scan_at_a_specificity_calls_exactly_what_evaluate_counts_as_called(tmp_path: Path) -> None:
    model = _model_with_validation_thresholds(tmp_path)
    result = evaluate(model, SITES, PROTEINS, split="validation")
    counted = result.metrics["at_thresholds"]["0.95"]
    threshold = json.loads((tmp_path / "m.json").read_text())["thresholds"]["0.95"]
    rows = result.predictions
    by_evaluate = set(zip(rows["protein_id"], rows["position"], strict=True))
    calls = called(rows["score"], threshold)  # what confusion_at counts as tp + fp
    evaluated_calls = set(zip(rows.loc[calls, "protein_id"], rows.loc[calls, "position"], strict=True))
    # the validation proteins, as a user would scan them
    validation_ids = set(rows["protein_id"])
    fasta = tmp_path / "validation.fasta"
    fasta.write_text("".join(f">{p.description}\n{p.sequence}\n" for p in read_fasta(PROTEINS)
                                 if p.protein_id in validation_ids))
    out = tmp_path / "calls.tsv"
    run = CliRunner().invoke(cli, ["scan", str(fasta), "--model", str(model), "--specificity", "0.95", "-o", str(out),
                                   "-q"], catch_exceptions=False)
    assert run.exit_code == 0, run.output
    table = pd.read_csv(out, sep="\t", dtype={"protein_id": str})
    assert set(zip(table["protein_id"], table["position"], strict=True)) == by_evaluate  # each evaluated S/T scanned
    picked = table[table["predicted"]]
    scanned_calls = set(zip(picked["protein_id"], picked["position"], strict=True))
    assert scanned_calls == evaluated_calls
    assert len(scanned_calls) == counted["tp"] + counted["fp"]
    assert 0 < len(scanned_calls) < len(table)


def test_a_threshold_one_step_above_a_float32_score_does_not_call_it() -> None:
    scores = np.array([0.1, 0.25, 0.7, 0.9], dtype=np.float32)
    labels = np.array([0, 0, 0, 1])
    cut = threshold_at_specificity(labels, scores, 1.0)  # above the highest negative, 0.7 as a float32
    assert cut > float(scores[2]) and np.float32(cut) == scores[2]  # in float32 the cut is the score itself
    assert called(scores, cut).tolist() == [False, False, False, True]
    assert called(scores.astype(np.float64), cut).tolist() == called(scores, cut).tolist()  # one rule, any dtype
    assert not called(np.array([np.nan]), 0.0)[0]
