"""Collect end to end: merge into the ledger, conflicts, idempotence, dry run, feedback copies,
the master tracker's crash safety, and returns saved by a real LibreOffice Calc."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from conftest import BA1, BA3
from helpers import (
    ALLEN,
    CLEAN,
    CYCLE,
    FEEDBACK,
    HELEN,
    PREVIOUS,
    PREVIOUS_SPG,
    SHARON,
    SPG,
    Env,
    copy_env,
    describe,
    edit_workbook,
    issues,
    one,
    only,
    outcome_for,
)
from libreoffice import edit_and_save

from xlplan.generate import generate
from xlplan.merge import archive_path

EDIT_FILL = "FFFFFBEA"  # a clean editable cell
ERROR_FILL = "FFFFC7CE"
WARNING_FILL = "FFFFEB9C"


@pytest.fixture
def env(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Env:
    return copy_env(tmp_path_factory, tmp_path / "plan")


@pytest.fixture
def two_cycles(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Env:
    """2025-Q2 generated, Helen's clean return collected; 2025-Q3 then generated from it."""
    env = copy_env(tmp_path_factory, tmp_path / "plan", ((PREVIOUS, PREVIOUS_SPG),))
    env.fill(HELEN, cycle=PREVIOUS, feedback=FEEDBACK[HELEN])
    assert only(env.collect(cycle=PREVIOUS)).status == "merged"
    generate(env.plan, CYCLE, spg_date=SPG, deadline=None)
    return env


