"""The master tracker: rendered from plan + ledger, reopened with openpyxl and checked."""

from __future__ import annotations

import os
import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from conftest import ACTIONS, MASTER_HEADER, MASTER_SHEETS, SETTINGS, make_plan_folder
from helpers import odd_headers

import xlplan.files
from xlplan.errors import OutputError, UsageError
from xlplan.gaps import Gaps, find_gaps
from xlplan.ledger import Ledger, ReturnRecord
from xlplan.master import MasterLocked, Rendered, fallback_path, render_master
from xlplan.plan import Plan, load_plan
from xlplan.values import days_text

Q2, Q3 = "2025-Q2", "2025-Q3"
AS_OF = date(2025, 9, 20)
DEADLINE = date(2025, 9, 15)
SHEET = "Actions"
FEEDBACK = "Feedback"
HELEN, SHARON, ALLEN = "Helen Watson", "Sharon McAlees", "Allen Stevenson"
BA1 = "Big Action 1: Reducing Inequalities"
BA3 = "Big Action 3: Together we will Protect Our Population"
FORMULA_NOTE = '=HYPERLINK("http://x")'
SHEETS = MASTER_SHEETS
HEADER = MASTER_HEADER

# (cycle, recipient, ref, {field: value}); Allen sends nothing in 2025-Q3.
ROWS: list[tuple[str, str, str, dict[str, Any]]] = [
    (Q2, HELEN, "BA1.01", {"rag": "Green", "progress": "On track", "actual": 1000}),
    (Q2, HELEN, "BA1.02", {"rag": "Amber", "progress": "Drafts written"}),
    (Q2, HELEN, "BA1.03", {"rag": "Grey", "progress": "Not started"}),
    (Q2, SHARON, "BA3.01", {"rag": "Green", "progress": "Consulting"}),
    (Q2, SHARON, "BA3.02", {"rag": "Red", "progress": "No trainers"}),
    (Q2, ALLEN, "BA4.01", {"rag": "Green", "progress": "Procuring"}),
    (Q3, HELEN, "BA1.01", {"rag": "Amber", "progress": "Slightly behind", "actual": 1150}),
    (Q3, HELEN, "BA1.02", {"rag": "Blue", "progress": "Published", "revised_due": "2025-10-31"}),
    (Q3, HELEN, "BA1.03", {"rag": "Grey", "progress": FORMULA_NOTE, "comments": "@cmd"}),
    (Q3, SHARON, "BA3.01", {"rag": "Green", "progress": "+44 7700 900123"}),
    (Q3, SHARON, "BA3.02", {"rag": "Amber", "progress": "-", "actual": 250}),
]
FEEDBACK_ROWS = [
    (HELEN, BA1, {"feedback": "=1+1", "case_study": "@SUM(A1)"}),
    (SHARON, BA3, {"feedback": "Carers value the new helpline."}),
]
# Audit rows (recipient, sheet, ref, field, old, new), one changed field each.
AUDIT = [
    (HELEN, SHEET, "BA1.01", "rag", "Green", "Amber"),
    (HELEN, SHEET, "BA1.02", "revised_due", None, "2025-10-31"),
    (HELEN, SHEET, "BA1.03", "progress", "Not started", FORMULA_NOTE),
    (SHARON, SHEET, "BA3.02", "actual", None, 250),
    (HELEN, FEEDBACK, BA1, "feedback", None, "=1+1"),
    (SHARON, SHEET, "BA3.01", "progress", "Consulting", "+44 7700 900123"),
]


def _sha(who: str, cycle: str) -> str:
    return f"{who.split()[0].lower()}{cycle}".ljust(64, "0")


def _fill_ledger(path: Path) -> None:
    with Ledger(path) as ledger, ledger.transaction():
        for cycle, deadline in ((Q2, date(2025, 6, 15)), (Q3, DEADLINE)):
            issued = [(who, f"{cycle} return - {who}.xlsx", 2) for who in (HELEN, SHARON, ALLEN)]
            ledger.record_cycle(cycle, None, deadline, issued, at=f"{cycle}T09:00:00+01:00")
        returned = [(Q2, HELEN), (Q2, SHARON), (Q2, ALLEN), (Q3, HELEN), (Q3, SHARON)]
        for n, (cycle, who) in enumerate(returned):
            received = f"2025-0{6 + n // 3}-1{n}T10:00:00+01:00"
            ledger.record_return(
                ReturnRecord(_sha(who, cycle), f"{cycle} {who}.xlsx", who, cycle, received, "merged", warnings=n)
            )
        # Each recipient's return whole, as merge writes it: its actions, its feedback, its changes.
        rows: dict[tuple[str, str], dict[tuple[str, str], dict[str, Any]]] = {}
        for cycle, who, ref, values in ROWS:
            rows.setdefault((cycle, who), {})[(SHEET, ref)] = values
        for who, group, values in FEEDBACK_ROWS:
            rows[(Q3, who)][(FEEDBACK, group)] = values
        changes: dict[tuple[str, str], dict[tuple[str, str], dict[str, list[Any]]]] = {}
        for who, sheet, ref, fld, old, new in AUDIT:
            changes.setdefault((Q3, who), {}).setdefault((sheet, ref), {})[fld] = [old, new]
        for (cycle, who), values in rows.items():
            ledger.replace_entries(
                cycle,
                who,
                values,
                return_sha=_sha(who, cycle),
                file=f"{cycle} {who}.xlsx",
                at=f"{cycle}T10:00:00",
                changes=changes.get((cycle, who)),
            )


