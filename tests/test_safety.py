"""Nothing lost (issue #11): outputs never onto inputs, special files written through, modes kept, ``.gz``
compressed, temp files removed on SIGTERM/SIGHUP/SIGINT, checkpoints that survive SIGKILL."""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import phosnet
from phosnet.cli import main
from phosnet.errors import InputError, PhosnetError
from phosnet.io.atomic import atomic_output, atomic_save
from phosnet.io.outputs import check_outputs, check_run_folder
from phosnet.io.rows import SITE_COLUMNS

ROOT = Path(__file__).resolve().parent.parent
TINY = str(ROOT / "tests" / "data" / "scan" / "tiny.keras")
EXAMPLE = Path(phosnet.__file__).parent / "examples" / "akt_substrates.fasta"
TRAIN = ROOT / "tests" / "data" / "train"
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}


def run_main(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """The real entry point in-process: exit code and stderr."""
    with pytest.raises(SystemExit) as info:
        main(args)
    return int(info.value.code or 0), capsys.readouterr().err


def phosnet_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "phosnet", *args]


def default_signals() -> None:
    """In the child: default dispositions, as in a terminal (a background job inherits SIGINT ignored)."""
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)


@pytest.fixture
def fasta(tmp_path: Path) -> Path:
    path = tmp_path / "in.fasta"
    path.write_bytes(EXAMPLE.read_bytes())
    return path


# -- 1. never onto an input, never two outputs in one file --------------------------------------------------


@pytest.mark.parametrize(
    "spelling",
    [
        ["-o", "{in}"],
        ["-o", "{dotin}"],
        ["-o", "{absin}"],
        ["--summary", "{in}"],
        ["-o", "{hard}"],
        ["-o", "{link}"],
        ["-o", "{model}"],
        ["-o", "{modeljson}"],
    ],
)
def test_output_onto_an_input_is_refused_before_any_work(tmp_path, fasta, capsys, monkeypatch, spelling):
    monkeypatch.chdir(tmp_path)
    os.link(fasta, tmp_path / "hard.fa")
    os.symlink(fasta, tmp_path / "link.fa")
    model = tmp_path / "m.keras"
    model.write_bytes(Path(TINY).read_bytes())
    (tmp_path / "m.json").write_bytes(Path(TINY).with_suffix(".json").read_bytes())
    names = {"{in}": "in.fasta", "{dotin}": "./in.fasta", "{absin}": str(fasta), "{hard}": "hard.fa",
             "{link}": "link.fa", "{model}": str(model), "{modeljson}": str(tmp_path / "m.json")}
    args = [names.get(a, a) for a in spelling]
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    code, err = run_main(["scan", "in.fasta", "-m", str(model), *args, "-q"], capsys)
    assert code == 1 and "refusing to overwrite an input" in err and len(err.strip().splitlines()) == 1
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    assert after == before  # nothing replaced, nothing new (no .part left either)


def test_two_outputs_in_one_file_are_refused(tmp_path, fasta, capsys):
    out = tmp_path / "out.tsv"
    code, err = run_main(["scan", str(fasta), "-m", TINY, "-o", str(out), "--summary", str(out)], capsys)
    assert code == 1 and "also the --output" in err
    assert not out.exists()


