"""Windows (edges, padding, 1-based positions) and encoders (one-hot, index, decode, unknown letters)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from phosnet import decode, extract_windows, normalize_sequence, one_hot, read_fasta, to_index, window_indices
from phosnet.encoding import ALPHABET, PAD_INDEX

AKT1 = next(read_fasta(Path(__file__).parent / "data" / "akt1_human.fasta")).sequence


def test_positions_are_one_based_on_real_protein():
    w = extract_windows(AKT1)
    by_position = dict(zip(w.positions.tolist(), w.windows.tolist(), strict=True))
    # T308 and S473 of human AKT1 (UniProt P31749) are centred in their windows.
    assert by_position[308] == "FGLCKEGIKDGATMKTFCGTPEYLAPEVLED"
    assert by_position[308][15] == "T" and by_position[473][15] == "S"
    assert by_position[473] == "MECVDSERRPHFPQFSYSASGTAXXXXXXXX"  # 7 residues to the C-terminus, then padding
    assert set(w.residues.tolist()) == {"S", "T"}
    assert len(w) == AKT1.count("S") + AKT1.count("T")


def test_first_and_last_residue_and_padding():
    w = extract_windows("SAAT", flank=3)
    assert w.positions.tolist() == [1, 4]
    assert w.windows.tolist() == ["XXXSAAT", "SAATXXX"]
    w = extract_windows("S", flank=2, pad="-")
    assert w.windows.tolist() == ["--S--"]


def test_protein_shorter_than_window_and_no_candidates():
    w = extract_windows("MST")
    assert w.windows.tolist() == ["X" * 14 + "MST" + "X" * 14, "X" * 13 + "MST" + "X" * 15]
    assert all(len(x) == 31 for x in w.windows)
    empty = extract_windows("MKKL")
    assert len(empty) == 0 and empty.windows.shape == (0,)


def test_residue_choice_and_validation():
    assert extract_windows("STY", residues="Y", flank=0).windows.tolist() == ["Y"]
    assert extract_windows("STY", residues="sty", flank=0).positions.tolist() == [1, 2, 3]
    with pytest.raises(ValueError, match="residues"):
        extract_windows("STY", residues="K")
    with pytest.raises(ValueError, match="flank"):
        extract_windows("STY", flank=-1)


def test_window_indices_match_string_windows():
    positions, index = window_indices(AKT1)
    w = extract_windows(AKT1)
    np.testing.assert_array_equal(positions, w.positions)
    assert index.dtype == np.int8 and index.shape == (len(w), 31)
    assert decode(index) == w.windows.tolist()


def test_one_hot_and_index_round_trip():
    windows = ["ACDEFGHIKLMNPQRSTVWYX", "XXXXXXXXXXSTSTSTSTSTS"]
    index = to_index(windows)
    assert index.dtype == np.int8 and index.tolist()[0] == list(range(21))
    encoded = one_hot(windows)
    assert encoded.shape == (2, 21, 21) and encoded.dtype == np.float32
    assert (encoded.sum(axis=-1) == 1).all()
    assert decode(encoded) == windows == decode(index)
    np.testing.assert_array_equal(one_hot(index), encoded)


def test_unknown_letters_follow_the_documented_rule():
    assert normalize_sequence("acdU") == "ACDC"  # selenocysteine as cysteine
    assert normalize_sequence("O") == "K"  # pyrrolysine as lysine
    assert normalize_sequence("BZJX") == "XXXX"  # ambiguous -> X, its own channel
    assert normalize_sequence("MK*") == "MK"
    assert one_hot([normalize_sequence("B")])[0, 0, PAD_INDEX] == 1.0
    for bad in ("MK*T", "M1K", "M-K", "M K"):
        with pytest.raises(ValueError, match="invalid character"):
            normalize_sequence(bad)
    with pytest.raises(ValueError, match="normalize"):
        to_index(["AB"])  # un-normalized letters are refused, never mis-encoded
    assert ALPHABET[PAD_INDEX] == "X" and len(ALPHABET) == 21


@pytest.mark.parametrize(("residues", "flank"), [("ST", 15), ("STY", 3), ("Y", 0)])
def test_raw_batches_match_windows_of_each_protein(residues: str, flank: int) -> None:
    """Batches built over many proteins at once hold each protein's own windows, positions and ids."""
    from phosnet.batches import raw_batches
    from phosnet.windows import window_indices

    rng = np.random.default_rng(3)
    letters = np.array(list("ACDEFGHIKLMNPQRSTVWYX"))
    proteins = [(f"p{i}", "".join(rng.choice(letters, size=n)), f"d{i}") for i, n in enumerate([1, 5, 40, 300, 2, 77])]
    proteins += [("none", "AAAA", ""), ("single", residues[0], ""), ("last", "MK" + residues * 3, "")]
    batches = list(raw_batches(iter(proteins), residues, flank, 50))
    assert sum(b.n_proteins for b in batches) == len(proteins)
    seen = []
    for batch in batches:
        assert np.array_equal(batch.windows, batch.code[batch.starts[:, None] + np.arange(2 * flank + 1)])
        for k, protein_id in enumerate(batch.protein_ids):
            sequence = next(s for i, s, _ in proteins if i == protein_id)
            positions, windows = window_indices(sequence, residues, flank)
            rows = batch.protein_index == k
            assert np.array_equal(batch.positions[rows], positions)
            assert np.array_equal(batch.windows[rows], windows)
            seen.append(protein_id)
    assert seen == [i for i, s, _ in proteins if any(r in s for r in residues)]


def test_raw_batches_name_the_protein_with_a_bad_letter() -> None:
    from phosnet.batches import raw_batches

    with pytest.raises(ValueError, match="'bad'"):
        list(raw_batches(iter([("ok", "MSTK"), ("bad", "MSB")]), "ST", 15, 10))
