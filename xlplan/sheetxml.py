"""Worksheet cells written as OOXML by hand, streamed into a package xlsxwriter made.

xlsxwriter keeps an object per cell and spends ~7 µs on each; at national scale the
master tracker holds a million cells and the returns 650,000. So xlsxwriter writes a
workbook's structure (styles, widths, panes, filters, validation, protection, print
setup, charts) and the cells of the big sheets are built here as row XML
(``SheetData``) and put into the file by ``pack``, compressed where they were built
(``zipwriter``). Text is only ever an inline string: never a formula, a link or a number.

These are the XML strings only: which type and style a value is written with, how tall
a row is, and which dates Excel can show are ``look``'s (``look.cell_writer``).
"""

from __future__ import annotations

import io
import itertools
import re
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from xlsxwriter.format import Format
from xlsxwriter.utility import xl_col_to_name

from xlplan.ooxml import sheet_parts
from xlplan.values import excel_length
from xlplan.zipwriter import Deflated, ZipWriter, deflate

# xlsxwriter's options for a package that `pack` finishes: kept in memory, and text is
# never turned into a formula, a link or a number.
BOOK_OPTIONS = {
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
    "in_memory": True,
}
CELL_LIMIT = 32_767  # Excel's limit for one cell
_ROWS_PER_CHUNK = 2_000


class SheetData:
    """The cells of one worksheet as OOXML ``<row>`` elements, written strictly in row order.

    xlsxwriter keeps an object per cell and serialises it at close (~7 µs a cell); here a
    row is one string. Values are typed by the caller's cell writers (one ``CellXml`` per
    column, or a function per cell): text is always an inline string, never a formula or a link.
    """

    def __init__(self, deferred: bool = False) -> None:
        self.rows: list[str] = []
        self.last_row = -1
        self.last_col = 0
        # Deferred: only the extent is kept here; another process builds the cells (master.build)
        # and hands them over compressed, in `compressed`.
        self.deferred = deferred
        self.compressed: Deflated | Future[Deflated] | None = None
        self.banners: list[int] = []  # rows merged across every column the sheet has (`banner`)

    def add(self, row: int, cells: Sequence[str], width: int, height: float | None = None) -> None:
        if row <= self.last_row:
            raise ValueError(f"row {row + 1} written after row {self.last_row + 1}: rows go in order")
        self.last_row = row
        self.last_col = max(self.last_col, width - 1)
        size = f' ht="{height:g}" customHeight="1"' if height else ""
        self.rows.append(f'<row r="{row + 1}"{size}>{"".join(cells)}</row>')

    def write(
        self,
        row: int,
        writers: Sequence[CellXml],
        values: Sequence[Any],
        height: float | None = None,
    ) -> None:
        """One row of values; None and "" are left as empty cells (look.wrapped_height
        gives the `height` that shows wrapped text)."""
        if self.deferred:
            self.add(row, (), len(values))
            return
        n = row + 1
        cells = [writers[c](n, value) for c, value in enumerate(values) if value is not None and value != ""]
        self.add(row, cells, len(values), height)

    def banner(self, row: int, cell: str, height: float | None = None) -> None:
        """A row of one text cell merged across the whole sheet, so that wrapped text (a
        long title or help line) shows within the printed page rather than running past it."""
        self.add(row, [cell] if not self.deferred else [], 1, height)
        self.banners.append(row)

    def merge_cells(self) -> bytes:
        """The <mergeCells> element of the banner rows, across columns A to the last used."""
        if not self.banners or self.last_col == 0:
            return b""
        last = LETTERS[self.last_col]
        refs = "".join(f'<mergeCell ref="A{r + 1}:{last}{r + 1}"/>' for r in self.banners)
        return f'<mergeCells count="{len(self.banners)}">{refs}</mergeCells>'.encode()

    @property
    def dimension(self) -> str:
        if self.last_row < 0:
            return "A1"
        return f"A1:{LETTERS[self.last_col]}{self.last_row + 1}"

    def deflated(self) -> Deflated:
        """The <sheetData> element, compressed: by a worker or a thread, or else now."""
        if isinstance(self.compressed, Future):
            self.compressed = self.compressed.result()
        if self.compressed is None:
            self.compressed = deflate(self.chunks())
        return self.compressed

    def chunks(self) -> Iterator[bytes]:
        """The <sheetData> element, as UTF-8."""
        yield b"<sheetData>"
        rows = self.rows
        for start in range(0, len(rows), _ROWS_PER_CHUNK):
            # "replace": a lone surrogate from a return becomes "?" rather than corrupt XML
            yield "".join(rows[start : start + _ROWS_PER_CHUNK]).encode("utf-8", "replace")
        yield b"</sheetData>"


LETTERS = [xl_col_to_name(c) for c in range(702)]  # A..ZZ
_SPECIAL = re.compile(r"[&<>\x00-\x08\x0b-\x1f\ufffe\uffff]|_x[0-9A-Fa-f]{4}_")
_ESCAPE_X = re.compile(r"(_x[0-9A-Fa-f]{4}_)")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\ufffe\uffff]")
BLANK = object()  # a value written as an empty cell that keeps its format (a band, a rule)

CellXml = Callable[[int, Any], str]  # (1-based row number, value) -> the <c> element of one column