@pytest.fixture
def plan(tmp_path: Path) -> Plan:
    folder = make_plan_folder(tmp_path / "plan")
    _fill_ledger(folder.ledger_file)
    return load_plan(folder)


def _render(plan: Plan, target: Path | None = None) -> tuple[Rendered, Gaps]:
    with Ledger(plan.folder.ledger_file) as ledger:
        gaps = find_gaps(plan, ledger, Q3, AS_OF)
        return render_master(plan, ledger, Q3, gaps, target), gaps


@pytest.fixture
def master(plan: Plan) -> openpyxl.Workbook:
    rendered, _ = _render(plan)
    assert rendered == Rendered(plan.folder.master_file, fallback=False)
    return openpyxl.load_workbook(rendered.path)


def _table(ws: Any) -> list[dict[str, Any]]:
    """The rows under the header row as {header: cell}."""
    headers = [c.value for c in ws[HEADER]]
    return [
        {h: cell for h, cell in zip(headers, row, strict=False) if h}
        for row in ws.iter_rows(min_row=HEADER + 1)
        if row[0].value is not None
    ]


def _by_ref(ws: Any) -> dict[str, dict[str, Any]]:
    return {row["Ref"].value: row for row in _table(ws)}


def test_sheets_in_order_with_titles(master: openpyxl.Workbook) -> None:
    assert master.sheetnames == SHEETS
    for ws in master:
        assert ws["A1"].value == "Test Strategic Plan: Master tracker, 2025-Q3"
        assert "Rendered " in ws["A2"].value
    assert master.properties.title == "Test Strategic Plan: master tracker 2025-Q3"
    assert master.properties.creator.startswith("xlplan")


def test_current_status_one_row_per_action(master: openpyxl.Workbook) -> None:
    rows = _by_ref(master["Current status"])
    assert list(rows) == ["BA1.01", "BA1.02", "BA1.03", "BA3.01", "BA3.02", "BA4.01"]
    headers = [c.value for c in master["Current status"][HEADER]]
    assert headers[:8] == [
        "Ref",
        "Big Action",
        "Action",
        "Responsible officer",
        "Due date",
        "Measure",
        "Target",
        "Sponsor",
    ]
    last = next(h for h in headers if h and h.startswith("Last RAG"))
    expected = {  # ref: (status, last status, movement, updated)
        "BA1.01": ("Amber", "Green", "worsened", "yes"),
        "BA1.02": ("Blue", "Amber", "improved", "yes"),
        "BA1.03": ("Grey", "Grey", "unchanged", "yes"),
        "BA3.02": ("Amber", "Red", "improved", "yes"),
        # Allen sent nothing this cycle: his last status stands, marked not updated.
        "BA4.01": ("Green", "Green", "not updated", "no"),
    }
    for ref, (status, before, move, updated) in expected.items():
        row = rows[ref]
        got = (
            row["RAG status"].value,
            row[last].value,
            row["Movement"].value,
            row["Updated"].value,
        )
        assert got == (status, before, move, updated), ref
    assert rows["BA1.01"]["Actual"].value == 1150
    assert rows["BA1.01"]["Actual"].data_type == "n"
    assert rows["BA1.02"]["Revised due date"].value == datetime(2025, 10, 31)
    assert rows["BA1.01"]["Due date"].value == datetime(2024, 3, 31)
    assert rows["BA3.01"]["Sponsor"].value == "Sharon McAlees; Allen Stevenson"


def test_status_cells_coloured_from_the_template(master: openpyxl.Workbook) -> None:
    rows = _by_ref(master["Current status"])
    assert rows["BA1.01"]["RAG status"].fill.fgColor.rgb.endswith("FFBF00")  # Amber
    assert rows["BA1.02"]["RAG status"].fill.fgColor.rgb.endswith("0070C0")  # Blue


