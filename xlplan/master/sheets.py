"""What every sheet of the master tracker is made of: its formats, columns and tables.

A sheet is one ``write_<name>(book, styles, ctx)`` function (listed, in order, in
``build.SHEETS``). Most sheets start with two title rows, a blank row and a header on
``HEADER_ROW``, then one row per item; their cells are written as sheet XML
(``SheetData``) through the writers made here from each column's ``Col``, while
xlsxwriter sets the widths, panes, filters and print set-up.

Every value that came back in a return is untrusted: it is only ever written as an
inline string (never a formula, a link or a number), so "=1+1" or "@SUM(A1)" stays text.
Notes are shown in full, wrapped, up to Excel's cell limit (``TEXT_LIMIT``): the SPG
reads sponsors' notes here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from weakref import WeakKeyDictionary

from xlsxwriter.format import Format
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from xlplan.look import (
    A4,
    BETTER,
    CELL,
    DATE_FORMAT,
    DATETIME_FORMAT,
    FLAG,
    GREY_TEXT,
    HEAD,
    LINE_HEIGHT,
    NAVY,
    PALE,
    PRINT_WIDTH,
    SECTION,
    SUBTITLE,
    SUBTITLE_BANNER,
    SUBTITLE_TEXT,
    TEAL,
    TITLE,
    TITLE_BANNER,
    WHITE,
    WORSE,
    CellStyles,
    Wrapped,
    banner_height,
    cell_writer,
    chars_per_line,
    fit_widths,
    number_format,
    print_setup,
    wrapped_height,
)
from xlplan.master.context import Context
from xlplan.sheetxml import BLANK, CELL_LIMIT, CellXml, SheetData, cell_start, text_cell, text_style, xf, xml_text
from xlplan.template import Column, Template

HEADER_ROW = 3  # 0-based: title, subtitle, a blank row, then the header
TEXT_LIMIT = CELL_LIMIT  # notes are shown in full, up to what an Excel cell holds
NO_UPDATE = "No update"
PAGE_TITLE_LIMIT = 120  # characters of the plan's title in the page header (Excel allows 255 in all)


@dataclass
class Book:
    """The xlsxwriter workbook, and the cell data of the sheets written here (by sheet name)."""

    workbook: Workbook
    data: dict[str, SheetData] = field(default_factory=dict)
    defer: bool = False  # sheets added now have their cells built by a worker

    def add_sheet(self, name: str) -> tuple[Worksheet, SheetData]:
        """A worksheet whose cells are all written through the returned SheetData."""
        ws = self.workbook.add_worksheet(name)
        data = self.data[ws.name] = SheetData(self.defer)
        return ws, data


class Styles:
    """The formats the master uses, made once per workbook."""

    def __init__(self, book: Workbook, template: Template) -> None:
        base = CELL
        self.title = book.add_format(TITLE)
        self.subtitle = book.add_format(SUBTITLE)
        self.title_banner = book.add_format(TITLE_BANNER)
        self.subtitle_banner = book.add_format(SUBTITLE_BANNER)
        self.section = book.add_format(SECTION)
        self.note = book.add_format({"italic": True, "font_color": GREY_TEXT, "font_size": 10})
        self.head = book.add_format({**HEAD, "bg_color": NAVY})
        self.head_edit = book.add_format({**HEAD, "bg_color": TEAL})
        self.group = book.add_format({**base, "bold": True, "bg_color": PALE})
        self.text = book.add_format({**base, "text_wrap": True})
        self.text_nowrap = book.add_format(base)
        self.integer = book.add_format({**base, "num_format": "#,##0"})
        self.decimal = book.add_format({**base, "num_format": "#,##0.00"})
        self.date = book.add_format({**base, "num_format": DATE_FORMAT})
        self.datetime = book.add_format({**base, "num_format": DATETIME_FORMAT})
        self.flag = book.add_format({**base, "bold": True, "bg_color": FLAG})
        self.worse = book.add_format({**base, "bold": True, "font_color": WORSE})
        self.better = book.add_format({**base, "bold": True, "font_color": BETTER})
        self.choice = {
            key: {
                c.value: book.add_format({**base, "bold": True, "bg_color": c.fill, "font_color": c.font})
                for c in cl.values
            }
            for key, cl in template.choices.items()
        }
        status = template.status_choices
        self.status: dict[str, Format] = self.choice.get(status.key, {}) if status else {}
        # The dashboard's
        centre = {"align": "center", "valign": "vcenter"}
        cell = {**base, **centre}
        self.dash_subtitle = book.add_format({"font_size": 11, "font_color": SUBTITLE_TEXT})
        self.dash_head = book.add_format({**HEAD, **centre, "bg_color": NAVY})
        self.dash_head_left = book.add_format({**HEAD, "valign": "vcenter", "bg_color": NAVY})
        self.dash_group = book.add_format({**base, "valign": "vcenter", "text_wrap": True})
        self.dash_definition = book.add_format({**base, "text_wrap": True, "font_size": 9, "valign": "vcenter"})
        self.dash_group_short = book.add_format({**base, "valign": "vcenter", "bold": True})
        self.dash_count = book.add_format({**cell, "num_format": number_format("#,##0;-#,##0;\u2013")})
        self.dash_change = book.add_format({**cell, "num_format": number_format("+#,##0;-#,##0;\u2013")})
        total = {**cell, "bold": True, "bg_color": PALE, "top": 2, "top_color": NAVY}
        self.dash_total = book.add_format({**total, "num_format": number_format("#,##0;-#,##0;\u2013")})
        self.dash_total_label = book.add_format({**total, "align": "left"})
        self.dash_status_head = {
            value: book.add_format({**HEAD, **centre, "bg_color": fmt.bg_color, "font_color": fmt.font_color})
            for value, fmt in self.status.items()
        }
        self.dash_status_label = {
            value: book.add_format({**cell, "bold": True, "bg_color": fmt.bg_color, "font_color": fmt.font_color})
            for value, fmt in self.status.items()
        }
        self.dash_plain_label = book.add_format({**cell, "bold": True, "bg_color": PALE})
        self.book = book
        self._tiles: dict[tuple[str, str], tuple[Format, Format]] = {}
        # Numbered now, in the order made: a worker building some sheets (`build._build`)
        # then gives every style the number it has here, whichever sheets use it first.
        for fmt in book.formats:
            xf(fmt)

    def tile(self, fill: str, font: str) -> tuple[Format, Format]:
        """(figure, caption) formats of a dashboard tile in these colours."""
        if (fill, font) not in self._tiles:
            tile = {"bg_color": fill, "font_color": font, "align": "center", "border": 1, "border_color": WHITE}
            self._tiles[fill, font] = (
                self.book.add_format({**tile, "bold": True, "font_size": 22, "valign": "vcenter"}),
                self.book.add_format({**tile, "font_size": 10, "valign": "top", "text_wrap": True}),
            )
        return self._tiles[fill, font]


SheetWriter = Callable[[Book, Styles, Context], Worksheet | None]  # None: not for this kind of return


@dataclass(frozen=True)
class Col:
    """One column of a table: its header, width, how its values are written."""

    header: str
    width: float
    kind: str = "text"  # text | number | date | datetime
    editable: bool = False  # a value from this cycle's returns (teal header)
    wrap: bool = True
    by_value: Mapping[str, Format] = field(default_factory=dict)  # e.g. status -> colour
    limit: int = TEXT_LIMIT  # longer text is cut, ending "…"


# --- writing cells -------------------------------------------------------------


def cell_writers(cols: Sequence[Col], styles: Styles) -> list[CellXml]:
    """Each column's cell writer (look.cell_writer), in its formats."""
    return [
        cell_writer(
            c,
            col.kind,
            CellStyles(
                xf(styles.text if col.wrap else styles.text_nowrap),
                integer=xf(styles.integer),
                decimal=xf(styles.decimal),
                date=xf(styles.date),
                datetime=xf(styles.datetime),
                by_value={value: xf(fmt) for value, fmt in col.by_value.items()},
            ),
            col.limit,
        )
        for c, col in enumerate(cols)
    ]


