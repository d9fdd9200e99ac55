"""The plan between cycles: its change log, and the SPG's decisions recorded in plan.xlsx.

The test plan (tests/conftest.py): Helen has BA1.01-03; BA3.01 and BA3.02 are joint between
Sharon and Allen; Allen alone has BA4.01. Every assertion reads what xlplan wrote: the
workbooks sent out, the master tracker, `export audit`, the gaps.
"""

from __future__ import annotations

import copy
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from conftest import ACTIONS, MASTER_HEADER, SETTINGS, SPONSORS, make_plan_folder
from helpers import ALLEN, HELEN, SHARON
from libreoffice import edit_and_save

from xlplan import export
from xlplan.collect import collect
from xlplan.decisions import DECISIONS
from xlplan.errors import PlanError
from xlplan.gaps import find_gaps
from xlplan.generate import generate
from xlplan.ledger import Ledger
from xlplan.plan import Plan, load_plan
from xlplan.plan_folder import PlanFolder
from xlplan.plan_sheets import Recipient
from xlplan.plan_workbook import init_folder, write_plan_workbook
from xlplan.samples.sponsor import fill_return
from xlplan.template_load import load_template

Q2, Q3 = "2025-Q2", "2025-Q3"
SPG = {Q2: date(2025, 7, 3), Q3: date(2025, 10, 2)}  # deadlines 2025-06-12 and 2025-09-11
FIRST_ROW = 5  # the first action's row in a return (header on row 4)


def _returns(plan: Plan, cycle: str, returns: dict[str, dict[str, dict[str, Any]]]) -> None:
    for who, values in returns.items():
        src = plan.folder.outgoing_dir(cycle) / f"{cycle} return - {who}.xlsx"
        fill_return(src, plan.folder.returns_dir / f"{who.split()[0]} {cycle}.xlsx", plan.template, values)


def _sheet(master: Path, name: str) -> list[dict[str, Any]]:
    book = openpyxl.load_workbook(master, read_only=True, data_only=True)
    rows = list(book[name].iter_rows(min_row=MASTER_HEADER, values_only=True))
    book.close()
    header = [str(h) if h is not None else "" for h in rows[0]]
    return [dict(zip(header, r, strict=False)) for r in rows[1:] if r and r[0]]


def _rows(path: Path) -> dict[str, dict[str, Any]]:
    """A sent workbook's Actions rows by ref: header -> value, and whether the row is locked."""
    book = openpyxl.load_workbook(path)
    ws = book["Actions"]
    header = [c.value for c in ws[MASTER_HEADER]]
    out = {}
    for row in ws.iter_rows(min_row=FIRST_ROW):
        if not row[0].value:
            continue
        values = dict(zip(header, (c.value for c in row), strict=False))
        values["locked"] = row[header.index("RAG status")].protection.locked
        out[row[0].value] = values
    book.close()
    return out


# --- the plan's change log ------------------------------------------------------------------------


def _edited_plan(folder_root: Path) -> None:
    """The officer's edits between generate and collect: each kind of change once."""
    actions = copy.deepcopy([a for a in ACTIONS if a["ref"] != "BA1.02"])  # BA1.02 removed
    by_ref = {a["ref"]: a for a in actions}
    by_ref["BA1.03"]["due"] = date(2027, 3, 31)  # a field changed
    by_ref["BA4.01"]["sponsor"] = HELEN  # moved to another sponsor
    for ref in ("BA3.01", "BA3.02"):  # Sharon replaced by a new sponsor
        by_ref[ref]["sponsor"] = "Deborah Gillespie; Allen Stevenson"
    actions.append({**by_ref["BA1.03"], "ref": "BA1.04", "action": "Open two community hubs"})  # added
    sponsors = [s for s in SPONSORS if s.name != SHARON] + [
        Recipient("Deborah Gillespie", "deborah.gillespie@example.org", "Head of Children & Families")
    ]
    sponsors[0] = Recipient(HELEN, "h.watson@example.org", sponsors[0].role)  # details changed
    settings = {**SETTINGS, "title": "Test Strategic Plan 2025-2028"}  # a setting changed
    write_plan_workbook(folder_root / "plan.xlsx", load_template("implementation-plan"), settings, sponsors, actions)


