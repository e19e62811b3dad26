"""``phosnet serve`` in a real browser (Debian's chromium + chromium-driver, driven by selenium), as a user uses it:
start the server as a subprocess, paste the example FASTA, scan, find GSK3B S9 called, click it and see its
explanation, download the TSV and compare it byte for byte with ``phosnet scan``'s; a hostile header shows as
text. Screenshots go to the test's folder (and, with PHOSNET_SCREENSHOTS=DIR, to DIR: docs/images/serve.png).

Skipped only when chromium is absent and CI is not set: on CI (``CI=true``) a missing browser fails the test.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from phosnet.cli import main

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
HAVE_BROWSER = Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()
ON_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

pytestmark = pytest.mark.skipif(not HAVE_BROWSER and not ON_CI,
                                reason="chromium and chromium-driver are not installed (apt-get install -y chromium "
                                       "chromium-driver); on CI this test runs")

HOSTILE = "<script>alert(1)</script>"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """A real ``phosnet serve`` on a free port, in a subprocess; stopped with SIGTERM afterwards."""
    paths = [str(Path(__file__).parents[1]), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
    process = subprocess.Popen([sys.executable, "-m", "phosnet", "serve", "--port", "0"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.startswith("phosnet serve: http://127.0.0.1:"), (line, process.stderr.read() if process.stderr else "")
    url = line.split()[2]
    try:
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
        assert process.returncode == 128 + signal.SIGTERM


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[object]:
    assert HAVE_BROWSER, "CI=true: the browser test must run; install chromium and chromium-driver"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--window-size=1280,1800", f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.downloads = downloads  # type: ignore[attr-defined]
    try:
        yield driver
    finally:
        driver.quit()


def _shot(driver: object, tmp_path: Path, name: str) -> None:
    driver.save_screenshot(str(tmp_path / name))  # type: ignore[attr-defined]
    target = os.environ.get("PHOSNET_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(tmp_path / name, Path(target) / name)


def _wait_for_file(folder: Path, timeout: float = 30) -> Path:
    deadline = time.monotonic() + timeout
    last: tuple[str, int] | None = None
    while time.monotonic() < deadline:  # chromium may name the file before it is filled: wait for a stable size
        names = list(folder.iterdir())
        done = [p for p in names if not p.name.endswith((".crdownload", ".tmp")) and not p.name.startswith(".")]
        if done and len(done) == len(names) and done[0].stat().st_size > 0:
            seen = (done[0].name, done[0].stat().st_size)
            if seen == last:
                return done[0]
            last = seen
        time.sleep(0.2)
    raise AssertionError(f"no download in {folder}")


def test_page_scans_explains_and_downloads_what_the_cli_writes(
    server: str, browser: object, tmp_path: Path, example_fasta: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    driver = browser
    wait = WebDriverWait(driver, 60)
    driver.get(server)  # type: ignore[attr-defined]
    wait.until(lambda d: d.find_element(By.ID, "version").text.startswith("phosnet "))
    driver.find_element(By.ID, "fasta").send_keys(example_fasta.read_text())  # type: ignore[attr-defined]
    driver.find_element(By.ID, "submit").click()  # type: ignore[attr-defined]
    wait.until(ec.visibility_of_element_located((By.ID, "sites")))
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#sites tbody tr")) > 0)

    rows = driver.find_elements(By.CSS_SELECTOR, "#sites tbody tr")  # type: ignore[attr-defined]
    assert len(rows) == 320  # every S/T of the example
    s9 = [r for r in rows if r.get_attribute("data-protein") == "sp|P49841|GSK3B_HUMAN"
          and r.get_attribute("data-position") == "9"]
    assert len(s9) == 1
    cells = [c.text for c in s9[0].find_elements(By.TAG_NAME, "td")]
    assert cells[1:5] == ["P49841", "GSK3B", "9", "S"] and cells[-1] == "called"
    assert "akt-default" in driver.find_element(By.ID, "summary").text  # type: ignore[attr-defined]
    # the calibrated precision the CLI writes for S9, shown with its interval on hover
    from phosnet import predict

    expected = predict(example_fasta).set_index(["protein_id", "position"]).loc[("sp|P49841|GSK3B_HUMAN", 9)]
    headers = [h.text.split(" ")[0] for h in driver.find_elements(By.CSS_SELECTOR, "#sites thead th")]
    precision_cell = s9[0].find_elements(By.TAG_NAME, "td")[headers.index("precision")]
    assert precision_cell.text == f"{expected['precision']:.3f}"
    assert precision_cell.get_attribute("title") == \
        f"95% interval {expected['precision_low']:.3f}-{expected['precision_high']:.3f}"

    driver.find_element(By.ID, "filter").send_keys("GSK3B")  # type: ignore[attr-defined]
    driver.find_element(By.ID, "called-only").click()  # type: ignore[attr-defined]
    wait.until(lambda d: all(r.get_attribute("data-protein") == "sp|P49841|GSK3B_HUMAN"
                             for r in d.find_elements(By.CSS_SELECTOR, "#sites tbody tr")))
    s9 = driver.find_element(By.CSS_SELECTOR, '#sites tbody tr[data-position="9"]')  # type: ignore[attr-defined]
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", s9)  # type: ignore[attr-defined]
    s9.click()
    wait.until(lambda d: d.find_element(By.ID, "explain").get_attribute("naturalWidth") not in (None, "0"))
    assert "GSK3B S9" in driver.find_element(By.ID, "site-name").text  # type: ignore[attr-defined]
    wait.until(lambda d: d.find_element(By.ID, "map").get_attribute("naturalWidth") not in (None, "0"))
    _shot(driver, tmp_path, "serve.png")

    cli = tmp_path / "cli.tsv"
    with pytest.raises(SystemExit) as done:
        main(["scan", str(example_fasta), "-o", str(cli), "-q"])
    assert done.value.code == 0
    driver.find_element(By.ID, "download-tsv").click()  # type: ignore[attr-defined]
    downloaded = _wait_for_file(driver.downloads)  # type: ignore[attr-defined]
    assert downloaded.read_bytes() == cli.read_bytes()


def test_page_shows_a_hostile_header_and_errors_as_text(server: str, browser: object, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver = browser
    wait = WebDriverWait(driver, 60)
    driver.get(server)  # type: ignore[attr-defined]
    wait.until(lambda d: d.find_element(By.ID, "version").text.startswith("phosnet "))
    box = driver.find_element(By.ID, "fasta")  # type: ignore[attr-defined]
    box.send_keys(f">{HOSTILE} x\nMKRSTPSAAKR\n")
    driver.find_element(By.ID, "submit").click()  # type: ignore[attr-defined]
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#sites tbody tr")) > 0)
    first = driver.find_element(By.CSS_SELECTOR, "#sites tbody tr td")  # type: ignore[attr-defined]
    assert first.text == HOSTILE  # shown as text, not run: no alert, no script element
    assert driver.execute_script("return document.querySelectorAll('#sites script').length") == 0  # type: ignore[attr-defined]

    box.clear()
    box.send_keys(">bad\nMK1S\n")
    driver.find_element(By.ID, "submit").click()  # type: ignore[attr-defined]
    wait.until(lambda d: d.find_element(By.ID, "error").is_displayed())
    assert driver.find_element(By.ID, "error").text == (  # type: ignore[attr-defined]
        "pasted text: record 1 (bad): invalid character '1' at residue 3")
    _shot(driver, tmp_path, "serve_error.png")
