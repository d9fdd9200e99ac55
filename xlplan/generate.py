"""Plan + template + last cycle's values -> one protected return workbook per recipient.

Written with xlsxwriter from data every time: nothing is loaded and re-saved. All
text goes through ``write_string`` in a workbook opened with formula and URL
conversion off, so a plan text starting with "=" or "@" stays text.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.utility import xl_rowcol_to_cell
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from xlplan import __version__
from xlplan.errors import OutputError, UsageError, XlplanError
from xlplan.files import atomic_path, safe_filename
from xlplan.issues import Issue
from xlplan.ledger import Ledger
from xlplan.manifest import PREFIX, SHEET, Manifest, fingerprint, sheet_rows
from xlplan.plan import Plan
from xlplan.sheetxml import (
    BOOK_OPTIONS,
    CELL_LIMIT,
    SheetData,
    blank_cell,
    cell_start,
    date_cell,
    number_cell,
    pack,
    text_cell,
    text_style,
    xf,
    xml_text,
)
from xlplan.template import Column, Sheet, Template
from xlplan.values import format_value, long_date
from xlplan.workers import chunks, default_jobs, gc_paused, map_tasks

DEADLINE_BEFORE_SPG = timedelta(weeks=3)  # SOP: returns due 3 weeks before the SPG meets
HEADER_ROW = 3  # 0-based: title, subtitle, a blank row, then the header
NAVY = "#1F3864"
TEAL = "#00695C"
LOCKED_FILL = "#EDEDED"
OFF_FILL = "#D0D0D0"  # a locked row (spec: locked_rows): darker than a locked column
OFF_FONT = "#595959"
EDIT_FILL = "#FFFBEA"
BORDER = "#BFBFBF"


@dataclass
class Annotations:
    """A sponsor's own values and the issues found in them, for an annotated copy."""

    filled: dict[str, dict[str, Any]]  # ref -> column key -> value as the sponsor typed it
    issues: list[Issue]
    groups: dict[str, dict[str, str]] = field(default_factory=dict)  # group -> field -> text

    def cell_issues(self) -> dict[tuple[str, str], list[Issue]]:
        out: dict[tuple[str, str], list[Issue]] = {}
        for issue in self.issues:
            if issue.ref and issue.field and issue.severity != "note":
                out.setdefault((issue.ref, issue.field), []).append(issue)
        return out


@dataclass
class Generated:
    files: list[tuple[str, Path, int]] = field(default_factory=list)  # recipient, path, items
    skipped: list[tuple[str, str]] = field(default_factory=list)  # recipient, why
    deadline: date | None = None
    outbox: Path | None = None


def default_deadline(spg_date: date) -> date:
    return spg_date - DEADLINE_BEFORE_SPG


def validate_cycle(cycle: str) -> str:
    """Cycles are names such as 2025-Q3 that sort in time order."""
    import re

    if not re.fullmatch(r"\d{4}-(Q[1-4]|H[12]|0[1-9]|1[0-2])", cycle):
        raise UsageError(f"Cycle '{cycle}' should look like 2025-Q3 (year, dash, quarter).")
    return cycle


