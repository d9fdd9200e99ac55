"""A returned workbook -> a `Return`: its identity, its rows by ref, its feedback areas.

Cell values come from python-calamine (fast, values not formulas); the few
structural facts we need (sheet protection, macros) come from the zip parts
directly, parsed with defusedxml. Nothing here judges the values: problems that
stop the file being read at all are reported; the rest is for `validate`.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xlplan.manifest import SHEET as MANIFEST_SHEET
from xlplan.manifest import from_sheet_rows, read_custom_properties
from xlplan.plan import normalise_header
from xlplan.report import Report
from xlplan.sniff import Sniffed, sniff
from xlplan.template import Template
from xlplan.values import clean_text, is_blank

MAX_ROWS = 100_000  # far more than any plan; stops a million blank rows costing memory
MAX_COLUMNS = 200


@dataclass
class Row:
    excel_row: int  # 1-based, as the sponsor sees it
    values: dict[str, Any]  # raw cell values by column key


@dataclass
class Return:
    path: Path
    sha256: str
    size: int
    mtime: float
    sniffed: Sniffed
    identity: dict[str, str] = field(default_factory=dict)
    fingerprints: dict[str, list[str]] = field(default_factory=dict)
    columns: dict[str, int] = field(default_factory=dict)  # column key -> 0-based index
    header_row: int = 0  # 1-based
    rows: list[Row] = field(default_factory=list)
    groups: dict[str, dict[str, tuple[Any, str]]] = field(default_factory=dict)  # group -> field -> (value, cell)
    protected: dict[str, bool] = field(default_factory=dict)
    manifest_state: str = ""  # visible | hidden | veryhidden | missing

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def recipient(self) -> str:
        return self.identity.get("recipient", "")

    @property
    def cycle(self) -> str:
        return self.identity.get("cycle", "")


def column_letter(index: int) -> str:
    from xlsxwriter.utility import xl_col_to_name

    return xl_col_to_name(index)


def read_return(path: Path, template_for: Any = None, data: bytes | None = None) -> tuple[Return | None, Report]:
    """Read one file (or its bytes, already read). `template_for(name)` gives the Template a manifest names.

    Returns (None, report) when the file cannot be read as a return at all.
    """
    report = Report(path.name)
    try:
        data = path.read_bytes() if data is None else data
        mtime = path.stat().st_mtime
    except OSError as exc:
        report.error(
            f"Cannot read the file: {exc.strerror or exc} (is it open in another program?).",
            code="unreadable",
        )
        return None, report
    sniffed = sniff(data)
    ret = Return(path, hashlib.sha256(data).hexdigest(), len(data), mtime, sniffed)
    if not sniffed.readable:
        report.error(sniffed.problem, code=f"file-{sniffed.kind}")
        return None, report
    if sniffed.macros:
        report.note(
            "The workbook contains macros; they were ignored (never run). Only cell values were read.",
            code="macros",
        )
    try:
        _read(ret, data, report, template_for)
    except _Unreadable as exc:
        report.error(str(exc), code="unreadable")
        return None, report
    except Exception as exc:  # a malformed part inside a valid zip: calamine/XML errors
        cause = exc.__cause__ or exc
        kind = (
            "unsafe XML (entity declarations)" if "Entit" in type(cause).__name__ + str(cause) else "malformed content"
        )
        report.error(
            f"The workbook cannot be read: {kind}. Ask for the workbook to be saved in Excel and sent again.",
            code="malformed",
        )
        return None, report
    return ret, report


class _Unreadable(Exception):
    pass


def _read(ret: Return, data: bytes, report: Report, template_for: Any) -> None:
    from python_calamine import CalamineWorkbook

    archive = zipfile.ZipFile(io.BytesIO(data))
    props = read_custom_properties(archive)
    book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    states = {m.name: str(m.visible).rsplit(".", 1)[-1].lower() for m in book.sheets_metadata}
    sheet_rows: list[list[Any]] = []
    if MANIFEST_SHEET in book.sheet_names:
        sheet_rows = book.get_sheet_by_name(MANIFEST_SHEET).to_python(skip_empty_area=False, nrows=MAX_ROWS)
        ret.manifest_state = states.get(MANIFEST_SHEET, "")
    else:
        ret.manifest_state = "missing"
    sheet_identity, ret.fingerprints = from_sheet_rows(sheet_rows)
    ret.identity = _identity(props, sheet_identity, report)
    if not ret.identity:
        return
    template: Template | None = template_for(ret.identity.get("template", "")) if template_for else None
    if template is None:
        return
    parts = _sheet_parts(archive)
    ret.protected = _protection(archive, parts)
    rows_sheet = template.rows_sheet
    real = _sheet_named(book.sheet_names, rows_sheet.name)
    if real is None:
        raise _Unreadable(
            f"There is no '{rows_sheet.name}' sheet (the workbook has: {', '.join(n for n in book.sheet_names if n != MANIFEST_SHEET)}). "
            f"Was it renamed or deleted? Use the workbook that was sent out."
        )
    if real != rows_sheet.name:
        report.note(
            f"The '{rows_sheet.name}' sheet was renamed '{real}'; it was read anyway.",
            sheet=real,
            code="sheet-renamed",
        )
    cells = book.get_sheet_by_name(real).to_python(skip_empty_area=False, nrows=MAX_ROWS)
    _rows(ret, cells, template, report, real)
    if ret.protected.get(real) is False:
        report.note(
            f"Sheet protection on '{real}' was removed; every locked value was checked instead.",
            sheet=real,
            code="unprotected",
        )
    _report_formulas(ret, _formulas(archive, parts.get(real)), template, report, real)
    groups = template.groups_sheet
    if groups is not None:
        gname = _sheet_named(book.sheet_names, groups.name)
        if gname is None:
            report.warning(
                f"The '{groups.name}' sheet is missing: no feedback or case studies could be read.",
                sheet=groups.name,
                code="sheet-missing",
            )
        else:
            gcells = book.get_sheet_by_name(gname).to_python(skip_empty_area=False, nrows=MAX_ROWS)
            ret.groups = _groups(
                gcells,
                [c.header for c in groups.columns],
                {c.header: c.key for c in groups.columns},
            )


def _sheet_named(names: list[str], wanted: str) -> str | None:
    if wanted in names:
        return wanted
    norm = normalise_header(wanted)
    return next((n for n in names if normalise_header(n) == norm), None)


def _identity(props: dict[str, str], sheet: dict[str, str], report: Report) -> dict[str, str]:
    """Both copies of the manifest, checked against each other, not believed blindly."""
    if not props and not sheet:
        report.error(
            "This workbook has no xlplan metadata, so it cannot be matched to a sponsor and cycle. "
            "It may be a copy made by hand: please fill in the workbook that was sent out.",
            code="no-metadata",
        )
        return {}
    if props and sheet:
        differ = sorted(k for k in set(props) | set(sheet) if k != "generated_at" and props.get(k) != sheet.get(k))
        if differ:
            report.error(
                f"The workbook's metadata has been altered (it disagrees about {', '.join(differ)}). "
                "Please fill in the workbook that was sent out.",
                sheet=MANIFEST_SHEET,
                code="metadata-altered",
            )
            return {}
    elif not sheet:
        report.note(
            f"The hidden '{MANIFEST_SHEET}' sheet was deleted; identified from document properties.",
            code="manifest-sheet-missing",
        )
    return props or sheet


_SHEET_REL = re.compile(rb'<(?:\w+:)?sheet\b[^>]*?name="([^"]*)"[^>]*?r:id="([^"]*)"')
_REL = re.compile(rb'<Relationship\b[^>]*?Id="([^"]*)"[^>]*?Target="([^"]*)"')
_REL_ALT = re.compile(rb'<Relationship\b[^>]*?Target="([^"]*)"[^>]*?Id="([^"]*)"')
_PROTECTION = re.compile(rb"<(?:\w+:)?sheetProtection\b([^>]*)>")


def _sheet_parts(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> the zip part holding its XML, from the workbook and its relationships."""
    from html import unescape

    try:
        workbook = archive.read("xl/workbook.xml")
        rels = archive.read("xl/_rels/workbook.xml.rels")
    except KeyError:
        return {}
    targets = {i.decode(): t.decode() for i, t in _REL.findall(rels)}
    targets |= {i.decode(): t.decode() for t, i in _REL_ALT.findall(rels)}
    out = {}
    for name, rid in _SHEET_REL.findall(workbook):
        target = targets.get(rid.decode(), "")
        out[unescape(name.decode())] = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    return out


