"""The plan over several cycles: what the SPG is shown when sponsors miss a cycle, share an
action, complete one, leave statuses blank, propose a later date or reply late.

Four quarters on the test plan (Helen has BA1.01-03; BA3.01 and BA3.02 are joint between
Sharon and Allen; Allen alone has BA4.01). Sharon's returns are filled and saved by a real
LibreOffice Calc; the others by openpyxl, as the sample sponsors are. Every assertion reads
what xlplan wrote: the master tracker's sheets, the report, the SPG email.
"""

from __future__ import annotations

import shutil
import zipfile
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from conftest import MASTER_HEADER, make_plan_folder
from helpers import ALLEN, HELEN, SHARON
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from libreoffice import edit_and_save

from xlplan.collect import collect
from xlplan.generate import generate
from xlplan.ledger import Ledger
from xlplan.mail import spg_draft
from xlplan.paper import build_paper
from xlplan.plan import Plan, load_plan
from xlplan.report import to_markdown, to_text
from xlplan.samples.sponsor import fill_return
from xlplan.standing import picture, standings
from xlplan.summary import summarise

Q2, Q3, Q4, Q1 = "2025-Q2", "2025-Q3", "2025-Q4", "2026-Q1"
SPG = {Q2: date(2025, 7, 3), Q3: date(2025, 10, 2), Q4: date(2026, 1, 8), Q1: date(2026, 4, 2)}
# Actions sheet columns (tests/helpers.py): J progress, K RAG, L actual, M revised due, N comments.
COLUMN = {"progress": "J", "rag": "K", "actual": "L", "revised_due": "M", "comments": "N"}

RETURNS: dict[str, dict[str, dict[str, dict[str, Any]]]] = {
    Q2: {
        HELEN: {
            "BA1.01": {"progress": "Recruitment stalled: two posts vacant", "rag": "Red"},
            "BA1.02": {"progress": "All six locality plans published", "rag": "Blue"},
            "BA1.03": {"progress": "Survey in the field", "rag": "Green", "actual": 86},
        },
        SHARON: {
            "BA3.01": {"progress": "Strategy drafted", "rag": "Green"},
            "BA3.02": {"progress": "Our trainer has left: sessions cancelled", "rag": "Red", "actual": 120},
        },
        ALLEN: {
            "BA3.01": {"progress": "Consultation on track", "rag": "Green"},
            "BA3.02": {"progress": "Health staff trained on schedule", "rag": "Green", "actual": 400},
            "BA4.01": {"progress": "Supplier delays", "rag": "Amber", "actual": 870},
        },
    },
    Q3: {
        # Helen sends nothing by the deadline (her return arrives after Q4 is generated).
        SHARON: {
            "BA3.01": {"progress": "Strategy agreed by the chief officers", "rag": "Green"},
            "BA3.02": {"progress": "New trainer starts in November"},  # status left blank: no update
        },
        ALLEN: {
            "BA3.01": {"progress": "Consultation closed", "rag": "Green"},
            "BA3.02": {"progress": "On schedule", "rag": "Green", "actual": 410},
            "BA4.01": {
                "progress": "Supplier delays continue",
                "rag": "Amber",
                "actual": 880,
                "revised_due": date(2026, 3, 31),
            },
        },
    },
    Q4: {
        SHARON: {
            "BA3.01": {"progress": "Action plan being implemented", "rag": "Green"},
            "BA3.02": {"progress": "Sessions restarted", "rag": "Amber", "actual": 300},
        },
        ALLEN: {
            "BA3.01": {"progress": "On track", "rag": "Green"},
            "BA3.02": {"progress": "On track", "rag": "Green", "actual": 420},
            "BA4.01": {"progress": "Installs resumed"},  # status left blank: no update
        },
    },
}
LATE_Q3_HELEN = {
    "BA1.01": {"progress": "One post filled in September", "rag": "Red"},
    "BA1.03": {"progress": "Survey closed", "rag": "Green", "actual": 87},
}


