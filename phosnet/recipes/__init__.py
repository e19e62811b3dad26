"""Named training recipes shipped inside the package: ``phosnet train --recipe akt-default SITES PROTEINS``.

A recipe is a YAML file of :class:`phosnet.akt.Recipe` fields (``<name>.yaml`` in this folder).
``akt-default.yaml`` is the recipe the bundled ``akt-default`` model was trained with.

Data paths in a shipped recipe (``pretrain``, ``hard_negatives``) name files of a phosnet source checkout
(``data/...``). They are resolved, in order, against the current directory and the checkout this package sits
in; the paths found in neither are named in one :class:`~phosnet.errors.InputError` that says which option
replaces each (``--pretrain``, ``--hard-negatives``). Explicit paths always win.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from phosnet.errors import InputError

RECIPES_DIR = Path(__file__).resolve().parent
DATA_KEYS = {"pretrain": "--pretrain", "hard_negatives": "--hard-negatives"}


def available() -> list[str]:
    """Names of the shipped recipes."""
    return sorted(p.stem for p in RECIPES_DIR.glob("*.yaml"))


def recipe_file(name: str) -> Path:
    """The YAML file of a shipped recipe (``InputError`` for an unknown name)."""
    path = RECIPES_DIR / f"{name}.yaml"
    if not path.is_file():
        raise InputError(f"no recipe named {name!r} (shipped recipes: {', '.join(available())})")
    return path


def _resolve(value: str) -> str | None:
    """``value`` as written if it names a file from here, else its copy in the checkout; None if neither."""
    path = Path(value)
    if path.is_file():  # absolute, or relative to the current directory: kept as written
        return value
    candidate = RECIPES_DIR.parent.parent / path
    if not path.is_absolute() and candidate.is_file():
        return str(candidate)
    return None


def load_recipe(name: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """A shipped recipe as a dict, ``overrides`` applied, its data paths resolved (see the module docstring).

    Every data file found in neither place is named in one error, with the option that replaces it.
    """
    from phosnet.akt import read_config

    values = read_config(recipe_file(name))
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    missing = []
    for key, option in DATA_KEYS.items():
        value = values.get(key)
        if value and not (overrides and overrides.get(key) is not None):
            found = _resolve(os.fspath(value))
            if found is None:
                missing.append(f"{option} PATH for {value}")
            values[key] = found
    if missing:
        raise InputError(f"recipe {name}: its data files are not in the current directory or a phosnet checkout "
                         f"(they are in the data/ folder of phosnet's repository); give {' and '.join(missing)}")
    return values


__all__ = ["RECIPES_DIR", "available", "load_recipe", "recipe_file"]
