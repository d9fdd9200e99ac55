"""Reading and validating returns: identification, robustness, every error and warning.

Each return is a generated workbook filled as a sponsor would (openpyxl standing in for
Excel, see samples/sponsor.py), dropped into returns/ and collected with render=False.
Cells are those of the Actions sheet (see tests/helpers.py for the layout).
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import xlsxwriter
from conftest import SETTINGS, make_plan_folder
from helpers import (
    ALLEN,
    CLEAN,
    CYCLE,
    HELEN,
    PREVIOUS,
    PREVIOUS_SPG,
    SHARON,
    SPG,
    TODAY,
    Env,
    codes,
    copy_cell,
    copy_env,
    describe,
    edit_workbook,
    issues,
    manifest_rows,
    move_rows,
    one,
    only,
)

from xlplan.gaps import find_gaps
from xlplan.generate import generate
from xlplan.plan import load_plan

FUTURE = date(2026, 3, 31)


@pytest.fixture
def env(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Env:
    return copy_env(tmp_path_factory, tmp_path / "plan")


def helen(**changes: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Helen's clean return with some actions' values replaced (None clears a value)."""
    out = {ref: dict(values) for ref, values in CLEAN[HELEN].items()}
    for ref, values in changes.items():
        ref = ref.replace("_", ".")
        out[ref] = {**out.get(ref, {}), **values}
    return out


def put(ws: Any, row: int, cells: dict[str, Any]) -> None:
    for letter, value in cells.items():
        ws[f"{letter}{row}"] = value


def assert_merged_clean(out: Any) -> None:
    assert out.status == "merged", describe(out)
    assert not out.report.errors and not out.report.warnings, describe(out)


# --- identification by metadata, not by name ----------------------------------------


def test_return_is_identified_by_metadata_not_by_file_name(env: Env) -> None:
    env.fill(HELEN, name="Copy of BA1 final v2 (2).xlsx")
    env.fill(SHARON, name="2025-Q3 return - Helen Watson.xlsx")  # a misleading name
    result = env.collect()
    by_name = {o.path.name: o for o in result.outcomes}
    copy = by_name["Copy of BA1 final v2 (2).xlsx"]
    misnamed = by_name["2025-Q3 return - Helen Watson.xlsx"]
    assert_merged_clean(copy)
    assert_merged_clean(misnamed)
    assert (copy.recipient, copy.cycle) == (HELEN, CYCLE)
    assert (misnamed.recipient, misnamed.cycle) == (SHARON, CYCLE)
    entries = env.entries()
    assert entries[(HELEN, "BA1.01")]["progress"] == CLEAN[HELEN]["BA1.01"]["progress"]
    assert entries[(SHARON, "BA3.01")]["rag"] == "Green"
    assert (HELEN, "BA3.01") not in entries


def test_owner_files_and_other_files_are_skipped_with_reasons(env: Env) -> None:
    env.fill(HELEN)
    (env.folder.returns_dir / "~$owner.xlsx").write_bytes(b"\x0bPat Planner" + b" " * 150)
    (env.folder.returns_dir / "notes.docx").write_bytes(b"PK\x03\x04 not really")
    (env.folder.returns_dir / ".DS_Store").write_bytes(b"\x00")
    (env.folder.returns_dir / "Thumbs.db").write_bytes(b"\x00")
    (env.folder.returns_dir / "old").mkdir()
    result = env.collect()
    assert [o.path.name for o in result.outcomes] == [f"{HELEN} {CYCLE}.xlsx"]
    assert_merged_clean(result.outcomes[0])
    assert result.skipped == [
        ("notes.docx", "not a spreadsheet (.docx)"),
        ("~$owner.xlsx", "Excel's lock file for a workbook that is open (not a return)"),
    ]
    assert result.as_dict()["skipped"][1] == {
        "file": "~$owner.xlsx",
        "reason": "Excel's lock file for a workbook that is open (not a return)",
    }


def test_metadata_sheet_made_visible_still_identifies(env: Env) -> None:
    path = env.fill(HELEN)

    def show(book: Any) -> None:
        book["_xlplan"].sheet_state = "visible"

    edit_workbook(path, show)
    assert openpyxl.load_workbook(path)["_xlplan"].sheet_state == "visible"
    out = only(env.collect())
    assert_merged_clean(out)
    assert out.recipient == HELEN


