"""Plan + ledger -> the master tracker workbook the Strategic Planning Group reads.

The master is rendered afresh from data every time: nothing is loaded, modified and
re-saved. Its sheets, in the order the SPG reads them:

    Dashboard                        one A4 page: returns, overdue, Red/Amber, status by
                                     group as a table and as native Excel charts
    Risk register                    every action at an `attention` status (Red, Amber)
    Changes since last cycle         status moves, completions, newly overdue actions
    Proposed changes to timescales   revised due dates for the SPG to approve
    Current status, Trend, Gaps, Feedback, Returns   the detail behind them

Everything comes from the template: the status column, its choices and colours, the
group (Big Action), the attention and complete statuses, the due and revised dates.

Every value that came back in a return is untrusted: it is only ever written as an
inline string (never a formula, a link or a number), so "=1+1" or "@SUM(A1)" stays text.

Speed: at national scale (50,000 actions) the tables hold a million cells, and
xlsxwriter spends ~7 µs on each. So xlsxwriter writes the workbook's structure (styles,
column widths, panes, filters, print setup, the Dashboard and its charts) and the
cells of every other sheet are written here as sheet XML, row by row, and streamed into
the file when it is packed (``SheetData``, ``pack``). Long notes are cut to
``TEXT_LIMIT`` characters in the per-action sheets; the ledger keeps them in full.

The file is written beside the target and renamed into place (``files.atomic_path``).
If the master is open in Excel on Windows the rename fails; the tracker is then
written under a new name beside it, so the officer still gets this cycle's tracker.

Each sheet is one ``_sheet_<name>(book, styles, ctx)`` function listed in ``SHEETS``;
all the ledger reads happen once, up front, in ``gather``.
"""

from __future__ import annotations

import functools
import io
import itertools
import math
import zipfile
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.exceptions import XlsxWriterException
from xlsxwriter.format import Format
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from xlplan import __version__
from xlplan.errors import OutputError, UsageError
from xlplan.files import atomic_path, safe_filename
from xlplan.gaps import ActionGap, Gaps, Missing, movement
from xlplan.ledger import CycleInfo, Ledger, ReturnRecord
from xlplan.plan import Plan
from xlplan.ratings import Ratings, add_ratings_sheet, distribution
from xlplan.sheetxml import (
    BLANK,
    BOOK_OPTIONS,
    CELL_LIMIT,
    LINE_HEIGHT,
    CellXml,
    SheetData,
    cell_start,
    excel_serial,
    fits,
    pack,
    text_cell,
    text_style,
    xf,
    xml_text,
)
from xlplan.summary import Summary, summarise
from xlplan.template import Column, Template
from xlplan.values import days_text, format_value, long_date, parse_date
from xlplan.workers import gc_paused, started
from xlplan.zipwriter import Deflated, deflate

HEADER_ROW = 3  # 0-based: title, subtitle, a blank row, then the header
NAVY = "#1F3864"
TEAL = "#00695C"
BORDER = "#BFBFBF"
PALE = "#F2F2F2"
FLAG = "#FCE4D6"
GREY_TEXT = "#595959"
LAST_CYCLE = "#8EA9DB"  # the dashboard's "last cycle" columns, beside navy for this cycle
TEXT_LIMIT = 500  # characters of a note shown in the per-action sheets (the ledger has all)
NO_UPDATE = "No update"


class MasterLocked(OutputError):
    """The target could not be replaced: it is open in another program (Excel on Windows)."""


@dataclass
class Rendered:
    path: Path  # where it was written
    fallback: bool  # True if target was locked (open in Excel) and we wrote elsewhere


@dataclass(frozen=True)
class Context:
    """Everything a sheet needs, read from the ledger once."""

    plan: Plan
    cycle: str
    rendered_at: datetime
    previous_cycle: str | None
    previous_info: CycleInfo | None  # the previous cycle's deadline, for "newly overdue"
    current: dict[str, dict[str, Any]]  # ref -> this cycle's values
    previous: dict[str, dict[str, Any]]  # ref -> last cycle's values
    history: dict[str, dict[str, Any]]  # ref -> cycle -> status
    cycles: list[str]  # every cycle up to and including this one, in order
    feedback: dict[tuple[str, str], dict[str, Any]]  # (recipient, group) -> field -> text
    returns: list[ReturnRecord]
    ratings: Ratings | None = None  # a `distribution` summary: many respondents rate each item
    # The gaps, and summary.summarise() of them (the counts the report and the email show
    # too). None in a context sent to a worker before the gaps were found.
    found: tuple[Gaps, Summary] | None = None

    @property
    def gaps(self) -> Gaps:
        return self._found[0]

    @property
    def summary(self) -> Summary:
        return self._found[1]

    @property
    def _found(self) -> tuple[Gaps, Summary]:
        if self.found is None:
            raise RuntimeError("a sheet that needs the gaps was given to a worker started before they were found")
        return self.found

    def with_gaps(self, ledger: Ledger, gaps: Gaps) -> Context:
        return replace(self, found=(gaps, summarise(self.plan, ledger, self.cycle, gaps.as_of, gaps)))

    @property
    def template(self) -> Template:
        return self.plan.template

    @cached_property  # asked for per row and per cell: 200,000 times at national scale
    def status_key(self) -> str | None:
        return self.template.status_column

    @cached_property
    def status_order(self) -> list[str]:
        choices = self.template.status_choices
        return list(choices.names) if choices else []

    @cached_property
    def status_header(self) -> str:
        col = self.template.rows_sheet.column(self.status_key or "")
        return col.header if col else "Status"

    @cached_property
    def attention(self) -> list[str]:
        return [s for s in self.template.summary.get("attention") or [] if s in self.status_order]

    @cached_property
    def complete(self) -> str | None:
        value = self.template.summary.get("complete")
        return value if value in self.status_order else None

    @property
    def recipient_label(self) -> str:
        return self.template.plan.recipient_label.capitalize()

    @property
    def items_label(self) -> str:
        return self.template.plan.items_sheet

    @cached_property
    def label_key(self) -> str:
        """The plan column that says what an item is: the summary's title, else the widest
        text column that is not the key, the group or the assignee (`action` here)."""
        spec = self.template.plan
        title = self.template.summary.get("title")
        if title and any(c.key == title for c in spec.columns):
            return str(title)
        others = [
            c for c in spec.columns if c.type == "text" and c.key not in (spec.key, spec.group_by, spec.assign_by)
        ]
        return max(others, key=lambda c: c.width).key if others else spec.key

    @property
    def group_key(self) -> str:
        return self.template.plan.group_by

    @property
    def sponsor_key(self) -> str | None:
        assign = self.template.plan.assign_by
        return None if assign == "all" else assign

    @property
    def due_key(self) -> str | None:
        return self.template.due_key

    @property
    def revised_key(self) -> str | None:
        return self.template.revised_key

    def plan_header(self, key: str | None, default: str) -> str:
        col = next((c for c in self.template.plan.columns if c.key == key), None)
        return col.header if col else default

    def input_header(self, key: str | None, default: str) -> str:
        col = self.template.rows_sheet.column(key or "")
        return col.header if col else default

    def status_of(self, ref: str) -> str | None:
        return (self.current.get(ref) or {}).get(self.status_key) if self.status_key else None

    def last_status_of(self, ref: str) -> str | None:
        return (self.previous.get(ref) or {}).get(self.status_key) if self.status_key else None


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


