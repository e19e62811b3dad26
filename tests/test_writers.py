"""Site rows and their writers: the one row formatter, faithful scores, UniProt columns, formats, escaping."""

from __future__ import annotations

import csv
import io
import os

import numpy as np
import pandas as pd
import pytest

from phosnet.io.rows import SITE_COLUMNS, SiteRows, format_percentiles, format_scores
from phosnet.io.tables import FrameWriter, open_table, table_format, write_table
from phosnet.io.writers import SiteWriter

ALPHABET = "ACDEFGHIKLMNPQRSTVWYX"


def _reference(value: float) -> str:
    """The text a score must have: 9 significant digits, positional (numpy's exact Dragon4 formatting)."""
    if not np.isfinite(value):
        return str(value)
    return np.format_float_positional(value, precision=9, unique=False, fractional=False, trim="-")


def _rows(n: int = 500, seed: int = 0, percentiles: bool = True) -> SiteRows:
    rng = np.random.default_rng(seed)
    ids = ["sp|P31749|AKT1_HUMAN", "a,b", 'q"x', "é-id", "tr|Q9XYZ1|Q9XYZ1_MOUSE", "odd id;x"]
    descriptions = [
        "sp|P31749|AKT1_HUMAN RAC-alpha serine/threonine-protein kinase OS=Homo sapiens OX=9606 GN=AKT1 PE=1 SV=2",
        "a,b no gene", 'q"x', "é-id GN=weird,gene", "tr|Q9XYZ1|Q9XYZ1_MOUSE Uncharacterized OS=Mus musculus",
        "odd id;x",
    ]
    index = np.sort(rng.integers(0, len(ids), n)).astype(np.int32)
    positions = rng.choice([1, 9, 10, 99, 100, 12345, 1234567], n)
    windows = rng.integers(0, 21, (n, 31)).astype(np.int8)
    special = np.array([0.0, 1.0, 0.99995, 0.00004, 1e-30, 0.5, 0.1, 1e-4, 9.9999e-5], dtype=np.float32)
    scores = np.concatenate([special, (10 ** rng.uniform(-12, 0, max(n - len(special), 0)))]).astype(np.float32)[:n]
    pct = np.where(rng.random(n) < 0.1, np.nan, rng.uniform(0, 100, n)) if percentiles else None
    return SiteRows(ids, index, positions, windows, scores, scores >= 0.5, "m,1", pct, descriptions, ALPHABET)


def _read(text: str, fmt: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text), sep="\t" if fmt == "tsv" else ",", keep_default_na=False,
                       dtype={"accession": str, "gene": str, "percentile": str, "score": str})


def test_scores_have_9_positional_digits_and_read_back_as_the_same_float32() -> None:
    """Every float32 in [0, 1] (uniform, log-uniform down to denormals, random bit patterns) is written with 9
    significant digits in positional form (no exponent, so `sort -n` works), which reads back as exactly the
    same float32: a sorted file keeps the model's order."""
    rng = np.random.default_rng(1)
    n = 200_000
    values = np.concatenate([
        rng.random(n).astype(np.float32),
        (10.0 ** rng.uniform(-45, 0, n)).astype(np.float32),
        rng.integers(0, 0x3F800001, n, dtype=np.uint32).view(np.float32),  # every float32 bit pattern in [0, 1]
        np.array([0, 1, 0.5, 1e-4, 9.99999e-5, 1 - 2**-24, 2**-149, np.nan, -0.5, 2.5, np.inf], dtype=np.float32),
    ])
    text = format_scores(values)
    assert text == [_reference(v) for v in values.astype(np.float64).tolist()]
    assert not any("e" in t for t in text if t not in {"inf", "nan"})
    finite = np.isfinite(values)
    back = np.array([float(t) for t in text], dtype=np.float32)
    np.testing.assert_array_equal(back[finite], values[finite])
    # order: distinct floats stay distinct and in order, equal floats tie
    order = np.argsort(values[finite], kind="stable")
    parsed = np.array([float(t) for t in text])[finite][order]
    assert (np.diff(parsed) >= 0).all()
    assert len(np.unique(parsed)) == len(np.unique(values[finite]))


def test_six_or_eight_digits_would_tie_distinct_floats() -> None:
    """Why 9 digits: adjacent float32 values near 0.1 share their first 8 significant digits."""
    a = np.float32(0.10000001639127731)
    b = np.nextafter(a, np.float32(1))
    assert f"{a:.8g}" == f"{b:.8g}" == "0.10000002" and f"{a:.6g}" == f"{b:.6g}"
    assert format_scores(np.array([a, b])) == ["0.100000016", "0.100000024"]


