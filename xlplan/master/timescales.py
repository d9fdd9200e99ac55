"""Proposed changes to timescales: the revised due dates this cycle's returns propose.

For the SPG to approve or not: the plan is unchanged, and the plan workbook stays the
officer's to change once the SPG has decided. Beside each, the plan's due date, how many
days later, and what was proposed last cycle.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from xlsxwriter.worksheet import Worksheet

from xlplan.look import as_date
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


def write_timescales(book: Book, styles: Styles, ctx: Context) -> Worksheet | None:
    if ctx.revised_key is None:
        return None
    ws, data = book.add_sheet("Proposed changes to timescales")
    write_titles(
        data,
        styles,
        ctx,
        "Revised due dates proposed in this cycle's returns, for the SPG to approve or not. "
        "The plan is unchanged: the plan workbook stays the officer's to change once the SPG has decided.",
    )
    due_key, revised_key = ctx.due_key, ctx.revised_key
    key, label = ctx.template.plan.key, ctx.label_key
    revised_header = ctx.input_header(revised_key, "Revised due date")
    progress_key = ctx.progress_key
    cols = [
        Col(ctx.plan_header(key, "Ref"), 9),
        Col(ctx.plan_header(label, "Action"), 44),
    ]
    if ctx.sponsor_key:
        cols.append(Col(ctx.plan_header(ctx.sponsor_key, "Sponsor"), 18))
    cols += [
        Col(f"{ctx.plan_header(due_key, 'Due date')} (plan)", 12, "date"),
        Col(f"Proposed {revised_header[0].lower()}{revised_header[1:]}", 13, "date", editable=True),
        Col("Days later", 9, "number"),
        Col(f"Proposed in {ctx.previous_cycle}" if ctx.previous_cycle else "Proposed before", 13, "date"),
    ]
    if ctx.status_key:
        cols.append(Col(ctx.status_header, 10, by_value=styles.status, editable=True))
    if progress_key:
        cols.append(Col(ctx.input_header(progress_key, "Progress"), 44, editable=True))
    cols.append(Col("SPG decision", 18))
    rows = []
    for item in ctx.plan.items:
        ref = item[key]
        now = ctx.current.get(ref) or {}
        proposed = as_date(now.get(revised_key))
        due = item.get(due_key) if due_key else None
        if proposed is None or proposed == due:
            continue
        line: list[Any] = [ref, item.get(label)]
        if ctx.sponsor_key:
            line.append(ctx.sponsor_of(item))
        earlier = as_date((ctx.previous.get(ref) or {}).get(revised_key))
        line += [due, proposed, (proposed - due).days if isinstance(due, date) else None, earlier]
        if ctx.status_key:
            line.append(now.get(ctx.status_key))
        if progress_key:
            line.append(now.get(progress_key))
        line.append(None)
        rows.append(line)
    write_header(ws, data, styles, HEADER_ROW, cols)
    row = write_rows(data, styles, HEADER_ROW + 1, cols, rows)
    if not rows:
        row += 1
        write_note(data, styles, row, "No revised due dates proposed this cycle.")
    finish_table(ws, cols, row)
    setup_pages(ws, ctx)
    return ws
