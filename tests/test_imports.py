"""The import graph of nerf/, viewer/ and toy/: no cycle, and the layers only import downwards.

Every import counts, a function-level one included: moving an import into a function hides a
cycle from Python at load time, not from the reader. Imports under `if TYPE_CHECKING:` are left out
of the cycle check (they never run), but not of the layer checks (the knowledge is still there).
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("nerf", "viewer", "toy")


@dataclass(frozen=True)
class Import:
    source: str  # the importing module, e.g. "nerf.data.loaders"
    target: str  # the imported module as written, resolved to absolute, e.g. "nerf.data.colmap" or "torch"
    line: int
    type_only: bool  # under `if TYPE_CHECKING:`


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports_of(source: str, module: str, is_package: bool) -> list[Import]:
    """Every import statement in `source`, at any depth, with relative imports made absolute."""
    found: list[Import] = []
    package = module if is_package else module.rpartition(".")[0]

    def visit(node: ast.AST, type_only: bool) -> None:
        if isinstance(node, ast.Import):
            found.extend(Import(module, alias.name, node.lineno, type_only) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            # `from a import b` imports the module a.b if there is one, else the name b from a
            found.extend(Import(module, f"{prefix}.{alias.name}", node.lineno, type_only) for alias in node.names)
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                visit(child, True)
            for child in node.orelse:
                visit(child, type_only)
            return
        for child in ast.iter_child_nodes(node):
            visit(child, type_only)

    visit(ast.parse(source), False)
    return found


def resolve(target: str, modules: set[str]) -> str | None:
    """The project module an import loads: the longest prefix of `target` that is one, else None."""
    parts = target.split(".")
    for n in range(len(parts), 0, -1):
        name = ".".join(parts[:n])
        if name in modules:
            return name
    return None


def scan(root: Path = ROOT, packages: tuple[str, ...] = PACKAGES) -> tuple[set[str], list[Import]]:
    files = [f for pkg in packages for f in sorted((root / pkg).rglob("*.py"))]
    modules = {module_name(f, root) for f in files}
    found = [imp for f in files
             for imp in imports_of(f.read_text(), module_name(f, root), f.name == "__init__.py")]
    return modules, found


def graph_of(modules: set[str], found: list[Import]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for imp in found:
        target = resolve(imp.target, modules)
        if target is not None and target != imp.source and not imp.type_only:
            graph[imp.source].add(target)
    return graph


def tangles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components of more than one module (Tarjan): each holds a cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def connect(v: str) -> None:  # recursive: the graph is a few hundred modules deep at most
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(component)

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return components


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One shortest cycle through each tangle, as [a, b, ..., a]."""
    return [_cycle_in(graph, component) for component in tangles(graph)]


def _cycle_in(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """The shortest cycle through the component's first module (breadth-first inside it)."""
    start = min(component)
    parent: dict[str, str] = {}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph[v] & component):
                if w == start:
                    path = [v]
                    while path[-1] != start:
                        path.append(parent[path[-1]])
                    return [*reversed(path), start]
                if w not in parent:
                    parent[w] = v
                    nxt.append(w)
        frontier = nxt
    raise AssertionError(f"no cycle through {start} in its own component")  # Tarjan guarantees one


def _where(found: list[Import], modules: set[str], a: str, b: str) -> str:
    lines = sorted({imp.line for imp in found
                    if imp.source == a and not imp.type_only and resolve(imp.target, modules) == b})
    return f"{a} -> {b} (line {', '.join(map(str, lines))})"


