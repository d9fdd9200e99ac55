"""How every workbook xlplan writes looks, decided once.

The sponsors' returns and their annotated copies (``return_workbook``), the master tracker
(``xlplan.master``), its ratings sheet (``ratings``), the plan workbook that `xlplan init`
writes (``plan_workbook.write_plan_workbook``) and the report's HTML (``summary``) take from here:

    palette          navy for what is locked or this cycle, teal for what a return fills in
    base formats     format properties; each workbook makes its own Format objects from
                     them, in its own order (that order numbers the styles in styles.xml)
    print set-up     A4 landscape, one page wide; the page header and footer, whose text
                     has its "&" escaped once, here (Excel reads "&" as a header code)
    row heights      LibreOffice and print do not fit a row to wrapped text: rows are set tall
    cells by type    ``cell_writer``: a value as a number, a date, a date and time or an
                     inline string, never a formula or a link; ``sheetxml`` keeps the XML strings
    dates            the range Excel shows as dates: 01/03/1900 (before it Excel's serials are
                     off by its 29/02/1900) to 31/12/9999
    Excel's limits   what Excel refuses or repairs and LibreOffice accepts silently: a cell's
                     32,767 characters counted in UTF-16 units (``values.excel_length``, ``fits``),
                     string literals in formulas (``formula_string``), list validations
                     (``LIST_LIMIT``, ``inline_list``), literal characters in number formats
                     (``number_format``) and ranges of one cell (``cell_range``)

Reading dates back is ``values.parse_date``'s (it is below this module: this one uses it).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from xlsxwriter.worksheet import Worksheet

from xlplan.sheetxml import CELL_LIMIT, CellXml, cell_start, fits, text_cell, text_style, xml_text
from xlplan.values import EXCEL_EPOCH, excel_length, format_value

# --- the palette ------------------------------------------------------------------

NAVY = "#1F3864"  # titles, headers of locked columns, this cycle
TEAL = "#00695C"  # headers of the columns a return fills in
WHITE = "#FFFFFF"
BORDER = "#BFBFBF"
SUBTITLE_TEXT = "#404040"
GREY_TEXT = "#595959"  # notes, and the text of locked rows
PALE = "#F2F2F2"  # group bands, totals
FLAG = "#FCE4D6"  # a cell the reader should look at (quarantined, flagged)
LAST_CYCLE = "#8EA9DB"  # the dashboard's "last cycle" columns, beside navy for this cycle
GRIDLINES = "#D9D9D9"  # a chart's
LOCKED_FILL = "#EDEDED"  # a return's locked columns
OFF_FILL = "#D0D0D0"  # a row locked whole (spec: locked_rows): darker than a locked column
EDIT_FILL = "#FFFBEA"  # a return's cells to fill in
ERROR_FILL, ERROR_EDGE = "#FFC7CE", "#C00000"  # an annotated copy's errors
WARNING_FILL, WARNING_EDGE = "#FFEB9C", "#BF8F00"  # and warnings
WORSE = "#C00000"  # a status that worsened
BETTER = "#00703C"  # and one that improved

# --- base formats (xlsxwriter format properties) --------------------------------------

CELL: dict[str, Any] = {"valign": "top", "border": 1, "border_color": BORDER, "font_size": 10}
TITLE: dict[str, Any] = {"bold": True, "font_size": 15, "font_color": NAVY}
SUBTITLE: dict[str, Any] = {"font_size": 10, "font_color": SUBTITLE_TEXT}
# The same, for a banner: a title or help line merged across the sheet, wrapped within the page.
TITLE_BANNER: dict[str, Any] = {**TITLE, "text_wrap": True, "valign": "top"}
SUBTITLE_BANNER: dict[str, Any] = {**SUBTITLE, "text_wrap": True, "valign": "top"}
SECTION: dict[str, Any] = {"bold": True, "font_size": 12, "font_color": NAVY, "bottom": 2, "bottom_color": NAVY}
HEAD: dict[str, Any] = {**CELL, "bold": True, "font_color": WHITE, "text_wrap": True}  # add its bg_color
DATE_FORMAT = "dd/mm/yyyy"
DATETIME_FORMAT = "dd/mm/yyyy hh:mm"

# --- print set-up -----------------------------------------------------------------

A4 = 9  # xlsxwriter's paper sizes
A3 = 8
MARGINS = {"left": 0.4, "right": 0.4, "top": 0.6, "bottom": 0.6}  # inches
# Printed text is at least 8 points: 10-point cells printed at 80% or more. Across a
# landscape page within MARGINS, LibreOffice fits 108 units of column width at 100% on
# A4 (measured from its PDF: 120 units print at 90%, 180 at 60%) and 156 on A3; so a
# sheet prints at 80% or more when its columns add up to no more than these.
MIN_PRINT_SCALE = 0.8
PRINT_WIDTH = {A4: 128.0, A3: 185.0}  # a little less, to stay clear of 80%
NARROWEST = 0.5  # a wrapped text column is narrowed to no less than this share of its width
NARROW_FLOOR = 10.0  # nor below this many units


@dataclass(frozen=True)
class PrintFit:
    """How a sheet's columns print: on which paper, how many pages across, at what widths."""

    paper: int
    widths: tuple[float, ...]
    pages_wide: int = 1


