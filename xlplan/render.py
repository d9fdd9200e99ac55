"""Plan + ledger -> the master tracker workbook the Strategic Planning Group reads.

The master is rendered afresh from data every time with xlsxwriter: nothing is
loaded, modified and re-saved. Every value that came back in a return is untrusted,
so text always goes through ``write_string`` in a workbook opened with formula, URL
and number conversion off: a progress note "=1+1" or "@SUM(A1)" stays text.

The file is written beside the target and renamed into place (``files.atomic_path``).
If the master is open in Excel on Windows the rename fails; the tracker is then
written under a new name beside it, so the officer still gets this cycle's tracker.

Each sheet is one ``_sheet_<name>(book, styles, ctx)`` function listed in ``SHEETS``;
all the ledger reads happen once, up front, in ``gather``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
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
from xlplan.ledger import Ledger
from xlplan.plan import Plan
from xlplan.template import Column, Template
from xlplan.values import format_value

BOOK_OPTIONS = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
HEADER_ROW = 3  # 0-based: title, subtitle, a blank row, then the header
NAVY = "#1F3864"
TEAL = "#00695C"
BORDER = "#BFBFBF"
PALE = "#F2F2F2"
FLAG = "#FCE4D6"
MAX_ROW_HEIGHT = 409
LINE_HEIGHT = 13.5
FALLBACK_STATUS = "rag"  # only if a template names no summary status
FALLBACK_GROUP = "big_action"  # only if a template names no group_by column


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
    gaps: Gaps
    rendered_at: datetime
    previous_cycle: str | None
    current: dict[str, dict[str, Any]]  # ref -> this cycle's values
    previous: dict[str, dict[str, Any]]  # ref -> last cycle's values
    history: dict[str, dict[str, Any]]  # ref -> cycle -> status
    cycles: list[str]  # every cycle up to and including this one, in order
    audit: list[dict[str, Any]]
    feedback: dict[tuple[str, str], dict[str, Any]]  # (recipient, group) -> field -> text
    returns: list[dict[str, Any]]

    @property
    def template(self) -> Template:
        return self.plan.template

    @property
    def status_key(self) -> str:
        return self.template.status_column or FALLBACK_STATUS

    @property
    def status_order(self) -> list[str]:
        choices = self.template.status_choices
        return list(choices.names) if choices else []

    @property
    def status_header(self) -> str:
        col = self.template.rows_sheet.column(self.status_key)
        return col.header if col else self.status_key

    @property
    def recipient_label(self) -> str:
        return self.template.plan.recipient_label.capitalize()

    @property
    def items_label(self) -> str:
        return self.template.plan.items_sheet

    @property
    def label_key(self) -> str:
        """The plan column that says what an item is: the widest text column that is not
        the key, the group or the assignee (`action` in the implementation plan)."""
        spec = self.template.plan
        others = [
            c for c in spec.columns if c.type == "text" and c.key not in (spec.key, spec.group_by, spec.assign_by)
        ]
        return max(others, key=lambda c: c.width).key if others else spec.key

    def plan_header(self, key: str, default: str) -> str:
        col = next((c for c in self.template.plan.columns if c.key == key), None)
        return col.header if col else default


@dataclass(frozen=True)
class Col:
    """One column of a table: its header, width, how its values are written."""

    header: str
    width: float
    kind: str = "text"  # text | number | date | datetime
    editable: bool = False  # a value from this cycle's returns (teal header)
    wrap: bool = True
    by_value: Mapping[str, Format] = field(default_factory=dict)  # e.g. status -> colour


# --- the public entry point ----------------------------------------------------


def render_master(plan: Plan, ledger: Ledger, cycle: str, gaps: Gaps, target: Path | None = None) -> Rendered:
    """Write the master tracker for `cycle` to `target` (default: the plan folder's)."""
    if gaps.cycle != cycle:
        raise UsageError(f"The gaps given are for {gaps.cycle}, not {cycle}.")
    target = target or plan.folder.master_file
    ctx = gather(plan, ledger, cycle, gaps)
    try:
        _write_book(target, ctx)
        return Rendered(target, fallback=False)
    except MasterLocked:
        pass  # the master is open in Excel: leave it as it is and write a new file beside it
    other = fallback_path(target, cycle, ctx.rendered_at)
    _write_book(other, ctx)
    return Rendered(other, fallback=True)


def fallback_path(target: Path, cycle: str, when: datetime) -> Path:
    """`master-tracker (2025-Q3 20250920-141500).xlsx` beside `target`."""
    stem = safe_filename(f"{target.stem} ({cycle} {when:%Y%m%d-%H%M%S})", limit=120)
    return target.with_name(stem + (target.suffix or ".xlsx"))


def gather(plan: Plan, ledger: Ledger, cycle: str, gaps: Gaps) -> Context:
    template = plan.template
    sheet = template.rows_sheet.name
    status_key = template.status_column or FALLBACK_STATUS
    previous_cycle = ledger.previous_cycle(cycle)
    current = ledger.latest_by_ref(cycle, sheet)
    previous = ledger.latest_by_ref(previous_cycle, sheet) if previous_cycle else {}
    history = ledger.history(sheet, status_key)
    # Trend shows this cycle and the last as Current status and Gaps do, even where
    # joint sponsors disagree and history() would pick the other one.
    _overlay(history, cycle, current, status_key)
    if previous_cycle:
        _overlay(history, previous_cycle, previous, status_key)
    groups = template.groups_sheet
    return Context(
        plan=plan,
        cycle=cycle,
        gaps=gaps,
        rendered_at=_now(),
        previous_cycle=previous_cycle,
        current=current,
        previous=previous,
        history=history,
        cycles=_cycles_up_to(cycle, ledger.cycles(), history),
        audit=ledger.audit(cycle),
        feedback=ledger.entries(cycle, groups.name) if groups else {},
        returns=ledger.returns(),
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

SheetWriter = Callable[[Workbook, "Styles", Context], Worksheet]


def _write_book(path: Path, ctx: Context) -> None:
    try:
        with atomic_path(path) as tmp:
            book = xlsxwriter.Workbook(str(tmp), BOOK_OPTIONS)
            styles = Styles(book, ctx.template)
            for writer in SHEETS:
                writer(book, styles, ctx)
            book.set_properties(_properties(ctx))
            book.close()
    except OutputError as exc:  # only atomic_path raises it: the rename into place failed
        raise MasterLocked(str(exc)) from exc
    except (OSError, XlsxWriterException) as exc:
        raise OutputError(f"Cannot write {path}: {getattr(exc, 'strerror', None) or exc}.") from exc


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
        self.note = book.add_format({"italic": True, "font_color": "#595959", "font_size": 10})
        head = {**base, "bold": True, "font_color": "#FFFFFF", "text_wrap": True}
        self.head = book.add_format({**head, "bg_color": NAVY})
        self.head_edit = book.add_format({**head, "bg_color": TEAL})
        self.group = book.add_format({**base, "bold": True, "bg_color": PALE, "text_wrap": True})
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


CellWriter = Callable[[Worksheet, int, int, Any], None]


def _writer(col: Col, styles: Styles) -> CellWriter:
    """How one column's values are written: by its kind, and otherwise as text.

    Made once per column, so the loop over 50,000 rows does one call per cell. Text is
    always written with write_string: never a formula, a link or a number.
    """
    text_fmt = styles.text if col.wrap else styles.text_nowrap
    colours = dict(col.by_value)

    def text(ws: Worksheet, row: int, c: int, value: Any) -> None:
        if type(value) is str:
            ws.write_string(row, c, value, colours.get(value, text_fmt))
        else:
            ws.write_string(row, c, format_value(value), text_fmt)

    def number(ws: Worksheet, row: int, c: int, value: Any) -> None:
        if type(value) in (int, float) and math.isfinite(value):
            ws.write_number(row, c, value, styles.integer if value == int(value) else styles.decimal)
        else:
            text(ws, row, c, value)

    def day(ws: Worksheet, row: int, c: int, value: Any) -> None:
        typed = _as_date(value)
        if typed is None:
            text(ws, row, c, value)
        else:
            ws.write_datetime(row, c, typed, styles.date)

    def moment(ws: Worksheet, row: int, c: int, value: Any) -> None:
        typed = _as_datetime(value)
        if typed is None:
            text(ws, row, c, value)
        else:
            ws.write_datetime(row, c, typed, styles.datetime)

    return {"number": number, "date": day, "datetime": moment}.get(col.kind, text)


def _writers(cols: Sequence[Col], styles: Styles) -> list[CellWriter]:
    return [_writer(col, styles) for col in cols]


def _write_row(ws: Worksheet, row: int, writers: Sequence[CellWriter], values: Sequence[Any]) -> None:
    """Write one row; blank values are left as empty cells."""
    for c, value in enumerate(values):
        if value is not None and value != "":
            writers[c](ws, row, c, value)


def _wrapped(cols: Sequence[Col]) -> list[tuple[int, float]]:
    """(index, width) of the columns whose text wraps, for `_row_height`."""
    return [(c, col.width) for c, col in enumerate(cols) if col.kind == "text" and col.wrap]


def _row_height(values: Sequence[Any], wrap_widths: Sequence[tuple[int, float]]) -> float | None:
    """A height showing wrapped text in full (LibreOffice and print do not auto-fit)."""
    lines = 1
    for c, width in wrap_widths:
        text = values[c]
        if not isinstance(text, str) or (len(text) <= width and "\n" not in text):
            continue
        per_line = max(width * 1.15, 4)
        lines = max(lines, sum(max(1, math.ceil(len(part) / per_line)) for part in text.split("\n")))
    return None if lines == 1 else min(MAX_ROW_HEIGHT, LINE_HEIGHT * lines + 3)


def _titles(ws: Worksheet, styles: Styles, ctx: Context, about: str) -> None:
    """The title rows every sheet starts with."""
    ws.write_string(0, 0, f"{ctx.plan.title}: Master tracker, {ctx.cycle}", styles.title)
    ws.write_string(1, 0, f"{about} Rendered {ctx.rendered_at:%d/%m/%Y %H:%M}.", styles.subtitle)


def _header(ws: Worksheet, styles: Styles, row: int, cols: Sequence[Col]) -> None:
    for c, col in enumerate(cols):
        ws.set_column(c, c, col.width)
        ws.write_string(row, c, col.header, styles.head_edit if col.editable else styles.head)
    ws.set_row(row, 30)


def _table(ws: Worksheet, cols: Sequence[Col], last_row: int) -> None:
    """Freeze and filter the header. Print from the header down with gridlines, as blank
    cells have no borders; the page header and footer carry the title and date."""
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
    title = f"{ctx.plan.title}: master tracker {ctx.cycle}"[:120].replace("&", "&&")
    ws.set_header(f"&L&8{title}&R&8&A")
    ws.set_footer(f"&L&8Rendered {ctx.rendered_at:%d/%m/%Y %H:%M} by xlplan&R&8Page &P of &N")


def _none(ws: Worksheet, styles: Styles, row: int, text: str = "None") -> None:
    ws.write_string(row, 0, text, styles.note)


# --- 1. Current status ---------------------------------------------------------


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
    status_colours = styles.choice.get(_status_list(ctx), {})
    cols += [
        Col(_last_status_header(ctx), 12, by_value=status_colours),
        _movement_col(styles, 11),
        Col("Updated", 9, by_value={"no": styles.flag}),
    ]
    return cols, plan_keys, inputs


def _kind(column_type: str) -> str:
    return column_type if column_type in ("number", "date") else "text"


def _colours(col: Column, styles: Styles) -> Mapping[str, Format]:
    return styles.choice.get(col.choices, {}) if col.choices else {}


def _status_list(ctx: Context) -> str:
    choices = ctx.template.status_choices
    return choices.key if choices else FALLBACK_STATUS


def _last_status_header(ctx: Context) -> str:
    key = ctx.status_key
    prev = next(
        (c for c in ctx.template.rows_sheet.columns if c.source == "previous" and c.field == key),
        None,
    )
    header = prev.header if prev else f"Last {ctx.status_header}"
    return f"{header} ({ctx.previous_cycle})" if ctx.previous_cycle else header


def _sheet_current_status(book: Workbook, styles: Styles, ctx: Context) -> Worksheet:
    ws = book.add_worksheet("Current status")
    _titles(ws, styles, ctx, f"{ctx.items_label} of the plan beside this cycle's returns.")
    cols, plan_keys, inputs = _status_cols(ctx, styles)
    _header(ws, styles, HEADER_ROW, cols)
    writers = _writers(cols, styles)
    input_keys = [c.key for c in inputs]
    key, status_key, order = ctx.template.plan.key, ctx.status_key, ctx.status_order
    wrap = _wrapped(cols)
    blank_inputs: list[Any] = [None] * len(input_keys)
    row = HEADER_ROW
    for item in ctx.plan.items:
        row += 1
        ref = item.get(key)
        now = ctx.current.get(ref)
        last = ctx.previous.get(ref, {}).get(status_key)
        values = [item.get(k) for k in plan_keys]
        if now is None:
            values += [*blank_inputs, last, "", "no"]
        else:
            status = now.get(status_key)
            values += [now.get(k) for k in input_keys]
            values += [last, movement(status, last, order) if status else "", "yes"]
        _write_row(ws, row, writers, values)
        height = _row_height(values, wrap)
        if height:
            ws.set_row(row, height)
    _table(ws, cols, row)
    _print_setup(ws, ctx)
    return ws


# --- 2. Trend ------------------------------------------------------------------


def _sheet_trend(book: Workbook, styles: Styles, ctx: Context) -> Worksheet:
    ws = book.add_worksheet("Trend")
    _titles(ws, styles, ctx, f"{ctx.status_header} in each cycle, oldest first.")
    colours = styles.choice.get(_status_list(ctx), {})
    key = ctx.template.plan.key
    cols = [
        Col(ctx.plan_header(key, "Ref"), 10, wrap=False),
        Col(ctx.plan_header(ctx.label_key, "Action"), 60, wrap=False),
        *[Col(cycle, 10, editable=cycle == ctx.cycle, by_value=colours) for cycle in ctx.cycles],
    ]
    _header(ws, styles, HEADER_ROW, cols)
    writers = _writers(cols, styles)
    cycles, label = ctx.cycles, ctx.label_key
    row = HEADER_ROW
    for item in ctx.plan.items:
        row += 1
        ref = item.get(key)
        per_cycle = ctx.history.get(ref, {})
        _write_row(ws, row, writers, [ref, item.get(label), *[per_cycle.get(c) for c in cycles]])
    _table(ws, cols, row)
    ws.freeze_panes(HEADER_ROW + 1, 2)
    _print_setup(ws, ctx)
    return ws


# --- 3. Changes ----------------------------------------------------------------


def _field_types(template: Template) -> dict[tuple[str, str], Column]:
    return {(s.name, c.key): c for s in template.sheets for c in s.columns}


def _json_text(raw: str | None, column: Column | None) -> str:
    """An audit value as the text a person reads (dates as dd/mm/yyyy).

    The ledger stores values as JSON; text that is not JSON is shown as it is.
    """
    if raw is None:
        return ""
    value: Any = raw
    if isinstance(raw, str):  # Ledger.audit() gives values decoded already; older callers gave JSON
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw
    if column is not None and column.type == "date" and (day := _as_date(value)) is not None:
        return format_value(day)
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return format_value(value)


def _sheet_changes(book: Workbook, styles: Styles, ctx: Context) -> Worksheet:
    ws = book.add_worksheet("Changes")
    _titles(ws, styles, ctx, "Every value changed by this cycle's returns, in the order merged.")
    cols = [
        Col("When", 16, "datetime"),
        Col(ctx.recipient_label, 20),
        Col(ctx.plan_header(ctx.template.plan.key, "Ref"), 18),
        Col("Field", 24),
        Col("Old", 40),
        Col("New", 40, editable=True),
        Col("File", 30),
    ]
    _header(ws, styles, HEADER_ROW, cols)
    writers = _writers(cols, styles)
    columns = _field_types(ctx.template)
    wrap = _wrapped(cols)
    row = HEADER_ROW
    for change in ctx.audit:
        row += 1
        column = columns.get((change["sheet"], change["field"]))
        values = [
            change["at"],
            change["recipient"],
            change["ref"],
            column.header if column else change["field"],
            _json_text(change["old"], column),
            _json_text(change["new"], column),
            change["file"],
        ]
        _write_row(ws, row, writers, values)
        height = _row_height(values, wrap)
        if height:
            ws.set_row(row, height)
    if not ctx.audit:
        row += 1
        _none(ws, styles, row, "No changes merged this cycle.")
    _table(ws, cols, row)
    _print_setup(ws, ctx)
    return ws


# --- 4. Gaps -------------------------------------------------------------------


def days_text(days: int) -> str:
    """Days to the deadline as a person says it: "3 days to go", "5 days overdue"."""
    if days == 0:
        return "due today"
    count = abs(days)
    unit = "day" if count == 1 else "days"
    return f"{count} {unit} to go" if days > 0 else f"{count} {unit} overdue"


GAP_WIDTHS = (22, 48, 26, 16, 16, 44)


def _gap_sections(ctx: Context, styles: Styles) -> list[tuple[str, list[Col], list[list[Any]]]]:
    """(heading, columns, rows) for each kind of gap, in the order the SPG chases them."""
    gaps, items, status = ctx.gaps, ctx.items_label, ctx.status_header
    colours = styles.choice.get(_status_list(ctx), {})
    attention = ctx.template.summary.get("attention") or []
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
            [*base, status_col, Col(ctx.plan_header("due", "Due date"), w[4], "date"), detail],
            rows(gaps.overdue, "status", "due", "detail"),
        ),
        (
            f"{items} at {' or '.join(attention) or 'risk'}",
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


def _movement_col(styles: Styles, width: float) -> Col:
    return Col("Movement", width, by_value={"worsened": styles.worse, "improved": styles.better})


def _missing_row(m: Missing) -> list[Any]:
    return [m.recipient, m.email, m.outcome, days_text(m.days_to_deadline)]


def _sheet_gaps(book: Workbook, styles: Styles, ctx: Context) -> Worksheet:
    ws = book.add_worksheet("Gaps")
    _titles(ws, styles, ctx, f"What to chase before the SPG, as of {ctx.gaps.as_of:%d/%m/%Y}.")
    for c, width in enumerate(GAP_WIDTHS):
        ws.set_column(c, c, width)
    row = HEADER_ROW - 1
    for heading, cols, found in _gap_sections(ctx, styles):
        row += 1
        _section(ws, styles, row, f"{heading} ({len(found)})")
        row += 1
        if not found:
            _none(ws, styles, row)
            row += 1
            continue
        for c, col in enumerate(cols):
            ws.write_string(row, c, col.header, styles.head)
        writers = _writers(cols, styles)
        for values in found:
            row += 1
            _write_row(ws, row, writers, values)
        row += 1
    _print_setup(ws, ctx, repeat_to=1)
    return ws


def _section(ws: Worksheet, styles: Styles, row: int, heading: str) -> None:
    ws.write_string(row, 0, heading, styles.section)
    for c in range(1, len(GAP_WIDTHS)):
        ws.write_blank(row, c, None, styles.section)


# --- 5. Feedback ---------------------------------------------------------------


def _groups_in_order(ctx: Context) -> list[str]:
    key = ctx.template.plan.group_by or FALLBACK_GROUP
    groups = dict.fromkeys(str(i[key]) for i in ctx.plan.items if i.get(key))
    groups.update(dict.fromkeys(group for _, group in ctx.feedback))
    return list(groups)


def _sheet_feedback(book: Workbook, styles: Styles, ctx: Context) -> Worksheet:
    ws = book.add_worksheet("Feedback")
    sheet = ctx.template.groups_sheet
    _titles(ws, styles, ctx, f"{sheet.title if sheet else 'Feedback'} received this cycle.")
    if sheet is None:
        _none(ws, styles, HEADER_ROW, "This kind of return has no feedback sheet.")
        _print_setup(ws, ctx, repeat_to=1)
        return ws
    cols = [
        Col(ctx.recipient_label, 24),
        *[Col(c.header, 60, editable=True) for c in sheet.columns],
    ]
    _header(ws, styles, HEADER_ROW, cols)
    writers = _writers(cols, styles)
    fields = [c.key for c in sheet.columns]
    wrap = _wrapped(cols)
    by_group: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for (recipient, group), values in ctx.feedback.items():
        if any(values.get(f) not in (None, "") for f in fields):
            by_group.setdefault(group, []).append((recipient, values))
    row = HEADER_ROW
    for group in _groups_in_order(ctx):
        row += 1
        ws.merge_range(row, 0, row, len(cols) - 1, "", styles.group)
        ws.write_string(row, 0, group, styles.group)  # merged cells' text: always a string
        received = by_group.get(group, [])
        if not received:
            row += 1
            _none(ws, styles, row, "None received this cycle.")
        for recipient, values in received:
            row += 1
            line = [recipient, *[values.get(f) for f in fields]]
            _write_row(ws, row, writers, line)
            height = _row_height(line, wrap)
            if height:
                ws.set_row(row, height)
    ws.freeze_panes(HEADER_ROW + 1, 0)
    _print_setup(ws, ctx)
    return ws


# --- 6. Returns ----------------------------------------------------------------


def _sheet_returns(book: Workbook, styles: Styles, ctx: Context) -> Worksheet:
    ws = book.add_worksheet("Returns")
    _titles(ws, styles, ctx, "Every return received, all cycles, oldest first.")
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
    _header(ws, styles, HEADER_ROW, cols)
    writers = _writers(cols, styles)
    row = HEADER_ROW
    for ret in ctx.returns:
        row += 1
        values = [
            ret["cycle"],
            ret["recipient"],
            ret["file"],
            ret["received_at"],
            ret["outcome"],
            ret["errors"],
            ret["warnings"],
            (ret["sha256"] or "")[:12],
        ]
        _write_row(ws, row, writers, values)
    if not ctx.returns:
        row += 1
        _none(ws, styles, row, "No returns received yet.")
    _table(ws, cols, row)
    _print_setup(ws, ctx)
    return ws


# The sheets, in order. A Dashboard or Risk register is one more function here.
SHEETS: tuple[SheetWriter, ...] = (
    _sheet_current_status,
    _sheet_trend,
    _sheet_changes,
    _sheet_gaps,
    _sheet_feedback,
    _sheet_returns,
)
