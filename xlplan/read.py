"""A returned workbook -> a `Return`: its identity, its rows by ref, its feedback areas.

Cell values come from python-calamine (fast, values not formulas); the few
structural facts we need (sheet protection, formulas, error values, merged cells,
how far the content reaches) come from the zip parts directly: a streaming scan of
the sheet XML with regular expressions, never an XML parser that would expand
entities (the custom properties are parsed with defusedxml). Nothing here judges the
values: problems that stop the file being read at all are reported; the rest is for
`validate`.

Calamine builds a dense grid from the first to the last cell holding a value, so one
character typed in XFD1048576 would make it allocate 17 billion cells and abort the
process. Each sheet is therefore scanned first and refused, naming that cell, when its
content reaches further than any return can need.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xlplan.codes import FILE_PROBLEM, Code
from xlplan.issues import Report
from xlplan.manifest import SHEET as MANIFEST_SHEET
from xlplan.manifest import from_sheet_rows, read_custom_properties
from xlplan.plan import normalise_header
from xlplan.sniff import Sniffed, sniff
from xlplan.template import Template
from xlplan.values import clean_text, column_letter, is_blank

MAX_ROWS = 100_000  # far more than any plan; content below this is refused, not silently dropped
MAX_COLUMNS = 200  # headers are looked for in the first 200 columns
MAX_CELLS = 2_600_000  # rows x columns calamine may allocate for one sheet (~32 bytes each): Z99999
_CHUNK = 1 << 20
_MARGIN = 64 * 1024  # bytes kept ahead of a tag being scanned, for its content
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
        _read(ret, data, report, template_for)
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


# --- one pass over a sheet's XML, before calamine sees it ----------------------------------


@dataclass
class SheetScan:
    """What calamine does not say about a sheet, and how far its content reaches."""

    protected: bool = False
    formulas: dict[tuple[str, int], str] = field(default_factory=dict)  # (column letter, row) -> formula
    errors: dict[tuple[str, int], str] = field(default_factory=dict)  # cells holding #DIV/0!, #REF!...
    merged: list[str] = field(default_factory=list)  # "J5:J6"
    last_row: int = 0
    last_col: int = 0  # 1-based
    row_cell: str = ""  # a cell on the last row with content
    col_cell: str = ""  # a cell in the last column with content

    def too_far(self) -> str:
        """The cell that makes the sheet too large to read, or ''."""
        if self.last_row > MAX_ROWS:
            return self.row_cell
        if self.last_row * self.last_col > MAX_CELLS:
            return self.col_cell if self.last_col > MAX_COLUMNS else self.row_cell
        return ""


# Possessive quantifiers (Python 3.11+): a million blank <c .../> cells cost one pass, no backtracking.
_CELL_OPEN = re.compile(rb"<(?:c|\w++:c)\b([^>]*+)(?<!/)>")  # a cell with content; self-closing ones are blank
_TOKEN = re.compile(rb"<(?:\w++:)?(row|c)\b([^>]*+)>")  # every row and cell, for files without r="A1"
_R_CELL = re.compile(rb'\br="([A-Z]{1,3})(\d{1,7})"')
# A cell with content and its reference: not self-closing, not <c ...></c>, and with enough
# bytes after it in this buffer to tell (a tag cut at the buffer's end is read in the next).
_CONTENT_REF = re.compile(rb'<(?:\w++:)?c\b(?=[^>]*?\br="([A-Z]{1,3})(\d{1,7})")[^>]*+(?<!/)>(?!\s*+</)(?=[\s\S]{16})')
_ANY_FORMULA = re.compile(rb"<(?:\w++:)?f[\s>/]")  # <f>, not <formula1> of a data validation
_PLAIN_FORMULA = re.compile(rb"<f[\s>/]")  # the same without a prefix: a literal start, searched in C
# A cell tag not written as <c r="...: no reference, another attribute first, or odd spacing.
_LACKS_REF = re.compile(rb'<c(?![\w.\-\x80-\xff]| r=")')
_PREFIXED_CELL = re.compile(rb":c[\s>/]")  # <x:c ...>: cells with a namespace prefix
_FAR_REF = re.compile(rb'<c r="(?:[A-Z]{2}|[A-Z]\d{6})')  # beyond column Z or row 99999
_CONTENT_NO_REF = re.compile(rb"<(?:\w++:)?c\b(?![^>]*?\br=\")[^>]*+(?<!/)>(?!\s*+</)(?=[\s\S]{16})")
_R_ROW = re.compile(rb'\br="(\d{1,7})"')
_T_ATTR = re.compile(rb'\bt="(\w+)"')
_FORMULA = re.compile(rb"\s*<(?:\w+:)?f\b[^>]*?(?:/>|>([^<]*)<)")
_VALUE = re.compile(rb"<(?:\w+:)?v\b[^>]*>([^<]*)<")
_MERGE = re.compile(rb'<(?:\w++:)?mergeCell\b[^>]*?\bref="([A-Z]{1,3}\d{1,7}(?::[A-Z]{1,3}\d{1,7})?)"')
_PROTECTION = re.compile(rb"<(?:\w++:)?sheetProtection\b([^>]*+)>")


def _col_index(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n


def _chunks(archive: zipfile.ZipFile, part: str) -> Iterator[tuple[bytes, int, bool]]:
    """(buffer, limit, last): tags starting before `limit` are scanned in this buffer, with
    at least _MARGIN bytes after them; the rest is carried into the next buffer."""
    with archive.open(part) as stream:
        carry = b""
        while True:
            chunk = stream.read(_CHUNK)
            buf = carry + chunk
            last = not chunk
            # Cut before the last tag that starts more than _MARGIN from the end: every tag
            # before the cut is whole, and has at least _MARGIN bytes of content after it.
            cut = buf.rfind(b"<", 0, len(buf) - _MARGIN)
            limit = len(buf) if last else cut if cut > 0 else max(0, len(buf) - _MARGIN)
            yield buf, limit, last
            if last:
                return
            carry = buf[limit:]


def scan_xlsx_sheet(archive: zipfile.ZipFile, part: str) -> SheetScan:
    """Stream one worksheet part: protection, formulas, error values, merges and extent.

    Most sheets take the fast path: every cell tag plainly starts with r="A1" (as Excel,
    LibreOffice and xlsxwriter write them) and none lies beyond column Z or row 99999 (at most MAX_CELLS),
    which two C-level searches prove. Only then is the precise extent skipped; otherwise
    it comes from one findall per chunk (a cell counted twice across a chunk boundary
    changes no maximum). Only the rare formula and error cells are looked at one by one.
    """
    scan = SheetScan()
    implicit = False
    for buf, limit, _last in _chunks(archive, part):
        prefixed = _PREFIXED_CELL.search(buf) is not None
        lacks_refs = prefixed or _LACKS_REF.search(buf) is not None
        if lacks_refs or _FAR_REF.search(buf) is not None:
            _precise_extent(buf, scan)
            if not implicit and lacks_refs and _CONTENT_NO_REF.search(buf):
                implicit = True
        formula = (_ANY_FORMULA if prefixed else _PLAIN_FORMULA).search(buf, 0, limit)
        if formula or buf.find(b't="e"', 0, limit) >= 0:
            _formulas_and_errors(buf, limit, scan)
        for lo, hi in _outside_sheet_data(buf, limit):
            if buf.find(b"mergeCell", lo, hi) >= 0:  # a plain search first: the regex costs more per tag
                scan.merged += [r.group(1).decode() for r in _MERGE.finditer(buf, lo, hi)]
            protection = _PROTECTION.search(buf, lo, hi) if buf.find(b"sheetProtection", lo, hi) >= 0 else None
            if protection:
                scan.protected = not re.search(rb'\bsheet="(0|false)"', protection.group(1))
    if implicit:
        _implicit_extent(archive, part, scan)
    return scan


def _precise_extent(buf: bytes, scan: SheetScan) -> None:
    found = _CONTENT_REF.findall(buf)
    if found:
        letters, rows = zip(*found, strict=True)
        last = max(map(int, set(rows)))
        widest = max(set(letters), key=lambda f: (len(f), f))
        _reach(scan, letters[rows.index(str(last).encode())] if str(last).encode() in rows else widest, last)
        _reach(scan, widest, int(rows[letters.index(widest)]))


def _outside_sheet_data(buf: bytes, limit: int) -> list[tuple[int, int]]:
    """The stretches of `buf` before and after the cell data, where merges and protection live.

    Cell text cannot hold a tag, so the first and last "sheetData" found are the element's
    own tags; a buffer with neither (the middle of a huge sheet) is searched whole.
    """
    first = buf.find(b"sheetData", 0, limit)
    if first < 0:
        return [(0, limit)]
    return [(0, first), (buf.rfind(b"sheetData", 0, limit), limit)]


def _formulas_and_errors(buf: bytes, limit: int, scan: SheetScan) -> None:
    for m in _CELL_OPEN.finditer(buf):
        if m.start() >= limit:
            break
        ref = _R_CELL.search(m.group(1))
        if ref is None:
            continue
        letters, row = ref.group(1), int(ref.group(2))
        formula = _FORMULA.match(buf, m.end())
        if formula:
            scan.formulas[(letters.decode(), row)] = _unescape(formula.group(1) or b"")
        kind = _T_ATTR.search(m.group(1))
        if kind and kind.group(1) == b"e":
            value = _VALUE.search(buf, m.end(), m.end() + 4096)
            scan.errors[(letters.decode(), row)] = _unescape(value.group(1)) if value else "#ERROR"


def _reach(scan: SheetScan, letters: bytes, row: int) -> None:
    col = _col_index(letters)
    if row > scan.last_row:
        scan.last_row, scan.row_cell = row, f"{letters.decode()}{row}"
    if col > scan.last_col:
        scan.last_col, scan.col_cell = col, f"{letters.decode()}{row}"


def _implicit_extent(archive: zipfile.ZipFile, part: str, scan: SheetScan) -> None:
    """Cells without r="A1" sit after the previous one: count every row and cell (slow, rare)."""
    row = col = 0
    for buf, limit, _last in _chunks(archive, part):
        for m in _TOKEN.finditer(buf):
            if m.start() >= limit:
                break
            attrs = m.group(2)
            closed = attrs.endswith(b"/")
            if m.group(1) == b"row":
                r = _R_ROW.search(attrs)
                row, col = (int(r.group(1)) if r else row + 1), 0
                continue
            ref = _R_CELL.search(attrs)
            if ref:
                col, row = _col_index(ref.group(1)), int(ref.group(2))
            else:
                col += 1
            if not closed and not buf[m.end() : m.end() + 16].lstrip().startswith(b"</"):
                _reach(scan, column_letter(col - 1).encode(), max(row, 1))


def _unescape(raw: bytes) -> str:
    from html import unescape

    return unescape(raw.decode("utf-8", "replace"))


# --- the workbook ---------------------------------------------------------------------------


def _is_panic(exc: BaseException) -> bool:
    """A Rust panic inside calamine, raised by pyo3 as pyo3_runtime.PanicException (not an Exception)."""
    return type(exc).__name__ == "PanicException"


_DATE_LIMIT = 2958465  # 31/12/9999: no date cell holds a number beyond it, either way


def odd_xlsx_numbers(archive: zipfile.ZipFile, part: str) -> list[str]:
    """Cells holding numbers beyond any date (slow path, used only after the reader failed)."""
    found = []
    for buf, limit, _last in _chunks(archive, part):
        for m in _CELL_OPEN.finditer(buf):
            if m.start() >= limit:
                break
            kind = _T_ATTR.search(m.group(1))
            ref = _R_CELL.search(m.group(1))
            value = _VALUE.match(buf, m.end()) or _VALUE.search(buf, m.end(), m.end() + 2048)
            if ref is None or value is None or (kind and kind.group(1) not in (b"n",)):
                continue
            try:
                number = float(value.group(1))
            except ValueError:
                continue
            if abs(number) > _DATE_LIMIT:
                found.append(f"{ref.group(1).decode()}{ref.group(2).decode()}")
    return found


class _Parts:
    """Where each sheet's XML lives, and its scan (done once)."""

    def __init__(self, archive: zipfile.ZipFile, kind: str) -> None:
        self.archive, self.kind = archive, kind
        self._scans: dict[str, SheetScan] = {}
        self.parts = sheet_parts(archive) if kind != "ods" else {}
        self._ods: dict[str, SheetScan] | None = None

    def properties(self) -> dict[str, str]:
        if self.kind == "ods":
            return _ods_properties(self.archive)
        return read_custom_properties(self.archive)

    def odd_numbers(self, name: str) -> list[str]:
        part = self.parts.get(name)
        if self.kind == "ods" or part not in self.archive.NameToInfo:
            return []
        return odd_xlsx_numbers(self.archive, part)

    def ods_tables(self) -> list[str]:
        if self._ods is None:
            self._ods = scan_ods(self.archive)
        return list(self._ods)

    def scan(self, name: str) -> SheetScan:
        if self.kind == "ods":
            if self._ods is None:
                self._ods = scan_ods(self.archive)
            return self._ods.get(name, SheetScan())
        if name not in self._scans:
            part = self.parts.get(name)
            self._scans[name] = scan_xlsx_sheet(self.archive, part) if part in self.archive.NameToInfo else SheetScan()
        return self._scans[name]