def test_untrusted_text_stays_text(master: openpyxl.Workbook) -> None:
    rows = _by_ref(master["Current status"])
    progress = rows["BA1.03"]["Progress this period"]
    assert (progress.value, progress.data_type) == (FORMULA_NOTE, "s")
    comments = rows["BA1.03"]["Comments / risks"]
    assert (comments.value, comments.data_type) == ("@cmd", "s")
    assert rows["BA3.01"]["Progress this period"].value == "+44 7700 900123"
    assert rows["BA3.02"]["Progress this period"].value == "-"
    texts = {c.value for ws in master for row in ws.iter_rows() for c in row if c.data_type == "s"}
    assert {"=1+1", "@SUM(A1)", FORMULA_NOTE, "@cmd", "-", "+44 7700 900123"} <= texts
    for ws in master:
        assert not ws._hyperlinks, ws.title
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{ws.title}!{cell.coordinate}"
                assert cell.hyperlink is None


def test_no_formula_or_link_parts_in_the_file(plan: Plan) -> None:
    rendered, _ = _render(plan)
    with zipfile.ZipFile(rendered.path) as z:
        for name in z.namelist():
            body = z.read(name)
            assert b"<f>" not in body and b"<f " not in body, name
            assert b"<hyperlink" not in body, name
            assert b"relationships/hyperlink" not in body, name


def test_trend_has_one_column_per_cycle(master: openpyxl.Workbook) -> None:
    ws = master["Trend"]
    assert [c.value for c in ws[HEADER]] == ["Ref", "Action", Q2, Q3]
    rows = _by_ref(ws)
    assert [rows["BA1.01"][c].value for c in (Q2, Q3)] == ["Green", "Amber"]
    assert [rows["BA4.01"][c].value for c in (Q2, Q3)] == ["Green", None]
    assert rows["BA3.02"][Q2].fill.fgColor.rgb.endswith("E0301E")  # Red


def _sections(ws: Any) -> dict[str, list[list[Any]]]:
    """A sheet of sections (Gaps, Changes) as {heading without its count: [rows, header first]}."""
    out: dict[str, list[list[Any]]] = {}
    current: list[list[Any]] = []
    for row in ws.iter_rows(min_row=HEADER, values_only=True):
        first = row[0]
        if isinstance(first, str) and first.endswith(")") and " (" in first and all(v is None for v in row[1:]):
            current = out.setdefault(first.rsplit(" (", 1)[0], [])
        elif any(v is not None for v in row):
            current.append(list(row))
    return out


def test_changes_since_last_cycle(tmp_path: Path) -> None:
    """Status moves (worsened first), completions and newly overdue actions; no audit dump."""
    # BA4.01 falls due between the two deadlines and Allen sends nothing in 2025-Q3.
    actions = [{**a, "due": date(2025, 8, 31)} if a["ref"] == "BA4.01" else a for a in ACTIONS]
    folder = make_plan_folder(tmp_path / "plan", actions=actions)
    _fill_ledger(folder.ledger_file)
    plan = load_plan(folder)
    rendered, _ = _render(plan)
    ws = openpyxl.load_workbook(rendered.path)["Changes since last cycle"]
    assert (
        "xlplan export audit" in ws["A3"].value
    )  # the full audit trail stays in the ledger (a line of its own, to print)
    sections = _sections(ws)
    assert list(sections) == [
        "RAG status moves since 2025-Q2",
        "Actions completed this cycle (Blue)",
        "Actions newly overdue this cycle",
    ]
    moves = sections["RAG status moves since 2025-Q2"]
    assert moves[0][0].startswith("Worsened first")
    assert "1 worsened, 2 improved, 2 unchanged, 0 new" in moves[0][0]
    assert moves[1][:7] == [
        "Ref",
        "Action",
        "Sponsor",
        "RAG status 2025-Q2",
        "RAG status 2025-Q3",
        "Movement",
        "Progress this period",
    ]
    assert [(r[0], r[3], r[4], r[5]) for r in moves[2:]] == [
        ("BA1.01", "Green", "Amber", "worsened"),
        ("BA1.02", "Amber", "Blue", "improved"),
        ("BA3.02", "Red", "Amber", "improved"),
    ]
    assert moves[2][2] == HELEN and moves[2][6] == "Slightly behind"
    done = sections["Actions completed this cycle (Blue)"]
    assert [(r[0], r[3], r[4]) for r in done[2:]] == [("BA1.02", "Amber", "Blue")]
    overdue = sections["Actions newly overdue this cycle"]
    assert [(r[0], r[2], r[3]) for r in overdue[2:]] == [("BA4.01", ALLEN, datetime(2025, 8, 31))]
    # BA1.01 is overdue too, but was already at the 2025-Q2 deadline.
    with Ledger(plan.folder.ledger_file) as ledger:
        assert {g.ref for g in find_gaps(plan, ledger, Q3, AS_OF).overdue} == {"BA1.01", "BA4.01"}
    # No row per audit record: the audit's files and timestamps are not on the sheet.
    texts = {c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)}
    assert not {f"{Q3} {HELEN}.xlsx", f"{Q3} {SHARON}.xlsx"} & texts


