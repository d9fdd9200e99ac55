"""Proposed changes to timescales: the revised due dates this cycle's returns propose.

For the SPG to approve or not. Beside each, the plan's due date, how many days later, what
was proposed last cycle, and the SPG's decision as the officer recorded it on the plan's
Decisions sheet (``decisions``): nothing is typed into the master, which is rebuilt every
time. A proposal already agreed in an earlier cycle is no longer listed; one decided in
this cycle stays, marked.
"""

from __future__ import annotations

from typing import Any

from xlsxwriter.worksheet import Worksheet

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
from xlplan.paper import proposed_changes
from xlplan.plan import shown


def write_timescales(book: Book, styles: Styles, ctx: Context) -> Worksheet | None:
    if ctx.revised_key is None:
        return None
    ws, data = book.add_sheet("Proposed changes to timescales")
    write_titles(
        data,
        styles,
        ctx,
        f"Revised due dates proposed in this cycle's returns, for the {ctx.plan.words.meeting_short} to approve or not. "
        "Record each decision on the Decisions sheet of plan.xlsx (Approve revised date or Keep due date): "
        "the next collect shows it here and an approved date becomes the agreed due date.",
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
        cols.append(Col(ctx.plan_header(ctx.sponsor_key, ctx.recipient_label), 18))
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
    cols += [Col(f"{ctx.plan.words.meeting_heading} decision", 24), Col("Agreed due date", 12, "date")]
    rows = []
    for change in proposed_changes(ctx.plan, ctx.picture, ctx.decisions):  # the paper's decisions too
        item = ctx.items_by_ref[change.ref]
        line: list[Any] = [change.ref, item.get(label)]
        if ctx.sponsor_key:
            line.append(change.sponsor)
        due = ctx.planned_due(item)
        line += [
            shown({**item, due_key: due}, due_key) if due_key else due,  # as written, if it was
            change.proposed,
            change.days_later,
            change.earlier,
        ]
        now = ctx.current.get(change.ref) or {}
        if ctx.status_key:
            line.append(now.get(ctx.status_key))
        if progress_key:
            line.append(now.get(progress_key))
        line += [change.decision or "Not decided yet", change.agreed]
        rows.append(line)
    cols = write_header(ws, data, styles, HEADER_ROW, cols)
    row = write_rows(data, styles, HEADER_ROW + 1, cols, rows)
    if not rows:
        row += 1
        write_note(data, styles, row, "No revised due dates proposed this cycle.")
    finish_table(ws, cols, row)
    setup_pages(ws, ctx)
    return ws
