"""Proposed changes to timescales: the revised due dates this cycle's returns propose.

For the SPG to approve or not. Beside each, the plan's due date, how many days later, what
was proposed last cycle, and the SPG's decision as the officer recorded it on the plan's
Decisions sheet (``decisions``): nothing is typed into the master, which is rebuilt every
time. A proposal already agreed in an earlier cycle is no longer listed; one decided in
this cycle stays, marked.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from xlsxwriter.worksheet import Worksheet

from xlplan.decisions import Decision
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
from xlplan.plan import shown


def _decided(ctx: Context) -> dict[str, tuple[Decision, bool]]:
    """ref -> its latest timescale decision, and whether it was taken in this cycle."""
    out: dict[str, tuple[Decision, bool]] = {}
    for t in ctx.decisions:
        d = t.decision
        if d.about_timescale and (t.cycle is None or t.cycle <= ctx.cycle):
            out[d.ref] = (d, t.cycle is None or t.cycle == ctx.cycle)
    return out


def write_timescales(book: Book, styles: Styles, ctx: Context) -> Worksheet | None:
    if ctx.revised_key is None:
        return None
    ws, data = book.add_sheet("Proposed changes to timescales")
    write_titles(
        data,
        styles,
        ctx,
        "Revised due dates proposed in this cycle's returns, for the SPG to approve or not. "
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
    cols += [Col("SPG decision", 24), Col("Agreed due date", 12, "date")]
    decided = _decided(ctx)
    rows = []
    for item in ctx.plan.items:
        ref = item[key]
        now = ctx.current.get(ref) or {}
        proposed = as_date(now.get(revised_key))
        agreed = item.get(due_key) if due_key else None  # the plan's date, or the one the SPG approved
        due = ctx.planned_due(item)
        decision = decided.get(ref)
        if proposed is None or (proposed == agreed and (decision is None or not decision[1])):
            continue
        line: list[Any] = [ref, item.get(label)]
        if ctx.sponsor_key:
            line.append(ctx.sponsor_of(item))
        earlier = as_date((ctx.previous.get(ref) or {}).get(revised_key))
        line += [
            shown({**item, due_key: due}, due_key) if due_key else due,  # as written, if it was
            proposed,
            (proposed - due).days if isinstance(due, date) else None,
            earlier,
        ]
        if ctx.status_key:
            line.append(now.get(ctx.status_key))
        if progress_key:
            line.append(now.get(progress_key))
        if decision is None:
            line += ["Not decided yet", None]
        else:
            d = decision[0]
            line += [f"{d.describe()} ({d.date:%d/%m/%Y}){': ' + d.note if d.note else ''}", agreed]
        rows.append(line)
    write_header(ws, data, styles, HEADER_ROW, cols)
    row = write_rows(data, styles, HEADER_ROW + 1, cols, rows)
    if not rows:
        row += 1
        write_note(data, styles, row, "No revised due dates proposed this cycle.")
    finish_table(ws, cols, row)
    setup_pages(ws, ctx)
    return ws
