"""The groups sheet of a return (feedback and case studies per Big Action): one text box per field."""

from __future__ import annotations

from xlsxwriter.workbook import Workbook

from xlplan.errors import XlplanError
from xlplan.look import SUBTITLE_BANNER, banner_height, row_height
from xlplan.return_workbook.styles import HEADER_ROW, Styles, page_setup, protect
from xlplan.template import Sheet
from xlplan.values import format_value

WIDTHS = (22, 68)  # 90 units across: A4 portrait at 8 points or more


def write_groups_sheet(
    book: Workbook,
    styles: Styles,
    sheet: Sheet,
    groups: list[str],
    password: str | None,
    filled: dict[str, dict[str, str]] | None = None,
) -> None:
    filled = filled or {}
    ws = book.add_worksheet(sheet.name)
    for c, width in enumerate(WIDTHS):
        ws.set_column(c, c, width)
    ws.write_string(0, 0, sheet.title, styles.title)
    ws.merge_range(1, 0, 1, 1, sheet.help, styles.subtitle_banner)  # wrapped within the page
    ws.set_row(1, banner_height(sheet.help, SUBTITLE_BANNER, sum(WIDTHS)))
    row = HEADER_ROW
    for group in groups:
        ws.merge_range(row, 0, row, 1, group, styles.head_locked)
        ws.set_row(row, row_height([(group, sum(WIDTHS))]) or 18)
        for col in sheet.columns:
            row += 1
            ws.write_string(row, 0, col.header, styles.label)
            text = filled.get(group, {}).get(col.key)  # as typed: text, never a formula or a link
            if text is not None and text != "":
                ws.write_string(row, 1, format_value(text), styles.edit["text"])
            else:
                ws.write_blank(row, 1, None, styles.edit["text"])
            ws.set_row(row, 110)
            code = ws.data_validation(
                row,
                1,
                row,
                1,
                {
                    "validate": "length",
                    "criteria": "<=",
                    "value": col.max_length or 32767,
                    "input_title": col.header[:32],
                    "input_message": (col.help or sheet.help)[:255],
                },
            )
            if code != 0:
                raise XlplanError(f"Sheet {sheet.name}: cannot add validation to {col.header!r} (code {code}).")
        row += 2
    page_setup(ws, sheet.title, portrait=True)
    protect(ws, password)