@pytest.fixture(scope="module")
def edited(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    """A plan collected once, then edited, then collected again with no new returns."""
    root = tmp_path_factory.mktemp("plan-changes") / "plan"
    plan = load_plan(make_plan_folder(root))
    generate(plan, Q3, spg_date=SPG[Q3], deadline=None)
    _returns(plan, Q3, {HELEN: {"BA1.01": {"progress": "On track", "rag": "Green"}}})
    first = collect(plan, cycle=Q3, today=date(2025, 9, 1))
    assert first.master is not None and first.plan_changes == []  # the first version is the baseline
    before = first.master.stat().st_mtime_ns
    _edited_plan(root)
    again = collect(load_plan(plan.folder), cycle=Q3, today=date(2025, 9, 1))
    assert again.master is not None, "a changed plan re-renders the master, even with no new returns"
    assert again.master.stat().st_mtime_ns != before
    return root, again


def test_a_plan_edited_between_cycles_logs_each_kind_of_change(edited: tuple[Path, Any]) -> None:
    _root, result = edited
    kinds = {(c.kind, c.ref, c.field, c.old, c.new) for c in result.plan_changes}
    assert ("setting changed", "Plan title", "title", "Test Strategic Plan", "Test Strategic Plan 2025-2028") in kinds
    assert ("action removed", "BA1.02", "removed", ACTIONS[1]["action"], None) in kinds
    assert ("action added", "BA1.04", "added", None, "Open two community hubs") in kinds
    assert ("action changed", "BA1.03", "due", "2026-12-31", "2027-03-31") in kinds
    assert ("action moved", "BA4.01", "sponsor", ALLEN, HELEN) in kinds
    assert ("sponsor replaced", SHARON, "replaced", SHARON, "Deborah Gillespie") in kinds
    assert ("sponsor changed", HELEN, "email", "helen.watson@example.org", "h.watson@example.org") in kinds
    # The replacement is logged once, not as two actions moved, nor as a sponsor added.
    assert not any(c.ref in ("BA3.01", "BA3.02") for c in result.plan_changes)
    assert not any(c.kind == "sponsor added" for c in result.plan_changes)


def test_plan_changes_are_in_the_master_and_export_audit(edited: tuple[Path, Any]) -> None:
    root = edited[0]
    master = root / "master-tracker.xlsx"
    book = openpyxl.load_workbook(master, read_only=True)
    assert "Plan changes" in book.sheetnames and "SPG decisions" in book.sheetnames
    assert "Test Strategic Plan 2025-2028" in str(book["Dashboard"]["A1"].value)  # the new title
    book.close()
    shown = {(r["Change"], r["Ref or name"]): r for r in _sheet(master, "Plan changes")}
    assert shown[("action changed", "BA1.03")]["Field"] == "Due date"
    assert (shown[("action changed", "BA1.03")]["Was"], shown[("action changed", "BA1.03")]["Now"]) == (
        "31/12/2026",
        "31/03/2027",
    )
    assert shown[("sponsor replaced", SHARON)]["Now"] == "Deborah Gillespie"
    assert {k for k, _ in shown} >= {"setting changed", "action added", "action removed", "action moved"}
    with Ledger(root / "ledger.sqlite") as ledger:
        rows = export.rows(ledger, "audit")
    merged = [r for r in rows if r["recipient"]]
    planned = [r for r in rows if not r["recipient"]]
    assert merged and planned and rows == merged + planned  # the returns' changes first, as before
    assert {tuple(r) for r in rows} == {tuple(merged[0])}  # every row the same shape
    moved = next(r for r in planned if r["ref"] == "BA4.01")
    assert (moved["sheet"], moved["field"], moved["old"], moved["new"], moved["file"]) == (
        "plan: Actions",
        "sponsor",
        ALLEN,
        HELEN,
        "plan.xlsx",
    )
    assert export.to_csv(rows).count("plan.xlsx") == len(planned)


def test_an_unchanged_plan_logs_nothing_and_leaves_the_master_alone(edited: tuple[Path, Any], tmp_path: Path) -> None:
    root = Path(shutil.copytree(edited[0], tmp_path / "plan"))
    plan = load_plan(PlanFolder(root))
    master = root / "master-tracker.xlsx"
    before = master.stat().st_mtime_ns
    result = collect(plan, cycle=Q3, today=date(2025, 9, 1))
    assert result.plan_changes == [] and result.master is None
    assert master.stat().st_mtime_ns == before


# --- SPG decisions ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def decided(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Q2 collected; the SPG's decisions recorded in plan.xlsx through LibreOffice Calc; Q3 generated."""
    root = tmp_path_factory.mktemp("decisions") / "plan"
    folder = make_plan_folder(root, decisions=[])  # a plan with an empty Decisions sheet, as init writes
    plan = load_plan(folder)
    generate(plan, Q2, spg_date=SPG[Q2], deadline=None)
    _returns(
        plan,
        Q2,
        {
            HELEN: {
                "BA1.01": {"progress": "Link workers in 10 of 16 practices", "rag": "Green"},
                "BA1.02": {"progress": "All six plans published", "rag": "Blue"},
                "BA1.03": {"progress": "Survey in the field", "rag": "Green", "actual": 86},
            },
            ALLEN: {
                "BA4.01": {
                    "progress": "Supplier delays",
                    "rag": "Amber",
                    "actual": 870,
                    "revised_due": date(2026, 3, 31),
                },
            },
        },
    )
    assert collect(plan, cycle=Q2, today=date(2025, 6, 20)).ok
    master_q2 = Path(shutil.copy(root / "master-tracker.xlsx", root.parent / "master-before.xlsx"))
    # The officer records the SPG's decisions in Calc (the header typed in mixed case, a word in lower case).
    edits: list[tuple[str, str, Any]] = [
        ("Decisions", "A2", date(2025, 7, 3)),
        ("Decisions", "B2", "BA4.01"),
        ("Decisions", "C2", "Approve revised date"),
        ("Decisions", "D2", date(2026, 3, 31)),
        ("Decisions", "E2", "SPG minute 5.2"),
        ("Decisions", "A3", date(2025, 7, 3)),
        ("Decisions", "B3", "ba1.01 "),
        ("Decisions", "C3", "close"),
        ("Decisions", "E3", "Delivered through the GP contract"),
        ("Decisions", "A4", date(2025, 7, 3)),
        ("Decisions", "B4", "BA1.02"),
        ("Decisions", "C4", "Re-open"),
        ("Decisions", "E4", "Two plans to be revised"),
    ]
    edit_and_save(folder.plan_file, root.parent / "edited.xlsx", edits)
    shutil.copy(root.parent / "edited.xlsx", folder.plan_file)
    plan = load_plan(folder)
    again = collect(plan, cycle=Q2, today=date(2025, 7, 10))  # no new returns: the master shows the decisions
    generate(plan, Q3, spg_date=SPG[Q3], deadline=None)
    return {"root": root, "plan": plan, "again": again, "master_before": master_q2}


@pytest.mark.libreoffice
def test_decisions_recorded_through_libreoffice_are_read_tolerantly(decided: dict[str, Any]) -> None:
    plan: Plan = decided["plan"]
    assert [(d.ref, d.decision, d.new_due) for d in plan.decisions] == [
        ("BA4.01", "Approve revised date", date(2026, 3, 31)),
        ("BA1.01", "Close", None),
        ("BA1.02", "Reopen", None),
    ]
    assert plan.by_ref["BA4.01"]["due"] == date(2026, 3, 31)  # the agreed due date
    assert plan.planned_due == {"BA4.01": date(2025, 9, 30)}  # the plan's own, kept
    logged = [c for c in decided["again"].plan_changes if c.kind == "decision recorded"]
    assert [c.ref for c in logged] == ["BA4.01", "BA1.01", "BA1.02"]
    assert logged[0].new["note"] == "SPG minute 5.2"


@pytest.mark.libreoffice
def test_an_approved_date_is_the_due_date_of_the_next_workbook_and_not_overdue(decided: dict[str, Any]) -> None:
    root: Path = decided["root"]
    allen = _rows(root / "outgoing" / Q3 / f"{Q3} return - {ALLEN}.xlsx")
    assert allen["BA4.01"]["Due date"].date() == date(2026, 3, 31)
    plan: Plan = decided["plan"]
    with Ledger(plan.folder.ledger_file) as ledger:
        gaps = find_gaps(plan, ledger, Q3, date(2025, 9, 20))
    overdue = {g.ref for g in gaps.overdue}
    assert "BA4.01" not in overdue  # due 30/09/2025 in the plan: the SPG agreed 31/03/2026
    # Collected with Green and no revised date, the return raises no overdue warning.
    fill_return(
        root / "outgoing" / Q3 / f"{Q3} return - {ALLEN}.xlsx",
        root / "returns" / "Allen Q3.xlsx",
        plan.template,
        {
            "BA3.01": {"progress": "On track", "rag": "Green"},
            "BA3.02": {"progress": "On track", "rag": "Green", "actual": 410},
            "BA4.01": {"progress": "Installs resumed", "rag": "Green", "actual": 900},
        },
    )
    result = collect(plan, cycle=Q3, today=date(2025, 9, 20), render=False)
    allen_return = next(o for o in result.outcomes if o.path.name == "Allen Q3.xlsx")
    assert allen_return.status == "merged"
    assert not [i for i in allen_return.report.warnings if i.ref == "BA4.01"]


@pytest.mark.libreoffice
def test_a_closed_action_is_complete_next_cycle_and_a_reopened_one_is_asked_again(decided: dict[str, Any]) -> None:
    root: Path = decided["root"]
    helen = _rows(root / "outgoing" / Q3 / f"{Q3} return - {HELEN}.xlsx")
    assert helen["BA1.01"]["Last RAG"] == "Blue" and helen["BA1.01"]["locked"]  # closed: not asked for
    assert helen["BA1.02"]["Last RAG"] is None and not helen["BA1.02"]["locked"]  # reopened: asked again
    assert helen["BA1.03"]["Last RAG"] == "Green" and not helen["BA1.03"]["locked"]
    plan: Plan = decided["plan"]
    with Ledger(plan.folder.ledger_file) as ledger:
        gaps = find_gaps(plan, ledger, Q3, date(2025, 9, 20))
    no_update = {g.ref: g.detail for g in gaps.no_update}
    assert "BA1.01" not in no_update and "BA1.01" not in {g.ref for g in gaps.overdue}  # due 2024: closed
    assert no_update["BA1.02"].startswith("reopened by the SPG on 03/07/2025")


@pytest.mark.libreoffice
def test_the_master_marks_decided_timescales_and_lists_the_decisions(decided: dict[str, Any]) -> None:
    again = decided["again"]
    assert again.master is not None  # re-rendered with no new returns: the plan changed
    before = {r["Ref"]: r for r in _sheet(decided["master_before"], "Proposed changes to timescales")}
    assert before["BA4.01"]["SPG decision"] == "Not decided yet"
    rows = {r["Ref"]: r for r in _sheet(again.master, "Proposed changes to timescales")}
    assert rows["BA4.01"]["SPG decision"] == "Approve revised date: 31/03/2026 (03/07/2025): SPG minute 5.2"
    assert rows["BA4.01"]["Due date (plan)"].date() == date(2025, 9, 30)
    assert rows["BA4.01"]["Agreed due date"].date() == date(2026, 3, 31)
    log = _sheet(again.master, "SPG decisions")
    assert [(r["Ref"], r["Decision"], r["Note"]) for r in log] == [
        ("BA1.02", "Reopen", "Two plans to be revised"),
        ("BA1.01", "Close", "Delivered through the GP contract"),
        ("BA4.01", "Approve revised date", "SPG minute 5.2"),
    ]
    with Ledger(decided["root"] / "ledger.sqlite") as ledger:
        audit = [r for r in export.rows(ledger, "audit") if r["sheet"] == "plan: Decisions"]
    assert [(r["ref"], r["new"]["decision"]) for r in audit] == [
        ("BA4.01", "Approve revised date"),
        ("BA1.01", "Close"),
        ("BA1.02", "Reopen"),
    ]


def test_bad_decisions_are_named_by_sheet_and_cell(tmp_path: Path) -> None:
    folder = make_plan_folder(
        tmp_path / "plan",
        decisions=[
            {"date": date(2025, 7, 3), "ref": "BA9.99", "decision": "Close"},
            {"date": date(2025, 7, 3), "ref": "BA4.01", "decision": "Approve revised date"},
            {"date": date(2025, 7, 3), "ref": "BA4.01", "decision": "Aprove revised date"},
            {"ref": "BA1.01", "decision": "Close"},
        ],
    )
    with pytest.raises(PlanError) as caught:
        load_plan(folder)
    message = str(caught.value)
    assert "Decisions!B2 (Ref): 'BA9.99' is not an action in the plan." in message
    assert "Decisions!D3 (New due date): is empty: 'Approve revised date' needs the agreed due date." in message
    assert "Decisions!C4 (Decision): 'Aprove revised date' is not a decision. Did you mean 'Approve revised date'?" in (
        message
    )
    assert "Decisions!A5 (Date): is empty" in message
    assert "4 problem(s)" in message


def test_a_plan_without_a_decisions_sheet_works_as_before(tmp_path: Path) -> None:
    folder = make_plan_folder(tmp_path / "plan")  # no Decisions sheet
    assert "Decisions" not in openpyxl.load_workbook(folder.plan_file, read_only=True).sheetnames
    plan = load_plan(folder)
    assert plan.decisions == [] and plan.planned_due == {}
    generate(plan, Q3, spg_date=SPG[Q3], deadline=None)
    allen = _rows(folder.outgoing_dir(Q3) / f"{Q3} return - {ALLEN}.xlsx")
    assert allen["BA4.01"]["Due date"].date() == date(2025, 9, 30)
    with Ledger(folder.ledger_file) as ledger:
        assert ledger.plan_changes() == []


def test_init_writes_a_decisions_sheet_with_a_dropdown(tmp_path: Path) -> None:
    folder = init_folder(tmp_path / "new", "implementation-plan", "New plan")
    book = openpyxl.load_workbook(folder.plan_file)
    ws = book["Decisions"]
    assert [c.value for c in ws[1][:5]] == ["Date", "Ref", "Decision", "New due date", "Note"]
    lists = [v for v in ws.data_validations.dataValidation if v.type == "list"]
    assert [v.formula1 for v in lists] == ['"' + ",".join(DECISIONS) + '"']
    assert str(lists[0].sqref).startswith("C2:")


def test_decisions_already_in_the_first_plan_recorded_are_logged_once(tmp_path: Path) -> None:
    folder = make_plan_folder(
        tmp_path / "plan",
        decisions=[{"date": date(2025, 7, 3), "ref": "BA1.01", "decision": "Keep due date", "note": "Minute 4"}],
    )
    plan = load_plan(folder)
    first = generate(plan, Q3, spg_date=SPG[Q3], deadline=None)
    assert [(c.kind, c.ref, c.new["decision"]) for c in first.plan_changes] == [
        ("decision recorded", "BA1.01", "Keep due date")
    ]
    assert generate(plan, Q3, spg_date=SPG[Q3], deadline=None).plan_changes == []
