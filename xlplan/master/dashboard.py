"""The master tracker's first sheet: two A4 pages for the Strategic Planning Group.

Key figures as tiles across the page (returns received, overdue, each attention status,
complete); the status counts per group as a table and, drawn from it, a stacked bar
chart; this cycle's status mix against the last as a column chart beside it and its
numbers below; what each status means; the plan's whole life (status counts at every
cycle) as a table and a stacked column chart beside it. The charts are native Excel charts drawn from
the sheet's own cells. Written through xlsxwriter (it is small), unlike the other sheets.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

from xlsxwriter.format import Format
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from xlplan.look import BORDER, GRIDLINES, LAST_CYCLE, NAVY, WHITE, chars_per_line, fit_widths, lines_height
from xlplan.master.context import Context
from xlplan.master.sheets import NO_UPDATE, Book, Styles, set_widths, setup_pages
from xlplan.standing import status_history
from xlplan.values import long_date

# Widths that print on A4 at 8 points or more with five statuses (look.fit_widths narrows
# the group's name, which wraps, to make room for more; else the page is A3).
DASH_GROUP_WIDTH = 45  # the group's name, or its short name and the rest of it:
DASH_SHORT_WIDTHS = (12, 33)  # "Big Action 1" | "Reducing Inequalities by ..."
DASH_COUNT_WIDTH = 7.5
DASH_GAP_WIDTH = 1.5
DASH_MIX_WIDTHS = (12, 9, 9, 8)  # status, last cycle, this cycle, change
PIXELS_PER_ROW = 20
DEFAULT_ROW_HEIGHT = 15.0  # points
CHART_HEIGHT = 340
HISTORY_CHART_HEIGHT = 180  # pixels: 9 rows, the fewest that keep its legend and axis readable


def write_dashboard(book: Book, styles: Styles, ctx: Context) -> Worksheet:
    """The SPG's first look, on two A4 pages at 8 points or more: key figures and status by
    group, then the charts, this cycle's status mix against the last and the plan's whole
    life. Native Excel charts drawn from its own cells."""
    ws = book.workbook.add_worksheet("Dashboard")
    s = ctx.summary
    statuses = s.statuses
    group_header = ctx.plan_header(ctx.group_key, "Group")
    short = _short_names([g or "(none)" for g in s.groups])
    # Columns: group (1 or 2) | statuses... | No update | Total | gap | status | last | this | change
    wanted: list[float] = list(DASH_SHORT_WIDTHS) if short else [DASH_GROUP_WIDTH]
    first = len(wanted)  # the first count column
    total_col = first + len(statuses) + 1
    mix = total_col + 2
    wanted += [*[DASH_COUNT_WIDTH] * (len(statuses) + 2), DASH_GAP_WIDTH, *DASH_MIX_WIDTHS]
    widths = list(fit_widths(wanted, [c == first - 1 for c in range(len(wanted))]).widths)
    group_widths = widths[:first]
    set_widths(ws, widths)
    last_col = len(widths) - 1

    ws.write_string(0, 0, f"{ctx.plan.title}: Master tracker, {ctx.cycle}", styles.title)
    ws.write_string(1, 0, _dashboard_subtitle(ctx), styles.dash_subtitle)
    ws.set_row(0, 22)

    # Key figures, as tiles across the page.
    tiles = _tiles(ctx)
    for (left, right), (figure, caption, fill, font) in zip(_spans(widths, len(tiles)), tiles, strict=False):
        big, small = styles.tile(fill, font)
        _merged(ws, 3, left, right, figure, big)
        _merged(ws, 4, left, right, caption, small)
    ws.set_row(3, 34)
    ws.set_row(4, 28)
    if not statuses:
        where = f"the {ctx.ratings.spec.sheet} sheet" if ctx.ratings else "the Current status sheet"
        ws.write_string(
            6, 0, f"This kind of return has no status to count: each item's results are on {where}.", styles.note
        )
        return _finish_dashboard(ws, ctx, 6, last_col)

    # Status counts per group: the table the bar chart draws.
    section, head = 6, 7
    _dash_section(ws, styles, section, 0, total_col, f"{ctx.status_header} by {group_header}")
    _merged(ws, head, 0, first - 1, group_header, styles.dash_head_left)
    for c, status in enumerate(statuses, start=first):
        ws.write_string(head, c, status, styles.dash_status_head.get(status, styles.dash_head))
    ws.write_string(head, total_col - 1, NO_UPDATE, styles.dash_head)
    ws.write_string(head, total_col, "Total", styles.dash_head)
    heights = {head: 30.0}  # points, of the rows the column chart stands beside
    row = head
    wrap_at = int(chars_per_line(group_widths[-1]))
    for n, group in enumerate(s.groups):
        row += 1
        per = s.counts[group]
        name = group or "(none)"
        if short:
            ws.write_string(row, 0, short[n], styles.dash_group_short)
            name = name.partition(":")[2].strip()
        ws.write_string(row, first - 1, name, styles.dash_group)
        for c, status in enumerate([*statuses, ""], start=first):
            ws.write_number(row, c, per.get(status, 0), styles.dash_count)
        ws.write_number(row, total_col, sum(per.values()), styles.dash_count)
        lines = math.ceil(len(name) / wrap_at)
        if lines > 1:
            heights[row] = lines_height(min(lines, 4))
    first_group, last_group = head + 1, row
    for r, height in heights.items():
        ws.set_row(r, height)
    row += 1
    totals = s.totals
    _merged(ws, row, 0, first - 1, "Total", styles.dash_total_label)
    for c, status in enumerate([*statuses, ""], start=first):
        ws.write_number(row, c, totals.get(status, 0), styles.dash_total)
    ws.write_number(row, total_col, sum(totals.values()), styles.dash_total)
    table_end = row

    # This cycle's status mix against the last: a column chart beside the table above,
    # and its numbers below it, beside the bar chart.
    previous = ctx.previous_cycle
    charts_row = table_end + 2
    _dash_section(ws, styles, section, mix, last_col, f"{ctx.status_header}: this cycle and last")
    ws.write_string(charts_row, mix, ctx.status_header, styles.dash_head_left)
    ws.write_string(charts_row, mix + 1, previous or "Last cycle", styles.dash_head)
    ws.write_string(charts_row, mix + 2, ctx.cycle, styles.dash_head)
    ws.write_string(charts_row, mix + 3, "Change", styles.dash_head)
    row = charts_row
    for status in [*statuses, ""]:
        row += 1
        ws.write_string(row, mix, status or NO_UPDATE, styles.dash_status_label.get(status, styles.dash_plain_label))
        before, now = s.previous_counts.get(status, 0), totals.get(status, 0)
        if previous:
            ws.write_number(row, mix + 1, before, styles.dash_count)
            ws.write_number(row, mix + 3, now - before, styles.dash_change)
        else:
            ws.write_blank(row, mix + 1, None, styles.dash_count)
            ws.write_blank(row, mix + 3, None, styles.dash_count)
        ws.write_number(row, mix + 2, now, styles.dash_count)

    bar = _status_bar_chart(book.workbook, ctx, head, first_group, last_group, first)
    bar.set_size({"width": _pixels(widths[: total_col + 1]), "height": CHART_HEIGHT})
    ws.insert_chart(charts_row, 0, bar, {"object_position": 3})
    column = _mix_column_chart(book.workbook, ctx, charts_row, mix, len(statuses) + 1)
    beside = sum(heights.get(r, DEFAULT_ROW_HEIGHT) for r in range(head, table_end + 1)) * 4 / 3
    column.set_size({"width": _pixels(widths[mix:]), "height": int(beside)})
    ws.insert_chart(head, mix, column, {"object_position": 3})
    row = _definitions(ws, styles, ctx, row + 2, mix, last_col, widths[mix + 1 :])
    history_row = max(charts_row + math.ceil(CHART_HEIGHT / PIXELS_PER_ROW), row) + 1
    note_row = _history(book, ws, styles, ctx, history_row, first, mix, widths) + 1
    ws.write_string(note_row, 0, _dashboard_note(ctx), styles.note)
    # Printed on pages that can be read (8 points or more; one page shrank it all to about 6):
    # the key figures and the table, then the charts and the plan's life (a row a cycle).
    ws.set_h_pagebreaks([charts_row])
    return _finish_dashboard(ws, ctx, note_row, last_col)


def _history(
    book: Book, ws: Worksheet, styles: Styles, ctx: Context, top: int, first: int, mix: int, widths: Sequence[float]
) -> int:
    """The plan's whole life: status counts at every cycle (each item at its standing then,
    carried forward where nobody reported it) as a table under the bar chart and a stacked
    column chart beside it. Returns the last row used."""
    statuses = ctx.summary.statuses
    total_col = first + len(statuses) + 1
    last_col = len(widths) - 1
    _dash_section(ws, styles, top, 0, last_col, f"{ctx.status_header} over the plan's life: every cycle")
    head = top + 1
    _merged(ws, head, 0, first - 1, "Cycle", styles.dash_head_left)
    for c, status in enumerate(statuses, start=first):
        ws.write_string(head, c, status, styles.dash_status_head.get(status, styles.dash_head))
    ws.write_string(head, total_col - 1, NO_UPDATE, styles.dash_head)
    ws.write_string(head, total_col, "Total", styles.dash_head)
    ws.set_row(head, 30)
    row = head
    for cycle, counts in status_history(ctx.picture):
        row += 1
        _merged(ws, row, 0, first - 1, cycle, styles.dash_group)
        for c, status in enumerate([*statuses, ""], start=first):
            ws.write_number(row, c, counts.get(status, 0), styles.dash_count)
        ws.write_number(row, total_col, sum(counts.values()), styles.dash_count)
    chart = _history_chart(book.workbook, ctx, head, row, first)
    height = max(HISTORY_CHART_HEIGHT, int((30 + (row - head) * DEFAULT_ROW_HEIGHT) * 4 / 3))
    chart.set_size({"width": _pixels(widths[mix:]), "height": height})
    ws.insert_chart(head, mix, chart, {"object_position": 3})
    return max(row, head + math.ceil(height / PIXELS_PER_ROW))


def _history_chart(book: Workbook, ctx: Context, head: int, last: int, col: int) -> Any:
    """Stacked columns, one per cycle, one colour per status: the plan's whole life."""
    chart = book.add_chart({"type": "column", "subtype": "stacked"})
    sheet = "Dashboard"
    choices = ctx.template.status_choices
    for c, status in enumerate(ctx.summary.statuses, start=col):
        choice = choices.get(status) if choices else None
        chart.add_series(
            {
                "name": [sheet, head, c],
                "categories": [sheet, head + 1, 0, last, 0],
                "values": [sheet, head + 1, c, last, c],
                "fill": {"color": choice.fill if choice else NAVY},
                "border": {"color": WHITE, "width": 0.75},
                "gap": 60,
            }
        )
    chart.set_title({"name": f"{ctx.status_header}: every cycle", "name_font": {"size": 11, "color": NAVY}})
    chart.set_legend({"position": "bottom", "font": {"size": 9}})
    chart.set_x_axis({"num_font": {"size": 8}})
    chart.set_y_axis({"num_font": {"size": 8}, "major_gridlines": {"visible": True, "line": {"color": GRIDLINES}}})
    chart.set_chartarea({"border": {"color": BORDER}})
    return chart


