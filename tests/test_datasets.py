"""Labelled windows from site tables: full tables, positives-only tables, splits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from phosnet.datasets import labelled_windows, read_window_table, split_by_group
from phosnet.errors import InputError
from phosnet.io.fasta import read_proteins

DATA = Path(__file__).parent / "data" / "train"


def test_full_table_uses_rows_and_split():
    lw = labelled_windows(DATA / "sites.tsv", DATA / "proteins.fasta")
    table = pd.read_csv(DATA / "sites.tsv", sep="\t")
    assert len(lw) == len(table)
    assert lw.index.shape == (len(table), 31)
    assert lw.labels.sum() == table["label"].sum()
    assert set(lw.table["split"]) == {"train", "validation", "test"}
    assert (lw.subset("test").table["split"] == "test").all()


def test_windows_are_centred_and_padded():
    proteins = read_proteins(DATA / "proteins.fasta")
    lw = labelled_windows(DATA / "sites.tsv", proteins)
    windows = lw.windows()
    for (pid, pos), window in zip(lw.table[["protein_id", "position"]].itertuples(index=False), windows, strict=True):
        seq = proteins[pid]
        assert window[15] == seq[pos - 1]
        left = seq[max(0, pos - 16):pos - 1].rjust(15, "X")
        assert window[:15] == left


def test_positives_only_table_gets_every_other_st_as_negative():
    full = labelled_windows(DATA / "sites.tsv", DATA / "proteins.fasta")
    pos_only = labelled_windows(DATA / "positives.tsv", DATA / "proteins.fasta")
    assert len(pos_only) == len(full)
    assert pos_only.labels.sum() == full.labels.sum()
    # no split column: whole proteins go to one side
    assert (pos_only.table.groupby("protein_id")["split"].nunique() == 1).all()
    again = labelled_windows(DATA / "positives.tsv", DATA / "proteins.fasta")
    assert again.table["split"].tolist() == pos_only.table["split"].tolist()


def test_split_by_group_keeps_groups_together_and_depends_on_seed():
    groups = pd.Series([f"g{i % 20}" for i in range(200)])
    a = split_by_group(groups, seed=0)
    assert (a.groupby(groups).nunique() == 1).all()
    assert set(a) == {"train", "validation", "test"}
    assert a.tolist() == split_by_group(groups, seed=0).tolist()
    assert a.tolist() != split_by_group(groups, seed=1).tolist()


def test_wrong_residue_is_a_one_line_error(tmp_path):
    bad = tmp_path / "sites.tsv"
    bad.write_text("protein_id\tposition\nP06899\t1\n")  # position 1 is M
    with pytest.raises(InputError, match="not one of 'ST'"):
        labelled_windows(bad, DATA / "proteins.fasta")


def test_unknown_protein_is_an_error(tmp_path):
    bad = tmp_path / "sites.tsv"
    bad.write_text("protein_id\tposition\nNOPE\t3\n")
    with pytest.raises(InputError, match="NOPE"):
        labelled_windows(bad, DATA / "proteins.fasta")


def test_window_table_is_trimmed_to_flank():
    index, labels = read_window_table(DATA / "pretrain.tsv", flank=7)
    assert index.shape[1] == 15 and index.dtype == np.int8
    assert set(np.unique(labels)) == {0.0, 1.0}
