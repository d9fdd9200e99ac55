"""The extent scan: what a sheet holds and how far it reaches, found before calamine reads it.

calamine builds a dense grid from the first to the last cell holding a value, so one
character typed in XFD1048576 would make it allocate 17 billion cells and abort the
process. Each sheet of an untrusted workbook (a return, the officer's plan.xlsx) is
therefore scanned first, and refused, naming that cell, when its content reaches
further than any return can need (``SheetScan.too_far``, ``workbook_problem``).

The same single pass collects what calamine does not say: sheet protection, formulas,
error values (#DIV/0!, which calamine reads as '') and merged cells.

- ``.xlsx``: the sheet XML is streamed in 1 MB chunks and searched with regular
  expressions, never an XML parser that would expand entities. Cells normally carry
  their address (``<c r="B7">``), which makes the fast path; cells and rows written
  without ``r=`` sit after the previous one and are counted one by one (the slow path).
- ``.ods``: content.xml is walked with defusedxml; cells carry no address, so positions
  come from counting cells and rows with their repeat counts.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from html import unescape
from typing import Any

from xlplan.look import LAST_SERIAL
from xlplan.ooxml import sheet_parts
from xlplan.sniff import sniff
from xlplan.values import column_letter

MAX_ROWS = 100_000  # far more than any plan; content below this is refused, not silently dropped
MAX_COLUMNS = 200  # headers are looked for in the first 200 columns
MAX_CELLS = 2_600_000  # rows x columns calamine may allocate for one sheet (~32 bytes each): Z99999
_CHUNK = 1 << 20
_MARGIN = 64 * 1024  # bytes kept ahead of a tag being scanned, for its content


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
    # .ods only (an .xlsx keeps them in other parts: `percent_cells`, `cell_notes`)
    percent: set[str] = field(default_factory=set)  # cells holding a percentage ("L5")
    notes: dict[str, str] = field(default_factory=dict)  # "L5" -> the note left on it

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


def column_number(letters: bytes) -> int:
    """1-based index of a column's letters: b"A" -> 1, b"AA" -> 27."""
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n


def _chunks(archive: zipfile.ZipFile, part: str) -> Iterator[tuple[bytes, int]]:
    """(buffer, limit): tags starting before `limit` are scanned in this buffer, with
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
            yield buf, limit
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
    A sheet with cells lacking r= gets a second pass that counts every row and cell
    (`_implicit_cells`): the slow path.
    """
    scan = SheetScan()
    implicit = False
    for buf, limit in _chunks(archive, part):
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
        _implicit_cells(archive, part, scan)
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
    """The formulas and error values of the cells written with r="A1" (those without are
    found by `_implicit_cells`)."""
    for m in _CELL_OPEN.finditer(buf):
        if m.start() >= limit:
            break
        ref = _R_CELL.search(m.group(1))
        if ref is not None:
            _formula_or_error(buf, m.end(), m.group(1), ref.group(1).decode(), int(ref.group(2)), scan)


def _formula_or_error(buf: bytes, end: int, attrs: bytes, letters: str, row: int, scan: SheetScan) -> None:
    """Note the formula or error value of the cell whose opening tag (with `attrs`) ends at `end`."""
    formula = _FORMULA.match(buf, end)
    if formula:
        scan.formulas[(letters, row)] = _unescape(formula.group(1) or b"")
    kind = _T_ATTR.search(attrs)
    if kind and kind.group(1) == b"e":
        value = _VALUE.search(buf, end, end + 4096)
        scan.errors[(letters, row)] = _unescape(value.group(1)) if value else "#ERROR"


def _reach(scan: SheetScan, letters: bytes, row: int) -> None:
    col = column_number(letters)
    if row > scan.last_row:
        scan.last_row, scan.row_cell = row, f"{letters.decode()}{row}"
    if col > scan.last_col:
        scan.last_col, scan.col_cell = col, f"{letters.decode()}{row}"


def _implicit_cells(archive: zipfile.ZipFile, part: str, scan: SheetScan) -> None:
    """Extent, formulas and error values of a sheet whose cells lack r="A1" (slow, rare)."""
    for buf, cell, letters, row in _cells_in_order(archive, part):
        _reach(scan, letters.encode(), row)
        _formula_or_error(buf, cell.end(), cell.group(2), letters, row, scan)


