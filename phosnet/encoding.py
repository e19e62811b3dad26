"""Amino-acid alphabet and encoders (one-hot and index); no TensorFlow here.

The rule for letters outside the 20 standard amino acids
--------------------------------------------------------
* Sequences are upper-cased first, so ``s`` and ``S`` are the same residue.
* ``U`` (selenocysteine) is read as ``C`` and ``O`` (pyrrolysine) as ``K``: each is a modified form of that
  standard residue.
* The ambiguity codes ``B`` (D/N), ``Z`` (E/Q), ``J`` (I/L) and the unknown ``X`` all become ``X``.
* ``X`` is also the padding past either end of a protein. It has its own (21st) channel in the one-hot code
  and index 20 in the index code, so an unknown residue is never mistaken for a real one.
* A trailing ``*`` (stop) is dropped by the FASTA reader; any other character (digits, ``-``, ``.``, an
  internal ``*``, ...) is an error, never silently encoded.

>>> normalize_sequence("mkuOBst*")
'MKCKXST'
>>> to_index(["ACX"]).tolist()
[[0, 1, 20]]
>>> decode(one_hot(["MKT"]))
['MKT']
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

AMINO_ACIDS = "ACDEFGHIKLMNPQRSTVWY"
"""The 20 standard amino acids, in the order of the first 20 channels."""

PAD = "X"
"""Padding and unknown-residue letter; encoded as the last channel."""

ALPHABET = AMINO_ACIDS + PAD
"""The 21 letters the encoders know, in channel / index order."""

PAD_INDEX = ALPHABET.index(PAD)
"""Index of ``X`` (20)."""

N_CHANNELS = len(ALPHABET)
"""Number of one-hot channels (21)."""

LETTER_MAP = {**{aa: aa for aa in AMINO_ACIDS}, "U": "C", "O": "K", "B": "X", "Z": "X", "J": "X", "X": "X"}
"""Every accepted upper-case letter and the residue it is encoded as."""

_NORMALIZE_TABLE = str.maketrans(
    {**{k.lower(): v for k, v in LETTER_MAP.items()}, **{k: v for k, v in LETTER_MAP.items() if k != v}}
)

# byte -> index lookup over the 256 byte values; -1 marks a letter outside ALPHABET.
_BYTE_TO_INDEX = np.full(256, -1, dtype=np.int8)
for _i, _aa in enumerate(ALPHABET):
    _BYTE_TO_INDEX[ord(_aa)] = _i
ALPHABET_BYTES = np.frombuffer(ALPHABET.encode("ascii"), dtype=np.uint8)
"""index -> ASCII byte of the letter (the one alphabet byte table: ``ALPHABET_BYTES[windows]`` decodes)."""


def invalid_characters(sequence: str) -> str:
    """Return the characters of ``sequence`` that the encoding rule rejects (empty if none)."""
    return sequence.translate(_DELETE_ACCEPTED)


_DELETE_ACCEPTED = str.maketrans("", "", "".join(LETTER_MAP) + "".join(LETTER_MAP).lower())


def normalize_sequence(sequence: str, *, strip_stop: bool = True) -> str:
    """Upper-case ``sequence`` and apply the encoding rule (U->C, O->K, B/Z/J->X).

    A trailing ``*`` is removed when ``strip_stop`` is true. Raises ``ValueError`` naming the first character
    that is not a residue letter.
    """
    if strip_stop and sequence.endswith("*"):
        sequence = sequence[:-1]
    bad = invalid_characters(sequence)
    if bad:
        pos = sequence.index(bad[0]) + 1
        raise ValueError(f"invalid character {bad[0]!r} at residue {pos}")
    return sequence.translate(_NORMALIZE_TABLE)


def sequence_to_index_codes(ascii_codes: np.ndarray) -> np.ndarray:
    """Index-encode ASCII codes (``uint8``) of normalized residues: ``int8``, ``X`` = 20, ``-1`` where not one."""
    return _BYTE_TO_INDEX[ascii_codes]


def sequence_to_index(sequence: str) -> np.ndarray:
    """Index-encode one normalized sequence as a 1-D ``int8`` array (``X`` = 20)."""
    idx = sequence_to_index_codes(np.frombuffer(sequence.encode("ascii"), dtype=np.uint8))
    if idx.size and idx.min() < 0:
        raise ValueError(f"sequence holds letters outside {ALPHABET!r}; normalize it first")
    return idx


def to_index(windows: Iterable[str] | np.ndarray, dtype: type = np.int8) -> np.ndarray:
    """Index-encode equal-length windows: ``(n, L)`` integers, ``A`` = 0 ... ``Y`` = 19, ``X`` = 20.

    ``windows`` may be strings or an ``(n, L)`` array of ASCII codes (``uint8``); letters must already follow
    the encoding rule (see :func:`normalize_sequence`).
    """
    if isinstance(windows, np.ndarray) and windows.dtype == np.uint8:
        codes = windows
    else:
        windows = list(windows)
        if not windows:
            return np.zeros((0, 0), dtype=dtype)
        width = len(windows[0])
        joined = "".join(windows)
        if len(joined) != width * len(windows):
            raise ValueError("windows must all have the same length")
        codes = np.frombuffer(joined.encode("ascii"), dtype=np.uint8).reshape(len(windows), width)
    idx = _BYTE_TO_INDEX[codes]
    if idx.size and idx.min() < 0:
        raise ValueError(f"windows hold letters outside {ALPHABET!r}; normalize them first")
    return idx.astype(dtype, copy=False)


def one_hot(windows: Iterable[str] | np.ndarray) -> np.ndarray:
    """One-hot encode windows as ``float32`` of shape ``(n, L, 21)``.

    ``windows`` may be strings, ASCII codes, or an integer index array from :func:`to_index`.
    """
    if isinstance(windows, np.ndarray) and windows.dtype.kind in "iu" and windows.dtype != np.uint8:
        index = windows
    else:
        index = to_index(windows)
    return np.eye(N_CHANNELS, dtype=np.float32)[index]


def decode(encoded: np.ndarray | Sequence[Sequence[int]]) -> list[str]:
    """Turn an index array ``(n, L)`` or a one-hot array ``(n, L, 21)`` back into strings."""
    arr = np.asarray(encoded)
    if arr.ndim == 3:
        arr = arr.argmax(axis=-1)
    if arr.ndim != 2:
        raise ValueError(f"expected an (n, L) index or (n, L, 21) one-hot array, got shape {arr.shape}")
    if arr.size and (arr.min() < 0 or arr.max() >= N_CHANNELS):
        raise ValueError("index out of the alphabet's range")
    codes = ALPHABET_BYTES[arr.astype(np.intp)]
    width = arr.shape[1]
    return [codes[i].tobytes().decode("ascii") for i in range(arr.shape[0])] if width else [""] * arr.shape[0]
