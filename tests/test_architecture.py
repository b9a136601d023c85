"""The one-way layering of docs/architecture.md, checked against every import in the package."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

from tests.daemon_runs import REPO

PACKAGE = REPO / "engine_alpha"
ARCHITECTURE = REPO / "docs" / "architecture.md"
_LAYER_LINE = re.compile(r"^\d+\. `(\w+)`")


@dataclass(frozen=True, slots=True)
class Import:
    """One import of a module of the package: where it is and what it names."""

    source: str  # dotted module name
    target: str  # dotted module (or package) name
    line: int


def layer_order(doc: Path) -> list[str]:
    """The layers named in the doc's numbered list, bottom first."""
    return [m.group(1) for line in doc.read_text().splitlines() if (m := _LAYER_LINE.match(line))]


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_imports(root: Path) -> list[Import]:
    """Every import of `root`'s own modules, wherever it stands in the file."""
    top = root.name
    modules = {module_name(root, p): p for p in root.rglob("*.py")}
    found = []
    for name, path in sorted(modules.items()):
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    keep = name.split(".")[: len(name.split(".")) - node.level + is_package]
                    base = ".".join([*keep, *([base] if base else [])])
                # `from pkg import module` names a module: count it as that module's import
                targets = [
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                    for alias in node.names
                ]
            found += [
                Import(name, t, node.lineno) for t in targets if t == top or t.startswith(f"{top}.")
            ]
    return found


def layer_of(module: str) -> str:
    """`engine_alpha.ops.gates` → `ops`; a top-level module is its own layer."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def upward_imports(imports: list[Import], order: list[str]) -> list[str]:
    """Imports of a layer that is not below the importer's (its own excepted), as messages."""
    rank = {layer: i for i, layer in enumerate(order)}
    bad = []
    for imp in imports:
        src, dst = layer_of(imp.source), layer_of(imp.target)
        if src == dst:
            continue
        if src not in rank or dst not in rank:
            bad.append(f"{imp.source}:{imp.line} imports {imp.target}: layer not in the doc")
        elif rank[dst] > rank[src]:
            bad.append(f"{imp.source}:{imp.line} imports {imp.target} ({src} is below {dst})")
    return bad


def module_cycles(imports: list[Import]) -> list[list[str]]:
    """Groups of modules that import each other, directly or around a loop (Tarjan)."""
    graph: dict[str, set[str]] = {}
    for imp in imports:
        if imp.target != imp.source:
            graph.setdefault(imp.source, set()).add(imp.target)
            graph.setdefault(imp.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def tree_layers(root: Path) -> set[str]:
    """The packages and top-level modules of the tree (`__init__` aside)."""
    names = {p.name for p in root.iterdir() if (p / "__init__.py").exists()}
    names |= {p.stem for p in root.glob("*.py") if p.stem != "__init__"}
    return names


def test_no_import_runs_up_the_layers_of_docs_architecture() -> None:
    imports = package_imports(PACKAGE)
    assert len(imports) > 200  # the reader found the package's imports
    assert upward_imports(imports, layer_order(ARCHITECTURE)) == []


def test_no_two_modules_import_each_other_even_around_a_loop() -> None:
    assert module_cycles(package_imports(PACKAGE)) == []


def test_docs_architecture_names_every_package_of_the_tree_and_nothing_else() -> None:
    order = layer_order(ARCHITECTURE)
    assert len(order) == len(set(order))
    assert set(order) == tree_layers(PACKAGE)


def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / "pkg" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "pkg"


def test_the_checker_finds_an_upward_import_hidden_in_a_function_and_a_relative_one(
    tmp_path: Path,
) -> None:
    root = _write(
        tmp_path,
        {
            "__init__.py": "",
            "low/__init__.py": "",
            "low/a.py": "def f():\n    from pkg.high.b import g\n    return g\n",
            "low/c.py": "from ..high import b\n",
            "high/__init__.py": "",
            "high/b.py": "from pkg.low.a import f\ng = 1\n",
        },
    )
    imports = package_imports(root)
    bad = upward_imports(imports, ["low", "high"])
    assert bad == [
        "pkg.low.a:2 imports pkg.high.b (low is below high)",
        "pkg.low.c:1 imports pkg.high.b (low is below high)",
    ]
    assert module_cycles(imports) == [["pkg.high.b", "pkg.low.a"]]
    assert upward_imports(imports, ["high", "low"]) == [
        "pkg.high.b:1 imports pkg.low.a (high is below low)"
    ]
    assert upward_imports(imports, ["low"])[0].endswith("layer not in the doc")


def test_the_layer_list_is_read_from_the_numbered_lines_only(tmp_path: Path) -> None:
    doc = tmp_path / "a.md"
    doc.write_text("# x\n\n1. `core` — a\n2. `config` — b\n- `not` a layer\n10. `cli` — c\n")
    assert layer_order(doc) == ["core", "config", "cli"]