def test_character_devices_are_written_through_and_may_take_two_outputs(tmp_path, fasta, capsys):
    # A null device made in tmp_path: tests never name the real /dev entries (old code replaced /dev/null as root).
    null = tmp_path / "null"
    try:
        os.mknod(null, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except (PermissionError, OSError):
        pytest.skip("cannot create a device node here (not root)")
    code, _ = run_main(["scan", str(fasta), "-m", TINY, "-o", str(null), "--summary", str(null), "-q"], capsys)
    assert code == 0
    assert stat.S_ISCHR(os.stat(null).st_mode)


def test_check_outputs_api(tmp_path):
    src = tmp_path / "a.txt"
    src.write_text("x")
    with pytest.raises(InputError, match="input"):
        check_outputs({"-o": tmp_path / "." / "a.txt"}, [src])
    check_outputs({"-o": tmp_path / "b.txt", "--summary": "-"}, [src])  # fine
    with pytest.raises(InputError, match="not a folder"):
        check_outputs({"-o": tmp_path / "a.txt" / "b.txt"}, [])


# -- 2. special files: devices, FIFOs, symlinks, /dev/stdout ------------------------------------------------


@contextlib.contextmanager
def _reading(fifo: Path) -> Iterator[list[bytes]]:
    """What a reader at the other end of ``fifo`` receives while the block runs (a writer blocks until it opens)."""
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    yield received
    reader.join(timeout=60)


def test_fifo_output_is_written_through(tmp_path, fasta, capsys):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with _reading(fifo) as received:
        code, _ = run_main(["scan", str(fasta), "-m", TINY, "-o", str(fifo), "-q"], capsys)
    assert code == 0 and stat.S_ISFIFO(os.stat(fifo).st_mode)  # still a FIFO, not replaced by a file
    assert received and received[0].startswith(b"protein_id\t")
    assert not list(tmp_path.glob(".*part*"))


def test_symlink_to_a_regular_file_keeps_the_link(tmp_path, fasta, capsys):
    target = tmp_path / "real.tsv"
    target.write_text("old\n")
    link = tmp_path / "link.tsv"
    link.symlink_to(target)
    code, _ = run_main(["scan", str(fasta), "-m", TINY, "-o", str(link), "-q"], capsys)
    assert code == 0 and link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text().startswith("protein_id\t")


def test_symlink_to_a_fifo_is_written_through(tmp_path, fasta, capsys):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    link = tmp_path / "device"
    link.symlink_to(fifo)
    with _reading(fifo) as received:
        code, _ = run_main(["scan", str(fasta), "-m", TINY, "-o", str(link), "-q"], capsys)
    assert code == 0 and link.is_symlink() and stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert received[0].startswith(b"protein_id")


def _stdout_link(tmp_path: Path) -> str:
    """What /dev/stdout is (a symlink to /proc/self/fd/1), made in tmp_path: tests never name real /dev entries
    (the old code, run as root, replaced them with regular files)."""
    link = tmp_path / "stdout"
    link.symlink_to("/proc/self/fd/1")
    return str(link)


def test_dev_stdout_writes_to_stdout_even_appending_to_a_file(tmp_path, fasta):
    out = tmp_path / "captured.tsv"
    out.write_text("kept line\n")
    link = _stdout_link(tmp_path)
    with open(out, "a") as sink:
        proc = subprocess.run(phosnet_cmd("scan", str(fasta), "-m", TINY, "-o", link, "-q"),
                              stdout=sink, stderr=subprocess.PIPE, text=True, env=ENV, timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = out.read_text().splitlines()
    assert lines[0] == "kept line" and lines[1].startswith("protein_id\t")  # appended, not truncated/replaced
    assert stat.S_ISREG(os.stat(out).st_mode) and os.path.islink(link)


def test_dev_stdout_into_a_pipe(tmp_path, fasta):
    link = _stdout_link(tmp_path)
    proc = subprocess.run(phosnet_cmd("scan", str(fasta), "-m", TINY, "-o", link, "-q"),
                          capture_output=True, text=True, env=ENV, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("protein_id\t") and proc.stderr == ""
    assert os.path.islink(link) and sorted(os.listdir(tmp_path)) == ["in.fasta", "stdout"]


@pytest.mark.parametrize("name", ["", "newdir/", "{tmp}"])
def test_directory_or_empty_output_is_an_error(tmp_path, fasta, capsys, name):
    name = name.replace("{tmp}", str(tmp_path))
    code, err = run_main(["scan", str(fasta), "-m", TINY, "-o", name], capsys)
    assert code == 1 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "newdir").exists()


# -- modes and compression ----------------------------------------------------------------------------------


def test_new_output_gets_the_umask_mode_and_an_overwritten_file_keeps_its_mode(tmp_path, fasta, capsys):
    old = os.umask(0o002)
    try:
        assert run_main(["scan", str(fasta), "-m", TINY, "-o", str(tmp_path / "new.tsv"), "-q"], capsys)[0] == 0
        kept = tmp_path / "kept.tsv"
        kept.write_text("x")
        os.chmod(kept, 0o640)
        assert run_main(["scan", str(fasta), "-m", TINY, "-o", str(kept), "--summary",
                         str(tmp_path / "s.json"), "-q"], capsys)[0] == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "new.tsv").st_mode) == 0o664
    assert stat.S_IMODE(os.stat(tmp_path / "s.json").st_mode) == 0o664
    assert stat.S_IMODE(os.stat(kept).st_mode) == 0o640 and kept.read_text().startswith("protein_id")


