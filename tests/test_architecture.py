"""The package's shape: no import cycles, no module ``__getattr__``, no borrowed private names;
the list pipeline needs only an endpoint; no module grows past what one person can read."""

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
    is_package = (PACKAGE.parent / name.replace(".", "/")).is_dir()
    package = name if is_package else name.rsplit(".", 1)[0]
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


def _reachable(start: str, modules: dict[str, ast.Module]) -> set[str]:
    """Every module of the package that importing ``start`` runs (its imports' imports…)."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        name = todo.pop()
        for target, _ in _imports(name, modules[name]):
            if target in modules and target not in seen and target != "cpexplore":
                seen.add(target)
                todo.append(target)
    return seen


def test_the_list_pipeline_reaches_neither_the_session_nor_http():
    modules = _modules()
    pipeline = [name for name in modules if name.startswith("cpexplore.lists")]
    assert len(pipeline) > 5
    for name in pipeline:
        reached = _reachable(name, modules)
        assert not reached & {"cpexplore.session", "cpexplore.http", "cpexplore.endpoint"}, (
            name,
            sorted(reached),
        )


def test_the_session_stays_short_and_no_module_passes_a_thousand_lines():
    lines = {p: len(p.read_text().splitlines()) for p in PACKAGE.rglob("*.py")}
    assert lines[PACKAGE / "session.py"] < 400
    allowed = {PACKAGE / "schema.py", PACKAGE / "sandbox" / "inventory.py"}
    assert [p.name for p, n in lines.items() if n > 1000 and p not in allowed] == []
