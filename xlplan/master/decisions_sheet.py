"""SPG decisions: every decision the officer recorded on the plan's Decisions sheet.

Newest first, each with the action, the cycle it was taken in (a Close or Reopen counts
from that cycle's returns on), the due date before and after an approval, and its note
(the minute reference, say). The master is rebuilt every time: decisions are recorded in
plan.xlsx, never here.
"""

from __future__ import annotations

from typing import Any

from xlsxwriter.worksheet import Worksheet

from xlplan.decisions import APPROVE, DECISIONS_SHEET
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

SHEET = "Decisions taken"


def write_decisions(book: Book, styles: Styles, ctx: Context) -> Worksheet | None:
    if not ctx.status_key:
        return None  # nothing to close, reopen or reschedule in this kind of return
    ws, data = book.add_sheet(SHEET)
    write_titles(
        data,
        styles,
        ctx,
        f"The {ctx.plan.words.meeting_short}'s decisions, newest first, as recorded on the {DECISIONS_SHEET} sheet of plan.xlsx "
        "(record new ones there: this workbook is rebuilt every time).",
    )
    key, label = ctx.template.plan.key, ctx.label_key
    cols = [
        Col("Date", 11, "date"),
        Col(ctx.plan_header(key, "Ref"), 9),
        Col(ctx.plan_header(label, "Action"), 40),
    ]
    if ctx.sponsor_key:
        cols.append(Col(ctx.plan_header(ctx.sponsor_key, ctx.recipient_label), 18))
    cols += [
        Col("Decision", 20),
        Col("New due date", 12, "date"),
        Col(f"{ctx.plan_header(ctx.due_key, 'Due date')} (plan)", 12, "date"),
        Col("Cycle", 9),
        Col("Note", 44),
    ]
    items = ctx.items_by_ref
    rows: list[list[Any]] = []
    for t in reversed(ctx.decisions):
        d = t.decision
        item = items.get(d.ref, {})
        line: list[Any] = [d.date, d.ref, item.get(label)]
        if ctx.sponsor_key:
            line.append(ctx.sponsor_of(item))
        planned = ctx.planned_due(item) if d.decision == APPROVE else None
        line += [d.decision, d.new_due, planned, t.cycle, d.note]
        rows.append(line)
    cols = write_header(ws, data, styles, HEADER_ROW, cols)
    row = write_rows(data, styles, HEADER_ROW + 1, cols, rows)
    if not rows:
        row += 1
        write_note(
            data,
            styles,
            row,
            f"No decisions recorded. Add them to the {DECISIONS_SHEET} sheet of plan.xlsx: Date, Ref, "
            "Decision (Approve revised date, Keep due date, Close, Reopen), New due date, Note.",
        )
    finish_table(ws, cols, row)
    setup_pages(ws, ctx)
    return ws