def _finish_dashboard(ws: Worksheet, ctx: Context, last_row: int, last_col: int) -> Worksheet:
    """No gridlines; one A4 landscape page wide; the sheet the workbook opens on."""
    ws.hide_gridlines(2)
    ws.center_horizontally()
    setup_pages(ws, ctx, repeat_to=None)
    ws.print_area(0, 0, last_row, last_col)
    ws.activate()
    return ws


def _definitions(
    ws: Worksheet, styles: Styles, ctx: Context, row: int, first: int, last: int, widths: Sequence[float]
) -> int:
    """What each status means, from the template, as the SOP defines it; return the last row."""
    choices = ctx.template.status_choices
    if not choices or not any(c.definition for c in choices.values):
        return row
    _dash_section(ws, styles, row, first, last, f"{choices.title} definitions")
    per_line = max(int(sum(widths) * 1.1), 10)
    for choice in choices.values:
        row += 1
        label = styles.dash_status_label.get(choice.value, styles.dash_plain_label)
        ws.write_string(row, first, choice.value, label)
        _merged(ws, row, first + 1, last, choice.definition, styles.dash_definition)
        lines = math.ceil(len(choice.definition) / per_line)
        ws.set_row(row, lines_height(max(lines, 1)))
    return row


def _short_names(groups: Sequence[str]) -> list[str] | None:
    """The groups' short names when every one is "<short>: <the rest>" ("Big Action 1: ..."),
    for the chart's axis; None otherwise."""
    shorts = [g.partition(":")[0].strip() for g in groups]
    fits = all(":" in g and 0 < len(short) <= 20 for g, short in zip(groups, shorts, strict=True))
    return shorts if groups and fits and len(set(shorts)) == len(shorts) else None


