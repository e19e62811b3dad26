"""Outputs that appear only when complete, and never destroy what sits at the output path.

The rule (:func:`atomic_output`):

* ``None`` or ``"-"``: standard output.
* A regular file, or a path that does not exist yet: written to a hidden temporary file in the target's
  directory (``.<name>.<random>.part``), renamed onto the target when the block completes and removed on any
  exception (Ctrl-C, SIGTERM and SIGHUP included: the CLI turns those into exceptions, and on its way out
  removes every temporary file still registered here, :func:`remove_live_temps`, in case a signal came at an
  instant where the exception could not unwind through the cleanup). The new file gets the
  mode ``open()`` would give it (``0666`` less the umask); an overwritten file keeps its mode. A symbolic
  link is followed: the file it points to is replaced atomically, the link stays.
* Anything else that exists (a character or block device such as ``/dev/null``, a FIFO, a socket, or
  ``/dev/stdout``): written through, never renamed over; a path that is standard output or error of this
  process writes to that stream.
* A directory, a path ending in ``/`` and ``""`` are errors (:class:`~phosnet.errors.InputError`).
* A name ending in ``.gz`` is gzip-compressed, whatever the format.

Text written through (standard output, a FIFO, a device) goes out in whole rows (:class:`WholeRows`): a pipe's
reader never gets half a row, also when the writer is stopped (Ctrl-C, SIGTERM) while it is blocked on a full
pipe.
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import io
import os
import secrets
import select
import stat
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, cast

from phosnet.errors import InputError, PhosnetError

GZIP_LEVEL = 6
"""gzip level of ``.gz`` outputs (6: zlib's default; 9 is several times slower for a few % smaller files)."""


def is_stdio(path: str | os.PathLike | None) -> bool:
    """True for ``None`` and ``"-"``, the spellings of standard input/output."""
    return path is None or os.fspath(path) == "-"


def is_gzip_name(path: str | os.PathLike | None) -> bool:
    """True when ``path`` ends in ``.gz`` (such outputs are compressed)."""
    return not is_stdio(path) and os.fspath(path).lower().endswith(".gz")  # type: ignore[arg-type]


def check_output_name(path: str | os.PathLike, what: str = "output") -> Path:
    """Reject spellings that cannot name an output file: ``""``, a trailing ``/`` and an existing directory."""
    text = os.fspath(path)
    if not isinstance(text, str):
        text = os.fsdecode(text)
    if not text.strip():
        raise InputError(f"{what} path is empty")
    if text.endswith(("/", os.sep)) or os.path.basename(text) in {".", ".."}:
        raise InputError(f"{text}: {what} path names a directory; give a file name")
    if os.path.isdir(text):
        raise InputError(f"{text}: is a directory; give a file name for the {what}")
    return Path(text)


def _stdio_stream(st: os.stat_result, binary: bool) -> IO | None:
    """Our own stdout/stderr when ``st`` is the same file as one of them (``/dev/stdout``, ``/proc/self/fd/1``)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            fd = stream.fileno()
            other = os.fstat(fd)
        except (AttributeError, OSError, ValueError):
            continue
        if (other.st_dev, other.st_ino) == (st.st_dev, st.st_ino):
            return stream.buffer if binary else stream
    return None


def _wrap(raw: IO[bytes], mode: str, gz: bool, open_kwargs: dict) -> IO:
    """Layer gzip and text decoding over a binary handle as ``mode`` and ``gz`` ask."""
    stream: Any = gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=GZIP_LEVEL, mtime=0) if gz else raw
    if "b" in mode:
        return stream
    return io.TextIOWrapper(stream, encoding=open_kwargs.get("encoding") or "utf-8",  # type: ignore[arg-type]
                            errors=open_kwargs.get("errors"), newline=open_kwargs.get("newline"))


class WholeRows(io.TextIOBase):
    """A text handle on a file descriptor that writes whole lines only, so a stop leaves no half row.

    Each ``write`` goes out in pieces that end at a line end and hold at most ``PIPE_BUF`` bytes (4 KiB on
    Linux), and POSIX makes a pipe write of that size atomic: all of it or nothing, also when a signal stops a
    writer blocked on a full pipe. Whatever instant Ctrl-C or SIGTERM comes, the reader has whole rows (a line
    longer than ``PIPE_BUF`` goes out alone, the one case that is not atomic). Nothing is buffered.
    """

    def __init__(self, fd: int, encoding: str = "utf-8", errors: str | None = None) -> None:
        super().__init__()
        self._fd = fd
        self._encoding = encoding
        self._errors = errors or "strict"

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self._encoding

    def fileno(self) -> int:
        return self._fd

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:  # type: ignore[override]
        data = memoryview(text.encode(self._encoding, self._errors))
        start, end, limit = 0, len(data), select.PIPE_BUF
        while start < end:
            stop = end if end - start <= limit else start + limit
            if stop < end:
                cut = bytes(data[start:stop]).rfind(b"\n")
                stop = start + cut + 1 if cut >= 0 else _line_end(data, stop, end)
            while start < stop:
                start += os.write(self._fd, data[start:stop])
        return len(text)

    def flush(self) -> None:  # nothing is buffered
        if self.closed:
            raise ValueError("I/O operation on closed file")


def _line_end(data: memoryview, start: int, end: int) -> int:
    """The index after the next line end at or after ``start`` (``end`` if none): a long line goes out whole."""
    cut = bytes(data[start:end]).find(b"\n")
    return start + cut + 1 if cut >= 0 else end


def _whole_rows(stream: IO, open_kwargs: dict) -> IO:
    """``stream`` (our stdout or stderr, text) as :class:`WholeRows` on its file descriptor, after flushing
    what it holds; ``stream`` itself when it has no descriptor (a test's captured stdout)."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return stream
    stream.flush()
    return cast(IO, WholeRows(fd, open_kwargs.get("encoding") or "utf-8", open_kwargs.get("errors")))


@contextlib.contextmanager
def _write_through(
    path: Path, st: os.stat_result | None, mode: str, gz: bool, open_kwargs: dict
) -> Iterator[IO]:
    """Write into a device, FIFO or socket as it is (no temporary file, no rename)."""
    binary = "b" in mode
    stream: Any = _stdio_stream(st, binary=False) if st is not None else None
    if stream is not None:
        stream.flush()
        if not gz:
            yield stream.buffer if binary else _whole_rows(stream, open_kwargs)
            stream.flush()
            return
        raw: IO[bytes] = stream.buffer
    elif not gz and binary:
        with open(path, mode, **open_kwargs) as handle:
            yield handle
        return
    elif not gz:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND if "a" in mode else os.O_WRONLY)
        try:
            yield cast(IO, WholeRows(fd, open_kwargs.get("encoding") or "utf-8", open_kwargs.get("errors")))
        finally:
            os.close(fd)
        return
    else:
        raw = open(path, "wb")  # noqa: SIM115 - closed below
    try:
        with _wrap(raw, mode, True, open_kwargs) as handle:  # closing the gzip layer leaves ``raw`` open
            yield handle
        raw.flush()
    finally:
        if stream is None:
            raw.close()


_LIVE: set[Path] = set()
"""Temporary files of this process not yet renamed or removed (registered before they exist)."""
_LIVE_LOCK = threading.Lock()


def _forget(tmp: Path) -> None:
    with _LIVE_LOCK:
        _LIVE.discard(tmp)


@contextlib.contextmanager
def scratch_file(path: Path) -> Iterator[Path]:
    """Register ``path`` (a file the block creates and removes, such as a write probe) as live for the block, so
    a stop signal at any instant of it cannot leave the file behind: removed here on an exception, and by
    :func:`remove_live_temps` if the signal came where no exception could unwind."""
    with _LIVE_LOCK:
        _LIVE.add(path)
    try:
        yield path
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise
    finally:
        _forget(path)


def remove_live_temps() -> list[Path]:
    """Remove every temporary file this process has created and not yet renamed or removed; return them.

    For a process on its way out after a stop signal: a signal handled at an unlucky instant (inside a
    finalizer, where Python drops the exception, or between a file's creation and the ``try`` that cleans it
    up) must not leave a ``.part`` file behind.
    """
    with _LIVE_LOCK:
        live = list(_LIVE)
        _LIVE.clear()
    removed = []
    for tmp in live:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
            removed.append(tmp)
    return removed


def _temp_path(target: Path) -> Path:
    return target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")


def create_temp(target: Path, suffix: str = "") -> tuple[int, Path]:
    """Create an empty hidden temporary file beside ``target`` with the mode ``open()`` would give it.

    The umask applies to a new file; an existing ``target`` lends its mode. Returns ``(fd, path)``.
    """
    try:
        existing: int | None = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        existing = None
    for _ in range(100):
        tmp = _temp_path(target)
        if suffix:
            tmp = tmp.with_name(tmp.name + suffix)
        with _LIVE_LOCK:
            _LIVE.add(tmp)  # before it exists: a signal between creation and registration cannot orphan it
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
        except FileExistsError:
            _forget(tmp)
            continue
        # any other exception (a stop signal handled just after the file was made) leaves it registered
        if existing is not None:
            with contextlib.suppress(OSError):
                os.fchmod(fd, existing)
        return fd, tmp
    raise FileExistsError(f"{target}: cannot create a temporary file beside it")


def resolve_output(path: str | os.PathLike) -> tuple[Path, os.stat_result | None]:
    """The file an output path writes to and its ``stat`` (``None``: not there yet).

    Symbolic links are followed: to the real path for a regular file (or a dangling link's target), while a
    link to anything else (``/dev/stdout`` -> ``/proc/self/fd/1``) is kept as it is, to be written through.
    """
    target = check_output_name(path)
    try:
        st: os.stat_result | None = os.stat(target)
    except (FileNotFoundError, NotADirectoryError):
        st = None
    if os.path.islink(target) and (st is None or stat.S_ISREG(st.st_mode)):
        target = Path(os.path.realpath(target))
    return target, st


def writes_through(st: os.stat_result | None) -> bool:
    """Whether an existing output is written in place: anything but a regular file, and our own stdout/stderr
    (``-o /dev/stdout`` when stdout is redirected to a file)."""
    return st is not None and (not stat.S_ISREG(st.st_mode) or _stdio_stream(st, binary=False) is not None)


@contextlib.contextmanager
def _renamed_when_done(tmp: Path, target: Path) -> Iterator[None]:
    """Rename the temporary file ``tmp`` onto ``target`` when the block completes, remove it on any exception
    (interrupts included), and unregister it either way (:func:`scratch_file`)."""
    with scratch_file(tmp):
        yield
        os.replace(tmp, target)


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike | None, mode: str = "w", **open_kwargs) -> Iterator[IO]:
    """Open ``path`` for writing so that a regular file there exists only if the block completes.

    See the module docstring for the rule (temporary file + rename for regular files, write-through for
    devices, FIFOs and ``/dev/stdout``, ``.gz`` compressed, errors for directories and empty names).
    """
    if is_stdio(path):
        if "b" in mode:
            yield sys.stdout.buffer
        else:
            yield _whole_rows(sys.stdout, open_kwargs)
        return
    gz = is_gzip_name(path)
    target, st = resolve_output(path)  # type: ignore[arg-type]
    if writes_through(st):
        with _write_through(target, st, mode, gz, open_kwargs) as handle:
            yield handle
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = create_temp(target)
    with _renamed_when_done(tmp, target):
        if gz:
            with os.fdopen(fd, "wb") as raw, _wrap(raw, mode, True, open_kwargs) as handle:
                yield handle
        else:
            with os.fdopen(fd, mode, **open_kwargs) as handle:
                yield handle


