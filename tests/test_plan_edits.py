"""The officer edits plan.xlsx between generate and collect: nobody is blamed, nothing is lost.

Each test generates the test plan's workbooks, has a sponsor fill hers cleanly, edits the
plan as an officer would (an action added, removed, renamed, moved; a sponsor replaced; a
locked value or a Big Action's title corrected), then collects. The return is checked
against what was sent to her (kept in the ledger at generate) and mapped onto the plan
now: merged, with notes for the officer, every update in the ledger, no error. Some
returns are filled and saved by a real LibreOffice Calc.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from conftest import ACTIONS, BA1, SETTINGS, SPONSORS
from helpers import CLEAN, CYCLE, FEEDBACK, HELEN, SHARON, TODAY, Env, codes, copy_env, describe, issues, only
from libreoffice import edit_and_save

from xlplan.codes import Code
from xlplan.gaps import find_gaps
from xlplan.master import render_master
from xlplan.plan import load_plan
from xlplan.plan_sheets import Recipient
from xlplan.plan_workbook import write_plan_workbook
from xlplan.template import Template

DANA = "Dana Newman"
BA1_CORRECTED = "Big Action 1: Reducing inequalities in health and wellbeing"


@pytest.fixture
def env(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Env:
    return copy_env(tmp_path_factory, tmp_path / "plan")


def edit_plan(
    env: Env,
    actions: list[dict[str, Any]],
    sponsors: list[Recipient] | None = None,
    template: Template | None = None,
) -> None:
    """The officer saves a new plan.xlsx (written from data, as `xlplan init` lays it out)."""
    write_plan_workbook(env.folder.plan_file, template or env.plan.template, SETTINGS, sponsors or SPONSORS, actions)
    env.plan = load_plan(env.folder)


def actions_with(changes: dict[str, dict[str, Any] | None], *added: dict[str, Any]) -> list[dict[str, Any]]:
    """The test plan's actions with some changed ({ref: {field: value}}) or removed ({ref: None})."""
    out = []
    for action in ACTIONS:
        change = changes.get(action["ref"], {})
        if change is not None:
            out.append({**action, **change})
    return out + list(added)


def helens_return(env: Env, feedback: bool = True) -> Path:
    return env.fill(HELEN, feedback=FEEDBACK[HELEN] if feedback else None)


def merged_clean(env: Env) -> Any:
    out = only(env.collect())
    assert out.status == "merged", describe(out)
    assert out.report.errors == [] and out.report.warnings == [], describe(out)
    return out


def stored(env: Env, who: str = HELEN) -> dict[str, dict[str, Any]]:
    return {ref: values for (w, ref), values in env.entries().items() if w == who}


def expected(ref: str) -> dict[str, Any]:
    """Helen's clean values for `ref`, as the ledger keeps them."""
    row = {"progress": None, "rag": None, "actual": None, "revised_due": None, "comments": None}
    for k, v in CLEAN[HELEN][ref].items():
        row[k] = v.isoformat() if isinstance(v, date) else float(v) if isinstance(v, int) else v
    return row


# --- actions -------------------------------------------------------------------------------


def test_an_action_added_since_is_not_in_the_workbook_and_not_an_error(env: Env) -> None:
    helens_return(env)
    new = {**ACTIONS[0], "ref": "BA1.04", "action": "Open a wellbeing hub", "target": None}
    edit_plan(env, actions_with({}, new))
    out = merged_clean(env)
    note = issues(out, Code.PLAN_ADDED)
    assert [(i.severity, i.ref) for i in note] == [("note", "BA1.04")]
    assert "will be in the next one" in note[0].message
    assert stored(env) == {ref: expected(ref) for ref in ("BA1.01", "BA1.02", "BA1.03")}


def test_an_action_removed_since_keeps_its_update_as_history(env: Env) -> None:
    helens_return(env)
    edit_plan(env, actions_with({"BA1.03": None}))
    out = merged_clean(env)
    note = one_note(out, Code.PLAN_REMOVED)
    assert (note.ref, note.where) == ("BA1.03", "Actions!A7")
    assert "kept in the ledger as history" in note.message
    assert stored(env) == {ref: expected(ref) for ref in ("BA1.01", "BA1.02", "BA1.03")}