def test_metadata_sheet_hidden_not_very_hidden_still_identifies(env: Env) -> None:
    """What LibreOffice does to a very hidden sheet on save."""
    path = env.fill(HELEN)
    edit_workbook(path, lambda book: setattr(book["_xlplan"], "sheet_state", "hidden"))
    assert_merged_clean(only(env.collect()))


@pytest.mark.parametrize(
    ("where", "key", "value"),
    [("sheet", "recipient", SHARON), ("sheet", "cycle", "2025-Q4"), ("property", "recipient", SHARON)],
)
def test_sealed_metadata_edited_in_one_copy_is_an_error(env: Env, where: str, key: str, value: str) -> None:
    """One copy edited to claim another sponsor or cycle: the other copy's seal says what was sent."""
    path = env.fill(HELEN)

    def alter(book: Any) -> None:
        if where == "sheet":
            manifest_rows(book)[key].value = value
        else:
            prop = next(p for p in book.custom_doc_props.props if p.name == f"xlplan_{key}")
            prop.value = value

    edit_workbook(path, alter)
    out = only(env.collect())
    assert out.status == "quarantined"
    issue = one(out, "seal-broken")
    assert issue.severity == "error"
    assert issue.sheet == "_xlplan"
    was = {"recipient": HELEN, "cycle": CYCLE}[key]
    assert issue.message == (
        f"The workbook's metadata was edited: it claims the {key} '{value}' (it was sent with '{was}'). "
        f"It is {HELEN}'s workbook for {CYCLE}; nothing of it was merged. Ask {HELEN} for the workbook "
        "that was sent to them, filled in, unedited."
    )
    assert env.entries() == {}


def test_metadata_altered_outside_the_seal_is_an_error(env: Env) -> None:
    """The deadline is not sealed (an annotated copy has another): the two copies must still agree."""
    path = env.fill(HELEN)
    edit_workbook(path, lambda book: setattr(manifest_rows(book)["deadline"], "value", "2025-12-31"))
    out = only(env.collect())
    assert out.status == "quarantined"
    issue = one(out, "metadata-altered")
    assert issue.severity == "error"
    assert issue.sheet == "_xlplan"
    assert issue.message == (
        "The workbook's metadata has been altered (it disagrees about deadline). "
        "Please fill in the workbook that was sent out."
    )
    assert env.entries() == {}


def test_workbook_without_metadata_is_an_error(env: Env) -> None:
    """A plain workbook someone made by hand with the same columns."""
    path = env.folder.returns_dir / "my own tracker.xlsx"
    book = xlsxwriter.Workbook(str(path))
    ws = book.add_worksheet("Actions")
    headers = [c.header for c in env.plan.template.rows_sheet.columns]
    ws.write_row(3, 0, headers)
    ws.write_row(4, 0, ["BA1.01", "", "", "", "", "", "", "", "", "Going well", "Green"])
    book.close()
    out = only(env.collect())
    assert out.status == "quarantined"
    issue = one(out, "no-metadata")
    assert issue.severity == "error"
    assert issue.message.startswith(
        "This workbook has no xlplan metadata, so it cannot be matched to a recipient and cycle."
    )
    assert out.recipient == ""
    assert codes(out) == ["no-metadata"]  # nothing else is judged without an identity


def test_deleted_metadata_sheet_falls_back_to_document_properties(env: Env) -> None:
    path = env.fill(HELEN)
    edit_workbook(path, lambda book: book.remove(book["_xlplan"]))
    out = only(env.collect())
    assert out.status == "merged", describe(out)
    assert out.recipient == HELEN
    assert one(out, "manifest-sheet-missing").severity == "note"


def test_deleted_metadata_sheet_does_not_hide_a_changed_locked_value(env: Env) -> None:
    path = env.fill(HELEN)

    def tamper(book: Any) -> None:
        book.remove(book["_xlplan"])
        book["Actions"]["C5"] = "Extend link workers to half of GP practices"

    edit_workbook(path, tamper)
    out = only(env.collect())
    flagged = [i for i in out.report.issues if i.where == "Actions!C5" and i.severity != "note"]
    assert flagged, describe(out)


# --- robustness to what clients do on save ---------------------------------------