def styled(fmt: Format, width: int = 1, limit: int = CELL_LIMIT) -> list[CellXml]:
    """Writers of text in one fixed format for columns 0..width-1 (titles, headings, notes);
    BLANK writes an empty cell in that format."""
    style = xf(fmt)
    mids = text_style(style)

    def writer(c: int) -> CellXml:
        start = cell_start(c)

        def write(n: int, value: Any) -> str:
            if value is BLANK:
                return f'{start}{n}" s="{style}"/>'
            return text_cell(start, n, mids, xml_text(str(value) or " ", limit))

        return write

    return [writer(c) for c in range(width)]


def wrapped_columns(cols: Sequence[Col]) -> list[Wrapped]:
    """The columns whose text wraps, for look.wrapped_height."""
    return [
        Wrapped(c, int(chars_per_line(col.width)), col.limit)
        for c, col in enumerate(cols)
        if col.kind == "text" and col.wrap and not col.by_value  # statuses and flags are short
    ]


def write_row(
    data: SheetData, row: int, writers: Sequence[CellXml], values: Sequence[Any], wraps: Sequence[Wrapped]
) -> None:
    """One row of values, tall enough for its wrapped text."""
    data.write(row, writers, values, wrapped_height(values, wraps))


# --- titles, headers, tables -------------------------------------------------------


