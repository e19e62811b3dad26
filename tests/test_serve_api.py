"""``phosnet serve``'s JSON API through the framework's test client: the same values as the Python API, downloads
byte-identical to the CLI's files, user errors as 4xx JSON in the CLI's words, limits, jobs and cancel."""

from __future__ import annotations

import gzip
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import phosnet
from phosnet.cli import main

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from phosnet.web.app import create_app  # noqa: E402
from phosnet.web.jobs import Limits  # noqa: E402


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app(limits=Limits(max_upload_bytes=200_000, max_residues=20_000))) as test_client:
        yield test_client


def _cli(tmp_path: Path, *args: str) -> bytes:
    """What ``phosnet ARGS... -o OUT`` writes; the last argument names OUT's suffix (``x.tsv``, ``x.gff3``)."""
    out = tmp_path / f"cli{len(list(tmp_path.iterdir()))}{Path(args[-1]).suffix}"
    with pytest.raises(SystemExit) as done:
        main([*args[:-1], "-o", str(out), "-q"])
    assert done.value.code == 0
    return out.read_bytes()


def _wait(client: TestClient, job_id: str) -> dict:
    for _ in range(600):
        status = client.get(f"/api/jobs/{job_id}").json()
        if status["state"] not in {"queued", "running"}:
            return status
        time.sleep(0.05)
    raise AssertionError("job did not finish")


def test_scan_json_has_the_python_api_values(client: TestClient, example_fasta: Path) -> None:
    answer = client.post("/api/scan", data={"fasta": example_fasta.read_text(), "stringency": "high"})
    assert answer.status_code == 200
    body = answer.json()
    expected = phosnet.predict(example_fasta, stringency="high")
    assert body["columns"] == list(expected.columns)
    got = {c: [row[i] for row in body["rows"]] for i, c in enumerate(body["columns"])}
    assert got["protein_id"] == expected["protein_id"].tolist()
    assert got["position"] == expected["position"].tolist()
    assert got["score"] == expected["score"].tolist()  # exact, not rounded
    assert got["percentile"] == expected["percentile"].tolist()
    assert got["predicted"] == expected["predicted"].tolist()
    assert body["rule"] == "stringency high (top 0.2%)" and body["model"] == "akt-default"
    assert body["phosnet_version"] == phosnet.__version__
    assert body["counts"] == {"proteins": 5, "sites": len(expected), "predicted": int(expected["predicted"].sum())}


@pytest.mark.parametrize("options", [{}, {"stringency": "low"}, {"specificity": "0.95"}, {"threshold": "0.3"},
                                     {"model": "akt-ensemble"}])
def test_scan_downloads_are_the_cli_files(client: TestClient, example_fasta: Path, tmp_path: Path,
                                          options: dict[str, str]) -> None:
    flags = [x for key, value in options.items() for x in (f"--{key}", value)]
    for fmt in ("tsv", "gff3"):
        answer = client.post("/api/scan", data={"fasta": example_fasta.read_text(), "format": fmt, **options})
        assert answer.status_code == 200, answer.text
        assert answer.content == _cli(tmp_path, "scan", str(example_fasta), *flags, f"x.{fmt}")


def test_job_upload_gz_progress_downloads_map_explain_variants(client: TestClient, example_fasta: Path,
                                                               tmp_path: Path) -> None:
    data = gzip.compress(example_fasta.read_bytes())
    started = client.post("/api/jobs", files={"file": ("proteins.fa.gz", data)}, data={"stringency": "medium"})
    assert started.status_code == 202
    status = _wait(client, started.json()["id"])
    assert status["state"] == "done" and status["progress"] == 1.0
    job = status["id"]
    assert client.get(f"/api/jobs/{job}/download/tsv").content == _cli(tmp_path, "scan", str(example_fasta), "x.tsv")
    assert client.get(f"/api/jobs/{job}/download/gff3").content == _cli(tmp_path, "scan", str(example_fasta),
                                                                           "x.gff3")
    gsk3b = next(p for p in status["result"]["proteins"] if p["gene"] == "GSK3B")
    sites = client.get(f"/api/jobs/{job}/sites", params={"protein": gsk3b["number"]}).json()
    s9 = [row for row in sites["rows"] if row[3] == 9]
    assert len(s9) == 1 and s9[0][sites["columns"].index("predicted")] is True
    figure = client.get(f"/api/jobs/{job}/map/{gsk3b['number']}")
    assert figure.headers["content-type"] == "image/svg+xml" and b"<svg" in figure.content
    explained = client.get(f"/api/jobs/{job}/explain/{gsk3b['number']}/9?format=tsv")
    assert explained.content == _cli(tmp_path, "explain", str(example_fasta), "P49841:S9", "x.tsv")
    png = client.get(f"/api/jobs/{job}/explain/{gsk3b['number']}/9?format=png")
    assert png.content.startswith(b"\x89PNG")
    variants = tmp_path / "variants.tsv"
    variants.write_text("protein_id\tvariant\nP49841\tS9A\nGSK3B\tp.Arg6Ala\nAKT1\tE17K\n")
    answer = client.post(f"/api/jobs/{job}/variants", data={"variants": variants.read_text(), "format": "tsv"})
    assert answer.content == _cli(tmp_path, "variants", str(example_fasta), str(variants), "x.tsv")
    table = client.post(f"/api/jobs/{job}/variants", data={"variants": "P49841 S9A"}).json()
    expected = phosnet.score_variants(example_fasta, [("P49841", "S9A")])
    assert [r[table["columns"].index("alt_score")] for r in table["rows"]] == [
        None if np.isnan(v) else v for v in expected["alt_score"]]
    assert client.delete(f"/api/jobs/{job}").status_code == 200
    assert client.get(f"/api/jobs/{job}").status_code == 404