def test_rows_sorted_filtered_and_spaced_out_still_match_by_ref(env: Env) -> None:
    actions = helen(BA1_03={"rag": "green "})  # a note pinned to the row BA1.03 ends up on
    path = env.fill(HELEN, actions)

    def shuffle(book: Any) -> None:
        ws = book["Actions"]
        move_rows(ws, {5: 11, 6: 8, 7: 5})  # reversed, with blank rows between
        ws.row_dimensions[8].hidden = True  # filtered out

    edit_workbook(path, shuffle)
    rows = openpyxl.load_workbook(path)["Actions"]
    assert [rows[f"A{r}"].value for r in range(5, 12)] == ["BA1.03", None, None, "BA1.02", None, None, "BA1.01"]
    out = only(env.collect())
    assert out.status == "merged", describe(out)
    assert not out.report.errors and not out.report.warnings, describe(out)
    assert one(out, "normalised").where == "Actions!K5"
    entries = env.entries()
    for ref, values in CLEAN[HELEN].items():
        got = entries[(HELEN, ref)]
        assert got["progress"] == values["progress"]
        assert got["rag"] == ("Green" if ref == "BA1.03" else values["rag"])
    assert entries[(HELEN, "BA1.01")]["actual"] == 1190
    assert entries[(HELEN, "BA1.01")]["revised_due"] == "2026-03-31"


def test_numbers_and_dates_as_text_serials_and_trailing_spaces(env: Env) -> None:
    actions = helen(
        BA1_01={
            "actual": "1,190",
            "revised_due": "31/03/2026",
            "progress": "Delayed   ",
            "rag": "Amber ",
            "comments": "  risk: recruitment  ",
        },
        BA1_03={"actual": " 86 ", "revised_due": 46112},
    )
    path = env.fill(HELEN, actions)

    def general_and_spaces(book: Any) -> None:
        ws = book["Actions"]
        ws["M7"].number_format = "General"  # a serial typed into a General cell
        ws["A6"] = "BA1.02 "  # a trailing space after a ref

    edit_workbook(path, general_and_spaces)
    out = only(env.collect())
    assert_merged_clean(out)
    assert not issues(out, "normalised")  # case and spaces right: nothing to say
    entries = env.entries()
    first, third = entries[(HELEN, "BA1.01")], entries[(HELEN, "BA1.03")]
    assert first["actual"] == 1190.0
    assert first["revised_due"] == "2026-03-31"
    assert first["progress"] == "Delayed"
    assert first["rag"] == "Amber"
    assert first["comments"] == "risk: recruitment"
    assert third["actual"] == 86.0
    assert third["revised_due"] == "2026-03-31"
    assert (HELEN, "BA1.02") in entries


# --- normalisation ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "read_as"),
    [
        ("green ", "Green"),
        ("GREEN", "Green"),
        ("G", "Green"),
        (" gReEn", "Green"),
        ("Gray", "Grey"),
        ("r", "Red"),
        ("Completed", "Blue"),
    ],
)
def test_unambiguous_status_is_normalised_with_a_note(env: Env, typed: str, read_as: str) -> None:
    env.fill(HELEN, helen(BA1_03={"rag": typed, "progress": "Survey in the field"}))
    out = only(env.collect())
    assert out.status == "merged", describe(out)
    note = one(out, "normalised")
    assert note.severity == "note"
    assert note.where == "Actions!K7"
    assert (note.ref, note.field) == ("BA1.03", "rag")
    assert note.message == f"'{typed}' was read as {read_as}."
    assert env.entries()[(HELEN, "BA1.03")]["rag"] == read_as


def test_typo_in_status_is_an_error_with_a_suggestion(env: Env) -> None:
    env.fill(HELEN, helen(BA1_03={"rag": "Grenn", "progress": "Survey in the field"}))
    out = only(env.collect())
    assert out.status == "quarantined"
    issue = one(out, "bad-choice")
    assert issue.severity == "error"
    assert issue.where == "Actions!K7"
    assert (issue.ref, issue.field, issue.value) == ("BA1.03", "rag", "Grenn")
    assert issue.message == (
        "BA1.03: 'Grenn' is not a RAG status. Did you mean Green? "
        "Choose one of Red, Amber, Green, Grey, Blue from the dropdown."
    )
    assert env.entries() == {}


def test_status_far_from_any_choice_gets_no_suggestion(env: Env) -> None:
    env.fill(HELEN, helen(BA1_03={"rag": "Purple", "progress": "x"}))
    issue = one(only(env.collect()), "bad-choice")
    assert issue.where == "Actions!K7"
    assert "Did you mean" not in issue.message
    assert issue.message.startswith("BA1.03: 'Purple' is not a RAG status.")