def _read(ret: Return, data: bytes, report: Report, template_for: Any) -> None:
    from python_calamine import CalamineWorkbook

    archive = zipfile.ZipFile(io.BytesIO(data))
    parts = _Parts(archive, ret.sniffed.kind)
    props = parts.properties()
    if parts.kind == "ods":  # calamine reads every table of an .ods when it opens it: check them all first
        for name in parts.ods_tables():
            _check_extent(parts.scan(name), name)
    book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    names: list[str] = list(book.sheet_names)
    states = {m.name: str(m.visible).rsplit(".", 1)[-1].lower() for m in book.sheets_metadata}

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

    sheet_rows: list[list[Any]] = []
    if MANIFEST_SHEET in names:
        sheet_rows = cells_of(MANIFEST_SHEET)
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
    names: list[str], template: Template, cells_of: Callable[[str], list[list[Any]]], parts: _Parts
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
            "This workbook has no xlplan metadata, so it cannot be matched to a sponsor and cycle. "
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


_SHEET_REL = re.compile(rb"<(?:\w+:)?sheet\b([^>]*)>")
_NAME_ATTR = re.compile(rb'\bname="([^"]*)"')
_RID_ATTR = re.compile(rb'\br:id="([^"]*)"|\b\w+:id="([^"]*)"')
_REL = re.compile(rb"<(?:\w+:)?Relationship\b([^>]*)>")
_ID_ATTR = re.compile(rb'\bId="([^"]*)"')
_TARGET_ATTR = re.compile(rb'\bTarget="([^"]*)"')


