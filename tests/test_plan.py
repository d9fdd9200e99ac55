"""Reading the officer's plan.xlsx: tolerant of layout, strict about broken data."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
import xlsxwriter
from conftest import ACTIONS, SETTINGS, SPONSORS, make_plan_folder

from xlplan.errors import PlanError, TemplateError
from xlplan.plan import Plan, load_plan
from xlplan.plan_folder import PlanFolder, find_folder
from xlplan.plan_workbook import init_folder

HEADER = ["Ref", "Big Action", "Action", "Responsible officer", "Sponsor", "Due date", "Measure"]
HEADER += ["Target"]
KEYS = ["ref", "big_action", "action", "responsible", "sponsor", "due", "measure", "target"]
SETTING_LABELS = {
    "title": "Plan title",
    "plan_id": "Plan id",
    "template": "Template",
    "officer": "Planning officer",
    "return_email": "Return address",
    "spg_email": "SPG email",
}

Rows = list[list[Any]]


def write_xlsx(path: Path, sheets: dict[str, Rows]) -> None:
    """Write each sheet's rows cell by cell with its Python type; None leaves a cell empty."""
    path.parent.mkdir(parents=True, exist_ok=True)
    book = xlsxwriter.Workbook(
        str(path),
        {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False},
    )
    date_format = book.add_format({"num_format": "dd/mm/yyyy"})
    for name, rows in sheets.items():
        ws = book.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is None:
                    continue
                if isinstance(value, datetime):
                    ws.write_datetime(r, c, value, date_format)
                elif isinstance(value, date):
                    ws.write_datetime(r, c, datetime(value.year, value.month, value.day), date_format)
                elif isinstance(value, bool):
                    ws.write_boolean(r, c, value)
                elif isinstance(value, int | float):
                    ws.write_number(r, c, value)
                else:
                    ws.write_string(r, c, str(value))
    book.close()


def fixture_sheets() -> dict[str, Rows]:
    """The conftest plan as raw sheets (Actions, Sponsors, Settings), ready to break."""
    actions: Rows = [list(HEADER)]
    actions += [[a.get(k) or None for k in KEYS] for a in ACTIONS]
    sponsors: Rows = [["Name", "Email", "Role"]]
    sponsors += [[s.name, s.email, s.role] for s in SPONSORS]
    settings: Rows = [["Setting", "Value"]]
    settings += [[label, SETTINGS[key]] for key, label in SETTING_LABELS.items()]
    return {"Actions": actions, "Sponsors": sponsors, "Settings": settings}


def folder_with(tmp_path: Path, sheets: dict[str, Rows]) -> PlanFolder:
    folder = PlanFolder(tmp_path / "plan")
    write_xlsx(folder.plan_file, sheets)
    return folder


def plan_error(tmp_path: Path, sheets: dict[str, Rows]) -> str:
    with pytest.raises(PlanError) as err:
        load_plan(folder_with(tmp_path, sheets))
    return str(err.value)


# --- reading -----------------------------------------------------------------------


def test_load_plan_reads_the_fixture(plan: Plan) -> None:
    assert plan.plan_id == "test-plan"
    assert plan.title == "Test Strategic Plan"
    assert plan.template.name == "implementation-plan"
    assert plan.settings["return_email"] == "planning@example.org"
    assert [(r.name, r.email) for r in plan.recipients] == [(s.name, s.email) for s in SPONSORS]
    assert [i["ref"] for i in plan.items] == [a["ref"] for a in ACTIONS]
    first = plan.items[0]
    assert first["due"] == date(2024, 3, 31)
    assert first["target"] == 1200
    assert first["action"] == ACTIONS[0]["action"]
    blank = plan.items[1]  # BA1.02 has no measure and no target
    assert blank["target"] is None
    assert blank["measure"] == ""
    # Excel rows, for messages: the header is row 1.
    assert plan.rows == {a["ref"]: n for n, a in enumerate(ACTIONS, start=2)}


def test_text_that_looks_like_a_formula_is_read_as_text(plan: Plan) -> None:
    by_ref = {i["ref"]: i for i in plan.items}
    assert by_ref["BA1.02"]["action"].startswith("=Publish")
    assert by_ref["BA1.03"]["action"].startswith("@Deliver")