def fit_widths(widths: Sequence[float], narrowable: Sequence[bool]) -> PrintFit:
    """The smallest paper (A4, then A3) on which columns of these widths print at
    MIN_PRINT_SCALE or more, narrowing the `narrowable` ones (wrapped text: it wraps onto
    more lines instead) first, never below NARROWEST of their width; else A3, as many
    pages across as it takes, at the widths given."""
    total = sum(widths)
    least = [min(w, max(w * NARROWEST, NARROW_FLOOR)) if n else w for w, n in zip(widths, narrowable, strict=True)]
    for paper in (A4, A3):
        room = PRINT_WIDTH[paper]
        if total <= room:
            return PrintFit(paper, tuple(widths))
        if sum(least) <= room:
            share = (room - sum(least)) / (total - sum(least)) if total > sum(least) else 0.0
            fitted = tuple(
                round(lo + (w - lo) * share, 1) if n else w for w, lo, n in zip(widths, least, narrowable, strict=True)
            )
            return PrintFit(paper, fitted)
    # Several pages across whatever the widths: they are kept, as easier to read on screen.
    return PrintFit(A3, tuple(widths), math.ceil(total / PRINT_WIDTH[A3]))


def header_text(text: str) -> str:
    """Text for a page header or footer: "&" starts a header code there, so it is doubled (once)."""
    return text.replace("&", "&&")


def print_setup(
    ws: Worksheet,
    header: str | None = None,
    footer: str | None = None,
    *,
    pages_tall: int = 0,
    portrait: bool = False,
    margins: bool = True,
    fit: PrintFit | None = None,
) -> None:
    """A4 (or `fit`'s paper and pages across), one page wide and `pages_tall` pages tall
    (0: as many as needed), landscape unless `portrait`. `header` prints at the top left
    with the sheet's name at the right; `footer` at the bottom left with the page number
    at the right."""
    if portrait:
        ws.set_portrait()
    else:
        ws.set_landscape()
    ws.set_paper(fit.paper if fit else A4)
    ws.fit_to_pages(fit.pages_wide if fit else 1, pages_tall)
    if margins:
        ws.set_margins(**MARGINS)
    if header is not None:
        ws.set_header(f"&L&10{header_text(header)}&R&10&A")  # 10 points: 8 or more when the page is scaled
    if footer is not None:
        ws.set_footer(f"&L&10{header_text(footer)}&R&10Page &P of &N")


# --- row heights ------------------------------------------------------------------

LINE_HEIGHT = 13.5  # points, of a line of 10-point text
MAX_ROW_HEIGHT = 409  # points: Excel's limit
CHARS_PER_WIDTH = 1.15  # characters of 10-point text per unit of column width (Calibri 11)


def chars_per_line(width: float) -> float:
    """About how many characters of wrapped text fit on a line of a column this wide."""
    return max(width * CHARS_PER_WIDTH, 4)


def lines_height(lines: int) -> float:
    """The height of a row showing `lines` lines of text."""
    return min(MAX_ROW_HEIGHT, LINE_HEIGHT * lines + 3)