def generate(
    plan: Plan,
    cycle: str,
    *,
    spg_date: date | None,
    deadline: date | None,
    password: str | None = None,
    only: list[str] | None = None,
    progress: Callable[[str], None] | None = None,
    jobs: int | None = None,
    record: bool = True,
) -> Generated:
    """Write this cycle's workbooks into outgoing/<cycle>/ and record the cycle in the ledger.

    The workbooks are written by `jobs` processes (default: one per core). With `record`
    False the ledger is only read: a workbook made again for a chaser is not a new issue.
    """
    validate_cycle(cycle)
    jobs = default_jobs() if jobs is None else max(1, jobs)
    if deadline is None:
        if spg_date is None:
            raise UsageError("Give --spg-date (the deadline is 3 weeks before it) or --deadline.")
        deadline = default_deadline(spg_date)
    outbox = plan.folder.outgoing_dir(cycle)
    try:
        outbox.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"Cannot create the folder {outbox}: {exc.strerror or exc}.") from exc
    result = Generated(deadline=deadline, outbox=outbox)
    template = plan.template
    rows_sheet = template.rows_sheet
    with Ledger(plan.folder.ledger_file) as ledger:
        previous = ledger.latest_before(cycle, rows_sheet.name)
        wanted = only or [r.name for r in plan.recipients]
        unknown = [n for n in wanted if plan.recipient(n) is None]
        if unknown:
            raise UsageError(f"Not on the plan's {template.plan.recipients_sheet} sheet: {', '.join(unknown)}.")
        generated_at = datetime.now().astimezone().isoformat(timespec="seconds")
        tasks: list[_ToWrite] = []
        for name in wanted:
            if not plan.items_for(name):
                result.skipped.append((name, f"no {template.plan.items_sheet.lower()} in the plan"))
                continue
            path = outbox / f"{safe_filename(f'{cycle} return - {name}')}.xlsx"
            tasks.append(_ToWrite(name, path, new_manifest(plan, name, cycle, deadline, generated_at)))
        context = _WriteContext(plan, previous, spg_date, password)
        for piece in map_tasks(_write_piece, context, chunks(tasks, jobs), jobs):
            for name, path, count in piece:
                if progress:
                    progress(name)
                result.files.append((name, path, count))
        if record:
            ledger.record_cycle(cycle, spg_date, deadline, [(n, p.name, k) for n, p, k in result.files])
    return result


@dataclass(frozen=True)
class _WriteContext:
    """What every workbook written in a worker shares."""

    plan: Plan
    previous: dict[str, dict[str, Any]]  # the cycle before's values, by ref
    spg_date: date | None
    password: str | None


@dataclass(frozen=True)
class _ToWrite:
    """One recipient's workbook to write."""

    recipient: str
    path: Path
    manifest: Manifest


def _write_piece(context: _WriteContext, piece: list[_ToWrite]) -> list[tuple[str, Path, int]]:
    """Write some recipients' workbooks (in a worker process, or here): (recipient, path, items) each."""
    c = context
    done = []
    with gc_paused():
        for task in piece:
            items = c.plan.items_for(task.recipient)
            write_return(task.path, c.plan, task.recipient, items, c.previous, task.manifest, c.spg_date, c.password)
            done.append((task.recipient, task.path, len(items)))
    return done


def new_manifest(plan: Plan, recipient: str, cycle: str, deadline: date, generated_at: str | None = None) -> Manifest:
    """The identity a workbook for `recipient` carries (fingerprints are added as rows are written)."""
    return Manifest(
        plan_id=plan.plan_id,
        template=plan.template.name,
        template_version=plan.template.version,
        recipient=recipient,
        cycle=cycle,
        deadline=deadline.isoformat(),
        generated_at=generated_at or datetime.now().astimezone().isoformat(timespec="seconds"),
    )


def row_values(column: Column, item: dict[str, Any], previous: dict[str, Any]) -> Any:
    """The value a locked column shows for an item: from the plan or last cycle."""
    if column.source == "plan":
        return item.get(column.key)
    if column.source == "previous":
        return previous.get(column.field or column.key)
    return None