def _protection(archive: zipfile.ZipFile, parts: dict[str, str]) -> dict[str, bool]:
    """Whether each sheet is protected, from the sheet XML (calamine does not say)."""
    out: dict[str, bool] = {}
    for name, part in parts.items():
        try:
            xml = archive.read(part)
        except KeyError:
            continue
        match = _PROTECTION.search(xml)
        out[name] = bool(match) and not re.search(rb'sheet="(0|false)"', match.group(1))
    return out


_FORMULA = re.compile(rb'<(?:\w+:)?c\b[^>]*?\br="([A-Z]{1,3})(\d+)"[^>]*>\s*<(?:\w+:)?f\b[^>]*?(?:/>|>([^<]*)</)', re.S)


def _formulas(archive: zipfile.ZipFile, part: str | None) -> dict[tuple[str, int], str]:
    """Cells holding a formula: (column letter, row) -> formula text. Never evaluated."""
    from html import unescape

    if part is None:
        return {}
    try:
        xml = archive.read(part)
    except KeyError:
        return {}
    return {(c.decode(), int(r)): unescape((f or b"").decode("utf-8", "replace")) for c, r, f in _FORMULA.findall(xml)}


def _rows(ret: Return, cells: list[list[Any]], template: Template, report: Report, sheet: str) -> None:
    columns = template.rows_sheet.columns
    wanted = {normalise_header(c.header): c.key for c in columns}
    key = template.plan.key
    head = -1
    for r, row in enumerate(cells[:30]):
        found = {wanted[n]: i for i, cell in enumerate(row[:MAX_COLUMNS]) if (n := normalise_header(cell)) in wanted}
        if key in found and len(found) >= len(columns) // 2:
            head, ret.columns = r, found
            break
    if head < 0:
        raise _Unreadable(
            f"The '{sheet}' sheet has no header row with the expected columns ({', '.join(c.header for c in columns[:4])}, ...). "
            "Were the headers edited or deleted? Use the workbook that was sent out."
        )
    ret.header_row = head + 1
    missing = [c for c in columns if c.key not in ret.columns]
    for col in missing:
        report.error(
            f"The column '{col.header}' is missing (deleted, or its header was changed). Put it back or use the workbook that was sent out.",
            sheet=sheet,
            cell=f"{column_letter(len(cells[head]))}{head + 1}",
            field=col.key,
            code="column-missing",
        )
    order = [ret.columns[c.key] for c in columns if c.key in ret.columns]
    if order != sorted(order) and not missing:
        report.note(
            f"Columns on '{sheet}' were moved; they were matched by their headers.",
            sheet=sheet,
            code="columns-moved",
        )
    extra = [
        clean_text(v)
        for i, v in enumerate(cells[head][:MAX_COLUMNS])
        if i not in ret.columns.values() and not is_blank(v)
    ]
    if extra:
        report.note(f"Extra column(s) ignored: {', '.join(extra)}.", sheet=sheet, code="columns-extra")
    key_col = ret.columns[key]
    for r, row in enumerate(cells[head + 1 :], start=head + 2):
        values = {k: (row[i] if i < len(row) else None) for k, i in ret.columns.items()}
        if is_blank(values.get(key)):
            if any(not is_blank(v) for k, v in values.items()):
                report.error(
                    f"Row {r} has no {template.rows_sheet.column(key).header}, so its content cannot be matched to an action. "  # type: ignore[union-attr]
                    "Rows cannot be added: put this text in the Comments of the right action.",
                    sheet=sheet,
                    cell=f"{column_letter(key_col)}{r}",
                    code="row-without-ref",
                )
            continue
        values[key] = clean_text(values[key])
        ret.rows.append(Row(r, values))