# --- the public entry point ----------------------------------------------------


def render_master(
    plan: Plan,
    ledger: Ledger,
    cycle: str,
    gaps: Gaps | Callable[[], Gaps],
    target: Path | None = None,
    jobs: int = 1,
) -> Rendered:
    """Write the master tracker for `cycle` to `target` (default: the plan folder's).

    With `jobs` > 1 and a large plan, a worker process builds the biggest sheets' cells,
    which need no gaps: give `gaps` as the function that finds them, and they are found
    while the worker builds.
    """
    target = target or plan.folder.master_file
    early = gather(plan, ledger, cycle)
    parallel = jobs > 1 and len(plan.items) >= PARALLEL_FROM
    tasks = list(range(len(PARALLEL_GROUPS))) if parallel else []
    with started(_build, early, tasks, jobs, MASTER_LOST) as building:
        found = gaps() if callable(gaps) else gaps
        if found.cycle != cycle:
            raise UsageError(f"The gaps given are for {found.cycle}, not {cycle}.")
        ctx = early.with_gaps(ledger, found)
        built = functools.cache(lambda: list(building))  # waited for once; a fallback book reuses them
        try:
            _write_book(target, ctx, built, parallel)
            return Rendered(target, fallback=False)
        except MasterLocked:
            pass  # the master is open in Excel: leave it as it is and write a new file beside it
        other = fallback_path(target, cycle, ctx.rendered_at)
        _write_book(other, ctx, built, parallel)
        return Rendered(other, fallback=True)


def fallback_path(target: Path, cycle: str, when: datetime) -> Path:
    """`master-tracker (2025-Q3 20250920-141500).xlsx` beside `target`."""
    stem = safe_filename(f"{target.stem} ({cycle} {when:%Y%m%d-%H%M%S})", limit=120)
    return target.with_name(stem + (target.suffix or ".xlsx"))


def gather(plan: Plan, ledger: Ledger, cycle: str) -> Context:
    """What the sheets show, read from the ledger; the gaps are added by `Context.with_gaps`."""
    template = plan.template
    sheet = template.rows_sheet.name
    status_key = template.status_column
    previous_cycle = ledger.previous_cycle(cycle)
    current = ledger.latest_by_ref(cycle, sheet)
    previous = ledger.latest_before(cycle, sheet)
    history = ledger.history(sheet, status_key) if status_key else {}
    if status_key:
        # Trend shows this cycle and the last as Current status and Gaps do, even where
        # joint sponsors disagree and history() would pick the other one.
        _overlay(history, cycle, current, status_key)
        if previous_cycle:
            _overlay(history, previous_cycle, previous, status_key)
    groups = template.groups_sheet
    return Context(
        plan=plan,
        cycle=cycle,
        rendered_at=_now(),
        previous_cycle=previous_cycle,
        previous_info=ledger.cycle(previous_cycle) if previous_cycle else None,
        current=current,
        previous=previous,
        history=history,
        cycles=_cycles_up_to(cycle, ledger.cycles(), history),
        feedback=ledger.entries(cycle, groups.name) if groups else {},
        returns=ledger.returns(),
        ratings=distribution(plan, ledger, cycle) if template.distribution else None,
    )


def _overlay(history: dict[str, dict[str, Any]], cycle: str, values: dict[str, dict[str, Any]], key: str) -> None:
    for ref, fields in values.items():
        history.setdefault(ref, {})[cycle] = fields.get(key)


def _now() -> datetime:
    return datetime.now().replace(microsecond=0)


def _cycles_up_to(cycle: str, recorded: list[str], history: dict[str, dict[str, Any]]) -> list[str]:
    seen = set(recorded)
    seen.add(cycle)
    for per_cycle in history.values():
        seen.update(per_cycle)
    return sorted(c for c in seen if c <= cycle)


# --- the workbook --------------------------------------------------------------


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


SheetWriter = Callable[[Book, "Styles", Context], Worksheet | None]  # None: not for this kind of return


def _write_book(
    path: Path, ctx: Context, built: Callable[[], list[tuple[Built, dict[Any, int]]]], parallel: bool
) -> None:
    """The workbook; when `parallel`, the cells of PARALLEL_GROUPS' sheets come from `built`,
    and each sheet written here is compressed by a thread while the next one is written."""
    try:
        with atomic_path(path) as tmp, ThreadPoolExecutor(2 if parallel else 1) as threads:
            buffer = io.BytesIO()
            workbook = xlsxwriter.Workbook(buffer, BOOK_OPTIONS)
            book = Book(workbook)
            styles = Styles(workbook, ctx.template)
            with gc_paused():
                for writer in SHEETS:  # while the workers build their sheets' cells
                    book.defer = parallel and any(writer in group for group in PARALLEL_GROUPS)
                    writer(book, styles, ctx)
                    if parallel:
                        _compress_done(book, threads)
                for cells, indices in built():
                    _take(book, workbook, cells, indices)
            workbook.set_properties(_properties(ctx))
            workbook.close()
            pack(buffer.getvalue(), tmp, book.data)
    except OutputError as exc:  # only atomic_path raises it: the rename into place failed
        raise MasterLocked(str(exc)) from exc
    except (OSError, XlsxWriterException, zipfile.BadZipFile) as exc:
        raise OutputError(f"Cannot write {path}: {getattr(exc, 'strerror', None) or exc}.") from exc


def _compress_done(book: Book, threads: ThreadPoolExecutor) -> None:
    """Start compressing the sheets written so far (zlib works outside the GIL)."""
    for data in book.data.values():
        if data.compressed is None and not data.deferred:
            data.compressed = threads.submit(deflate, data.chunks())


Built = dict[str, tuple[Deflated, int, int]]  # sheet name -> (its <sheetData>, compressed; last row; last column)


