"""The bundled model ranks: no plateau of tied scores (issue #14).

``tests/data/ties/proteome_sample.fasta`` holds 5 example proteins (phosnet/examples/akt_substrates.fasta, by
accession), 150 human proteins at random and up to 150 that carried a site on the old bundled model's
plateau (written by ``python benchmarks/score_ties/run.py --model <old model> --write-sample ...``), so this
test fails on a model whose hidden units all switch off for the strongest sites. The full-proteome number is
measured by benchmarks/score_ties/run.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from phosnet.scan import predict

HERE = Path(__file__).resolve().parent
SAMPLE = HERE / "data" / "ties" / "proteome_sample.fasta"
SITES = HERE.parent / "data" / "akt_sites.tsv"
EXAMPLE_ACCESSIONS = ("P31749", "P49841", "O43524", "Q92934", "P46527")


@pytest.fixture(scope="module")
def scores() -> pd.DataFrame:
    return predict(SAMPLE, model="akt-default", engine="numpy")


def test_no_score_is_shared_by_many_sites(scores: pd.DataFrame) -> None:
    # distinct windows per score: identical windows (repeats, paralogues) tie legitimately
    counts = scores.groupby("score")["window"].nunique().sort_values(ascending=False)
    # the bar is 0.01% of the S/T; on a sample of ~10^4 sites that is ~1, and distinct float32 scores can
    # coincide by chance, so allow 3
    limit = max(3, int(1e-4 * len(scores)))
    assert len(scores) > 10_000
    assert counts.iloc[0] <= limit, f"{counts.iloc[0]} distinct windows share the score {counts.index[0]}"


def test_known_akt_sites_of_the_examples_are_ranked(scores: pd.DataFrame) -> None:
    sites = pd.read_csv(SITES, sep="\t", dtype={"protein_id": str})
    known = sites[(sites["label"] == 1) & sites["protein_id"].isin(EXAMPLE_ACCESSIONS)]
    assert len(known) >= 8  # BAD S99, GSK3B S9, FOXO3 T32/S253, CDKN1B T157/T198, ...
    counts = scores.groupby("score")["window"].nunique()
    for p, q in zip(known["protein_id"], known["position"], strict=True):
        row = scores[(scores["protein_id"] == p) & (scores["position"] == q)]
        assert len(row) == 1, f"{p} {q} not scanned"
        score = row["score"].iloc[0]
        assert counts[score] == 1, f"{p} {q} shares its score {score} with {counts[score] - 1} other windows"
    bad_s99 = scores[(scores["protein_id"] == "Q92934") & (scores["position"] == 99)]["score"].iloc[0]
    assert np.mean(scores["score"] > bad_s99) < 0.01  # BAD S99 ranks in the top 1% of the sample
