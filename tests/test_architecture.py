"""How xlplan is put together: rules about which module may do what, checked on the source."""

from __future__ import annotations

import ast
import re
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
    assert offenders == [], "SQL outside xlplan/ledger.py; give the Ledger a method instead:\n" + "\n".join(offenders)