# --- every error -------------------------------------------------------------------


# Progress's max_length is 32,767: the length Excel's validation allows, as Excel counts
# (LEN, and its cell limit): in UTF-16 units, so an emoji counts 2 (pitfall 17).
@pytest.mark.parametrize(
    ("progress", "units"),
    [
        ("x" * 32_767, None),
        ("😀" * 16_383 + "x", None),  # 16,384 characters, 32,767 units: at the limit
        ("😀" * 16_384, 32_768),  # one unit over
        ("😀" * 20_000, 40_000),  # as long as 40,000 letters to Excel
        ("x" * 40_000, 40_000),
    ],
    ids=["32767-letters", "32767-units-with-emoji", "32768-units-of-emoji", "20000-emoji", "40000-letters"],
)
def test_text_length_is_counted_as_excel_counts(env: Env, progress: str, units: int | None) -> None:
    from corpus import inline, rezip, set_cell, sheet_part

    path = env.fill(HELEN)
    data = path.read_bytes()
    # In the sheet's XML, as a client other than Excel may store it (openpyxl cuts text at 32,767 characters).
    change = {sheet_part(data, "Actions"): lambda x: set_cell(x, "J7", inline(progress), t=b"inlineStr")}
    path.write_bytes(rezip(data, change))
    out = only(env.collect())
    if units is None:
        assert_merged_clean(out)
        return
    assert out.status == "quarantined", describe(out)
    issue = one(out, "too-long")
    assert issue.where == "Actions!J7"
    assert issue.message == (
        f"BA1.03: Progress this period is {units:,} characters; the limit is 32,767. Please shorten it."
    )


@pytest.mark.parametrize("rag", ["Red", "Amber"])
@pytest.mark.parametrize("progress", [None, "   "])
def test_red_or_amber_without_progress_is_an_error(env: Env, rag: str, progress: str | None) -> None:
    env.fill(HELEN, helen(BA1_03={"rag": rag, "progress": progress, "comments": "see last time"}))
    out = only(env.collect())
    assert out.status == "quarantined"
    issue = one(out, "required_when")
    assert issue.severity == "error"
    assert issue.where == "Actions!J7"
    assert (issue.ref, issue.field) == ("BA1.03", "progress")
    assert issue.message == (
        f"BA1.03: A {rag} status needs a progress note: say what is behind and what is being done about it."
    )


def test_missing_status_is_an_error_where_the_template_requires_it(env: Env) -> None:
    """A blank status is a gap in the built-in template; `required: true` makes it an error."""
    from importlib import resources

    builtin = (resources.files("xlplan.templates") / "implementation-plan.yaml").read_text(encoding="utf-8")
    required = builtin.replace("        required: false\n", "        required: true\n", 1)
    assert required != builtin
    (env.folder.root / "templates").mkdir()
    (env.folder.root / "templates" / "implementation-plan.yaml").write_text(required, encoding="utf-8")
    env = Env(env.folder, load_plan(env.folder))
    env.fill(HELEN, helen(BA1_03={"rag": None}))
    out = only(env.collect())
    assert out.status == "quarantined"
    issue = one(out, "required_when")  # "required" sparing the locked rows of completed actions
    assert issue.where == "Actions!K7"
    assert issue.message == "BA1.03: RAG status is empty: choose one of Red, Amber, Green, Grey, Blue."


def test_a_blank_status_is_a_gap_and_the_rest_is_merged(env: Env) -> None:
    env.fill(HELEN, helen(BA1_03={"rag": None, "progress": "Survey delayed a month"}))
    out = only(env.collect())
    assert out.status == "merged", describe(out)
    assert not out.report.errors
    with env.ledger() as ledger:
        gaps = find_gaps(env.plan, ledger, CYCLE, TODAY)
        assert ledger.entries(CYCLE, "Actions")[(HELEN, "BA1.03")]["progress"] == "Survey delayed a month"
    assert [(g.ref, g.detail) for g in gaps.no_status] == [("BA1.03", "never reported")]
    assert "BA1.03" not in [g.ref for g in gaps.no_update]


