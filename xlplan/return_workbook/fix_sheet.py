"""The "Please fix" sheet: the first sheet of an annotated copy, listing what to fix."""

from __future__ import annotations

from xlsxwriter.workbook import Workbook

from xlplan.look import row_height
from xlplan.manifest import Manifest
from xlplan.plan import Plan
from xlplan.return_workbook.annotations import Annotations
from xlplan.return_workbook.styles import Styles, page_setup, protect


def write_fix_sheet(book: Workbook, styles: Styles, plan: Plan, manifest: Manifest, annotations: Annotations) -> None:
    """A first sheet listing what to fix, so the copy can go straight back to the sponsor."""
    ws = book.add_worksheet("Please fix")
    ws.set_column(0, 0, 12)
    ws.set_column(1, 1, 16)
    ws.set_column(2, 2, 10)
    ws.set_column(3, 3, 100)
    errors = [i for i in annotations.issues if i.severity == "error"]
    warnings = [i for i in annotations.issues if i.severity == "warning"]
    ws.write_string(0, 0, f"{plan.title}: your {manifest.cycle} return needs attention", styles.title)
    ws.write_string(
        1,
        0,
        f"{len(errors)} problem(s) to fix and {len(warnings)} point(s) to check. Your entries are kept in this copy: "
        "fix the red cells, check the amber ones (hover for the note), save and send this file back.",
        styles.subtitle,
    )
    for c, label in enumerate(("Severity", "Where", "Ref", "What to do")):
        ws.write_string(3, c, label, styles.head_locked)
    for r, issue in enumerate(errors + warnings, start=4):
        fmt = styles.flag[issue.severity]["text"]
        ws.write_string(r, 0, issue.severity, fmt)
        ws.write_string(r, 1, issue.where, styles.locked["text"])
        ws.write_string(r, 2, issue.ref, styles.locked["text"])
        ws.write_string(r, 3, issue.message, styles.locked["text"])
        height = row_height([(issue.message, 100)])
        if height:
            ws.set_row(r, height)
    page_setup(ws, "Please fix", 3)
    ws.activate()
    protect(ws, None)
