"""The AKT training API on tiny data (1-2 epochs): run folder, checkpoint reload, seeds, resume, ensembles."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from phosnet.akt import Recipe, average_models, evaluate, predict_windows, train
from phosnet.bundle import load_model
from phosnet.datasets import labelled_windows
from phosnet.errors import InputError

pytestmark = pytest.mark.slow  # trains networks (tens of seconds per test)

DATA = Path(__file__).parent / "data" / "train"
SITES, PROTEINS = DATA / "sites.tsv", DATA / "proteins.fasta"
SMALL = {"model": {"conv1_filters": 8, "conv2_filters": 8, "dense_units": 8}, "epochs": 2, "batch_size": 32}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return train(SITES, PROTEINS, out_dir=tmp_path_factory.mktemp("run"), config=SMALL, seed=1, name="tiny")


def _weights(model):
    return [w.copy() for w in model.get_weights()]


def test_run_folder_is_complete(run):
    for name in ("model.keras", "model.json", "metadata.json", "config.json", "metrics.json", "history.tsv",
                 "predictions.tsv", "validation_roc.png", "validation_pr.png", "test_roc.png"):
        assert (run.run_dir / name).exists(), name
    meta = json.loads((run.run_dir / "model.json").read_text())
    assert meta["window"] == 31 and meta["flank"] == 15 and meta["residues"] == ["S", "T"]
    assert meta["kinases"] == ["AKT1", "AKT2", "AKT3"]  # the table names none: the AKT task's default
    assert meta["description"].startswith("AKT1/AKT2/AKT3 S/T site model")
    assert set(meta["thresholds"]) == {"0.90", "0.95", "0.99"}
    assert len(meta["training_data_sha256"]) == 64
    assert meta["metrics"]["n"] == 87  # the test split of the tiny table
    assert "roc_auc" in run.metrics["validation"]


def test_checkpoint_reloads_to_same_predictions(run):
    from phosnet._tf import keras

    data = labelled_windows(SITES, PROTEINS).subset("test")
    reloaded = keras().models.load_model(run.run_dir / "model.keras")
    np.testing.assert_allclose(predict_windows(reloaded, data.index), predict_windows(run.model, data.index),
                               rtol=1e-5, atol=1e-6)
    stored = run.predictions[run.predictions["split"] == "test"]["score"].to_numpy()
    np.testing.assert_allclose(stored, predict_windows(reloaded, data.index), rtol=1e-5, atol=1e-6)


def test_thresholds_come_from_validation(run):
    from phosnet.evaluation import binary_metrics

    val = run.predictions[run.predictions["split"] == "validation"]
    assert run.metadata["thresholds"] == binary_metrics(val["label"], val["score"])["thresholds"]


def test_final_model_holds_the_best_epoch(run):
    history = run.run_dir / "members" / "member-0" / "finetune" / "history.tsv"
    import pandas as pd

    table = pd.read_csv(history, sep="\t")
    meta = json.loads((history.parent / "metadata.json").read_text())
    assert meta["best_value"] == pytest.approx(table["val_auc"].max())


def test_same_seed_same_weights_other_seed_differs(tmp_path):
    a = train(SITES, PROTEINS, out_dir=tmp_path / "a", config={**SMALL, "epochs": 1}, seed=5)
    b = train(SITES, PROTEINS, out_dir=tmp_path / "b", config={**SMALL, "epochs": 1}, seed=5)
    c = train(SITES, PROTEINS, out_dir=tmp_path / "c", config={**SMALL, "epochs": 1}, seed=6)
    for wa, wb in zip(_weights(a.model), _weights(b.model), strict=True):
        np.testing.assert_allclose(wa, wb, rtol=1e-5, atol=1e-6)
    assert any(not np.allclose(wa, wc) for wa, wc in zip(_weights(a.model), _weights(c.model), strict=True))


def test_resume_continues_an_interrupted_member(tmp_path):
    out = tmp_path / "run"
    first = train(SITES, PROTEINS, out_dir=out, config={**SMALL, "epochs": 1}, seed=2)
    # pretend the run was cut short after epoch 1 of 2: drop the final files, keep last.keras/state.json
    finetune = out / "members" / "member-0" / "finetune"
    for name in ("model.keras",):
        (out / name).unlink()
    (finetune / "metadata.json").unlink()
    resumed = train(SITES, PROTEINS, out_dir=out, config={**SMALL, "epochs": 2}, seed=2, resume=True)
    import pandas as pd

    history = pd.read_csv(finetune / "history.tsv", sep="\t")
    assert history["epoch"].tolist() == [0, 1]
    assert resumed.model is not first.model


def test_existing_run_needs_resume(run):
    with pytest.raises(InputError, match="--resume"):
        train(SITES, PROTEINS, out_dir=run.run_dir, config=SMALL)


def test_ensemble_with_pretraining_saves_one_loadable_model(tmp_path):
    from phosnet._tf import keras

    out = tmp_path / "ens"
    recipe = {**SMALL, "epochs": 1, "pretrain_epochs": 1, "pretrain_shared": False}
    result = train(SITES, PROTEINS, out_dir=out, config=recipe, ensemble=2, pretrain=DATA / "pretrain.tsv", seed=0)
    assert (out / "members" / "member-1" / "pretrain" / "model.keras").exists()
    data = labelled_windows(SITES, PROTEINS).subset("validation")
    members = [keras().models.load_model(out / "members" / f"member-{i}" / "finetune" / "model.keras")
               for i in range(2)]
    mean = np.mean([predict_windows(m, data.index) for m in members], axis=0)
    reloaded = keras().models.load_model(out / "model.keras")
    np.testing.assert_allclose(predict_windows(reloaded, data.index), mean, rtol=1e-5, atol=1e-6)
    assert average_models(members[:1]) is members[0]
    assert result.metadata["recipe"]["ensemble"] == 2


def test_soup_is_one_network_with_the_members_mean_weights(tmp_path):
    from phosnet._tf import keras

    out = tmp_path / "soup"
    recipe = {**SMALL, "epochs": 1, "pretrain_epochs": 1, "combine": "soup"}
    result = train(SITES, PROTEINS, out_dir=out, config=recipe, ensemble=2, pretrain=DATA / "pretrain.tsv", seed=0)
    members = [keras().models.load_model(out / "members" / f"member-{i}" / "finetune" / "model.keras")
               for i in range(2)]
    reloaded = keras().models.load_model(out / "model.keras")
    assert len(reloaded.layers) == len(members[0].layers)  # one network, not a wrapper of two
    assert not reloaded.compiled  # saved for inference: no optimizer state in the file
    member_weights = [m.get_weights() for m in members]
    assert not np.allclose(member_weights[0][0], member_weights[1][0])  # the seeds did diverge
    for j, weight in enumerate(reloaded.get_weights()):
        np.testing.assert_allclose(weight, (member_weights[0][j] + member_weights[1][j]) / 2, rtol=1e-6, atol=1e-7)
    assert "weight-averaged" in result.metadata["description"]


def test_distill_trains_one_network_towards_the_members_score_average(tmp_path):
    import pandas as pd

    from phosnet._tf import keras

    out = tmp_path / "distill"
    recipe = {**SMALL, "epochs": 1, "pretrain_epochs": 1, "combine": "distill", "distill_epochs": 2}
    result = train(SITES, PROTEINS, out_dir=out, config=recipe, ensemble=2, pretrain=DATA / "pretrain.tsv", seed=0)
    members = [keras().models.load_model(out / "members" / f"member-{i}" / "finetune" / "model.keras")
               for i in range(2)]
    reloaded = keras().models.load_model(out / "model.keras")
    assert len(reloaded.layers) == len(members[0].layers) and not reloaded.compiled
    distilled = keras().models.load_model(out / "distill" / "model.keras")
    data = labelled_windows(SITES, PROTEINS)
    np.testing.assert_allclose(predict_windows(reloaded, data.index), predict_windows(distilled, data.index),
                               rtol=1e-5, atol=1e-6)
    soup_weights = [(a + b) / 2 for a, b in zip(members[0].get_weights(), members[1].get_weights(), strict=True)]
    assert not np.allclose(reloaded.get_weights()[0], soup_weights[0])  # trained on from the soup
    history = pd.read_csv(out / "history.tsv", sep="\t")
    assert set(history["stage"]) == {"pretrain", "finetune", "distill"}
    assert "distilled" in result.metadata["description"]


def test_soup_needs_a_shared_pretrained_start():
    with pytest.raises(InputError, match="shared pretrained"):
        Recipe.from_dict({"ensemble": 3, "combine": "soup"})
    with pytest.raises(InputError, match="shared pretrained"):
        Recipe.from_dict({"ensemble": 3, "combine": "distill", "pretrain": "x.tsv", "pretrain_shared": False})
    with pytest.raises(InputError, match="combine must be"):
        Recipe.from_dict({"combine": "median"})


def test_evaluate_a_run_folder(run, tmp_path):
    result = evaluate(run.run_dir, SITES, PROTEINS, out_dir=tmp_path / "eval")
    assert result.metrics["n"] == 87
    assert result.metrics["roc_auc"] == pytest.approx(run.metrics["test"]["roc_auc"], abs=1e-6)
    assert (tmp_path / "eval" / "metrics.json").exists() and (tmp_path / "eval" / "roc.png").exists()
    everything = evaluate(run.run_dir, SITES, PROTEINS, split="all")
    assert everything.metrics["n"] == 131 + 101 + 87


def test_recipe_rejects_unknown_settings():
    with pytest.raises(InputError, match="unknown training setting"):
        Recipe.from_dict({"epoch": 3})
    with pytest.raises(InputError, match="unknown sequence-model setting"):
        Recipe.from_dict({"model": {"filters": 3}})


def test_hard_negatives_are_weighted(tmp_path):
    """Negatives listed in ``hard_negatives`` (known phosphosites of other kinases) get ``hard_negative_weight``;
    positives keep ``positive_weight``; training with per-site weights runs and is recorded in the recipe."""
    from phosnet.akt import sample_weights

    table = labelled_windows(SITES, PROTEINS).subset("train").table
    negatives = table[table["label"] == 0]
    hard = negatives.iloc[::3]
    listed = tmp_path / "known.tsv"
    hard.rename(columns={"protein_id": "accession"})[["accession", "position"]].to_csv(listed, sep="\t", index=False)
    recipe = Recipe.from_dict({"hard_negatives": str(listed), "hard_negative_weight": 4.0, "positive_weight": 2.0})
    weights = sample_weights(table, recipe)
    labels = table["label"].to_numpy()
    is_hard = table.index.isin(hard.index)
    assert np.all(weights[is_hard] == 4.0) and np.all(weights[labels == 1] == 2.0)
    assert np.all(weights[(labels == 0) & ~is_hard] == 1.0)
    assert sample_weights(table, Recipe()) is None
    with pytest.raises(InputError, match="needs a hard_negatives table"):
        Recipe.from_dict({"hard_negative_weight": 3.0})

    result = train(SITES, PROTEINS, out_dir=tmp_path / "hard", seed=0,
                   config={**SMALL, "epochs": 1, "hard_negatives": str(listed), "hard_negative_weight": 4.0})
    assert result.metadata["recipe"]["hard_negative_weight"] == 4.0
    assert (tmp_path / "hard" / "model.keras").exists()


def test_unlabelled_negatives_can_weigh_less_positive_unlabelled(tmp_path):
    """``unlabelled_weight``: the other S/T of substrates (some are unreported sites) weigh less than the known
    sites and the known other-kinase sites; training with it alone runs on per-site weights."""
    from phosnet.akt import sample_weights

    table = labelled_windows(SITES, PROTEINS).subset("train").table
    hard = table[table["label"] == 0].iloc[::4]
    listed = tmp_path / "known.tsv"
    hard.rename(columns={"protein_id": "accession"})[["accession", "position"]].to_csv(listed, sep="\t", index=False)
    recipe = Recipe.from_dict({"hard_negatives": str(listed), "hard_negative_weight": 10.0, "positive_weight": 3.0,
                               "unlabelled_weight": 0.5})
    weights = sample_weights(table, recipe)
    labels = table["label"].to_numpy()
    is_hard = table.index.isin(hard.index)
    assert np.all(weights[labels == 1] == 3.0) and np.all(weights[is_hard] == 10.0)
    assert np.all(weights[(labels == 0) & ~is_hard] == 0.5)
    assert sample_weights(table, Recipe.from_dict({"unlabelled_weight": 0.5})) is not None
    with pytest.raises(InputError, match="must not be negative"):
        Recipe.from_dict({"unlabelled_weight": -1.0})
    result = train(SITES, PROTEINS, out_dir=tmp_path / "pu", seed=0, config={**SMALL, "epochs": 1,
                                                                          "unlabelled_weight": 0.5})
    assert result.metadata["recipe"]["unlabelled_weight"] == 0.5


def test_training_records_the_kinases_of_the_table_or_the_ones_given(tmp_path):
    """A model knows its kinase: the kinases its table's positives name, or those given (then positives of other
    kinases only are negatives); adding another kinase's model is train, build its background, drop it in."""
    import pandas as pd

    table = pd.read_csv(SITES, sep="\t")
    positives = table.index[table["label"] == 1]
    table["kinases"] = ""
    table.loc[positives, "kinases"] = "PRKACA"
    table.loc[positives[::3], "kinases"] = "PRKACA,AKT1"
    sites = tmp_path / "sites.tsv"
    table.to_csv(sites, sep="\t", index=False)
    small = {**SMALL, "epochs": 1}
    named = train(sites, PROTEINS, out_dir=tmp_path / "named", config=small, seed=1, name="pka")
    assert named.metadata["kinases"] == ["AKT1", "PRKACA"]
    assert load_model(tmp_path / "named").kinases == ("AKT1", "PRKACA")
    given = train(sites, PROTEINS, out_dir=tmp_path / "given", config=small, seed=1, name="akt", kinases=["akt1"])
    assert given.metadata["kinases"] == ["AKT1"]
    test = table[table["split"] == "test"]
    assert given.metrics["test"]["positives"] == int(test["kinases"].eq("PRKACA,AKT1").sum())
