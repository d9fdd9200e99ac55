"""Changes since last cycle: what moved, for the SPG to ask about.

Three sections: status moves since the last cycle (worsened first, then improved; the
unchanged and new only counted), items completed this cycle (at the `complete` status
now, and not when last reported), and items newly overdue (past their due or revised
date now, but not at the previous cycle's deadline by that cycle's values). The full
audit trail of every value changed stays in the ledger (`xlplan export audit`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from xlsxwriter.worksheet import Worksheet

from xlplan.gaps import NOT_UPDATED, movement
from xlplan.look import as_date
from xlplan.master.context import Context
from xlplan.master.sheets import (
    HEADER_ROW,
    Book,
    Col,
    Styles,
    movement_col,
    set_widths,
    setup_pages,
    write_note,
    write_section_table,
    write_titles,
)
from xlplan.plan import shown

CHANGE_WIDTHS = (10, 32, 18, 12, 12, 12, 32)  # 128: prints on A4 at 8 points or more (look.PRINT_WIDTH)


@dataclass(frozen=True)
class Section:
    heading: str
    cols: list[Col]
    rows: list[list[Any]]
    about: str = ""
    empty: str = "None"


def write_changes(book: Book, styles: Styles, ctx: Context) -> Worksheet | None:
    if not ctx.status_key:
        return None
    ws, data = book.add_sheet("Changes since last cycle")
    since = f"since {ctx.previous_cycle}" if ctx.previous_cycle else "(no earlier cycle to compare with)"
    write_titles(
        data,
        styles,
        ctx,
        f"What moved {since}.",
    )
    # On a line of its own: one line of it all would run past the printed page.
    write_note(
        data,
        styles,
        2,
        "Every value a return changed, with who sent it and when, stays in the ledger: "
        f"`xlplan export audit --cycle {ctx.cycle}` writes that full audit trail.",
    )
    set_widths(ws, CHANGE_WIDTHS)
    row = HEADER_ROW
    for section in _change_sections(ctx, styles):
        row = write_section_table(
            data,
            styles,
            row,
            section.heading,
            section.cols,
            section.rows,
            len(CHANGE_WIDTHS),
            section.about,
            section.empty,
        )

    setup_pages(ws, ctx, repeat_to=1)
    return ws


def _change_sections(ctx: Context, styles: Styles) -> list[Section]:
    """Status moves, completions and newly overdue actions, each as a Section."""
    w = CHANGE_WIDTHS
    items, label, key = ctx.items_label, ctx.label_key, ctx.template.plan.key
    colours, status, previous = styles.status, ctx.status_header, ctx.previous_cycle
    progress_key = ctx.progress_key
    base = [
        Col(ctx.plan_header(key, "Ref"), w[0]),
        Col(ctx.plan_header(label, "Action"), w[1]),
        Col(ctx.recipient_label, w[2]),
    ]
    progress = Col(ctx.input_header(progress_key, "Progress"), w[6], editable=True)
    order, complete = ctx.status_order, ctx.complete
    moves: dict[str, list[list[Any]]] = {"worsened": [], "improved": []}
    others = {"unchanged": 0, "new": 0, NOT_UPDATED: 0}  # counted, not listed
    completed: list[list[Any]] = []
    standings = ctx.picture.now
    for item in ctx.plan.items:
        ref = item[key]
        now, before = ctx.status_of(ref), ctx.last_status_of(ref)
        standing = standings.get(ref)
        if standing is not None and standing.carried:
            others[NOT_UPDATED] += now != complete  # a completed action is not asked for again
            continue  # nobody reported it this cycle: its status did not move
        move = movement(now, before, order)
        if move in others:
            others[move] += 1
        if move not in moves and (not complete or now != complete):
            continue
        line = [ref, item.get(label), ctx.sponsor_of(item)]
        note = (ctx.current.get(ref) or {}).get(progress_key) if progress_key else None
        if move in moves:
            moves[move].append([*line, before, now, move, note])
        if complete and now == complete and (known := ctx.last_known(ref)) != complete:
            completed.append([*line, known, now, shown(item, ctx.due_key) if ctx.due_key else None, note])
    last_col = Col(f"{status} {previous}" if previous else f"Last {status}", w[3], by_value=colours)
    now_col = Col(f"{status} {ctx.cycle}", w[4], by_value=colours, editable=True)
    sections = []
    if previous:
        counted = {**{k: len(v) for k, v in moves.items()}, **others}
        counts = ", ".join(f"{n:,} {k}" for k, n in counted.items())
        sections.append(
            Section(
                f"{status} moves since {previous}",
                [*base, last_col, now_col, movement_col(styles, w[5]), progress],
                moves["worsened"] + moves["improved"],
                about=f"Worsened first, then improved. All {items.lower()}: {counts} (new: no {status} last cycle).",
            )
        )
    else:
        sections.append(Section(f"{status} moves", [], [], empty="This is the first cycle: nothing to compare with."))
    if ctx.complete:
        sections.append(
            Section(
                f"{items} completed this cycle ({ctx.complete})",
                [
                    *base,
                    Col(f"Last {status}", w[3], by_value=colours),
                    now_col,
                    Col(ctx.plan_header(ctx.due_key, "Due date"), w[5], "date"),
                    progress,
                ],
                completed,
                about=f"{ctx.complete} now, and not {ctx.complete} when last reported.",
            )
        )
    sections.append(_newly_overdue(ctx, styles, base, progress))
    return sections


def _newly_overdue(ctx: Context, styles: Styles, base: list[Col], progress: Col) -> Section:
    """Overdue now, and not at the previous cycle's deadline by that cycle's values."""
    w = CHANGE_WIDTHS
    heading = f"{ctx.items_label} newly overdue this cycle"
    due_key, revised_key = ctx.due_key, ctx.revised_key
    cols = [
        *base,
        Col(ctx.plan_header(due_key, "Due date"), w[3], "date"),
        Col(ctx.input_header(revised_key, "Revised due date"), w[4], "date", editable=True),
        Col(ctx.status_header, w[5], by_value=styles.status, editable=True),
        progress,
    ]
    info = ctx.previous_info
    if info is None or due_key is None:
        return Section(heading, cols, [], empty="No earlier cycle to compare with: Gaps lists every overdue one.")
    items = ctx.items_by_ref
    progress_key = ctx.progress_key or ""
    rows = []
    for gap in ctx.gaps.overdue:
        due = items.get(gap.ref, {}).get(due_key)
        before = ctx.previous.get(gap.ref) or {}
        revised_before = as_date(before.get(revised_key)) if revised_key else None
        was_overdue = (
            isinstance(due, date)
            and (revised_before or due) < info.deadline
            and before.get(ctx.status_key or "") != ctx.complete
        )
        if not was_overdue:
            now = ctx.current.get(gap.ref) or {}
            rows.append(
                [gap.ref, gap.action, gap.sponsor, due, now.get(revised_key or ""), gap.status, now.get(progress_key)]
            )
    about = f"Past their due date (or revised date) now, but not at {ctx.previous_cycle}'s deadline ({info.deadline:%d/%m/%Y})."
    return Section(heading, cols, rows, about=about)
