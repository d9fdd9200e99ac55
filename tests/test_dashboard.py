"""The SPG pack in the master tracker: Dashboard, Risk register, Proposed changes to timescales.

Two fixtures: the demo (two real cycles of the sample plan, generated, returned and
collected: module-scoped, built once) for the dashboard, its charts and its print; and
a ledger of three cycles written directly, for cycles at risk, movement and revised dates.
"""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from conftest import MASTER_HEADER, MASTER_SHEETS, SPONSORS, demo_copy, make_plan_folder
from libreoffice import convert, render_png
from python_calamine import CalamineWorkbook

from xlplan.collect import collect
from xlplan.demo import sample_root
from xlplan.gaps import Gaps, expected_recipients, find_gaps
from xlplan.generate import generate
from xlplan.ledger import Ledger, ReturnRecord
from xlplan.master import render_master
from xlplan.plan import Plan, load_plan
from xlplan.plan_folder import PlanFolder
from xlplan.summary import Summary, summarise

# The demo's plan maps its actions to the national outcomes (the SOP's table): their sheet follows the Dashboard.
SHEETS = [MASTER_SHEETS[0], "National outcomes", *MASTER_SHEETS[1:]]
HEADER = MASTER_HEADER
DEMO_CYCLE = "2023-Q3"
HELEN, SHARON, ALLEN = (s.name for s in SPONSORS)
HOSTILE = ["=1+1", "@x", "+44 7700 900123", "-x", "\tx", '=HYPERLINK("http://x")']


# --- the demo: two collected cycles of the sample plan ------------------------------


