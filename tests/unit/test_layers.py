"""The package's layer rule, read from the source: who may import whom (ARCHITECTURE.md).

Every import counts, at module level or inside a function: a lazy import is still a dependency."""

from __future__ import annotations

import ast
import importlib
import types
from pathlib import Path

import pytest

PACKAGE = "comments_service"
ROOT = Path(__file__).resolve().parents[2] / PACKAGE

# What domain/ may import besides the standard library and itself: data, not frameworks, drivers or clients.
# pure computation only: parsing, rendering, matching, numpy's arrays (domain/fingerprint.py) and the
# language detector's naive Bayes over n-grams (domain/language.py)
DOMAIN_MAY_IMPORT = {"msgspec", "markdown_it", "mdit_py_plugins", "nh3", "bleach", "linkify_it", "regex", "re2",
                     "numpy", "py3langid"}
STDLIB = frozenset(__import__("sys").stdlib_module_names)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _from_imports(path: Path) -> list[tuple[str, list[str]]]:
    """Each ``from X import a, b`` in ``path``: X as an absolute name, and the names taken from it."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.append((target, [alias.name for alias in node.names]))
    return found


def _imports(path: Path) -> set[str]:
    """Absolute names of everything ``path`` imports (a ``from . import x`` names the package and x)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    for target, names in _from_imports(path):
        found.add(target)
        found.update(f"{target}.{name}" for name in names)
    return found


MODULES = {_module_name(p): p for p in ROOT.rglob("*.py")}
GRAPH = {name: set(_imports(path)) for name, path in MODULES.items()}


def _internal(names: set[str]) -> set[str]:
    """The package's own modules among imported names (``pkg.mod.Symbol`` counts as ``pkg.mod``)."""
    result = set()
    for n in names:
        while n and n not in MODULES:
            n = n.rpartition(".")[0]
        if n:
            result.add(n)
    return result


def _in(name: str, *layers: str) -> bool:
    return any(name == f"{PACKAGE}.{layer}" or name.startswith(f"{PACKAGE}.{layer}.") for layer in layers)


@pytest.mark.parametrize("layer", ["api", "workers", "cli", "site_commands", "import_commands", "formats", "demo"])
def test_callers_reach_storage_only_through_services(layer: str) -> None:
    offenders = {name: sorted(i for i in _internal(GRAPH[name]) if _in(i, "db"))
                 for name in MODULES if _in(name, layer)}
    assert {k: v for k, v in offenders.items() if v} == {}


@pytest.mark.parametrize("layer", ["api", "workers", "cli", "site_commands", "import_commands", "formats", "demo"])
def test_callers_take_nothing_of_storage_through_another_module(layer: str) -> None:
    # a name imported from a service (or anywhere) that is really db/'s: a re-export the import
    # graph above cannot see
    offenders = []
    for name, path in MODULES.items():
        if not _in(name, layer):
            continue
        for target, names in _from_imports(path):
            if target not in MODULES or _in(target, "db"):
                continue
            module = importlib.import_module(target)
            for imported in names:
                value = getattr(module, imported, None)
                home = value.__name__ if isinstance(value, types.ModuleType) else getattr(value, "__module__", None)
                if isinstance(home, str) and _in(home, "db"):
                    offenders.append(f"{name}: {imported} from {target} is {home}'s")
    assert offenders == []


def test_nothing_but_the_composition_root_and_the_app_imports_the_app() -> None:
    importers = {name for name in MODULES if f"{PACKAGE}.app" in _internal(GRAPH[name])}
    assert importers <= {f"{PACKAGE}.cli", f"{PACKAGE}.server", f"{PACKAGE}.__main__"}, importers
    assert not any(_in(i, "app") for i in _internal(GRAPH[f"{PACKAGE}.wiring"]))


def test_workers_import_neither_the_app_nor_storage() -> None:
    for name in MODULES:
        if _in(name, "workers"):
            assert not [i for i in _internal(GRAPH[name]) if _in(i, "app", "db", "api")], name


def test_domain_imports_no_framework_driver_or_client() -> None:
    for name in MODULES:
        if not _in(name, "domain"):
            continue
        outside = {i.split(".")[0] for i in GRAPH[name]} - {PACKAGE, "__future__"} - STDLIB - DOMAIN_MAY_IMPORT
        inside = [i for i in _internal(GRAPH[name]) if not _in(i, "domain")]
        assert (sorted(outside), inside) == ([], []), name


def test_services_import_no_http_layer() -> None:
    for name in MODULES:
        if _in(name, "services", "db", "domain"):
            assert not [i for i in _internal(GRAPH[name]) if _in(i, "api", "app", "workers", "cli", "wiring")], name
            assert not {i.split(".")[0] for i in GRAPH[name]} & {"litestar"}, name


def test_no_import_cycles() -> None:
    edges = {name: _internal(imports) - {name} for name, imports in GRAPH.items()}
    # a package's __init__ importing its own submodules is how packages re-export; not a cycle
    for name in edges:
        edges[name] = {i for i in edges[name] if not (MODULES[name].name == "__init__.py" and i.startswith(name + "."))
                       and not (MODULES.get(i) and MODULES[i].name == "__init__.py" and name.startswith(i + "."))}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)
    assert cycles == []


def test_the_rule_sees_the_package() -> None:
    # the checks above pass vacuously if the walk finds nothing
    assert {f"{PACKAGE}.wiring", f"{PACKAGE}.services.comments", f"{PACKAGE}.api.comments"} <= set(MODULES)
    assert f"{PACKAGE}.db.comments" in _internal(GRAPH[f"{PACKAGE}.services.comments"])
