"""Generated return workbooks, reopened with openpyxl (and once through LibreOffice)."""

from __future__ import annotations

import dataclasses
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from conftest import ACTIONS, SPONSORS, make_plan_folder
from helpers import odd_headers
from libreoffice import convert
from openpyxl.utils import get_column_letter
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from xlplan.errors import UsageError
from xlplan.generate import Generated, generate, validate_cycle
from xlplan.ledger import Ledger, plain
from xlplan.manifest import fingerprint, from_sheet_rows
from xlplan.plan import Plan, load_plan
from xlplan.plan_folder import PlanFolder
from xlplan.plan_sheets import Recipient
from xlplan.template import Column

CYCLE = "2025-Q3"
SPG = date(2025, 10, 2)
DEADLINE = date(2025, 9, 11)  # three weeks before the SPG
NAMES = [s.name for s in SPONSORS]
USER_SHEETS = ("Instructions", "Actions", "Feedback")
RAG_LIST = '"Red,Amber,Green,Grey,Blue"'


@dataclass
class Run:
    folder: PlanFolder
    plan: Plan
    result: Generated

    def path(self, name: str) -> Path:
        return next(p for who, p, _ in self.result.files if who == name)

    def book(self, name: str) -> Workbook:
        return openpyxl.load_workbook(self.path(name))


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """One generation of the conftest plan, shared by the read-only checks below."""
    folder = make_plan_folder(tmp_path_factory.mktemp("gen") / "plan")
    plan = load_plan(folder)
    return Run(folder, plan, generate(plan, CYCLE, spg_date=SPG, deadline=None))


# --- reading helpers -----------------------------------------------------------------


def header_row(ws: Worksheet) -> int:
    """The 1-based row holding the 'Ref' header."""
    return next(c.row for c in ws["A"] if c.value == "Ref")


def data_rows(ws: Worksheet) -> list[int]:
    head = header_row(ws)
    return [r for r in range(head + 1, ws.max_row + 1) if ws.cell(r, 1).value not in (None, "")]


def is_locked(ws: Worksheet, row: int, col: int) -> bool:
    """Locked as Excel sees it: the cell's own style, else its column's (pitfall 8)."""
    if (row, col) in ws._cells:
        return bool(ws._cells[(row, col)].protection.locked)
    return bool(ws.column_dimensions[get_column_letter(col)].protection.locked)


def validations(ws: Worksheet, kind: str) -> list[Any]:
    return [dv for dv in ws.data_validations.dataValidation if dv.type == kind]


def column_letter(run: Run, key: str) -> str:
    columns = [c.key for c in run.plan.template.rows_sheet.columns]
    return get_column_letter(columns.index(key) + 1)


def row_of(ws: Worksheet, ref: str) -> int:
    return next(r for r in data_rows(ws) if ws.cell(r, 1).value == ref)


def cell_of(run: Run, ws: Worksheet, ref: str, key: str) -> Any:
    return ws[f"{column_letter(run, key)}{row_of(ws, ref)}"]


def manifest_of(book: Workbook) -> tuple[dict[str, str], dict[str, list[str]]]:
    return from_sheet_rows([list(row) for row in book["_xlplan"].iter_rows(values_only=True)])


def custom_props(book: Workbook) -> dict[str, str]:
    return {p.name: p.value for p in book.custom_doc_props.props}


def shown_fingerprints(run: Run, ws: Worksheet, locked: tuple[Column, ...]) -> dict[str, list[str]]:
    """Fingerprints recomputed from what the locked cells hold after reading back."""
    letters = [column_letter(run, c.key) for c in locked]
    return {ws.cell(r, 1).value: [fingerprint(ws[f"{letter}{r}"].value) for letter in letters] for r in data_rows(ws)}