def _dash_section(ws: Worksheet, styles: Styles, row: int, first: int, last: int, heading: str) -> None:
    ws.write_string(row, first, heading, styles.section)
    for c in range(first + 1, last + 1):
        ws.write_blank(row, c, None, styles.section)


def _dashboard_subtitle(ctx: Context) -> str:
    s = ctx.summary
    parts = []
    if s.spg_date:
        parts.append(f"{ctx.plan.words.meeting} {long_date(s.spg_date)}")
    parts.append(f"returns due {long_date(s.deadline)}")
    parts.append(f"figures as of {s.today:%d/%m/%Y}")
    parts.append(f"Rendered {ctx.rendered_at:%d/%m/%Y %H:%M}.")
    text = ", ".join(parts)
    return text[0].upper() + text[1:]


def _tiles(ctx: Context) -> list[tuple[str, str, str, str]]:
    """(figure, caption, fill, font) of each key figure."""
    s, gaps = ctx.summary, ctx.gaps
    label = ctx.template.plan.recipient_label
    received, expected = s.count("merged"), len(s.recipients)
    missing = sum(1 for m in gaps.missing_returns if m.outcome == "missing")
    quarantined = len(gaps.missing_returns) - missing
    chase = f"{missing} missing, {quarantined} to be fixed" if gaps.missing_returns else "all in"
    tiles = [(f"{received} of {expected}", f"{label} returns received ({chase})", NAVY, WHITE)]
    if ctx.due_key:
        tiles.append((f"{len(gaps.overdue):,}", f"{ctx.items_label.lower()} past their due date", NAVY, WHITE))
    choices = ctx.template.status_choices
    for status in ctx.attention:
        choice = choices.get(status) if choices else None
        n = sum(1 for g in gaps.attention if g.status == status)
        fill, font = (choice.fill, choice.font) if choice else (NAVY, WHITE)
        tiles.append((f"{n:,}", f"{ctx.items_label.lower()} at {status}", fill, font))
    if ctx.complete:
        choice = choices.get(ctx.complete) if choices else None
        n = s.totals.get(ctx.complete, 0)
        fill, font = (choice.fill, choice.font) if choice else (NAVY, WHITE)
        tiles.append((f"{n:,}", f"{ctx.items_label.lower()} complete ({ctx.complete})", fill, font))
    return tiles