@pytest.mark.parametrize(
    ("letter", "field", "header", "value", "shown"),
    [
        (
            "C",
            "action",
            "Action",
            "Extend link workers to half of GP practices",
            "Extend link workers to half of GP practices",
        ),
        ("E", "due", "Due date", datetime(2027, 3, 31), "2027-03-31"),
        ("G", "target", "Target", 1000, "1000"),
        ("I", "last_progress", "Last progress", "All done last time", "All done last time"),
        ("B", "big_action", "Big Action", "", ""),
    ],
)
def test_locked_value_changed_is_an_error(
    env: Env, letter: str, field: str, header: str, value: Any, shown: str
) -> None:
    path = env.fill(HELEN)
    edit_workbook(path, lambda book: book["Actions"].__setitem__(f"{letter}5", value or None))
    out = only(env.collect())
    assert out.status == "quarantined"
    issue = one(out, "locked-changed")
    assert issue.severity == "error"
    assert issue.where == f"Actions!{letter}5"
    assert (issue.ref, issue.field, issue.value) == ("BA1.01", field, shown)
    assert issue.message == (
        f"The locked '{header}' of BA1.01 was changed to '{shown}'. "
        "Locked columns are the plan: put the original back, and use Comments to propose a change."
    )


def test_plan_text_starting_with_equals_or_at_is_not_tampering(env: Env) -> None:
    """BA1.02 starts with '=' and BA1.03 with '@': they must read back as the same text."""
    path = env.fill(HELEN)
    ws = openpyxl.load_workbook(path)["Actions"]
    assert ws["C6"].value.startswith("=Publish") and ws["C6"].data_type == "s"
    assert ws["C7"].value.startswith("@Deliver")
    assert_merged_clean(only(env.collect()))


def test_edited_ref_is_unknown_and_the_action_missing(env: Env) -> None:
    path = env.fill(HELEN)
    edit_workbook(path, lambda book: book["Actions"].__setitem__("A5", "BA1.1"))
    out = only(env.collect())
    assert out.status == "quarantined"
    unknown = one(out, "unknown-ref")
    assert unknown.where == "Actions!A5"
    assert unknown.value == "BA1.1"
    assert unknown.message == (
        "BA1.1 is not an action in the plan: was the Ref edited? Use the workbook that was sent out."
    )
    missing = one(out, "missing-ref")
    assert missing.ref == "BA1.01"
    assert missing.message.startswith("BA1.01 is missing (its row was deleted)")


def test_ref_of_another_sponsor_is_an_error(env: Env) -> None:
    path = env.fill(HELEN)
    edit_workbook(path, lambda book: put(book["Actions"], 8, {"A": "BA4.01", "J": "TEC going well", "K": "Green"}))
    out = only(env.collect())
    assert out.status == "quarantined"
    issue = one(out, "foreign-ref")
    assert issue.severity == "error"
    assert issue.where == "Actions!A8"
    assert issue.ref == "BA4.01"
    assert issue.message == "BA4.01 belongs to another sponsor's workbook, not Helen Watson's."
    assert codes(out, "error") == ["foreign-ref"]


def test_duplicated_ref_is_an_error(env: Env) -> None:
    path = env.fill(HELEN)

    def duplicate(book: Any) -> None:
        ws = book["Actions"]
        for c in range(1, 15):
            copy_cell(ws.cell(8, c), ws.cell(5, c).value, ws.cell(5, c).data_type)

    edit_workbook(path, duplicate)
    out = only(env.collect())
    assert out.status == "quarantined"
    issue = one(out, "duplicate-ref")
    assert issue.where == "Actions!A8"
    assert issue.message == "BA1.01 appears twice (rows 5 and 8): delete the copy."


def test_deleted_row_is_a_missing_ref(env: Env) -> None:
    path = env.fill(HELEN)
    edit_workbook(path, lambda book: book["Actions"].delete_rows(6))
    out = only(env.collect())
    assert out.status == "quarantined"
    issue = one(out, "missing-ref")
    assert issue.severity == "error"
    assert (issue.sheet, issue.cell, issue.ref) == ("Actions", "", "BA1.02")
    assert issue.message == (
        "BA1.02 is missing (its row was deleted): every action needs an update. Use the workbook that was sent out."
    )
    assert codes(out, "error") == ["missing-ref"]  # BA1.03 moved up a row: still matched