@pytest.mark.parametrize("suffix, sep", [(".tsv", "\t"), (".csv", ","), (".gff3", None)])
def test_gz_outputs_are_compressed_for_every_format(tmp_path, fasta, capsys, suffix, sep):
    plain, packed = tmp_path / f"a{suffix}", tmp_path / f"b{suffix}.gz"
    summary = tmp_path / "s.json.gz"
    assert run_main(["scan", str(fasta), "-m", TINY, "-o", str(plain), "-q"], capsys)[0] == 0
    assert run_main(["scan", str(fasta), "-m", TINY, "-o", str(packed), "--summary", str(summary), "-q"],
                    capsys)[0] == 0
    assert packed.read_bytes()[:2] == b"\x1f\x8b"
    assert gzip.decompress(packed.read_bytes()) == plain.read_bytes()
    assert json.loads(gzip.decompress(summary.read_bytes()))["format"] == suffix.lstrip(".")


def test_atomic_output_on_error_leaves_the_old_file(tmp_path):
    target = tmp_path / "t.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_output(target) as handle:
        handle.write("half")
        raise RuntimeError("boom")
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["t.txt"]


def test_atomic_save_cleans_up_and_names_the_path(tmp_path):
    target = tmp_path / "m.keras"
    target.write_text("good")

    def failing(path):
        Path(path).write_text("trunc")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        atomic_save(failing, target, suffix=".keras")
    assert target.read_text() == "good" and os.listdir(tmp_path) == ["m.keras"]
    from phosnet.training import save_model

    class Model:
        save = staticmethod(failing)

    with pytest.raises(PhosnetError, match="m.keras: cannot write .No space left"):
        save_model(Model(), target)


# -- 5. every output location checked before the work starts -----------------------------------------------