def test_a_ref_renamed_with_previous_ref_is_filed_under_the_new_ref(env: Env) -> None:
    helens_return(env)
    edit_plan(env, actions_with({"BA1.03": {"ref": "BA1.05", "previous_ref": "BA1.03"}}))
    out = merged_clean(env)
    note = one_note(out, Code.PLAN_RENAMED)
    assert note.ref == "BA1.03" and "BA1.05" in note.message
    assert not issues(out, Code.PLAN_REMOVED) and not issues(out, Code.PLAN_ADDED)
    assert stored(env) == {"BA1.01": expected("BA1.01"), "BA1.02": expected("BA1.02"), "BA1.05": expected("BA1.03")}


def test_a_ref_renamed_without_previous_ref_is_removed_plus_added_with_both_named(env: Env) -> None:
    helens_return(env)
    edit_plan(env, actions_with({"BA1.03": {"ref": "BA1.05"}}))
    out = merged_clean(env)
    removed = one_note(out, Code.PLAN_REMOVED)
    assert removed.ref == "BA1.03"
    assert "BA1.05" in removed.message and "'Previous ref'" in removed.message
    assert [i.ref for i in issues(out, Code.PLAN_ADDED)] == ["BA1.05"]
    assert stored(env) == {ref: expected(ref) for ref in ("BA1.01", "BA1.02", "BA1.03")}


def test_an_action_moved_to_another_sponsor_is_accepted_from_both_workbooks(env: Env) -> None:
    helens_return(env)
    env.fill(SHARON)
    edit_plan(env, actions_with({"BA1.02": {"sponsor": SHARON}}))
    result = env.collect()
    helen, sharon = sorted(result.outcomes, key=lambda o: o.recipient)
    for out in (helen, sharon):
        assert out.status == "merged" and out.report.errors == [] and out.report.warnings == [], describe(out)
    moved = one_note(helen, Code.PLAN_MOVED)
    assert moved.ref == "BA1.02" and SHARON in moved.message
    assert [i.ref for i in issues(sharon, Code.PLAN_ADDED)] == ["BA1.02"]  # it will be in her next workbook
    assert stored(env)["BA1.02"] == expected("BA1.02")


def test_a_sponsor_replaced_is_accepted_for_the_workbook_she_answered(env: Env) -> None:
    helens_return(env)
    sponsors = [Recipient(DANA, "dana@example.org", "Head of Strategy"), *SPONSORS[1:]]
    edit_plan(env, actions_with({r: {"sponsor": DANA} for r in ("BA1.01", "BA1.02", "BA1.03")}), sponsors)
    out = merged_clean(env)
    assert out.recipient == DANA
    note = one_note(out, Code.RECIPIENT_REPLACED)
    assert HELEN in note.message and DANA in note.message
    assert stored(env, DANA) == {ref: expected(ref) for ref in ("BA1.01", "BA1.02", "BA1.03")}
    assert env.entries(sheet="Feedback") == {(DANA, BA1): FEEDBACK[HELEN][BA1]}
    with env.ledger() as ledger:
        gaps = find_gaps(env.plan, ledger, CYCLE, TODAY)
    assert DANA not in {m.recipient for m in gaps.missing_returns}


def test_a_locked_value_corrected_by_the_officer_is_not_the_sponsors_doing(env: Env) -> None:
    helens_return(env)
    edit_plan(
        env,
        actions_with(
            {
                "BA1.01": {"action": "Extend community link workers to every GP practice", "target": 1300},
                "BA1.03": {"due": date(2027, 3, 31), "measure": "% reporting good wellbeing"},
            }
        ),
    )
    merged_clean(env)
    assert stored(env) == {ref: expected(ref) for ref in ("BA1.01", "BA1.02", "BA1.03")}


def test_a_locked_value_corrected_is_checked_against_what_was_sent_when_the_fingerprints_are_gone(env: Env) -> None:
    path = helens_return(env)
    book = openpyxl.load_workbook(path)
    del book["_xlplan"]  # identified from the document properties alone: no fingerprints
    book.save(path)
    edit_plan(env, actions_with({"BA1.01": {"due": date(2024, 6, 30)}}))
    out = only(env.collect())
    assert out.status == "merged", describe(out)
    assert codes(out, "error") == [] and not issues(out, Code.LOCKED_CHANGED), describe(out)


