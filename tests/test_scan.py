"""The scan's Python API: positions on real proteins, input forms, streaming == one-shot, engines == Keras."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import randomize_weights

import phosnet
from phosnet.bundle import PhosnetModel, load_model
from phosnet.engines import make_engine
from phosnet.engines.threaded import NumpyEngine
from phosnet.errors import InputError, PhosnetError
from phosnet.scan import SITE_COLUMNS

DATA = Path(__file__).parent / "data" / "scan"
TINY = DATA / "tiny.keras"
EXAMPLE = Path(phosnet.__file__).parent / "examples" / "akt_substrates.fasta"


@pytest.fixture
def example_frame(tiny_example_scan: pd.DataFrame) -> pd.DataFrame:
    return tiny_example_scan.copy()


def test_known_akt_sites_are_rows_with_their_windows(example_frame: pd.DataFrame) -> None:
    df = example_frame.set_index(["protein_id", "position"])
    akt1 = "sp|P31749|AKT1_HUMAN"
    # AKT1's own activation-loop T308 and hydrophobic-motif S473; GSK3B S9; FOXO3 T32 and S253.
    assert df.loc[(akt1, 308), "residue"] == "T"
    assert df.loc[(akt1, 308), "window"] == "FGLCKEGIKDGATMKTFCGTPEYLAPEVLED"
    assert df.loc[(akt1, 473), "residue"] == "S"
    assert df.loc[(akt1, 473), "window"] == "MECVDSERRPHFPQFSYSASGTAXXXXXXXX"  # 8 residues from the C-terminus
    assert df.loc[("sp|P49841|GSK3B_HUMAN", 9), "window"] == "XXXXXXXMSGRPRTTSFAESCKPVQQPSAFG"
    assert df.loc[("sp|O43524|FOXO3_HUMAN", 32), "residue"] == "T"
    assert df.loc[("sp|O43524|FOXO3_HUMAN", 253), "residue"] == "S"


def test_every_st_is_reported_once_with_tidy_columns(example_frame: pd.DataFrame) -> None:
    assert list(example_frame.columns) == list(SITE_COLUMNS)
    proteins = phosnet.read_proteins(EXAMPLE)
    assert len(example_frame) == sum(seq.count("S") + seq.count("T") for seq in proteins.values())
    assert example_frame["score"].between(0, 1).all()
    assert (example_frame["predicted"] == (example_frame["score"] >= 0.435)).all()  # tiny.json: Sp 0.95
    assert set(example_frame["model"]) == {"tiny-test"}
    assert example_frame["window"].str.len().eq(31).all()
    assert (example_frame["window"].str[15] == example_frame["residue"]).all()


def test_input_forms_give_the_same_scores(example_frame: pd.DataFrame, tmp_path: Path) -> None:
    from Bio import SeqIO

    proteins = phosnet.read_proteins(EXAMPLE)
    gz = tmp_path / "example.fasta.gz"
    with open(EXAMPLE, "rb") as src, gzip.open(gz, "wb") as dst:
        shutil.copyfileobj(src, dst)
    expected = example_frame["score"].to_numpy()
    for form in (str(EXAMPLE), gz, proteins, list(SeqIO.parse(EXAMPLE, "fasta")), list(proteins.items())):
        got = phosnet.predict(form, model=TINY)
        np.testing.assert_allclose(got["score"].to_numpy(), expected, atol=1e-6)
        assert got["protein_id"].tolist() == example_frame["protein_id"].tolist()
    one = phosnet.predict(proteins["sp|P49841|GSK3B_HUMAN"], model=TINY)
    assert set(one["protein_id"]) == {"sequence"}
    with pytest.raises(phosnet.InputError, match="upper-case"):  # a lower-case word could be a mistyped file name
        phosnet.predict(proteins["sp|P49841|GSK3B_HUMAN"].lower(), model=TINY)
    lower = phosnet.predict({"sequence": proteins["sp|P49841|GSK3B_HUMAN"].lower()}, model=TINY)
    pd.testing.assert_frame_equal(lower, one)  # in a mapping there is no doubt: any case
    assert one.loc[one["position"] == 9, "residue"].item() == "S"


def test_streaming_equals_one_shot(example_frame: pd.DataFrame) -> None:
    chunks = list(phosnet.predict_iter(EXAMPLE, model=TINY, batch_size=50))
    assert len(chunks) > 2
    pd.testing.assert_frame_equal(pd.concat(chunks, ignore_index=True), example_frame)


def test_options_threshold_specificity_residues_predicted_only() -> None:
    seqs = {"p": "MSTYKRRSSGTY" * 5}
    assert phosnet.predict(seqs, model=TINY, residues="T")["residue"].eq("T").all()
    with pytest.raises(phosnet.InputError, match="trained on ST sites only; it cannot score Y"):
        phosnet.predict(seqs, model=TINY, residues="STY")  # an S/T model never calls tyrosines
    assert phosnet.predict(seqs, model=TINY, threshold=0.0)["predicted"].all()
    assert not phosnet.predict(seqs, model=TINY, threshold=1.0)["predicted"].any()
    strict = phosnet.predict(seqs, model=TINY, specificity=0.99)
    assert (strict["predicted"] == (strict["score"] >= 0.45)).all()
    calls = phosnet.predict(seqs, model=TINY, threshold=0.43, predicted_only=True)
    assert len(calls) and calls["predicted"].all()
    with pytest.raises(InputError, match="give one of threshold, specificity or stringency"):
        phosnet.predict(seqs, model=TINY, threshold=0.5, specificity=0.95)
    with pytest.raises(InputError, match="no threshold for specificity 0.8"):
        phosnet.predict(seqs, model=TINY, specificity=0.8)


def test_short_long_and_unusual_proteins() -> None:
    seqs = {"short": "S", "none": "MKKW", "long": "AS" * 50_000, "odd": "mKuObSzT*"}
    df = phosnet.predict(seqs, model=TINY)
    assert df.loc[df.protein_id == "short", "window"].item() == "X" * 15 + "S" + "X" * 15
    assert "none" not in set(df.protein_id)
    assert (df.protein_id == "long").sum() == 50_000
    assert df.loc[df.protein_id == "odd", "position"].tolist() == [6, 8]
    empty = phosnet.predict({"none": "MKKW"}, model=TINY)
    assert list(empty.columns) == list(SITE_COLUMNS) and len(empty) == 0


def test_bad_inputs_raise_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        phosnet.predict(tmp_path / "missing.fasta", model=TINY)
    with pytest.raises(InputError, match=r"record bad: invalid character '1'"):
        phosnet.predict({"bad": "MK1S"}, model=TINY)
    with pytest.raises(InputError, match="no such model"):
        phosnet.predict("MKST", model=tmp_path / "nope.keras")
    not_a_model = tmp_path / "x.keras"
    not_a_model.write_text("hello")
    with pytest.raises(InputError, match="not a .keras model archive"):
        load_model(not_a_model)


def test_load_model_metadata_and_missing_bundled_model(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    model = load_model(TINY)
    assert (model.name, model.window, model.flank, model.residues) == ("tiny-test", 31, 15, "ST")
    assert model.threshold() == 0.435 and model.threshold(0.99) == 0.45
    assert not model.is_loaded  # metadata only: TensorFlow not needed yet
    import phosnet.bundle as bundle

    monkeypatch.setattr(bundle, "PRETRAINED_DIR", tmp_path)
    with pytest.raises(PhosnetError, match="no bundled model is installed"):
        load_model(None)


# -------------------------------------------------------------------------------------------------------
# Engines: the fast paths must give the plain Keras model's scores (to 1e-5)
# -------------------------------------------------------------------------------------------------------
def _random_windows(n: int = 700, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    windows = rng.integers(0, 21, size=(n, 31)).astype(np.int8)
    windows[:50, :10] = 20  # N-terminal padding, as at protein starts
    windows[50:100, -7:] = 20
    return windows


def _keras_scores(keras_model, windows: np.ndarray, onehot: bool = True) -> np.ndarray:
    x = phosnet.one_hot(windows) if onehot else windows.astype(np.int32)
    return keras_model.predict(x, batch_size=256, verbose=0).reshape(-1)


@pytest.fixture(scope="module")
def keras_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Saved models: the tiny one-hot net, an index-input net, and a functional ensemble of three nets."""
    from phosnet._tf import keras
    from phosnet.models.sequence import build_sequence_model

    k = keras()
    k.utils.set_random_seed(1)
    folder = tmp_path_factory.mktemp("models")
    small = {"conv1_filters": 8, "conv2_filters": 16, "dense_units": 8}
    index_model = build_sequence_model(small, input_encoding="index")
    randomize_weights(index_model, 1)
    members = [build_sequence_model(small, padding=pad) for pad in ("same", "valid")]
    members.append(build_sequence_model(small, pooling="flatten"))  # position-aware head, as the bundled model
    members.append(build_sequence_model(small, pooling="flatten", dense_activation="elu"))
    members.append(build_sequence_model(small, dense_activation="leaky_relu"))
    members.append(build_sequence_model(small, pooling="flatten", linear_path=True))  # Add of two logits
    for seed, member in enumerate(members, start=2):
        randomize_weights(member, seed)
        member.name = f"member{seed}"
    inputs = k.Input((31, 21), name="window")
    ensemble = k.Model(inputs, k.layers.Average(name="mean")([m(inputs) for m in members]), name="ensemble")
    linear = build_sequence_model(small, pooling="flatten", linear_path=True)  # the bundled model's architecture
    randomize_weights(linear, 9)
    paths = {"index": folder / "index.keras", "ensemble": folder / "ensemble.keras", "linear": folder / "linear.keras"}
    index_model.save(paths["index"])
    linear.save(paths["linear"])
    ensemble.save(paths["ensemble"])
    return paths