def _cells_in_order(archive: zipfile.ZipFile, part: str) -> Iterator[tuple[bytes, re.Match[bytes], str, int]]:
    """Every cell with content: (buffer, its opening tag, column letters, row), placed as a
    reader places them: a cell without r="A1" sits after the previous one, a row without
    r="5" after the previous row."""
    row = col = 0
    for buf, limit in _chunks(archive, part):
        for m in _TOKEN.finditer(buf):
            if m.start() >= limit:
                break
            attrs = m.group(2)
            if m.group(1) == b"row":
                r = _R_ROW.search(attrs)
                row, col = (int(r.group(1)) if r else row + 1), 0
                continue
            ref = _R_CELL.search(attrs)
            if ref:
                col, row = column_number(ref.group(1)), int(ref.group(2))
            else:
                col += 1
            if not attrs.endswith(b"/") and not buf[m.end() : m.end() + 16].lstrip().startswith(b"</"):
                yield buf, m, column_letter(col - 1), max(row, 1)


def _unescape(raw: bytes) -> str:
    return unescape(raw.decode("utf-8", "replace"))


def odd_xlsx_numbers(archive: zipfile.ZipFile, part: str) -> list[str]:
    """Cells holding numbers beyond any date (slow path, used only after the reader failed)."""
    found = []
    for buf, cell, letters, row in _cells_in_order(archive, part):
        kind = _T_ATTR.search(cell.group(2))
        if kind and kind.group(1) != b"n":
            continue
        value = _VALUE.match(buf, cell.end()) or _VALUE.search(buf, cell.end(), cell.end() + 2048)
        try:
            number = float(value.group(1)) if value else 0.0
        except ValueError:
            continue
        if abs(number) > LAST_SERIAL:  # beyond any date, either way
            found.append(f"{letters}{row}")
    return found


class WorkbookScan:
    """Where each sheet's XML lives, and its scan (done once)."""

    def __init__(self, archive: zipfile.ZipFile, kind: str) -> None:
        self.archive, self.kind = archive, kind
        self._scans: dict[str, SheetScan] = {}
        self.parts = sheet_parts(archive) if kind != "ods" else {}
        self._ods: dict[str, SheetScan] | None = None

    def odd_numbers(self, name: str) -> list[str]:
        part = self.parts.get(name)
        if self.kind == "ods" or part not in self.archive.NameToInfo:
            return []
        return odd_xlsx_numbers(self.archive, part)

    def ods_tables(self) -> list[str]:
        if self._ods is None:
            self._ods = scan_ods(self.archive)
        return list(self._ods)

    def percent_cells(self, name: str) -> frozenset[str]:
        """Cells of sheet `name` formatted as a percentage."""
        if self.kind == "ods":
            return frozenset(self.scan(name).percent)
        part = self.parts.get(name)
        if part is None:
            return frozenset()
        return percent_cells(self.archive, part, percent_styles(self.archive))

    def notes(self, name: str) -> dict[str, str]:
        """The cell notes and comments on sheet `name`, but xlplan's own."""
        if self.kind == "ods":
            return dict(self.scan(name).notes)
        part = self.parts.get(name)
        if part is None:
            return {}
        return cell_notes(self.archive, part)

    def scan(self, name: str) -> SheetScan:
        if self.kind == "ods":
            if self._ods is None:
                self._ods = scan_ods(self.archive)
            return self._ods.get(name, SheetScan())
        if name not in self._scans:
            part = self.parts.get(name)
            self._scans[name] = scan_xlsx_sheet(self.archive, part) if part in self.archive.NameToInfo else SheetScan()
        return self._scans[name]


# --- OpenDocument (.ods) -------------------------------------------------------------------


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
                    if el.get(f"{office}value-type") == "percentage":  # 0.93 shown as 93%
                        scan.percent.add(f"{letter}{row}")
                    note = _ods_note(el, office)
                    if note:
                        scan.notes[f"{letter}{row}"] = note
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


def _ods_note(cell: Any, office: str) -> str:
    """The text of the note (office:annotation) on an .ods cell, unless xlplan wrote it."""
    for child in cell:
        if child.tag != f"{office}annotation":
            continue
        creator = next((c.text or "" for c in child if c.tag.endswith("}creator")), "")
        if creator == OUR_AUTHOR:
            return ""
        lines = ["".join(p.itertext()) for p in child if p.tag.endswith("}p")]
        return "\n".join(lines).strip()
    return ""


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
    parts = WorkbookScan(zipfile.ZipFile(io.BytesIO(data)), sniffed.kind)
    names = parts.ods_tables() if sniffed.kind == "ods" else list(parts.parts)
    for name in names:
        far = parts.scan(name).too_far()
        if far:
            return (
                f"the '{name}' sheet has content as far as cell {far}: delete everything below and to the "
                "right of the table (Ctrl+End shows the last cell in use) and save it."
            )
    return ""


