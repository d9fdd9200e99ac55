"""Values as busy people type them (issue 17): read as they meant them, or refused with a
message they can act on; and nothing else in the return is held back.

Layout of a generated return: see tests/helpers.py (Helen's actions on rows 5-7;
J Progress, K RAG, L Actual, M Revised due, N Comments).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from conftest import ACTIONS, SETTINGS, SPONSORS, make_plan_folder
from helpers import CLEAN, CYCLE, HELEN, SHARON, SPG, TODAY, Env, copy_env, describe, one, only
from libreoffice import Note, Percent, edit_and_save

from xlplan.codes import Code
from xlplan.console import ref_list
from xlplan.errors import PlanError
from xlplan.files import recipient_filenames
from xlplan.generate import generate
from xlplan.ledger import Ledger
from xlplan.mail import MailError, send
from xlplan.plan import load_plan
from xlplan.plan_sheets import Recipient, salutation_for
from xlplan.summary import summarise
from xlplan.values import Timescale, ambiguous_thousands, not_applicable, parse_timescale, strip_invisible


@pytest.fixture
def env(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Env:
    return copy_env(tmp_path_factory, tmp_path / "plan")


def helen(**changes: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out = {ref: dict(values) for ref, values in CLEAN[HELEN].items()}
    for ref, values in changes.items():
        out[ref.replace("_", ".")] = {**out[ref.replace("_", ".")], **values}
    return out


def merged_with_only(out: Any, *codes: str) -> None:
    """Merged, and the only issues are notes of `codes`: nothing else was held back."""
    assert out.status == "merged", describe(out)
    assert sorted({i.code for i in out.report.issues}) == sorted(set(codes)), describe(out)
    assert all(i.severity == "note" for i in out.report.issues), describe(out)


# --- timescales -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "due", "wording"),
    [
        ("March 2025", date(2025, 3, 31), "March 2025"),
        ("Sept 2024", date(2024, 9, 30), "Sept 2024"),
        ("2024/25", date(2025, 3, 31), "2024/25"),
        ("2024-2025", date(2025, 3, 31), "2024-2025"),
        ("Q1 2024/25", date(2024, 6, 30), "Q1 2024/25"),
        ("Q3 2024/25", date(2024, 12, 31), "Q3 2024/25"),
        ("Q4 2024/25", date(2025, 3, 31), "Q4 2024/25"),
        ("Short term (by March 2020)", date(2020, 3, 31), "Short term (by March 2020)"),
        ("Ongoing", None, "Ongoing"),
        ("Quarterly", None, "Quarterly"),
        ("31/03/2025", date(2025, 3, 31), ""),
    ],
)
def test_timescales_as_plans_write_them(typed: str, due: date | None, wording: str) -> None:
    assert parse_timescale(typed) == Timescale(due, wording, parse_timescale(typed).means)  # type: ignore[union-attr]


@pytest.mark.parametrize("typed", ["Completion by year 4", "next spring", "2024/26", "Q3 2024", "Q5 2024/25"])
def test_anything_else_is_not_a_timescale(typed: str) -> None:
    with pytest.raises(ValueError):
        parse_timescale(typed)


def test_plan_due_dates_written_as_timescales_are_kept_as_written(tmp_path: Path) -> None:
    actions = [dict(a) for a in ACTIONS]
    actions[0]["due"] = "March 2027"  # BA1.01
    actions[2]["due"] = "Ongoing"  # BA1.03
    actions[4]["due"] = "Q3 2026/27"  # BA3.02
    folder = make_plan_folder(tmp_path / "plan", actions)
    plan = load_plan(folder)
    by_ref = plan.by_ref
    assert (by_ref["BA1.01"]["due"], by_ref["BA1.01"]["due as written"]) == (date(2027, 3, 31), "March 2027")
    assert (by_ref["BA1.03"]["due"], by_ref["BA1.03"]["due as written"]) == (None, "Ongoing")
    assert by_ref["BA3.02"]["due"] == date(2026, 12, 31)
    assert load_plan(folder).by_ref["BA1.01"]["due as written"] == "March 2027"  # from the cache too
    generate(plan, CYCLE, spg_date=SPG, deadline=None)
    sent = folder.outgoing_dir(CYCLE) / f"{CYCLE} return - {HELEN}.xlsx"
    ws = openpyxl.load_workbook(sent)["Actions"]
    assert ws["E5"].value == "March 2027 (31/03/2027)"
    assert ws["E7"].value == "Ongoing"
    # The sponsor's return is read back without a word about the locked due dates.
    dst = folder.returns_dir / "helen.xlsx"
    from xlplan.samples.sponsor import fill_return

    fill_return(sent, dst, plan.template, CLEAN[HELEN], None)
    from xlplan.collect import collect

    result = collect(plan, today=TODAY, render=True)
    out = only(result)
    assert out.status == "merged", describe(out)
    assert not [i for i in out.report.issues if i.code == Code.LOCKED_CHANGED]
    master = openpyxl.load_workbook(result.master, read_only=True)["Current status"]
    shown = {row[0]: row[4] for row in master.iter_rows(min_row=5, values_only=True) if row[0]}
    assert shown["BA1.01"] == "March 2027 (31/03/2027)"
    assert shown["BA1.03"] == "Ongoing"


def test_a_plan_due_date_that_is_no_timescale_is_refused_with_examples(tmp_path: Path) -> None:
    actions = [dict(a) for a in ACTIONS]
    actions[0]["due"] = "Completion by year 4"
    folder = make_plan_folder(tmp_path / "plan", actions)
    with pytest.raises(PlanError) as caught:
        load_plan(folder)
    assert (
        "Actions!F2 (Due date): 'Completion by year 4' is not a date: give a date such as 31/03/2025, "
        "a month (March 2025), a financial year (2024/25), a quarter (Q3 2024/25) or Ongoing."
    ) in str(caught.value)


def test_a_revised_date_written_as_a_month_is_its_last_day_with_a_note(env: Env) -> None:
    env.fill(HELEN, helen(BA1_01={"revised_due": "April 2026"}))
    out = only(env.collect())
    merged_with_only(out, "timescale")
    note = one(out, "timescale")
    assert note.where == "Actions!M5"
    assert note.message == "'April 2026' in Revised due date was read as 30/04/2026, the end of that month."
    assert env.entries()[(HELEN, "BA1.01")]["revised_due"] == "2026-04-30"
    assert env.entries()[(HELEN, "BA1.03")]["actual"] == 86.0


@pytest.mark.parametrize(
    ("typed", "said"),
    [
        (6, "'6' in Revised due date is not a date (as a date, 06/01/1900)"),
        (6.0, "'6' in Revised due date is not a date (as a date, 06/01/1900)"),
        ("6", "'6' in Revised due date cannot be read"),
        (date(1999, 12, 31), "'31/12/1999' in Revised due date is too early for a due date"),
    ],
)
def test_a_small_number_in_a_date_column_is_not_a_date(env: Env, typed: Any, said: str) -> None:
    env.fill(HELEN, helen(BA1_01={"revised_due": typed}))
    out = only(env.collect())
    assert out.status == "quarantined"
    issue = one(out, "bad-date")
    assert issue.where == "Actions!M5"
    assert issue.message.startswith(said), issue.message
    assert [i.code for i in out.report.errors] == ["bad-date"]
    assert env.entries() == {}


def test_a_number_typed_in_a_date_column_names_the_date_it_would_be(env: Env) -> None:
    env.fill(HELEN, helen(BA1_01={"revised_due": 6}))
    issue = one(only(env.collect()), "bad-date")
    assert issue.message.startswith("'6' in Revised due date is not a date (as a date, 06/01/1900): enter a date")


# --- invisible characters, N/A, 1.200 ----------------------------------------------


def test_invisible_characters_around_a_status_are_removed_with_a_note(env: Env) -> None:
    env.fill(HELEN, helen(BA1_03={"rag": "Green\u200b", "progress": "\ufeffSurvey in the field\u00a0"}))
    out = only(env.collect())
    merged_with_only(out, "invisible-characters")
    assert {i.where for i in out.report.issues} == {"Actions!J7", "Actions!K7"}
    entry = env.entries()[(HELEN, "BA1.03")]
    assert (entry["rag"], entry["progress"]) == ("Green", "Survey in the field")


def test_an_invisible_character_inside_a_status_is_named(env: Env) -> None:
    env.fill(HELEN, helen(BA1_03={"rag": "Gre\u200ben"}))
    out = only(env.collect())
    assert out.status == "quarantined"
    issue = one(out, "invisible-characters")
    assert issue.severity == "error" and issue.where == "Actions!K7"
    assert "an invisible character (a zero-width space after 'Gre')" in issue.message
    assert [i.code for i in out.report.errors] == ["invisible-characters"]


@pytest.mark.parametrize("typed", ["N/A", "n/a", "-", "none", "TBC"])
def test_not_applicable_in_a_number_or_date_column_is_blank_with_a_note(env: Env, typed: str) -> None:
    env.fill(HELEN, helen(BA1_02={"actual": typed, "revised_due": typed}))
    out = only(env.collect())
    merged_with_only(out, "not-applicable")
    assert {i.where for i in out.report.issues} == {"Actions!L6", "Actions!M6"}
    entry = env.entries()[(HELEN, "BA1.02")]
    assert (entry["actual"], entry["revised_due"], entry["rag"]) == (None, None, "Blue")


def test_a_dot_before_three_digits_is_read_as_a_decimal_point_and_said(env: Env) -> None:
    env.fill(HELEN, helen(BA1_03={"actual": "86.000"}))
    out = only(env.collect())
    merged_with_only(out, "decimal-point")
    assert one(out, "decimal-point").message == (
        "'86.000' in Actual was read as 86 (a decimal point); if you meant 86,000, type 86000."
    )


def test_value_helpers() -> None:
    assert strip_invisible("\u200bGreen\u00a0") == ("Green", "")
    assert strip_invisible("Gr\u200ben") == ("Gr\u200ben", "a zero-width space after 'Gr'")
    assert not_applicable(" N/A ") and not not_applicable("0")
    assert ambiguous_thousands("1.200") and not ambiguous_thousands("1.2") and not ambiguous_thousands("1,200")


# --- a workbook sent back untouched -------------------------------------------------


def test_a_return_with_nothing_filled_in_is_one_issue_and_status_says_so(env: Env) -> None:
    env.fill(HELEN, {})
    out = only(env.collect())
    assert out.status == "quarantined"
    assert [i.code for i in out.report.issues] == ["nothing-filled-in"], describe(out)
    assert out.report.issues[0].message.startswith("Nothing was filled in")
    with Ledger(env.folder.ledger_file) as ledger:
        summary = summarise(env.plan, ledger, CYCLE, TODAY)
    state = next(s for s in summary.recipients if s.recipient == HELEN)
    assert (state.state, state.note) == ("quarantined", "nothing was filled in")


# --- LibreOffice Calc: percent formats and cell notes --------------------------------


@pytest.mark.libreoffice
@pytest.mark.parametrize("fmt", ["xlsx", "ods"])  # saved by Calc as Excel or as OpenDocument
def test_a_percentage_typed_in_calc_is_the_percentage_shown(env: Env, fmt: str) -> None:
    dst = env.folder.returns_dir / f"calc percent.{fmt}"
    edit_and_save(
        env.outgoing(HELEN),
        dst,
        [
            ("Actions", "J5", "Recruitment delayed"),
            ("Actions", "K5", "Amber"),
            ("Actions", "L5", 1190),
            ("Actions", "M5", date(2026, 3, 31)),
            ("Actions", "J6", "All published"),
            ("Actions", "K6", "Blue"),
            ("Actions", "J7", "Survey in the field"),
            ("Actions", "K7", "Green"),
            ("Actions", "L7", Percent(0.93)),  # "93%" against a target of 85
        ],
        fmt=fmt,
    )
    out = only(env.collect())
    merged_with_only(out, "percent", *(["ods"] if fmt == "ods" else []))
    note = one(out, "percent")
    assert note.where == "Actions!L7"
    assert note.message == "Actual shows 93% (a percentage format): read as 93, the number shown, not 0.93."
    assert env.entries()[(HELEN, "BA1.03")]["actual"] == 93.0
    assert env.entries()[(HELEN, "BA1.01")]["actual"] == 1190.0


@pytest.mark.libreoffice
@pytest.mark.parametrize("fmt", ["xlsx", "ods"])
def test_a_cell_note_left_in_calc_is_shown_and_kept(env: Env, fmt: str) -> None:
    dst = env.folder.returns_dir / f"calc note.{fmt}"
    edit_and_save(
        env.outgoing(SHARON),
        dst,
        [
            ("Actions", "J5", "Strategy drafted"),
            ("Actions", "K5", "Red"),
            ("Actions", "K5", Note("Red because the pharmacy contract slipped")),
            ("Actions", "J6", "Training on track"),
            ("Actions", "K6", "Green"),
        ],
        unprotect=["Actions"],  # Calc adds notes only to an unprotected sheet through its API
        fmt=fmt,
    )
    out = only(env.collect(render=True))
    merged_with_only(out, "cell-note", "unprotected", *(["ods"] if fmt == "ods" else []))
    note = one(out, "cell-note")
    assert note.where == "Actions!K5" and note.ref == "BA3.01" and note.field == "rag"
    assert note.message == "BA3.01: a note on RAG status: \u201cRed because the pharmacy contract slipped\u201d"
    assert env.entries()[(SHARON, "BA3.01")]["rag"] == "Red"
    with Ledger(env.folder.ledger_file) as ledger:  # kept with the return in the ledger's log
        logged = [i for r in ledger.returns(CYCLE) for i in r.issues if i.code == Code.CELL_NOTE]
    assert [i.message for i in logged] == [note.message]
    # and in the master tracker, beside the return it came with
    returns = openpyxl.load_workbook(env.folder.master_file, read_only=True)["Returns"]
    rows = [r for r in returns.iter_rows(values_only=True) if r and r[2] == f"calc note.{fmt}"]
    assert [r[-1] for r in rows] == [f"Actions!K5: {note.message}"]


def test_a_note_written_with_openpyxl_is_read_but_not_xlplans_own(env: Env) -> None:
    from openpyxl.comments import Comment

    path = env.fill(HELEN)
    book = openpyxl.load_workbook(path)
    book["Actions"]["N7"].comment = Comment("Figures from the July survey", "Helen")
    book["Actions"]["J5"].comment = Comment("ERROR: needs a note", "xlplan")
    book.save(path)
    out = only(env.collect())
    merged_with_only(out, "cell-note")
    assert [(i.where, i.message) for i in out.report.issues] == [
        ("Actions!N7", "BA1.03: a note on Comments / risks: \u201cFigures from the July survey\u201d")
    ]


# --- file names, greetings, addresses ----------------------------------------------


def test_every_recipient_gets_a_file_of_their_own_and_the_suffix_is_never_cut(tmp_path: Path) -> None:
    long = "Interim Depute Chief Officer and Chief Social Work Officer for the Partnership and its localities"
    names = [f"{long} (North)", f"{long} (South)", "Helen Watson", "helen watson", "A/B: C"]
    stems = recipient_filenames(names, "2025-Q3 return - {name} - PLEASE FIX")
    assert len({s.casefold() for s in stems.values()}) == 5
    assert all(s.endswith(" - PLEASE FIX") or s.endswith("PLEASE FIX (2)") for s in stems.values()), stems
    assert stems[f"{long} (North)"].endswith("(North) - PLEASE FIX")
    assert stems["helen watson"] == "2025-Q3 return - helen watson - PLEASE FIX (2)"
    assert stems["A/B: C"] == "2025-Q3 return - A B C - PLEASE FIX"


def test_sponsors_alike_in_their_first_80_characters_get_a_workbook_each(tmp_path: Path) -> None:
    role = "Head of Health and Community Care and Interim Depute Chief Officer and Chief Social Work Officer"
    sponsors = [Recipient(f"{role} (North)", "n@example.org"), Recipient(f"{role} (South)", "s@example.org")]
    actions = [dict(a) for a in ACTIONS]
    for a in actions:
        a["sponsor"] = sponsors[0].name if a["ref"] < "BA3" else sponsors[1].name
    plan = load_plan(make_plan_folder(tmp_path / "plan", actions, sponsors))
    result = generate(plan, CYCLE, spg_date=SPG, deadline=None)
    paths = [path for _who, path, *_rest in result.files]
    assert len(set(paths)) == 2 and all(p.is_file() for p in paths)
    for who, path, *_rest in result.files:
        book = openpyxl.load_workbook(path)
        assert book.properties.subject == who


@pytest.mark.parametrize(
    ("name", "greeting"),
    [
        ("Helen Watson", "Helen"),
        ("Head of Trading Standards", "Head of Trading Standards"),
        ("West Sussex Fire & Rescue Service", "West Sussex Fire & Rescue Service"),
        ("Dr Jane Smith", "Dr Smith"),
    ],
)
def test_recipients_are_greeted_by_name_or_by_their_whole_role(name: str, greeting: str) -> None:
    assert salutation_for(name) == greeting


def test_the_sponsors_sheet_says_how_to_address_each(tmp_path: Path) -> None:
    sponsors = [Recipient(s.name, s.email, s.role, "Dr Watson" if s.name == HELEN else "") for s in SPONSORS]
    plan = load_plan(make_plan_folder(tmp_path / "plan", sponsors=sponsors))
    assert plan.recipient(HELEN).salutation == "Dr Watson"  # type: ignore[union-attr]
    assert plan.recipient(SHARON).salutation == "Sharon"  # type: ignore[union-attr]


def test_an_invalid_sponsor_address_is_named_when_the_plan_is_read(tmp_path: Path) -> None:
    sponsors = [*SPONSORS[:2], Recipient("Deborah Gillespie", "deborah.gillespie@inverclyde,example")]
    actions = [dict(a, sponsor="Deborah Gillespie") if a["ref"] == "BA4.01" else a for a in ACTIONS]
    with pytest.raises(PlanError) as caught:
        load_plan(make_plan_folder(tmp_path / "plan", actions, sponsors, SETTINGS))
    assert (
        "Sponsors!B4 (Email of Deborah Gillespie): 'deborah.gillespie@inverclyde,example' is not an email address"
    ) in str(caught.value)


def test_a_malformed_address_is_never_sent_or_reported_sent() -> None:
    from email.message import EmailMessage

    from xlplan.mail import Smtp

    msg = EmailMessage()
    msg["To"] = "Deborah Gillespie <deborah.gillespie@inverclyde>,example>"
    msg["Subject"] = "chase"
    with pytest.raises(MailError, match="was not sent"):
        send(msg, Smtp("127.0.0.1", 9, "none", "", ""))  # refused before any connection


def test_numeric_refs_are_listed_readably() -> None:
    assert ref_list(["1", "2", "3"]) == "#1, #2, #3"
    assert ref_list(["H02.01", "7"]) == "H02.01, 7"
    assert ref_list([str(n) for n in range(35)], shown=2) == "#0, #1 and 33 more"


def test_a_non_breaking_space_between_thousands_is_still_a_number(env: Env) -> None:
    env.fill(HELEN, helen(BA1_01={"actual": "1\u00a0190"}))
    out = only(env.collect())
    assert out.status == "merged", describe(out)
    assert env.entries()[(HELEN, "BA1.01")]["actual"] == 1190.0