def test_a_sponsor_who_changed_a_locked_value_is_still_told(env: Env) -> None:
    path = helens_return(env)
    book = openpyxl.load_workbook(path)
    book["Actions"]["C5"].value = "Extend link workers to some GP practices"
    book.save(path)
    edit_plan(env, actions_with({"BA1.01": {"due": date(2024, 6, 30)}}))  # the officer's edit: not an error
    out = only(env.collect())
    assert out.status == "quarantined"
    assert [(i.code, i.where) for i in out.report.errors] == [("locked-changed", "Actions!C5")], describe(out)


def test_a_row_the_sponsor_deleted_is_still_an_error(env: Env) -> None:
    values = {k: v for k, v in CLEAN[HELEN].items() if k != "BA1.02"}
    path = env.fill(HELEN, values)
    book = openpyxl.load_workbook(path)
    book["Actions"].delete_rows(6)
    book.save(path)
    edit_plan(env, actions_with({}, {**ACTIONS[0], "ref": "BA1.04"}))
    out = only(env.collect())
    assert out.status == "quarantined"
    assert [(i.code, i.ref) for i in out.report.errors] == [("missing-ref", "BA1.02")], describe(out)


# --- groups ----------------------------------------------------------------------------------


def test_a_big_action_title_corrected_keeps_its_feedback(env: Env) -> None:
    helens_return(env)
    edit_plan(env, actions_with({r: {"big_action": BA1_CORRECTED} for r in ("BA1.01", "BA1.02", "BA1.03")}))
    out = merged_clean(env)
    note = one_note(out, Code.GROUP_RENAMED)
    assert BA1 in note.message and BA1_CORRECTED in note.message
    assert env.entries(sheet="Feedback") == {(HELEN, BA1_CORRECTED): FEEDBACK[HELEN][BA1]}
    result = env.collect(render=True)
    assert result.master is not None
    texts = master_texts(result.master, "Feedback")
    assert BA1_CORRECTED in texts and FEEDBACK[HELEN][BA1]["feedback"] in texts and "Mrs A's story" in texts


def test_feedback_that_cannot_be_placed_is_kept_and_named(env: Env) -> None:
    helens_return(env)
    # BA1's title loses its number and its actions go: nothing says where its feedback belongs.
    edit_plan(
        env,
        actions_with(
            {"BA1.01": None, "BA1.02": None, "BA1.03": None},
            {**ACTIONS[0], "ref": "X.01", "big_action": "Inequalities", "sponsor": HELEN},
        ),
    )
    out = only(env.collect())
    assert out.status == "merged" and out.report.errors == [], describe(out)
    note = one_note(out, Code.GROUP_UNPLACED)
    assert BA1 in note.message
    assert env.entries(sheet="Feedback") == {(HELEN, BA1): FEEDBACK[HELEN][BA1]}


# --- ledgers and plans from before -------------------------------------------------------


def test_a_ledger_without_plan_versions_checks_against_the_plan_now(env: Env) -> None:
    helens_return(env)
    with sqlite3.connect(env.folder.ledger_file) as db:  # a ledger written before plan versions were kept
        db.execute("DROP TABLE issued_plans")
    db.close()
    edit_plan(
        env,
        actions_with(
            {r: {"big_action": BA1_CORRECTED} for r in ("BA1.01", "BA1.02", "BA1.03")},
            {**ACTIONS[0], "ref": "BA1.04", "big_action": BA1_CORRECTED},
        ),
    )
    out = only(env.collect())
    assert out.status == "quarantined"
    assert [(i.code, i.ref) for i in out.report.errors] == [("missing-ref", "BA1.04")], describe(out)
    assert one_note(out, Code.GROUP_RENAMED)  # the number still places the feedback


def test_a_plan_without_the_previous_ref_column_still_works(env: Env) -> None:
    template = env.plan.template
    spec = template.plan
    old = dataclasses.replace(template, plan=dataclasses.replace(spec, columns=spec.columns[:-1]))
    helens_return(env)
    edit_plan(env, actions_with({"BA1.03": {"ref": "BA1.05"}}), template=old)
    headers = [c.value for c in openpyxl.load_workbook(env.folder.plan_file)["Actions"][1]]
    assert "Previous ref" not in headers
    out = merged_clean(env)
    assert [i.ref for i in issues(out, Code.PLAN_REMOVED)] == ["BA1.03"]


# --- LibreOffice Calc as the sponsor's client ----------------------------------------------