def atomic_save(save: object, path: str | os.PathLike, suffix: str = "") -> None:
    """Call ``save(temp_path)`` for a temporary file beside ``path``, then rename it onto ``path``.

    For writers that want a file name rather than a handle (``keras.Model.save`` wants one ending in
    ``.keras``: pass ``suffix=".keras"``). The temporary file is removed if ``save`` fails or is interrupted.
    """
    target, st = resolve_output(path)
    if writes_through(st):
        raise InputError(f"{path}: not a regular file; cannot save a model there")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = create_temp(target, suffix)
    os.close(fd)
    with _renamed_when_done(tmp, target):
        save(tmp)  # type: ignore[operator]
        if st is not None:
            with contextlib.suppress(OSError):
                os.chmod(tmp, stat.S_IMODE(st.st_mode))


WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG, errno.EIO, errno.EACCES, errno.EPERM,
                          errno.ENOENT, errno.ENOTDIR, errno.EISDIR, errno.ENXIO})
"""``errno`` values that mean an output could not be written (full or read-only disk, permissions, ...)."""


def _names_output(filename: object, output: str | os.PathLike) -> bool:
    """Whether an error's file is the output or its temporary file (``.<name>.<hex>.part``)."""
    name, target = os.path.basename(str(filename)), os.path.basename(os.fspath(output))
    return name == target or (name.startswith(f".{target}.") and ".part" in name)


@contextlib.contextmanager
def write_errors(output: str | os.PathLike) -> Iterator[None]:
    """Turn a failed write of ``output`` inside the block into one :class:`~phosnet.errors.PhosnetError`,
    ``<output>: cannot write (<reason>)``: the one wording of every writer (tables, JSON, models).

    Errors about other files (an input or a model read while the output is written) and a closed pipe
    (:class:`BrokenPipeError`, for the CLI to stop quietly) pass through unchanged.
    """
    try:
        yield
    except BrokenPipeError:
        raise
    except OSError as exc:
        if exc.errno not in WRITE_ERRNOS or (exc.filename and not _names_output(exc.filename, output)):
            raise
        raise PhosnetError(f"{output}: cannot write ({exc.strerror or exc})") from None


def remove_stale_temps(folder: str | os.PathLike) -> list[Path]:
    """Delete ``.<name>.<hex>.part*`` files that a killed process (SIGKILL) left in ``folder``; return them."""
    removed = []
    for candidate in Path(folder).glob(".*.part*"):
        parts = candidate.name.split(".")
        if candidate.is_file() and len(parts) >= 4 and "part" in parts:
            with contextlib.suppress(OSError):
                candidate.unlink()
                removed.append(candidate)
    return removed
