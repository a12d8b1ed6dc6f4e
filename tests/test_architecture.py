"""The package's shape: no import cycles, no module ``__getattr__``, no borrowed private names."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "cpexplore"


def _modules() -> dict[str, ast.Module]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        name = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        out[name.removesuffix(".__init__")] = ast.parse(path.read_text(), str(path))
    return out


def _type_only(tree: ast.Module) -> set[int]:
    """The ids of import nodes under ``if TYPE_CHECKING:`` (for annotations, never run)."""
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            out.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    return out


def _imports(name: str, tree: ast.Module) -> list[tuple[str, list[str]]]:
    """(module imported, names taken from it) for every import inside the package that
    runs (imports for type annotations only cannot make a cycle)."""
    skip = _type_only(tree)
    package = (
        name
        if name.endswith("cpexplore") or name == "cpexplore.sandbox"
        else name.rsplit(".", 1)[0]
    )
    found = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package
                for _ in range(node.level - 1):
                    base = base.rsplit(".", 1)[0]
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            if target.startswith("cpexplore"):
                found.append((target, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            found += [(a.name, []) for a in node.names if a.name.startswith("cpexplore")]
    return found


def test_no_import_cycles():
    modules = _modules()
    graph = {
        name: {t for t, _ in _imports(name, tree) if t in modules and t != name}
        for name, tree in modules.items()
    }
    for name in graph:  # the package's __init__ re-exports; it may import anything
        graph[name].discard("cpexplore")
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                raise AssertionError(" → ".join([*path, node, nxt]))
            if nxt not in state:
                visit(nxt, [*path, node])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [])


def test_no_module_getattr_and_no_private_names_borrowed():
    for name, tree in _modules().items():
        defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
        assert "__getattr__" not in defined, name
        for target, names in _imports(name, tree):
            borrowed = [n for n in names if n.startswith("_") and not n.startswith("__")]
            assert not borrowed, f"{name} imports {borrowed} from {target}"


def test_the_sandbox_imports_nothing_of_the_client_but_signing():
    for name, tree in _modules().items():
        if not name.startswith("cpexplore.sandbox"):
            continue
        for target, _ in _imports(name, tree):
            assert target.startswith("cpexplore.sandbox") or target == "cpexplore.signing", (
                name,
                target,
            )
