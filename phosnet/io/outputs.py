"""Check a command's outputs before any work: never onto an input, never twice, and writable.

Every verb that writes files calls :func:`check_outputs` (single files) or :func:`check_run_folder` (a folder
of files) with all of its inputs, before reading data or loading a model, so that

* an output that is an input (same path, a symlink or a hard link to it, ``./x`` vs ``$PWD/x``) is refused,
  as is a run folder file that is an input;
* two outputs of one command that are the same file are refused (devices such as ``/dev/null`` excepted);
* an output whose place is not writable (read-only folder or file system, a parent that is a file, a
  directory where a file should be) fails at once, not after an hour of scanning.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path

from phosnet.errors import InputError
from phosnet.io.atomic import check_output_name, is_stdio, scratch_file, writes_through

PathLike = str | os.PathLike

_FileKey = tuple


def _key(path: PathLike) -> tuple[_FileKey, os.stat_result | None]:
    """Identity of a file: (device, inode) when it exists (symlinks and hard links alike), else its real path."""
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return ("path", os.path.realpath(path)), None
    return ("inode", st.st_dev, st.st_ino), st


def _input_keys(inputs: Iterable[PathLike | None]) -> dict[_FileKey, str]:
    """Identity -> name of every input file; a folder input (a run folder) stands for the files in it."""
    keys: dict[_FileKey, str] = {}
    for item in inputs:
        if item is None:
            continue
        if is_stdio(item):
            try:
                st = os.fstat(0)
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode):
                keys[("inode", st.st_dev, st.st_ino)] = "standard input"
            continue
        path = Path(item)
        if path.is_dir():
            for child in path.rglob("*"):
                if child.is_file():
                    keys.setdefault(_key(child)[0], str(child))
            continue
        key, _ = _key(path)
        keys.setdefault(key, str(path))
    return keys


def _probe(folder: Path) -> str | None:
    """Create and delete an empty file in ``folder``: the one sure test (permissions, read-only file systems,
    ``/proc``, root squash); returns why it failed."""
    with scratch_file(folder / f".phosnet-probe-{secrets.token_hex(4)}") as probe:  # Ctrl-C leaves no probe
        try:
            fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as exc:
            return f"cannot create files in {folder} ({exc.strerror or exc})"
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(probe)
    return None


def _writable_problem(path: Path, st: os.stat_result | None) -> str | None:
    """Why ``path`` cannot be written (``None`` if it can): the file itself, or the folder it will appear in."""
    if st is not None:
        if not os.access(path, os.W_OK):
            return "not writable (permission denied or read-only file system)"
        if writes_through(st):
            return None  # a device, FIFO or our own stdout is written in place
        return _probe(Path(os.path.realpath(path)).parent)
    folder = Path(os.path.realpath(path.absolute().parent))
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir():
        return f"{folder} is not a folder"
    return _probe(folder)


def model_inputs(model: object) -> list[str]:
    """The files a ``--model`` value reads: a ``.keras`` file and its ``.json`` metadata, or a run folder (every
    file in it); nothing for a bundled model's name or a model object already loaded."""
    if not isinstance(model, str | os.PathLike) or not os.path.exists(model):
        return []
    text = os.fspath(model)
    return [text] if os.path.isdir(text) else [text, f"{os.path.splitext(text)[0]}.json"]


def check_outputs(outputs: Mapping[str, PathLike | None], inputs: Iterable[PathLike | None] = ()) -> None:
    """Refuse, before any work, outputs that are inputs, that coincide, or that cannot be written.

    Parameters
    ----------
    outputs
        ``{label: path}``, e.g. ``{"--output": "sites.tsv", "--summary": "run.json"}``; ``None`` and ``"-"``
        (standard output) are skipped.
    inputs
        Every file the command reads (``"-"``: standard input, checked when it is a redirected file; a folder:
        every file in it).

    Raises
    ------
    InputError
        One line naming the output, its label and the problem.
    """
    input_keys = _input_keys(inputs)
    seen: dict[_FileKey, str] = {}
    for label, path in outputs.items():
        if path is None or is_stdio(path):
            continue
        target = check_output_name(path, label)
        key, st = _key(target)
        if key in input_keys:
            raise InputError(f"{label} {path}: is the input file {input_keys[key]}; refusing to overwrite an input")
        device = st is not None and stat.S_ISCHR(st.st_mode)
        if key in seen and not device:
            raise InputError(f"{label} {path}: is also the {seen[key]} output; give each output its own file")
        seen.setdefault(key, label)
        problem = _writable_problem(target, st)
        if problem:
            raise InputError(f"{label} {path}: cannot write: {problem}")


def check_run_folder(
    folder: PathLike, names: Iterable[str], inputs: Iterable[PathLike | None] = (), label: str = "--out-dir"
) -> None:
    """Check a run folder before training: creatable and writable, and no input is a file the run writes.

    ``names`` are the file names the run writes anywhere in the folder (``model.keras``, ``state.json``, ...):
    an input inside the folder (or its subfolders) with one of these names is refused.
    """
    inputs = list(inputs)
    text = os.fspath(folder)
    if not str(text).strip():
        raise InputError(f"{label} path is empty")
    path = Path(folder)
    if path.exists() and not path.is_dir():
        raise InputError(f"{label} {folder}: is a file, not a folder")
    problem = _writable_problem(path / "probe", None)
    if problem:
        raise InputError(f"{label} {folder}: cannot write: {problem}")
    written = set(names)
    real = Path(os.path.realpath(path))
    for item in inputs:
        if item is None or is_stdio(item) or Path(item).is_dir():
            continue
        resolved = Path(os.path.realpath(item))
        if resolved.name in written and resolved.is_relative_to(real):
            raise InputError(
                f"{label} {folder}: the run writes {resolved.relative_to(real)} there, which is the input "
                f"file {item}; refusing to overwrite an input"
            )
    if path.is_dir():  # hard links: a file already in the folder that is an input under another name
        input_keys = _input_keys(i for i in inputs if i is None or is_stdio(i) or not Path(i).is_dir())
        for child in path.rglob("*"):
            if child.name in written and child.is_file() and _key(child)[0] in input_keys:
                raise InputError(
                    f"{label} {folder}: the run writes {child.relative_to(path)} there, which is the input "
                    f"file {input_keys[_key(child)[0]]}; refusing to overwrite an input"
                )


__all__ = ["check_outputs", "check_run_folder", "model_inputs"]