def insert_entries(ledger_file: Path, rows: list[tuple[str, str, str, str, str, Any, str]]) -> None:
    """Ledger entries as merge writes them, from (cycle, recipient, sheet, ref, field, value, at):
    each recipient's return whole, in the order given."""
    returns: dict[tuple[str, str], dict[tuple[str, str], dict[str, Any]]] = {}
    merged_at: dict[tuple[str, str], str] = {}
    for cycle, who, sheet, ref, fld, value, at in rows:
        returns.setdefault((cycle, who), {}).setdefault((sheet, ref), {})[fld] = plain(value)
        merged_at.setdefault((cycle, who), at)
    with Ledger(ledger_file) as ledger, ledger.transaction():
        for (cycle, who), values in returns.items():
            sha = f"sha-{who}"
            ledger.replace_entries(cycle, who, values, return_sha=sha, file=f"{who}.xlsx", at=merged_at[(cycle, who)])


# --- the run -------------------------------------------------------------------------


def test_deadline_is_three_weeks_before_the_spg(run: Run) -> None:
    assert run.result.deadline == DEADLINE
    for name in NAMES:
        book = run.book(name)
        assert manifest_of(book)[0]["deadline"] == "2025-09-11"
        texts = [c.value for row in book["Instructions"].iter_rows() for c in row]
        assert "Thursday 11 September 2025" in texts
        assert "Thursday 02 October 2025" in texts or "Thursday 2 October 2025" in texts


def test_deadline_override(tmp_path: Path) -> None:
    plan = load_plan(make_plan_folder(tmp_path / "plan"))
    result = generate(plan, CYCLE, spg_date=SPG, deadline=date(2025, 9, 5))
    assert result.deadline == date(2025, 9, 5)
    book = openpyxl.load_workbook(result.files[0][1])
    assert manifest_of(book)[0]["deadline"] == "2025-09-05"
    assert custom_props(book)["xlplan_deadline"] == "2025-09-05"
    # No SPG date at all is fine when the deadline is given.
    assert generate(plan, CYCLE, spg_date=None, deadline=date(2025, 9, 5)).deadline == date(2025, 9, 5)


def test_a_deadline_or_an_spg_date_is_needed(plan: Plan) -> None:
    with pytest.raises(UsageError, match="--spg-date"):
        generate(plan, CYCLE, spg_date=None, deadline=None)
    assert not plan.folder.outgoing_dir(CYCLE).exists()


@pytest.mark.parametrize("cycle", ["Q3", "2025Q3", "2025-Q5", "25-Q3", "2025-q3", "../2025-Q3"])
def test_bad_cycle_names_are_refused(plan: Plan, cycle: str) -> None:
    with pytest.raises(UsageError, match="should look like 2025-Q3"):
        generate(plan, cycle, spg_date=SPG, deadline=None)


@pytest.mark.parametrize("cycle", ["2025-Q1", "2025-H2", "2025-07"])
def test_good_cycle_names(cycle: str) -> None:
    assert validate_cycle(cycle) == cycle


def test_one_file_per_sponsor_named_by_cycle_and_sponsor(run: Run) -> None:
    outbox = run.folder.outgoing_dir(CYCLE)
    assert run.result.outbox == outbox
    assert [who for who, _, _ in run.result.files] == NAMES
    assert sorted(p.name for p in outbox.iterdir()) == sorted(f"{CYCLE} return - {name}.xlsx" for name in NAMES)
    for name in NAMES:
        assert run.path(name).parent == outbox
    assert run.result.skipped == []
    with Ledger(run.folder.ledger_file) as ledger:
        assert ledger.issued(CYCLE) == {who: (p.name, n) for who, p, n in run.result.files}
        info = ledger.cycle(CYCLE)
        assert info is not None and (info.spg_date, info.deadline) == (SPG, DEADLINE)


# --- each workbook ---------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_sheets_and_protection(run: Run, name: str) -> None:
    book = run.book(name)
    assert book.sheetnames == [*USER_SHEETS, "_xlplan"]
    for sheet in USER_SHEETS:
        ws = book[sheet]
        assert ws.sheet_state == "visible"
        assert ws.protection.sheet is True, sheet
        assert ws.protection.password is None  # no password asked for
    actions = book["Actions"].protection
    assert actions.autoFilter is False  # filtering allowed on the protected sheet
    assert actions.formatColumns is False  # widening columns allowed
    assert book.active.title == "Actions"


