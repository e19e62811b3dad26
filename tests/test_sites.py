"""Site tables: columns, validation against the proteins, errors that name the row."""

from __future__ import annotations

import pytest

from phosnet import InputError, read_sites

PROTEINS = {"P1": "MSKTAYS", "P2": "TTT"}


def _table(tmp_path, text, name="sites.tsv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_tsv_with_labels_and_residue_filled_in(tmp_path):
    path = _table(tmp_path, "protein_id\tposition\tlabel\tkinases\nP1\t2\t1\tAKT1\nP1\t4\t0\t\nP2\t1\ttrue\tAKT2\n")
    sites = read_sites(path, PROTEINS)
    assert sites["position"].tolist() == [2, 4, 1]
    assert sites["residue"].tolist() == ["S", "T", "T"]
    assert sites["label"].tolist() == [1, 0, 1]


def test_csv_by_suffix_and_default_label(tmp_path):
    sites = read_sites(_table(tmp_path, "protein_id,position,residue\nP1,7,s\n", "s.csv"), PROTEINS)
    assert sites.loc[0, "residue"] == "S" and sites.loc[0, "label"] == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("protein_id\tposition\nP9\t2\n", "line 2: protein 'P9' is not in the protein file"),
        ("protein_id\tposition\nP1\t2\nP1\t99\n", "line 3: position 99 is past the end of P1"),
        ("protein_id\tposition\tresidue\nP1\t3\tS\n", "line 2: residue 'S' at P1 position 3 does not match"),
        ("protein_id\tposition\nP1\tx\n", "line 2: position 'x' is not a positive integer"),
        ("protein_id\tposition\nP1\t0\n", "position '0' is not a positive integer"),
        ("protein_id\tpos\nP1\t2\n", "missing column(s) position"),
        ("protein_id\tposition\tlabel\nP1\t2\tmaybe\n", "label 'maybe'"),
        ("protein_id\tposition\nP1\t2\nP1\t2\n", "line 3: duplicate site"),
        ("protein_id\tposition\n", "no rows"),
        ("", "is empty"),
    ],
)
def test_errors_name_file_and_row(tmp_path, text, message):
    path = _table(tmp_path, text)
    with pytest.raises(InputError) as info:
        read_sites(path, PROTEINS)
    assert message in str(info.value) and str(path) in str(info.value)


def test_without_proteins_no_sequence_checks(tmp_path):
    sites = read_sites(_table(tmp_path, "protein_id\tposition\nP9\t2000\n"))
    assert sites.loc[0, "protein_id"] == "P9" and "residue" not in sites