def _fill(plan: Plan, cycle: str, who: str, values: dict[str, dict[str, Any]], dst: Path) -> None:
    """Sharon fills hers in LibreOffice Calc; the others' are filled by openpyxl."""
    src = plan.folder.outgoing_dir(cycle) / f"{cycle} return - {who}.xlsx"
    if who != SHARON:
        fill_return(src, dst, plan.template, values)
        return
    rows = _rows_by_ref(src)
    edits = [("Actions", f"{COLUMN[k]}{rows[ref]}", v) for ref, fields in values.items() for k, v in fields.items()]
    edit_and_save(src, dst, edits)
    with zipfile.ZipFile(dst) as package:  # saved by Calc itself, not written by us
        assert b"LibreOffice" in package.read("docProps/app.xml")


def _rows_by_ref(path: Path) -> dict[str, int]:
    book = openpyxl.load_workbook(path, read_only=True)
    ws = book["Actions"]
    found = {row[0].value: row[0].row for row in ws.iter_rows(min_row=MASTER_HEADER + 1) if row[0].value}
    book.close()
    return found


def sheet(master: Path, name: str) -> list[dict[str, Any]]:
    """A master sheet's table as dicts, header row to the last row with a Ref."""
    book = openpyxl.load_workbook(master, read_only=True, data_only=True)
    rows = list(book[name].iter_rows(min_row=MASTER_HEADER, values_only=True))
    book.close()
    header = [str(h) if h is not None else "" for h in rows[0]]
    return [dict(zip(header, r, strict=False)) for r in rows[1:] if r and r[0]]


def by_ref(master: Path, name: str) -> dict[str, dict[str, Any]]:
    return {str(r[next(iter(r))]): r for r in sheet(master, name)}


def _cycle(plan: Plan, cycle: str, returns: dict[str, dict[str, dict[str, Any]]]) -> None:
    gen = generate(plan, cycle, spg_date=SPG[cycle], deadline=None)
    for who, values in returns.items():
        _fill(plan, cycle, who, values, plan.folder.returns_dir / f"{who.split()[0]} {cycle}.xlsx")
    assert gen.deadline is not None
    result = collect(plan, cycle=cycle, today=gen.deadline)
    assert result.ok, [(o.path.name, o.status, o.detail) for o in result.outcomes]


