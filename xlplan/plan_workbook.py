"""Writing the plan workbook: the plan.xlsx laid out from a template, and the plan folder
`xlplan init` creates around it (the sample plan and the tests write theirs here too).

Its Items, Recipients and Settings sheets, and a Decisions sheet with a dropdown of the
SPG's decisions. `plan` reads the workbook; xlplan never writes the officer's own plan.xlsx
after `init`.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

from xlplan.decisions import COLUMNS as DECISION_COLUMNS
from xlplan.decisions import DECISIONS, DECISIONS_SHEET
from xlplan.decisions import HELP as DECISION_HELP
from xlplan.errors import PlanError
from xlplan.files import atomic_path
from xlplan.look import DATE_FORMAT, GREY_TEXT, NAVY, WHITE
from xlplan.plan_folder import PlanFolder
from xlplan.plan_sheets import RECIPIENT_COLUMNS, SETTINGS, SETTINGS_SHEET, Recipient, as_written_key
from xlplan.template import Template
from xlplan.template_load import load_template
from xlplan.values import parse_date


def write_plan_workbook(
    path: Path,
    template: Template,
    settings: dict[str, str],
    recipients: list[Recipient],
    items: list[dict[str, Any]],
    decisions: list[dict[str, Any]] | None = None,
) -> None:
    """Write a plan.xlsx laid out from the template: used by `xlplan init` and the sample.

    `decisions` (rows of the Decisions sheet, by the keys of `decisions.COLUMNS`) are written
    on a Decisions sheet with a dropdown of the decisions; None writes no such sheet.
    """
    import xlsxwriter

    spec = template.plan
    with atomic_path(path) as tmp:
        book = xlsxwriter.Workbook(str(tmp), {"strings_to_formulas": False, "strings_to_urls": False})
        head = book.add_format(
            {
                "bold": True,
                "bg_color": NAVY,
                "font_color": WHITE,
                "text_wrap": True,
                "valign": "top",
            }
        )
        wrap = book.add_format({"text_wrap": True, "valign": "top"})
        datef = book.add_format({"num_format": DATE_FORMAT, "valign": "top"})
        note = book.add_format({"italic": True, "font_color": GREY_TEXT})

        items_ws = book.add_worksheet(spec.items_sheet)
        for c, col in enumerate(spec.columns):
            items_ws.write_string(0, c, col.header, head)
            items_ws.set_column(c, c, col.width, datef if col.type == "date" else wrap)
        for r, item in enumerate(items, start=1):
            for c, col in enumerate(spec.columns):
                value = item.get(col.key)
                if value in (None, ""):
                    continue
                if col.type == "date" and (item.get(as_written_key(col.key)) or _worded(value)):
                    items_ws.write_string(r, c, str(item.get(as_written_key(col.key)) or value), wrap)  # as written
                elif col.type == "date":
                    items_ws.write_datetime(r, c, _as_datetime(value), datef)
                elif col.type == "number" or type(value) in (int, float):  # a number typed in any column
                    items_ws.write_number(r, c, float(value))
                else:
                    items_ws.write_string(r, c, str(value), wrap)
        items_ws.freeze_panes(1, 1)
        items_ws.autofilter(0, 0, max(len(items), 1), len(spec.columns) - 1)

        people = book.add_worksheet(spec.recipients_sheet)
        for c, (_, label) in enumerate(RECIPIENT_COLUMNS):
            people.write_string(0, c, label, head)
        people.set_column(0, 0, 24)
        people.set_column(1, 1, 34)
        people.set_column(2, 2, 50)
        people.set_column(3, 3, 24)
        people.write_comment(
            0, 3, "How emails address them: 'Dear <Greeting>,'. Blank: a person's first name, or a role's whole name."
        )
        for r, rec in enumerate(recipients, start=1):
            for c, value in enumerate((rec.name, rec.email, rec.role, rec.greeting)):
                people.write_string(r, c, value)

        ws = book.add_worksheet(SETTINGS_SHEET)
        for c, label in enumerate(("Setting", "Value", "What it is for")):
            ws.write_string(0, c, label, head)
        ws.set_column(0, 0, 20)
        ws.set_column(1, 1, 44)
        ws.set_column(2, 2, 60)
        for r, (key, label, help_text) in enumerate(SETTINGS, start=1):
            ws.write_string(r, 0, label)
            ws.write_string(r, 1, settings.get(key, ""))
            ws.write_string(r, 2, help_text, note)
        if decisions is not None:
            _decisions_sheet(book, head, datef, wrap, note, decisions)
        book.close()


def _worded(value: object) -> bool:
    """A due date given as words ("March 2025", "Ongoing"): written as the text it is."""
    if not isinstance(value, str):
        return False
    try:
        parse_date(value)
    except ValueError:
        return True
    return False


DECISION_ROWS = 500  # rows of the Decisions sheet given the dropdown and date checks


def _decisions_sheet(book: Any, head: Any, datef: Any, wrap: Any, note: Any, decisions: list[dict[str, Any]]) -> None:
    """The SPG's decisions: one row each, the Decision column a dropdown."""
    from xlplan.errors import XlplanError

    ws = book.add_worksheet(DECISIONS_SHEET)
    widths = {"date": 12, "ref": 10, "decision": 24, "new_due": 14, "note": 60}
    for c, (key, header, _others) in enumerate(DECISION_COLUMNS):
        ws.write_string(0, c, header, head)
        ws.set_column(c, c, widths[key], datef if key in ("date", "new_due") else wrap)
    for r, decision in enumerate(decisions, start=1):
        for c, (key, _header, _others) in enumerate(DECISION_COLUMNS):
            value = decision.get(key)
            if value in (None, ""):
                continue
            if key in ("date", "new_due"):
                ws.write_datetime(r, c, _as_datetime(value), datef)
            else:
                ws.write_string(r, c, str(value), wrap)
    last = max(DECISION_ROWS, len(decisions))
    codes = []
    for c, (key, header, _others) in enumerate(DECISION_COLUMNS):
        options: dict[str, Any] = {"input_title": header[:32], "input_message": DECISION_HELP[key][:255]}
        if key == "decision":
            options |= {
                "validate": "list",
                "source": list(DECISIONS),
                "error_type": "stop",
                "error_title": header,
                "error_message": f"Choose one of: {', '.join(DECISIONS)}."[:255],
            }
        elif key in ("date", "new_due"):
            options |= {
                "validate": "date",
                "criteria": "between",
                "minimum": datetime(2000, 1, 1),
                "maximum": datetime(2100, 12, 31),
                "error_type": "stop",
                "error_title": header,
                "error_message": "Enter a date, e.g. 14/10/2025.",
            }
        else:
            options |= {"validate": "any"}
        codes.append(ws.data_validation(1, c, last, c, options))
    if any(codes):  # xlsxwriter only warns (e.g. a list over 255 characters)
        raise XlplanError(f"Cannot add the dropdowns to the {DECISIONS_SHEET} sheet (codes {codes}).")
    ws.write_string(
        0,
        len(DECISION_COLUMNS) + 1,
        "One row per SPG decision. xlplan applies them in date order: an approved date becomes the "
        "action's due date, Close completes it, Reopen asks for it again.",
        note,
    )
    ws.freeze_panes(1, 0)


def _as_datetime(value: object) -> Any:
    d = parse_date(value)
    return datetime(d.year, d.month, d.day) if d else None


def init_folder(directory: Path, template_name: str, title: str = "") -> PlanFolder:
    """Create a plan folder with an empty plan.xlsx laid out from the template."""
    folder = PlanFolder(directory.resolve())
    if folder.plan_file.exists():
        raise PlanError(f"{folder.plan_file} already exists: this is already a plan folder.")
    template = load_template(template_name)
    try:
        folder.root.mkdir(parents=True, exist_ok=True)
        folder.make_dirs()
    except OSError as exc:
        raise PlanError(f"Cannot create {folder.root}: {exc.strerror or exc}.") from exc
    plan_id = re.sub(r"[^a-z0-9]+", "-", (title or folder.root.name).casefold()).strip("-") or "plan"
    settings = {"title": title, "plan_id": plan_id, "template": template.name}
    write_plan_workbook(folder.plan_file, template, settings, [], [], decisions=[])
    return folder
