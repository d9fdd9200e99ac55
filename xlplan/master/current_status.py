"""Current status and Trend: every item of the plan, one row each.

Current status puts the plan's columns beside this cycle's returns, last cycle's status
and the movement between them; Trend gives the status in every cycle, oldest first.
At national scale (50,000 items) these are the biggest sheets by far: with several
cores a worker process builds Current status's cells (``build.PARALLEL_GROUPS``), and
the sheet written here then only counts its rows.
"""

from __future__ import annotations

from typing import Any

from xlsxwriter.worksheet import Worksheet

from xlplan.gaps import NOT_UPDATED, movement
from xlplan.master.context import Context
from xlplan.master.sheets import (
    HEADER_ROW,
    Book,
    Col,
    Styles,
    cell_writers,
    colours_of,
    finish_table,
    kind_of,
    movement_col,
    setup_pages,
    wrapped_columns,
    write_header,
    write_row,
    write_titles,
)
from xlplan.plan import shown
from xlplan.sheetxml import SheetData
from xlplan.standing import Standing
from xlplan.template import Column


def _status_cols(ctx: Context, styles: Styles) -> tuple[list[Col], list[str], list[Column]]:
    """The columns of Current status, the plan keys and the editable columns they show."""
    template = ctx.template
    rows = template.rows_sheet
    plan_cols = [c for c in rows.columns if c.source == "plan"]
    plan_keys = [c.key for c in plan_cols]
    assign = template.plan.assign_by
    if assign != "all" and assign not in plan_keys:
        plan_keys.append(assign)
    inputs = list(rows.editable_columns)
    cols = [Col(c.header, c.width, kind_of(c.type)) for c in plan_cols]
    if len(plan_keys) > len(plan_cols):
        sponsor = template.plan.column(assign)
        cols.append(Col(sponsor.header, sponsor.width))
    cols += [Col(c.header, c.width, kind_of(c.type), True, by_value=colours_of(c, styles)) for c in inputs]
    if ctx.status_key:
        cols += [
            Col(ctx.last_status_header, 12, by_value=styles.status),
            movement_col(styles, 11),
        ]
    cols.append(Col("Updated", 9, by_value={"no": styles.flag}))
    cols.append(Col("Status from", 30))
    return cols, plan_keys, inputs


def _items_built_here(data: SheetData, ctx: Context, width: int) -> list[dict[str, Any]]:
    """The plan's items, one row each; none when a worker builds this sheet's cells, whose
    rows are then only counted here (the table, filter and print area need where they end)."""
    if not data.deferred:
        return ctx.plan.items
    if ctx.plan.items:
        data.add(HEADER_ROW + len(ctx.plan.items), (), width)
    return []


def write_current_status(book: Book, styles: Styles, ctx: Context) -> Worksheet:
    ws, data = book.add_sheet("Current status")
    write_titles(
        data,
        styles,
        ctx,
        f"{ctx.items_label} of the plan beside this cycle's returns, notes in full.",
    )
    cols, plan_keys, inputs = _status_cols(ctx, styles)
    cols = write_header(ws, data, styles, HEADER_ROW, cols)
    writers = cell_writers(cols, styles)
    wrapped = wrapped_columns(cols)
    input_keys = [c.key for c in inputs]
    key, status_key, order = ctx.template.plan.key, ctx.status_key, ctx.status_order
    blank_inputs: list[Any] = [None] * len(input_keys)
    row = HEADER_ROW
    standings = ctx.picture.now
    for item in _items_built_here(data, ctx, len(cols)):
        row += 1
        ref = item[key]
        now = ctx.current.get(ref)
        standing = standings.get(ref)
        # Carried forward: last reported values shown, marked not updated (`Status from` says since when).
        updated = "yes" if standing is None or standing.reported else "no"
        values = [shown(item, k) for k in plan_keys]  # a due date as written beside its date
        values += blank_inputs if now is None else [now.get(k) for k in input_keys]
        if status_key:
            last = (ctx.previous.get(ref) or {}).get(status_key)
            status = now.get(status_key) if now else None
            move = movement(status, last, order) if status and updated == "yes" else NOT_UPDATED if status else ""
            values += [last, move]
        values += [updated, _provenance(standing, status_key)]
        write_row(data, row, writers, values, wrapped)
    finish_table(ws, cols, HEADER_ROW + len(ctx.plan.items))
    setup_pages(ws, ctx)
    return ws


def _provenance(standing: Standing | None, status_key: str | None) -> str:
    """Where the row's values come from: who reported them, or since when they are carried."""
    if standing is None:
        return ""
    disagree = standing.entry_statuses(status_key) if standing.disagreement else ""
    return f"{standing.note} ({disagree})" if disagree else standing.note


def write_trend(book: Book, styles: Styles, ctx: Context) -> Worksheet | None:
    if not ctx.status_key:
        return None
    ws, data = book.add_sheet("Trend")
    write_titles(data, styles, ctx, f"{ctx.status_header} in each cycle, oldest first.")
    colours = styles.status
    key = ctx.template.plan.key
    cols = [
        Col(ctx.plan_header(key, "Ref"), 10, wrap=False),
        Col(ctx.plan_header(ctx.label_key, "Action"), 60, wrap=False),
        *[Col(cycle, 10, editable=cycle == ctx.cycle, by_value=colours) for cycle in ctx.cycles],
    ]
    cols = write_header(ws, data, styles, HEADER_ROW, cols)
    writers = cell_writers(cols, styles)
    cycles, label = ctx.cycles, ctx.label_key
    row = HEADER_ROW
    for item in _items_built_here(data, ctx, len(cols)):
        row += 1
        ref = item[key]
        per_cycle = ctx.history.get(ref) or {}
        data.write(row, writers, [ref, item.get(label), *[per_cycle.get(c) for c in cycles]])
    finish_table(ws, cols, HEADER_ROW + len(ctx.plan.items))
    ws.freeze_panes(HEADER_ROW + 1, 2)
    setup_pages(ws, ctx)
    return ws