def write_return(
    path: Path,
    plan: Plan,
    recipient: str,
    items: list[dict[str, Any]],
    previous: dict[str, dict[str, Any]],
    manifest: Manifest,
    spg_date: date | None,
    password: str | None,
    annotations: Annotations | None = None,
) -> None:
    template = plan.template
    key = template.plan.key
    locked = template.rows_sheet.locked_columns
    for item in items:
        prev = previous.get(item[key], {})
        manifest.fingerprints[item[key]] = [fingerprint(row_values(c, item, prev)) for c in locked]
    try:
        buffer = io.BytesIO()
        book = xlsxwriter.Workbook(buffer, BOOK_OPTIONS)
        styles = Styles(book, template)
        if annotations is not None and annotations.issues:
            _fix_sheet(book, styles, plan, manifest, annotations)
        _instructions(book, styles, plan, recipient, manifest, spg_date, password)
        actions, cells = _rows_sheet(
            book, styles, template.rows_sheet, template, items, previous, password, annotations
        )
        if template.groups_sheet is not None:
            groups_filled = annotations.groups if annotations else {}
            _groups_sheet(book, styles, template.groups_sheet, plan.groups_for(recipient), password, groups_filled)
        _manifest(book, manifest)
        if annotations is None or not annotations.issues:
            actions.activate()
        book.set_properties(
            {
                "title": f"{plan.title}: {manifest.cycle} return",
                "author": f"xlplan {__version__}",
                "subject": recipient,
                "company": plan.title,
            }
        )
        for name, value in manifest.identity().items():
            book.set_custom_property(PREFIX + name, value, "text")
        book.close()
        with atomic_path(path) as tmp:
            pack(buffer.getvalue(), tmp, {template.rows_sheet.name: cells})
    except (OSError, xlsxwriter.exceptions.FileCreateError) as exc:
        raise OutputError(f"Cannot write {path}: {getattr(exc, 'strerror', None) or exc}.") from exc


class Styles:
    """The formats a return uses, made once per workbook."""

    def __init__(self, book: Workbook, template: Template) -> None:
        base = {
            "valign": "top",
            "text_wrap": True,
            "border": 1,
            "border_color": BORDER,
            "font_size": 10,
        }
        self.title = book.add_format({"bold": True, "font_size": 15, "font_color": NAVY})
        self.subtitle = book.add_format({"font_size": 10, "font_color": "#404040"})
        self.bold = book.add_format({"bold": True, "valign": "top"})
        self.wrap = book.add_format({"text_wrap": True, "valign": "top"})
        self.section = book.add_format(
            {"bold": True, "font_size": 12, "font_color": NAVY, "bottom": 2, "bottom_color": NAVY}
        )
        self.head_locked = book.add_format({**base, "bold": True, "font_color": "#FFFFFF", "bg_color": NAVY})
        self.head_edit = book.add_format({**base, "bold": True, "font_color": "#FFFFFF", "bg_color": TEAL})
        self.label = book.add_format({**base, "bold": True, "bg_color": LOCKED_FILL})
        kinds = {
            "text": {},
            "choice": {},
            "number": {"num_format": "#,##0.##"},
            "date": {"num_format": "dd/mm/yyyy"},
        }
        self.locked = {k: book.add_format({**base, **v, "bg_color": LOCKED_FILL}) for k, v in kinds.items()}
        self.edit = {
            k: book.add_format({**base, **v, "bg_color": EDIT_FILL, "locked": False}) for k, v in kinds.items()
        }
        self.off = {
            k: book.add_format({**base, **v, "bg_color": OFF_FILL, "font_color": OFF_FONT, "italic": True})
            for k, v in kinds.items()
        }
        self.flag = {
            sev: {
                k: book.add_format(
                    {
                        **base,
                        **v,
                        "bg_color": fill,
                        "locked": False,
                        "border_color": edge,
                        "border": 2,
                    }
                )
                for k, v in kinds.items()
            }
            for sev, fill, edge in (
                ("error", "#FFC7CE", "#C00000"),
                ("warning", "#FFEB9C", "#BF8F00"),
            )
        }
        self.choice = {
            (list_key, c.value): book.add_format({"bg_color": c.fill, "font_color": c.font, "bold": True})
            for list_key, cl in template.choices.items()
            for c in cl.values
        }


def _typed_previous(column: Column, value: Any) -> Any:
    """Ledger values are JSON: turn ISO dates back into dates for date columns."""
    if column.type == "date" and isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return value
    return value


def _protect(ws: Worksheet, password: str | None) -> None:
    # True *allows* the action. Sorting is not offered: Excel refuses to sort locked cells.
    ws.protect(
        password or "",
        {
            "autofilter": True,
            "format_columns": True,
            "format_rows": True,
            "select_locked_cells": True,
            "select_unlocked_cells": True,
        },
    )