def test_return_for_another_plan_is_an_error(env: Env, tmp_path: Path) -> None:
    other = load_plan(make_plan_folder(tmp_path / "other", settings={**SETTINGS, "plan_id": "other-plan"}))
    generate(other, CYCLE, spg_date=SPG, deadline=None)
    env.fill(HELEN, src=other.folder.outgoing_dir(CYCLE) / f"{CYCLE} return - {HELEN}.xlsx")
    out = only(env.collect())
    assert out.status == "quarantined"
    issue = one(out, "wrong-plan")
    assert issue.severity == "error"
    assert issue.message == "This return belongs to another plan ('other-plan'), not 'test-plan'."
    assert env.entries() == {}


def test_return_for_an_earlier_cycle_is_late_not_an_error(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    env = copy_env(tmp_path_factory, tmp_path / "plan", ((PREVIOUS, PREVIOUS_SPG), (CYCLE, SPG)))
    env.fill(HELEN, cycle=PREVIOUS)  # last quarter's workbook, filled late
    result = env.collect()
    assert result.cycle == CYCLE
    out = only(result)
    assert (out.status, out.cycle, out.report.issues) == ("late", PREVIOUS, [])
    assert out.detail.endswith(f"File it with: xlplan collect --cycle {PREVIOUS}")
    assert env.entries(PREVIOUS) == {} and env.entries(CYCLE) == {}


def test_return_for_a_cycle_never_generated_is_an_error(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    env = copy_env(tmp_path_factory, tmp_path / "plan", ((PREVIOUS, PREVIOUS_SPG), (CYCLE, SPG)))
    with env.ledger() as ledger:
        ledger.remove_cycle(PREVIOUS)  # its workbooks went out, but the ledger no longer knows the cycle
    env.fill(HELEN, cycle=PREVIOUS)
    out = only(env.collect())
    assert out.status == "quarantined"
    assert out.cycle == PREVIOUS
    issue = one(out, "wrong-cycle")
    assert issue.severity == "error"
    assert issue.message == (
        "This is the return for cycle 2025-Q2, but this collection is for 2025-Q3. "
        "Ask the sponsor for the 2025-Q3 workbook."
    )
    assert env.entries(PREVIOUS) == {} and env.entries(CYCLE) == {}


def test_unreadable_date_and_number_are_errors(env: Env) -> None:
    env.fill(HELEN, helen(BA1_01={"revised_due": "next spring", "actual": "12 people"}))
    out = only(env.collect())
    assert out.status == "quarantined"
    bad_date, bad_number = one(out, "bad-date"), one(out, "bad-number")
    assert bad_date.where == "Actions!M5"
    assert (bad_date.ref, bad_date.field, bad_date.value) == ("BA1.01", "revised_due", "next spring")
    assert bad_date.message == "'next spring' in Revised due date cannot be read: enter a date such as 31/03/2025."
    assert bad_number.where == "Actions!L5"
    assert (bad_number.ref, bad_number.field, bad_number.value) == ("BA1.01", "actual", "12 people")
    assert bad_number.message == (
        "'12 people' in Actual cannot be read: enter a number only, such as 85 (no units or words)."
    )


def test_row_without_ref_but_with_content_is_an_error(env: Env) -> None:
    path = env.fill(HELEN)
    edit_workbook(path, lambda book: put(book["Actions"], 9, {"J": "We also opened a new hub", "K": "Green"}))
    out = only(env.collect())
    assert out.status == "quarantined"
    issue = one(out, "row-without-ref")
    assert issue.where == "Actions!A9"
    assert issue.message == (
        "Row 9 has no Ref, so its content cannot be matched to an action. "
        "Rows cannot be added: put this text in the Comments of the right action."
    )


def test_every_problem_is_reported_in_one_pass(env: Env) -> None:
    env.fill(
        HELEN,
        helen(
            BA1_01={"rag": "Grenn", "actual": "lots"},
            BA1_02={"rag": "Red", "progress": None},
            BA1_03={"rag": "Green", "revised_due": "soon", "progress": "x"},
        ),
    )
    out = only(env.collect())
    assert out.status == "quarantined"
    found = {(i.code, i.where) for i in out.report.errors}
    assert found == {
        ("bad-choice", "Actions!K5"),
        ("bad-number", "Actions!L5"),
        ("required_when", "Actions!J6"),
        ("bad-date", "Actions!M7"),
    }


# --- every warning -----------------------------------------------------------------


def test_blue_without_a_note_is_a_warning_and_still_merged(env: Env) -> None:
    env.fill(HELEN, helen(BA1_02={"rag": "Blue", "progress": None}))
    out = only(env.collect())
    assert out.status == "merged"
    issue = one(out, "required_when")
    assert issue.severity == "warning"
    assert issue.where == "Actions!J6"
    assert issue.message == "BA1.02: Blue means complete: please add a note of when and how it was completed."
    assert env.entries()[(HELEN, "BA1.02")]["rag"] == "Blue"


def test_blue_with_a_comment_only_is_fine(env: Env) -> None:
    env.fill(HELEN, helen(BA1_02={"rag": "Blue", "progress": None, "comments": "Completed June 2023"}))
    assert_merged_clean(only(env.collect()))


def test_green_past_due_date_is_a_warning(env: Env) -> None:
    env.fill(HELEN, helen(BA1_01={"rag": "Green", "progress": "On track", "actual": 1250, "revised_due": None}))
    out = only(env.collect())
    assert out.status == "merged"
    issue = one(out, "overdue")
    assert issue.severity == "warning"
    assert issue.where == "Actions!K5"
    assert issue.ref == "BA1.01"
    assert issue.message == (
        "BA1.01: The due date 31/03/2024 has passed but the status is Green: "
        "is it complete (Blue) or late (Amber/Red, with a revised due date)?"
    )
    assert codes(out, "warning") == ["overdue"]


def test_green_past_due_date_with_a_revised_date_to_come_is_fine(env: Env) -> None:
    env.fill(HELEN, helen(BA1_01={"rag": "Green", "progress": "On track", "actual": 1250, "revised_due": FUTURE}))
    assert_merged_clean(only(env.collect()))


@pytest.mark.parametrize(
    ("actual", "rag", "expected"),
    [
        (1150, "Green", "Amber"),  # 4.2% short: within the 5% Amber band
        (1000, "Amber", "Red"),  # 16.7% short
        (1190, "Amber", None),  # 0.8% short: Amber is right
        (1140, "Amber", None),  # exactly 5% short: still Amber
        (1139, "Amber", "Red"),  # just beyond 5%
        (1200, "Green", None),  # on target
        (1300, "Red", "Green"),  # above target
        ("1,150", "Green", "Amber"),  # a number stored as text counts too
    ],
)
def test_actual_against_target_contradicting_status_is_a_warning(
    env: Env, actual: Any, rag: str, expected: str | None
) -> None:
    env.fill(HELEN, helen(BA1_01={"rag": rag, "actual": actual, "progress": "Update", "revised_due": FUTURE}))
    out = only(env.collect())
    assert out.status == "merged", describe(out)
    found = issues(out, "tolerance")
    if expected is None:
        assert found == [], describe(out)
        return
    assert len(found) == 1, describe(out)
    issue = found[0]
    assert issue.severity == "warning"
    assert issue.where == "Actions!K5"
    shown = "1150" if actual == "1,150" else str(actual)
    assert issue.message == (
        f"BA1.01: Actual {shown} against a target of 1200 suggests {expected}, but the status is {rag}: "
        "please check the figure or the status."
    )


def test_revised_due_date_in_the_past_is_a_warning(env: Env) -> None:
    env.fill(HELEN, helen(BA1_03={"rag": "Green", "revised_due": date(2025, 1, 31)}))
    out = only(env.collect())
    assert out.status == "merged"
    issue = one(out, "past_date")
    assert issue.severity == "warning"
    assert issue.where == "Actions!M7"
    assert (issue.ref, issue.field, issue.value) == ("BA1.03", "revised_due", "31/01/2025")
    assert issue.message == (
        "BA1.03: The revised due date 31/01/2025 is already in the past: please give a date still to come."
    )


def test_revised_due_date_in_the_past_on_a_completed_action_is_fine(env: Env) -> None:
    env.fill(HELEN, helen(BA1_02={"rag": "Blue", "revised_due": date(2023, 6, 30)}))
    assert_merged_clean(only(env.collect()))


def test_grey_on_an_action_already_due_is_a_warning(env: Env) -> None:
    env.fill(
        HELEN,
        helen(
            BA1_01={"rag": "Grey", "progress": None, "actual": None, "revised_due": None},
            BA1_03={"rag": "Grey", "progress": None, "actual": None},  # due 2026: Grey is right
        ),
    )
    out = only(env.collect())
    assert out.status == "merged"
    issue = one(out, "overdue")
    assert issue.severity == "warning"
    assert issue.where == "Actions!K5"
    assert issue.message == (
        "BA1.01: Grey means future work, but this action was due on 31/03/2024: please give its real status."
    )
    assert codes(out, "warning") == ["overdue"]


def test_progress_identical_to_last_cycle_is_a_warning(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    env = copy_env(tmp_path_factory, tmp_path / "plan", ((PREVIOUS, PREVIOUS_SPG),))
    env.fill(HELEN, cycle=PREVIOUS)
    assert_merged_clean(only(env.collect(cycle=PREVIOUS)))
    generate(env.plan, CYCLE, spg_date=SPG, deadline=None)
    sent = openpyxl.load_workbook(env.outgoing(HELEN))["Actions"]
    assert (sent["H7"].value, sent["I7"].value) == ("Green", "Survey in the field")  # last cycle's
    env.fill(
        HELEN,
        helen(
            BA1_01={"progress": "Two link workers recruited"},
            BA1_02={"progress": CLEAN[HELEN]["BA1.02"]["progress"]},  # Blue: repeating is fine
            BA1_03={"progress": "Survey  in the field "},  # same words, different spacing
        ),
    )
    out = next(o for o in env.collect().outcomes if o.cycle == CYCLE)
    assert out.status == "merged", describe(out)
    issue = one(out, "unchanged")
    assert issue.severity == "warning"
    assert issue.where == "Actions!J7"
    assert issue.ref == "BA1.03"
    assert issue.message == "BA1.03: The progress note is the same as last cycle's: please give this period's update."
    assert not issues(out, "locked-changed")


def test_clean_returns_of_every_sponsor_raise_nothing(env: Env) -> None:
    for who in (HELEN, SHARON, ALLEN):
        env.fill(who)
    result = env.collect()
    assert [o.status for o in result.outcomes] == ["merged"] * 3
    for out in result.outcomes:
        assert_merged_clean(out)
        assert out.report.issues == [], describe(out)
    assert result.ok


def test_issues_stay_with_their_own_file_when_returns_share_refs(env: Env) -> None:
    """Joint sponsors both return BA3.01: one's error must not land on the other's file."""
    env.fill(SHARON, {"BA3.01": {"rag": "Red", "progress": None}, "BA3.02": {"rag": "Green", "progress": "x"}})
    env.fill(ALLEN)
    env.fill(HELEN, helen(BA1_02={"progress": None}))
    result = env.collect()
    by_who = {o.recipient: o for o in result.outcomes}
    sharon, allen, helen_out = by_who[SHARON], by_who[ALLEN], by_who[HELEN]
    assert sharon.status == "quarantined"
    assert [(i.code, i.where, i.ref, i.recipient) for i in sharon.report.errors] == [
        ("required_when", "Actions!J5", "BA3.01", SHARON)
    ]
    assert all(i.file == sharon.path.name for i in sharon.report.issues)
    assert_merged_clean(allen)
    assert allen.report.issues == []
    assert helen_out.status == "merged"
    assert [(i.code, i.where) for i in helen_out.report.warnings] == [("required_when", "Actions!J6")]
    assert {who for who, _ in env.entries()} == {ALLEN, HELEN}


def test_a_blank_status_is_named_in_the_chase_with_nothing_attached(env: Env) -> None:
    from xlplan.recipient_mail import chase_drafts

    env.fill(HELEN, helen(BA1_03={"rag": None, "progress": "Survey delayed a month"}))
    assert only(env.collect()).status == "merged"
    drafts = {d.recipient: d.message for d in chase_drafts(env.plan, CYCLE, TODAY)}
    assert set(drafts) == {HELEN, SHARON, ALLEN}  # Sharon and Allen sent nothing
    helen_msg = drafts[HELEN]
    assert helen_msg["Subject"] == f"Test Strategic Plan: entries missing from your {CYCLE} return"
    assert not list(helen_msg.iter_attachments())  # a new return would replace the one merged
    body = helen_msg.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert "- BA1.03 @Deliver the Your Voice community survey every year: never reported" in text
    assert "BA1.01" not in text
    assert list(drafts[SHARON].iter_attachments())  # a missing return: the workbook again
