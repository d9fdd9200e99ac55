"""No shared code speaks one kind of return's or one body's language.

The rule the test enforces, over every module of the xlplan package (templates/ and
the samples' data are where those words belong, and are not scanned):

- A **string literal** (any text the program may show or write) never contains
  "Big Action", "sponsor", "RAG", "SPG" or "implementation plan" (any case), except
  where the literal names a stable public interface that predates the words and cannot
  change (CHANGELOG: interfaces change only additively): a command-line option or
  command (``--spg-date``, ``--sponsor``, ``email spg``, and anything in backticks, which
  is a command to type), a plain identifier (a dict key or ledger field such as
  ``sponsor`` or ``spg_date``), an SQL statement (ledger column names), and the
  plan.xlsx headings and built-in names in ``STABLE`` below.
- **Docstrings and comments** are never shown to anyone using xlplan; they may mention
  these words, as examples of what a template or a plan says.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import xlplan

WORDS = re.compile(r"big action|sponsor|\brag\b|\bspg\b|implementation[ -]plan", re.IGNORECASE)
# Names an officer's existing plan.xlsx or ledger already holds: headings on its Settings and
# Decisions sheets, the built-in template a plan without a 'Template' setting uses, and the
# kinds of plan change stored in every ledger's log since version 1.
STABLE = (
    "SPG email",
    "SPG date",
    "SPG decision",
    "email spg",  # a command (the lock names the command that holds it)
    "implementation-plan",
    "sponsor replaced",
    "sponsor removed",
    "sponsor added",
    "sponsor changed",
)
INTERFACE = re.compile(r"`[^`]*`|--[a-z][a-z-]*|\b[a-z]+(?:_[a-z]+)+\b")
SQL = re.compile(r"^\s*(CREATE|SELECT|INSERT|UPDATE|DELETE|ALTER|WITH)\b")
PACKAGE = Path(xlplan.__file__).parent


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def offending(source: str) -> list[tuple[int, str]]:
    """The string literals of `source` (docstrings aside) that name the words, with their lines."""
    tree = ast.parse(source)
    docs = _docstrings(tree)
    out = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str)) or id(node) in docs:
            continue
        text = node.value
        if SQL.match(text) or re.fullmatch(r"[a-z_]+", text):
            continue
        for name in STABLE:
            text = text.replace(name, "")
        text = INTERFACE.sub("", text)
        if WORDS.search(text):
            out.append((node.lineno, node.value))
    return out


def test_the_rule_catches_what_it_should() -> None:
    """The scanner itself: text is caught, the stable interfaces and docstrings are not."""
    source = '''
"""A module about the SPG and its sponsors."""
def f():
    """Docstring naming a Big Action."""
    a = "the SPG meets on"
    b = f"Sponsor {x}"
    c = "your implementation plan return"
    d = "a RAG status"
    e = "Give --spg-date or run `xlplan email spg`."
    g = {"sponsor": 1, "spg_date": 2}
    h = "CREATE TABLE t (sponsor TEXT)"
    i = "fill in 'SPG email' on the Settings sheet"
    j = "Fragile"  # "rag" only as a whole word
'''
    assert sorted(line for line, _ in offending(source)) == [5, 6, 7, 8]


def test_no_shared_code_names_one_kind_of_return_or_one_body() -> None:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent)
        if "samples" in rel.parts or "templates" in rel.parts:
            continue
        found += [f"{rel}:{line}: {text[:90]!r}" for line, text in offending(path.read_text(encoding="utf-8"))]
    assert found == [], "Words that belong in a template or the plan's Settings:\n" + "\n".join(found)