def _print_setup(ws: Worksheet, title: str, repeat_row: int | None = None) -> None:
    ws.set_landscape()
    ws.set_paper(9)  # A4
    ws.fit_to_pages(1, 0)
    ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
    ws.set_header(f"&L&8{title.replace('&', '&&')}&R&8&A")
    ws.set_footer("&L&8Generated by xlplan&R&8Page &P of &N")
    if repeat_row is not None:
        ws.repeat_rows(repeat_row)


def row_height(texts: Sequence[tuple[str, float]]) -> float | None:
    """A height that shows wrapped text in full (LibreOffice and print do not auto-fit)."""
    lines = 1
    for text, width in texts:
        chars_per_line = max(width * 1.15, 4)
        if len(text) <= chars_per_line and "\n" not in text:
            continue  # one line: most cells, and this costs far less than the sum below
        wrapped = sum(max(1, math.ceil(len(part) / chars_per_line)) for part in text.split("\n"))
        lines = max(lines, wrapped)
    return None if lines == 1 else min(409, 13.5 * lines + 3)


def _rows_sheet(
    book: Workbook,
    styles: Styles,
    sheet: Sheet,
    template: Template,
    items: list[dict[str, Any]],
    previous: dict[str, dict[str, Any]],
    password: str | None,
    annotations: Annotations | None = None,
) -> tuple[Worksheet, SheetData]:
    """The rows sheet: its cells as sheet XML (``sheetxml``), its structure through xlsxwriter."""
    ws = book.add_worksheet(sheet.name)
    data = SheetData()
    filled = annotations.filled if annotations else {}
    flagged = annotations.cell_issues() if annotations else {}
    key = template.plan.key
    columns = sheet.columns
    width = len(columns)
    data.add(0, [_text(0, 1, sheet.title, xf(styles.title))], width)
    data.add(1, [_text(0, 2, sheet.help, xf(styles.subtitle))], width)
    head = [xf(styles.head_edit if col.editable else styles.head_locked) for col in columns]
    for c, col in enumerate(columns):
        ws.set_column(c, c, col.width)
    data.add(HEADER_ROW, [_text(c, HEADER_ROW + 1, col.header, head[c]) for c, col in enumerate(columns)], width, 30)
    locked, edit, off_style = _style_ids(styles.locked), _style_ids(styles.edit), _style_ids(styles.off)
    flag = {severity: _style_ids(formats) for severity, formats in styles.flag.items()}
    first = HEADER_ROW + 1
    off_rows: list[int] = []  # rows the spec's locked_rows lock whole
    for r, item in enumerate(items, start=first):
        n = r + 1
        ref = item[key]
        prev = previous.get(ref, {})
        shown = {col.key: row_values(col, item, prev) for col in columns if not col.editable}
        off = sheet.row_locked(shown)
        if off:
            off_rows.append(r)
        mine = filled.get(ref, {})
        cells, texts = [], []
        for c, col in enumerate(columns):
            kind = col.type
            if col.editable:
                issues = flagged.get((ref, col.key))
                # A flagged cell stays editable even in a locked row: the fix is to clear it.
                style = flag[_worst(issues)][kind] if issues else (off_style if off else edit)[kind]
                cells.append(_cell(c, n, mine.get(col.key), kind, style))
                if issues:
                    note = "\n".join(f"{i.severity.upper()}: {i.message}" for i in issues)
                    ws.write_comment(r, c, note[:3000], {"x_scale": 3, "y_scale": 2.5, "author": "xlplan"})
                continue
            value = _typed_previous(col, shown[col.key])
            cells.append(_cell(c, n, value, kind, (off_style if off else locked)[kind]))
            texts.append((format_value(value), col.width))
        data.add(r, cells, width, row_height(texts))
    last = first + max(len(items), 1) - 1
    off_set = set(off_rows)
    open_rows = _runs([r for r in range(first, last + 1) if r not in off_set])
    for c, col in enumerate(sheet.columns):
        _validation(ws, open_rows, c, col, template)
        if col.choices:
            for choice in template.choices[col.choices].values:
                ws.conditional_format(
                    first,
                    c,
                    last,
                    c,
                    {
                        "type": "cell",
                        "criteria": "==",
                        "value": f'"{choice.value}"',
                        "format": styles.choice[(col.choices, choice.value)],
                    },
                )
    if off_rows:
        _locked_row_notes(ws, sheet, _runs(off_rows), template)
    ws.autofilter(HEADER_ROW, 0, last, len(sheet.columns) - 1)
    ws.freeze_panes(first, 1)
    _print_setup(ws, template.title, HEADER_ROW)
    ws.print_area(0, 0, last, len(sheet.columns) - 1)
    _protect(ws, password)
    return ws, data


