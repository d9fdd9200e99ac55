"""How xlplan is put together: rules about which module may do what, checked on the source.

Each module owns one concern. An import cycle means two of them share one (and makes
the import order matter); function-level imports count as edges too, as they only delay
the cycle, and so do imports under `if TYPE_CHECKING:`, which say how the modules depend
on each other even if Python never runs them.
"""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import xlplan

PACKAGE = Path(xlplan.__file__).parent
# Statements, as SQL is written: a keyword in capitals, then a space (English text says "Update the ...").
SQL_TEXT = re.compile(r"\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|ALTER|DROP|PRAGMA)\s")
SQL_CALLS = {"execute", "executemany", "executescript"}


def sql_in(path: Path) -> list[str]:
    """Where a module runs SQL: calls of a connection's execute methods, and SQL text in its literals."""
    found: list[tuple[int, str]] = []
    where = path.relative_to(PACKAGE.parent).as_posix()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in SQL_CALLS:
            found.append((node.lineno, f"{where}:{node.lineno} calls .{node.func.attr}()"))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL_TEXT.match(node.value):
            found.append((node.lineno, f"{where}:{node.lineno} has SQL {node.value.strip()[:40]!r}"))
    return [text for _line, text in sorted(found)]


def owns_the_database(path: Path) -> bool:
    """The ledger module, or the ledger package should it become one."""
    first = path.relative_to(PACKAGE).parts[0]
    return first in ("ledger.py", "ledger")


def test_only_the_ledger_runs_sql() -> None:
    modules = sorted(PACKAGE.rglob("*.py"))  # subpackages too
    # The check finds what it looks for: the ledger itself is full of SQL (and has not moved).
    assert any(sql_in(p) for p in modules if owns_the_database(p)), "no SQL found in the ledger: update this test"
    offenders = [hit for path in modules if not owns_the_database(path) for hit in sql_in(path)]
    assert offenders == [], "SQL outside xlplan/ledger/; give the Ledger a method instead:\n" + "\n".join(offenders)


# --- imports ------------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]


def _package_dirs() -> dict[str, Path]:
    """xlplan's folder, and the subpackages pyproject.toml maps from elsewhere (xlplan.samples: samples/)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    mapped = config["tool"]["setuptools"].get("package-dir", {})
    return {"xlplan": ROOT / "xlplan", **{name: ROOT / folder for name, folder in mapped.items()}}


def _sources() -> dict[str, tuple[Path, ast.Module]]:
    """Every module of the package: dotted name -> (file, syntax tree)."""
    out = {}
    for package, folder in _package_dirs().items():
        for path in sorted(folder.rglob("*.py")):
            parts = [package, *path.relative_to(folder).with_suffix("").parts]
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            out[name] = (path, ast.parse(path.read_text(encoding="utf-8"), str(path)))
    return out


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool, modules: set[str]) -> set[str]:
    """The modules an import statement loads: `from a import b` is a.b when a.b is a
    module (`from xlplan import render`), and a otherwise (`from xlplan import __version__`)."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names}
    base = node.module or ""
    if node.level:  # relative: from the module's own package, then up
        package = module.split(".") if is_package else module.split(".")[:-1]
        anchor = package[: len(package) - (node.level - 1)]
        base = ".".join([*anchor, *([base] if base else [])])
    return {f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names}


def _import_graph() -> dict[str, set[str]]:
    """Module -> the xlplan modules it imports anywhere in its body (module or function level)."""
    sources = _sources()
    modules = set(sources)
    graph: dict[str, set[str]] = {name: set() for name in sources}
    for name, (path, tree) in sources.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                targets = _targets(node, name, path.name == "__init__.py", modules)
                graph[name] |= (targets & modules) - {name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (a -> b -> ... -> a) through each group of mutually dependent modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def strongconnect(v: str) -> None:  # Tarjan: the modules are few, recursion is fine
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.add(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(group)

    for v in sorted(graph):
        if v not in index:
            strongconnect(v)
    return [_path_round(graph, group) for group in groups]


def _path_round(graph: dict[str, set[str]], group: set[str]) -> list[str]:
    """A shortest cycle through the group's first module, found breadth first."""
    start = min(group)
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for v in frontier:
            for w in sorted(graph[v] & group):
                if w == start:
                    path = [v]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return [start, *reversed(path[:-1]), start]
                if w not in came_from:
                    came_from[w] = v
                    following.append(w)
        frontier = following
    return sorted(group)  # unreachable for a strongly connected group


def test_no_import_cycle() -> None:
    cycles = _cycles(_import_graph())
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(cycle) for cycle in cycles)


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e"}}
    assert _cycles(graph) == [["a", "b", "c", "a"]]  # a module importing itself is not a cycle here


def test_the_graph_sees_function_level_and_package_imports() -> None:
    graph = _import_graph()
    assert "xlplan.ooxml" in graph["xlplan.sheetxml"]
    assert "xlplan.master" in graph["xlplan.collect"]  # a package, imported inside _render
    assert "xlplan.ratings" in graph["xlplan.cli.reporting"]  # `from xlplan import ratings`, inside a command
    assert "xlplan" in graph["xlplan.cli"]  # `from xlplan import __version__`
    assert "xlplan.cli.shared" in graph["xlplan.cli.cycle"]  # a module of a subpackage
    assert "xlplan.samples.sponsor" in graph["xlplan.samples.build"]  # a package mapped from samples/


def test_library_never_imports_click() -> None:
    """Only the command line knows about click: the library raises its own errors."""
    offenders = []
    for name, (path, tree) in _sources().items():
        if name == "xlplan.cli" or name.startswith("xlplan.cli."):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                if any(m == "click" or m.startswith("click.") for m in modules) and not getattr(node, "level", 0):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offenders, f"click imported outside xlplan/cli/: {', '.join(offenders)}"


# --- the README's module table ------------------------------------------------------------

_TABLE_ROW = re.compile(r"^\| `([^`]+)` \|(.+)\|$")


def _readme_modules() -> dict[str, str]:
    """The README's "For developers" table: file (relative to xlplan/) -> what it owns."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## For developers\n", 1)[1].split("\n## ", 1)[0]
    table = section.split("| module | owns |", 1)[1].split("\n\n", 1)[0]
    rows = [_TABLE_ROW.match(line) for line in table.splitlines()[2:]]  # past the header's rule
    assert all(rows), "a row of the README's module table is not | `file` | owns |"
    return {m.group(1): m.group(2).strip() for m in rows if m}


def test_readme_module_table_lists_every_module_file() -> None:
    """Every module under xlplan/ has a row saying what it owns, and every row names a file that exists."""
    listed = _readme_modules()
    files = {p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py")}
    assert sorted(files - set(listed)) == [], "modules missing from the README's 'For developers' table"
    assert sorted(set(listed) - files) == [], "rows of the README's 'For developers' table name no file"
    assert all(listed.values()), "a row of the README's module table says nothing"


# --- the size of a module -----------------------------------------------------------------

MAX_MODULE_LINES = 600  # a module over this owns more than one concern: split it (issue 12)


def test_no_module_is_over_600_lines() -> None:
    """A newcomer finds the room for a change from the file names: no module grows into several rooms."""
    sizes = {
        p.relative_to(ROOT).as_posix(): len(p.read_text(encoding="utf-8").splitlines()) for p in PACKAGE.rglob("*.py")
    }
    assert sizes, "no module found: update this test"
    over = {path: n for path, n in sorted(sizes.items()) if n > MAX_MODULE_LINES}
    assert not over, f"modules over {MAX_MODULE_LINES} lines (split each by concern): {over}"
