"""The Feedback sheet: the groups sheet's text received this cycle, in full.

One band per group (Big Action), in plan order, then each recipient's feedback for it;
"None received this cycle." where none came. Feedback filed under a title the officer
has corrected since is shown under the title now (found by the group's number); any that
matches no group keeps a band of its own: nothing received is left out.
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
    cell_writers,
    setup_pages,
    styled,
    wrapped_columns,
    write_header,
    write_note,
    write_row,
    write_titles,
)
from xlplan.sheetxml import BLANK, CELL_LIMIT


def _groups_in_order(ctx: Context) -> list[str]:
    key = ctx.group_key
    groups = dict.fromkeys(str(i[key]) for i in ctx.plan.items if key and i.get(key))
    groups.update(dict.fromkeys(_title_now(ctx, group) for _, group in ctx.feedback))
    return list(groups)


def _title_now(ctx: Context, group: str) -> str:
    """The group's title in the plan now: as filed, else the one its number names."""
    return ctx.plan.group_now(group) or group


def write_feedback(book: Book, styles: Styles, ctx: Context) -> Worksheet:
    ws, data = book.add_sheet("Feedback")
    sheet = ctx.template.groups_sheet
    write_titles(data, styles, ctx, f"{sheet.title if sheet else 'Feedback'} received this cycle, in full.")
    if sheet is None:
        write_note(data, styles, HEADER_ROW, "This kind of return has no feedback sheet.")
        setup_pages(ws, ctx, repeat_to=1)
        return ws
    cols = [
        Col(ctx.recipient_label, 24, limit=CELL_LIMIT),
        *[Col(c.header, 60, editable=True, limit=CELL_LIMIT) for c in sheet.columns],
    ]
    cols = write_header(ws, data, styles, HEADER_ROW, cols)
    writers = cell_writers(cols, styles)
    wrapped = wrapped_columns(cols)
    band = styled(styles.group, len(cols))
    fields = [c.key for c in sheet.columns]
    by_group: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for (recipient, group), values in ctx.feedback.items():
        if any(values.get(f) not in (None, "") for f in fields):
            by_group.setdefault(_title_now(ctx, group), []).append((recipient, values))
    row = HEADER_ROW
    for group in _groups_in_order(ctx):
        row += 1
        # The group's name in its first cell, its band across the others (blank: it shows through).
        data.write(row, band, [group, *[BLANK] * (len(cols) - 1)], 18)
        received = by_group.get(group, [])
        if not received:
            row += 1
            write_note(data, styles, row, "None received this cycle.")
        for recipient, values in received:
            row += 1
            line = [recipient, *[values.get(f) for f in fields]]
            write_row(data, row, writers, line, wrapped)
    ws.freeze_panes(HEADER_ROW + 1, 0)

    setup_pages(ws, ctx)
    return ws