def test_page_headers_escape_an_ampersand_once(tmp_path: Path) -> None:
    """A return titled "Progress & risks" prints so on every sheet, not "Progress && risks"."""
    plan = load_plan(make_plan_folder(tmp_path / "plan"))
    plan.template = dataclasses.replace(plan.template, title="Progress & risks return")
    result = generate(plan, CYCLE, spg_date=SPG, deadline=None)
    headers = odd_headers(result.files[0][1])
    printed = [header for header in headers.values() if header]  # the hidden _xlplan sheet has none
    assert len(printed) == len(USER_SHEETS)
    by_title = [header for header in printed if "Progress" in header]
    assert by_title, printed
    for header in by_title:
        assert header.startswith("&L&10Progress && risks return&R"), header
        assert header.count("&&") == 1, header


def test_password_protects_every_user_sheet(tmp_path: Path) -> None:
    plan = load_plan(make_plan_folder(tmp_path / "plan"))
    result = generate(plan, CYCLE, spg_date=SPG, deadline=None, password="s3cret")
    book = openpyxl.load_workbook(result.files[0][1])
    for sheet in USER_SHEETS:
        assert book[sheet].protection.sheet is True
        assert book[sheet].protection.password, sheet  # the legacy hash is stored


@pytest.mark.parametrize("name", NAMES)
def test_actions_header_and_rows_match_the_plan(run: Run, name: str) -> None:
    ws = run.book(name)["Actions"]
    columns = run.plan.template.rows_sheet.columns
    head = header_row(ws)
    assert [ws.cell(head, c).value for c in range(1, len(columns) + 1)] == [c.header for c in columns]
    assert ws.cell(head, len(columns) + 1).value is None
    items = run.plan.items_for(name)
    assert [ws.cell(r, 1).value for r in data_rows(ws)] == [i["ref"] for i in items]
    assert data_rows(ws) == list(range(head + 1, head + 1 + len(items)))
    for r, item in zip(data_rows(ws), items, strict=True):
        for c, col in enumerate(columns, start=1):
            value = ws.cell(r, c).value
            if col.source == "plan":
                expected = item[col.key]
                if col.type == "date" and expected is not None:
                    assert isinstance(value, datetime) and value.date() == expected
                elif expected in (None, ""):
                    assert value is None
                else:
                    assert value == expected, (item["ref"], col.key)
            else:
                assert value is None  # nothing previous yet; inputs start empty


def test_joint_actions_are_in_both_sponsors_files(run: Run) -> None:
    sheets = {name: run.book(name)["Actions"] for name in NAMES}
    refs = {name: [ws.cell(r, 1).value for r in data_rows(ws)] for name, ws in sheets.items()}
    assert refs["Sharon McAlees"] == ["BA3.01", "BA3.02"]
    assert refs["Allen Stevenson"] == ["BA3.01", "BA3.02", "BA4.01"]
    assert refs["Helen Watson"] == ["BA1.01", "BA1.02", "BA1.03"]
    assert [n for _, _, n in run.result.files] == [3, 2, 3]


@pytest.mark.parametrize("name", NAMES)
def test_locked_cells_follow_the_template(run: Run, name: str) -> None:
    ws = run.book(name)["Actions"]
    columns = run.plan.template.rows_sheet.columns
    head = header_row(ws)
    for c in range(1, len(columns) + 1):
        assert is_locked(ws, head, c), f"header {get_column_letter(c)}{head}"
    for r in data_rows(ws):
        for c, col in enumerate(columns, start=1):
            # The generator writes every cell of a data row, styled, even when empty.
            assert (r, c) in ws._cells, f"{get_column_letter(c)}{r} not written"
            assert is_locked(ws, r, c) == (not col.editable), (col.key, r)
    # Both kinds are present, so the check above has something to tell apart.
    assert {col.editable for col in columns} == {True, False}
    # Below the data, the sheet stays locked.
    assert is_locked(ws, data_rows(ws)[-1] + 1, len(columns))


