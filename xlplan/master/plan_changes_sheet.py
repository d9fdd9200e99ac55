"""Plan changes: what the officer changed in plan.xlsx, and when xlplan saw it.

Newest first, from the ledger's change log (``plan_log``): actions added, removed, moved
or with a field changed (old and new values), sponsors added, removed or replaced,
settings changed, and SPG decisions recorded or withdrawn. `xlplan export audit` has the same.
"""

from __future__ import annotations

from typing import Any

from xlsxwriter.worksheet import Worksheet

from xlplan.ledger import PlanChange
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
from xlplan.values import format_value

SHEET = "Plan changes"


def write_plan_changes(book: Book, styles: Styles, ctx: Context) -> Worksheet:
    ws, data = book.add_sheet(SHEET)
    write_titles(
        data,
        styles,
        ctx,
        "Changes made to the plan (plan.xlsx), newest first, as xlplan found them when generating or "
        "collecting. `xlplan export audit` lists them too.",
    )
    cols = [
        Col("Found", 16, "datetime"),
        Col("By", 16),
        Col("Change", 18),
        Col("Sheet", 11),
        Col("Ref or name", 20),
        Col("Field", 16),
        Col("Was", 34),
        Col("Now", 34),
    ]
    headers = _headers(ctx)
    rows: list[list[Any]] = []
    for record in reversed(ctx.plan_changes):
        c, v = record.change, record.version
        rows.append(
            [
                v.at,
                f"{v.command} {v.cycle}",
                c.kind,
                c.sheet,
                c.ref,
                headers.get(c.field, c.field) if c.kind in ("action changed", "action moved") else c.field,
                _shown(c, c.old),
                _shown(c, c.new),
            ]
        )
    cols = write_header(ws, data, styles, HEADER_ROW, cols)
    row = write_rows(data, styles, HEADER_ROW + 1, cols, rows)
    if not rows:
        row += 1
        write_note(data, styles, row, "No changes to the plan since xlplan first recorded it.")
    finish_table(ws, cols, row)
    setup_pages(ws, ctx)
    return ws


def _headers(ctx: Context) -> dict[str, str]:
    return {c.key: c.header for c in ctx.template.plan.columns}


def _shown(change: PlanChange, value: Any) -> str:
    """A value as text: dates as 31/03/2026; a decision as its words."""
    if isinstance(value, dict):
        parts = [
            value.get("date", ""),
            value.get("decision", ""),
            value.get("new_due_date") or "",
            value.get("note") or "",
        ]
        return "; ".join(format_value(_date_text(p)) for p in parts if p)
    return format_value(_date_text(value)) if value is not None else ""


def _date_text(value: Any) -> Any:
    """An ISO date as the plan shows dates."""
    from xlplan.look import as_date

    if isinstance(value, str) and len(value) == 10 and value[4] == "-":
        d = as_date(value)
        if d is not None:
            return f"{d:%d/%m/%Y}"
    return value