@pytest.mark.parametrize("which", ["tiny", "index", "ensemble", "linear"])
def test_fast_engines_equal_plain_keras(which: str, keras_models: dict[str, Path]) -> None:
    path = TINY if which == "tiny" else keras_models[which]
    windows = _random_windows()
    model = load_model(path)
    fast = NumpyEngine(model, chunk=256)(windows)  # weights read from the archive, no TensorFlow
    reference = _keras_scores(model.keras_model, windows, onehot=model.input_encoding == "onehot")
    np.testing.assert_allclose(fast, reference, atol=1e-5, rtol=0)
    assert reference.std() > 1e-3  # the comparison is not between constants
    tf_scores = make_engine(model, "tensorflow")(windows)
    np.testing.assert_allclose(tf_scores, reference, atol=1e-5, rtol=0)
    live = NumpyEngine(PhosnetModel(model.keras_model, model.metadata))(windows)  # weights from the live model
    np.testing.assert_allclose(live, reference, atol=1e-5, rtol=0)


@pytest.mark.parametrize("which", ["tiny", "index", "ensemble", "linear"])
def test_shared_convolutions_equal_plain_keras(which: str, keras_models: dict[str, Path]) -> None:
    """Convolutions computed once per position and shared by overlapping windows give Keras' scores."""
    from phosnet.batches import raw_batches

    path = TINY if which == "tiny" else keras_models[which]
    model = load_model(path)
    engine = NumpyEngine(model, chunk=64)
    assert engine.shares
    rng = np.random.default_rng(5)
    letters = np.array(list("ACDEFGHIKLMNPQRSTVWYX"))
    lengths = [1, 2, 7, 16, 31, 40, 300, 1200, 3]
    proteins = [(f"p{i}", "".join(rng.choice(letters, size=n))) for i, n in enumerate(lengths)]
    proteins.append(("st", "ST" * 40))  # every residue a candidate: windows overlap at every offset
    [batch] = list(raw_batches(iter(proteins), "ST", 15, 10**6))
    shared = engine.score_positions(batch.code, batch.starts, 31)
    reference = _keras_scores(model.keras_model, batch.windows, onehot=model.input_encoding == "onehot")
    np.testing.assert_allclose(shared, reference, atol=1e-5, rtol=0)
    assert reference.std() > 1e-3