@pytest.mark.libreoffice
def test_a_return_saved_by_calc_survives_every_kind_of_plan_edit(env: Env) -> None:
    dst = env.folder.returns_dir / "saved by calc.xlsx"
    edit_and_save(
        env.outgoing(HELEN),
        dst,
        [
            ("Actions", "J5", "Recruitment of two link workers delayed"),
            ("Actions", "K5", "Amber"),
            ("Actions", "L5", 1190),
            ("Actions", "M5", date(2026, 3, 31)),
            ("Actions", "J6", "All six locality plans published in June 2023"),
            ("Actions", "K6", "Blue"),
            ("Actions", "J7", "Survey in the field"),
            ("Actions", "K7", "Green"),
            ("Actions", "L7", 86),
            ("Feedback", "B5", "People value the link workers"),
            ("Feedback", "B6", "Mrs A's story"),
        ],
    )
    # The officer, meanwhile: Helen hands over to Dana; BA1.03 becomes BA1.05; BA1.02 goes to
    # Sharon; BA1.01's due date and BA1's title are corrected; a new action BA1.04 is added.
    sponsors = [Recipient(DANA, "dana@example.org", "Head of Strategy"), *SPONSORS[1:]]
    dana = {"sponsor": DANA, "big_action": BA1_CORRECTED}
    edit_plan(
        env,
        actions_with(
            {
                "BA1.01": {**dana, "due": date(2024, 9, 30)},
                "BA1.02": {"sponsor": SHARON, "big_action": BA1_CORRECTED},
                "BA1.03": {**dana, "ref": "BA1.05", "previous_ref": "BA1.03"},
            },
            {**ACTIONS[0], **dana, "ref": "BA1.04", "action": "Open a wellbeing hub"},
        ),
        sponsors,
    )
    out = merged_clean(env)
    assert out.recipient == DANA
    assert sorted(set(codes(out, "note"))) == sorted(
        ["recipient-replaced", "plan-renamed", "plan-moved", "plan-added", "group-renamed"]
    ), describe(out)
    assert [i.ref for i in issues(out, Code.PLAN_ADDED)] == ["BA1.04"]
    assert stored(env, DANA) == {
        "BA1.01": expected("BA1.01"),
        "BA1.02": expected("BA1.02"),
        "BA1.05": expected("BA1.03"),
    }
    assert env.entries(sheet="Feedback") == {(DANA, BA1_CORRECTED): FEEDBACK[HELEN][BA1]}


@pytest.mark.libreoffice
def test_a_return_saved_by_calc_for_a_removed_action_is_kept(env: Env) -> None:
    dst = env.folder.returns_dir / "sharon in calc.xlsx"
    edit_and_save(
        env.outgoing(SHARON),
        dst,
        [
            ("Actions", "J5", "Strategy drafted"),
            ("Actions", "K5", "Green"),
            ("Actions", "J6", "Training on track"),
            ("Actions", "K6", "Green"),
            ("Actions", "L6", 420),
        ],
    )
    edit_plan(env, actions_with({"BA3.01": None}))
    out = merged_clean(env)
    assert [i.ref for i in issues(out, Code.PLAN_REMOVED)] == ["BA3.01"]
    assert stored(env, SHARON)["BA3.01"]["progress"] == "Strategy drafted"


# --- helpers -----------------------------------------------------------------------------------


def one_note(out: Any, code: Code) -> Any:
    found = issues(out, code)
    assert len(found) == 1, describe(out)
    assert found[0].severity == "note"
    return found[0]


def master_texts(master: Path, sheet: str) -> str:
    book = openpyxl.load_workbook(master, read_only=True)
    text = "\n".join(str(v) for row in book[sheet].iter_rows(values_only=True) for v in row if v is not None)
    book.close()
    return text


def test_a_big_action_title_corrected_after_collect_shows_its_feedback_under_the_title_now(env: Env) -> None:
    helens_return(env)
    merged_clean(env)
    edit_plan(env, actions_with({r: {"big_action": BA1_CORRECTED} for r in ("BA1.01", "BA1.02", "BA1.03")}))
    with env.ledger() as ledger:
        master = render_master(env.plan, ledger, CYCLE, find_gaps(env.plan, ledger, CYCLE, TODAY)).path
    book = openpyxl.load_workbook(master, read_only=True)
    cells = [row[0] for row in book["Feedback"].iter_rows(values_only=True) if row and row[0]]
    book.close()
    assert BA1 not in cells  # no band of its own under the old title
    band = cells.index(BA1_CORRECTED)
    assert cells[band + 1] == HELEN  # her feedback, under the title now
