"""The Risk register: every item at an `attention` status (Red, Amber) this cycle.

Worst status first, then the longest at it (consecutive cycles up to this one), then
plan order; beside the status, the plan's dates and this cycle's notes in full width.
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
    kind_of,
    movement_col,
    setup_pages,
    write_header,
    write_note,
    write_rows,
    write_titles,
)
from xlplan.plan import shown


def _risk_cols(ctx: Context, styles: Styles) -> tuple[list[Col], list[str], list[str]]:
    """The register's columns, the plan keys and the return keys shown beside the status."""
    template, spec = ctx.template, ctx.template.plan
    rows = template.rows_sheet
    skip = {spec.key, ctx.label_key, spec.group_by, spec.assign_by}
    plan_keys = [c.key for c in rows.columns if c.source == "plan" and c.type in ("text", "date") and c.key not in skip]
    inputs = [c for c in rows.editable_columns if c.key != ctx.status_key and c.type in ("text", "date")]
    dated = [c for c in inputs if c.type == "date"]
    texts = [c for c in inputs if c.type == "text"]
    colours = styles.status
    attention = " or ".join(ctx.attention)
    cols = [
        Col(ctx.plan_header(spec.key, "Ref"), 9),
        Col(ctx.plan_header(ctx.label_key, "Action"), 40),
    ]
    if ctx.sponsor_key:
        cols.append(Col(ctx.plan_header(ctx.sponsor_key, ctx.recipient_label), 16))
    cols += [Col(c.header, min(c.width, 16), kind_of(c.type)) for c in rows.columns if c.key in plan_keys]
    cols += [
        Col(ctx.status_header, 10, by_value=colours, editable=True),
        Col(f"Cycles at {attention}", 10, "number"),
        movement_col(styles, 11),
        Col(ctx.last_status_header, 11, by_value=colours),
    ]
    cols += [Col(c.header, 12, "date", editable=True) for c in dated]
    cols += [Col(c.header, 40 if i == 0 else 32, editable=True) for i, c in enumerate(texts)]
    cols.append(Col("Status from", 24))  # reported this cycle, or carried forward since when
    return cols, plan_keys, [c.key for c in dated + texts]


def write_risk_register(book: Book, styles: Styles, ctx: Context) -> Worksheet | None:
    if not ctx.status_key:
        return None
    ws, data = book.add_sheet("Risk register")
    attention = " or ".join(ctx.attention)
    if not ctx.attention:
        write_titles(data, styles, ctx, f"{ctx.items_label} needing the {ctx.plan.words.meeting_short}'s attention.")
        write_note(data, styles, HEADER_ROW, "This kind of return names no status needing attention.")
        setup_pages(ws, ctx, repeat_to=1)
        return ws
    write_titles(
        data,
        styles,
        ctx,
        f"{ctx.items_label} at {attention}, worst first, then longest at {attention} "
        f"(consecutive cycles up to this one). One not updated this cycle stays here at its last "
        f"reported status until someone reports it otherwise. {ctx.recipient_label}s' notes in full.",
    )
    cols, plan_keys, input_keys = _risk_cols(ctx, styles)
    cols = write_header(ws, data, styles, HEADER_ROW, cols)
    items = ctx.items_by_ref
    order = {s: i for i, s in enumerate(ctx.status_order)}
    found: list[tuple[int, int, list[Any]]] = []
    for gap in ctx.gaps.attention:
        item = items.get(gap.ref, {})
        now = ctx.current.get(gap.ref) or {}
        cycles = ctx.cycles_at(gap.ref, ctx.attention)
        values: list[Any] = [gap.ref, gap.action]
        if ctx.sponsor_key:
            values.append(gap.sponsor)
        values += [shown(item, k) for k in plan_keys]
        values += [gap.status, cycles, gap.movement, gap.last_status]
        values += [now.get(k) for k in input_keys]
        standing = ctx.picture.now.get(gap.ref)
        values.append(standing.note if standing else "")
        found.append((order.get(gap.status or "", len(order)), -cycles, values))
    found.sort(key=lambda f: (f[0], f[1]))  # stable: plan order within
    row = write_rows(data, styles, HEADER_ROW + 1, cols, [values for *_, values in found])
    if not found:
        row += 1
        write_note(data, styles, row, f"No {ctx.items_label.lower()} at {attention} this cycle.")
    finish_table(ws, cols, row)
    setup_pages(ws, ctx)
    return ws