@pytest.mark.parametrize("name", NAMES)
def test_rag_dropdown(run: Run, name: str) -> None:
    ws = run.book(name)["Actions"]
    rows = data_rows(ws)
    rag = column_letter(run, "rag")
    lists = validations(ws, "list")
    assert len(lists) == 1
    dv = lists[0]
    assert dv.formula1 == RAG_LIST
    assert dv.formula1 == '"' + ",".join(run.plan.template.choices["rag"].names) + '"'
    assert str(dv.sqref) == f"{rag}{rows[0]}:{rag}{rows[-1]}"
    assert (dv.errorStyle or "stop") == "stop"  # absent means stop in OOXML
    assert dv.showErrorMessage is True
    assert dv.showInputMessage is True
    assert dv.prompt and "Red" in dv.prompt
    assert dv.promptTitle == "RAG status"
    assert "Red, Amber, Green, Grey, Blue" in dv.error


@pytest.mark.parametrize("name", NAMES)
def test_number_and_date_validations(run: Run, name: str) -> None:
    ws = run.book(name)["Actions"]
    rows = data_rows(ws)
    actual, revised = column_letter(run, "actual"), column_letter(run, "revised_due")
    (number,) = validations(ws, "decimal")
    assert str(number.sqref) == f"{actual}{rows[0]}:{actual}{rows[-1]}"
    assert float(number.formula1) <= 0 <= 1_000_000 <= float(number.formula2)
    (when,) = validations(ws, "date")
    assert str(when.sqref) == f"{revised}{rows[0]}:{revised}{rows[-1]}"
    serial = (date(2026, 3, 31) - date(1899, 12, 30)).days
    assert float(when.formula1) <= serial <= float(when.formula2)
    for dv in (number, when):
        assert (dv.errorStyle or "stop") == "stop"
        assert dv.showErrorMessage and dv.error
        assert dv.showInputMessage and dv.prompt


@pytest.mark.parametrize("name", NAMES)
def test_rag_conditional_formatting(run: Run, name: str) -> None:
    ws = run.book(name)["Actions"]
    rows = data_rows(ws)
    rag = column_letter(run, "rag")
    by_range = {str(cf.sqref): cf.rules for cf in ws.conditional_formatting}
    rules = by_range[f"{rag}{rows[0]}:{rag}{rows[-1]}"]
    colours = {rule.formula[0].strip('"'): rule.dxf.fill.bgColor.rgb[-6:] for rule in rules}
    assert colours == {c.value: c.fill.lstrip("#").upper() for c in run.plan.template.choices["rag"].values}


@pytest.mark.parametrize("name", NAMES)
def test_freeze_panes_and_print_setup(run: Run, name: str) -> None:
    ws = run.book(name)["Actions"]
    head = header_row(ws)
    assert ws.freeze_panes == f"B{head + 1}"
    setup = ws.page_setup
    assert setup.orientation == "landscape"
    # A3: its 14 columns print at 8 points or more only there (issue 19; tests/test_printing.py).
    assert int(setup.paperSize) == 8
    assert ws.sheet_properties.pageSetUpPr.fitToPage is True
    assert setup.fitToWidth in (None, 1)  # absent means 1 in OOXML
    assert int(setup.fitToHeight) == 0  # as many pages down as needed
    assert ws.print_title_rows == f"${head}:${head}"
    assert ws.auto_filter.ref == f"A{head}:{get_column_letter(ws.max_column)}{data_rows(ws)[-1]}"


@pytest.mark.parametrize("name", NAMES)
def test_manifest_sheet_and_properties(run: Run, name: str) -> None:
    book = run.book(name)
    assert book["_xlplan"].sheet_state == "veryHidden"
    identity, prints = manifest_of(book)
    assert identity["plan_id"] == "test-plan"
    assert identity["recipient"] == name
    assert identity["cycle"] == CYCLE
    assert identity["template"] == "implementation-plan"
    assert identity["template_version"] == "1"
    assert identity["deadline"] == DEADLINE.isoformat()
    assert datetime.fromisoformat(identity["generated_at"]).tzinfo is not None
    assert custom_props(book) == {f"xlplan_{k}": v for k, v in identity.items()}

    locked = run.plan.template.rows_sheet.locked_columns
    assert list(prints) == [i["ref"] for i in run.plan.items_for(name)]
    assert all(len(hashes) == len(locked) for hashes in prints.values())
    # The fingerprints describe what the locked cells hold when read back.
    assert prints == shown_fingerprints(run, book["Actions"], locked)