def _spans(widths: Sequence[float], n: int) -> list[tuple[int, int]]:
    """Split the columns into (at most) `n` runs of about equal width, for the tiles."""
    n = min(n, len(widths))
    ends = list(itertools.accumulate(widths))  # ends[k]: the width of columns 0..k
    edges = [0]
    for i in range(1, n):
        target = ends[-1] * i / n
        candidates = range(edges[-1], len(widths) - (n - i))
        edges.append(min(candidates, key=lambda k: abs(ends[k] - target)) + 1)
    edges.append(len(widths))
    return [(edges[i], edges[i + 1] - 1) for i in range(n)]


def _merged(ws: Worksheet, row: int, first: int, last: int, text: str, fmt: Format) -> None:
    if first == last:
        ws.write_string(row, first, text, fmt)
    else:
        ws.merge_range(row, first, row, last, "", fmt)
        ws.write_string(row, first, text, fmt)  # merged cells' text: always a string


def _pixels(widths: Sequence[float]) -> int:
    """Excel's width in pixels of columns of these character widths (Calibri 11)."""
    return sum(int(w * 7 + 5) for w in widths)


def _status_bar_chart(book: Workbook, ctx: Context, head: int, first: int, last: int, col: int) -> Any:
    chart = book.add_chart({"type": "bar", "subtype": "stacked"})
    sheet = "Dashboard"
    choices = ctx.template.status_choices
    for c, status in enumerate(ctx.summary.statuses, start=col):
        choice = choices.get(status) if choices else None
        fill = choice.fill if choice else NAVY
        chart.add_series(
            {
                "name": [sheet, head, c],
                "categories": [sheet, first, 0, last, 0],
                "values": [sheet, first, c, last, c],
                "fill": {"color": fill},
                "border": {"color": WHITE, "width": 0.75},
                "gap": 60,
            }
        )
    group = ctx.plan_header(ctx.group_key, "group")
    chart.set_title({"name": f"{ctx.status_header} by {group}", "name_font": {"size": 11, "color": NAVY}})
    chart.set_legend({"position": "bottom", "font": {"size": 9}})
    chart.set_x_axis({"num_font": {"size": 8}, "major_gridlines": {"visible": True, "line": {"color": GRIDLINES}}})
    # Bars read top down in the table's order; the value axis stays at the bottom.
    # Every group's label, however long the names (by default a program skips some).
    chart.set_y_axis({"reverse": True, "crossing": "max", "num_font": {"size": 8}, "interval_unit": 1})
    chart.set_chartarea({"border": {"color": BORDER}})
    return chart