def test_joint_sponsors_both_get_the_shared_actions(plan: Plan) -> None:
    refs = {r.name: [i["ref"] for i in plan.items_for(r.name)] for r in plan.recipients}
    assert refs == {
        "Helen Watson": ["BA1.01", "BA1.02", "BA1.03"],
        "Sharon McAlees": ["BA3.01", "BA3.02"],
        "Allen Stevenson": ["BA3.01", "BA3.02", "BA4.01"],
    }
    shared = next(i for i in plan.items if i["ref"] == "BA3.01")
    assert plan.recipients_of(shared) == ["Sharon McAlees", "Allen Stevenson"]
    assert plan.groups_for("Allen Stevenson") == [
        "Big Action 3: Together we will Protect Our Population",
        "Big Action 4: Support people to live at home",
    ]


def test_tolerant_headers_dates_and_names(tmp_path: Path) -> None:
    sheets = fixture_sheets()
    actions = sheets["Actions"]
    actions[0] = [" REF", "big  action", "ACTION", "Responsible Officer ", "Sponsors"]
    actions[0] += ["  due DATE ", "measure", "Target"]
    due = 5
    actions[1][due] = "31/03/2024"  # text, British
    actions[2][due] = "2024-03-31"  # text, ISO
    actions[3][due] = date(2024, 3, 31)  # a real Excel date
    actions[4][due] = 45382  # a serial number in a General cell
    actions[5][due] = " 31 March 2024 "
    actions[1][0] = "BA1.01  "  # trailing spaces in a ref
    actions[1][4] = "helen watson "  # case and trailing spaces in a sponsor
    actions[4][4] = " Sharon McAlees ;Allen  Stevenson"
    actions[5][4] = "Sharon McAlees\nAllen Stevenson"  # a line break between joint sponsors
    sheets["Sponsors"][1][0] = "Helen Watson   "
    sheets["Sponsors"][0] = ["NAME", "e-mail", "role"]

    plan = load_plan(folder_with(tmp_path, sheets))

    by_ref = {i["ref"]: i for i in plan.items}
    assert list(by_ref) == [a["ref"] for a in ACTIONS]
    assert [by_ref[r]["due"] for r in ("BA1.01", "BA1.02", "BA1.03", "BA3.01", "BA3.02")] == [date(2024, 3, 31)] * 5
    assert plan.recipients[0].name == "Helen Watson"  # spaces trimmed
    assert by_ref["BA1.01"]["sponsor"] == "Helen Watson"  # canonical spelling
    assert by_ref["BA3.01"]["sponsor"] == "Sharon McAlees; Allen Stevenson"
    assert [i["ref"] for i in plan.items_for("Helen Watson")] == ["BA1.01", "BA1.02", "BA1.03"]
    assert [i["ref"] for i in plan.items_for("Sharon McAlees")] == ["BA3.01", "BA3.02"]
    assert [i["ref"] for i in plan.items_for("Allen Stevenson")] == ["BA3.01", "BA3.02", "BA4.01"]


def test_numbers_as_text_and_blank_rows_between_big_actions(tmp_path: Path) -> None:
    sheets = fixture_sheets()
    sheets["Actions"][1][7] = "1,200"
    sheets["Actions"][3][7] = " 85 "
    sheets["Actions"].insert(4, [None] * len(HEADER))  # a blank row before BA3
    plan = load_plan(folder_with(tmp_path, sheets))
    by_ref = {i["ref"]: i for i in plan.items}
    assert by_ref["BA1.01"]["target"] == 1200
    assert by_ref["BA1.03"]["target"] == 85
    assert len(plan.items) == len(ACTIONS)
    assert plan.rows["BA3.01"] == 6  # the blank row still counts in Excel row numbers


# --- broken plans: every problem named by sheet, row and column --------------------


def test_duplicate_refs(tmp_path: Path) -> None:
    sheets = fixture_sheets()
    sheets["Actions"][3][0] = "BA1.01"  # Excel row 4 repeats row 2
    message = plan_error(tmp_path, sheets)
    assert "Actions row 4" in message
    assert "ref 'BA1.01'" in message
    assert "row 2" in message


def test_action_with_no_sponsor(tmp_path: Path) -> None:
    sheets = fixture_sheets()
    sheets["Actions"][2][4] = None  # BA1.02, Excel row 3, column E
    message = plan_error(tmp_path, sheets)
    assert "Actions!E3 (Sponsor): is empty." in message


