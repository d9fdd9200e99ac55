"""Play a sponsor: fill in a generated return workbook as a person would in Excel.

Used to build the sample returns and by the tests. This is the *client's* side, so
it opens the workbook with openpyxl, types values and saves: xlplan itself never
re-saves a workbook it has loaded.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl

from xlplan.template import Template


def fill_return(
    src: Path,
    dst: Path,
    template: Template,
    actions: dict[str, dict[str, Any]],
    feedback: dict[str, dict[str, str]] | None = None,
) -> None:
    """Write `actions` ({ref: {column key: value}}) and `feedback` ({group: {field: text}})."""
    book = openpyxl.load_workbook(src)
    sheet = template.rows_sheet
    ws = book[sheet.name]
    headers = {c.header: c.key for c in sheet.columns}
    head_row, cols = next(
        (r[0].row, {headers[c.value]: c.column for c in r if c.value in headers})
        for r in ws.iter_rows()
        if r[0].value == sheet.columns[0].header
    )
    rows = {ws.cell(r, cols[sheet.columns[0].key]).value: r for r in range(head_row + 1, ws.max_row + 1)}
    for ref, values in actions.items():
        for key, value in values.items():
            if isinstance(value, str) and len(value) == 10 and value[4] == "-" and key.endswith("due"):
                value = date.fromisoformat(value)
            cell = ws.cell(rows[ref], cols[key])
            cell.value = datetime(value.year, value.month, value.day) if isinstance(value, date) else value
    if feedback and template.groups_sheet is not None:
        gws = book[template.groups_sheet.name]
        labels = {c.header: c.key for c in template.groups_sheet.columns}
        group = None
        for r in range(1, gws.max_row + 1):
            first = gws.cell(r, 1).value
            if first in labels and group in feedback:
                text = feedback[group].get(labels[first])
                if text:
                    gws.cell(r, 2).value = text
            elif first:
                group = first
    book.save(dst)