@pytest.mark.parametrize("name", NAMES)
def test_feedback_areas_one_per_big_action(run: Run, name: str) -> None:
    ws = run.book(name)["Feedback"]
    fields = [c.header for c in run.plan.template.groups_sheet.columns]
    heads = sorted(ws.merged_cells.ranges, key=lambda m: m.min_row)
    assert [ws.cell(m.min_row, 1).value for m in heads] == run.plan.groups_for(name)
    inputs = []
    for merged in heads:
        assert is_locked(ws, merged.min_row, 1)
        for offset, label in enumerate(fields, start=1):
            r = merged.min_row + offset
            assert ws.cell(r, 1).value == label
            assert is_locked(ws, r, 1)
            assert (r, 2) in ws._cells and not is_locked(ws, r, 2)
            inputs.append(f"B{r}")
    unlocked = [cell.coordinate for (r, c), cell in sorted(ws._cells.items()) if not cell.protection.locked]
    assert unlocked == inputs
    covered = {str(dv.sqref) for dv in ws.data_validations.dataValidation}
    assert covered == set(inputs)


def test_feedback_groups_of_each_sponsor(run: Run) -> None:
    assert run.plan.groups_for("Helen Watson") == ["Big Action 1: Reducing Inequalities"]
    assert len(run.plan.groups_for("Allen Stevenson")) == 2
    heads = sorted(run.book("Allen Stevenson")["Feedback"].merged_cells.ranges, key=lambda m: m.min_row)
    assert len(heads) == 2


# --- text safety -------------------------------------------------------------------------


def no_formulas_or_links(path: Path) -> None:
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                xml = z.read(name).decode()
                assert "<f>" not in xml and "<f " not in xml, name
                assert "<hyperlink" not in xml, name
            if name.endswith(".rels"):
                assert "relationships/hyperlink" not in z.read(name).decode(), name
    book = openpyxl.load_workbook(path)
    for ws in book.worksheets:
        assert not ws._hyperlinks
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", cell.coordinate
                assert cell.hyperlink is None, cell.coordinate


def test_plan_text_starting_with_equals_or_at_stays_text(run: Run) -> None:
    ws = run.book("Helen Watson")["Actions"]
    texts = {a["ref"]: a["action"] for a in ACTIONS}
    for ref in ("BA1.02", "BA1.03"):
        cell = cell_of(run, ws, ref, "action")
        assert cell.data_type == "s"
        assert cell.value == texts[ref]
    for name in NAMES:
        no_formulas_or_links(run.path(name))


def test_hostile_texts_everywhere_stay_text(tmp_path: Path) -> None:
    hostile = {
        "big_action": '=HYPERLINK("http://evil.example","Big Action 9")',
        "action": "https://example.org/plan and more",
        "responsible": "+44 1475 000000",
        "measure": "{=SUM(A1:A9)}",
    }
    action = {**ACTIONS[0], "ref": "BA9.01", **hostile}
    folder = make_plan_folder(tmp_path / "plan", actions=[action])
    plan = load_plan(folder)
    result = generate(plan, CYCLE, spg_date=SPG, deadline=None)
    ((_, path, _),) = result.files
    no_formulas_or_links(path)
    book = openpyxl.load_workbook(path)
    run = Run(folder, plan, result)
    ws = book["Actions"]
    for key, text in hostile.items():
        assert cell_of(run, ws, "BA9.01", key).value == text
    # The Big Action also heads a Feedback area and is listed on the Instructions sheet.
    assert book["Feedback"]["A4"].value == hostile["big_action"]
    instructions = [c.value for row in book["Instructions"].iter_rows() for c in row]
    assert hostile["big_action"] in instructions