def write_titles(data: SheetData, styles: Styles, ctx: Context, about: str) -> None:
    """The title rows every sheet starts with."""
    # Banners (merged across the sheet, wrapped): a long plan title or note stays on the page.
    # Sized for A4's width, the narrowest a sheet prints on.
    title = f"{ctx.plan.title}: Master tracker, {ctx.cycle}"
    about = f"{about} Rendered {ctx.rendered_at:%d/%m/%Y %H:%M}."
    width = PRINT_WIDTH[A4]
    data.banner(0, styled(styles.title_banner)[0](1, title), banner_height(title, TITLE_BANNER, width, 20))
    data.banner(1, styled(styles.subtitle_banner)[0](2, about), banner_height(about, SUBTITLE_BANNER, width))


# The column widths each sheet was given (set_widths), for its print set-up (setup_pages).
_WIDTHS: WeakKeyDictionary[Worksheet, tuple[float, ...]] = WeakKeyDictionary()


def set_widths(ws: Worksheet, widths: Sequence[float]) -> None:
    """The sheet's column widths; setup_pages prints it on the paper they need."""
    for c, width in enumerate(widths):
        ws.set_column(c, c, width)
    _WIDTHS[ws] = tuple(widths)


def fit_cols(cols: Sequence[Col]) -> list[Col]:
    """The columns narrowed (wrapped text only) to print at 8 points or more (look.fit_widths)."""
    fit = fit_widths([c.width for c in cols], [c.kind == "text" and c.wrap and not c.by_value for c in cols])
    return [replace(col, width=w) for col, w in zip(cols, fit.widths, strict=True)]


def write_header(ws: Worksheet | None, data: SheetData, styles: Styles, row: int, cols: Sequence[Col]) -> list[Col]:
    """The header row, tall enough for its longest heading. Given `ws`, the table is the
    sheet's: its columns are fitted to print (fit_cols) and their widths set; the columns
    to write the rows with are returned."""
    cols = list(cols)
    if ws is not None:
        cols = fit_cols(cols)
        set_widths(ws, [col.width for col in cols])
    head, edit = styled(styles.head, len(cols)), styled(styles.head_edit, len(cols))
    lines = max((math.ceil(len(col.header) / max(col.width - 1, 4)) for col in cols), default=1)
    data.write(
        row,
        [(edit if col.editable else head)[c] for c, col in enumerate(cols)],
        [col.header for col in cols],
        max(30, LINE_HEIGHT * lines + 4),
    )
    return cols