def _style_ids(formats: dict[str, Any]) -> dict[str, int]:
    return {kind: xf(fmt) for kind, fmt in formats.items()}


def _text(c: int, n: int, text: str, style: int) -> str:
    return text_cell(cell_start(c), n, text_style(style), xml_text(text or " ", CELL_LIMIT))


def _cell(c: int, n: int, value: Any, kind: str, style: int) -> str:
    """One cell by its declared type; text is always an inline string, never a formula or a link."""
    start = cell_start(c)
    if value is None or value == "":
        return blank_cell(start, n, style)
    if kind == "date" and isinstance(value, date):
        cell = date_cell(start, n, style, value)  # None before 1900-03-01: written as text
        if cell is not None:
            return cell
    if kind == "number" and type(value) in (int, float) and math.isfinite(value):
        return number_cell(start, n, style, value)
    return text_cell(start, n, text_style(style), xml_text(format_value(value), CELL_LIMIT))


def _worst(issues: list[Issue]) -> str:
    return "error" if any(i.severity == "error" for i in issues) else "warning"


def _fix_sheet(book: Workbook, styles: Styles, plan: Plan, manifest: Manifest, annotations: Annotations) -> None:
    """A first sheet listing what to fix, so the copy can go straight back to the sponsor."""
    ws = book.add_worksheet("Please fix")
    ws.set_column(0, 0, 12)
    ws.set_column(1, 1, 16)
    ws.set_column(2, 2, 10)
    ws.set_column(3, 3, 100)
    errors = [i for i in annotations.issues if i.severity == "error"]
    warnings = [i for i in annotations.issues if i.severity == "warning"]
    ws.write_string(0, 0, f"{plan.title}: your {manifest.cycle} return needs attention", styles.title)
    ws.write_string(
        1,
        0,
        f"{len(errors)} problem(s) to fix and {len(warnings)} point(s) to check. Your entries are kept in this copy: "
        "fix the red cells, check the amber ones (hover for the note), save and send this file back.",
        styles.subtitle,
    )
    for c, label in enumerate(("Severity", "Where", "Ref", "What to do")):
        ws.write_string(3, c, label, styles.head_locked)
    for r, issue in enumerate(errors + warnings, start=4):
        fmt = styles.flag[issue.severity]["text"]
        ws.write_string(r, 0, issue.severity, fmt)
        ws.write_string(r, 1, issue.where, styles.locked["text"])
        ws.write_string(r, 2, issue.ref, styles.locked["text"])
        ws.write_string(r, 3, issue.message, styles.locked["text"])
        height = row_height([(issue.message, 100)])
        if height:
            ws.set_row(r, height)
    _print_setup(ws, "Please fix", 3)
    ws.activate()
    _protect(ws, None)


def _runs(rows: list[int]) -> list[tuple[int, int]]:
    """Sorted row numbers -> (first, last) of each unbroken run."""
    out: list[tuple[int, int]] = []
    for r in rows:
        if out and r == out[-1][1] + 1:
            out[-1] = (out[-1][0], r)
        else:
            out.append((r, r))
    return out