def sheet_parts(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> the zip part holding its XML, from the workbook and its relationships."""
    from html import unescape

    try:
        workbook = archive.read("xl/workbook.xml")
        rels = archive.read("xl/_rels/workbook.xml.rels")
    except KeyError:
        return {}
    targets = {}
    for attrs in _REL.findall(rels):
        rid, target = _ID_ATTR.search(attrs), _TARGET_ATTR.search(attrs)
        if rid and target:
            targets[rid.group(1).decode()] = unescape(target.group(1).decode())
    out = {}
    for attrs in _SHEET_REL.findall(workbook):
        name, rid = _NAME_ATTR.search(attrs), _RID_ATTR.search(attrs)
        if not name or not rid:
            continue
        path = targets.get((rid.group(1) or rid.group(2)).decode(), "")
        out[unescape(name.group(1).decode())] = path.lstrip("/") if path.startswith("/") else f"xl/{path}"
    return out


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
            f"this plan expects version {template.version}: send the sponsor a workbook generated now."
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
        c1, c2 = _col_index(m1.group(1).encode()), _col_index(m2.group(1).encode())
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

    from xlplan.manifest import PREFIX

    try:
        data = archive.read("meta.xml")
    except KeyError:
        return {}
    ns = "{urn:oasis:names:tc:opendocument:xmlns:meta:1.0}"
    out: dict[str, str] = {}
    for prop in ElementTree.fromstring(data).iter(f"{ns}user-defined"):
        name = prop.get(f"{ns}name", "")
        if name.startswith(PREFIX):
            out[name.removeprefix(PREFIX)] = (prop.text or "").strip()
    return out


_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_MAX_REPEAT = 1 << 20


def scan_ods(archive: zipfile.ZipFile) -> dict[str, SheetScan]:
    """Walk content.xml (defusedxml, streaming): each table's protection, formulas, errors, merges, extent.

    Cells carry no address in OpenDocument: positions come from counting cells and rows,
    with their repeat counts (a million blank rows is one element repeated a million times).
    """
    from defusedxml.ElementTree import iterparse

    t = f"{{{_TABLE}}}"
    office = f"{{{_OFFICE}}}"
    calcext = "{urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0}"
    scans: dict[str, SheetScan] = {}
    scan: SheetScan | None = None
    row = col = 0
    row_repeat = 1
    with archive.open("content.xml") as stream:
        for event, el in iterparse(stream, events=("start", "end")):
            tag = el.tag
            if event == "start":
                if tag == f"{t}table":
                    scan = scans.setdefault(el.get(f"{t}name", ""), SheetScan())
                    scan.protected = el.get(f"{t}protected") == "true"
                    row = 0
                elif tag == f"{t}table-row":
                    row_repeat = min(int(el.get(f"{t}number-rows-repeated", "1") or 1), _MAX_REPEAT)
                    row += 1
                    col = 0
                continue
            if tag in (f"{t}table-cell", f"{t}covered-table-cell") and scan is not None:
                repeat = min(int(el.get(f"{t}number-columns-repeated", "1") or 1), _MAX_REPEAT)
                col += 1
                has_value = el.get(f"{office}value-type") is not None or len(el) > 0
                if has_value:
                    letters = column_letter(col + repeat - 2).encode()
                    _reach(scan, letters, row + row_repeat - 1)
                    letter = column_letter(col - 1)
                    formula = el.get(f"{t}formula")
                    if formula is not None:
                        scan.formulas[(letter, row)] = formula.split(":", 1)[-1].lstrip("=")
                    if el.get(f"{calcext}value-type") == "error":  # LibreOffice marks a formula's error result
                        scan.errors[(letter, row)] = "".join(el.itertext()).strip()[:20] or "#ERROR"
                span_c = int(el.get(f"{t}number-columns-spanned", "1") or 1)
                span_r = int(el.get(f"{t}number-rows-spanned", "1") or 1)
                if span_c > 1 or span_r > 1:
                    first = f"{column_letter(col - 1)}{row}"
                    scan.merged.append(f"{first}:{column_letter(col + span_c - 2)}{row + span_r - 1}")
                col += repeat - 1
                el.clear()
            elif tag == f"{t}table-row":
                row += row_repeat - 1
                el.clear()
    return scans


def workbook_problem(data: bytes) -> str:
    """Why a workbook we did not make (the officer's plan.xlsx) cannot safely be opened, or ''.

    The same checks a return gets before calamine sees it: what the file really is, and
    whether a sheet reaches so far that building its grid would exhaust memory.
    """
    sniffed = sniff(data)
    if not sniffed.readable and sniffed.kind != "ods":
        kind = {
            "not-a-workbook": "it is not a workbook",
            "xls": "it is an old .xls file",
            "encrypted": "it is password-protected",
        }.get(sniffed.kind, sniffed.kind.replace("-", " "))
        return f"cannot be read as an Excel workbook ({kind}). Open it in Excel and save it as Excel Workbook (.xlsx)."
    parts = _Parts(zipfile.ZipFile(io.BytesIO(data)), sniffed.kind)
    names = parts.ods_tables() if sniffed.kind == "ods" else list(parts.parts)
    for name in names:
        far = parts.scan(name).too_far()
        if far:
            return (
                f"the '{name}' sheet has content as far as cell {far}: delete everything below and to the "
                "right of the table (Ctrl+End shows the last cell in use) and save it."
            )
    return ""
