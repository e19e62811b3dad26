"""Named training recipes shipped inside the package: ``phosnet train --recipe akt-default SITES PROTEINS``.

A recipe is a YAML file of :class:`phosnet.akt.Recipe` fields (``<name>.yaml`` in this folder).
``akt-default.yaml`` is the recipe the bundled ``akt-default`` model was trained with.

Data paths in a shipped recipe (``pretrain``, ``hard_negatives``) name files of a phosnet source checkout
(``data/...``). They are resolved, in order, against the current directory and the checkout this package sits
in; a path found in neither is an :class:`~phosnet.errors.InputError` that says which option replaces it
(``--pretrain``, ``--hard-negatives``). Explicit paths always win.
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


def _resolve(name: str, key: str, value: str) -> str:
    path = Path(value)
    if path.is_file():  # absolute, or relative to the current directory: kept as written
        return value
    candidate = RECIPES_DIR.parent.parent / path
    if not path.is_absolute() and candidate.is_file():
        return str(candidate)
    raise InputError(f"recipe {name}: {key} file {value} not found in the current directory or a phosnet "
                     f"checkout; give it with {DATA_KEYS[key]} PATH")


def load_recipe(name: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """A shipped recipe as a dict, ``overrides`` applied, its data paths resolved (see the module docstring)."""
    from phosnet.akt import read_config

    values = read_config(recipe_file(name))
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    for key in DATA_KEYS:
        value = values.get(key)
        if value and not (overrides and overrides.get(key) is not None):
            values[key] = _resolve(name, key, os.fspath(value))
    return values


__all__ = ["RECIPES_DIR", "available", "load_recipe", "recipe_file"]