def _build(ctx: Context, group: int) -> tuple[Built, dict[Any, int]]:
    """In a worker: the cells of one group of sheets, compressed, and the style indices they used."""
    workbook = xlsxwriter.Workbook(io.BytesIO(), BOOK_OPTIONS)  # never closed: only its styles are used
    book = Book(workbook)
    styles = Styles(workbook, ctx.template)
    with gc_paused():
        for writer in PARALLEL_GROUPS[group]:
            writer(book, styles, ctx)
    built = {name: (data.deflated(), data.last_row, data.last_col) for name, data in book.data.items()}
    return built, dict(workbook.xf_format_indices)


def _take(book: Book, workbook: Workbook, built: Built, indices: dict[Any, int]) -> None:
    """A worker's cells into the deferred sheets, checked against what this process laid out."""
    if any(workbook.xf_format_indices.get(key) != index for key, index in indices.items()):
        raise RuntimeError("a worker numbered the cell styles differently: a format is not made in Styles")
    for name, (cells, last_row, last_col) in built.items():
        data = book.data[name]
        if not data.deferred or (data.last_row, data.last_col) != (last_row, last_col):
            raise RuntimeError(f"the '{name}' sheet built by a worker does not match its layout")
        data.compressed = cells


def _properties(ctx: Context) -> dict[str, Any]:
    return {
        "title": f"{ctx.plan.title}: master tracker {ctx.cycle}",
        "subject": f"{ctx.template.title}, {ctx.cycle}",
        "author": f"xlplan {__version__}",
        "company": ctx.plan.title,
        "comments": f"Rendered from the plan and the ledger on {ctx.rendered_at:%d/%m/%Y %H:%M}.",
        "created": ctx.rendered_at,
    }


class Styles:
    """The formats the master uses, made once per workbook."""

    def __init__(self, book: Workbook, template: Template) -> None:
        base = {"valign": "top", "border": 1, "border_color": BORDER, "font_size": 10}
        self.title = book.add_format({"bold": True, "font_size": 15, "font_color": NAVY})
        self.subtitle = book.add_format({"font_size": 10, "font_color": "#404040"})
        self.section = book.add_format(
            {"bold": True, "font_size": 12, "font_color": NAVY, "bottom": 2, "bottom_color": NAVY}
        )
        self.note = book.add_format({"italic": True, "font_color": GREY_TEXT, "font_size": 10})
        head = {**base, "bold": True, "font_color": "#FFFFFF", "text_wrap": True}
        self.head = book.add_format({**head, "bg_color": NAVY})
        self.head_edit = book.add_format({**head, "bg_color": TEAL})
        self.group = book.add_format({**base, "bold": True, "bg_color": PALE})
        self.text = book.add_format({**base, "text_wrap": True})
        self.text_nowrap = book.add_format(base)
        self.integer = book.add_format({**base, "num_format": "#,##0"})
        self.decimal = book.add_format({**base, "num_format": "#,##0.00"})
        self.date = book.add_format({**base, "num_format": "dd/mm/yyyy"})
        self.datetime = book.add_format({**base, "num_format": "dd/mm/yyyy hh:mm"})
        self.flag = book.add_format({**base, "bold": True, "bg_color": FLAG})
        self.worse = book.add_format({**base, "bold": True, "font_color": "#C00000"})
        self.better = book.add_format({**base, "bold": True, "font_color": "#00703C"})
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
        self.dash_subtitle = book.add_format({"font_size": 11, "font_color": "#404040"})
        self.dash_head = book.add_format({**head, **centre, "bg_color": NAVY})
        self.dash_head_left = book.add_format({**head, "valign": "vcenter", "bg_color": NAVY})
        self.dash_group = book.add_format({**base, "valign": "vcenter", "text_wrap": True})
        self.dash_definition = book.add_format({**base, "text_wrap": True, "font_size": 9, "valign": "vcenter"})
        self.dash_group_short = book.add_format({**base, "valign": "vcenter", "bold": True})
        self.dash_count = book.add_format({**cell, "num_format": "#,##0;-#,##0;\u2013"})
        self.dash_change = book.add_format({**cell, "num_format": "+#,##0;-#,##0;\u2013"})
        total = {**cell, "bold": True, "bg_color": PALE, "top": 2, "top_color": NAVY}
        self.dash_total = book.add_format({**total, "num_format": "#,##0;-#,##0;\u2013"})
        self.dash_total_label = book.add_format({**total, "align": "left"})
        self.dash_status_head = {
            value: book.add_format({**head, **centre, "bg_color": fmt.bg_color, "font_color": fmt.font_color})
            for value, fmt in self.status.items()
        }
        self.dash_status_label = {
            value: book.add_format({**cell, "bold": True, "bg_color": fmt.bg_color, "font_color": fmt.font_color})
            for value, fmt in self.status.items()
        }
        self.dash_plain_label = book.add_format({**cell, "bold": True, "bg_color": PALE})
        self.book = book
        self._tiles: dict[tuple[str, str], tuple[Format, Format]] = {}
        # Numbered now, in the order made: a worker building some sheets (`_build`) then
        # gives every style the number it has here, whichever sheets use it first.
        for fmt in book.formats:
            xf(fmt)

    def tile(self, fill: str, font: str) -> tuple[Format, Format]:
        """(figure, caption) formats of a dashboard tile in these colours."""
        if (fill, font) not in self._tiles:
            tile = {"bg_color": fill, "font_color": font, "align": "center", "border": 1, "border_color": "#FFFFFF"}
            self._tiles[fill, font] = (
                self.book.add_format({**tile, "bold": True, "font_size": 22, "valign": "vcenter"}),
                self.book.add_format({**tile, "font_size": 10, "valign": "top", "text_wrap": True}),
            )
        return self._tiles[fill, font]


# --- writing cells -------------------------------------------------------------


def _as_date(value: Any) -> date | None:
    """A date from the ledger: a date, or JSON's ISO text for a date-typed column."""
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


