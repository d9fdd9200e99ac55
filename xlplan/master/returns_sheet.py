"""The Returns sheet: every return received, all cycles, oldest first, with its outcome and
the notes and comments its sponsor left on cells (kept with the return in the ledger)."""

from __future__ import annotations

from xlsxwriter.worksheet import Worksheet

from xlplan.codes import Code
from xlplan.master.context import Context
from xlplan.master.sheets import (
    HEADER_ROW,
    Book,
    Col,
    Styles,
    finish_table,
    setup_pages,
    write_header,
    write_note,
    write_rows,
    write_titles,
)


def write_returns(book: Book, styles: Styles, ctx: Context) -> Worksheet:
    ws, data = book.add_sheet("Returns")
    write_titles(data, styles, ctx, "Every return received, all cycles, oldest first.")
    cols = [
        Col("Cycle", 10),
        Col(ctx.recipient_label, 22),
        Col("File", 36),
        Col("Received", 16, "datetime"),
        Col("Outcome", 13, by_value={"quarantined": styles.flag}),
        Col("Errors", 8, "number"),
        Col("Warnings", 9, "number"),
        Col("SHA-256", 14, wrap=False),
        Col(f"Cell notes left by the {ctx.recipient_label.lower()}", 48),  # with File: narrow enough to print on A4
    ]
    cols = write_header(ws, data, styles, HEADER_ROW, cols)
    rows = [
        [
            ret.cycle,
            ret.recipient,
            ret.file,
            ret.received_at,
            ret.outcome,
            ret.errors,
            ret.warnings,
            (ret.sha256 or "")[:12],
            "\n".join(f"{i.where}: {i.message}" for i in ret.issues if i.code == Code.CELL_NOTE),
        ]
        for ret in ctx.returns
    ]
    row = write_rows(data, styles, HEADER_ROW + 1, cols, rows)
    if not ctx.returns:
        row += 1
        write_note(data, styles, row, "No returns received yet.")
    finish_table(ws, cols, row)
    setup_pages(ws, ctx)
    return ws
