"""The one SHA-256 of a file: how a model's record names the data it was made from (training sites,
proteins, pretraining table, the background's proteome) and the weights a background table was built for."""

from __future__ import annotations

import hashlib
import os


def sha256_file(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB blocks (memory stays flat for a proteome).

    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile() as handle:
    ...     _ = handle.write(b"abc"); handle.flush()
    ...     sha256_file(handle.name)[:16]
    'ba7816bf8f01cfea'
    """
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_if_file(path: str | os.PathLike | None) -> str | None:
    """:func:`sha256_file` of ``path`` when it is an existing file, else ``None`` (an optional input)."""
    return sha256_file(path) if path is not None and os.path.isfile(path) else None


__all__ = ["sha256_file", "sha256_if_file"]
