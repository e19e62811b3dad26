"""Streaming site writers: header once, formats, escaping, score formatting."""

from __future__ import annotations

import io

import numpy as np
import pytest

from phosnet.io.writers import SiteWriter, format_for, format_scores


def _write(fmt: str, ids: list[str], batches: int = 2) -> str:
    out = io.StringIO()
    writer = SiteWriter(out, fmt)
    for _ in range(batches):
        writer.write(ids, np.arange(1, len(ids) + 1), ["S"] * len(ids), ["XXS"] * len(ids),
                     np.linspace(0, 1, len(ids)), np.array([True] * len(ids)), "m")
    assert writer.rows == batches * len(ids)
    return out.getvalue()


def test_header_once_across_batches() -> None:
    text = _write("tsv", ["a", "b"], batches=3)
    lines = text.splitlines()
    assert lines[0].startswith("protein_id\t") and sum(line.startswith("protein_id") for line in lines) == 1
    assert len(lines) == 7


def test_csv_quotes_awkward_ids() -> None:
    text = _write("csv", ['a,b', 'q"x'], batches=1)
    assert '"a,b",1,S,XXS,0.0000,true,m' in text and '"q""x",2,S' in text


def test_gff3_one_based_and_escaped() -> None:
    text = _write("gff3", ["sp|P1|X_HUMAN", "odd id;x"], batches=1)
    lines = text.splitlines()
    assert lines[0] == "##gff-version 3"
    first = lines[1].split("\t")
    assert first[:8] == ["sp|P1|X_HUMAN", "phosnet", "phosphorylation_site", "1", "1", "0.0000", ".", "."]
    assert lines[2].split("\t")[0] == "odd%20id%3Bx"
    assert first[8].startswith("Name=S1;residue=S;window=XXS;predicted=true")


def test_empty_output_still_has_a_header() -> None:
    out = io.StringIO()
    SiteWriter(out, "tsv").write_header()
    assert out.getvalue().count("\n") == 1


def test_format_for_and_scores() -> None:
    assert [format_for(p) for p in ("a.tsv", "a.CSV", "a.gff", "a.gff3", "-", None, "a.out")] == [
        "tsv", "csv", "gff3", "gff3", "tsv", "tsv", "tsv"]
    with pytest.raises(ValueError, match="format must be"):
        format_for("a.tsv", "bed")
    assert format_scores(np.array([0.0, 0.123456, 0.99996, 1.0])) == ["0.0000", "0.1235", "1.0000", "1.0000"]


@pytest.mark.parametrize("fmt", ["tsv", "csv", "gff3"])
def test_write_codes_equals_write(fmt: str) -> None:
    """The vectorised byte path writes exactly what the per-row path writes."""
    alphabet = "ACDEFGHIKLMNPQRSTVWYX"
    rng = np.random.default_rng(0)
    ids = ["sp|P31749|AKT1_HUMAN", "a,b", 'q"x', "é-id", "p"]
    index = np.sort(rng.integers(0, len(ids), 500)).astype(np.int32)
    positions = rng.choice([1, 9, 10, 99, 100, 12345, 1234567], 500)
    windows = rng.integers(0, 21, (500, 31)).astype(np.int8)
    scores = np.concatenate([[0.0, 1.0, 0.99995, 0.00004], rng.random(496)]).astype(np.float32)
    predicted = scores >= 0.5
    texts = ["".join(alphabet[i] for i in row) for row in windows]
    fast, slow = io.StringIO(), io.StringIO()
    fast_writer, slow_writer = SiteWriter(fast, fmt), SiteWriter(slow, fmt)
    for lo, hi in [(0, 0), (0, 200), (200, 500)]:
        rows = slice(lo, hi)
        fast_writer.write_codes(ids, index[rows], positions[rows], windows[rows], scores[rows], predicted[rows],
                                "m,1", alphabet)
        slow_writer.write([ids[i] for i in index[rows]], positions[rows], [t[15] for t in texts[rows]],
                          texts[rows], scores[rows], predicted[rows], "m,1")
    assert fast.getvalue() == slow.getvalue()
    assert fast_writer.rows == slow_writer.rows == 500