def xml_text(text: str, limit: int) -> str:
    """Text as OOXML stores it: cut to `limit` UTF-16 units (`fits`), &<> escaped, control
    characters as _xHHHH_ (as Excel does), and a literal "_x0041_" kept from reading back as "A"."""
    if len(text) > limit >> 1 and not fits(text, limit):
        text = cut(text, limit - 1) + "…"
    if text.isprintable() and "&" not in text and "<" not in text and ">" not in text and "_x" not in text:
        return text  # nearly every cell: four scans in C beat one regular expression
    if not _SPECIAL.search(text):
        return text
    text = _ESCAPE_X.sub(r"_x005F\1", text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _CONTROL.sub(lambda m: f"_x{ord(m.group()):04X}_", text)


def fits(text: str, limit: int) -> bool:
    """Whether `text` is at most `limit` characters as Excel counts them: in UTF-16 units,
    so a character beyond the BMP (an emoji) counts 2. Excel repairs a file with a cell
    over 32,767 of them."""
    return len(text) <= limit >> 1 or excel_length(text) <= limit  # at most 2 units a character


def cut(text: str, units: int) -> str:
    """The longest start of `text` of at most `units` UTF-16 units, never half a surrogate pair."""
    head = text.encode("utf-16-le", "surrogatepass")[: units * 2]
    if head and 0xD8 <= head[-1] <= 0xDB:  # a high surrogate whose low half was cut off
        head = head[:-2]
    return head.decode("utf-16-le", "surrogatepass")


def cell_start(c: int) -> str:
    return f'<c r="{LETTERS[c]}'


def text_style(style: int) -> tuple[str, str]:
    """What goes between a text cell's row number and its text: as it is, and for text
    with spaces at either end, which XML would otherwise let a reader strip."""
    return f'" s="{style}" t="inlineStr"><is><t>', f'" s="{style}" t="inlineStr"><is><t xml:space="preserve">'


def text_cell(start: str, n: int, mids: tuple[str, str], text: str) -> str:
    spaced = text[0] <= " " or text[-1] <= " "  # only space, tab, newline are left unescaped
    return f"{start}{n}{mids[spaced]}{text}</t></is></c>"


def xf(fmt: Format) -> int:
    """The style index of `fmt` in styles.xml.

    xlsxwriter gives a format its index when a cell first uses it (this same call);
    cells written here never pass through xlsxwriter, so their formats are registered
    here, before the workbook is closed.
    """
    return int(fmt._get_xf_index())


def pack(package: bytes, path: Path, data: Mapping[str, SheetData]) -> None:
    """Copy xlsxwriter's package to `path`, each SheetData's cells in its sheet's part."""
    with zipfile.ZipFile(io.BytesIO(package)) as source, path.open("wb") as stream:
        by_part = {part: data[name] for name, part in sheet_parts(source).items() if name in data}
        if len(by_part) != len(data):  # never leave a sheet empty because its part was not found
            raise RuntimeError(f"sheet parts not found for {sorted(set(data) - set(by_part))}")
        out = ZipWriter(stream)
        for info in source.infolist():
            body = source.read(info)
            sheet = by_part.get(info.filename)
            if sheet is None:
                out.write(info.filename, info.date_time, [deflate([body])])
                continue
            head, tail = _around_sheet_data(body, info.filename)
            tail = with_merges(tail, sheet.merge_cells(), info.filename)
            head = re.sub(rb'<dimension ref="[^"]*"/>', f'<dimension ref="{sheet.dimension}"/>'.encode(), head, count=1)
            if sheet.compressed is None:  # one stream, as zipfile would write it
                out.write(info.filename, info.date_time, [deflate(itertools.chain([head], sheet.chunks(), [tail]))])
            else:  # compressed by a worker or a thread: joined to its head and tail
                out.write(info.filename, info.date_time, [deflate([head]), sheet.deflated(), deflate([tail])])
        out.close()


# What may follow <mergeCells> in a worksheet (ECMA-376 Part 1, CT_Worksheet), in order:
# the merges go before the first of these that xlsxwriter wrote.
_AFTER_MERGE_CELLS = (
    b"<phoneticPr", b"<conditionalFormatting", b"<dataValidations", b"<hyperlinks", b"<printOptions",
    b"<pageMargins", b"<pageSetup", b"<headerFooter", b"<rowBreaks", b"<colBreaks", b"<customProperties",
    b"<cellWatches", b"<ignoredErrors", b"<smartTags", b"<drawing", b"<legacyDrawing", b"<legacyDrawingHF",
    b"<picture", b"<oleObjects", b"<controls", b"<webPublishItems", b"<tableParts", b"<extLst", b"</worksheet>",
)  # fmt: skip


def with_merges(tail: bytes, merges: bytes, part: str) -> bytes:
    """The sheet XML after <sheetData>, with `merges` (a <mergeCells> element) where the
    format puts it."""
    if not merges:
        return tail
    if b"<mergeCells" in tail:
        raise RuntimeError(f"{part}: cells were merged through xlsxwriter on a SheetData sheet")
    at = min(i for i in (tail.find(tag) for tag in _AFTER_MERGE_CELLS) if i >= 0)
    return tail[:at] + merges + tail[at:]


def _around_sheet_data(body: bytes, part: str) -> tuple[bytes, bytes]:
    """The sheet XML before and after xlsxwriter's <sheetData>, which must hold no cell.

    It is empty, or holds only bare <row> elements where a comment was anchored."""
    start = body.find(b"<sheetData")
    if start < 0:
        raise RuntimeError(f"{part}: no sheetData element")
    if body.startswith(b"<sheetData/>", start):
        return body[:start], body[start + len(b"<sheetData/>") :]
    end = body.index(b"</sheetData>", start) + len(b"</sheetData>")
    if b"<c " in body[start:end] or b"<c>" in body[start:end]:
        raise RuntimeError(f"{part}: cells were written through xlsxwriter on a SheetData sheet")
    return body[:start], body[end:]