def test_changes_in_the_first_cycle(plan: Plan, tmp_path: Path) -> None:
    with Ledger(plan.folder.ledger_file) as ledger:
        gaps = find_gaps(plan, ledger, Q2, date(2025, 6, 20))
        rendered = render_master(plan, ledger, Q2, gaps, tmp_path / "q2.xlsx")
    sections = _sections(openpyxl.load_workbook(rendered.path)["Changes since last cycle"])
    assert sections["RAG status moves"] == [["This is the first cycle: nothing to compare with."] + [None] * 6]
    assert sections["Actions newly overdue this cycle"][0][0].startswith("No earlier cycle")


def test_trend_stops_at_the_rendered_cycle(plan: Plan, tmp_path: Path) -> None:
    with Ledger(plan.folder.ledger_file) as ledger:
        gaps = find_gaps(plan, ledger, Q2, date(2025, 6, 20))
        rendered = render_master(plan, ledger, Q2, gaps, tmp_path / "q2.xlsx")
    ws = openpyxl.load_workbook(rendered.path)["Trend"]
    assert [c.value for c in ws[HEADER]] == ["Ref", "Action", Q2]


def test_gaps_names_the_missing_sponsor(master: openpyxl.Workbook) -> None:
    ws = master["Gaps"]
    cells = [[c.value for c in row] for row in ws.iter_rows(min_row=HEADER)]
    headings = [r[0] for r in cells if r[0] and "(" in str(r[0]) and r[0].endswith(")")]
    assert len(headings) == 7  # the seventh: joint sponsors who disagree
    assert headings[0] == "Returns not received (deadline 15/09/2025) (1)"
    assert "Joint sponsors who disagree (0)" in headings
    assert ["Allen Stevenson", "allen.stevenson@example.org", "missing", "5 days overdue"] in [r[:4] for r in cells]
    no_update = next(r for r in cells if r[0] == "BA4.01")
    assert no_update[2] == "Allen Stevenson"
    assert any(r[:1] == ["None"] for r in cells)  # the empty section says so
    attention = [r for r in cells if r[0] in ("BA1.01", "BA3.02") and r[5] in ("worsened", "improved")]
    assert [(r[0], r[3], r[4], r[5]) for r in attention] == [
        ("BA1.01", "Amber", "Green", "worsened"),
        ("BA3.02", "Amber", "Red", "improved"),
    ]


def test_feedback_per_group_with_sponsor(master: openpyxl.Workbook) -> None:
    ws = master["Feedback"]
    cells = [[c.value for c in row] for row in ws.iter_rows(min_row=HEADER)]
    assert cells[0][0] == "Sponsor"
    at = [r[0] for r in cells].index(BA1)
    assert cells[at + 1][:3] == [HELEN, "=1+1", "@SUM(A1)"]
    at = [r[0] for r in cells].index(BA3)
    assert cells[at + 1][:2] == [SHARON, "Carers value the new helpline."]
    at = [r[0] for r in cells].index("Big Action 4: Support people to live at home")
    assert cells[at + 1][0] == "None received this cycle."


def test_returns_log_all_cycles(master: openpyxl.Workbook) -> None:
    rows = _table(master["Returns"])
    assert len(rows) == 5
    assert {r["Cycle"].value for r in rows} == {Q2, Q3}
    assert rows[-1]["SHA-256"].value == _sha(SHARON, Q3)[:12]
    assert rows[-1]["Warnings"].value == 4
    assert rows[-1]["Received"].is_date


# Too wide for A4 at 8 points (issue 19): A3, and Current status two pages across.
ON_A3 = {"Risk register": 1, "Proposed changes to timescales": 1, "Current status": 2}


