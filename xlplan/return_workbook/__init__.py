"""A sponsor's return workbook, written with xlsxwriter from data every time: its sheets in
order, its identity (the manifest, document properties) and the file itself.

Nothing is loaded and re-saved. All text goes through ``write_string`` in a workbook opened
with formula and URL conversion off, so a plan text starting with "=" or "@" stays text.
The same writer makes the annotated copy of a return that needs fixing (`Annotations`).
"""

from __future__ import annotations

import io
from datetime import date, datetime
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.workbook import Workbook

from xlplan import __version__
from xlplan.errors import OutputError
from xlplan.files import atomic_path
from xlplan.manifest import PREFIX, SHEET, Manifest, fingerprint, properties, sheet_rows
from xlplan.plan import Plan, shown
from xlplan.return_workbook.annotations import Annotations
from xlplan.return_workbook.fix_sheet import write_fix_sheet
from xlplan.return_workbook.groups_sheet import write_groups_sheet
from xlplan.return_workbook.instructions import write_instructions
from xlplan.return_workbook.rows_sheet import write_rows_sheet
from xlplan.return_workbook.styles import Styles
from xlplan.seal import seal_of
from xlplan.sheetxml import BOOK_OPTIONS, pack
from xlplan.template import Column

__all__ = ["Annotations", "new_manifest", "row_values", "write_return"]


def new_manifest(plan: Plan, recipient: str, cycle: str, deadline: date, generated_at: str | None = None) -> Manifest:
    """The identity a workbook for `recipient` carries (fingerprints are added as rows are written)."""
    return Manifest(
        plan_id=plan.plan_id,
        template=plan.template.name,
        template_version=plan.template.version,
        recipient=recipient,
        cycle=cycle,
        deadline=deadline.isoformat(),
        generated_at=generated_at or datetime.now().astimezone().isoformat(timespec="seconds"),
    )


def row_values(column: Column, item: dict[str, Any], previous: dict[str, Any]) -> Any:
    """The value a locked column shows for an item: from the plan or last cycle."""
    if column.source == "plan":
        return shown(item, column.key)  # a due date written as words: as written, beside its date
    if column.source == "previous":
        return previous.get(column.field or column.key)
    return None


def write_return(
    path: Path,
    plan: Plan,
    recipient: str,
    items: list[dict[str, Any]],
    previous: dict[str, dict[str, Any]],
    manifest: Manifest,
    spg_date: date | None,
    password: str | None,
    annotations: Annotations | None = None,
    seal_key: str | None = None,
) -> None:
    """Write a recipient's workbook; with `seal_key` its metadata is sealed (`xlplan.seal`)."""
    template = plan.template
    key = template.plan.key
    locked = template.rows_sheet.locked_columns
    # Each row's locked values, worked out once: fingerprinted here, written by write_rows_sheet.
    shown_by_ref = {
        item[key]: {c.key: row_values(c, item, previous.get(item[key], {})) for c in locked} for item in items
    }
    for ref, values in shown_by_ref.items():
        manifest.fingerprints[ref] = [fingerprint(values[c.key]) for c in locked]
    if seal_key:
        manifest.seal = seal_of(seal_key, manifest.identity(), manifest.fingerprints)
    try:
        buffer = io.BytesIO()
        book = xlsxwriter.Workbook(buffer, BOOK_OPTIONS)
        styles = Styles(book, template)
        if annotations is not None and annotations.issues:
            write_fix_sheet(book, styles, plan, manifest, annotations)
        write_instructions(book, styles, plan, recipient, manifest, spg_date, password)
        actions, cells = write_rows_sheet(
            book, styles, template.rows_sheet, template, items, previous, shown_by_ref, password, annotations
        )
        if template.groups_sheet is not None:
            groups_filled = annotations.groups if annotations else {}
            write_groups_sheet(book, styles, template.groups_sheet, plan.groups_for(recipient), password, groups_filled)
        write_manifest_sheet(book, manifest)
        if annotations is None or not annotations.issues:
            actions.activate()
        book.set_properties(
            {
                "title": f"{plan.title}: {manifest.cycle} return",
                "author": f"xlplan {__version__}",
                "subject": recipient,
                "company": plan.title,
            }
        )
        for name, value in properties(manifest).items():
            book.set_custom_property(PREFIX + name, value, "text")
        book.close()
        with atomic_path(path) as tmp:
            pack(buffer.getvalue(), tmp, {template.rows_sheet.name: cells})
    except (OSError, xlsxwriter.exceptions.FileCreateError) as exc:
        raise OutputError(f"Cannot write {path}: {getattr(exc, 'strerror', None) or exc}.") from exc


def write_manifest_sheet(book: Workbook, manifest: Manifest) -> None:
    ws = book.add_worksheet(SHEET)
    for r, (k, v) in enumerate(sheet_rows(manifest)):
        ws.write_string(r, 0, k)
        ws.write_string(r, 1, v)
    ws.very_hidden()
    ws.protect()
