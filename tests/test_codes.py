"""The catalogue of issue codes (xlplan/codes.py): complete, documented, and the only source of codes."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import get_args

import orjson
import pytest

import xlplan
from xlplan.codes import BAD_VALUE, FILE_PROBLEM, RULE, Code
from xlplan.issues import Issue, Report
from xlplan.schema import CHOICE_CHECK, LENGTH_CHECK, check_code
from xlplan.sniff import READABLE, SniffKind
from xlplan.template import _RULE_KINDS, _TYPES

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = Path(xlplan.__file__).resolve().parent
DOC = ROOT / "docs" / "bad-returns.md"


def doc_rows() -> list[tuple[str, str, str]]:
    """The rows of the doc's table of codes: (code, severity, meaning)."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Every issue code", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([^`]+)` \| ([^|]+) \| (.+) \|$", section, flags=re.MULTILINE)
    return [(code, severity.strip(), meaning.strip()) for code, severity, meaning in rows]


def test_the_doc_lists_every_code_with_its_severity_and_meaning() -> None:
    expected = [(c.value, c.severity, c.meaning) for c in Code]
    table = "\n".join(f"| `{c}` | {s} | {m} |" for c, s, m in expected)
    assert doc_rows() == expected, f"docs/bad-returns.md should list, under '## Every issue code':\n{table}"


def test_every_code_is_its_own_and_says_what_it_means() -> None:
    assert len(Code.__members__) == len(Code)  # a repeated string would silently make an alias
    for code in Code:
        assert re.fullmatch(r"[a-z]+([-_][a-z]+)*", code.value), code
        assert code.severities and set(code.severities) <= {"error", "warning", "note"}, code
        assert code.meaning.endswith(".") and "\n" not in code.meaning, code


def test_a_code_is_its_public_string() -> None:
    """Scripts compare codes as text, and --json and the ledger write them as text."""
    report = Report("f.xlsx")
    report.error("wrong cycle", code=Code.WRONG_CYCLE)
    issue = report.issues[0].as_dict()
    assert issue["code"] == "wrong-cycle"
    assert json.loads(json.dumps(issue))["code"] == "wrong-cycle"
    assert orjson.loads(orjson.dumps(issue))["code"] == "wrong-cycle"
    assert f"{Code.WRONG_CYCLE}" == str(Code.WRONG_CYCLE) == "wrong-cycle"


def test_the_lookups_cover_every_kind_they_are_asked_about() -> None:
    assert set(FILE_PROBLEM) == set(get_args(SniffKind)) - set(READABLE)
    assert {c.value for c in FILE_PROBLEM.values()} == {f"file-{kind}" for kind in FILE_PROBLEM}
    assert set(RULE) == _RULE_KINDS
    assert all(code.value == kind and code.severities == ("error", "warning") for kind, code in RULE.items())
    assert set(BAD_VALUE) == {"date", "number"} < _TYPES  # text and choices are never unreadable
    assert all(code.value == f"bad-{kind}" for kind, code in BAD_VALUE.items())


@pytest.mark.parametrize(
    ("check", "code"),
    [
        (CHOICE_CHECK, Code.BAD_CHOICE),
        ("isin(['Red', 'Amber'])", Code.BAD_CHOICE),
        (LENGTH_CHECK, Code.TOO_LONG),
        ("str_length(None, 500)", Code.TOO_LONG),
        ("not_nullable", Code.REQUIRED),
        ("rule3", Code.FAILED_CHECK),  # a rule's check: validate gives it its rule's code first
        ("column_in_dataframe", Code.FAILED_CHECK),
    ],
)
def test_pandera_check_names_map_to_codes_with_a_fallback(check: str, code: Code) -> None:
    assert check_code(check) is code


def _literal_codes(path: Path) -> list[str]:
    """Places in a module where an issue's code is written as text rather than a `Code`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        for kw in node.keywords:
            if kw.arg == "code" and isinstance(kw.value, ast.Constant | ast.JoinedStr | ast.BinOp):
                found.append(f"{path.name}:{node.lineno}: code={ast.unparse(kw.value)}")
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
        if name == "Issue" and len(node.args) >= 10:  # code is the tenth field
            found.append(f"{path.name}:{node.lineno}: Issue(...) with a positional code")
    return found


def test_no_issue_is_made_with_a_code_written_as_text() -> None:
    modules = sorted(PACKAGE.rglob("*.py"))
    assert len(modules) > 20
    assert [hit for path in modules for hit in _literal_codes(path)] == []


def test_the_scan_finds_a_code_written_as_text(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        'report.error("x", code="wrong-cycle")\nreport.note("y", code=f"bad-{kind}")\nreport.note("z", code=Code.ODS)\n'
    )
    assert _literal_codes(bad) == ["bad.py:1: code='wrong-cycle'", "bad.py:2: code=f'bad-{kind}'"]


def test_an_issue_read_back_gets_its_code_or_keeps_text_this_version_does_not_know() -> None:
    """Issues come back from the ledger's returns log (Issue.from_dict): a catalogued code as
    its `Code`, anything else (an older version's) as the text it was, never an error."""
    report = Report("f.xlsx")
    report.warning("late", code=Code.OVERDUE, sheet="Actions", cell="K5")
    written = orjson.loads(orjson.dumps(report.issues[0].as_dict()))
    again = Issue.from_dict(written)
    assert again == report.issues[0] and again.code is Code.OVERDUE
    assert Issue.from_dict(written | {"code": "some-old-code"}).code == "some-old-code"
    assert Issue.from_dict({k: v for k, v in written.items() if k != "code"}).code == ""