def test_unknown_sponsor(tmp_path: Path) -> None:
    sheets = fixture_sheets()
    sheets["Actions"][2][4] = "Bob Smith"
    message = plan_error(tmp_path, sheets)
    assert "Actions row 3: Sponsor 'Bob Smith' of BA1.02 is not on the Sponsors sheet." in message


def test_unknown_joint_sponsor_names_only_the_unknown_one(tmp_path: Path) -> None:
    sheets = fixture_sheets()
    sheets["Actions"][4][4] = "Sharon McAlees; Alan Stevenson"
    message = plan_error(tmp_path, sheets)
    assert "Actions row 5: Sponsor 'Alan Stevenson' of BA3.01" in message
    assert "'Sharon McAlees'" not in message


def test_unparseable_date(tmp_path: Path) -> None:
    sheets = fixture_sheets()
    sheets["Actions"][3][5] = "next spring"  # BA1.03, Excel row 4, column F
    message = plan_error(tmp_path, sheets)
    assert "Actions!F4 (Due date): 'next spring' is not a date" in message


def test_unparseable_number(tmp_path: Path) -> None:
    sheets = fixture_sheets()
    sheets["Actions"][1][7] = "lots"
    message = plan_error(tmp_path, sheets)
    assert "Actions!H2 (Target): 'lots' is not a number" in message


def test_cells_are_named_where_they_really_are(tmp_path: Path) -> None:
    # The officer's own layout: a title above the table and a margin column A.
    sheets = fixture_sheets()
    sheets["Actions"] = [["", "Strategic plan: commitments"], []] + [[None, *row] for row in sheets["Actions"]]
    sheets["Actions"][4][6] = "sometime"  # BA1.02's due date, now in G5
    message = plan_error(tmp_path, sheets)
    assert "Actions!G5 (Due date): 'sometime' is not a date" in message


def test_missing_required_column(tmp_path: Path) -> None:
    sheets = fixture_sheets()
    sheets["Actions"] = [row[:4] + row[5:] for row in sheets["Actions"]]  # no Sponsor column
    message = plan_error(tmp_path, sheets)
    assert "Actions: missing column(s) Sponsor in the header row." in message


def test_missing_sheet(tmp_path: Path) -> None:
    sheets = fixture_sheets()
    del sheets["Sponsors"]
    message = plan_error(tmp_path, sheets)
    assert "no sheet called 'Sponsors'" in message
    assert "Actions, Settings" in message


def test_missing_plan_id(tmp_path: Path) -> None:
    sheets = fixture_sheets()
    sheets["Settings"][2][1] = None
    message = plan_error(tmp_path, sheets)
    assert "Settings: 'Plan id' is empty" in message


def test_every_problem_is_listed_at_once(tmp_path: Path) -> None:
    sheets = fixture_sheets()
    sheets["Actions"][2][5] = "next spring"
    sheets["Actions"][6][4] = "Bob Smith"
    sheets["Actions"][3][0] = "BA1.01"
    message = plan_error(tmp_path, sheets)
    assert message.startswith("plan.xlsx has 3 problem(s) to fix:")
    assert "Actions!F3 (Due date)" in message
    assert "Sponsor 'Bob Smith' of BA4.01" in message
    assert "ref 'BA1.01' is already used on row 2" in message


def test_unknown_template_in_settings(tmp_path: Path) -> None:
    sheets = fixture_sheets()
    sheets["Settings"][3][1] = "nope"
    with pytest.raises(TemplateError, match="No template called 'nope'"):
        load_plan(folder_with(tmp_path, sheets))


def test_no_plan_file(tmp_path: Path) -> None:
    with pytest.raises(PlanError, match=r"plan\.xlsx not found"):
        load_plan(PlanFolder(tmp_path))


def test_a_plan_that_is_not_a_workbook(tmp_path: Path) -> None:
    (tmp_path / "plan.xlsx").write_text("not a spreadsheet", encoding="utf-8")
    with pytest.raises(PlanError, match="cannot be read as an Excel workbook"):
        load_plan(PlanFolder(tmp_path))


# --- the plan folder ---------------------------------------------------------------


def test_find_folder_from_a_subfolder(plan_folder: PlanFolder) -> None:
    deep = plan_folder.root / "outgoing" / "2025-Q3"
    deep.mkdir(parents=True)
    assert find_folder(deep).root == plan_folder.root.resolve()
    assert find_folder(plan_folder.root).plan_file == plan_folder.plan_file.resolve()