def test_print_setup_on_every_sheet(master: openpyxl.Workbook) -> None:
    for ws in master:
        assert ws.page_setup.orientation == "landscape", ws.title
        assert int(ws.page_setup.paperSize) == (8 if ws.title in ON_A3 else 9), ws.title
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        assert "&P" in ws.oddFooter.right.text, ws.title
    for ws in master.worksheets[1:]:  # the Dashboard is one page: tests/test_dashboard.py
        assert ws.page_setup.orientation == "landscape", ws.title
        assert int(ws.page_setup.paperSize) == (8 if ws.title in ON_A3 else 9), ws.title
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        assert ws.page_setup.fitToWidth in ((None, 1) if ON_A3.get(ws.title, 1) == 1 else (ON_A3[ws.title],)), ws.title
        assert ws.page_setup.fitToHeight == 0, ws.title
        assert ws.print_title_rows, ws.title
        assert "&P" in ws.oddFooter.right.text, ws.title
    status = master["Current status"]
    assert status.print_title_rows == "$4:$4"
    assert status.freeze_panes == "B5"
    # 7 plan columns, sponsor, 5 from the return, last, movement, updated, status from
    assert status.auto_filter.ref == "A4:Q10"


def test_page_headers_escape_an_ampersand_once(tmp_path: Path) -> None:
    """A plan titled "Health & Social Care" prints so on every sheet, not "Health && Social Care"."""
    folder = make_plan_folder(tmp_path / "plan", settings={**SETTINGS, "title": "Health & Social Care"})
    _fill_ledger(folder.ledger_file)
    rendered, _ = _render(load_plan(folder))
    headers = odd_headers(rendered.path)
    assert len(headers) == len(SHEETS)
    for part, header in headers.items():
        assert header.startswith("&L&10Health && Social Care: master tracker 2025-Q3&R"), (part, header)
        assert header.count("&&") == 1, (part, header)


def test_existing_master_replaced_atomically(plan: Plan) -> None:
    target = plan.folder.master_file
    target.write_bytes(b"the old master")
    before = set(plan.folder.root.iterdir())
    rendered, _ = _render(plan)
    assert rendered == Rendered(target, fallback=False)
    assert openpyxl.load_workbook(target).sheetnames == SHEETS
    assert set(plan.folder.root.iterdir()) == before  # no temp files left behind
    cache = plan.folder.cache_file.parent  # the plan's cache is meant to stay; temp files are not
    assert not [p for p in plan.folder.root.iterdir() if p.name.startswith(".") and p != cache]


def test_locked_master_falls_back_to_a_new_file(plan: Plan, monkeypatch: pytest.MonkeyPatch) -> None:
    target = plan.folder.master_file
    target.write_bytes(b"open in Excel")
    real_replace = os.replace

    def replace(src: Any, dst: Any) -> None:
        if Path(dst) == target:
            raise PermissionError(13, "The process cannot access the file", str(dst))
        real_replace(src, dst)

    monkeypatch.setattr(xlplan.files.os, "replace", replace)
    rendered, _ = _render(plan)
    assert rendered.fallback is True
    assert target.read_bytes() == b"open in Excel"
    assert rendered.path.parent == target.parent
    assert rendered.path.name.startswith("master-tracker (2025-Q3 ")
    assert rendered.path.suffix == ".xlsx"
    assert openpyxl.load_workbook(rendered.path).sheetnames == SHEETS
    cache = plan.folder.cache_file.parent  # the plan's cache is meant to stay; temp files are not
    assert not [p for p in plan.folder.root.iterdir() if p.name.startswith(".") and p != cache]


def test_explicit_target(plan: Plan, tmp_path: Path) -> None:
    target = tmp_path / "out" / "spg.xlsx"
    rendered, _ = _render(plan, target)
    assert rendered == Rendered(target, fallback=False)
    assert not plan.folder.master_file.exists()


def test_other_write_failures_raise_without_fallback(plan: Plan, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(OutputError) as caught:
        _render(plan, blocker / "master-tracker.xlsx")
    assert not isinstance(caught.value, MasterLocked)
    assert blocker.read_text() == "a file where the folder should be"


def test_gaps_for_another_cycle_are_refused(plan: Plan) -> None:
    with Ledger(plan.folder.ledger_file) as ledger:
        gaps = find_gaps(plan, ledger, Q2, AS_OF)
        with pytest.raises(UsageError):
            render_master(plan, ledger, Q3, gaps)


def test_days_text() -> None:
    assert [days_text(d) for d in (3, 1, 0, -1, -5)] == [
        "3 days to go",
        "1 day to go",
        "due today",
        "1 day overdue",
        "5 days overdue",
    ]


def test_fallback_path() -> None:
    path = fallback_path(Path("/p/master-tracker.xlsx"), Q3, datetime(2025, 9, 20, 14, 5, 9))
    assert path == Path("/p/master-tracker (2025-Q3 20250920-140509).xlsx")
