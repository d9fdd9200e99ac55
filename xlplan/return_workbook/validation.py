"""The rows sheet's data validation: dropdowns, number, date and length limits, and the note
an editable cell of a locked row shows instead."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from xlsxwriter.worksheet import Worksheet

from xlplan.errors import XlplanError
from xlplan.look import LIST_LIMIT, cell_range, inline_list
from xlplan.template import Column, Sheet, Template


def runs(rows: list[int]) -> list[tuple[int, int]]:
    """Sorted row numbers -> (first, last) of each unbroken run."""
    out: list[tuple[int, int]] = []
    for r in rows:
        if out and r == out[-1][1] + 1:
            out[-1] = (out[-1][0], r)
        else:
            out.append((r, r))
    return out


def _add_validation(ws: Worksheet, runs: list[tuple[int, int]], c1: int, c2: int, options: dict[str, Any]) -> int:
    """One data validation over several row runs of columns c1..c2 (one rule, a multi-range)."""
    if not runs:
        return 0
    (first, last), *more = runs
    if more:
        options = {
            **options,
            "multi_range": " ".join(cell_range(a, c1, b, c2) for a, b in runs),  # "I5", never "I5:I5"
        }
    return ws.data_validation(first, c1, last, c2, options)


def locked_row_notes(ws: Worksheet, sheet: Sheet, runs: list[tuple[int, int]], template: Template) -> None:
    """Selecting an editable cell of a locked row shows why it is locked (no dropdown there)."""
    assert sheet.locked_rows is not None
    editable = [c for c, col in enumerate(sheet.columns) if col.editable]
    if not editable:
        return
    note = sheet.locked_rows.note or "This row is not for you to fill in."
    options = {"validate": "any", "input_title": "Not to be filled in", "input_message": note[:255]}
    for c in editable:
        code = _add_validation(ws, runs, c, c, options)
        if code != 0:
            raise XlplanError(
                f"Template {template.name}: cannot add the locked-row note to sheet {sheet.name} (code {code})."
            )


def column_validation(ws: Worksheet, runs: list[tuple[int, int]], c: int, col: Column, template: Template) -> None:
    if not col.editable:
        return
    title = col.header[:32]
    options: dict[str, Any] = {
        "input_title": title,
        "input_message": (col.help or col.header)[:255],
        "error_type": "stop",
        "error_title": title,
    }
    if col.type == "choice" and col.choices:
        names = template.choices[col.choices].names
        listed = inline_list(names)
        if listed is None:
            raise XlplanError(
                f"Template {template.name}: the choices of column {col.header!r} are too long for a dropdown "
                f"(over {LIST_LIMIT} characters together): shorten them."
            )
        options |= {
            "validate": "list",
            "source": listed,  # a value's quotes doubled; commas are refused at load
            "error_message": f"Choose one of: {', '.join(names)}."[:255],
        }
    elif col.type == "number":
        options |= {
            "validate": "decimal",
            "criteria": "between",
            "minimum": -1e12,
            "maximum": 1e12,
            "error_message": "Enter a number only, e.g. 85 (no units or words).",
        }
    elif col.type == "date":
        options |= {
            "validate": "date",
            "criteria": "between",
            "minimum": datetime(2000, 1, 1),
            "maximum": datetime(2100, 12, 31),
            "error_message": "Enter a date, e.g. 31/03/2025.",
        }
    elif col.max_length:
        options |= {
            "validate": "length",
            "criteria": "<=",
            "value": col.max_length,
            "error_message": f"At most {col.max_length} characters.",
        }
    code = _add_validation(ws, runs, c, c, options)
    if code != 0:  # xlsxwriter only warns (e.g. an inline list over 255 characters)
        raise XlplanError(f"Template {template.name}: cannot add validation to column {col.header!r} (code {code}).")
