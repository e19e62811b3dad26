"""The package's import structure: no import cycle in phosnet/, counting imports inside functions too.

An import inside a function can hide a cycle (the two modules import fine because one of them imports the other
only when called), so this graph has an edge for every ``import`` statement anywhere in a module: at module
level, under ``if TYPE_CHECKING``, and inside functions. ``from package import submodule`` is an edge to the
submodule; the packages a dotted import passes through are not edges (Python imports them first, and they are
initialised by then).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "phosnet"


def module_files(package: Path = PACKAGE) -> dict[str, Path]:
    """``{dotted module name: file}`` of every module of the package."""
    modules = {}
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def _owner(name: str, modules: dict[str, Path]) -> str | None:
    """The package module ``name`` is, or lies in (``phosnet.io.fasta.read_fasta`` -> ``phosnet.io.fasta``)."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The package modules ``module`` imports anywhere in its file."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                targets.append(submodule if submodule in modules else base)
        for target in targets:
            owner = _owner(target, modules)
            if owner is not None and owner != module:
                found.add(owner)
    return found


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    modules = module_files(package)
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_phosnet_has_no_import_cycle() -> None:
    graph = import_graph()
    assert "phosnet.scan" in graph and "phosnet.bundle" in graph["phosnet.scan"]  # the graph is really built
    found = cycles(graph)
    described = [" <-> ".join(c) + ": " + "; ".join(f"{m} -> {sorted(graph[m] & set(c))}" for m in c) for c in found]
    assert not found, "import cycles:\n" + "\n".join(described)


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "pkg"


def test_a_cycle_hidden_in_a_function_is_found(tmp_path: Path) -> None:
    package = _write(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/a.py": "from pkg.b import g\n",
        "pkg/b.py": "def g():\n    from pkg import a\n    return a\n",
        "pkg/c.py": "from . import a\n",
    })
    graph = import_graph(package)
    assert graph["pkg.b"] == {"pkg.a"} and graph["pkg.c"] == {"pkg.a"}
    assert cycles(graph) == [["pkg.a", "pkg.b"]]


def test_a_package_importing_its_own_submodule_is_no_cycle(tmp_path: Path) -> None:
    package = _write(tmp_path, {
        "pkg/__init__.py": "from pkg import base\nfrom pkg.impl import f\n",
        "pkg/base.py": "X = 1\n",
        "pkg/impl.py": "from pkg import base\nfrom pkg.base import X\n",
    })
    assert cycles(import_graph(package)) == []
    (package / "impl.py").write_text("from pkg import f\n")  # a name of the package itself: a real cycle
    assert cycles(import_graph(package)) == [["pkg", "pkg.impl"]]


@pytest.mark.parametrize("module", sorted(module_files()))
def test_no_module_is_over_600_lines_without_a_reason_in_design(module: str) -> None:
    path = module_files()[module]
    lines = len(path.read_text().splitlines())
    if lines > 600:
        design = (PACKAGE.parent / "docs" / "DESIGN.md").read_text()
        relative = path.relative_to(PACKAGE.parent).as_posix()
        assert f"`{relative}` is over 600 lines" in design, f"{relative}: {lines} lines, no reason in DESIGN.md"