def row_height(texts: Sequence[tuple[str, float]]) -> float | None:
    """A height that shows each (text, column width) in full, line by line; None for one line.

    Exact about newlines: for the few rows xlsxwriter writes, and a return's rows."""
    lines = 1
    for text, width in texts:
        per_line = chars_per_line(width)
        if len(text) <= per_line and "\n" not in text:
            continue  # one line: most cells, and this costs far less than the sum below
        wrapped = sum(max(1, math.ceil(len(part) / per_line)) for part in text.split("\n"))
        lines = max(lines, wrapped)
    return None if lines == 1 else lines_height(lines)


def banner_height(text: str, banner: dict[str, Any], width: float, least: float | None = None) -> float | None:
    """The height of a banner row (`sheetxml.SheetData.banner`): `text` in the `banner` format
    (TITLE_BANNER, SUBTITLE_BANNER) wrapped across `width` units of column width; `least`
    (None: the default height) for one line."""
    points = banner["font_size"]
    per_line = chars_per_line(width) * 10 / points
    lines = max(1, math.ceil(len(text) / per_line))
    if lines == 1:
        return least
    return min(MAX_ROW_HEIGHT, lines * points * 1.35 + 4)


@dataclass(frozen=True)
class Wrapped:
    """A column whose text wraps: its index, characters per line, and where its text is cut."""

    index: int
    per_line: int
    limit: int


def wrapped_height(values: Sequence[Any], wrapped: Sequence[Wrapped]) -> float | None:
    """The height of a row of `values`, as `row_height` but counting faster (newlines are
    added, not split on): for the master's sheets of 50,000 rows."""
    lines = 1
    for column in wrapped:
        text = values[column.index]
        per_line = column.per_line
        if type(text) is str and (len(text) > per_line or "\n" in text):
            limit = column.limit
            n = (min(len(text), limit) - 1) // per_line + 1 + text.count("\n", 0, limit)
            if n > lines:
                lines = n
    return None if lines == 1 else lines_height(lines)


# --- Excel's dates ----------------------------------------------------------------

FIRST_SERIAL_DAY = date(1900, 3, 1)  # before it, Excel's serials are off by its 29/02/1900
LAST_DAY = date.max  # 31/12/9999, Excel's last day too
_EPOCH = EXCEL_EPOCH.toordinal()
LAST_SERIAL = LAST_DAY.toordinal() - _EPOCH  # 2,958,465: no date cell holds a number beyond it


def excel_serial(day: date) -> int | None:
    """The serial Excel stores for `day`; None before 01/03/1900 (write those as text)."""
    return day.toordinal() - _EPOCH if day >= FIRST_SERIAL_DAY else None


