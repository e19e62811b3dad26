"""``phosnet serve`` without the web extra says so in one line (exit != 0), before anything is imported."""

from __future__ import annotations

import pytest

import phosnet.web
from phosnet.cli import main
from phosnet.cli.serve import is_loopback


def test_serve_without_the_web_extra_names_it(monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(phosnet.web, "find_spec", lambda name: None if name == "uvicorn" else object())
    with pytest.raises(SystemExit) as done:
        main(["serve", "--port", "0"])
    assert done.value.code == 1
    assert capsys.readouterr().err.splitlines() == [
        'phosnet: error: phosnet serve needs the web extra: pip install "phosnet[web]" (missing: uvicorn)']


@pytest.mark.parametrize(("host", "loopback"), [("127.0.0.1", True), ("127.8.0.2", True), ("localhost", True),
                                                ("::1", True), ("0.0.0.0", False), ("::", False),
                                                ("192.0.2.7", False), ("example.org", False)])
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
