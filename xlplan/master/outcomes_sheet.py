"""The outcomes sheet (National outcomes): progress by outcome, one row per outcome.

For each outcome of the template's list (``summary.outcomes``): its words, how many of the
items mapped to it stand at each status this cycle, and the groups (Big Actions) they
belong to. The counts are ``outcomes.progress_by_outcome``'s, which the summary carries
too (and the paper shows). No sheet when the plan maps no item to an outcome.
"""

from __future__ import annotations

from typing import Any

from xlsxwriter.worksheet import Worksheet

from xlplan.master.context import Context
from xlplan.master.sheets import (
    HEADER_ROW,
    NO_UPDATE,
    Book,
    Col,
    Styles,
    finish_table,
    fit_cols,
    set_widths,
    setup_pages,
    styled,
    write_rows,
    write_titles,
)
from xlplan.sheetxml import CELL_LIMIT


def write_outcomes(book: Book, styles: Styles, ctx: Context) -> Worksheet | None:
    spec = ctx.template.outcomes
    progress = ctx.summary.outcome_progress
    if spec is None or not progress:
        return None
    ws, data = book.add_sheet(spec.sheet)
    choices = ctx.template.choices[spec.choices]
    groups_header = ctx.plan_header(ctx.group_key, "Group") + "s"
    write_titles(
        data,
        styles,
        ctx,
        f"{ctx.items_label} by {choices.title}, as they stand this cycle. "
        f"One serving several outcomes is counted under each.",
    )
    statuses = ctx.status_order
    cols = [
        Col(ctx.plan_header(spec.column, "Outcome"), 9),
        Col(choices.title, 44),
        *[Col(s, 8, "number") for s in statuses],
        Col(NO_UPDATE, 8, "number"),
        Col(ctx.items_label, 8, "number"),
        Col(groups_header, 50, limit=CELL_LIMIT),  # names in full, however long
    ]
    cols = fit_cols(cols)
    set_widths(ws, [col.width for col in cols])
    # The header, its status columns in their own colours as on the Dashboard.
    heads = [styled(styles.dash_status_head.get(col.header, styles.head), len(cols))[c] for c, col in enumerate(cols)]
    data.write(HEADER_ROW, heads, [col.header for col in cols], 30)
    rows: list[list[Any]] = [
        [
            p.outcome,
            p.words,
            *[p.counts.get(s, 0) for s in statuses],
            p.counts.get("", 0),
            p.items,
            "\n".join(p.groups) if p.groups else "None mapped",
        ]
        for p in progress
    ]
    last = write_rows(data, styles, HEADER_ROW + 1, cols, rows)
    finish_table(ws, cols, last)
    setup_pages(ws, ctx)
    return ws