# --- what people see but calamine does not say: percent formats and cell notes ----------

_STYLE_ATTR = re.compile(rb'\bs="(\d{1,6})"')
_BUILTIN_PERCENT = {9, 10}  # 0% and 0.00%
_QUOTED = re.compile(r'"[^"]*"|\\.|\[[^\]]*\]')


def percent_styles(archive: zipfile.ZipFile) -> frozenset[int]:
    """The cell style indices (cellXfs) whose number format shows a percentage."""
    from defusedxml.ElementTree import fromstring

    try:
        root = fromstring(archive.read("xl/styles.xml"))
    except KeyError:
        return frozenset()
    custom: set[int] = set()
    for element in root.iter():
        if element.tag.rsplit("}", 1)[-1] == "numFmt":
            code = _QUOTED.sub("", element.get("formatCode", ""))
            if "%" in code:
                custom.add(int(element.get("numFmtId", "-1")))
    percent = _BUILTIN_PERCENT | custom
    for element in root.iter():
        if element.tag.rsplit("}", 1)[-1] == "cellXfs":
            xfs = [xf for xf in element if xf.tag.rsplit("}", 1)[-1] == "xf"]
            return frozenset(n for n, xf in enumerate(xfs) if int(xf.get("numFmtId", "0") or 0) in percent)
    return frozenset()


def percent_cells(archive: zipfile.ZipFile, part: str, styles: frozenset[int]) -> frozenset[str]:
    """The cells ("L5") of a sheet whose number format shows a percentage (`percent_styles`)."""
    if not styles or part not in archive.NameToInfo:
        return frozenset()
    found: set[str] = set()
    for buf, limit in _chunks(archive, part):
        for match in _CELL_OPEN.finditer(buf, 0, limit):
            attrs = match.group(1)
            style, ref = _STYLE_ATTR.search(attrs), _R_CELL.search(attrs)
            if style and ref and int(style.group(1)) in styles:
                found.add(f"{ref.group(1).decode()}{ref.group(2).decode()}")
    return frozenset(found)


OUR_AUTHOR = "xlplan"  # the notes xlplan writes itself (an annotated copy's): not the sponsor's


def cell_notes(archive: zipfile.ZipFile, part: str) -> dict[str, str]:
    """A sheet's cell notes and comments ("L5" -> text), as Excel and LibreOffice save them
    (legacy comments; Excel's threaded comments carry a copy there), but xlplan's own."""
    from defusedxml.ElementTree import fromstring

    folder, _, name = part.rpartition("/")
    rels = f"{folder}/_rels/{name}.rels"
    if rels not in archive.NameToInfo:
        return {}
    out: dict[str, str] = {}
    for attrs in re.findall(rb"<(?:\w+:)?Relationship\b([^>]*)>", archive.read(rels)):
        kind, target = re.search(rb'\bType="([^"]*)"', attrs), re.search(rb'\bTarget="([^"]*)"', attrs)
        if not kind or not target or not kind.group(1).endswith(b"/comments"):
            continue
        path = unescape(target.group(1).decode())
        path = path.lstrip("/") if path.startswith("/") else _join(folder, path)
        if path not in archive.NameToInfo:
            continue
        root = fromstring(archive.read(path))
        authors = [a.text or "" for a in root.iter() if a.tag.rsplit("}", 1)[-1] == "author"]
        for comment in root.iter():
            if comment.tag.rsplit("}", 1)[-1] != "comment":
                continue
            author_id = int(comment.get("authorId", "-1") or -1)
            if 0 <= author_id < len(authors) and authors[author_id] == OUR_AUTHOR:
                continue
            text = "".join(t.text or "" for t in comment.iter() if t.tag.rsplit("}", 1)[-1] == "t").strip()
            if text and comment.get("ref"):
                out[comment.get("ref", "")] = text
    return out


def _join(folder: str, target: str) -> str:
    parts = folder.split("/")
    for piece in target.split("/"):
        if piece == "..":
            parts = parts[:-1]
        elif piece not in ("", "."):
            parts.append(piece)
    return "/".join(parts)
