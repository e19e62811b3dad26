"""Exceptions phosnet raises for problems the user can fix.

The CLI turns a :class:`PhosnetError` into a single line on stderr and a non-zero exit code, so every
message must say which file, which record and what is wrong.
"""

from __future__ import annotations


class PhosnetError(Exception):
    """Base class for errors that are reported to the user as one line, without a traceback."""


class InputError(PhosnetError, ValueError):
    """An input file or value cannot be used (unreadable, malformed, or inconsistent)."""


def located(source: object, problem: str, record: str | None = None) -> str:
    """Format ``"<source>: record <record>: <problem>"`` for one-line error messages."""
    where = str(source)
    if record is not None:
        where += f": record {record}"
    return f"{where}: {problem}"


def check_setting_types(values: dict, defaults: object, prefix: str = "") -> None:
    """Raise an :class:`InputError` for a setting whose value is not of its default's type (``epochs: ten``),
    so a config file's typo fails before any work, naming the key (``prefix`` + key). An int is a float's
    value too; ``None`` is taken where the default is ``None``; nested settings (dicts) are checked by their owner.
    """
    for key, value in values.items():
        default = getattr(defaults, key, None)
        if default is None or isinstance(default, dict | list | tuple):
            continue
        if isinstance(default, bool):
            ok = isinstance(value, bool)
        elif isinstance(default, int):
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif isinstance(default, float):
            ok = isinstance(value, int | float) and not isinstance(value, bool)
        elif isinstance(default, str):
            ok = isinstance(value, str)
        else:
            continue
        if not ok:
            raise InputError(f"{prefix}{key}: {value!r} is not a{'n' if type(default).__name__[0] in 'aeiou' else ''} "
                             f"{type(default).__name__} (default {default!r})")


def reject_unknown_settings(values: dict, known: set[str], what: str) -> None:
    """Raise an :class:`InputError` naming any key of ``values`` outside ``known`` (``what``: e.g.
    ``"training"``), so a mistyped setting in a config file is never silently ignored."""
    unknown = sorted(set(values) - known)
    if unknown:
        raise InputError(f"unknown {what} setting(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
