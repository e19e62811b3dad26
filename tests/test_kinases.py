"""A model knows its kinase: the bundle contract's ``kinases`` and ``residues``, ``phosnet models``, and
``evaluate`` scoring a model against the sites of its own kinases."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from phosnet.akt import evaluate
from phosnet.bundle import available_models, bundle_metadata, load_model
from phosnet.cli import cli

DATA = Path(__file__).parent / "data"
SITES, PROTEINS = DATA / "train" / "sites.tsv", DATA / "train" / "proteins.fasta"
TINY = DATA / "scan" / "tiny.keras"


@pytest.mark.parametrize("name", ["akt-default", "akt-ensemble"])
def test_bundled_models_say_which_kinases_and_residues_they_predict(name: str) -> None:
    assert name in available_models()
    model = load_model(name)
    assert model.metadata["kinases"] == ["AKT1", "AKT2", "AKT3"] and model.metadata["residues"] == ["S", "T"]
    assert model.kinases == ("AKT1", "AKT2", "AKT3") and model.residues == "ST"


def test_models_lists_and_shows_what_each_model_predicts() -> None:
    listing = CliRunner().invoke(cli, ["models"])
    assert listing.exit_code == 0, listing.output
    rows = [line.split("\t") for line in listing.output.splitlines() if line.startswith("akt-")]
    assert rows and all(row[1] == "AKT1/AKT2/AKT3 S/T" for row in rows)
    shown = CliRunner().invoke(cli, ["models", "akt-default"])
    assert "predicts:          AKT1/AKT2/AKT3 S/T sites (kinases AKT1, AKT2, AKT3; residues S, T)" in shown.output


def test_bundle_metadata_records_kinases_and_residues_as_lists() -> None:
    meta = bundle_metadata(name="x", description="d", flank=15, residues="ST", kinases=["PRKACA"],
                           input_encoding="onehot", thresholds={}, default_specificity=0.95, command="phosnet train")
    assert meta["kinases"] == ["PRKACA"] and meta["residues"] == ["S", "T"] and meta["window"] == 31


def _model_of(kinases: list[str] | None, folder: Path) -> Path:
    """The tiny test model, its metadata naming ``kinases`` (or none, as older models)."""
    folder.mkdir()
    path = folder / "tiny.keras"
    shutil.copy(TINY, path)
    meta = json.loads(TINY.with_suffix(".json").read_text())
    meta.pop("kinases", None)
    if kinases is not None:
        meta["kinases"] = kinases
    path.with_suffix(".json").write_text(json.dumps(meta))
    return path


def test_evaluate_counts_the_sites_of_the_models_own_kinases(tmp_path: Path) -> None:
    table = pd.read_csv(SITES, sep="\t")
    positives = table.index[table["label"] == 1]
    table["kinases"] = ""
    table.loc[positives[::2], "kinases"] = "AKT1"
    table.loc[positives[1::2], "kinases"] = "PRKACA"
    sites = tmp_path / "sites.tsv"
    table.to_csv(sites, sep="\t", index=False)
    test = table[table["split"] == "test"]
    akt, pka = (int(((test["label"] == 1) & (test["kinases"] == k)).sum()) for k in ("AKT1", "PRKACA"))
    assert akt and pka

    def positives_for(kinases: list[str] | None) -> tuple[int, pd.DataFrame]:
        result = evaluate(_model_of(kinases, tmp_path / f"m{kinases}"), sites, PROTEINS)
        assert result.metrics["kinases"] == (kinases or [])
        return int(result.metrics["positives"]), result.predictions

    n_akt, rows = positives_for(["AKT1", "AKT2", "AKT3"])
    assert n_akt == akt and len(rows) == len(test)  # PKA's sites count as negatives for an AKT model
    pka_rows = rows.merge(test[["protein_id", "position", "kinases"]], on=["protein_id", "position"])
    assert (pka_rows.loc[pka_rows["kinases"] == "PRKACA", "label"] == 0).all()
    assert positives_for(["PRKACA"])[0] == pka
    assert positives_for(None)[0] == akt + pka  # a model that names no kinase: the table's labels as they are