def layer_of(module: str) -> str:
    """The layer a module belongs to: a sub-package or top-level module of nerf (nerf.data,
    nerf.errors), or viewer, or toy."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "nerf" else parts[0]


def layer_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    layers: dict[str, set[str]] = {layer_of(m): set() for m in graph}
    for source, targets in graph.items():
        layers[layer_of(source)] |= {layer_of(t) for t in targets} - {layer_of(source)}
    return layers


def test_layers_import_one_way():
    """data -> volume -> models -> train -> commands, viewer and toy on top: no two layers import
    each other, even through different modules (which the module graph alone would allow)."""
    modules, found = scan()
    layers = layer_graph(graph_of(modules, found))
    report = [" -> ".join(_cycle_in(layers, component)) for component in tangles(layers)]
    assert not report, "layers that import each other:\n" + "\n".join(report)


def crossings(found: list[Import], package: str, forbidden: tuple[str, ...]) -> list[str]:
    """Imports from `package` of any top-level name in `forbidden`, TYPE_CHECKING ones included."""
    return [f"{imp.source}:{imp.line} imports {imp.target}" for imp in found
            if imp.source.split(".")[0] == package and imp.target.split(".")[0] in forbidden]


def test_the_import_graph_has_no_cycle():
    modules, found = scan()
    graph = graph_of(modules, found)
    report = []
    for component in tangles(graph):
        cycle = _cycle_in(graph, component)
        report.append(f"cycle among {', '.join(sorted(component))}, for example:")
        report += [f"    {_where(found, modules, a, b)}" for a, b in zip(cycle, cycle[1:], strict=False)]
    assert not report, "import cycles, function-level imports included:\n" + "\n".join(report)


@pytest.mark.parametrize(("package", "forbidden"), [
    ("nerf", ("viewer", "toy", "dearpygui")),  # the engine is headless and knows no front end
    ("toy", ("viewer", "dearpygui")),  # the viewer shows the toy lab, never the other way round
])
def test_layers_only_import_downwards(package, forbidden):
    _, found = scan()
    bad = crossings(found, package, forbidden)
    assert not bad, "\n".join(bad)


# ---- the checker itself, on small trees written here ------------------------------------------------


def _tree(tmp_path: Path, files: dict[str, str]) -> tuple[set[str], list[Import]]:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return scan(tmp_path, ("p",))


def test_checker_finds_a_cycle_hidden_in_a_function(tmp_path):
    modules, found = _tree(tmp_path, {
        "p/__init__.py": "",
        "p/a.py": "from p.b import f\n",
        "p/b.py": "def f():\n    from p import a  # dodged at load time\n    return a\n",
        "p/c.py": "import p.a\n",
    })
    assert cycles(graph_of(modules, found)) == [["p.a", "p.b", "p.a"]]


def test_checker_resolves_relative_imports_and_skips_type_checking(tmp_path):
    modules, found = _tree(tmp_path, {
        "p/__init__.py": "",
        "p/q/__init__.py": "from .r import X\n",
        "p/q/r.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..s import Y\nX = 1\n",
        "p/s.py": "from .q import X\nimport numpy\n",
    })
    graph = graph_of(modules, found)
    assert graph == {"p": set(), "p.q": {"p.q.r"}, "p.q.r": set(), "p.s": {"p.q"}}
    assert cycles(graph) == []
    assert [(i.source, i.target, i.type_only) for i in found if i.source == "p.q.r" and i.target.startswith("p")] \
        == [("p.q.r", "p.s.Y", True)]


def test_checker_reports_each_cycle_once_with_its_lines(tmp_path):
    modules, found = _tree(tmp_path, {
        "p/__init__.py": "",
        "p/a.py": "import p.b\n",
        "p/b.py": "\n\nimport p.c\n",
        "p/c.py": "import p.a\n",
        "p/d.py": "import p.e\n",
        "p/e.py": "import p.d\n",
    })
    loops = cycles(graph_of(modules, found))
    assert sorted(loops) == [["p.a", "p.b", "p.c", "p.a"], ["p.d", "p.e", "p.d"]]
    assert _where(found, modules, "p.b", "p.c") == "p.b -> p.c (line 3)"


def test_checker_finds_a_layer_crossing_in_a_function_and_under_type_checking(tmp_path):
    _, found = _tree(tmp_path, {
        "p/__init__.py": "",
        "p/a.py": "import typing\n"
                  "if typing.TYPE_CHECKING:\n    import q\n"
                  "def f():\n    import dearpygui.dearpygui as dpg\n",
    })
    assert crossings(found, "p", ("q", "dearpygui")) == ["p.a:3 imports q", "p.a:5 imports dearpygui.dearpygui"]
    assert crossings(found, "q", ("p",)) == []


def test_checker_finds_layers_that_import_each_other_through_different_modules():
    graph = {"nerf.data.a": {"nerf.train.x"}, "nerf.train.y": {"nerf.data.b"}, "nerf.data.b": set(),
             "nerf.train.x": set(), "viewer.app": {"nerf.train.y"}}
    assert cycles(graph) == []
    assert layer_graph(graph) == {"nerf.data": {"nerf.train"}, "nerf.train": {"nerf.data"}, "viewer": {"nerf.train"}}
    assert cycles(layer_graph(graph)) == [["nerf.data", "nerf.train", "nerf.data"]]
