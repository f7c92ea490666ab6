"""The package's layout: every public name the docs mention imports, and no import circles."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOC_PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

_FROM_IMPORT = re.compile(r"from (gluondata(?:\.\w+)*) import (?:\(([\w ,\n]+)\)|([\w ,]+))")
_DOTTED = re.compile(r"\bgluondata(?:\.[A-Za-z]\w*)+")
_CODE = re.compile(r"```python\n(.*?)```|`([^`\n]+)`", re.S)
# the short names the docs use for gluondata's modules (``io.NDArrayIter``, ``T.Resize``)
_ALIASES = {
    "batchify": "gluondata.batchify",
    "image": "gluondata.image",
    "im2rec": "gluondata.im2rec",
    "io": "gluondata.io",
    "joint": "gluondata.vision.transforms.joint",
    "recordio": "gluondata.recordio",
    "T": "gluondata.vision.transforms",
    "transforms": "gluondata.vision.transforms",
    "vision": "gluondata.vision",
}
_FILE_SUFFIXES = {"py", "md", "lst", "rec", "idx"}
_ALIASED = re.compile(r"(?<![\w.])(" + "|".join(_ALIASES) + r")\.([A-Za-z]\w*)")


def _documented_names() -> set[tuple[str, str]]:
    """(module, name) for every ``from gluondata.x import y`` and ``gluondata.x.y`` in the docs."""
    names: set[tuple[str, str]] = set()
    for page in DOC_PAGES:
        text = page.read_text()
        for module, grouped, inline in _FROM_IMPORT.findall(text):
            for item in (grouped or inline).replace("\n", " ").split(","):
                name = item.split(" as ")[0].strip()
                if name:
                    names.add((module, name))
        for dotted in _DOTTED.findall(text):
            module, _, name = dotted.rpartition(".")
            names.add((module, name))
        for block, span in _CODE.findall(text):
            for alias, name in _ALIASED.findall(block or span):
                if name not in _FILE_SUFFIXES:  # ``im2rec.py``, ``vision.md``
                    names.add((_ALIASES[alias], name))
    return names


def test_the_docs_mention_many_public_names():
    assert len(_documented_names()) > 50


@pytest.mark.parametrize(("module", "name"), sorted(_documented_names()))
def test_every_public_name_the_docs_mention_imports(module, name):
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError:  # ``gluondata.io.DataIter.next``: the module part is shorter
        parent, _, attr = module.rpartition(".")
        mod = getattr(importlib.import_module(parent), attr)
    if not hasattr(mod, name):
        importlib.import_module(f"{module}.{name}")  # a submodule not imported by its package


@pytest.mark.parametrize(
    "package",
    [
        "gluondata",
        "gluondata.io",
        "gluondata.recordio",
        "gluondata.image",
        "gluondata.im2rec",
        "gluondata.vision",
        "gluondata.vision.transforms",
        "gluondata.interop",
    ],
)
def test_every_name_in_a_facade_all_exists(package):
    mod = importlib.import_module(package)
    missing = [n for n in getattr(mod, "__all__", []) if not hasattr(mod, n)]
    assert not missing


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, module: str, known: set[str]) -> set[str]:
    """The modules of ``known`` that ``path`` imports, anywhere in the file (lazy ones too)."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            targets = [prefix] + [f"{prefix}.{alias.name}" for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != module:
                found.add(target)
    return found


def _graph(root: Path, files: list[Path]) -> dict[str, set[str]]:
    names = {_module_name(f, root): f for f in files}
    known = set(names)
    graph = {name: _imports(f, name, known) for name, f in names.items()}
    # importing a module first imports its packages: ``a.b.c`` depends on ``a`` and ``a.b``
    for name in names:
        parts = name.split(".")
        for i in range(1, len(parts)):
            parent = ".".join(parts[:i])
            if parent in known:
                graph[name].add(parent)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
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


def _without_package_edges(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """A package's ``__init__`` importing its own modules is the façade, not a circle."""
    return {name: {t for t in deps if not t.startswith(name + ".")} for name, deps in graph.items()}


def test_the_package_has_no_import_circles():
    files = sorted((ROOT / "gluondata").rglob("*.py"))
    graph = _graph(ROOT, files)
    # a module importing its package's façade while the façade imports it is a real circle;
    # the façade importing its own private modules is not
    assert _cycles(_without_package_edges(graph)) == []


def test_the_benchmarks_have_no_import_circles():
    root = ROOT / "benchmarks"
    files = [
        f
        for f in sorted(root.rglob("*.py"))
        if not any(part.startswith(".venv") for part in f.relative_to(root).parts)
    ]
    assert _cycles(_without_package_edges(_graph(root, files))) == []


def test_the_circle_finder_finds_a_circle(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "a.py").write_text("from .b import x\n")
    (tmp_path / "pkg" / "b.py").write_text("def f():\n    from . import a\n")
    graph = _graph(tmp_path, sorted(tmp_path.rglob("*.py")))
    assert _cycles(_without_package_edges(graph)) == [["pkg.a", "pkg.b"]]


# What each part of the package may import (docs/design.md, "The map"); parts not listed
# (the top-level façade, cli.py, _demo.py, __main__.py) may import anything.
MAY_IMPORT = {
    "random": set(),
    "strings": set(),
    "_stages": set(),
    "distributed": set(),
    "image": {"_stages", "random"},
    "recordio": {"image"},
    "sampler": {"random"},
    "_loader": {"_stages", "image", "random", "sampler"},
    "batchify": {"_loader"},
    "dataset": {"_loader", "random", "recordio", "sampler"},
    "dataloader": {"_loader", "batchify", "distributed", "image", "random", "sampler"},
    "im2rec": {"image", "recordio", "strings"},
    "vision": {
        "_loader",
        "_stages",
        "dataset",
        "im2rec",
        "image",
        "random",
        "recordio",
        "strings",
    },
    "io": {
        "_loader",
        "dataloader",
        "distributed",
        "im2rec",
        "image",
        "random",
        "recordio",
        "sampler",
    },
    "interop": {"_loader"},
}


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_each_part_imports_only_what_the_map_allows():
    graph = _graph(ROOT, sorted((ROOT / "gluondata").rglob("*.py")))
    outside = {
        f"{module} imports {target}"
        for module, targets in graph.items()
        for target in targets
        if _part(module) in MAY_IMPORT
        and _part(target) not in ("", _part(module))
        and _part(target) not in MAY_IMPORT[_part(module)]
    }
    assert outside == set()
