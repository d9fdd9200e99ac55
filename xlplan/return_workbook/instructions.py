"""The Instructions sheet: who the return is for, by when, how to fill it in, and what each choice means."""

from __future__ import annotations

from datetime import date

from xlsxwriter.workbook import Workbook

from xlplan.look import row_height
from xlplan.manifest import Manifest
from xlplan.plan import Plan
from xlplan.return_workbook.styles import Styles, page_setup, protect
from xlplan.template import Template
from xlplan.values import long_date

INSTRUCTION_WIDTH = 72  # the Instructions sheet's text column


def write_instructions(
    book: Workbook,
    styles: Styles,
    plan: Plan,
    recipient: str,
    manifest: Manifest,
    spg_date: date | None,
    password: str | None,
) -> None:
    template = plan.template
    ws = book.add_worksheet("Instructions")
    ws.hide_gridlines(2)
    ws.set_column(0, 0, 20)  # 92 units across: A4 portrait at 8 points or more (look.PRINT_WIDTH)
    ws.set_column(1, 1, INSTRUCTION_WIDTH)
    ws.write_string(0, 0, plan.title, styles.title)
    ws.write_string(1, 0, f"{template.title}: {manifest.cycle}", styles.subtitle)
    groups = plan.groups_for(recipient)
    deadline = date.fromisoformat(manifest.deadline)
    officer = plan.settings.get("officer", "")
    to = plan.settings.get("return_email", "")
    facts = [
        (template.plan.recipient_label.capitalize(), recipient),
        ("Reporting cycle", manifest.cycle),
        ("Please return by", long_date(deadline)),
        ("SPG meeting", long_date(spg_date) if spg_date else ""),
        ("Return to", " ".join(p for p in (officer, f"<{to}>" if to else "") if p)),
    ]
    if groups:
        facts.insert(1, (_group_label(template), "\n".join(groups)))
    row = 3
    for label, value in facts:
        ws.write_string(row, 0, label, styles.bold)
        ws.write_string(row, 1, value, styles.wrap)
        if "\n" in value:
            ws.set_row(row, 15 * (value.count("\n") + 1))
        row += 1
    row += 1
    ws.write_string(row, 0, "How to fill it in", styles.section)
    ws.write_blank(row, 1, None, styles.section)
    rows = template.rows_sheet
    steps = [
        f"Go to the '{rows.name}' sheet. Grey columns are the plan and are locked; fill in the pale yellow ones.",
        *[f"{c.header}: {c.help}" for c in rows.editable_columns if c.help],
    ]
    if rows.locked_rows is not None:
        steps.append(f"Rows shaded dark grey are locked and cannot be filled in. {rows.locked_rows.note}".strip())
    if template.groups_sheet:
        steps.append(f"On the '{template.groups_sheet.name}' sheet: {template.groups_sheet.help}")
    steps += [
        "Please do not rename, move or delete sheets, rows or columns: the file is matched to the plan by its contents.",
        "You may rename the file. Save it as .xlsx and email it back by the date above.",
    ]
    for n, step in enumerate(steps, start=1):
        row += 1
        ws.write_string(row, 0, f"{n}.", styles.bold)
        ws.write_string(row, 1, step, styles.wrap)
        height = row_height([(step, INSTRUCTION_WIDTH)])
        if height:
            ws.set_row(row, height)
    shown = {c.choices for sheet in template.sheets for c in sheet.columns if c.choices}
    for key, cl in template.choices.items():
        if key not in shown:
            continue  # a list only the plan uses (a measure's direction): not the recipient's to choose
        row += 2
        ws.write_string(row, 0, cl.title, styles.section)
        ws.write_blank(row, 1, None, styles.section)
        for choice in cl.values:
            row += 1
            ws.write_string(row, 0, choice.value, styles.choice[(key, choice.value)])
            ws.write_string(row, 1, choice.definition, styles.wrap)
    page_setup(ws, template.title, portrait=True)
    protect(ws, password)


def _group_label(template: Template) -> str:
    column = next((c for c in template.plan.columns if c.key == template.plan.group_by), None)
    return (column.header + "s") if column else "Groups"