def _add_validation(ws: Worksheet, runs: list[tuple[int, int]], c1: int, c2: int, options: dict[str, Any]) -> int:
    """One data validation over several row runs of columns c1..c2 (one rule, a multi-range)."""
    if not runs:
        return 0
    (first, last), *more = runs
    if more:
        options = {
            **options,
            "multi_range": " ".join(f"{xl_rowcol_to_cell(a, c1)}:{xl_rowcol_to_cell(b, c2)}" for a, b in runs),
        }
    return ws.data_validation(first, c1, last, c2, options)


def _locked_row_notes(ws: Worksheet, sheet: Sheet, runs: list[tuple[int, int]], template: Template) -> None:
    """Selecting an editable cell of a locked row shows why it is locked (no dropdown there)."""
    assert sheet.locked_rows is not None
    editable = [c for c, col in enumerate(sheet.columns) if col.editable]
    if not editable:
        return
    note = sheet.locked_rows.note or "This row is not for you to fill in."
    options = {"validate": "any", "input_title": "Not to be filled in", "input_message": note[:255]}
    for c in editable:
        code = _add_validation(ws, runs, c, c, options)
        if code != 0:
            raise XlplanError(
                f"Template {template.name}: cannot add the locked-row note to sheet {sheet.name} (code {code})."
            )


def _validation(ws: Worksheet, runs: list[tuple[int, int]], c: int, col: Column, template: Template) -> None:
    if not col.editable:
        return
    title = col.header[:32]
    options: dict[str, Any] = {
        "input_title": title,
        "input_message": (col.help or col.header)[:255],
        "error_type": "stop",
        "error_title": title,
    }
    if col.type == "choice" and col.choices:
        names = template.choices[col.choices].names
        options |= {
            "validate": "list",
            "source": list(names),
            "error_message": f"Choose one of: {', '.join(names)}."[:255],
        }
    elif col.type == "number":
        options |= {
            "validate": "decimal",
            "criteria": "between",
            "minimum": -1e12,
            "maximum": 1e12,
            "error_message": "Enter a number only, e.g. 85 (no units or words).",
        }
    elif col.type == "date":
        options |= {
            "validate": "date",
            "criteria": "between",
            "minimum": datetime(2000, 1, 1),
            "maximum": datetime(2100, 12, 31),
            "error_message": "Enter a date, e.g. 31/03/2025.",
        }
    elif col.max_length:
        options |= {
            "validate": "length",
            "criteria": "<=",
            "value": col.max_length,
            "error_message": f"At most {col.max_length} characters.",
        }
    code = _add_validation(ws, runs, c, c, options)
    if code != 0:  # xlsxwriter only warns (e.g. an inline list over 255 characters)
        raise XlplanError(f"Template {template.name}: cannot add validation to column {col.header!r} (code {code}).")