def test_explain_and_variants_endpoints_match_the_api(client: TestClient, example_fasta: Path) -> None:
    fasta = example_fasta.read_text()
    body = client.post("/api/explain", data={"fasta": fasta, "sites": "P49841:S9"}).json()
    expected = phosnet.explain(example_fasta, "P49841:S9")
    assert [r[body["columns"].index("mutation")] for r in body["rows"]] == expected["mutation"].tolist()
    svg = client.post("/api/explain", data={"fasta": fasta, "sites": "P49841:S9", "format": "svg"})
    assert b"<svg" in svg.content


@pytest.mark.parametrize(("data", "status", "message"), [
    ({"fasta": ">a\nMK1S\n"}, 400, "pasted text: record 1 (a): invalid character '1' at residue 3"),
    ({"fasta": ">a\nMKS\n>a\nMKT\n"}, 400, "pasted text: record 2 (a): duplicate identifier 'a' (also record 1); "
                                           "identifiers must be unique"),
    ({"fasta": "MKS"}, 400, "pasted text: does not start with a '>' header line: not a FASTA file"),
    ({"fasta": ""}, 400, "pasted text: no FASTA text; paste sequences or choose a file"),
    ({"fasta": ">a\nMKS\n", "stringency": "x"}, 400, "stringency must be one of high, medium, low, got 'x'"),
    ({"fasta": ">a\nMKS\n", "stringency": "high", "threshold": "0.5"}, 400,
     "give one of threshold, specificity or stringency, not threshold and stringency"),
    ({"fasta": ">a\nMKS\n", "model": "/etc/passwd"}, 400,
     "unknown model '/etc/passwd'; this server offers akt-default, akt-ensemble"),
    ({"fasta": ">a\n" + "M" * 20_001 + "\n"}, 413, "pasted text: more than 20,000 residues (at record 1, a); this "
                                                   "server takes at most 20,000"),
    ({"fasta": ">a\nMKS\n", "threshold": "abc"}, 400, "threshold: Input should be a valid number, unable to parse "
                                                      "string as a number"),
])
def test_user_errors_are_4xx_json_in_the_cli_words(client: TestClient, data: dict, status: int, message: str) -> None:
    answer = client.post("/api/scan", data=data)
    assert answer.status_code == status
    assert answer.json() == {"error": message}


def test_upload_errors_name_the_file_and_limits_refuse_large_bodies(client: TestClient) -> None:
    answer = client.post("/api/scan", files={"file": ("../../secret/x.fa.gz", b"\x1f\x8b\x08\x00garbage")})
    assert answer.status_code == 400
    assert answer.json()["error"].startswith("x.fa.gz: corrupt or truncated gzip file")
    answer = client.post("/api/scan", files={"file": ("big.fa", b">a\n" + b"M" * 300_000)})
    assert answer.status_code == 413
    assert answer.json()["error"] == "big.fa: 300,003 bytes; this server takes at most 200,000"
    assert client.get("/api/jobs/nope").status_code == 404
    assert "no job" in client.get("/api/jobs/nope/download/tsv").json()["error"]


def test_cancel_stops_a_running_job_and_removes_its_files(example_fasta: Path) -> None:
    records = "".join(f">p{i}\n{'MKRSTPSAAKRS' * 100}\n" for i in range(100))
    with TestClient(create_app(limits=Limits(max_jobs=1))) as client:
        manager = client.app.state.manager  # type: ignore[attr-defined]
        blocker = client.post("/api/jobs", data={"fasta": records}).json()["id"]
        queued = client.post("/api/jobs", data={"fasta": records}).json()["id"]
        assert client.delete(f"/api/jobs/{queued}").status_code == 200
        assert client.get(f"/api/jobs/{queued}").status_code == 404
        _wait(client, blocker)
        root = manager.root
        assert root.is_dir()
    assert not root.exists()  # the server's temporary files are gone when it stops


def test_models_lists_names_only(client: TestClient) -> None:
    body = client.get("/api/models").json()
    assert body["default"] == "akt-default"
    assert [m["name"] for m in body["models"]] == ["akt-default", "akt-ensemble"]
    text = str(body)
    assert str(Path(phosnet.__file__).parent) not in text and "/tmp" not in text  # no server paths
    assert client.get("/openapi.json").json()["paths"].keys() >= {"/api/scan", "/api/explain", "/api/variants",
                                                                   "/api/models"}


def test_page_and_assets_are_served_with_a_strict_policy(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and '<script src="/static/app.js"' in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "http" not in page.text.split("<body>")[0].replace("http-equiv", "")  # no CDN
    script = client.get("/static/app.js").text
    assert "innerHTML" not in script
