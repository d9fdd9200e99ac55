"""The rows sheet of a return (one row per action): its cells as sheet XML, its structure
through xlsxwriter, last cycle's values and, in an annotated copy, the flagged cells."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from xlplan.issues import Issue
from xlplan.look import (
    SUBTITLE_BANNER,
    TITLE_BANNER,
    CellStyles,
    as_date,
    banner_height,
    cell_writer,
    fit_widths,
    formula_string,
    row_height,
)
from xlplan.return_workbook.annotations import Annotations
from xlplan.return_workbook.styles import HEADER_ROW, Styles, page_setup, protect
from xlplan.return_workbook.validation import column_validation, locked_row_notes, runs
from xlplan.sheetxml import CellXml, SheetData, xf
from xlplan.template import Column, Sheet, Template
from xlplan.values import format_value


def _typed_previous(column: Column, value: Any) -> Any:
    """Ledger values are JSON: turn ISO dates back into dates for date columns."""
    if column.type == "date" and isinstance(value, str):
        return as_date(value) or value
    return value


def write_rows_sheet(
    book: Workbook,
    styles: Styles,
    sheet: Sheet,
    template: Template,
    items: list[dict[str, Any]],
    previous: dict[str, dict[str, Any]],
    shown_by_ref: dict[str, dict[str, Any]],
    password: str | None,
    annotations: Annotations | None = None,
) -> tuple[Worksheet, SheetData]:
    """The rows sheet: its cells as sheet XML (``sheetxml``), its structure through xlsxwriter.
    `shown_by_ref` holds each row's locked values (``row_values``), already worked out."""
    ws = book.add_worksheet(sheet.name)
    data = SheetData()
    filled = annotations.filled if annotations else {}
    flagged = annotations.cell_issues() if annotations else {}
    key = template.plan.key
    columns = sheet.columns
    width = len(columns)
    # Text columns narrowed (and A3 where it must) so that the sheet prints at 8 points or more.
    fit = fit_widths([col.width for col in columns], [col.type == "text" for col in columns])
    widths = fit.widths
    for c, column_width in enumerate(widths):
        ws.set_column(c, c, column_width)
    # The title and the help line wrap across the sheet's width, within the printed page.
    across = sum(widths)
    data.banner(
        0, _text(0, 1, sheet.title, xf(styles.title_banner)), banner_height(sheet.title, TITLE_BANNER, across, 20)
    )
    data.banner(
        1, _text(0, 2, sheet.help, xf(styles.subtitle_banner)), banner_height(sheet.help, SUBTITLE_BANNER, across)
    )
    head = [xf(styles.head_edit if col.editable else styles.head_locked) for col in columns]
    data.add(HEADER_ROW, [_text(c, HEADER_ROW + 1, col.header, head[c]) for c, col in enumerate(columns)], width, 30)
    locked, edit, off_style = _style_ids(styles.locked), _style_ids(styles.edit), _style_ids(styles.off)
    flag = {severity: _style_ids(formats) for severity, formats in styles.flag.items()}
    as_locked, as_edit, as_off = (_writers(columns, ids) for ids in (locked, edit, off_style))
    as_flag = {severity: _writers(columns, ids) for severity, ids in flag.items()}
    first = HEADER_ROW + 1
    off_rows: list[int] = []  # rows the spec's locked_rows lock whole
    for r, item in enumerate(items, start=first):
        n = r + 1
        ref = item[key]
        prev = previous.get(ref, {})
        shown = shown_by_ref[ref]
        off = sheet.row_locked(shown)
        if off:
            off_rows.append(r)
        mine = filled.get(ref, {})
        cells, texts = [], []
        for c, col in enumerate(columns):
            if col.editable:
                issues = flagged.get((ref, col.key))
                # A flagged cell stays editable even in a locked row: the fix is to clear it.
                writers = as_flag[_worst(issues)] if issues else as_off if off else as_edit
                value = mine.get(col.key) if annotations else None
                if col.carry and not off and annotations is None:
                    value = _typed_previous(col, prev.get(col.key))  # last cycle's proposal stands
                cells.append(writers[c](n, value))
                if issues:
                    note = "\n".join(f"{i.severity.upper()}: {i.message}" for i in issues)
                    ws.write_comment(r, c, note[:3000], {"x_scale": 3, "y_scale": 2.5, "author": "xlplan"})
                continue
            value = _typed_previous(col, shown[col.key])
            cells.append((as_off if off else as_locked)[c](n, value))
            texts.append((format_value(value), widths[c]))
        data.add(r, cells, width, row_height(texts))
    last = first + max(len(items), 1) - 1
    off_set = set(off_rows)
    open_rows = runs([r for r in range(first, last + 1) if r not in off_set])
    for c, col in enumerate(sheet.columns):
        column_validation(ws, open_rows, c, col, template)
        if col.choices:
            for choice in template.choices[col.choices].values:
                ws.conditional_format(
                    first,
                    c,
                    last,
                    c,
                    {
                        "type": "cell",
                        "criteria": "==",
                        "value": formula_string(choice.value),  # its quotes doubled
                        "format": styles.choice[(col.choices, choice.value)],
                    },
                )
    if off_rows:
        locked_row_notes(ws, sheet, runs(off_rows), template)
    ws.autofilter(HEADER_ROW, 0, last, len(sheet.columns) - 1)
    ws.freeze_panes(first, 1)
    page_setup(ws, template.title, HEADER_ROW, fit=fit)
    ws.print_area(0, 0, last, len(sheet.columns) - 1)
    protect(ws, password)
    return ws, data


def _style_ids(formats: dict[str, Any]) -> dict[str, int]:
    return {kind: xf(fmt) for kind, fmt in formats.items()}


def _text(c: int, n: int, text: str, style: int) -> str:
    return cell_writer(c, "text", CellStyles(style))(n, text or " ")


def _writers(columns: Sequence[Column], styles: dict[str, int]) -> list[CellXml]:
    """Per column, its cells by the column's type in the style for that type (`styles`).

    Empty values are written as empty cells, keeping their style (unlocked, coloured);
    text stays as typed, even when it looks like a date."""
    out = []
    for c, col in enumerate(columns):
        style = styles[col.type]
        same = CellStyles(style, integer=style, decimal=style, date=style)
        out.append(cell_writer(c, col.type, same, blanks=True, dates_from_text=False))
    return out


def _worst(issues: list[Issue]) -> str:
    return "error" if any(i.severity == "error" for i in issues) else "warning"
