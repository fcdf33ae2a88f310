"""The packages' imports point one way: no package imports one that imports it back.

Read from the source (ast), so that lazy imports inside functions count too. The project's root
modules (icebox/settings.py, urls.py, wsgi.py: Django's entry points, which wire every app
together) are not counted as the icebox package's. KNOWN lists the cycles still to undo; this
test fails on a new cycle, and on a known one that is gone (remove it from the list).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROJECT_ROOT_MODULES = {"icebox/settings.py", "icebox/urls.py", "icebox/wsgi.py", "icebox/asgi.py"}
# Cycles still to undo: none. The packages are layered, each importing only those below it:
#   core, kinds  <-  sharing  <-  icebox  <-  geo  <-  artifacts  <-  engine, compare, ogc, explore  <-  inputs
KNOWN: set[frozenset] = set()


def packages() -> set[str]:
    return {p.name for p in ROOT.iterdir() if (p / "__init__.py").is_file() and p.name not in ("tests", "bench")}


def imports_between_packages() -> dict[str, dict[str, list[str]]]:
    """{package: {imported package: ['file:line', ...]}}"""
    names = packages()
    edges: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for path in sorted(ROOT.glob("*/**/*.py")):
        relative = path.relative_to(ROOT).as_posix()
        package = relative.split("/", 1)[0]
        if package not in names or "/migrations/" in relative or relative in PROJECT_ROOT_MODULES:
            continue
        for node in ast.walk(ast.parse(path.read_text(), relative)):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".", 1)[0]
                if top in names and top != package:
                    edges[package][top].append(f"{relative}:{node.lineno}")
    return edges


def cycles() -> dict[frozenset, list[str]]:
    edges = imports_between_packages()
    found = {}
    for a, targets in edges.items():
        for b, where in targets.items():
            if a < b and a in edges.get(b, {}):
                found[frozenset({a, b})] = where[:2] + edges[b][a][:2]
    return found


def test_the_kinds_package_imports_nothing_of_icebox():
    assert dict(imports_between_packages().get("kinds", {})) == {}


def test_no_new_import_cycle_between_packages():
    found = cycles()
    new = {" <-> ".join(sorted(pair)): where for pair, where in found.items() if pair not in KNOWN}
    assert new == {}, f"packages importing each other: {new}"


def test_engine_and_icebox_import_one_way():
    assert frozenset({"engine", "icebox"}) not in cycles()


def test_every_known_cycle_is_still_there():
    # One that is gone must leave KNOWN, so that it cannot come back unnoticed.
    assert KNOWN <= set(cycles()), f"no longer cycles: {[sorted(p) for p in KNOWN - set(cycles())]}"


# Bottom to top; a package imports only packages of the layers below its own. This catches a
# cycle through three packages too, and an import that would turn the layering upside down.
LAYERS = (
    {"core", "kinds", "blobs"},
    {"sharing", "throttling"},
    {"icebox"},
    {"geo"},
    {"artifacts"},
    {"engine", "compare", "ogc", "explore"},
    {"inputs"},
)


def test_every_package_has_a_layer():
    assert packages() == set().union(*LAYERS)


def test_packages_import_only_the_layers_below_their_own():
    layer = {name: depth for depth, names in enumerate(LAYERS) for name in names}
    upward = {
        f"{package} -> {imported}": where[:3]
        for package, targets in imports_between_packages().items()
        for imported, where in targets.items()
        if layer[imported] >= layer[package]
    }
    assert upward == {}, f"imports that do not point down the layers: {upward}"
