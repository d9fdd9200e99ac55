"""Excel's own limits in everything xlplan writes (excel-pitfalls.md 17-20; issue 17).

LibreOffice, openpyxl and calamine accept files that break these without a word, so
they are checked here on the XML itself: no cell over 32,767 UTF-16 units, every string
literal in a formula well formed (quotes doubled), number formats with their literal
characters escaped, and a range of one cell written as that cell.
"""

from __future__ import annotations

import re
import zipfile
from html import unescape
from pathlib import Path

import pytest
from conftest import SETTINGS, SPONSORS, make_plan_folder
from helpers import CLEAN, CYCLE, HELEN, SPG, TODAY, copy_env, describe, one, only

from xlplan.collect import collect
from xlplan.errors import TemplateError
from xlplan.generate import generate
from xlplan.look import cell_range, formula_string, inline_list, number_format
from xlplan.plan import load_plan
from xlplan.plan_workbook import init_folder
from xlplan.sheetxml import CELL_LIMIT
from xlplan.template_load import parse_template

ROOT = Path(__file__).resolve().parent.parent
_TEXT = re.compile(rb"<(?:\w+:)?t(?:\s[^>]*)?>([^<]*)</(?:\w+:)?t>")
_FORMULA = re.compile(rb"<(?:\w+:)?(?:f|formula|formula1|formula2)(?:\s[^>]*)?>([^<]*)</")
_NUM_FORMAT = re.compile(rb'formatCode="([^"]*)"')
_RANGE = re.compile(rb'\b(?:sqref|ref)="([^"]*)"')
_AFTER_LITERAL = set(",);&=<>+-*/^:% ")


def literals_well_formed(formula: str) -> bool:
    """Every "..." in `formula` ends where it should: a quote inside is doubled, and a
    literal is followed by an operator, a separator or the end (never by more text)."""
    i = 0
    while i < len(formula):
        if formula[i] != '"':
            i += 1
            continue
        i += 1
        while True:
            end = formula.find('"', i)
            if end < 0:
                return False  # never closed
            if formula.startswith('""', end):
                i = end + 2
                continue
            i = end + 1
            break
        if i < len(formula) and formula[i] not in _AFTER_LITERAL:
            return False
    return True


def format_escaped(code: str) -> bool:
    """No literal non-ASCII character in a number format outside quotes or an escape."""
    code = re.sub(r'"[^"]*"|\\.', "", code)
    return code.isascii()


def limits_broken(path: Path) -> list[str]:
    """What in the workbook at `path` breaks one of Excel's limits."""
    found = []
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if not name.endswith(".xml"):
                continue
            xml = archive.read(name)
            for raw in _TEXT.findall(xml):
                text = unescape(raw.decode("utf-8"))
                units = len(text.encode("utf-16-le", "surrogatepass")) // 2
                if units > CELL_LIMIT:
                    found.append(f"{path.name}:{name}: a text of {units:,} UTF-16 units")
            for raw in _FORMULA.findall(xml):
                formula = unescape(raw.decode("utf-8"))
                if not literals_well_formed(formula):
                    found.append(f"{path.name}:{name}: formula {formula[:80]!r}")
            for raw in _NUM_FORMAT.findall(xml):
                code = unescape(raw.decode("utf-8"))
                if not format_escaped(code):
                    found.append(f"{path.name}:{name}: number format {code!r}")
            for raw in _RANGE.findall(xml):
                for part in raw.decode().split():
                    first, _, last = part.partition(":")
                    if last and first == last:
                        found.append(f"{path.name}:{name}: range {part}")
    return found


def test_the_checks_catch_what_they_look_for() -> None:
    assert literals_well_formed('"On ""hold"""') and literals_well_formed('=A1="Red"')
    assert not literals_well_formed('"On "hold""') and not literals_well_formed('"Red,On "hold",Blue"')
    assert format_escaped("#,##0;-#,##0;\\\u2013") and format_escaped('0;"\u2013"')
    assert not format_escaped("#,##0;-#,##0;\u2013")