def _report_formulas(
    ret: Return, formulas: dict[tuple[str, int], str], template: Template, report: Report, sheet: str
) -> None:
    """A formula's stored value is judged like typed text; the formula itself is never run or copied."""
    by_letter = {column_letter(i): key for key, i in ret.columns.items()}
    for (letter, row), text in sorted(formulas.items(), key=lambda x: (x[0][1], x[0][0])):
        key = by_letter.get(letter)
        column = template.rows_sheet.column(key) if key else None
        if row <= ret.header_row or column is None or not column.editable:
            continue
        kind = "an external (DDE) link" if "|" in text else "a formula"
        report.warning(
            f"{column.header} holds {kind} (={text[:60]}); only its stored value was read, nothing was run. Please type the value itself.",
            sheet=sheet,
            cell=f"{letter}{row}",
            field=key or "",
            value=f"={text[:200]}",
            code="formula",
        )


def _groups(cells: list[list[Any]], labels: list[str], keys: dict[str, str]) -> dict[str, dict[str, tuple[Any, str]]]:
    """Feedback areas: a group title in column A, then one labelled row per field."""
    out: dict[str, dict[str, tuple[Any, str]]] = {}
    current: str | None = None
    norm_labels = {normalise_header(label): label for label in labels}
    for r, row in enumerate(cells, start=1):
        first = clean_text(row[0]) if row else ""
        if not first:
            continue
        label = norm_labels.get(normalise_header(first))
        if label is None:
            current = first
            out.setdefault(current, {})
        elif current is not None:
            out[current][keys[label]] = (row[1] if len(row) > 1 else None, f"B{r}")
    return out