def test_unwritable_summary_fails_before_the_scan(tmp_path, fasta, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a folder")
    out = tmp_path / "out.tsv"
    code, err = run_main(["scan", str(fasta), "-m", TINY, "-o", str(out), "--summary", str(blocker / "s.json")],
                         capsys)
    assert code == 1 and "--summary" in err and "cannot write" in err
    assert not out.exists()  # the table was not written first


def test_run_folder_checks(tmp_path):
    sites = tmp_path / "run" / "metrics.json"
    sites.parent.mkdir()
    sites.write_text("{}")
    with pytest.raises(InputError, match="input"):
        check_run_folder(tmp_path / "run", ["metrics.json"], [sites])
    (tmp_path / "f").write_text("x")
    with pytest.raises(InputError, match="is a file"):
        check_run_folder(tmp_path / "f", ["model.keras"], [])
    with pytest.raises(InputError, match="cannot write"):
        check_run_folder(tmp_path / "f" / "run", ["model.keras"], [])


def test_train_refuses_a_run_folder_that_overwrites_its_input(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    sites = run / "config.json"  # the run writes config.json
    sites.write_bytes((TRAIN / "sites.tsv").read_bytes())
    before = sites.read_bytes()
    code, err = run_main(["train", str(sites), str(TRAIN / "proteins.fasta"), "-o", str(run), "--epochs", "1"],
                         capsys)
    assert code == 1 and "refusing to overwrite an input" in err
    assert sites.read_bytes() == before


# -- 4. signals: temp files removed, exit 128 + signal ------------------------------------------------------


@pytest.fixture(scope="module")
def big_fasta(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("big") / "big.fa"
    rng = np.random.default_rng(0)
    letters = np.frombuffer(b"ACDEFGHIKLMNPQRSTVWY", np.uint8)
    with open(path, "w") as handle:
        for i in range(40000):
            handle.write(f">p{i}\n{letters[rng.integers(0, 20, 400)].tobytes().decode()}\n")
    return path


@pytest.mark.slow
@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGHUP, 129), (signal.SIGINT, 130)])
def test_signal_removes_the_part_file(tmp_path, big_fasta, signum, code):
    out = tmp_path / "out.tsv"
    proc = subprocess.Popen(phosnet_cmd("scan", str(big_fasta), "-m", TINY, "-o", str(out), "-q"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
                            preexec_fn=default_signals)
    for _ in range(1200):
        if list(tmp_path.glob(".out.tsv.*.part")) or proc.poll() is not None:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the scan finished before the signal could be sent"
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == code, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert os.listdir(tmp_path) == []  # no .part, no half table


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.0, 0.2, 0.6])
def test_ctrl_c_during_start_up_is_one_line(big_fasta, tmp_path, delay):
    proc = subprocess.Popen(phosnet_cmd("scan", str(big_fasta), "-m", TINY, "-o", str(tmp_path / "o.tsv"), "-q"),
                            stderr=subprocess.PIPE, text=True, env=ENV, preexec_fn=default_signals)
    maps = Path(f"/proc/{proc.pid}/maps")
    for _ in range(600):  # Python's own start-up is out of our hands: wait until phosnet's imports have begun
        if proc.poll() is not None or (maps.exists() and "_multiarray_umath" in maps.read_text()):
            break
        time.sleep(0.01)
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    # the tiny model's one warning (no background table) may come before the interruption
    lines = [line for line in err.splitlines() if "has no background table" not in line]
    assert proc.returncode == 130 and "Traceback" not in err and "\n".join(lines).strip() == "phosnet: interrupted"
    assert os.listdir(tmp_path) == []


# -- 3. checkpoints: a run killed at any instant resumes ----------------------------------------------------