def _as_datetime(value: Any) -> datetime | None:
    """A timestamp such as the ledger's `2025-09-01T10:00:00+01:00`, as local wall time."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=None, microsecond=0)
    except ValueError:
        return None


def _writer(col: Col, styles: Styles, c: int) -> CellXml:
    """How column `c`'s values become cells: by its kind, and otherwise as text.

    Made once per column, so the loop over 50,000 rows does one call per cell. Text is
    always an inline string: never a formula, a link or a number.
    """
    start = cell_start(c)
    plain = text_style(xf(styles.text if col.wrap else styles.text_nowrap))
    coloured = {value: text_style(xf(fmt)) for value, fmt in col.by_value.items()}
    limit = col.limit
    half = limit >> 1  # text no longer than this fits whatever it holds (Excel counts UTF-16 units)
    integer, decimal, day, moment = (
        f'" s="{xf(f)}"><v>' for f in (styles.integer, styles.decimal, styles.date, styles.datetime)
    )

    def text(n: int, value: Any) -> str:
        if type(value) is not str:
            value = format_value(value) or " "
        mids = coloured.get(value, plain)
        if not (
            (len(value) <= half or fits(value, limit)) and value.isprintable() and "&" not in value and "<" not in value
        ):
            return text_cell(start, n, mids, xml_text(value, limit))
        if ">" in value or "_x" in value or value[0] <= " " or value[-1] <= " ":
            return text_cell(start, n, mids, xml_text(value, limit))
        return f"{start}{n}{mids[0]}{value}</t></is></c>"  # most cells: what text_cell would say, inline

    def number(n: int, value: Any) -> str:
        if type(value) in (int, float) and math.isfinite(value):
            return f"{start}{n}{integer if value == int(value) else decimal}{value!r}</v></c>"
        return text(n, value)

    def as_date(n: int, value: Any) -> str:
        typed = _as_date(value)
        serial = excel_serial(typed) if typed else None
        return f"{start}{n}{day}{serial}</v></c>" if serial else text(n, value)

    def as_datetime(n: int, value: Any) -> str:
        typed = _as_datetime(value)
        serial = excel_serial(typed.date()) if typed else None
        if not typed or not serial:
            return text(n, value)
        fraction = (typed.hour * 3600 + typed.minute * 60 + typed.second) / 86400
        return f"{start}{n}{moment}{serial + fraction!r}</v></c>"

    return {"number": number, "date": as_date, "datetime": as_datetime}.get(col.kind, text)


def _writers(cols: Sequence[Col], styles: Styles) -> list[CellXml]:
    return [_writer(col, styles, c) for c, col in enumerate(cols)]


def _styled(fmt: Format, width: int = 1, limit: int = CELL_LIMIT) -> list[CellXml]:
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


def _wrapped(cols: Sequence[Col]) -> list[tuple[int, int, int]]:
    """(index, characters per line, limit) of the columns whose text wraps, for `_row_height`."""
    return [
        (c, int(max(col.width * 1.15, 4)), col.limit)
        for c, col in enumerate(cols)
        if col.kind == "text" and col.wrap and not col.by_value  # statuses and flags are short
    ]


def _titles(data: SheetData, styles: Styles, ctx: Context, about: str) -> None:
    """The title rows every sheet starts with."""
    data.write(0, _styled(styles.title), [f"{ctx.plan.title}: Master tracker, {ctx.cycle}"], 20)
    data.write(1, _styled(styles.subtitle), [f"{about} Rendered {ctx.rendered_at:%d/%m/%Y %H:%M}."])


def _header(ws: Worksheet | None, data: SheetData, styles: Styles, row: int, cols: Sequence[Col]) -> None:
    """The header row, tall enough for its longest heading; the column widths too, given `ws`."""
    if ws is not None:
        for c, col in enumerate(cols):
            ws.set_column(c, c, col.width)
    head, edit = _styled(styles.head, len(cols)), _styled(styles.head_edit, len(cols))
    lines = max((math.ceil(len(col.header) / max(col.width - 1, 4)) for col in cols), default=1)
    data.write(
        row,
        [(edit if col.editable else head)[c] for c, col in enumerate(cols)],
        [col.header for col in cols],
        max(30, LINE_HEIGHT * lines + 4),
    )


def _rows(data: SheetData, styles: Styles, first: int, cols: Sequence[Col], rows: Sequence[Sequence[Any]]) -> int:
    """Write `rows` from row `first` on, each tall enough for its text; return the last row."""
    writers = _writers(cols, styles)
    wrapped = _wrapped(cols)
    row = first - 1
    for values in rows:
        row += 1
        data.write(row, writers, values, wrapped=wrapped)
    return row


def _table(ws: Worksheet, cols: Sequence[Col], last_row: int) -> None:
    """Freeze the header, filter it, print from it on. The sheet's print area starts
    at the header row: printed pages carry the title and date."""
    last_row = max(last_row, HEADER_ROW + 1)
    ws.freeze_panes(HEADER_ROW + 1, 1)
    ws.autofilter(HEADER_ROW, 0, last_row, len(cols) - 1)
    ws.hide_gridlines(0)
    ws.print_area(HEADER_ROW, 0, last_row, len(cols) - 1)


def _print_setup(ws: Worksheet, ctx: Context, repeat_to: int = HEADER_ROW) -> None:
    ws.set_landscape()
    ws.set_paper(9)  # A4
    ws.fit_to_pages(1, 0)  # one page wide, as many tall as needed
    ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
    ws.repeat_rows(0 if repeat_to < HEADER_ROW else HEADER_ROW, repeat_to)
    _page_header(ws, ctx)


def _page_header(ws: Worksheet, ctx: Context) -> None:
    title = f"{ctx.plan.title}: master tracker {ctx.cycle}"[:120].replace("&", "&&")
    ws.set_header(f"&L&8{title.replace('&', '&&')}&R&8&A")  # & starts a header code
    ws.set_footer(f"&L&8Rendered {ctx.rendered_at:%d/%m/%Y %H:%M} by xlplan&R&8Page &P of &N")


def _none(data: SheetData, styles: Styles, row: int, text: str = "None") -> None:
    data.write(row, _styled(styles.note), [text])


def _section(data: SheetData, styles: Styles, row: int, heading: str, width: int) -> None:
    """A heading across `width` columns, underlined in navy."""
    data.write(row, _styled(styles.section, width), [heading, *[BLANK] * (width - 1)])


def _section_table(
    data: SheetData,
    styles: Styles,
    row: int,
    heading: str,
    cols: Sequence[Col],
    rows: Sequence[Sequence[Any]],
    width: int,
    about: str = "",
    empty: str = "None",
) -> int:
    """A heading with its count, a line about it, then a table or `empty`; return the row after."""
    _section(data, styles, row, f"{heading} ({len(rows):,})", width)
    if about:
        row += 1
        _none(data, styles, row, about)
    row += 1
    if not rows:
        _none(data, styles, row, empty)
        return row + 2
    _header(None, data, styles, row, cols)
    return _rows(data, styles, row + 1, cols, rows) + 2


# --- shared columns and values ---------------------------------------------------


def _movement_col(styles: Styles, width: float) -> Col:
    return Col("Movement", width, by_value={"worsened": styles.worse, "improved": styles.better})


def _kind(column_type: str) -> str:
    return column_type if column_type in ("number", "date") else "text"


def _colours(col: Column, styles: Styles) -> Mapping[str, Format]:
    return styles.choice.get(col.choices, {}) if col.choices else {}


def _items_by_ref(ctx: Context) -> dict[str, dict[str, Any]]:
    key = ctx.template.plan.key
    return {item[key]: item for item in ctx.plan.items}


def _sponsor(ctx: Context, item: Mapping[str, Any]) -> str:
    key = ctx.sponsor_key
    return str(item.get(key) or "") if key else ""


def _last_known(ctx: Context, ref: str) -> str | None:
    """The status last reported before this cycle, however many cycles ago."""
    per_cycle = ctx.history.get(ref) or {}
    earlier = [c for c in per_cycle if c < ctx.cycle and per_cycle[c]]
    return per_cycle[max(earlier)] if earlier else None


def _cycles_at(ctx: Context, ref: str, statuses: Sequence[str]) -> int:
    """Consecutive cycles, up to and including this one, reported at one of `statuses`."""
    per_cycle = ctx.history.get(ref) or {}
    count = 0
    for cycle in reversed(ctx.cycles):
        if per_cycle.get(cycle) not in statuses:
            break
        count += 1
    return count


def _date_or_none(value: Any) -> date | None:
    try:
        return parse_date(value)
    except ValueError:
        return None


# --- 1. Dashboard ----------------------------------------------------------------

DASH_GROUP_WIDTH = 46  # the group's name, or its short name and the rest of it:
DASH_SHORT_WIDTHS = (13, 33)  # "Big Action 1" | "Reducing Inequalities by ..."
DASH_COUNT_WIDTH = 9.5
DASH_GAP_WIDTH = 2.5
DASH_MIX_WIDTHS = (14, 10, 10, 9)  # status, last cycle, this cycle, change
PIXELS_PER_ROW = 20
DEFAULT_ROW_HEIGHT = 15.0  # points
CHART_HEIGHT = 340


def _sheet_dashboard(book: Book, styles: Styles, ctx: Context) -> Worksheet:
    """One A4 page for the SPG: key figures, status by group (table and chart), this
    cycle's status mix against the last. Native Excel charts drawn from its own cells."""
    ws = book.workbook.add_worksheet("Dashboard")
    s = ctx.summary
    statuses = s.statuses
    group_header = ctx.plan_header(ctx.group_key, "Group")
    short = _short_names([g or "(none)" for g in s.groups])
    # Columns: group (1 or 2) | statuses... | No update | Total | gap | status | last | this | change
    group_widths = list(DASH_SHORT_WIDTHS) if short else [DASH_GROUP_WIDTH]
    first = len(group_widths)  # the first count column
    total_col = first + len(statuses) + 1
    mix = total_col + 2
    widths = [*group_widths, *[DASH_COUNT_WIDTH] * (len(statuses) + 2), DASH_GAP_WIDTH, *DASH_MIX_WIDTHS]
    for c, width in enumerate(widths):
        ws.set_column(c, c, width)
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
    wrap_at = max(int(group_widths[-1] * 1.15), 4)
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
            heights[row] = LINE_HEIGHT * min(lines, 4) + 3
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
    note_row = max(charts_row + math.ceil(CHART_HEIGHT / PIXELS_PER_ROW), row) + 1
    ws.write_string(note_row, 0, _dashboard_note(ctx), styles.note)
    return _finish_dashboard(ws, ctx, note_row, last_col)


