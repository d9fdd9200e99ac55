"""A returned workbook -> a `Return`: its identity, its rows by ref, its feedback areas.

Cell values come from python-calamine (fast, values not formulas); the few
structural facts we need (sheet protection, formulas, error values, merged cells,
how far the content reaches) come from the extent scan (`scan`), which also refuses a
sheet reaching so far that calamine's grid would exhaust memory, before calamine
opens it. The custom properties are parsed with defusedxml. Nothing here judges the
values: problems that stop the file being read at all are reported; the rest is for
`validate`.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xlplan.codes import FILE_PROBLEM, Code
from xlplan.issues import Report
from xlplan.manifest import PREFIX as PROPERTY_PREFIX
from xlplan.manifest import SHEET as MANIFEST_SHEET
from xlplan.manifest import from_sheet_rows, read_custom_properties
from xlplan.scan import MAX_COLUMNS, MAX_ROWS, SheetScan, WorkbookScan, column_number
from xlplan.seal import Sealing, check_seal
from xlplan.sniff import Sniffed, sniff
from xlplan.template import Template
from xlplan.values import clean_text, column_letter, is_blank, normalise_header

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # invisible; tab, CR and LF are kept


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
    percent: frozenset[str] = frozenset()  # cells of the rows sheet formatted as a percentage ("L5")
    notes: dict[str, dict[str, str]] = field(default_factory=dict)  # sheet -> cell -> the note left on it

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def recipient(self) -> str:
        return self.identity.get("recipient", "")

    @property
    def cycle(self) -> str:
        return self.identity.get("cycle", "")


def read_return(
    path: Path, template_for: Any = None, data: bytes | None = None, sealing: Sealing | None = None
) -> tuple[Return | None, Report]:
    """Read one file (or its bytes, already read). `template_for(name)` gives the Template a manifest names.
    With `sealing` (the plan folder's key and plan id) the metadata's seal is checked.

    Returns (None, report) when the file cannot be read as a return at all.
    """
    report = Report(path.name)
    try:
        if data is None:
            data = path.read_bytes()
            mtime = path.stat().st_mtime
        else:  # bytes already read: from a file, or attached to a saved email (no file of its own)
            mtime = path.stat().st_mtime if path.is_file() else 0.0
    except OSError as exc:
        report.error(
            f"Cannot read the file: {exc.strerror or exc} (is it open in another program?).",
            code=Code.UNREADABLE,
        )
        return None, report
    try:
        sniffed = sniff(data)
    except Exception as exc:  # sniff is written not to raise: this is the last line of defence
        report.error(_malformed(exc), code=Code.MALFORMED)
        return None, report
    ret = Return(path, hashlib.sha256(data).hexdigest(), len(data), mtime, sniffed)
    if not sniffed.readable:
        report.error(sniffed.problem, code=FILE_PROBLEM[sniffed.kind])
        return None, report
    if sniffed.kind == "ods":
        report.note(
            "Read from an OpenDocument spreadsheet (.ods); its values were checked like any return.", code=Code.ODS
        )
    if sniffed.macros:
        report.note(
            "The workbook contains macros; they were ignored (never run). Only cell values were read.",
            code=Code.MACROS,
        )
    try:
        _read(ret, data, report, template_for, sealing)
    except _Unreadable as exc:
        report.error(str(exc), sheet=exc.sheet, cell=exc.cell, code=exc.code, recipient=ret.recipient)
        return None, report
    except Exception as exc:  # a malformed part inside a valid zip: calamine, zip and XML errors
        report.error(_malformed(exc), code=Code.MALFORMED)
        return None, report
    except BaseException as exc:  # a panic in calamine anywhere else: reported, never fatal
        if not _is_panic(exc):
            raise
        report.error(_malformed(exc), code=Code.MALFORMED)
        return None, report
    return ret, report


def _malformed(exc: BaseException) -> str:
    cause = exc.__cause__ or exc
    text = f"{type(cause).__name__} {cause}".lower()
    if "entit" in text or "dtd" in text or "doctype" in text:
        kind = "it contains XML entity declarations, the pattern of the 'billion laughs' and 'external entity' attacks (refused as unsafe)"
    elif "xml" in text or "parseerror" in text:
        kind = "a part of it is malformed XML"
    elif "crc" in text or "declared" in text or "zip" in text or "zlib" in text:
        kind = "a part of its zip archive is damaged"
    else:
        kind = "its content is malformed"
    return f"The workbook cannot be read: {kind}. Ask for the workbook to be saved in Excel and sent again."


class _Unreadable(Exception):
    def __init__(self, message: str, *, code: Code, sheet: str = "", cell: str = "") -> None:
        super().__init__(message)
        self.sheet, self.cell, self.code = sheet, cell, code


# --- the workbook ---------------------------------------------------------------------------


def _is_panic(exc: BaseException) -> bool:
    """A Rust panic inside calamine, raised by pyo3 as pyo3_runtime.PanicException (not an Exception)."""
    return type(exc).__name__ == "PanicException"


def _read(ret: Return, data: bytes, report: Report, template_for: Any, sealing: Sealing | None) -> None:
    from python_calamine import CalamineWorkbook

    archive = zipfile.ZipFile(io.BytesIO(data))
    parts = WorkbookScan(archive, ret.sniffed.kind)
    props = _ods_properties(archive) if parts.kind == "ods" else read_custom_properties(archive)
    if parts.kind == "ods":  # calamine reads every table of an .ods when it opens it: check them all first
        for name in parts.ods_tables():
            _check_extent(parts.scan(name), name)
    book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    names: list[str] = list(book.sheet_names)

    def cells_of(name: str) -> list[list[Any]]:
        _check_extent(parts.scan(name), name)
        try:
            return book.get_sheet_by_name(name).to_python(skip_empty_area=False, nrows=MAX_ROWS)
        except BaseException as exc:  # calamine panics (a BaseException) on some values: never let one end the run
            if not _is_panic(exc):
                raise
            cells = parts.odd_numbers(name)
            where = f" (cell {', '.join(cells[:3])})" if cells else ""
            raise _Unreadable(
                f"The '{name}' sheet holds a value the reader cannot handle{where}: a number far outside any date "
                "in a date cell? Type a real value there, save and send it again.",
                sheet=name,
                cell=cells[0] if len(cells) == 1 else "",
                code=Code.UNREADABLE_VALUE,
            ) from None

    sheet_rows = cells_of(MANIFEST_SHEET) if MANIFEST_SHEET in names else []
    sheet_identity, ret.fingerprints = from_sheet_rows(sheet_rows)
    copies = [c for c in (props, sheet_identity) if c]
    prints = ret.fingerprints if sheet_identity else None  # none to check when the hidden sheet is gone
    if copies and sealing is not None and not check_seal(copies, prints, sealing, report):
        return  # edited to pass for another workbook: its identity is not believed
    ret.identity = _identity(props, sheet_identity, report)
    if not ret.identity:
        return
    template: Template | None = template_for(ret.identity.get("template", "")) if template_for else None
    if template is None:
        return
    rows_sheet = template.rows_sheet
    real = _sheet_named(names, rows_sheet.name)
    cells: list[list[Any]] | None = None
    if real is None:
        real, cells = _find_rows_sheet(names, template, cells_of, parts)
    if real is None:
        raise _Unreadable(
            f"There is no '{rows_sheet.name}' sheet (the workbook has: {', '.join(n for n in names if n != MANIFEST_SHEET)}). "
            f"Was it deleted? Use the workbook that was sent out.",
            code=Code.SHEET_MISSING,
        )
    if real != rows_sheet.name:
        report.note(f"The '{rows_sheet.name}' sheet was renamed '{real}'; it was read anyway.", code=Code.SHEET_RENAMED)
    scan = parts.scan(real)
    if cells is None:
        cells = cells_of(real)
    ret.protected = {real: scan.protected}
    ret.percent = parts.percent_cells(real)
    ret.notes[real] = parts.notes(real)
    _rows(ret, cells, template, report, real)
    if not scan.protected:
        report.note(
            f"Sheet protection on '{real}' was removed; every locked value was checked instead.", code=Code.UNPROTECTED
        )
    _report_cells(ret, scan, template, report, real)
    groups = template.groups_sheet
    if groups is not None:
        gname = _sheet_named(names, groups.name)
        if gname is None:
            report.warning(
                f"The '{groups.name}' sheet is missing: no feedback or case studies could be read.",
                sheet=groups.name,
                code=Code.SHEET_MISSING,
            )
        else:
            ret.groups = _groups(
                cells_of(gname),
                [c.header for c in groups.columns],
                {c.header: c.key for c in groups.columns},
            )
            _report_group_cells(ret, parts.scan(gname), report, gname)
            ret.notes[gname] = parts.notes(gname)


def _check_extent(scan: SheetScan, name: str) -> None:
    far = scan.too_far()
    if far:
        raise _Unreadable(
            f"The '{name}' sheet has content as far as cell {far}, far outside any return: "
            "delete everything below and to the right of the table (Ctrl+End shows the last cell in use), "
            "save and send it again.",
            sheet=name,
            cell=far,
            code=Code.TOO_LARGE,
        )


def _sheet_named(names: list[str], wanted: str) -> str | None:
    if wanted in names:
        return wanted
    norm = normalise_header(wanted)
    return next((n for n in names if normalise_header(n) == norm), None)


def _find_rows_sheet(
    names: list[str], template: Template, cells_of: Callable[[str], list[list[Any]]], parts: WorkbookScan
) -> tuple[str | None, list[list[Any]] | None]:
    """A renamed rows sheet is the one sheet whose header row is the template's."""
    skip = {MANIFEST_SHEET, *(s.name for s in template.sheets if s is not template.rows_sheet)}
    found = []
    for name in names:
        if name in skip or parts.scan(name).too_far():
            continue
        cells = cells_of(name)
        if _header(cells, template) is not None:
            found.append((name, cells))
    return found[0] if len(found) == 1 else (None, None)


def _identity(props: dict[str, str], sheet: dict[str, str], report: Report) -> dict[str, str]:
    """Both copies of the manifest, checked against each other, not believed blindly."""
    if not props and not sheet:
        report.error(
            "This workbook has no xlplan metadata, so it cannot be matched to a recipient and cycle. "
            "It may be a copy made by hand: please fill in the workbook that was sent out.",
            code=Code.NO_METADATA,
        )
        return {}
    if props and sheet:
        differ = sorted(k for k in set(props) | set(sheet) if k != "generated_at" and props.get(k) != sheet.get(k))
        if differ:
            report.error(
                f"The workbook's metadata has been altered (it disagrees about {', '.join(differ)}). "
                "Please fill in the workbook that was sent out.",
                sheet=MANIFEST_SHEET,
                code=Code.METADATA_ALTERED,
            )
            return {}
    elif not sheet:
        report.note(
            f"The hidden '{MANIFEST_SHEET}' sheet was deleted; identified from document properties.",
            code=Code.MANIFEST_SHEET_MISSING,
        )
    return props or sheet


def _header(cells: list[list[Any]], template: Template) -> tuple[int, dict[str, int]] | None:
    """(0-based row, column key -> 0-based index) of the header row, if one is in the first 30 rows."""
    columns = template.rows_sheet.columns
    wanted = {normalise_header(c.header): c.key for c in columns}
    key = template.plan.key
    for r, row in enumerate(cells[:30]):
        found: dict[str, int] = {}
        for i, cell in enumerate(row[:MAX_COLUMNS]):
            k = wanted.get(normalise_header(cell))
            if k is not None and k not in found:
                found[k] = i
        if key in found and len(found) >= len(columns) // 2:
            return r, found
    return None


def _version_hint(ret: Return, template: Template) -> str:
    version = ret.identity.get("template_version", "")
    if version and version != str(template.version):
        return (
            f" This workbook was made with version {version} of the '{template.name}' template; "
            f"this plan expects version {template.version}: send the recipient a workbook generated now."
        )
    return ""


def _rows(ret: Return, cells: list[list[Any]], template: Template, report: Report, sheet: str) -> None:
    columns = template.rows_sheet.columns
    key = template.plan.key
    found = _header(cells, template)
    if found is None:
        raise _Unreadable(
            f"The '{sheet}' sheet has no header row with the expected columns ({', '.join(c.header for c in columns[:4])}, ...). "
            "Were the headers edited or deleted? Use the workbook that was sent out." + _version_hint(ret, template),
            sheet=sheet,
            code=Code.NO_HEADER,
        )
    head, ret.columns = found
    ret.header_row = head + 1
    header = cells[head]
    mapped = set(ret.columns.values())
    missing = [c for c in columns if c.key not in ret.columns]
    reported = set(mapped)
    for col in missing:
        i = columns.index(col)
        typed = clean_text(header[i]) if i < len(header) and i not in mapped else ""
        if typed:
            reported.add(i)  # its content is that column's, not an extra column's
            message = (
                f"The column '{col.header}' is missing: its header in {column_letter(i)}{head + 1} was changed to "
                f"'{typed[:60]}'. Put the header back as it was, or use the workbook that was sent out."
            )
            cell = f"{column_letter(i)}{head + 1}"
        else:
            cell = f"{column_letter(i)}{head + 1}"
            message = (
                f"The column '{col.header}' is missing from the header row (it belongs in {cell}): it was deleted "
                "or its header changed. Put it back or use the workbook that was sent out."
            )
        report.error(
            message + _version_hint(ret, template), sheet=sheet, cell=cell, field=col.key, code=Code.COLUMN_MISSING
        )
    order = [ret.columns[c.key] for c in columns if c.key in ret.columns]
    if order != sorted(order) and not missing:
        report.note(f"Columns on '{sheet}' were moved; they were matched by their headers.", code=Code.COLUMNS_MOVED)
    _extra_columns(cells, head, reported, report, sheet)
    key_col = ret.columns[key]
    editable = {c.key for c in template.rows_sheet.editable_columns}
    pairs = list(ret.columns.items())
    body = cells[head + 1 :]
    # One search over the whole sheet instead of one per cell: control characters are rare.
    dirty = _has_control(body)
    for r, row in enumerate(body, start=head + 2):
        width = len(row)
        values = {k: (row[i] if i < width else None) for k, i in pairs}
        if dirty:
            _strip_control(values, editable, ret.columns, r, report, sheet)
        ref = values[key]
        if ref is None or ref == "" or is_blank(ref):
            if any(not is_blank(v) for v in values.values()):
                report.error(
                    f"Row {r} has no {template.rows_sheet.column(key).header}, so its content cannot be matched to an action. "  # type: ignore[union-attr]
                    "Rows cannot be added: put this text in the Comments of the right action.",
                    sheet=sheet,
                    cell=f"{column_letter(key_col)}{r}",
                    code=Code.ROW_WITHOUT_REF,
                )
            continue
        values[key] = ref.strip() if type(ref) is str else clean_text(ref)
        ret.rows.append(Row(r, values))


_CONTROL_BYTES = bytes([*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])  # _CONTROL as UTF-8 bytes


def _has_control(rows: list[list[Any]]) -> bool:
    """Deleting the control bytes in C is ~10x faster than a regex search (UTF-8 never
    uses bytes below 0x80 inside a multi-byte character, so no false alarms)."""
    text = "\t".join(v for row in rows for v in row if type(v) is str).encode("utf-8", "surrogatepass")
    return len(text.translate(None, _CONTROL_BYTES)) != len(text)


def _strip_control(
    values: dict[str, Any], editable: set[str], columns: dict[str, int], r: int, report: Report, sheet: str
) -> None:
    for k, v in values.items():
        if isinstance(v, str) and _CONTROL.search(v):
            values[k] = _CONTROL.sub("", v)
            if k in editable:
                report.note(
                    "Invisible control characters were removed from this cell.",
                    sheet=sheet,
                    cell=f"{column_letter(columns[k])}{r}",
                    field=k,
                    code=Code.CONTROL_CHARACTERS,
                )


def _extra_columns(cells: list[list[Any]], head: int, mapped: set[int], report: Report, sheet: str) -> None:
    """Columns that are not the template's: ignored, and said so; a warning when they hold text."""
    header = cells[head]
    width = max((len(r) for r in cells[head:]), default=0)
    for i in range(width):
        if i in mapped:
            continue
        title = clean_text(header[i]) if i < len(header) else ""
        filled = next(
            (r for r, row in enumerate(cells[head + 1 :], start=head + 2) if i < len(row) and not is_blank(row[i])), 0
        )
        letter = column_letter(i)
        if filled:
            name = f"'{title[:40]}'" if title else "without a header"
            report.warning(
                f"Column {letter} ({name}) is not part of the return: what was typed there (from {letter}{filled}) "
                "was not read. Put it in the Comments of the right action.",
                sheet=sheet,
                cell=f"{letter}{filled}",
                code=Code.COLUMNS_EXTRA,
            )
        elif title:
            report.note(
                f"Extra column {letter} ('{title[:40]}') is empty and was ignored.",
                sheet=sheet,
                cell=f"{letter}{head + 1}",
                code=Code.COLUMNS_EXTRA,
            )


def _report_cells(ret: Return, scan: SheetScan, template: Template, report: Report, sheet: str) -> None:
    """Formulas, error values and merged cells in the editable columns of action rows.

    A formula's stored value is judged like typed text; the formula itself is never run or copied.
    """
    by_letter = {column_letter(i): key for key, i in ret.columns.items()}
    rows = {row.excel_row for row in ret.rows}

    def column_at(letter: str, row: int) -> Any:
        key = by_letter.get(letter)
        column = template.rows_sheet.column(key) if key else None
        if row <= ret.header_row or column is None or not column.editable:
            return None
        return column

    for (letter, row), text in sorted(scan.formulas.items(), key=lambda x: (x[0][1], x[0][0])):
        column = column_at(letter, row)
        if column is None:
            continue
        kind = "an external (DDE) link" if "|" in text else "a link to another workbook" if "[" in text else "a formula"
        report.warning(
            f"{column.header} holds {kind} (={text[:60]}); only its stored value was read, nothing was run. Please type the value itself.",
            sheet=sheet,
            cell=f"{letter}{row}",
            field=column.key,
            value=f"={text[:200]}",
            code=Code.FORMULA,
        )
    for (letter, row), error in sorted(scan.errors.items(), key=lambda x: (x[0][1], x[0][0])):
        column = column_at(letter, row)
        if column is None or row not in rows:
            continue
        report.error(
            f"{column.header} shows the error {error[:20]} instead of a value: type the value itself.",
            sheet=sheet,
            cell=f"{letter}{row}",
            field=column.key,
            value=error[:20],
            code=Code.ERROR_VALUE,
        )
    for ref in scan.merged:
        first, _, last = ref.partition(":")
        m1, m2 = re.match(r"([A-Z]+)(\d+)", first), re.match(r"([A-Z]+)(\d+)", last or first)
        if not m1 or not m2:
            continue
        c1, c2 = column_number(m1.group(1).encode()), column_number(m2.group(1).encode())
        r2 = int(m2.group(2))
        touched = [column_letter(c - 1) for c in range(c1, c2 + 1) if column_at(column_letter(c - 1), r2)]
        if touched and r2 > ret.header_row:
            report.error(
                f"Cells {ref} are merged: each action needs its own {', '.join(_headers(template, by_letter, touched))}. "
                "Unmerge them (Home > Merge & Center) and fill in each row.",
                sheet=sheet,
                cell=first,
                value=ref,
                code=Code.MERGED_CELLS,
            )


def _headers(template: Template, by_letter: dict[str, str], letters: list[str]) -> list[str]:
    out = []
    for letter in letters:
        column = template.rows_sheet.column(by_letter[letter])
        if column is not None and column.header not in out:
            out.append(column.header)
    return out


def _report_group_cells(ret: Return, scan: SheetScan, report: Report, sheet: str) -> None:
    """Formulas and error values in the feedback areas' text cells (column B)."""
    wanted = {cell for fields in ret.groups.values() for _value, cell in fields.values()}
    for (letter, row), text in sorted(scan.formulas.items(), key=lambda x: (x[0][1], x[0][0])):
        if f"{letter}{row}" in wanted:
            report.warning(
                f"This cell holds a formula (={text[:60]}); only its stored value was read, nothing was run. Please type the text itself.",
                sheet=sheet,
                cell=f"{letter}{row}",
                value=f"={text[:200]}",
                code=Code.FORMULA,
            )
    for (letter, row), error in sorted(scan.errors.items(), key=lambda x: (x[0][1], x[0][0])):
        if f"{letter}{row}" in wanted:
            report.error(
                f"This cell shows the error {error[:20]} instead of text: type the text itself.",
                sheet=sheet,
                cell=f"{letter}{row}",
                value=error[:20],
                code=Code.ERROR_VALUE,
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
            value = row[1] if len(row) > 1 else None
            if isinstance(value, str):
                value = _CONTROL.sub("", value)
            out[current][keys[label]] = (value, f"B{r}")
    return out


# --- OpenDocument (.ods) -------------------------------------------------------------------


def _ods_properties(archive: zipfile.ZipFile) -> dict[str, str]:
    """Our custom properties as LibreOffice keeps them in meta.xml (parsed with defusedxml)."""
    from defusedxml import ElementTree

    try:
        data = archive.read("meta.xml")
    except KeyError:
        return {}
    ns = "{urn:oasis:names:tc:opendocument:xmlns:meta:1.0}"
    out: dict[str, str] = {}
    for prop in ElementTree.fromstring(data).iter(f"{ns}user-defined"):
        name = prop.get(f"{ns}name", "")
        if name.startswith(PROPERTY_PREFIX):
            out[name.removeprefix(PROPERTY_PREFIX)] = (prop.text or "").strip()
    return out