@pytest.fixture(scope="module")
def four_quarters(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The plan after each quarter: a copy of the folder, keyed by cycle."""
    root = tmp_path_factory.mktemp("over-time") / "plan"
    plan = load_plan(make_plan_folder(root))
    snapshots: dict[str, Path] = {}
    for cycle in (Q2, Q3, Q4):
        _cycle(plan, cycle, RETURNS[cycle])
        snapshots[cycle] = Path(shutil.copytree(root, root.parent / f"after-{cycle}"))
    # Helen's 2025-Q3 return arrives after 2025-Q4 was generated and collected.
    _fill(plan, Q3, HELEN, LATE_Q3_HELEN, plan.folder.returns_dir / "Helen late.xlsx")
    refused = collect(plan, today=SPG[Q4])
    late = next(o for o in refused.outcomes if o.path.name == "Helen late.xlsx")
    snapshots["late-message"] = Path(root.parent / "late.txt")
    snapshots["late-message"].write_text(f"{late.status}\n{late.detail}")
    filed = collect(plan, cycle=Q3, today=SPG[Q4])
    assert filed.ok
    snapshots["late-filed"] = Path(shutil.copytree(root, root.parent / "after-late"))
    return snapshots


def master_of(folder: Path) -> Path:
    return folder / "master-tracker.xlsx"


@pytest.mark.libreoffice
def test_joint_sponsors_most_severe_status_wins_and_both_notes_are_shown(four_quarters: dict[str, Path]) -> None:
    status = by_ref(master_of(four_quarters[Q2]), "Current status")
    shared = status["BA3.02"]
    assert shared["RAG status"] == "Red"  # Sharon Red, Allen Green: the most severe
    assert "Sharon McAlees: Our trainer has left" in shared["Progress this period"]
    assert "Allen Stevenson: Health staff trained" in shared["Progress this period"]
    risk = by_ref(master_of(four_quarters[Q2]), "Risk register")
    assert "BA3.02" in risk
    gaps = _gaps_text(four_quarters[Q2])
    assert "Allen Stevenson: Green; Sharon McAlees: Red" in gaps


@pytest.mark.libreoffice
def test_a_sponsor_who_does_not_reply_keeps_their_risks_on_the_register(four_quarters: dict[str, Path]) -> None:
    master = master_of(four_quarters[Q3])
    risk = by_ref(master, "Risk register")
    assert "BA1.01" in risk, "Helen's Red action vanished the quarter she did not reply"
    assert risk["BA1.01"]["RAG status"] == "Red"
    assert "not updated: last reported Red in 2025-Q2" in _row_text(risk["BA1.01"])
    status = by_ref(master, "Current status")
    assert status["BA1.01"]["RAG status"] == "Red"
    assert status["BA1.01"]["Updated"] == "no"
    plan = load_plan_at(four_quarters[Q3])
    with Ledger(plan.folder.ledger_file) as ledger:
        paper = build_paper(plan, ledger, Q3, SPG[Q3])
    text = to_text(paper) + to_markdown(paper)
    assert "BA1.01" in text
    body = spg_draft(plan, Q3, SPG[Q3]).get_body(("html",))
    assert body is not None
    assert "BA1.01 is Red (not updated: last reported Red in 2025-Q2 (1 cycle ago))" in body.get_content()


@pytest.mark.libreoffice
def test_a_completed_action_is_never_overdue_and_not_asked_for_again(four_quarters: dict[str, Path]) -> None:
    for cycle in (Q3, Q4):
        plan = load_plan_at(four_quarters[cycle])
        with Ledger(plan.folder.ledger_file) as ledger:
            summary = summarise(plan, ledger, cycle, SPG[cycle])
        assert summary.gaps is not None
        assert "BA1.02" not in [g.ref for g in summary.gaps.overdue]
        assert "BA1.02" not in [g.ref for g in summary.gaps.no_update]
        status = by_ref(master_of(four_quarters[cycle]), "Current status")
        assert status["BA1.02"]["RAG status"] == "Blue"
    # Helen's 2025-Q4 workbook shows BA1.02 as complete, its row locked.
    q4 = four_quarters[Q4] / "outgoing" / Q4 / f"{Q4} return - {HELEN}.xlsx"
    book = openpyxl.load_workbook(q4)
    ws = book["Actions"]
    row = _rows_by_ref(q4)["BA1.02"]
    assert ws[f"H{row}"].value == "Blue"  # Last RAG
    assert ws[f"K{row}"].protection.locked  # RAG status cannot be filled in
    assert not ws[f"K{_rows_by_ref(q4)['BA1.01']}"].protection.locked


@pytest.mark.libreoffice
def test_a_blank_status_merges_the_rest_and_carries_the_last_status(four_quarters: dict[str, Path]) -> None:
    # 2025-Q3: Sharon left shared BA3.02 blank; Allen reported Green: Allen's Green stands.
    plan = load_plan_at(four_quarters[Q3])
    with Ledger(plan.folder.ledger_file) as ledger:
        assert [r.outcome for r in ledger.returns(Q3) if r.recipient == SHARON] == ["merged"]
        assert ledger.entries(Q3, "Actions")[(SHARON, "BA3.02")]["progress"] == "New trainer starts in November"
    status = by_ref(master_of(four_quarters[Q3]), "Current status")
    assert (status["BA3.02"]["RAG status"], status["BA3.02"]["Status from"]) == ("Green", f"reported by {ALLEN}")
    # 2025-Q4: Allen left BA4.01 (his alone) blank: merged, its Amber carried forward, a gap.
    plan = load_plan_at(four_quarters[Q4])
    with Ledger(plan.folder.ledger_file) as ledger:
        assert [r.outcome for r in ledger.returns(Q4) if r.recipient == ALLEN] == ["merged"]
        summary = summarise(plan, ledger, Q4, SPG[Q4])
    assert summary.gaps is not None
    assert [(g.ref, g.status, g.detail) for g in summary.gaps.no_status] == [
        ("BA4.01", "Amber", "not updated: last reported Amber in 2025-Q3 (1 cycle ago)")
    ]
    risk = by_ref(master_of(four_quarters[Q4]), "Risk register")
    assert (risk["BA4.01"]["RAG status"], risk["BA4.01"]["Movement"]) == ("Amber", "not updated")
    assert risk["BA4.01"]["Cycles at Red or Amber"] == 3


@pytest.mark.libreoffice
def test_a_proposed_revised_date_is_shown_in_the_next_workbook(four_quarters: dict[str, Path]) -> None:
    q4 = four_quarters[Q4] / "outgoing" / Q4 / f"{Q4} return - {ALLEN}.xlsx"
    book = openpyxl.load_workbook(q4)
    value = book["Actions"][f"M{_rows_by_ref(q4)['BA4.01']}"].value
    assert value is not None and value.date() == date(2026, 3, 31)


@pytest.mark.libreoffice
def test_a_late_return_is_explained_then_filed_into_its_own_cycle(four_quarters: dict[str, Path]) -> None:
    status, detail = four_quarters["late-message"].read_text().split("\n", 1)
    assert status == "late"
    assert f"xlplan collect --cycle {Q3}" in detail
    folder = four_quarters["late-filed"]
    plan = load_plan_at(folder)
    trend = by_ref(master_of(folder), "Trend")
    assert trend["BA1.01"][Q3] == "Red"  # the late return filled in its own quarter
    book = openpyxl.load_workbook(master_of(folder), read_only=True)
    assert Q4 in str(book["Dashboard"]["A2"].value or "") + str(book["Dashboard"]["A1"].value or "")
    book.close()
    with Ledger(plan.folder.ledger_file) as ledger:
        assert [r.recipient for r in ledger.returns(Q3) if r.outcome == "merged"].count(HELEN) == 1


def load_plan_at(folder: Path) -> Plan:
    from xlplan.plan_folder import PlanFolder

    return load_plan(PlanFolder(folder))


def _row_text(row: dict[str, Any]) -> str:
    return " | ".join(str(v) for v in row.values() if v is not None)


def _gaps_text(folder: Path) -> str:
    book = openpyxl.load_workbook(master_of(folder), read_only=True, data_only=True)
    text = "\n".join(" | ".join(str(v) for v in r if v is not None) for r in book["Gaps"].iter_rows(values_only=True))
    book.close()
    return text


# --- the names and order of files never change the picture ----------------------------


@pytest.fixture(scope="module")
def joint_returns(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Path]]:
    root = tmp_path_factory.mktemp("names") / "plan"
    plan = load_plan(make_plan_folder(root))
    generate(plan, Q2, spg_date=SPG[Q2], deadline=None)
    files = {}
    for who, values in RETURNS[Q2].items():
        files[who] = root.parent / f"{who}.xlsx"
        src = plan.folder.outgoing_dir(Q2) / f"{Q2} return - {who}.xlsx"
        fill_return(src, files[who], plan.template, values)
    return root, files


NAMES = st.text(alphabet="abcz019 _-", min_size=1, max_size=12)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(NAMES, min_size=3, max_size=3, unique=True), order=st.permutations([HELEN, SHARON, ALLEN]))
def test_file_names_and_merge_order_never_change_the_statuses(
    joint_returns: tuple[Path, dict[str, Path]],
    tmp_path_factory: pytest.TempPathFactory,
    names: list[str],
    order: list[str],
) -> None:
    pristine, files = joint_returns
    root = tmp_path_factory.mktemp("run") / "plan"
    shutil.copytree(pristine, root)
    plan = load_plan_at(root)
    # One run per file, in the drawn order: merge order is then the drawn order too.
    for name, who in zip(names, order, strict=True):
        shutil.copy(files[who], plan.folder.returns_dir / f"{name}.xlsx")
        collect(plan, cycle=Q2, today=SPG[Q2])
    status = {ref: row["RAG status"] for ref, row in by_ref(root / "master-tracker.xlsx", "Current status").items()}
    assert status == {
        "BA1.01": "Red",
        "BA1.02": "Blue",
        "BA1.03": "Green",
        "BA3.01": "Green",
        "BA3.02": "Red",
        "BA4.01": "Amber",
    }


def test_standings_of_every_cycle_at_once_are_each_cycles_picture(four_quarters: dict[str, Path]) -> None:
    """`export standing` reads the statuses once for all cycles: the same standings as one
    picture per cycle (a carried-forward Red, a late return filed into its own cycle)."""
    plan = load_plan_at(four_quarters["late-filed"])
    with Ledger(plan.folder.ledger_file) as ledger:
        cycles = ledger.cycles()
        at_once = standings(plan, ledger, cycles)
        assert list(at_once) == [Q2, Q3, Q4]
        for cycle in cycles:
            assert at_once[cycle] == dict(picture(plan, ledger, cycle).now), cycle
        assert {s.source for per in at_once.values() for s in per.values()} >= {"reported", "carried"}