def as_date(value: Any) -> date | None:
    """A date from a date, a datetime or the ledger's ISO text (dates are kept as JSON);
    None for anything else."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip()[:10])
        except ValueError:
            return None
    return None


def _date_object(value: Any) -> date | None:
    """A date from a date or a datetime only: text stays text (a sponsor's typed entry)."""
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else None


def as_datetime(value: Any) -> datetime | None:
    """A timestamp such as the ledger's `2025-09-01T10:00:00+01:00`, as local wall time."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=None, microsecond=0)
    except ValueError:
        return None


# --- Excel's limits ---------------------------------------------------------------
# (excel-pitfalls.md 17-20.) Every writer takes these from here; tests/test_excel_limits.py
# checks every workbook xlplan writes against them.

CELL_LIMITS = (CELL_LIMIT, fits, excel_length)  # a cell limit, counted as Excel counts it (sheetxml)
LIST_LIMIT = 255  # characters of an explicit list validation ("Red,Amber,Green")


def formula_string(text: str) -> str:
    """`text` as a string literal inside a formula: quoted, quotes doubled (On ""hold"")."""
    return '"' + text.replace('"', '""') + '"'


def inline_list(values: Sequence[str]) -> str | None:
    """An explicit dropdown list for a data validation's formula, as a string literal
    (quotes doubled), or None when Excel cannot hold one: a value with a comma (no escape
    exists for it; templates refuse them at load) or a list over LIST_LIMIT characters."""
    if any("," in v for v in values):
        return None
    joined = ",".join(values)
    return formula_string(joined) if excel_length(joined) <= LIST_LIMIT else None


def number_format(code: str) -> str:
    """A number format with its literal characters escaped (an en dash is written backslash, en dash), as Excel
    writes them; strict readers refuse an unescaped one. Quoted text and escapes are kept."""
    out, quoted, escaped = [], False, False
    for ch in code:
        if escaped or quoted:
            out.append(ch)
            escaped = False
            quoted = quoted and ch != '"'
            continue
        if ch == "\\":
            escaped = True
        elif ch == '"':
            quoted = True
        elif not ch.isascii():
            out.append("\\")
        out.append(ch)
    return "".join(out)


def cell_range(first_row: int, first_col: int, last_row: int, last_col: int) -> str:
    """An A1 range, written as one cell when it is one ("I5", never "I5:I5")."""
    from xlsxwriter.utility import xl_range

    return xl_range(first_row, first_col, last_row, last_col)


# --- cells by type ----------------------------------------------------------------


@dataclass(frozen=True)
class CellStyles:
    """The style indices (``sheetxml.xf``) a column's cells use, by what they hold."""

    text: int
    integer: int | None = None  # None: as text's
    decimal: int | None = None
    date: int | None = None
    datetime: int | None = None
    by_value: Mapping[str, int] = field(default_factory=dict)  # text -> its own style (a status colour)


def cell_writer(
    c: int,
    kind: str,
    styles: CellStyles,
    limit: int = CELL_LIMIT,
    *,
    blanks: bool = False,
    dates_from_text: bool = True,
) -> CellXml:
    """How column `c`'s values become cells: by `kind` (number, date, datetime), and
    otherwise, or when a value is not of its kind, as text cut to `limit`.

    Made once per column, so a loop over 50,000 rows makes one call per cell. Text is
    always an inline string: never a formula, a link or a number. With `blanks`, None
    and "" become empty cells in the text style (a return's cells to fill in); without,
    the caller leaves them out. Without `dates_from_text`, ISO text in a date column is
    written as the text it is (what a sponsor typed), not as the date the ledger meant.
    """
    start = cell_start(c)
    plain = text_style(styles.text)
    to_date = as_date if dates_from_text else _date_object
    coloured = {value: text_style(style) for value, style in styles.by_value.items()}
    integer, decimal, day, moment = (
        f'" s="{styles.text if style is None else style}"><v>'
        for style in (styles.integer, styles.decimal, styles.date, styles.datetime)
    )

    def text(n: int, value: Any) -> str:
        if type(value) is not str:
            value = format_value(value) or " "
        mids = coloured.get(value, plain)
        if not (fits(value, limit) and value.isprintable() and "&" not in value and "<" not in value):
            return text_cell(start, n, mids, xml_text(value, limit))
        if ">" in value or "_x" in value or value[0] <= " " or value[-1] <= " ":
            return text_cell(start, n, mids, xml_text(value, limit))
        return f"{start}{n}{mids[0]}{value}</t></is></c>"  # most cells: what text_cell would say, inline

    def number(n: int, value: Any) -> str:
        if type(value) in (int, float) and math.isfinite(value):
            return f"{start}{n}{integer if value == int(value) else decimal}{value!r}</v></c>"
        return text(n, value)

    def as_day(n: int, value: Any) -> str:
        typed = to_date(value)
        serial = excel_serial(typed) if typed else None
        return f"{start}{n}{day}{serial}</v></c>" if serial else text(n, value)

    def as_moment(n: int, value: Any) -> str:
        typed = as_datetime(value)
        serial = excel_serial(typed.date()) if typed else None
        if not typed or not serial:
            return text(n, value)
        fraction = (typed.hour * 3600 + typed.minute * 60 + typed.second) / 86400
        return f"{start}{n}{moment}{serial + fraction!r}</v></c>"

    write: Callable[[int, Any], str] = {"number": number, "date": as_day, "datetime": as_moment}.get(kind, text)
    if not blanks:
        return write
    empty = f'" s="{styles.text}"/>'

    def or_blank(n: int, value: Any) -> str:
        if value is None or value == "":
            return f"{start}{n}{empty}"
        return write(n, value)

    return or_blank