def test_the_helpers_in_look() -> None:
    assert formula_string('On "hold"') == '"On ""hold"""'
    assert inline_list(["Red", 'On "hold"']) == '"Red,On ""hold"""'
    assert inline_list(["Red", "On hold, funding"]) is None
    assert inline_list(["x" * 200, "y" * 60]) is None
    assert number_format("#,##0;-#,##0;\u2013") == "#,##0;-#,##0;\\\u2013"
    assert number_format('0 "\u2013"') == '0 "\u2013"'
    assert cell_range(4, 8, 4, 8) == "I5" and cell_range(4, 8, 6, 8) == "I5:I7"


def test_no_workbook_xlplan_writes_breaks_excels_limits(built_demo: Path, tmp_path: Path) -> None:
    """Sponsors' workbooks, annotated copies, the master tracker and plan.xlsx: the demo has them all."""
    written = sorted(p for p in built_demo.rglob("*.xlsx") if "returns" not in p.parts and "archive" not in p.parts)
    kinds = {p.parent.name for p in written}
    assert any("PLEASE FIX" in p.name for p in written), written  # an annotated copy is among them
    assert len(written) > 5, kinds
    init_folder(tmp_path / "new", "implementation-plan")
    written.append(tmp_path / "new" / "plan.xlsx")
    assert [hit for path in written for hit in limits_broken(path)] == []


def test_a_note_of_20000_emoji_is_too_long_as_excel_counts(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    env = copy_env(tmp_path_factory, tmp_path / "plan")
    values = {ref: dict(v) for ref, v in CLEAN[HELEN].items()}
    values["BA1.03"]["comments"] = "\U0001f600" * 20_000  # 20,000 characters, 40,000 UTF-16 units
    env.fill(HELEN, values)
    out = only(env.collect(render=True))
    assert out.status == "quarantined", describe(out)
    issue = one(out, "too-long")
    assert issue.where == "Actions!N7"
    assert issue.message == ("BA1.03: Comments / risks is 40,000 characters; the limit is 32,767. Please shorten it.")
    assert [i.code for i in out.report.errors] == ["too-long"]
    fixes = sorted(env.folder.feedback_dir(CYCLE).glob("*.xlsx"))
    assert fixes and [hit for path in fixes for hit in limits_broken(path)] == []


def _template_with(value: str) -> str:
    text = (ROOT / "templates" / "implementation-plan.yaml").read_text(encoding="utf-8")
    return text.replace(
        "      - {value: Grey,",
        f'      - {{value: \'{value}\', fill: "#CCCCCC", font: "#000000"}}\n      - {{value: Grey,',
    )


def test_a_choice_with_a_comma_is_refused_when_the_template_is_loaded() -> None:
    with pytest.raises(TemplateError, match="contains a comma: Excel's dropdown lists split values at commas"):
        parse_template(_template_with("On hold, funding"), "templates/implementation-plan.yaml")


def test_a_choice_with_quotes_is_written_with_its_quotes_doubled(tmp_path: Path) -> None:
    folder = make_plan_folder(tmp_path / "plan", settings=SETTINGS, sponsors=SPONSORS)
    (folder.root / "templates").mkdir()
    (folder.root / "templates" / "implementation-plan.yaml").write_text(_template_with('On "hold"'), encoding="utf-8")
    plan = load_plan(folder)
    assert 'On "hold"' in plan.template.choices["rag"].names
    generate(plan, CYCLE, spg_date=SPG, deadline=None)
    sent = folder.outgoing_dir(CYCLE) / f"{CYCLE} return - {HELEN}.xlsx"
    assert limits_broken(sent) == []
    with zipfile.ZipFile(sent) as archive:
        sheet = b"".join(archive.read(n) for n in archive.namelist() if n.startswith("xl/worksheets/sheet"))
    assert b"&quot;On &quot;&quot;hold&quot;&quot;&quot;" in sheet or b'"On ""hold"""' in sheet
    assert b'"Red,Amber,Green,On ""hold"",Grey,Blue"' in sheet.replace(b"&quot;", b'"')
    result = collect(plan, today=TODAY, render=False)
    assert result.outcomes == []