def _finish_dashboard(ws: Worksheet, ctx: Context, last_row: int, last_col: int) -> Worksheet:
    """No gridlines; one A4 landscape page; the sheet the workbook opens on."""
    ws.hide_gridlines(2)
    ws.set_landscape()
    ws.set_paper(9)  # A4
    ws.center_horizontally()
    ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
    ws.fit_to_pages(1, 1)
    ws.print_area(0, 0, last_row, last_col)
    _page_header(ws, ctx)
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
        ws.set_row(row, LINE_HEIGHT * max(lines, 1) + 3)
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
        parts.append(f"Strategic Planning Group {long_date(s.spg_date)}")
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
    tiles = [(f"{received} of {expected}", f"{label} returns received ({chase})", NAVY, "#FFFFFF")]
    if ctx.due_key:
        tiles.append((f"{len(gaps.overdue):,}", f"{ctx.items_label.lower()} past their due date", NAVY, "#FFFFFF"))
    choices = ctx.template.status_choices
    for status in ctx.attention:
        choice = choices.get(status) if choices else None
        n = sum(1 for g in gaps.attention if g.status == status)
        fill, font = (choice.fill, choice.font) if choice else (NAVY, "#FFFFFF")
        tiles.append((f"{n:,}", f"{ctx.items_label.lower()} at {status}", fill, font))
    if ctx.complete:
        choice = choices.get(ctx.complete) if choices else None
        n = s.totals.get(ctx.complete, 0)
        fill, font = (choice.fill, choice.font) if choice else (NAVY, "#FFFFFF")
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
                "border": {"color": "#FFFFFF", "width": 0.75},
                "gap": 60,
            }
        )
    group = ctx.plan_header(ctx.group_key, "group")
    chart.set_title({"name": f"{ctx.status_header} by {group}", "name_font": {"size": 11, "color": NAVY}})
    chart.set_legend({"position": "bottom", "font": {"size": 9}})
    chart.set_x_axis({"num_font": {"size": 8}, "major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}}})
    # Bars read top down in the table's order; the value axis stays at the bottom.
    chart.set_y_axis({"reverse": True, "crossing": "max", "num_font": {"size": 8}})
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
    chart.set_y_axis({"num_font": {"size": 8}, "major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}}})
    chart.set_chartarea({"border": {"color": BORDER}})
    return chart


def _dashboard_note(ctx: Context) -> str:
    counted = f"{len(ctx.plan.items):,} {ctx.items_label.lower()} in the plan"
    return (
        f"{counted}. {NO_UPDATE}: no {ctx.status_header} in a merged return this cycle. "
        "Details: Risk register, Changes since last cycle, Proposed changes to timescales, Gaps."
    )


# --- 2. Risk register --------------------------------------------------------------


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
        cols.append(Col(ctx.plan_header(ctx.sponsor_key, "Sponsor"), 16))
    cols += [Col(c.header, min(c.width, 16), _kind(c.type)) for c in rows.columns if c.key in plan_keys]
    cols += [
        Col(ctx.status_header, 10, by_value=colours, editable=True),
        Col(f"Cycles at {attention}", 10, "number"),
        _movement_col(styles, 11),
        Col(_last_status_header(ctx), 11, by_value=colours),
    ]
    cols += [Col(c.header, 12, "date", editable=True) for c in dated]
    cols += [Col(c.header, 40 if i == 0 else 32, editable=True) for i, c in enumerate(texts)]
    return cols, plan_keys, [c.key for c in dated + texts]


def _sheet_risk_register(book: Book, styles: Styles, ctx: Context) -> Worksheet | None:
    if not ctx.status_key:
        return None
    ws, data = book.add_sheet("Risk register")
    attention = " or ".join(ctx.attention)
    if not ctx.attention:
        _titles(data, styles, ctx, "Actions needing the SPG's attention.")
        _none(data, styles, HEADER_ROW, "This kind of return names no status needing attention.")
        _print_setup(ws, ctx, repeat_to=1)
        return ws
    _titles(
        data,
        styles,
        ctx,
        f"{ctx.items_label} at {attention} this cycle, worst first, then longest at {attention} "
        f"(consecutive cycles up to this one). Notes over {TEXT_LIMIT} characters are cut (…).",
    )
    cols, plan_keys, input_keys = _risk_cols(ctx, styles)
    _header(ws, data, styles, HEADER_ROW, cols)
    items = _items_by_ref(ctx)
    order = {s: i for i, s in enumerate(ctx.status_order)}
    found: list[tuple[int, int, list[Any]]] = []
    for gap in ctx.gaps.attention:
        item = items.get(gap.ref, {})
        now = ctx.current.get(gap.ref) or {}
        cycles = _cycles_at(ctx, gap.ref, ctx.attention)
        values: list[Any] = [gap.ref, gap.action]
        if ctx.sponsor_key:
            values.append(gap.sponsor)
        values += [item.get(k) for k in plan_keys]
        values += [gap.status, cycles, gap.movement, gap.last_status]
        values += [now.get(k) for k in input_keys]
        found.append((order.get(gap.status or "", len(order)), -cycles, values))
    found.sort(key=lambda f: (f[0], f[1]))  # stable: plan order within
    row = _rows(data, styles, HEADER_ROW + 1, cols, [values for *_, values in found])
    if not found:
        row += 1
        _none(data, styles, row, f"No {ctx.items_label.lower()} at {attention} this cycle.")
    _table(ws, cols, row)
    _print_setup(ws, ctx)
    return ws


# --- 3. Changes since last cycle -------------------------------------------------

CHANGE_WIDTHS = (11, 48, 22, 13, 13, 13, 44)


@dataclass(frozen=True)
class Section:
    heading: str
    cols: list[Col]
    rows: list[list[Any]]
    about: str = ""
    empty: str = "None"


def _sheet_changes(book: Book, styles: Styles, ctx: Context) -> Worksheet | None:
    if not ctx.status_key:
        return None
    ws, data = book.add_sheet("Changes since last cycle")
    since = f"since {ctx.previous_cycle}" if ctx.previous_cycle else "(no earlier cycle to compare with)"
    _titles(
        data,
        styles,
        ctx,
        f"What moved {since}. Every value a return changed, with who sent it and when, stays in the "
        f"ledger: `xlplan export audit --cycle {ctx.cycle}` writes that full audit trail.",
    )
    for c, width in enumerate(CHANGE_WIDTHS):
        ws.set_column(c, c, width)
    row = HEADER_ROW
    for section in _change_sections(ctx, styles):
        row = _section_table(
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

    _print_setup(ws, ctx, repeat_to=1)
    return ws


def _change_sections(ctx: Context, styles: Styles) -> list[Section]:
    """Status moves, completions and newly overdue actions, each as a Section."""
    w = CHANGE_WIDTHS
    items, label, key = ctx.items_label, ctx.label_key, ctx.template.plan.key
    colours, status, previous = styles.status, ctx.status_header, ctx.previous_cycle
    progress_key = _progress_key(ctx)
    base = [
        Col(ctx.plan_header(key, "Ref"), w[0]),
        Col(ctx.plan_header(label, "Action"), w[1]),
        Col(ctx.recipient_label, w[2]),
    ]
    progress = Col(ctx.input_header(progress_key, "Progress"), w[6], editable=True)
    if not ctx.status_key:
        return [Section(f"{status} moves", base, [], empty="This kind of return has no status.")]
    order, complete = ctx.status_order, ctx.complete
    moves: dict[str, list[list[Any]]] = {"worsened": [], "improved": []}
    others = {"unchanged": 0, "new": 0}  # counted, not listed
    completed: list[list[Any]] = []
    for item in ctx.plan.items:
        ref = item[key]
        now, before = ctx.status_of(ref), ctx.last_status_of(ref)
        move = movement(now, before, order)
        if move in others:
            others[move] += 1
        if move not in moves and (not complete or now != complete):
            continue
        line = [ref, item.get(label), _sponsor(ctx, item)]
        note = (ctx.current.get(ref) or {}).get(progress_key) if progress_key else None
        if move in moves:
            moves[move].append([*line, before, now, move, note])
        if complete and now == complete and (known := _last_known(ctx, ref)) != complete:
            completed.append([*line, known, now, item.get(ctx.due_key or ""), note])
    last_col = Col(f"{status} {previous}" if previous else f"Last {status}", w[3], by_value=colours)
    now_col = Col(f"{status} {ctx.cycle}", w[4], by_value=colours, editable=True)
    sections = []
    if previous:
        counted = {**{k: len(v) for k, v in moves.items()}, **others}
        counts = ", ".join(f"{n:,} {k}" for k, n in counted.items())
        sections.append(
            Section(
                f"{status} moves since {previous}",
                [*base, last_col, now_col, _movement_col(styles, w[5]), progress],
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


def _progress_key(ctx: Context) -> str | None:
    """The return's main note: the first editable text column of the rows sheet."""
    return next((c.key for c in ctx.template.rows_sheet.editable_columns if c.type == "text"), None)


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
    items = _items_by_ref(ctx)
    progress_key = _progress_key(ctx) or ""
    rows = []
    for gap in ctx.gaps.overdue:
        due = items.get(gap.ref, {}).get(due_key)
        before = ctx.previous.get(gap.ref) or {}
        revised_before = _date_or_none(before.get(revised_key)) if revised_key else None
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


# --- 4. Proposed changes to timescales ---------------------------------------------


def _sheet_timescales(book: Book, styles: Styles, ctx: Context) -> Worksheet | None:
    if ctx.revised_key is None:
        return None
    ws, data = book.add_sheet("Proposed changes to timescales")
    _titles(
        data,
        styles,
        ctx,
        "Revised due dates proposed in this cycle's returns, for the SPG to approve or not. "
        "The plan is unchanged: the plan workbook stays the officer's to change once the SPG has decided.",
    )
    due_key, revised_key = ctx.due_key, ctx.revised_key
    if revised_key is None:
        _none(data, styles, HEADER_ROW, "This kind of return has no revised date.")
        _print_setup(ws, ctx, repeat_to=1)
        return ws
    key, label = ctx.template.plan.key, ctx.label_key
    revised_header = ctx.input_header(revised_key, "Revised due date")
    progress_key = _progress_key(ctx)
    cols = [
        Col(ctx.plan_header(key, "Ref"), 9),
        Col(ctx.plan_header(label, "Action"), 44),
    ]
    if ctx.sponsor_key:
        cols.append(Col(ctx.plan_header(ctx.sponsor_key, "Sponsor"), 18))
    cols += [
        Col(f"{ctx.plan_header(due_key, 'Due date')} (plan)", 12, "date"),
        Col(f"Proposed {revised_header[0].lower()}{revised_header[1:]}", 13, "date", editable=True),
        Col("Days later", 9, "number"),
        Col(f"Proposed in {ctx.previous_cycle}" if ctx.previous_cycle else "Proposed before", 13, "date"),
    ]
    if ctx.status_key:
        cols.append(Col(ctx.status_header, 10, by_value=styles.status, editable=True))
    if progress_key:
        cols.append(Col(ctx.input_header(progress_key, "Progress"), 44, editable=True))
    cols.append(Col("SPG decision", 18))
    rows = []
    for item in ctx.plan.items:
        ref = item[key]
        now = ctx.current.get(ref) or {}
        proposed = _date_or_none(now.get(revised_key))
        due = item.get(due_key) if due_key else None
        if proposed is None or proposed == due:
            continue
        line: list[Any] = [ref, item.get(label)]
        if ctx.sponsor_key:
            line.append(_sponsor(ctx, item))
        earlier = _date_or_none((ctx.previous.get(ref) or {}).get(revised_key))
        line += [due, proposed, (proposed - due).days if isinstance(due, date) else None, earlier]
        if ctx.status_key:
            line.append(now.get(ctx.status_key))
        if progress_key:
            line.append(now.get(progress_key))
        line.append(None)
        rows.append(line)
    _header(ws, data, styles, HEADER_ROW, cols)
    row = _rows(data, styles, HEADER_ROW + 1, cols, rows)
    if not rows:
        row += 1
        _none(data, styles, row, "No revised due dates proposed this cycle.")
    _table(ws, cols, row)
    _print_setup(ws, ctx)
    return ws


# --- 5. Current status ---------------------------------------------------------


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
    cols = [Col(c.header, c.width, _kind(c.type)) for c in plan_cols]
    if len(plan_keys) > len(plan_cols):
        sponsor = template.plan.column(assign)
        cols.append(Col(sponsor.header, sponsor.width))
    cols += [Col(c.header, c.width, _kind(c.type), True, by_value=_colours(c, styles)) for c in inputs]
    if ctx.status_key:
        cols += [
            Col(_last_status_header(ctx), 12, by_value=styles.status),
            _movement_col(styles, 11),
        ]
    cols.append(Col("Updated", 9, by_value={"no": styles.flag}))
    return cols, plan_keys, inputs


def _last_status_header(ctx: Context) -> str:
    key = ctx.status_key
    prev = next(
        (c for c in ctx.template.rows_sheet.columns if c.source == "previous" and c.field == key),
        None,
    )
    header = prev.header if prev else f"Last {ctx.status_header}"
    return f"{header} ({ctx.previous_cycle})" if ctx.previous_cycle else header


def _items_built_here(data: SheetData, ctx: Context, width: int) -> list[dict[str, Any]]:
    """The plan's items, one row each; none when a worker builds this sheet's cells, whose
    rows are then only counted here (the table, filter and print area need where they end)."""
    if not data.deferred:
        return ctx.plan.items
    if ctx.plan.items:
        data.add(HEADER_ROW + len(ctx.plan.items), (), width)
    return []


def _sheet_current_status(book: Book, styles: Styles, ctx: Context) -> Worksheet:
    ws, data = book.add_sheet("Current status")
    _titles(
        data,
        styles,
        ctx,
        f"{ctx.items_label} of the plan beside this cycle's returns. Notes over {TEXT_LIMIT} characters are cut (…).",
    )
    cols, plan_keys, inputs = _status_cols(ctx, styles)
    _header(ws, data, styles, HEADER_ROW, cols)
    writers = _writers(cols, styles)
    wrapped = _wrapped(cols)
    input_keys = [c.key for c in inputs]
    key, status_key, order = ctx.template.plan.key, ctx.status_key, ctx.status_order
    blank_inputs: list[Any] = [None] * len(input_keys)
    row = HEADER_ROW
    for item in _items_built_here(data, ctx, len(cols)):
        row += 1
        ref = item[key]
        now = ctx.current.get(ref)
        values = [item.get(k) for k in plan_keys]
        if status_key:
            last = (ctx.previous.get(ref) or {}).get(status_key)
            if now is None:
                values += [*blank_inputs, last, "", "no"]
            else:
                status = now.get(status_key)
                values += [now.get(k) for k in input_keys]
                values += [last, movement(status, last, order) if status else "", "yes"]
        else:
            values += [*blank_inputs, "no"] if now is None else [*(now.get(k) for k in input_keys), "yes"]
        data.write(row, writers, values, wrapped=wrapped)
    _table(ws, cols, HEADER_ROW + len(ctx.plan.items))
    _print_setup(ws, ctx)
    return ws


# --- 6. Trend ------------------------------------------------------------------


def _sheet_trend(book: Book, styles: Styles, ctx: Context) -> Worksheet | None:
    if not ctx.status_key:
        return None
    ws, data = book.add_sheet("Trend")
    _titles(data, styles, ctx, f"{ctx.status_header} in each cycle, oldest first.")
    colours = styles.status
    key = ctx.template.plan.key
    cols = [
        Col(ctx.plan_header(key, "Ref"), 10, wrap=False),
        Col(ctx.plan_header(ctx.label_key, "Action"), 60, wrap=False),
        *[Col(cycle, 10, editable=cycle == ctx.cycle, by_value=colours) for cycle in ctx.cycles],
    ]
    _header(ws, data, styles, HEADER_ROW, cols)
    writers = _writers(cols, styles)
    cycles, label = ctx.cycles, ctx.label_key
    row = HEADER_ROW
    for item in _items_built_here(data, ctx, len(cols)):
        row += 1
        ref = item[key]
        per_cycle = ctx.history.get(ref) or {}
        data.write(row, writers, [ref, item.get(label), *[per_cycle.get(c) for c in cycles]])
    _table(ws, cols, HEADER_ROW + len(ctx.plan.items))
    ws.freeze_panes(HEADER_ROW + 1, 2)
    _print_setup(ws, ctx)
    return ws


# --- 7. Gaps -------------------------------------------------------------------


GAP_WIDTHS = (22, 48, 26, 16, 16, 44)


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
                _movement_col(styles, w[5]),
            ],
            rows(gaps.attention, "status", "last_status", "movement"),
        ),
        (
            f"{status} contradicted by the figures",
            [*base, status_col, Col("Detail", w[4] + w[5])],
            rows(gaps.contradictions, "status", "detail"),
        ),
    ]


def _missing_row(m: Missing) -> list[Any]:
    return [m.recipient, m.email, m.outcome, days_text(m.days_to_deadline)]


def _sheet_gaps(book: Book, styles: Styles, ctx: Context) -> Worksheet:
    ws, data = book.add_sheet("Gaps")
    _titles(data, styles, ctx, f"What to chase before the SPG, as of {ctx.gaps.as_of:%d/%m/%Y}.")
    for c, width in enumerate(GAP_WIDTHS):
        ws.set_column(c, c, width)
    row = HEADER_ROW - 1
    for heading, cols, found in _gap_sections(ctx, styles):
        row = _section_table(data, styles, row + 1, heading, cols, found, len(GAP_WIDTHS)) - 1

    _print_setup(ws, ctx, repeat_to=1)
    return ws


# --- 8. Feedback ---------------------------------------------------------------


def _groups_in_order(ctx: Context) -> list[str]:
    key = ctx.group_key
    groups = dict.fromkeys(str(i[key]) for i in ctx.plan.items if key and i.get(key))
    groups.update(dict.fromkeys(group for _, group in ctx.feedback))
    return list(groups)


def _sheet_feedback(book: Book, styles: Styles, ctx: Context) -> Worksheet:
    ws, data = book.add_sheet("Feedback")
    sheet = ctx.template.groups_sheet
    _titles(data, styles, ctx, f"{sheet.title if sheet else 'Feedback'} received this cycle, in full.")
    if sheet is None:
        _none(data, styles, HEADER_ROW, "This kind of return has no feedback sheet.")
        _print_setup(ws, ctx, repeat_to=1)
        return ws
    cols = [
        Col(ctx.recipient_label, 24, limit=CELL_LIMIT),
        *[Col(c.header, 60, editable=True, limit=CELL_LIMIT) for c in sheet.columns],
    ]
    _header(ws, data, styles, HEADER_ROW, cols)
    writers = _writers(cols, styles)
    wrapped = _wrapped(cols)
    band = _styled(styles.group, len(cols))
    fields = [c.key for c in sheet.columns]
    by_group: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for (recipient, group), values in ctx.feedback.items():
        if any(values.get(f) not in (None, "") for f in fields):
            by_group.setdefault(group, []).append((recipient, values))
    row = HEADER_ROW
    for group in _groups_in_order(ctx):
        row += 1
        # The group's name in its first cell, its band across the others (blank: it shows through).
        data.write(row, band, [group, *[BLANK] * (len(cols) - 1)], 18)
        received = by_group.get(group, [])
        if not received:
            row += 1
            _none(data, styles, row, "None received this cycle.")
        for recipient, values in received:
            row += 1
            line = [recipient, *[values.get(f) for f in fields]]
            data.write(row, writers, line, wrapped=wrapped)
    ws.freeze_panes(HEADER_ROW + 1, 0)

    _print_setup(ws, ctx)
    return ws


# --- 9. Returns ----------------------------------------------------------------


def _sheet_returns(book: Book, styles: Styles, ctx: Context) -> Worksheet:
    ws, data = book.add_sheet("Returns")
    _titles(data, styles, ctx, "Every return received, all cycles, oldest first.")
    cols = [
        Col("Cycle", 10),
        Col(ctx.recipient_label, 22),
        Col("File", 44),
        Col("Received", 16, "datetime"),
        Col("Outcome", 13, by_value={"quarantined": styles.flag}),
        Col("Errors", 8, "number"),
        Col("Warnings", 9, "number"),
        Col("SHA-256", 14, wrap=False),
    ]
    _header(ws, data, styles, HEADER_ROW, cols)
    rows = [
        [
            ret.cycle,
            ret.recipient,
            ret.file,
            ret.received_at,
            ret.outcome,
            ret.errors,
            ret.warnings,
            (ret.sha256 or "")[:12],
        ]
        for ret in ctx.returns
    ]
    row = _rows(data, styles, HEADER_ROW + 1, cols, rows)
    if not ctx.returns:
        row += 1
        _none(data, styles, row, "No returns received yet.")
    _table(ws, cols, row)
    _print_setup(ws, ctx)
    return ws


# --- 10. Ratings (a distribution summary) ------------------------------------------


def _sheet_ratings(book: Book, styles: Styles, ctx: Context) -> Worksheet | None:
    """Per item, how the respondents rated it (xlplan.ratings writes the sheet)."""
    if ctx.ratings is None:
        return None
    add_ratings_sheet(book.workbook, ctx.ratings)
    return book.workbook.get_worksheet_by_name(ctx.ratings.spec.sheet)


# The sheets, in order: what the SPG decides on first, then the detail behind it. A
# writer returns None, and adds no sheet, where its sheet is not for this kind of return.
SHEETS: tuple[SheetWriter, ...] = (
    _sheet_dashboard,
    _sheet_ratings,
    _sheet_risk_register,
    _sheet_changes,
    _sheet_timescales,
    _sheet_current_status,
    _sheet_trend,
    _sheet_gaps,
    _sheet_feedback,
    _sheet_returns,
)
# With several cores and a large plan, a worker process builds Current status (the
# biggest sheet by far) while this one writes the rest. Measured on two cores: giving the
# worker Trend too, or starting a second worker, left this process waiting.
PARALLEL_GROUPS: tuple[tuple[SheetWriter, ...], ...] = ((_sheet_current_status,),)
PARALLEL_FROM = 5_000  # items: below this, starting workers costs more than it saves
MASTER_LOST = (
    "the master tracker was not written, and the ledger has this run's returns "
    "(the next `xlplan collect` writes the master from it)"
)