def test_scan_scores_equal_keras_on_real_proteins(example_frame: pd.DataFrame) -> None:
    model = load_model(TINY)
    windows = phosnet.to_index(example_frame["window"].tolist())
    reference = _keras_scores(model.keras_model, windows)
    np.testing.assert_allclose(example_frame["score"].to_numpy(), reference, atol=1e-5, rtol=0)


def test_unsupported_layers_fall_back_to_tensorflow(tmp_path: Path) -> None:
    from phosnet._tf import keras

    k = keras()
    inputs = k.Input((31, 21))
    x = k.layers.LSTM(4)(inputs)
    outputs = k.layers.Dense(1, activation="sigmoid")(x)
    path = tmp_path / "lstm.keras"
    k.Model(inputs, outputs).save(path)
    model = load_model(path)
    assert make_engine(model, "auto").name == "tensorflow"
    df = phosnet.predict({"p": "MKSTAS"}, model=model, threshold=0.5)
    np.testing.assert_allclose(
        df["score"].to_numpy(), _keras_scores(model.keras_model, phosnet.to_index(df["window"].tolist())), atol=1e-5
    )
    with pytest.raises(PhosnetError, match="numpy engine cannot run it"):
        make_engine(model, "numpy")


@pytest.mark.skipif(
    not (Path(phosnet.__file__).parent / "pretrained" / "akt-default.keras").exists(), reason="no bundled model"
)
@pytest.mark.parametrize("name", [None, "akt-ensemble"])
def test_bundled_models_run_on_the_fast_path_and_equal_keras(name: str | None) -> None:
    model = load_model(name)
    engine = make_engine(model, "auto")
    assert engine.name == "numpy"
    windows = _random_windows(300)
    np.testing.assert_allclose(engine(windows), _keras_scores(model.keras_model, windows), atol=1e-5, rtol=0)
    df = phosnet.predict(EXAMPLE, model=name)
    assert set(df["model"]) == {name or "akt-default"} and len(df) == 320