# --- who gets a file ---------------------------------------------------------------------


def test_sponsor_with_no_actions_is_skipped(tmp_path: Path) -> None:
    sponsors = [*SPONSORS, Recipient("Nobody Here", "nobody@example.org", "Observer")]
    plan = load_plan(make_plan_folder(tmp_path / "plan", sponsors=sponsors))
    result = generate(plan, CYCLE, spg_date=SPG, deadline=None)
    assert [who for who, _, _ in result.files] == NAMES
    assert result.skipped == [("Nobody Here", "no actions in the plan")]
    assert not any("Nobody" in p.name for p in plan.folder.outgoing_dir(CYCLE).iterdir())


def test_only_some_sponsors(tmp_path: Path) -> None:
    plan = load_plan(make_plan_folder(tmp_path / "plan"))
    result = generate(plan, CYCLE, spg_date=SPG, deadline=None, only=["Allen Stevenson"])
    assert [who for who, _, _ in result.files] == ["Allen Stevenson"]
    assert [p.name for p in plan.folder.outgoing_dir(CYCLE).iterdir()] == [f"{CYCLE} return - Allen Stevenson.xlsx"]
    with pytest.raises(UsageError, match="Not on the plan's Sponsors sheet: Bob"):
        generate(plan, CYCLE, spg_date=SPG, deadline=None, only=["Bob"])


def test_generating_twice_overwrites_cleanly(tmp_path: Path) -> None:
    plan = load_plan(make_plan_folder(tmp_path / "plan"))
    outbox = plan.folder.outgoing_dir(CYCLE)
    first = generate(plan, CYCLE, spg_date=SPG, deadline=None)
    listing = sorted(p.name for p in outbox.iterdir())
    second = generate(plan, CYCLE, spg_date=SPG, deadline=date(2025, 9, 12))
    assert [p for _, p, _ in second.files] == [p for _, p, _ in first.files]
    assert sorted(p.name for p in outbox.iterdir()) == listing  # no temporary files left
    for _, path, _ in second.files:
        assert manifest_of(openpyxl.load_workbook(path))[0]["deadline"] == "2025-09-12"
    with Ledger(plan.folder.ledger_file) as ledger:
        assert len(ledger.issued(CYCLE)) == len(NAMES)
        assert ledger.cycle(CYCLE).deadline == date(2025, 9, 12)


# --- last cycle's values -----------------------------------------------------------------