def write_rows(
    data: SheetData, styles: Styles, first: int, cols: Sequence[Col], values: Sequence[Sequence[Any]]
) -> int:
    """Write `values` from row `first` on, each row tall enough for its text; return the last row."""
    out, wraps = cell_writers(cols, styles), wrapped_columns(cols)
    row = first - 1
    for line in values:
        row += 1
        write_row(data, row, out, line, wraps)
    return row


def finish_table(ws: Worksheet, cols: Sequence[Col], last_row: int) -> None:
    """Freeze the header, filter it, print it all: the print area starts at the title, so
    the first printed page carries the title and what the sheet is (the page header
    names the plan and cycle on every page)."""
    last_row = max(last_row, HEADER_ROW + 1)
    ws.freeze_panes(HEADER_ROW + 1, 1)
    ws.autofilter(HEADER_ROW, 0, last_row, len(cols) - 1)
    ws.hide_gridlines(0)
    ws.print_area(0, 0, last_row, len(cols) - 1)


def setup_pages(ws: Worksheet, ctx: Context, repeat_to: int | None = HEADER_ROW, pages_tall: int = 0) -> None:
    """A4 landscape, one page wide (and `pages_tall` tall, 0: as many as needed), the plan
    and cycle in the page header; on each page, the header row, or the titles with
    `repeat_to` above it, or nothing with None."""
    title = f"{ctx.plan.title}: master tracker {ctx.cycle}"[:PAGE_TITLE_LIMIT]
    widths = _WIDTHS.get(ws)
    fit = fit_widths(widths, [False] * len(widths)) if widths else None
    footer = f"Rendered {ctx.rendered_at:%d/%m/%Y %H:%M} by xlplan"
    print_setup(ws, title, footer, pages_tall=pages_tall, fit=fit)
    if repeat_to is not None:
        ws.repeat_rows(0 if repeat_to < HEADER_ROW else HEADER_ROW, repeat_to)
    if fit and fit.pages_wide > 1:
        ws.repeat_columns(0)  # the key on every page across


def write_note(data: SheetData, styles: Styles, row: int, text: str = "None") -> None:
    """A line of grey italic text: what a table would hold, when it holds nothing."""
    data.write(row, styled(styles.note), [text])


def write_section(data: SheetData, styles: Styles, row: int, heading: str, width: int) -> None:
    """A heading across `width` columns, underlined in navy."""
    data.write(row, styled(styles.section, width), [heading, *[BLANK] * (width - 1)])


def write_section_table(
    data: SheetData,
    styles: Styles,
    row: int,
    heading: str,
    cols: Sequence[Col],
    values: Sequence[Sequence[Any]],
    width: int,
    about: str = "",
    empty: str = "None",
) -> int:
    """A heading with its count, a line about it, then a table or `empty`; return the row after."""
    write_section(data, styles, row, f"{heading} ({len(values):,})", width)
    if about:
        row += 1
        write_note(data, styles, row, about)
    row += 1
    if not values:
        write_note(data, styles, row, empty)
        return row + 2
    write_header(None, data, styles, row, cols)
    return write_rows(data, styles, row + 1, cols, values) + 2


# --- columns more than one sheet shows -------------------------------------------


def movement_col(styles: Styles, width: float) -> Col:
    return Col("Movement", width, by_value={"worsened": styles.worse, "improved": styles.better})


def kind_of(column_type: str) -> str:
    """How a template column's values are written: as numbers, dates or text."""
    return column_type if column_type in ("number", "date") else "text"


def colours_of(col: Column, styles: Styles) -> Mapping[str, Format]:
    return styles.choice.get(col.choices, {}) if col.choices else {}