@pytest.mark.slow
def test_sigkill_during_training_then_resume(tmp_path):
    recipe = tmp_path / "recipe.json"
    recipe.write_text(json.dumps({"model": {"conv1_filters": 4, "conv2_filters": 4, "dense_units": 4},
                                  "patience": 1000, "lr_patience": 1000}))
    run = tmp_path / "run"
    args = ["train", str(TRAIN / "sites.tsv"), str(TRAIN / "proteins.fasta"), "-o", str(run), "--config",
            str(recipe), "-q"]
    proc = subprocess.Popen(phosnet_cmd(*args, "--epochs", "1000"), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=ENV)
    stage = run / "members" / "member-0" / "finetune"
    try:
        for _ in range(3000):
            if (stage / "state.json").exists() or proc.poll() is not None:
                break
            time.sleep(0.05)
        state = json.loads((stage / "state.json").read_text())
        # kill at a moment of a checkpoint write when we can see one, else just after the next epoch begins
        for _ in range(400):
            if list(stage.glob(".*.part*")):
                break
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    done = json.loads((stage / "state.json").read_text())["epoch"]
    assert done >= state["epoch"]
    resumed = subprocess.run(phosnet_cmd(*args, "--epochs", str(done + 3), "--resume"), capture_output=True,
                             text=True, env=ENV, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    assert (run / "model.keras").is_file() and not list(stage.glob(".*.part*"))
    history = pd.read_csv(stage / "history.tsv", sep="\t")
    assert history["epoch"].tolist() == list(range(done + 3))  # no epoch logged twice, none missing


def test_resume_after_a_kill_mid_write(tmp_path):
    """Simulated SIGKILL inside a checkpoint write: a torn temp file and a torn history line are left."""
    from phosnet import training
    from phosnet._tf import keras

    k = keras()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("float32")

    def model():
        training.set_seed(0)
        m = k.Sequential([k.Input((4,)), k.layers.Dense(4, activation="relu"), k.layers.Dense(1, activation="sigmoid")])
        m.compile(optimizer="adam", loss="binary_crossentropy", metrics=[k.metrics.AUC(name="auc")])
        return m

    training.train_model(model(), (x[:90], y[:90]), (x[90:], y[90:]), run_dir=tmp_path, epochs=2, batch_size=30)
    (tmp_path / ".last.keras.0123abcd.part.keras").write_bytes(b"PK\x03\x04trunc")
    with open(tmp_path / "history.tsv", "a") as handle:
        handle.write("2\t0.5")  # the killed epoch's torn row
    result = training.train_model(model(), (x[:90], y[:90]), (x[90:], y[90:]), run_dir=tmp_path, epochs=4,
                                  batch_size=30, resume=True)
    assert result.history["epoch"].tolist() == [0, 1, 2, 3]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    k.models.load_model(tmp_path / "last.keras")  # a complete checkpoint


def test_checkpoints_are_written_through_a_temporary_file(tmp_path, monkeypatch):
    """model.keras/last.keras never exist half-written: every save goes to a temp name, then os.replace."""
    from phosnet import training
    from phosnet._tf import keras

    k = keras()
    saved: list[str] = []
    real_save = k.Model.save

    def spy(self, filepath, *args, **kwargs):
        saved.append(Path(filepath).name)
        return real_save(self, filepath, *args, **kwargs)

    monkeypatch.setattr(k.Model, "save", spy)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(60, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("float32")
    training.set_seed(0)
    m = k.Sequential([k.Input((4,)), k.layers.Dense(1, activation="sigmoid")])
    m.compile(optimizer="adam", loss="binary_crossentropy", metrics=[k.metrics.AUC(name="auc")])
    training.train_model(m, (x[:40], y[:40]), (x[40:], y[40:]), run_dir=tmp_path, epochs=2, batch_size=20)
    assert saved and all(name.startswith(".") and name.endswith(".part.keras") for name in saved)
    assert (tmp_path / "model.keras").is_file() and (tmp_path / "last.keras").is_file()


@pytest.mark.parametrize("verb", ["explain", "variants", "map"])
def test_what_if_verbs_refuse_to_overwrite_an_input(tmp_path, fasta, capsys, verb):
    variants = tmp_path / "v.tsv"
    variants.write_text("protein_id\tvariant\nP49841\tR6A\n")
    args = {"explain": ["explain", str(fasta), "P49841:S9", "-o", str(fasta)],
            "variants": ["variants", str(fasta), str(variants), "-o", str(variants)],
            "map": ["map", str(fasta), "P49841", "-o", str(fasta)]}[verb]
    before = {p: p.read_bytes() for p in (fasta, variants)}
    code, err = run_main([*args, "-m", TINY], capsys)
    assert code == 1 and "refusing to overwrite an input" in err
    assert {p: p.read_bytes() for p in (fasta, variants)} == before


def test_temporary_files_stay_registered_until_renamed_or_removed(tmp_path):
    """What a stop signal at an unlucky instant leaves is removed on the way out (remove_live_temps), and a
    finished or failed output leaves nothing registered."""
    from phosnet.io import atomic

    fd, tmp = atomic.create_temp(tmp_path / "out.tsv")  # as if a signal came before the cleanup's try
    os.close(fd)
    assert tmp.exists() and atomic.remove_live_temps() == [tmp] and not tmp.exists()
    with atomic.atomic_output(tmp_path / "done.tsv") as handle:
        handle.write("x\n")
    with pytest.raises(RuntimeError), atomic.atomic_output(tmp_path / "failed.tsv") as handle:
        raise RuntimeError("boom")
    assert atomic.remove_live_temps() == [] and os.listdir(tmp_path) == ["done.tsv"]


# -- 5. one way to stop: every verb wears stops_cleanly ----------------------------------------------------


def test_every_verb_wears_the_one_stop_wrapper():
    import click

    from phosnet.cli import cli

    def commands(group: click.Command, path: str = "phosnet") -> Iterator[tuple[str, click.Command]]:
        yield path, group
        for name, sub in getattr(group, "commands", {}).items():
            yield from commands(sub, f"{path} {name}")

    unwrapped = [path for path, command in commands(cli)
                 if command.callback is not None and not getattr(command.callback, "_stops_cleanly", False)]
    assert unwrapped == []


@pytest.mark.parametrize("verb", ["explain", "variants"])
def test_what_if_tables_into_a_closed_pipe_stop_quietly(tmp_path, fasta, verb):
    """`phosnet explain ... | head -1`: the reader leaves after one line; exit 0, nothing on stderr."""
    variants = tmp_path / "v.tsv"
    variants.write_text("protein_id\tvariant\n" + "P49841\tR6A\nP49841\tF10A\nP31749\tp.Arg465Ala\n" * 30)
    args = {"explain": ["explain", str(fasta), "P49841:S9", "P31749:S473", "P31749:T308"],
            "variants": ["variants", str(fasta), str(variants)]}[verb]
    proc = subprocess.Popen(phosnet_cmd(*args, "-m", TINY), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
    assert proc.stdout is not None
    first = proc.stdout.readline()
    proc.stdout.close()
    _, err = proc.communicate(timeout=120)
    assert first.startswith(b"protein_id\t") and proc.returncode == 0, err
    assert b"Traceback" not in err and b"Exception ignored" not in err and b"error" not in err and b"Broken" not in err


# -- 6. whole rows on stdout after a stop --------------------------------------------------------------------


def _pipe_filled(fd: int, proc: subprocess.Popen, timeout: float = 120.0) -> bool:
    """Wait until the pipe behind ``fd`` holds 48 KiB (nearly full: its writer soon blocks in a write)."""
    import fcntl
    import termios

    buffered = bytearray(4)
    for _ in range(int(timeout / 0.02)):
        fcntl.ioctl(fd, termios.FIONREAD, buffered)
        if int.from_bytes(buffered, sys.byteorder) >= 49152 or proc.poll() is not None:
            return proc.poll() is None
        time.sleep(0.02)
    return False


@pytest.mark.slow
@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
@pytest.mark.parametrize("fmt, columns", [("tsv", len(SITE_COLUMNS)), ("gff3", 9)])
def test_a_stopped_scan_to_a_pipe_ends_at_a_row_boundary(big_fasta, signum, code, fmt, columns):
    """`phosnet scan big.fa | slow_reader`, stopped while the scan is blocked writing into the full pipe: what the
    reader gets is whole rows (every line complete, the full column count), never half a row."""
    proc = subprocess.Popen(phosnet_cmd("scan", str(big_fasta), "-m", TINY, "--format", fmt, "-q"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV, preexec_fn=default_signals)
    assert proc.stdout is not None
    assert _pipe_filled(proc.stdout.fileno(), proc), "the scan finished before the pipe filled"
    time.sleep(0.5)  # the writer is blocked on the full pipe, in the middle of a block
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == code, err
    assert out.endswith(b"\n"), out[-200:]
    lines = out.decode().splitlines()
    body = [line for line in lines if not line.startswith(("protein_id\t", "##gff-version"))]
    assert len(body) > 100 and all(line.count("\t") == columns - 1 for line in body)


def test_whole_rows_writes_every_byte_in_line_aligned_pieces(tmp_path):
    """WholeRows: the bytes out equal the text in, and no single write ends inside a line (short lines) while a
    line longer than PIPE_BUF goes out in one piece of its own."""
    import select

    from phosnet.io.atomic import WholeRows

    rows = "".join(f"row{i}\t{'A' * (i % 97)}\n" for i in range(3000))
    long_line = "L" * (3 * select.PIPE_BUF) + "\n"
    text = rows + long_line + rows + "no newline at the end"
    pieces: list[bytes] = []
    real_write = os.write

    def recording_write(fd: int, data) -> int:  # type: ignore[no-untyped-def]
        pieces.append(bytes(data))
        return real_write(fd, data)

    out = tmp_path / "out.txt"
    fd = os.open(out, os.O_WRONLY | os.O_CREAT)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "write", recording_write)
        assert WholeRows(fd).write(text) == len(text)
    os.close(fd)
    assert out.read_text() == text
    assert b"".join(pieces) == text.encode()
    assert all(p.endswith(b"\n") for p in pieces[:-1])
    assert all(len(p) <= select.PIPE_BUF for p in pieces if p != long_line.encode())
    assert long_line.encode() in pieces