def test_percentiles_text() -> None:
    assert format_percentiles(np.array([0.0, 99.994, 99.996, 100.0, np.nan, 50.125]), 6) == [
        "0.00", "99.99", "100.00", "100.00", "", "50.12"]
    assert format_percentiles(None, 2) == ["", ""]


@pytest.mark.parametrize("fmt", ["tsv", "csv"])
def test_table_file_equals_the_frame(fmt: str) -> None:
    """The written TSV/CSV holds exactly the API's DataFrame: every column, score and percentile text included."""
    rows = _rows()
    out = io.StringIO()
    writer = SiteWriter(out, fmt)
    for part in (slice(0, 0), slice(0, 200), slice(200, 500)):
        mask = np.zeros(len(rows), dtype=bool)
        mask[part] = True
        writer.write(rows.select(mask))
    assert writer.rows == len(rows)
    got = _read(out.getvalue(), fmt)
    frame = rows.frame()
    assert list(got.columns) == list(SITE_COLUMNS) == list(frame.columns)
    for column in ("protein_id", "accession", "gene", "residue", "window", "model"):
        assert got[column].tolist() == frame[column].tolist(), column
    assert got["position"].tolist() == frame["position"].tolist()
    assert got["predicted"].tolist() == frame["predicted"].tolist()
    assert set(out.getvalue().split(chr(10))[1].split("\t" if fmt == "tsv" else ",")) & {"true", "false"}
    assert got["score"].tolist() == [_reference(s) for s in frame["score"]]
    assert got["percentile"].tolist() == format_percentiles(frame["percentile"].to_numpy(), len(frame))
    assert got["accession"].tolist()[:1] == ["P31749"] and "AKT1" in got["gene"].tolist()


def test_csv_quotes_awkward_fields() -> None:
    rows = _rows(60)
    out = io.StringIO()
    SiteWriter(out, "csv").write(rows)
    parsed = list(csv.reader(io.StringIO(out.getvalue())))
    assert all(len(line) == len(SITE_COLUMNS) for line in parsed)
    assert {"a,b", 'q"x'} <= {line[0] for line in parsed} and "weird,gene" in {line[2] for line in parsed}
    assert {line[-1] for line in parsed[1:]} == {"m,1"}


def test_gff3_one_based_escaped_with_uniprot_attributes() -> None:
    rows = _rows(300)
    out = io.StringIO()
    SiteWriter(out, "gff3").write(rows)
    lines = out.getvalue().splitlines()
    assert lines[0] == "##gff-version 3" and len(lines) == 301
    frame = rows.frame()
    for line, (_, row) in zip(lines[1:], frame.iterrows(), strict=True):
        cols = line.split("\t")
        assert cols[1:5] == ["phosnet", "phosphorylation_site", str(row.position), str(row.position)]
        assert cols[5] == _reference(row.score)
        attributes = dict(item.split("=", 1) for item in cols[8].split(";"))
        assert attributes["window"] == row.window and attributes["predicted"] == str(row.predicted).lower()
        if row.accession:
            assert attributes["accession"] == row.accession
        if row.gene:
            assert attributes["gene"] == row.gene.replace(",", "%2C")
        if np.isfinite(row.percentile):
            assert attributes["percentile"] == format_percentiles(np.array([row.percentile]), 1)[0]
        else:
            assert "percentile" not in attributes
    seqids = {line.split("\t")[0] for line in lines[1:]}
    assert "odd%20id%3Bx" in seqids and "sp|P31749|AKT1_HUMAN" in seqids


def test_header_once_and_empty_output_has_a_header() -> None:
    out = io.StringIO()
    writer = SiteWriter(out, "tsv")
    writer.write_header()
    assert out.getvalue() == "\t".join(SITE_COLUMNS) + "\n"
    writer.write(_rows(5, percentiles=False))
    writer.write(_rows(5, percentiles=False))
    lines = out.getvalue().splitlines()
    assert sum(line.startswith("protein_id") for line in lines) == 1 and len(lines) == 11
    assert all(line.split("\t")[7] == "" for line in lines[1:])  # no background table: empty percentile


def test_table_format() -> None:
    """One rule from suffix to format for every verb: site tables may be GFF3, other tables TSV or CSV."""
    names = ("a.tsv", "a.CSV", "a.gff", "a.gff3", "-", None, "a.out")
    assert [table_format(p, kind="sites") for p in names] == ["tsv", "csv", "gff3", "gff3", "tsv", "tsv", "tsv"]
    assert [table_format(p) for p in names] == ["tsv", "csv", "tsv", "tsv", "tsv", "tsv", "tsv"]
    gz = ("a.tsv.gz", "a.csv.GZ", "a.gff3.gz", "a.gz")
    assert [table_format(p, kind="sites") for p in gz] == ["tsv", "csv", "gff3", "tsv"]
    with pytest.raises(ValueError, match="format must be"):
        table_format("a.tsv", "bed", kind="sites")
    with pytest.raises(ValueError, match="format must be one of tsv, csv"):
        table_format("a.tsv", "gff3")