def test_find_folder_in_an_empty_directory(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(PlanError) as err:
        find_folder(empty)
    message = str(err.value)
    assert message.startswith("No plan folder here")
    assert "`xlplan init DIR`" in message


def test_init_folder_creates_a_loadable_plan(tmp_path: Path) -> None:
    folder = init_folder(tmp_path / "new", "implementation-plan", title="My Big Plan")
    assert folder.plan_file.is_file()
    for sub in ("returns", "archive", "outgoing", "feedback"):
        assert (tmp_path / "new" / sub).is_dir()
    plan = load_plan(folder)
    assert plan.plan_id == "my-big-plan"
    assert plan.title == "My Big Plan"
    assert plan.template.name == "implementation-plan"
    assert plan.items == [] and plan.recipients == []


def test_init_folder_twice_is_refused(tmp_path: Path) -> None:
    init_folder(tmp_path / "new", "implementation-plan")
    before = (tmp_path / "new" / "plan.xlsx").read_bytes()
    with pytest.raises(PlanError, match="already exists"):
        init_folder(tmp_path / "new", "implementation-plan")
    assert (tmp_path / "new" / "plan.xlsx").read_bytes() == before


def test_init_folder_with_an_unknown_template_creates_nothing(tmp_path: Path) -> None:
    with pytest.raises(TemplateError):
        init_folder(tmp_path / "new", "nope")
    assert not (tmp_path / "new").exists()


def test_a_sponsor_listed_twice_in_another_case_is_refused(tmp_path: Path) -> None:
    sheets = fixture_sheets()
    sheets["Sponsors"].append(["HELEN WATSON", "someone.else@example.org", "Typo"])
    message = plan_error(tmp_path, sheets)
    assert "Sponsors!row 5: 'HELEN WATSON' is listed twice." in message


# --- the cache of a plan read without problems ----------------------------------------------


def _same(a: Plan, b: Plan) -> None:
    assert a.items == b.items and a.rows == b.rows
    assert a.recipients == b.recipients and a.settings == b.settings
    assert a.template == b.template


def test_an_unchanged_plan_is_taken_from_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = make_plan_folder(tmp_path / "plan")
    first = load_plan(folder)  # read from plan.xlsx, then cached
    assert folder.cache_file.is_file()
    monkeypatch.setattr("xlplan.plan._parse", lambda *_: pytest.fail("plan.xlsx was read again"))
    cached = load_plan(folder)
    _same(cached, first)
    assert isinstance(cached.items[0]["due"], date) and cached.items[0]["due"] == ACTIONS[0]["due"]
    assert cached.items_for("Helen Watson") == first.items_for("Helen Watson")


def test_a_changed_plan_or_template_is_read_again(tmp_path: Path) -> None:
    folder = make_plan_folder(tmp_path / "plan")
    load_plan(folder)
    changed = [dict(a) for a in ACTIONS]
    changed[0]["action"] = "A new wording of the first action"
    make_plan_folder(tmp_path / "plan", actions=changed)  # the officer edits plan.xlsx
    assert load_plan(folder).items[0]["action"] == "A new wording of the first action"
    own = folder.root / "templates" / "implementation-plan.yaml"  # the folder gets its own template
    own.parent.mkdir()
    text = (Path(__file__).parents[1] / "templates" / "implementation-plan.yaml").read_text(encoding="utf-8")
    own.write_text(text.replace("title: Strategic Plan implementation return", "title: Our own return"), "utf-8")
    assert load_plan(folder).template.title == "Our own return"


@pytest.mark.parametrize("damage", ["not json", '{"key": 1}', ""])
def test_a_damaged_cache_is_ignored(tmp_path: Path, damage: str) -> None:
    folder = make_plan_folder(tmp_path / "plan")
    fresh = load_plan(folder)
    folder.cache_file.write_text(damage, encoding="utf-8")
    _same(load_plan(folder), fresh)
    assert folder.cache_file.read_text(encoding="utf-8").startswith('{"key"')  # rewritten whole


def test_a_plan_with_problems_is_never_cached(tmp_path: Path) -> None:
    folder = make_plan_folder(tmp_path / "plan", settings={**SETTINGS, "plan_id": ""})
    with pytest.raises(PlanError, match="Plan id"):
        load_plan(folder)
    assert not folder.cache_file.exists()