def _mix_column_chart(book: Workbook, ctx: Context, head: int, col: int, rows: int) -> Any:
    chart = book.add_chart({"type": "column"})
    sheet = "Dashboard"
    first, last = head + 1, head + rows
    series = [(col + 2, NAVY)]
    if ctx.previous_cycle:
        series.insert(0, (col + 1, LAST_CYCLE))
    for c, colour in series:
        chart.add_series(
            {
                "name": [sheet, head, c],
                "categories": [sheet, first, col, last, col],
                "values": [sheet, first, c, last, c],
                "fill": {"color": colour},
                "border": {"none": True},
                "data_labels": {"value": True, "font": {"size": 8}},
                "gap": 80,
            }
        )
    cycles = f"{ctx.previous_cycle} and {ctx.cycle}" if ctx.previous_cycle else ctx.cycle
    title = f"{ctx.status_header}: {cycles}"
    chart.set_title({"name": title, "name_font": {"size": 11, "color": NAVY}})
    chart.set_legend({"position": "bottom", "font": {"size": 9}})
    chart.set_x_axis({"num_font": {"size": 8}})
    chart.set_y_axis({"num_font": {"size": 8}, "major_gridlines": {"visible": True, "line": {"color": GRIDLINES}}})
    chart.set_chartarea({"border": {"color": BORDER}})
    return chart


def _dashboard_note(ctx: Context) -> str:
    counted = f"{len(ctx.plan.items):,} {ctx.items_label.lower()} in the plan"
    return (
        f"{counted}. {NO_UPDATE}: no {ctx.status_header} in a merged return this cycle. "
        "Details: Risk register, Changes since last cycle, Proposed changes to timescales, Gaps."
    )