def test_a_numeric_shell_sort_of_the_file_gives_the_model_order(tmp_path) -> None:
    """`sort -n` (which does not read exponents) on the score column orders rows as the floats do."""
    import shutil
    import subprocess

    if shutil.which("sort") is None:
        pytest.skip("no sort command")
    rng = np.random.default_rng(3)
    scores = np.concatenate([rng.random(300), 10.0 ** rng.uniform(-30, -4, 300)]).astype(np.float32)
    path = tmp_path / "scores.txt"
    path.write_text("\n".join(format_scores(scores)) + "\n")
    ordered = subprocess.run(["sort", "-n", str(path)], capture_output=True, text=True, check=True,
                             env={"LC_ALL": "C"}).stdout.split()
    np.testing.assert_array_equal(np.array(ordered, dtype=np.float32), np.sort(scores))


def test_what_if_tables_write_numbers_as_the_scan_does() -> None:
    """explain/variants tables: positional numbers (no exponent, so sort -n works), exact float32 read-back,
    empty fields for missing values."""
    import io

    import pandas as pd

    scores = np.array([0.5, 4.41881384e-05, 1e-9, 0.912345671], dtype=np.float32)
    frame = pd.DataFrame({"site": ["a", "b", "c", "d"], "score": scores,
                          "delta": np.array([-3.3e-7, 0.25, np.nan, -0.5]), "predicted": [True, False, False, True]})
    handle = io.StringIO()
    writer = FrameWriter(handle, "tsv")
    writer.write(frame)
    assert writer.rows == 4
    text = handle.getvalue()
    assert "e-" not in text and "0.0000441881384" in text
    back = pd.read_csv(io.StringIO(text), sep="\t")
    np.testing.assert_array_equal(back["score"].to_numpy(np.float32), scores)
    assert np.isnan(back["delta"][2]) and back["delta"][0] == -3.3e-7
    assert list(back.sort_values("score")["site"]) == ["c", "b", "a", "d"]


@pytest.mark.parametrize("name, sep", [("t.tsv", "\t"), ("t.csv", ","), ("t.csv.gz", ","), ("t.txt", "\t")])
def test_write_table_file_reads_back_as_the_frame(tmp_path, name, sep) -> None:
    """The one table writer: a streamed table (header once) reads back as the DataFrames it was given, floats
    exact to float32, in the format the suffix says."""
    rng = np.random.default_rng(5)
    frames = [pd.DataFrame({"protein_id": [f"p{i}_{k}" for k in range(4)], "position": np.arange(4) + 1,
                            "score": rng.random(4).astype(np.float32) / 10 ** (4 * i),
                            "predicted": rng.random(4) > 0.5}) for i in range(3)]
    path = tmp_path / name
    assert write_table(iter(frames), path) == 12
    back = pd.read_csv(path, sep=sep)
    expected = pd.concat(frames, ignore_index=True)
    assert list(back.columns) == list(expected.columns) and list(back["protein_id"]) == list(expected["protein_id"])
    np.testing.assert_array_equal(back["score"].to_numpy(np.float32), expected["score"].to_numpy())
    assert list(back["predicted"]) == list(expected["predicted"]) and os.listdir(tmp_path) == [name]


def test_site_table_and_frame_table_share_the_number_formatter(tmp_path) -> None:
    """A score written by the scan's site writer and by the frame writer is the same text."""
    rows = _rows(50)
    with open_table(tmp_path / "s.tsv", kind="sites") as sites:
        sites.write(rows)
    write_table(rows.frame(), tmp_path / "f.tsv")
    site_scores = pd.read_csv(tmp_path / "s.tsv", sep="\t", dtype=str)["score"]
    frame_scores = pd.read_csv(tmp_path / "f.tsv", sep="\t", dtype=str)["score"]
    assert list(site_scores) == list(frame_scores) == format_scores(rows.scores)


def test_a_failed_table_write_is_one_error_naming_the_output(tmp_path, monkeypatch) -> None:
    import errno

    from phosnet.errors import PhosnetError

    target = tmp_path / "t.tsv"
    target.write_text("previous")
    frame = pd.DataFrame({"a": [1.0]})

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(FrameWriter, "write", full)
    with pytest.raises(PhosnetError, match=r"t.tsv: cannot write \(No space left on device\)"):
        write_table(frame, target)
    assert target.read_text() == "previous" and os.listdir(tmp_path) == ["t.tsv"]