def test_bundled_model_calls_the_known_akt_sites_of_the_example() -> None:
    """The AKT sites data/akt_sites.tsv lists for the example proteins are called: all but one at the default
    (medium stringency, the top 1% of the human proteome), all at low stringency (the top 5%).

    GSK3B (test split) and FOXO3 (validation split) were never trained on; the others were (a regression
    check that the shipped weights load and score as trained, not a measure of quality).
    """
    known = {("P49841", 9), ("O43524", 32), ("O43524", 253), ("Q92934", 99), ("P46527", 10), ("P46527", 157),
             ("P46527", 198), ("P31749", 72), ("P31749", 246)}
    df = phosnet.predict(EXAMPLE)
    called = set(zip(df.loc[df["predicted"], "accession"], df.loc[df["predicted"], "position"], strict=True))
    assert len(known - called) <= 1
    assert df["predicted"].mean() < 0.05  # ... among few calls: 10 of 320 S/T
    assert df.loc[df["predicted"], "percentile"].min() >= 99.0
    low = phosnet.predict(EXAMPLE, stringency="low")
    assert known <= set(zip(low.loc[low["predicted"], "accession"], low.loc[low["predicted"], "position"],
                            strict=True))


def test_uniprot_columns_from_fasta_and_seqrecords() -> None:
    """accession and gene come from the header's id and description, whatever the input form; empty otherwise."""
    from Bio import SeqIO

    expected = {"sp|P31749|AKT1_HUMAN": ("P31749", "AKT1"), "sp|P49841|GSK3B_HUMAN": ("P49841", "GSK3B")}
    for form in (EXAMPLE, EXAMPLE.read_text(), list(SeqIO.parse(EXAMPLE, "fasta")), list(phosnet.read_fasta(EXAMPLE))):
        df = phosnet.predict(form, model=TINY).drop_duplicates("protein_id").set_index("protein_id")
        for protein_id, (accession, gene) in expected.items():
            assert (df.loc[protein_id, "accession"], df.loc[protein_id, "gene"]) == (accession, gene)
    plain = phosnet.predict({"P31749": "MSDVAIVKEGWLHKRGEYIKTWRPRYFLLK", "my_kinase": "MSDVAIVKEGWLHKR"}, model=TINY)
    by_id = plain.drop_duplicates("protein_id").set_index("protein_id")
    assert by_id.loc["P31749", "accession"] == "P31749"  # a bare id that is an accession is one
    assert by_id.loc["my_kinase", "accession"] == "" and set(plain["gene"]) == {""}