def helen(**changes: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out = {ref: dict(values) for ref, values in CLEAN[HELEN].items()}
    for ref, values in changes.items():
        ref = ref.replace("_", ".")
        out[ref] = {**out[ref], **values}
    return out


BAD = {"BA1_01": {"rag": "Grenn"}}  # one error: K5
WARNED = {"BA1_02": {"progress": None}}  # one warning: Blue without a note, J6


def archive_files(env: Env) -> list[Path]:
    return sorted(p for p in env.folder.archive_dir.rglob("*") if p.is_file())


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def feedback_files(env: Env) -> list[Path]:
    root = env.folder.root / "feedback"
    return sorted(root.rglob("*.xlsx")) if root.exists() else []


def sheet_values(path: Path, sheet: str, from_row: int = 4) -> list[tuple[Any, ...]]:
    ws = openpyxl.load_workbook(path)[sheet]
    return [row for row in ws.iter_rows(min_row=from_row, values_only=True)]


# --- merge: whole or not at all ----------------------------------------------------


def test_return_with_errors_is_quarantined_and_nothing_of_it_is_merged(env: Env) -> None:
    bad = env.fill(HELEN, helen(**BAD), feedback=FEEDBACK[HELEN])
    env.fill(SHARON)
    result = env.collect()
    out, good = outcome_for(result, bad.name), outcome_for(result, f"{SHARON} {CYCLE}.xlsx")
    assert out.status == "quarantined"
    assert good.status == "merged"
    assert not result.ok
    with env.ledger() as ledger:
        assert all(who == SHARON for who, _ in ledger.entries(CYCLE, "Actions"))
        assert all(who == SHARON for who, _ in ledger.entries(CYCLE, "Feedback"))
        assert all(row.recipient == SHARON for row in ledger.audit())
        logged = {row.file: row for row in ledger.returns(CYCLE)}
    row = logged[bad.name]
    assert (row.outcome, row.recipient, row.errors, row.warnings) == ("quarantined", HELEN, 1, 0)
    logged_issue = row.issues[0].as_dict()
    assert (logged_issue["code"], logged_issue["where"]) == ("bad-choice", "Actions!K5")
    assert logged[good.path.name].outcome == "merged"


def test_return_with_warnings_only_is_merged_with_its_warnings(env: Env) -> None:
    path = env.fill(HELEN, helen(**WARNED))
    result = env.collect()
    out = only(result)
    assert out.status == "merged"
    assert [i.where for i in out.report.warnings] == ["Actions!J6"]
    assert result.ok
    assert env.entries()[(HELEN, "BA1.02")] == {
        "progress": None,
        "rag": "Blue",
        "actual": None,
        "revised_due": None,
        "comments": None,
    }
    with env.ledger() as ledger:
        row = ledger.returns(CYCLE)[0]
    assert (row.file, row.outcome, row.errors, row.warnings) == (path.name, "merged", 0, 1)
    assert result.as_dict()["returns"][0]["issues"][0]["where"] == "Actions!J6"


def test_merged_values_are_typed_in_the_ledger(env: Env) -> None:
    env.fill(HELEN, feedback=FEEDBACK[HELEN])
    assert only(env.collect()).status == "merged"
    entries = env.entries()
    assert entries[(HELEN, "BA1.01")] == {
        "progress": "Recruitment of two link workers delayed",
        "rag": "Amber",
        "actual": 1190.0,
        "revised_due": "2026-03-31",
        "comments": None,
    }
    assert env.entries(sheet="Feedback") == {
        (HELEN, BA1): {"feedback": "People value the link workers", "case_study": "Mrs A's story"}
    }
    with env.ledger() as ledger:
        assert (CYCLE, HELEN, "BA1.03", "Green") in ledger.statuses("Actions", "rag")


def test_joint_sponsors_each_return_the_shared_actions_without_conflict(env: Env) -> None:
    env.fill(SHARON)
    env.fill(ALLEN)
    result = env.collect()
    assert sorted(o.status for o in result.outcomes) == ["merged", "merged"]
    entries = env.entries()
    assert entries[(SHARON, "BA3.01")]["rag"] == "Green"
    assert entries[(ALLEN, "BA3.01")]["rag"] == "Amber"
    assert entries[(ALLEN, "BA4.01")]["actual"] == 950.0


def test_history_is_kept_across_two_cycles(two_cycles: Env) -> None:
    env = two_cycles
    sent = openpyxl.load_workbook(env.outgoing(HELEN))["Actions"]
    assert [sent[f"H{r}"].value for r in (5, 6, 7)] == ["Amber", "Blue", "Green"]  # last RAG
    path = env.fill(
        HELEN,
        helen(
            BA1_01={"rag": "Red", "progress": "Recruitment failed; re-advertising"},
            BA1_03={"rag": "Amber", "progress": "Response rate low", "actual": 84},
        ),
    )
    out = outcome_for(env.collect(), path.name)
    assert out.status == "merged", describe(out)
    with env.ledger() as ledger:
        assert ledger.previous_cycle(CYCLE) == PREVIOUS
        history: dict[str, dict[str, str]] = {}
        for cycle, _who, ref, rag in ledger.statuses("Actions", "rag"):
            history.setdefault(ref, {})[cycle] = rag
        q2, q3 = ledger.entries(PREVIOUS, "Actions"), ledger.entries(CYCLE, "Actions")
        audit = [(a.ref, a.field, a.old, a.new) for a in ledger.audit(CYCLE)]
    assert history["BA1.01"] == {PREVIOUS: "Amber", CYCLE: "Red"}
    assert history["BA1.02"] == {PREVIOUS: "Blue", CYCLE: "Blue"}
    assert history["BA1.03"] == {PREVIOUS: "Green", CYCLE: "Amber"}
    assert q2[(HELEN, "BA1.03")]["progress"] == "Survey in the field"  # last cycle untouched
    assert q3[(HELEN, "BA1.03")]["progress"] == "Response rate low"
    assert ("BA1.01", "rag", "Amber", "Red") in audit
    assert ("BA1.03", "rag", "Green", "Amber") in audit
    actual = next(a for a in audit if a[:2] == ("BA1.03", "actual"))
    assert (float(actual[2]), float(actual[3])) == (86, 84)  # "86.0" or "86": both fine
    assert not [a for a in audit if a[0] == "BA1.02"]  # nothing changed there: nothing audited


def test_audit_rows_name_ref_field_old_new_and_file(env: Env) -> None:
    first = env.fill(HELEN, name="first.xlsx")
    env.collect()
    second = env.fill(HELEN, helen(BA1_03={"rag": "Amber", "progress": "Response rate low"}), name="second.xlsx")
    result = env.collect(prefer="second.xlsx")
    assert outcome_for(result, "second.xlsx").status == "merged"
    assert outcome_for(result, "first.xlsx").status == "unchanged"
    with env.ledger() as ledger:
        audit = ledger.audit(CYCLE)
    initial = [a for a in audit if a.file == first.name]
    assert {(a.ref, a.field) for a in initial} >= {("BA1.01", "rag"), ("BA1.01", "actual"), ("BA1.03", "rag")}
    rag = next(a for a in initial if (a.ref, a.field) == ("BA1.01", "rag"))
    assert (rag.old, rag.new, rag.recipient, rag.cycle, rag.sheet) == (
        None,
        "Amber",
        HELEN,
        CYCLE,
        "Actions",
    )
    assert rag.return_sha == sha(first)
    assert rag.at
    due = next(a for a in initial if (a.ref, a.field) == ("BA1.01", "revised_due"))
    assert due.new == "2026-03-31"
    changed = [(a.ref, a.field, a.old, a.new, a.file) for a in audit if a.file == second.name]
    assert sorted(changed) == [
        ("BA1.03", "progress", "Survey in the field", "Response rate low", "second.xlsx"),
        ("BA1.03", "rag", "Green", "Amber", "second.xlsx"),
    ]


def test_second_run_on_the_same_files_changes_nothing(env: Env) -> None:
    env.fill(HELEN, feedback=FEEDBACK[HELEN])
    env.fill(SHARON, {"BA3.01": {"rag": "Grenn"}}, name="sharon bad.xlsx")
    first = env.collect()
    assert sorted(o.status for o in first.outcomes) == ["merged", "quarantined"]
    before = env.counts()
    with env.ledger() as ledger:
        entries, audit, returns = ledger.entries(CYCLE, "Actions"), ledger.audit(), ledger.returns()
    second = env.collect()
    assert [o.status for o in second.outcomes] == ["unchanged", "unchanged"]
    assert second.changed_values == 0
    for out in second.outcomes:
        assert out.detail.startswith("already collected on ")
        assert out.detail.endswith("nothing to do")
        assert out.report.issues == []
    assert "(merged)" in outcome_for(second, f"{HELEN} {CYCLE}.xlsx").detail
    assert "(quarantined)" in outcome_for(second, "sharon bad.xlsx").detail
    assert env.counts() == before
    with env.ledger() as ledger:
        assert ledger.entries(CYCLE, "Actions") == entries
        assert ledger.audit() == audit
        assert ledger.returns() == returns


def test_every_ingested_file_is_archived_under_its_sha256(env: Env) -> None:
    good = env.fill(HELEN)
    bad = env.fill(SHARON, {"BA3.01": {"rag": "Grenn"}})
    env.collect()
    with env.ledger() as ledger:
        logged = {row.file: row for row in ledger.returns(CYCLE)}
    for path in (good, bad):
        digest = sha(path)
        kept = archive_path(env.folder.archive_dir, digest, ".xlsx")
        assert kept == env.folder.archive_dir / digest[:2] / f"{digest}.xlsx"
        assert kept.read_bytes() == path.read_bytes()
        assert logged[path.name].sha256 == digest
        # Stored relative to the plan folder, so the folder can be moved or shared.
        assert logged[path.name].archived == str(kept.relative_to(env.folder.root))
    assert len(archive_files(env)) == 2


# --- two returns for one sponsor -------------------------------------------------


def two_helen_returns(env: Env) -> tuple[Path, Path]:
    older = env.fill(HELEN, name="helen.xlsx")
    newer = env.fill(
        HELEN, helen(BA1_03={"rag": "Amber", "progress": "Response rate low"}), name="Copy of helen (2).xlsx"
    )
    os.utime(older, (1_750_000_000, 1_750_000_000))
    os.utime(newer, (1_760_000_000, 1_760_000_000))
    return older, newer


def test_two_returns_for_one_sponsor_are_a_conflict_and_nothing_is_merged(env: Env) -> None:
    two_helen_returns(env)
    result = env.collect()
    assert [o.status for o in result.outcomes] == ["conflict", "conflict"]
    assert not result.ok
    for out in result.outcomes:
        assert out.detail == (
            f"2 returns for {HELEN} in {CYCLE}: Copy of helen (2).xlsx, helen.xlsx. "
            'Choose with --prefer newest, or --prefer "<file name>".'
        )
    assert env.entries() == {}
    with env.ledger() as ledger:
        assert ledger.returns() == []
    assert archive_files(env) == []


@pytest.mark.parametrize(("prefer", "chosen"), [("newest", "Copy of helen (2).xlsx"), ("helen.xlsx", "helen.xlsx")])
def test_prefer_resolves_a_conflict(env: Env, prefer: str, chosen: str) -> None:
    older, newer = two_helen_returns(env)
    result = env.collect(prefer=prefer)
    other = older.name if chosen == newer.name else newer.name
    assert outcome_for(result, chosen).status == "merged"
    assert outcome_for(result, chosen).detail == f"preferred over {other}"
    assert outcome_for(result, other).status == "superseded"
    assert outcome_for(result, other).detail == f"not used: {chosen} was preferred"
    assert result.ok
    expected = "Amber" if chosen == newer.name else "Green"
    assert env.entries()[(HELEN, "BA1.03")]["rag"] == expected
    with env.ledger() as ledger:
        logged = {row.file: row.outcome for row in ledger.returns(CYCLE)}
        shas = {a.return_sha for a in ledger.audit()}
    assert logged == {chosen: "merged", other: "superseded"}
    assert shas == {sha(env.folder.returns_dir / chosen)}
    assert len(archive_files(env)) == 2  # both kept: nothing is ever lost


def test_a_new_return_after_one_was_merged_is_a_conflict_until_chosen(env: Env) -> None:
    env.fill(HELEN, name="helen.xlsx")
    env.collect()
    before = env.counts()
    env.fill(HELEN, helen(BA1_03={"rag": "Amber", "progress": "Response rate low"}), name="helen v2.xlsx")
    result = env.collect()
    out = outcome_for(result, "helen v2.xlsx")
    assert out.status == "conflict"
    assert out.detail.startswith(f"2 returns for {HELEN} in {CYCLE}: helen v2.xlsx, helen.xlsx (collected ")
    assert env.counts() == before
    assert env.entries()[(HELEN, "BA1.03")]["rag"] == "Green"
    resolved = env.collect(prefer="helen v2.xlsx")
    assert outcome_for(resolved, "helen v2.xlsx").status == "merged"
    assert env.entries()[(HELEN, "BA1.03")]["rag"] == "Amber"


def test_the_same_file_under_two_names_is_a_duplicate(env: Env) -> None:
    path = env.fill(HELEN, name="helen.xlsx")
    (env.folder.returns_dir / "helen (copy).xlsx").write_bytes(path.read_bytes())
    result = env.collect()
    first, twin = outcome_for(result, "helen (copy).xlsx"), outcome_for(result, "helen.xlsx")
    assert first.status == "merged"  # files are read in name order
    assert twin.status == "duplicate"
    assert twin.detail == "identical to helen (copy).xlsx: ignored"
    assert result.ok
    with env.ledger() as ledger:
        assert [row.file for row in ledger.returns()] == ["helen (copy).xlsx"]


def test_prefer_newest_never_replaces_a_newer_merged_return_with_an_older_file(env: Env) -> None:
    newer = env.fill(HELEN, helen(BA1_03={"rag": "Amber", "progress": "Response rate low"}), name="v2.xlsx")
    os.utime(newer, (1_760_000_000, 1_760_000_000))
    assert only(env.collect()).status == "merged"
    older = env.fill(HELEN, name="v1 draft.xlsx")  # an old draft dropped in late
    os.utime(older, (1_750_000_000, 1_750_000_000))
    result = env.collect(prefer="newest")
    assert outcome_for(result, older.name).status == "superseded", describe(outcome_for(result, older.name))
    assert env.entries()[(HELEN, "BA1.03")]["rag"] == "Amber"


def test_preferred_return_replaces_the_earlier_one_whole(env: Env) -> None:
    env.fill(HELEN, feedback=FEEDBACK[HELEN], name="a.xlsx")
    env.collect()
    env.fill(HELEN, feedback={BA1: {"feedback": "New themes"}}, name="b.xlsx")  # case study removed
    assert outcome_for(env.collect(prefer="b.xlsx"), "b.xlsx").status == "merged"
    stored = env.entries(sheet="Feedback")[(HELEN, BA1)]
    assert stored.get("feedback") == "New themes"
    assert stored.get("case_study") is None, stored


def test_replaced_earlier_return_is_logged_as_superseded(env: Env) -> None:
    env.fill(HELEN, name="a.xlsx")
    env.collect()
    env.fill(HELEN, helen(BA1_03={"rag": "Amber", "progress": "Response rate low"}), name="b.xlsx")
    env.collect(prefer="b.xlsx")
    with env.ledger() as ledger:
        assert {r.file: r.outcome for r in ledger.returns(CYCLE)} == {"a.xlsx": "superseded", "b.xlsx": "merged"}


def test_return_quarantined_for_the_wrong_cycle_can_be_collected_for_its_own(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    env = copy_env(tmp_path_factory, tmp_path / "plan", ((PREVIOUS, PREVIOUS_SPG), (CYCLE, SPG)))
    env.fill(HELEN, cycle=PREVIOUS)  # a late Q2 return
    assert only(env.collect()).status == "late"  # collected as Q3 by default: recognised, not merged
    out = only(env.collect(cycle=PREVIOUS))  # the officer collects it for its own cycle
    assert out.status == "merged", describe(out)
    assert (HELEN, "BA1.01") in env.entries(PREVIOUS)


# --- dry run ---------------------------------------------------------------------


def test_dry_run_reports_as_a_real_run_and_changes_nothing(env: Env) -> None:
    import xlplan.master  # noqa: F401  (the master would be rendered by a real run)

    env.fill(HELEN, feedback=FEEDBACK[HELEN])
    env.fill(SHARON, {"BA3.01": {"rag": "Grenn"}}, name="sharon bad.xlsx")
    before = env.counts()
    ledger_bytes = env.folder.ledger_file.read_bytes()
    dry = env.collect(dry_run=True, render=True)
    assert dry.dry_run
    assert sorted(o.status for o in dry.outcomes) == ["merged", "quarantined"]
    assert env.counts() == before
    assert env.folder.ledger_file.read_bytes() == ledger_bytes
    assert archive_files(env) == []
    assert feedback_files(env) == []
    assert not env.folder.master_file.exists()
    assert dry.master is None and dry.feedback == []
    assert dry.gaps is not None
    real = env.collect(render=True)
    assert [(o.path.name, o.status) for o in real.outcomes] == [(o.path.name, o.status) for o in dry.outcomes]
    for d, r in zip(dry.outcomes, real.outcomes, strict=True):
        assert [(i.code, i.where, i.message) for i in d.report.issues] == [
            (i.code, i.where, i.message) for i in r.report.issues
        ]
    assert env.folder.master_file.exists()


def test_dry_run_reports_the_same_gaps_as_a_real_run(env: Env) -> None:
    env.fill(HELEN)
    env.fill(SHARON, {"BA3.01": {"rag": "Grenn"}}, name="sharon bad.xlsx")
    dry = env.collect(dry_run=True)
    real = env.collect()
    assert dry.gaps is not None and real.gaps is not None
    assert sorted((m.recipient, m.outcome) for m in real.gaps.missing_returns) == [
        (ALLEN, "missing"),
        (SHARON, "quarantined"),
    ]
    assert dry.gaps.as_dict() == real.gaps.as_dict()


# --- feedback copies ---------------------------------------------------------------


def quarantine_helen(env: Env) -> tuple[Path, Any]:
    import xlplan.master  # noqa: F401  (feedback copies are written after the master)

    path = env.fill(
        HELEN,
        helen(
            BA1_01={"rag": "Grenn", "actual": "1,150"},
            BA1_02={"progress": None},  # a warning too
        ),
        name="Copy of BA1 final.xlsx",
        feedback=FEEDBACK[HELEN],
    )
    result = env.collect(render=True)
    out = only(result)
    assert out.status == "quarantined"
    assert len(result.feedback) == 1
    return path, result


def test_quarantined_return_gets_an_annotated_copy(env: Env) -> None:
    _, result = quarantine_helen(env)
    copy = result.feedback[0]
    assert copy.parent == env.folder.feedback_dir(CYCLE)
    assert copy.name == f"{CYCLE} return - {HELEN} - PLEASE FIX.xlsx"
    book = openpyxl.load_workbook(copy)
    assert book.sheetnames[0] == "Please fix"
    fix = [row for row in book["Please fix"].iter_rows(min_row=5, values_only=True) if row[0]]
    assert fix == [
        (
            "error",
            "Actions!K5",
            "BA1.01",
            "BA1.01: 'Grenn' is not a RAG status. Did you mean Green? Choose one of Red, Amber, Green, Grey, Blue from the dropdown.",
        ),
        (
            "warning",
            "Actions!J6",
            "BA1.02",
            "BA1.02: Blue means complete: please add a note of when and how it was completed.",
        ),
    ]
    assert "1 problem(s) to fix and 1 point(s) to check" in book["Please fix"]["A2"].value
    ws = book["Actions"]
    assert ws["K5"].comment is not None and "'Grenn' is not a RAG status" in ws["K5"].comment.text
    assert ws["J6"].comment is not None and "Blue means complete" in ws["J6"].comment.text
    assert ws["N5"].comment is None
    assert ws["N5"].fill.fgColor.rgb == EDIT_FILL
    assert ws["K5"].fill.fgColor.rgb == ERROR_FILL
    assert ws["J6"].fill.fgColor.rgb == WARNING_FILL
    assert len({ws["N5"].fill.fgColor.rgb, ws["K5"].fill.fgColor.rgb, ws["J6"].fill.fgColor.rgb}) == 3
    # the sponsor's own entries are kept
    assert ws["J5"].value == "Recruitment of two link workers delayed"
    assert ws["K5"].value == "Grenn"
    assert ws["L5"].value in ("1,150", 1150)
    assert ws["M5"].value.date() == date(2026, 3, 31)
    assert (ws["J7"].value, ws["K7"].value, ws["L7"].value) == ("Survey in the field", "Green", 86)
    # ...and the locked plan columns are the plan's
    assert ws["C6"].value.startswith("=Publish") and ws["C6"].data_type == "s"
    identity = {row[0]: row[1] for row in book["_xlplan"].iter_rows(values_only=True) if row[0]}
    assert (identity["plan_id"], identity["recipient"], identity["cycle"]) == ("test-plan", HELEN, CYCLE)
    props = {p.name: p.value for p in book.custom_doc_props.props}
    assert (props["xlplan_recipient"], props["xlplan_cycle"]) == (HELEN, CYCLE)


def test_annotated_copy_keeps_a_date_typed_with_a_time(env: Env) -> None:
    """calamine reads a date cell holding a time as a datetime; the copy shows its day
    (writing it raised TypeError, comparing a datetime with a date, and stopped collect)."""
    path = env.fill(HELEN, helen(BA1_01={"rag": "Grenn"}))
    edit_workbook(path, lambda book: book["Actions"].cell(5, 13, datetime(2026, 3, 31, 14, 30)))  # M5
    result = env.collect()
    assert only(result).status == "quarantined"
    ws = openpyxl.load_workbook(result.feedback[0])["Actions"]
    assert ws["M5"].value == datetime(2026, 3, 31)
    assert ws["K5"].value == "Grenn"


def test_annotated_copy_keeps_the_sponsors_feedback_sheet(env: Env) -> None:
    _, result = quarantine_helen(env)
    texts = [
        v
        for row in openpyxl.load_workbook(result.feedback[0])["Feedback"].iter_rows(values_only=True)
        for v in row
        if v
    ]
    assert "People value the link workers" in texts
    assert "Mrs A's story" in texts


def test_fixed_annotated_copy_is_collected_and_merged(env: Env) -> None:
    original, result = quarantine_helen(env)
    fixed = env.fill(
        HELEN,
        {"BA1.01": {"rag": "Amber", "actual": 1190}, "BA1.02": {"progress": "Done in June 2023"}},
        name="PLEASE FIX fixed.xlsx",
        src=result.feedback[0],
    )
    again = env.collect(render=True)
    assert outcome_for(again, original.name).status == "unchanged"
    out = outcome_for(again, fixed.name)
    assert out.status == "merged", describe(out)
    assert (out.recipient, out.cycle) == (HELEN, CYCLE)
    assert out.report.errors == [] and out.report.warnings == []
    assert again.feedback == []
    entries = env.entries()
    assert entries[(HELEN, "BA1.01")]["rag"] == "Amber"
    assert entries[(HELEN, "BA1.01")]["progress"] == "Recruitment of two link workers delayed"  # kept from the copy
    assert entries[(HELEN, "BA1.03")]["actual"] == 86.0


def test_no_feedback_copy_for_merged_or_unidentifiable_returns(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    import xlplan.master  # noqa: F401

    env = copy_env(tmp_path_factory, tmp_path / "plan", ((PREVIOUS, PREVIOUS_SPG), (CYCLE, SPG)))
    env.fill(HELEN)
    env.fill(SHARON, cycle=PREVIOUS)  # a late return: nothing wrong in it, so no copy to send back
    result = env.collect(render=True)
    assert sorted(o.status for o in result.outcomes) == ["late", "merged"]
    assert result.feedback == []
    assert feedback_files(env) == []


# --- the master tracker: crash safety, unchanged when all quarantined ------------


class Crash(BaseException):
    """A kill at the worst moment (BaseException: no `except Exception` swallows it)."""


COLLECT_IN_A_PROCESS = """
import sys
from datetime import date
from pathlib import Path
from xlplan.collect import collect
from xlplan.plan import PlanFolder, load_plan
collect(load_plan(PlanFolder(Path(sys.argv[1]))), today=date(2025, 9, 20))
"""


@pytest.mark.parametrize(
    "point",
    ["after-read", "after-archive", "in-ledger-transaction", "after-ledger", "before-rename:master-tracker.xlsx"],
)
def test_killed_collect_leaves_ledger_and_master_old_or_new(env: Env, point: str) -> None:
    """SIGKILL at each step (xlplan.files.checkpoint): ledger and master are each whole,
    old or new, and the next run finishes the job."""
    import xlplan.master  # noqa: F401

    env.fill(HELEN)
    env.collect(render=True)
    master = env.folder.master_file
    old_master, old_counts = master.read_bytes(), env.counts()
    env.fill(SHARON)
    done = subprocess.run(
        [sys.executable, "-c", COLLECT_IN_A_PROCESS, str(env.folder.root)],
        env={**os.environ, "XLPLAN_CRASH_AT": point},
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()
    counts = env.counts()
    ledger_new = counts != old_counts
    assert ledger_new == (point in ("after-ledger", "before-rename:master-tracker.xlsx"))
    if ledger_new:
        assert (SHARON, "BA3.01") in env.entries()
    else:
        assert counts == old_counts and (SHARON, "BA3.01") not in env.entries()
    assert master.read_bytes() == old_master  # never half written, and not yet replaced
    again = env.collect(render=True)
    assert sorted(o.status for o in again.outcomes) == (
        ["unchanged", "unchanged"] if ledger_new else ["merged", "unchanged"]
    )
    assert again.master == master  # re-rendered: it was older than the ledger
    rows = {row[0]: row for row in sheet_values(master, "Current status", 5) if row[0]}
    assert "Training on track" in rows["BA3.02"]  # Sharon's return is in the master now
    with env.ledger() as ledger:
        assert {r.file: r.outcome for r in ledger.returns()} == {
            f"{HELEN} {CYCLE}.xlsx": "merged",
            f"{SHARON} {CYCLE}.xlsx": "merged",
        }
    assert len(env.entries()) == 5
    assert len(archive_files(env)) == 2


def test_crash_while_writing_the_ledger_leaves_it_as_it_was(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    import xlplan.merge

    env.fill(HELEN)
    env.fill(SHARON)
    before = env.counts()
    real = xlplan.merge._merge_values
    calls = []

    def crash_on_second(*args: Any, **kwargs: Any) -> int:
        calls.append(1)
        if len(calls) == 2:
            raise Crash
        return real(*args, **kwargs)

    monkeypatch.setattr(xlplan.merge, "_merge_values", crash_on_second)
    with pytest.raises(Crash):
        env.collect()
    monkeypatch.undo()
    assert env.counts() == before  # the first return's rows were rolled back with the rest
    assert env.entries() == {}
    result = env.collect()  # and the next run does the whole job
    assert [o.status for o in result.outcomes] == ["merged", "merged"]
    assert len(env.entries()) == 5


def test_master_values_unchanged_when_every_return_is_quarantined(env: Env) -> None:
    import xlplan.master  # noqa: F401

    env.fill(HELEN)
    env.collect(render=True)
    master = env.folder.master_file
    status_before = sheet_values(master, "Current status")
    trend_before = sheet_values(master, "Trend")
    counts = env.counts()
    with env.ledger() as ledger:
        entries, audit = ledger.entries(CYCLE, "Actions"), ledger.audit()
    env.fill(SHARON, {"BA3.01": {"rag": "Grenn"}}, name="sharon bad.xlsx")
    env.fill(ALLEN, {"BA4.01": {"rag": "Red"}}, name="allen bad.xlsx")
    result = env.collect(render=True)
    assert [o.status for o in result.outcomes] == ["quarantined", "unchanged", "quarantined"]
    assert sheet_values(master, "Current status") == status_before
    assert sheet_values(master, "Trend") == trend_before
    with env.ledger() as ledger:
        assert ledger.entries(CYCLE, "Actions") == entries
        assert ledger.audit() == audit
    after = env.counts()
    assert {k: after[k] for k in ("entries", "audit")} == {k: counts[k] for k in ("entries", "audit")}
    assert after["returns"] == counts["returns"] + 2  # the returns log says what came back
    assert len(result.feedback) == 2


# --- LibreOffice Calc as the sponsor's client ----------------------------------------


@pytest.mark.libreoffice
def test_libreoffice_filled_return_is_merged_with_exactly_its_values(env: Env) -> None:
    dst = env.folder.returns_dir / "saved by calc.xlsx"
    edit_and_save(
        env.outgoing(HELEN),
        dst,
        [
            ("Actions", "J5", "Recruitment of two link workers delayed"),
            ("Actions", "K5", "Amber"),
            ("Actions", "L5", 1190),
            ("Actions", "M5", date(2026, 3, 31)),
            ("Actions", "J6", "All six published in June 2023"),
            ("Actions", "K6", "Blue"),
            ("Actions", "J7", "Survey in the field"),
            ("Actions", "K7", "Green"),
            ("Actions", "L7", 86),
            ("Actions", "N7", "=not a formula, just text"),
            ("Feedback", "B5", "People value the link workers"),
        ],
    )
    assert openpyxl.load_workbook(dst)["_xlplan"].sheet_state == "hidden"  # was very hidden
    out = only(env.collect())
    assert out.status == "merged", describe(out)
    assert out.report.errors == [] and out.report.warnings == [], describe(out)
    assert out.recipient == HELEN
    entries = env.entries()
    assert entries[(HELEN, "BA1.01")] == {
        "progress": "Recruitment of two link workers delayed",
        "rag": "Amber",
        "actual": 1190.0,
        "revised_due": "2026-03-31",
        "comments": None,
    }
    assert entries[(HELEN, "BA1.02")]["rag"] == "Blue"
    assert entries[(HELEN, "BA1.03")]["actual"] == 86.0
    assert entries[(HELEN, "BA1.03")]["comments"] == "=not a formula, just text"
    assert env.entries(sheet="Feedback") == {(HELEN, BA1): {"feedback": "People value the link workers"}}


@pytest.mark.libreoffice
def test_libreoffice_value_pasted_over_the_dropdown_is_quarantined(env: Env) -> None:
    dst = env.folder.returns_dir / "calc grenn.xlsx"
    edit_and_save(
        env.outgoing(SHARON),
        dst,
        [
            ("Actions", "J5", "Strategy drafted"),
            ("Actions", "K5", "Grenn"),
            ("Actions", "J6", "Training on track"),
            ("Actions", "K6", "Green"),
        ],
    )
    out = only(env.collect())
    assert out.status == "quarantined"
    issue = one(out, "bad-choice")
    assert issue.where == "Actions!K5"
    assert (issue.ref, issue.value) == ("BA3.01", "Grenn")
    assert "Did you mean Green?" in issue.message
    assert [i.code for i in out.report.errors] == ["bad-choice"]
    assert env.entries() == {}


@pytest.mark.libreoffice
def test_libreoffice_locked_cell_edited_after_unprotecting_is_caught(env: Env) -> None:
    dst = env.folder.returns_dir / "calc tampered.xlsx"
    edit_and_save(
        env.outgoing(SHARON),
        dst,
        [
            ("Actions", "C5", "Refresh the strategy in 2027"),
            ("Actions", "J5", "Strategy drafted"),
            ("Actions", "K5", "Green"),
            ("Actions", "J6", "Training on track"),
            ("Actions", "K6", "Green"),
        ],
        unprotect=["Actions"],
    )
    assert not openpyxl.load_workbook(dst)["Actions"].protection.sheet
    out = only(env.collect())
    assert out.status == "quarantined"
    issue = one(out, "locked-changed")
    assert issue.where == "Actions!C5"
    assert (issue.ref, issue.field, issue.value) == ("BA3.01", "action", "Refresh the strategy in 2027")
    assert issue.message.startswith("The locked 'Action' of BA3.01 was changed to 'Refresh the strategy in 2027'.")
    assert [i.code for i in out.report.errors] == ["locked-changed"]


@pytest.mark.libreoffice
def test_annotated_copy_fixed_in_libreoffice_is_merged(env: Env) -> None:
    _, result = quarantine_helen(env)
    fixed = env.folder.returns_dir / "fixed in calc.xlsx"
    edit_and_save(
        result.feedback[0],
        fixed,
        [
            ("Actions", "K5", "Amber"),
            ("Actions", "L5", "1,190"),  # typed as text over the number
            ("Actions", "J6", "Done in June 2023"),
            ("Actions", "M7", "31/12/2026"),  # a date typed as text
        ],
    )
    out = outcome_for(env.collect(), fixed.name)
    assert out.status == "merged", describe(out)
    assert out.report.errors == [] and out.report.warnings == [], describe(out)
    entries = env.entries()
    assert entries[(HELEN, "BA1.01")]["rag"] == "Amber"
    assert entries[(HELEN, "BA1.01")]["actual"] == 1190.0
    assert entries[(HELEN, "BA1.03")]["revised_due"] == "2026-12-31"
    assert not issues(out, "locked-changed")
    assert BA3 not in {g for _, g in env.entries(sheet="Feedback")}


def test_a_file_too_big_to_be_a_return_is_refused_unread(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    env.fill(HELEN)
    big = env.fill(ALLEN, name="holiday video.xlsx")
    big_sha, helen_sha = sha(big), sha(env.folder.returns_dir / f"{HELEN} {CYCLE}.xlsx")
    monkeypatch.setattr("xlplan.received.MAX_FILE_BYTES", big.stat().st_size - 1)  # a real one is gigabytes
    real_read = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        assert self.name != big.name, "the file was read into memory"
        return real_read(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    result = env.collect()
    out = outcome_for(result, big.name)
    assert out.status == "quarantined" and out.sha256 == big_sha
    assert [(i.code, i.message.split(";")[0]) for i in out.report.errors] == [("file-too-big", "The file is 0 MB")]
    assert outcome_for(result, f"{HELEN} {CYCLE}.xlsx").status == "merged"
    with env.ledger() as ledger:
        logged = {r.file: r for r in ledger.returns()}
    assert logged[big.name].outcome == "quarantined" and logged[big.name].archived == ""
    assert [p.name for p in archive_files(env)] == [f"{helen_sha}.xlsx"]


def test_console_shows_the_first_issues_and_rows_and_says_where_the_rest_are(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A national cycle finds thousands of warnings and Red/Amber actions: the console shows
    the first (here one of each) and points to where they all are."""
    from click.testing import CliRunner

    from xlplan import console
    from xlplan.cli import main

    monkeypatch.setattr(console, "ISSUES_SHOWN", 1)
    monkeypatch.setattr(console, "ROWS_SHOWN", 1)
    env.fill(HELEN, helen(**BAD, **WARNED))  # an error (K5) and a warning (J6): the error first
    env.fill(ALLEN, {**CLEAN[ALLEN], "BA4.01": {"progress": "Supplier failed", "rag": "Red"}})  # BA3.01 Amber
    result = CliRunner().invoke(main, ["--plan", str(env.folder.root), "collect", "-j", "1"], env={"COLUMNS": "300"})
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    helen_at = next(i for i, line in enumerate(lines) if line.startswith(f"QUARANTINED {HELEN} {CYCLE}.xlsx"))
    assert lines[helen_at + 1].startswith("    error: Actions!K5 BA1.01: 'Grenn' is not a RAG status.")
    assert lines[helen_at + 2] == (
        "    ... and 1 more: `xlplan export returns` lists them all, and the annotated copy marks each cell."
    )
    assert "Actions!J6" not in result.output
    attention = [line for line in lines if line.startswith("│ BA")]
    assert len(attention) == 1
    assert "... and 1 more: the Risk register sheet of the master tracker lists them all." in lines


def test_file_names_with_brackets_are_printed_as_they_are(env: Env) -> None:
    """Rich reads [text] as markup: a sponsor's "[v2]" vanished from the report."""
    from click.testing import CliRunner

    from xlplan.cli import main

    env.fill(HELEN, helen(**BAD), name="Helen [v2] return.xlsx")
    env.fill(SHARON, name="[bold]Sharon [red].xlsx")
    result = CliRunner().invoke(main, ["--plan", str(env.folder.root), "collect", "-j", "1"], env={"COLUMNS": "300"})
    assert result.exit_code == 1, result.output
    assert f"QUARANTINED Helen [v2] return.xlsx ({HELEN}): 1 error(s), 0 warning(s)" in result.output
    assert f"MERGED      [bold]Sharon [red].xlsx ({SHARON}): 0 error(s), 0 warning(s)" in result.output
    status = CliRunner().invoke(main, ["--plan", str(env.folder.root), "status"], env={"COLUMNS": "300"})
    assert status.exit_code == 0, status.output
    assert "[bold]Sharon [red].xlsx" in status.output
