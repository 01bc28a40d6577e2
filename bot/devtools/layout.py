"""The shape of the code, measured: import cycles inside the core, the direction of the
arrows between feature packages, who imports a transport, module and function sizes.
A test asserts the rules (tests/unit/test_layout.py); `python -m bot.devtools.layout`
prints the figures.

An import counts wherever it stands (a function-local import is still a dependency), except
under `if TYPE_CHECKING:`, which never runs."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "plugins")
SHARED_FEATURE_MODULES = ("common", "models", "migrations")  # plugins/<these> are shared


@dataclass
class Module:
    name: str
    path: Path
    lines: int
    imports: set[str] = field(default_factory=set)
    long_functions: list[tuple[str, int]] = field(default_factory=list)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, here: str, is_package: bool, known: set[str]) -> Iterator[str]:
    """Module names imported by `tree`, resolved to the deepest known module."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, here, is_package)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                yield candidate if candidate in known else base
        stack.extend(ast.iter_child_nodes(node))


def _absolute(node: ast.ImportFrom, here: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    parts = here.split(".")
    keep = len(parts) - node.level + (1 if is_package else 0)
    base = ".".join(parts[:keep])
    return f"{base}.{node.module}" if node.module else base


def _long_functions(tree: ast.AST, limit: int) -> list[tuple[str, int]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length > limit:
                found.append((node.name, length))
    return found


def scan(function_limit: int = 60) -> dict[str, Module]:
    paths = [
        p
        for pkg in PACKAGES
        for p in sorted((ROOT / pkg).rglob("*.py"))
        if "__pycache__" not in p.parts
    ]
    modules = {module_name(p): p for p in paths}
    known = set(modules)
    found: dict[str, Module] = {}
    for name, path in modules.items():
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source, str(path))
        mod = Module(name, path, source.count("\n"))
        for imported in _imports(tree, name, path.name == "__init__.py", known):
            while imported and imported not in known and "." in imported:
                imported = imported.rsplit(".", 1)[0]
            if imported in known and imported != name:
                mod.imports.add(imported)
        mod.long_functions = _long_functions(tree, function_limit)
        found[name] = mod
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    result: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                result.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return result


def feature_of(module: str) -> str | None:
    """`plugins.incidents.service` -> `incidents`; shared plugin modules -> None."""
    parts = module.split(".")
    if parts[0] != "plugins" or len(parts) < 2 or parts[1] in SHARED_FEATURE_MODULES:
        return None
    return parts[1]


def core_graph(modules: dict[str, Module]) -> dict[str, set[str]]:
    return {
        n: {i for i in m.imports if i.startswith("bot")}
        for n, m in modules.items()
        if n.startswith("bot")
    }


def feature_graph(modules: dict[str, Module]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for name, mod in modules.items():
        mine = feature_of(name)
        if mine is None:
            continue
        others = {feature_of(i) for i in mod.imports} - {None, mine}
        graph.setdefault(mine, set()).update(o for o in others if o is not None)
    return graph


def violations(modules: dict[str, Module]) -> list[str]:
    """Imports that break a layout rule, one line each."""
    found = []
    for name, mod in sorted(modules.items()):
        for imported in sorted(mod.imports):
            if name.startswith("bot") and imported.startswith("plugins"):
                found.append(f"{name} imports {imported}: the core knows nothing of features")
            if name.startswith("plugins") and imported.startswith("bot.transports"):
                found.append(f"{name} imports {imported}: plugins never import a transport")
            mine, theirs = feature_of(name), feature_of(imported)
            if theirs and theirs != mine and imported.split(".")[-1] == "commands":
                found.append(f"{name} imports {imported}: use its service or views instead")
    return found


def report() -> str:
    modules = scan()
    sized = sorted(
        (m for m in modules.values() if "migrations" not in m.name),
        key=lambda m: m.lines,
        reverse=True,
    )
    long_functions = sorted(
        (
            (f"{m.name}.{fn}", n)
            for m in modules.values()
            if "migrations" not in m.name
            for fn, n in m.long_functions
        ),
        key=lambda item: -item[1],
    )
    lines = [
        f"modules: {len(modules)}; largest: " + ", ".join(f"{m.name} {m.lines}" for m in sized[:5]),
        f"modules over 400 lines: {sum(m.lines > 400 for m in sized)}",
        f"functions over 60 lines: {len(long_functions)}"
        + (": " + ", ".join(f"{n} {k}" for n, k in long_functions) if long_functions else ""),
        f"import cycles in bot/: {cycles(core_graph(modules)) or 'none'}",
        f"cycles between feature packages: {cycles(feature_graph(modules)) or 'none'}",
        "feature arrows: "
        + "; ".join(
            f"{f} -> {', '.join(sorted(d)) or '(none)'}"
            for f, d in sorted(feature_graph(modules).items())
        ),
        f"rule violations: {violations(modules) or 'none'}",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(report())
