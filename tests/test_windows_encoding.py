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