@pytest.fixture(scope="module")
def demo(built_demo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This module's copy of the demo plan folder: tests that write into it copy it again."""
    return demo_copy(built_demo, tmp_path_factory, "dashboard")


@pytest.fixture(scope="module")
def demo_state(demo: Path) -> tuple[Plan, Summary, Gaps]:
    """What the demo's last collect rendered from: "today" was the day after the deadline."""
    plan = load_plan(PlanFolder(demo))
    with Ledger(plan.folder.ledger_file) as ledger:
        info = ledger.cycle(DEMO_CYCLE)
        assert info is not None
        today = info.deadline + timedelta(days=1)
        return plan, summarise(plan, ledger, DEMO_CYCLE, today), find_gaps(plan, ledger, DEMO_CYCLE, today)


@pytest.fixture(scope="module")
def dashboard(demo: Path) -> Any:
    return openpyxl.load_workbook(demo / "master-tracker.xlsx")["Dashboard"]


def _rows(ws: Any) -> list[list[Any]]:
    return [list(row) for row in ws.iter_rows(values_only=True)]


def _find(rows: list[list[Any]], value: Any, start: int = 0) -> tuple[int, int]:
    """(row, column), 0-based, of the first cell holding `value` from row `start` on."""
    for r, row in enumerate(rows[start:], start=start):
        if value in row:
            return r, row.index(value)
    raise AssertionError(f"{value!r} not on the sheet")


def test_master_sheets_in_order(demo: Path) -> None:
    book = openpyxl.load_workbook(demo / "master-tracker.xlsx")
    assert book.sheetnames == SHEETS
    assert book.active.title == "Dashboard"


def test_dashboard_headline_figures(dashboard: Any, demo_state: tuple[Plan, Summary, Gaps]) -> None:
    plan, s, gaps = demo_state
    rows = _rows(dashboard)
    assert rows[0][0] == "Inverclyde HSCP Strategic Plan 2019-2024: Master tracker, 2023-Q3"
    assert "Strategic Planning Group Thursday 5 October 2023" in rows[1][0]
    assert f"returns due {s.deadline.strftime('%A')} {s.deadline.day} {s.deadline:%B %Y}" in rows[1][0]
    tiles = dict(zip([c for c in rows[4] if c], [c for c in rows[3] if c], strict=True))  # caption -> figure
    received = next(figure for caption, figure in tiles.items() if "returns received" in caption)
    assert received == f"{s.count('merged')} of {len(s.recipients)}" == "3 of 5"
    assert tiles["actions past their due date"] == str(len(gaps.overdue))
    for status in plan.template.summary["attention"]:
        assert tiles[f"actions at {status}"] == str(sum(1 for g in gaps.attention if g.status == status))
    assert tiles["actions complete (Blue)"] == str(s.totals["Blue"])


def test_dashboard_counts_are_summarise_counts(dashboard: Any, demo_state: tuple[Plan, Summary, Gaps]) -> None:
    _, s, _ = demo_state
    rows = _rows(dashboard)
    head, _ = _find(rows, "No update")
    header = rows[head]
    cols = {status: header.index(status) for status in [*s.statuses, "No update", "Total"]}
    assert list(cols) == [*s.statuses, "No update", "Total"]
    assert cols["Red"] < cols["Amber"] < cols["Green"] < cols["Grey"] < cols["Blue"]  # the template's order
    for n, group in enumerate(s.groups):
        row = rows[head + 1 + n]
        short, _, rest = group.partition(":")
        assert (row[0], row[1]) == (short, rest.strip())  # "Big Action 1" | its words
        counts = {status: row[c] for status, c in cols.items()}
        expected = {status: s.counts[group].get(status, 0) for status in s.statuses}
        expected |= {"No update": s.counts[group].get("", 0), "Total": sum(s.counts[group].values())}
        assert counts == expected, group
    total = rows[head + 1 + len(s.groups)]
    assert total[0] == "Total"
    assert [total[c] for c in cols.values()] == [
        *[s.totals.get(x, 0) for x in s.statuses],
        s.totals.get("", 0),
        len(demo_state[0].items),
    ]
    # This cycle against the last, as summarise counts them.
    mix, col = _find(rows, "2023-Q2")
    assert rows[mix][col - 1 : col + 3] == ["RAG status", "2023-Q2", "2023-Q3", "Change"]
    for n, status in enumerate([*s.statuses, ""]):
        label, before, now, change = rows[mix + 1 + n][col - 1 : col + 3]
        assert label == (status or "No update")
        assert (before, now, change) == (
            s.previous_counts.get(status, 0),
            s.totals.get(status, 0),
            s.totals.get(status, 0) - s.previous_counts.get(status, 0),
        )


def _fill(series: Any) -> str:
    return series.graphicalProperties.solidFill.srgbClr.upper()


def _cells(ws: Any, ref: str) -> list[Any]:
    """The values of a chart's reference such as Dashboard!$C$9:$C$14."""
    area = ref.split("!")[1].replace("$", "")
    if ":" not in area:
        return [ws[area].value]
    return [c.value for row in ws[area] for c in row]


def test_dashboard_charts(dashboard: Any, demo_state: tuple[Plan, Summary, Gaps]) -> None:
    plan, s, _ = demo_state
    charts = dashboard._charts
    assert len(charts) == 3
    bar, column, history = charts
    # Stacked bars of status by Big Action: one series per status, in its colour.
    assert (bar.type, bar.grouping) == ("bar", "stacked")
    choices = plan.template.status_choices
    assert choices is not None
    assert len(bar.series) == len(choices.values) == 5
    assert [_fill(x) for x in bar.series] == [c.fill.lstrip("#").upper() for c in choices.values]
    assert [_cells(dashboard, x.tx.strRef.f) for x in bar.series] == [[c.value] for c in choices.values]
    for series, status in zip(bar.series, s.statuses, strict=True):
        assert _cells(dashboard, series.val.numRef.f) == [s.counts[g].get(status, 0) for g in s.groups]
        assert _cells(dashboard, series.cat.strRef.f) == [g.partition(":")[0] for g in s.groups]
    # This cycle against the last: clustered columns over the statuses (and no update).
    assert (column.type, column.grouping) == ("col", "clustered")
    assert [_cells(dashboard, x.tx.strRef.f) for x in column.series] == [["2023-Q2"], ["2023-Q3"]]
    last, this = column.series
    assert _cells(dashboard, this.val.numRef.f) == [s.totals.get(x, 0) for x in [*s.statuses, ""]]
    assert _cells(dashboard, last.val.numRef.f) == [s.previous_counts.get(x, 0) for x in [*s.statuses, ""]]
    assert _cells(dashboard, this.cat.strRef.f) == [*s.statuses, "No update"]
    # The plan's whole life: stacked columns, one per cycle, one series per status in its colour.
    assert (history.type, history.grouping) == ("col", "stacked")
    assert [_fill(x) for x in history.series] == [c.fill.lstrip("#").upper() for c in choices.values]
    assert [_cells(dashboard, x.tx.strRef.f) for x in history.series] == [[c.value] for c in choices.values]
    with Ledger(plan.folder.ledger_file) as ledger:
        expected = {c: summarise(plan, ledger, c, s.today).totals for c in ("2023-Q2", "2023-Q3")}
    for series, status in zip(history.series, s.statuses, strict=True):
        assert _cells(dashboard, series.cat.strRef.f) == list(expected)
        assert _cells(dashboard, series.val.numRef.f) == [expected[c].get(status, 0) for c in expected]


def test_dashboard_prints_one_a4_landscape_page_wide_broken_before_the_charts(dashboard: Any) -> None:
    setup = dashboard.page_setup
    assert setup.orientation == "landscape"
    assert int(setup.paperSize) == 9
    assert dashboard.sheet_properties.pageSetUpPr.fitToPage
    assert setup.fitToWidth in (None, 1) and setup.fitToHeight == 0  # as many pages tall as it takes
    assert dashboard.print_area == "'Dashboard'!$A$1:$N$46"  # with the plan's whole life below the charts
    # Page 1: the key figures and the table by group; page 2: the charts (the first is at the break).
    (brk,) = dashboard.row_breaks.brk
    anchors = sorted(chart.anchor._from.row for chart in dashboard._charts)
    assert brk.id == anchors[1]  # 0-based row of the bar chart = the 1-based row the break follows
    assert not dashboard.sheet_view.showGridLines
    assert not dashboard.print_options.gridLines
    assert "&P" in dashboard.oddFooter.right.text


def test_status_cells_and_tiles_in_template_colours(dashboard: Any, demo: Path) -> None:
    rows = _rows(dashboard)
    head, col = _find(rows, "Red")
    assert dashboard.cell(head + 1, col + 1).fill.fgColor.rgb.endswith("E0301E")
    _, amber = _find(rows, "actions at Amber")
    assert dashboard.cell(5, amber + 1).fill.fgColor.rgb.endswith("FFBF00")
    register = openpyxl.load_workbook(demo / "master-tracker.xlsx")["Risk register"]
    header = [c.value for c in register[HEADER]]
    status = header.index("RAG status")
    fills = {row[status].value: row[status].fill.fgColor.rgb[-6:] for row in register.iter_rows(min_row=HEADER + 1)}
    assert fills == {"Red": "E0301E", "Amber": "FFBF00"}


def test_demo_risk_register_is_gaps_attention(demo: Path, demo_state: tuple[Plan, Summary, Gaps]) -> None:
    _, _, gaps = demo_state
    register = _table(openpyxl.load_workbook(demo / "master-tracker.xlsx")["Risk register"])
    assert sorted(r["Ref"] for r in register) == sorted(g.ref for g in gaps.attention)
    assert {r["Ref"]: r["Movement"] for r in register} == {g.ref: g.movement for g in gaps.attention}
    assert [r["RAG status"] for r in register] == sorted(
        (r["RAG status"] for r in register), key=["Red", "Amber"].index
    )


# --- three cycles written straight into the ledger -----------------------------------

Q1, Q2, Q3 = "2025-Q1", "2025-Q2", "2025-Q3"
DEADLINES = {Q1: date(2025, 3, 14), Q2: date(2025, 6, 13), Q3: date(2025, 9, 15)}
AS_OF = date(2025, 9, 20)
# cycle -> recipient -> ref -> values. Allen sends nothing in 2025-Q2.
RETURNS: dict[str, dict[str, dict[str, dict[str, Any]]]] = {
    Q1: {
        HELEN: {
            "BA1.01": {"rag": "Amber", "progress": "Recruiting"},
            "BA1.02": {"rag": "Green", "progress": "Drafting"},
            "BA1.03": {"rag": "Red", "progress": "No survey budget"},
        },
        SHARON: {"BA3.02": {"rag": "Red", "progress": "No trainers"}},
        ALLEN: {"BA4.01": {"rag": "Amber", "progress": "Tendering"}},
    },
    Q2: {
        HELEN: {
            "BA1.01": {"rag": "Red", "progress": "Two posts vacant"},
            "BA1.02": {"rag": "Amber", "progress": "Consulting", "revised_due": "2025-10-31"},
            "BA1.03": {"rag": "Green", "progress": "Budget found"},
        },
        SHARON: {"BA3.02": {"rag": "Red", "progress": "Still no trainers"}},
    },
    Q3: {
        HELEN: {
            "BA1.01": {"rag": "Red", "progress": HOSTILE[0], "comments": HOSTILE[1]},
            "BA1.02": {"rag": "Amber", "progress": HOSTILE[2], "revised_due": "2025-12-31"},
            "BA1.03": {"rag": "Amber", "progress": HOSTILE[3], "revised_due": "2026-12-31"},  # = the plan's
        },
        SHARON: {
            "BA3.01": {"rag": "Red", "progress": HOSTILE[4], "comments": HOSTILE[5]},
            "BA3.02": {"rag": "Green", "progress": "Trainers in post"},
        },
        ALLEN: {"BA4.01": {"rag": "Amber", "progress": "Supplier failed", "revised_due": "2026-03-31"}},
    },
}


def _fill_ledger(path: Path, returns: dict[str, dict[str, dict[str, dict[str, Any]]]] = RETURNS) -> None:
    with Ledger(path) as ledger, ledger.transaction():
        for n, (cycle, sent) in enumerate(returns.items()):
            at = f"{DEADLINES[cycle].isoformat()}T09:00:00+01:00"
            issued = [(who, f"{cycle} return - {who}.xlsx", 2) for who in (HELEN, SHARON, ALLEN)]
            ledger.record_cycle(cycle, None, DEADLINES[cycle], issued, at=at)
            for who, rows in sent.items():
                sha, file = f"{n}{who.split()[0].lower()}".ljust(64, "0"), f"{cycle} {who}.xlsx"
                ledger.record_return(ReturnRecord(sha, file, who, cycle, at, "merged"))
                values = {("Actions", ref): fields for ref, fields in rows.items()}
                ledger.replace_entries(cycle, who, values, return_sha=sha, file=file, at=at)


@pytest.fixture
def three(tmp_path: Path) -> tuple[Plan, openpyxl.Workbook]:
    folder = make_plan_folder(tmp_path / "plan")
    _fill_ledger(folder.ledger_file)
    plan = load_plan(folder)
    with Ledger(folder.ledger_file) as ledger:
        rendered = render_master(plan, ledger, Q3, find_gaps(plan, ledger, Q3, AS_OF))
    return plan, openpyxl.load_workbook(rendered.path)


def _table(ws: Any) -> list[dict[str, Any]]:
    headers = [c.value for c in ws[HEADER]]
    return [
        {h: v for h, v in zip(headers, row, strict=False) if h}
        for row in ws.iter_rows(min_row=HEADER + 1, values_only=True)
        if row[0] is not None
    ]


def test_risk_register_over_three_cycles(three: tuple[Plan, openpyxl.Workbook]) -> None:
    _, book = three
    rows = _table(book["Risk register"])
    got = [(r["Ref"], r["RAG status"], r["Cycles at Red or Amber"], r["Movement"]) for r in rows]
    assert got == [  # Red first, then the longest at Red or Amber; plan order among equals
        ("BA1.01", "Red", 3, "unchanged"),  # Amber, Red, Red
        ("BA3.01", "Red", 1, "new"),  # first reported this cycle
        # Amber, no return (its Amber carried forward), Amber: three cycles at Amber
        ("BA4.01", "Amber", 3, "unchanged"),
        ("BA1.02", "Amber", 2, "unchanged"),  # Green, Amber, Amber
        ("BA1.03", "Amber", 1, "worsened"),  # Red, Green, Amber
    ]
    first = rows[0]
    assert first["Sponsor"] == HELEN
    assert first["Responsible officer"] == "Service Manager, Health Improvement"
    assert first["Due date"] == datetime(2024, 3, 31)
    assert first["Last RAG (2025-Q2)"] == "Red"
    assert (first["Progress this period"], first["Comments / risks"]) == (HOSTILE[0], HOSTILE[1])
    assert rows[1]["Sponsor"] == f"{SHARON}; {ALLEN}"
    assert next(r for r in rows if r["Ref"] == "BA1.02")["Revised due date"] == datetime(2025, 12, 31)
    assert next(r for r in rows if r["Ref"] == "BA4.01")["Status from"] == f"reported by {ALLEN}"
    assert "BA3.02" not in {r["Ref"] for r in rows}  # Green now, after two cycles at Red


def test_proposed_changes_to_timescales(three: tuple[Plan, openpyxl.Workbook]) -> None:
    _, book = three
    ws = book["Proposed changes to timescales"]
    assert "Record each decision on the Decisions sheet of plan.xlsx" in ws["A2"].value
    rows = _table(ws)
    assert [r["Ref"] for r in rows] == ["BA1.02", "BA4.01"]  # BA1.03 proposed the plan's own date
    ba102, ba401 = rows
    assert ba102["Due date (plan)"] == datetime(2023, 3, 31)
    assert ba102["Proposed revised due date"] == datetime(2025, 12, 31)
    assert ba102["Days later"] == (date(2025, 12, 31) - date(2023, 3, 31)).days
    assert ba102["Proposed in 2025-Q2"] == datetime(2025, 10, 31)
    assert (ba102["Sponsor"], ba102["RAG status"], ba102["Progress this period"]) == (HELEN, "Amber", HOSTILE[2])
    assert ba401["Proposed revised due date"] == datetime(2026, 3, 31)
    assert ba401["Days later"] == (date(2026, 3, 31) - date(2025, 9, 30)).days
    assert ba401["Proposed in 2025-Q2"] is None  # nothing proposed last cycle
    assert "SPG decision" in [c.value for c in ws[HEADER]]
    assert (ba102["SPG decision"], ba102["Agreed due date"]) == ("Not decided yet", None)  # read from the plan


def test_dashboard_of_three_cycles(three: tuple[Plan, openpyxl.Workbook]) -> None:
    plan, book = three
    with Ledger(plan.folder.ledger_file) as ledger:
        s = summarise(plan, ledger, Q3, AS_OF)
    rows = _rows(book["Dashboard"])
    head, _ = _find(rows, "No update")
    totals = rows[head + 1 + len(s.groups)]
    assert totals[0] == "Total"
    assert s.totals == {"Red": 2, "Amber": 3, "Green": 1}  # BA1.01, BA3.01 Red; BA3.02 Green
    assert totals[2:9] == [2, 3, 1, 0, 0, 0, 6]  # Red, Amber, Green, Grey, Blue, no update, all
    assert len(book["Dashboard"]._charts) == 3
    history = book["Dashboard"]._charts[2]
    red = history.series[0]
    assert _cells(book["Dashboard"], red.cat.strRef.f)[-1] == Q3


def test_no_formula_or_link_anywhere(three: tuple[Plan, openpyxl.Workbook], demo: Path) -> None:
    _, book = three
    texts = set()
    for ws in book:
        assert not ws._hyperlinks, ws.title
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{ws.title}!{cell.coordinate}"
                assert cell.hyperlink is None
                if isinstance(cell.value, str):
                    assert cell.data_type == "s"
                    texts.add(cell.value)
    assert set(HOSTILE) <= texts  # "\tx" too: its leading tab kept
    for path in (three[0].folder.master_file, demo / "master-tracker.xlsx"):
        with zipfile.ZipFile(path) as z:
            for name in z.namelist():
                body = z.read(name)
                assert b"<f>" not in body and b"<f " not in body, name
                assert b"<hyperlink" not in body, name
                assert b"relationships/hyperlink" not in body, name


def test_text_is_escaped_and_long_notes_in_full(tmp_path: Path) -> None:
    folder = make_plan_folder(tmp_path / "plan")
    odd = "a & b <c> \"d\" 'e' _x0041_ \x07 \u00e9\u2603 end "
    returns = {cycle: {who: dict(rows) for who, rows in sent.items()} for cycle, sent in RETURNS.items()}
    returns[Q3][HELEN]["BA1.01"] = {**RETURNS[Q3][HELEN]["BA1.01"], "comments": odd, "progress": "word " * 300}
    _fill_ledger(folder.ledger_file, returns)
    plan = load_plan(folder)
    with Ledger(folder.ledger_file) as ledger:
        rendered = render_master(plan, ledger, Q3, find_gaps(plan, ledger, Q3, AS_OF))
    # Read as xlplan reads workbooks (calamine): openpyxl leaves Excel's _xHHHH_ escapes undecoded.
    header, first = CalamineWorkbook.from_path(str(rendered.path)).get_sheet_by_name("Risk register").to_python()[3:5]
    row = dict(zip(header, first, strict=True))
    assert row["Comments / risks"] == odd
    note = row["Progress this period"]
    # In full (issue 19: notes were cut at 500 characters, mid-word), up to Excel's cell limit.
    assert note == "word " * 300


# --- LibreOffice: the dashboard as printed ----------------------------------------------


@pytest.mark.libreoffice
def test_dashboard_prints_as_the_first_two_pages(demo: Path, tmp_path: Path) -> None:
    master = demo / "master-tracker.xlsx"
    png = render_png(master, tmp_path / "png", page=1, dpi=60)
    assert png.is_file() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pdf = convert(master, tmp_path / "pdf", "pdf")

    def page(n: int) -> str:
        cmd = ["pdftotext", "-layout", "-f", str(n), "-l", str(n), str(pdf), "-"]
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout

    first, second, third = page(1), page(2), page(3)
    assert "Master tracker, 2023-Q3" in first
    assert "RAG status by Big Action" in first and "this cycle and last" in first
    assert "Dashboard" in first.splitlines()[0]  # the page header names the sheet
    assert "Page 1 of" in first
    # Page 2: the charts' tables, what each status means and the plan's whole life.
    assert "Dashboard" in second.splitlines()[0] and "Page 2 of" in second
    assert "RAG status definitions" in second and "over the plan's life" in second
    assert "over the plan's life" not in first
    # Page 3 is the next sheet's.
    assert "National outcomes" in third.splitlines()[0] and "Dashboard" not in third


# --- a distribution summary: no status, ratings instead -------------------------------


def test_master_of_a_self_evaluation(tmp_path: Path) -> None:
    """Many respondents rate each proposal: the master carries xlplan.ratings' Ratings sheet,
    and no status sheets (risk register, changes, timescales, trend) that would be empty."""
    sample = sample_root().parent / "self-evaluation"
    folder = PlanFolder(tmp_path / "self-evaluation")
    folder.root.mkdir()
    folder.make_dirs()
    shutil.copy(sample / "plan.xlsx", folder.plan_file)
    plan = load_plan(folder)
    made = generate(plan, "2019-05", spg_date=date(2019, 6, 6), deadline=None)
    for path in (sample / "returns" / "2019-05").glob("*.xlsx"):
        shutil.copy(path, folder.returns_dir / path.name)
    assert made.deadline is not None
    result = collect(plan, cycle="2019-05", today=made.deadline)
    assert result.master is not None
    book = openpyxl.load_workbook(result.master)
    assert book.sheetnames == ["Dashboard", "Ratings", "Plan changes", "Current status", "Gaps", "Feedback", "Returns"]
    dashboard = book["Dashboard"]
    assert dashboard._charts == []
    assert "results are on the Ratings sheet" in dashboard["A7"].value
    assert dashboard["A4"].value == f"{result.count('merged')} of {len(expected_recipients_of(plan))}"
    assert [c.value for c in book["Ratings"][4]][:5] == ["Ref", "Key Feature", "Proposal", "Asked", "Rated"]


def expected_recipients_of(plan: Plan) -> list[str]:
    with Ledger(plan.folder.ledger_file) as ledger:
        return expected_recipients(plan, ledger, "2019-05")


def test_the_demo_keeps_a_silent_sponsors_risks_and_never_calls_completed_work_overdue(demo: Path) -> None:
    """Deborah Gillespie sent nothing for 2023-Q3 and Charlene Elliot's return is quarantined:
    their Red and Amber actions stay on the Risk register, marked not updated; BA5.01, BA5.05
    and BA6.04, complete (Blue) in 2023-Q2, are never overdue."""
    book = openpyxl.load_workbook(demo / "master-tracker.xlsx")
    register = {r["Ref"]: r for r in _table(book["Risk register"])}
    for ref, status in {"BA5.04": "Red", "BA5.02": "Amber", "BA5.07": "Amber", "BA6.02": "Amber"}.items():
        assert register[ref]["RAG status"] == status, ref
        assert register[ref]["Movement"] == "not updated", ref
        assert register[ref]["Status from"] == f"not updated: last reported {status} in 2023-Q2 (1 cycle ago)"
    gaps = " ".join(str(v) for row in book["Gaps"].iter_rows(values_only=True) for v in row if v is not None)
    overdue = gaps.split("past their due date")[1].split("at Red or Amber")[0]
    for ref in ("BA5.01", "BA5.05", "BA6.04"):
        assert ref not in overdue, ref
        assert {r["Ref"]: r for r in _table(book["Current status"])}[ref]["RAG status"] == "Blue"
