"""The ratings sheet of a `distribution` summary: how the respondents rated each item.

``xlplan.ratings`` computes the summary (in ``context.gather``) and writes the sheet.
"""

from __future__ import annotations

from xlsxwriter.worksheet import Worksheet

from xlplan.master.context import Context
from xlplan.master.sheets import Book, Styles
from xlplan.ratings import add_ratings_sheet


def write_ratings(book: Book, styles: Styles, ctx: Context) -> Worksheet | None:
    """Per item, how the respondents rated it (xlplan.ratings writes the sheet)."""
    if ctx.ratings is None:
        return None
    add_ratings_sheet(book.workbook, ctx.ratings)
    return book.workbook.get_worksheet_by_name(ctx.ratings.spec.sheet)
