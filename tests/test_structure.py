"""The package's import graph keeps its shape: no cycles, imports point down.

Every module of `src/miningtx` is parsed with `ast` (nothing is imported, so a module
with side effects cannot hide an edge). Each `import miningtx.x` and `from miningtx.x
import y` (and relative form) is an edge to `miningtx.x`, or to `miningtx.x.y` when `y`
is a submodule. Imports under `if TYPE_CHECKING:` count too: they are dependencies of
the code's meaning even though they do not run, and excluding them is how a domain used
to reach `miningtx.worker` for its `WorkerContext` type without the graph showing it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"
PACKAGE = "miningtx"
#: Packages that hold business rules; none may import the process entry points.
DOMAINS = (
    "customers",
    "mining",
    "staking",
    "wallet",
    "partners",
    "webhooks",
    "solvency",
    "audit",
    "pools",
    "adjustments",
    "dashboard",
)
#: Packages below or beside the domains that must not reach up into a process module.
LOWER = ("ledger", "kit", "models")
ENTRY_POINTS = ("miningtx.worker", "miningtx.cli", "miningtx.app")
#: The one module allowed to import inside functions: it keeps `mtx --help` fast.
LAZY_IMPORTS_ALLOWED = ("miningtx.cli",)


@dataclass(frozen=True)
class Import:
    """One import of a miningtx module, where it is written and how."""

    source: str
    target: str
    line: int
    in_function: bool


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def all_modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted((SRC / PACKAGE).rglob("*.py"))}


def _resolve_relative(source: str, is_package: bool, level: int, name: str | None) -> str:
    base = source.split(".") if is_package else source.split(".")[:-1]
    if level > 1:
        base = base[: -(level - 1)]
    return ".".join([*base, *([name] if name else [])])


def _targets(
    node: ast.Import | ast.ImportFrom, source: str, is_package: bool, modules: set[str]
) -> Iterator[str]:
    """The miningtx modules an import statement loads (a submodule when it names one)."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name == PACKAGE or alias.name.startswith(PACKAGE + "."):
                yield alias.name
        return
    if node.level:
        base = _resolve_relative(source, is_package, node.level, node.module)
    else:
        base = node.module or ""
    if base != PACKAGE and not base.startswith(PACKAGE + "."):
        return
    for alias in node.names:
        submodule = f"{base}.{alias.name}"
        yield submodule if submodule in modules else base


class _ImportVisitor(ast.NodeVisitor):
    def __init__(self, source: str, is_package: bool, modules: set[str]) -> None:
        self.source = source
        self.is_package = is_package
        self.modules = modules
        self.depth = 0
        self.found: list[Import] = []

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = _function
    visit_AsyncFunctionDef = _function
    visit_Lambda = _function

    def _import(self, node: ast.Import | ast.ImportFrom) -> None:
        for target in _targets(node, self.source, self.is_package, self.modules):
            self.found.append(Import(self.source, target, node.lineno, self.depth > 0))

    visit_Import = _import
    visit_ImportFrom = _import


def all_imports() -> list[Import]:
    modules = all_modules()
    names = set(modules)
    found: list[Import] = []
    for name, path in modules.items():
        visitor = _ImportVisitor(name, path.name == "__init__.py", names)
        visitor.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
        found.extend(visitor.found)
    return found


def graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {name: set() for name in all_modules()}
    for imp in all_imports():
        if imp.target != imp.source:
            edges[imp.source].add(imp.target)
    return edges


def strongly_connected(edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative: every group of modules that import each other."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    groups: list[list[str]] = []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    group: list[str] = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == node:
                            break
                    if len(group) > 1:
                        groups.append(sorted(group))
                continue
            if child not in edges:
                continue
            if child not in index:
                index[child] = low[child] = counter
                counter += 1
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(edges[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return groups


def a_cycle(group: list[str], edges: dict[str, set[str]]) -> list[str]:
    """One concrete cycle through the group's first module, as a path that closes."""
    members = set(group)
    start = group[0]
    paths = [[start]]
    seen = {start}
    while paths:
        path = paths.pop(0)
        for child in sorted(edges[path[-1]] & members):
            if child == start:
                return [*path, start]
            if child not in seen:
                seen.add(child)
                paths.append([*path, child])
    return group


def in_package(module: str, packages: tuple[str, ...]) -> bool:
    return any(
        module == f"{PACKAGE}.{package}" or module.startswith(f"{PACKAGE}.{package}.")
        for package in packages
    )


def test_the_graph_sees_the_imports_it_should() -> None:
    """The parser resolves submodules and packages, so an empty result means something."""
    edges = graph()
    assert "miningtx.kit.jobs" in edges["miningtx.worker"]
    assert "miningtx.webhooks.outbox" in edges["miningtx.staking.service"]
    assert "miningtx.models" in edges["miningtx.staking.service"]


def test_no_import_cycles() -> None:
    edges = graph()
    cycles = [" -> ".join(a_cycle(group, edges)) for group in strongly_connected(edges)]
    assert cycles == [], "import cycles:\n" + "\n".join(cycles)


def test_no_package_below_the_process_modules_imports_them() -> None:
    wrong = [
        f"{imp.source}:{imp.line} imports {imp.target}"
        for imp in all_imports()
        if in_package(imp.source, DOMAINS + LOWER) and imp.target in ENTRY_POINTS
    ]
    assert wrong == []


def test_the_ledger_the_kit_and_the_models_import_no_domain() -> None:
    wrong = [
        f"{imp.source}:{imp.line} imports {imp.target}"
        for imp in all_imports()
        if in_package(imp.source, LOWER) and in_package(imp.target, DOMAINS)
    ]
    assert wrong == []


def test_no_miningtx_import_inside_a_function() -> None:
    wrong = [
        f"{imp.source}:{imp.line} imports {imp.target}"
        for imp in all_imports()
        if imp.in_function and imp.source not in LAZY_IMPORTS_ALLOWED
    ]
    assert wrong == []


def test_the_audit_package_imports_no_other_domain() -> None:
    """Every domain records to the audit log, so it may depend on no domain itself."""
    wrong = [
        f"{imp.source}:{imp.line} imports {imp.target}"
        for imp in all_imports()
        if in_package(imp.source, ("audit",))
        and in_package(imp.target, DOMAINS)
        and not in_package(imp.target, ("audit",))
    ]
    assert wrong == []
