"""House rules that keep the library legible, checked on its source (issue: a house a newcomer can live in)."""

from __future__ import annotations

import ast
from pathlib import Path

LIB = Path(__file__).resolve().parents[1] / "lib"


def _modules() -> dict[str, ast.Module]:
    out = {}
    for p in sorted((LIB / "mktdash").rglob("*.py")):
        name = ".".join(p.relative_to(LIB).with_suffix("").parts).removesuffix(".__init__")
        out[name] = ast.parse(p.read_text(encoding="utf-8"))
    return out


def _imports(tree: ast.Module, modules: dict[str, ast.Module]) -> set[str]:
    """mktdash modules ``tree`` imports anywhere (inside functions too; TYPE_CHECKING blocks included)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("mktdash"):
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in modules else node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("mktdash")}
    return found & set(modules)


def test_no_module_imports_one_that_imports_it_back() -> None:
    modules = _modules()
    graph = {name: _imports(tree, modules) - {name} for name, tree in modules.items()}

    def reaches(start: str, goal: str) -> bool:
        todo, seen = [start], set()
        while todo:
            m = todo.pop()
            if m == goal:
                return True
            if m not in seen:
                seen.add(m)
                todo.extend(graph.get(m, ()))
        return False

    circles = sorted({tuple(sorted((a, b))) for a in graph for b in graph[a] if reaches(b, a)})
    assert circles == [], circles


def test_only_the_warehouse_opens_duckdb() -> None:
    users = sorted(
        name
        for name, tree in _modules().items()
        if any(
            (isinstance(n, ast.Import) and any(a.name == "duckdb" for a in n.names))
            or (isinstance(n, ast.ImportFrom) and n.module == "duckdb")
            for n in ast.walk(tree)
        )
    )
    assert users and all(u.startswith("mktdash.warehouse.") for u in users), users


def test_no_function_is_over_80_lines() -> None:
    long = [
        f"{name}.{n.name}: {n.end_lineno - n.lineno + 1}"  # type: ignore[operator]
        for name, tree in _modules().items()
        for n in ast.walk(tree)
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.end_lineno - n.lineno + 1 > 80  # type: ignore[operator]
    ]
    assert long == [], long