def _instructions(
    book: Workbook,
    styles: Styles,
    plan: Plan,
    recipient: str,
    manifest: Manifest,
    spg_date: date | None,
    password: str | None,
) -> None:
    template = plan.template
    ws = book.add_worksheet("Instructions")
    ws.hide_gridlines(2)
    ws.set_column(0, 0, 24)
    ws.set_column(1, 1, 90)
    ws.write_string(0, 0, plan.title, styles.title)
    ws.write_string(1, 0, f"{template.title}: {manifest.cycle}", styles.subtitle)
    groups = plan.groups_for(recipient)
    deadline = date.fromisoformat(manifest.deadline)
    officer = plan.settings.get("officer", "")
    to = plan.settings.get("return_email", "")
    facts = [
        (template.plan.recipient_label.capitalize(), recipient),
        ("Reporting cycle", manifest.cycle),
        ("Please return by", long_date(deadline)),
        ("SPG meeting", long_date(spg_date) if spg_date else ""),
        ("Return to", " ".join(p for p in (officer, f"<{to}>" if to else "") if p)),
    ]
    if groups:
        facts.insert(1, (_group_label(template), "\n".join(groups)))
    row = 3
    for label, value in facts:
        ws.write_string(row, 0, label, styles.bold)
        ws.write_string(row, 1, value, styles.wrap)
        if "\n" in value:
            ws.set_row(row, 15 * (value.count("\n") + 1))
        row += 1
    row += 1
    ws.write_string(row, 0, "How to fill it in", styles.section)
    ws.write_blank(row, 1, None, styles.section)
    rows = template.rows_sheet
    steps = [
        f"Go to the '{rows.name}' sheet. Grey columns are the plan and are locked; fill in the pale yellow ones.",
        *[f"{c.header}: {c.help}" for c in rows.editable_columns if c.help],
    ]
    if rows.locked_rows is not None:
        steps.append(f"Rows shaded dark grey are locked and cannot be filled in. {rows.locked_rows.note}".strip())
    if template.groups_sheet:
        steps.append(f"On the '{template.groups_sheet.name}' sheet: {template.groups_sheet.help}")
    steps += [
        "Please do not rename, move or delete sheets, rows or columns: the file is matched to the plan by its contents.",
        "You may rename the file. Save it as .xlsx and email it back by the date above.",
    ]
    for n, step in enumerate(steps, start=1):
        row += 1
        ws.write_string(row, 0, f"{n}.", styles.bold)
        ws.write_string(row, 1, step, styles.wrap)
        height = row_height([(step, 90)])
        if height:
            ws.set_row(row, height)
    for key, cl in template.choices.items():
        row += 2
        ws.write_string(row, 0, cl.title, styles.section)
        ws.write_blank(row, 1, None, styles.section)
        for choice in cl.values:
            row += 1
            ws.write_string(row, 0, choice.value, styles.choice[(key, choice.value)])
            ws.write_string(row, 1, choice.definition, styles.wrap)
    _print_setup(ws, template.title)
    ws.set_portrait()
    _protect(ws, password)


def _group_label(template: Template) -> str:
    column = next((c for c in template.plan.columns if c.key == template.plan.group_by), None)
    return (column.header + "s") if column else "Groups"


def _groups_sheet(
    book: Workbook,
    styles: Styles,
    sheet: Sheet,
    groups: list[str],
    password: str | None,
    filled: dict[str, dict[str, str]] | None = None,
) -> None:
    filled = filled or {}
    ws = book.add_worksheet(sheet.name)
    ws.set_column(0, 0, 30)
    ws.set_column(1, 1, 100)
    ws.write_string(0, 0, sheet.title, styles.title)
    ws.write_string(1, 0, sheet.help, styles.subtitle)
    row = HEADER_ROW
    for group in groups:
        ws.merge_range(row, 0, row, 1, group, styles.head_locked)
        ws.set_row(row, row_height([(group, 120)]) or 18)
        for col in sheet.columns:
            row += 1
            ws.write_string(row, 0, col.header, styles.label)
            text = filled.get(group, {}).get(col.key)  # as typed: text, never a formula or a link
            if text is not None and text != "":
                ws.write_string(row, 1, format_value(text), styles.edit["text"])
            else:
                ws.write_blank(row, 1, None, styles.edit["text"])
            ws.set_row(row, 110)
            code = ws.data_validation(
                row,
                1,
                row,
                1,
                {
                    "validate": "length",
                    "criteria": "<=",
                    "value": col.max_length or 32767,
                    "input_title": col.header[:32],
                    "input_message": (col.help or sheet.help)[:255],
                },
            )
            if code != 0:
                raise XlplanError(f"Sheet {sheet.name}: cannot add validation to {col.header!r} (code {code}).")
        row += 2
    _print_setup(ws, sheet.title)
    ws.set_portrait()
    _protect(ws, password)


def _manifest(book: Workbook, manifest: Manifest) -> None:
    ws = book.add_worksheet(SHEET)
    for r, (k, v) in enumerate(sheet_rows(manifest)):
        ws.write_string(r, 0, k)
        ws.write_string(r, 1, v)
    ws.very_hidden()
    ws.protect()
