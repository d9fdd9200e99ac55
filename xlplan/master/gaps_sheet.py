"""The Gaps sheet: what to chase before the SPG, one section per kind of gap.

Returns not received, items with no update, with no status, past their due date, at an
attention status, and statuses the figures contradict: ``gaps.find_gaps`` finds them,
the same the report and the email count.
"""

from __future__ import annotations

from typing import Any

from xlsxwriter.worksheet import Worksheet

from xlplan.gaps import ActionGap, Missing
from xlplan.master.context import Context
from xlplan.master.sheets import (
    HEADER_ROW,
    Book,
    Col,
    Styles,
    movement_col,
    set_widths,
    setup_pages,
    write_section_table,
    write_titles,
)
from xlplan.values import days_text

GAP_WIDTHS = (16, 34, 20, 12, 12, 34)  # 128: prints on A4 at 8 points or more (look.PRINT_WIDTH)


def _gap_sections(ctx: Context, styles: Styles) -> list[tuple[str, list[Col], list[list[Any]]]]:
    """(heading, columns, rows) for each kind of gap, in the order the SPG chases them."""
    gaps, items, status = ctx.gaps, ctx.items_label, ctx.status_header
    colours = styles.status
    w = GAP_WIDTHS
    base = [
        Col(ctx.plan_header(ctx.template.plan.key, "Ref"), w[0]),
        Col(ctx.plan_header(ctx.label_key, "Action"), w[1]),
        Col(ctx.recipient_label, w[2]),
    ]
    status_col = Col(status, w[3], by_value=colours)
    detail = Col("Detail", w[5])

    def rows(found: list[ActionGap], *fields: str) -> list[list[Any]]:
        return [[g.ref, g.action, g.sponsor, *(getattr(g, f) for f in fields)] for g in found]

    return [
        (
            f"Returns not received (deadline {gaps.deadline:%d/%m/%Y})",
            [
                Col(ctx.recipient_label, w[0]),
                Col("Email", w[1]),
                Col("Outcome", w[2], by_value={"quarantined": styles.flag}),
                Col("Deadline", w[3]),
            ],
            [_missing_row(m) for m in gaps.missing_returns],
        ),
        (f"{items} with no update this cycle", [*base, detail], rows(gaps.no_update, "detail")),
        (f"{items} with no {status}", base, rows(gaps.no_status)),
        (
            f"{items} past their due date",
            [*base, status_col, Col(ctx.plan_header(ctx.due_key, "Due date"), w[4], "date"), detail],
            rows(gaps.overdue, "status", "due", "detail"),
        ),
        (
            f"{items} at {' or '.join(ctx.attention) or 'risk'}",
            [
                *base,
                status_col,
                Col(f"Last {status}", w[4], by_value=colours),
                movement_col(styles, w[5]),
            ],
            rows(gaps.attention, "status", "last_status", "movement"),
        ),
        (
            f"Joint {ctx.recipient_label.lower()}s who disagree",
            [*base, Col(f"{status} shown", w[3], by_value=colours), Col("What each reported", w[4] + w[5])],
            rows(gaps.disagreements, "status", "detail"),
        ),
        (
            f"{status} contradicted by the figures",
            [*base, status_col, Col("Figures suggest", w[4], by_value=colours), Col("Detail", w[5])],
            rows(gaps.contradictions, "status", "suggested", "detail"),
        ),
    ]


# Said under a section's heading: (heading starts with, the words).
_ABOUT = {
    "contradicted by the figures": "A question for the officer, not an error: the figures suggest another "
    "status (against the target, or the line to it before it is due). Check with the {recipient}.",
}


def _missing_row(m: Missing) -> list[Any]:
    return [m.recipient, m.email, m.outcome, days_text(m.days_to_deadline)]


def write_gaps(book: Book, styles: Styles, ctx: Context) -> Worksheet:
    ws, data = book.add_sheet("Gaps")
    write_titles(
        data, styles, ctx, f"What to chase before the {ctx.plan.words.meeting_short}, as of {ctx.gaps.as_of:%d/%m/%Y}."
    )
    set_widths(ws, GAP_WIDTHS)
    row = HEADER_ROW - 1
    for heading, cols, found in _gap_sections(ctx, styles):
        about = next((words for end, words in _ABOUT.items() if heading.endswith(end)), "")
        about = about.replace("{recipient}", ctx.template.plan.recipient_label)
        row = write_section_table(data, styles, row + 1, heading, cols, found, len(GAP_WIDTHS), about) - 1

    setup_pages(ws, ctx, repeat_to=1)
    return ws