def test_previous_cycle_values_are_shown(tmp_path: Path) -> None:
    folder = make_plan_folder(tmp_path / "plan")
    a = "Actions"
    q1, q2 = "2025-04-01T10:00:00", "2025-07-01T10:00:00"
    q2b, q2c = "2025-07-02T10:00:00", "2025-07-03T10:00:00"  # merged later
    insert_entries(
        folder.ledger_file,
        [
            ("2025-Q2", "Helen Watson", a, "BA1.01", "rag", "Amber", q2),
            ("2025-Q2", "Helen Watson", a, "BA1.01", "progress", "10 of 12 practices", q2),
            ("2025-Q2", "Helen Watson", a, "BA1.02", "progress", "=done, see notes", q2),
            # Joint action: both sponsors returned it; the most severe status stands.
            ("2025-Q2", "Sharon McAlees", a, "BA3.01", "rag", "Red", q2b),
            ("2025-Q2", "Sharon McAlees", a, "BA3.01", "progress", "Delayed", q2b),
            ("2025-Q2", "Allen Stevenson", a, "BA3.01", "rag", "Green", q2c),
            ("2025-Q2", "Allen Stevenson", a, "BA3.01", "progress", "Agreed", q2c),
            # An older cycle's status is carried forward; other sheets are not statuses.
            ("2025-Q1", "Helen Watson", a, "BA1.03", "rag", "Red", q1),
            ("2025-Q2", "Helen Watson", "Feedback", "BA1.03", "rag", "Blue", q2),
        ],
    )
    plan = load_plan(folder)
    result = generate(plan, CYCLE, spg_date=SPG, deadline=None)
    run = Run(folder, plan, result)

    helen = run.book("Helen Watson")["Actions"]
    assert cell_of(run, helen, "BA1.01", "last_rag").value == "Amber"
    assert cell_of(run, helen, "BA1.01", "last_progress").value == "10 of 12 practices"
    assert cell_of(run, helen, "BA1.02", "last_rag").value is None
    shown = cell_of(run, helen, "BA1.02", "last_progress")
    assert (shown.value, shown.data_type) == ("=done, see notes", "s")
    # Not reported in 2025-Q2: its 2025-Q1 status is carried forward, as the master shows it.
    assert cell_of(run, helen, "BA1.03", "last_rag").value == "Red"
    assert cell_of(run, helen, "BA1.03", "last_progress").value is None
    for name in ("Sharon McAlees", "Allen Stevenson"):
        ws = run.book(name)["Actions"]
        # Joint sponsors: the most severe status, whoever was merged last; both notes, by name.
        assert cell_of(run, ws, "BA3.01", "last_rag").value == "Red"
        assert cell_of(run, ws, "BA3.01", "last_progress").value == "Allen Stevenson: Agreed\nSharon McAlees: Delayed"
        assert cell_of(run, ws, "BA3.02", "last_rag").value is None
        last_rag = [c.key for c in plan.template.rows_sheet.columns].index("last_rag") + 1
        assert is_locked(ws, row_of(ws, "BA3.01"), last_rag)
    # The manifest fingerprints include last cycle's values as shown.
    book = run.book("Helen Watson")
    locked = plan.template.rows_sheet.locked_columns
    assert manifest_of(book)[1] == shown_fingerprints(run, book["Actions"], locked)


# --- LibreOffice as a client -------------------------------------------------------------


@pytest.mark.libreoffice
def test_libreoffice_round_trip_keeps_what_matters(run: Run, tmp_path: Path) -> None:
    name = "Allen Stevenson"
    original = run.book(name)
    saved = openpyxl.load_workbook(convert(run.path(name), tmp_path / "lo", "xlsx"))

    for sheet in USER_SHEETS:
        assert saved[sheet].protection.sheet is True, sheet
    ws = saved["Actions"]
    assert data_rows(ws) == data_rows(original["Actions"])
    columns = run.plan.template.rows_sheet.columns
    for r in data_rows(ws):
        for c, col in enumerate(columns, start=1):
            assert is_locked(ws, r, c) == (not col.editable), (col.key, r)
    (rag_list,) = validations(ws, "list")
    (before,) = validations(original["Actions"], "list")
    assert rag_list.formula1 == RAG_LIST
    assert str(rag_list.sqref) == str(before.sqref)
    assert custom_props(saved) == custom_props(original)
    # LibreOffice has no "very hidden"; the manifest is still there and still reads the same.
    assert saved["_xlplan"].sheet_state == "hidden"
    assert manifest_of(saved) == manifest_of(original)
    # A round trip through LibreOffice must not look like tampering with locked cells.
    locked = run.plan.template.rows_sheet.locked_columns
    assert shown_fingerprints(run, ws, locked) == manifest_of(original)[1]


@pytest.mark.libreoffice
def test_libreoffice_round_trip_keeps_fingerprints_of_long_numbers(tmp_path: Path) -> None:
    actions = [
        {**ACTIONS[0], "target": 100 / 3},  # e.g. the result of =100/3 in the officer's plan
        {**ACTIONS[2], "target": 12.345678901234567},
    ]
    folder = make_plan_folder(tmp_path / "plan", actions=actions)
    plan = load_plan(folder)
    result = generate(plan, CYCLE, spg_date=SPG, deadline=None)
    run = Run(folder, plan, result)
    ((_, path, _),) = result.files
    saved = openpyxl.load_workbook(convert(path, tmp_path / "lo", "xlsx"))
    locked = plan.template.rows_sheet.locked_columns
    assert shown_fingerprints(run, saved["Actions"], locked) == manifest_of(saved)[1]
