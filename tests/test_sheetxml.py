"""The exact XML of the cells `sheetxml` writes by hand, as XlsxWriter tests its element writers.

Excel repairs a file (or shows a formula where text was typed) on a single wrong byte, and
LibreOffice and the Python readers forgive most of them, so each cell is compared as
text; one round trip through calamine, xlplan's reader, closes the loop.
"""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime
from pathlib import Path

import pytest
import xlsxwriter
from python_calamine import CalamineWorkbook

from xlplan.look import CellStyles, Wrapped, cell_writer, excel_serial, wrapped_height
from xlplan.sheetxml import (
    BOOK_OPTIONS,
    CELL_LIMIT,
    SheetData,
    cell_start,
    fits,
    pack,
    text_cell,
    text_style,
    with_merges,
    xf,
    xml_text,
)

EMOJI = "\U0001f600"  # beyond the BMP: two UTF-16 units


def _text(text: str, style: int = 3, limit: int = CELL_LIMIT) -> str:
    """A text cell in B7, built as the writers build one."""
    return text_cell(cell_start(1), 7, text_style(style), xml_text(text, limit))


# --- where a cell is ----------------------------------------------------------------------


@pytest.mark.parametrize(("c", "start"), [(0, '<c r="A'), (25, '<c r="Z'), (26, '<c r="AA'), (701, '<c r="ZZ')])
def test_cell_start(c: int, start: str) -> None:
    assert cell_start(c) == start


# --- each kind of cell --------------------------------------------------------------------


def test_text_is_an_inline_string() -> None:
    assert _text("Done") == '<c r="B7" s="3" t="inlineStr"><is><t>Done</t></is></c>'


def test_text_style_gives_both_openings() -> None:
    assert text_style(12) == (
        '" s="12" t="inlineStr"><is><t>',
        '" s="12" t="inlineStr"><is><t xml:space="preserve">',
    )


@pytest.mark.parametrize("text", [" lead", "trail ", "\tindented", "ends with a newline\n"])
def test_text_with_space_at_either_end_is_preserved(text: str) -> None:
    assert _text(text) == f'<c r="B7" s="3" t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'


def test_space_inside_text_needs_no_preserve() -> None:
    assert _text("two\nlines") == '<c r="B7" s="3" t="inlineStr"><is><t>two\nlines</t></is></c>'


@pytest.mark.parametrize("text", ["=SUM(A1:A3)", "=1+1", "{=A1}", "+44 20 7946 0000", "-5", "@user", "http://x.org"])
def test_text_that_looks_like_a_formula_a_number_or_a_link_stays_text(text: str) -> None:
    cell = _text(text)
    assert cell == f'<c r="B7" s="3" t="inlineStr"><is><t>{text}</t></is></c>'
    assert "<f>" not in cell and "<v>" not in cell


def _number(c: int, n: int, style: int, value: float) -> str:
    return cell_writer(c, "number", CellStyles(style, integer=style, decimal=style))(n, value)


def _blank(c: int, n: int, style: int) -> str:
    return cell_writer(c, "text", CellStyles(style), blanks=True)(n, None)


def _date(c: int, n: int, style: int, day: date) -> str:
    return cell_writer(c, "date", CellStyles(style, date=style))(n, day)


@pytest.mark.parametrize(
    ("value", "xml"),
    [(0, "0"), (42, "42"), (-7, "-7"), (0.1, "0.1"), (2.5, "2.5"), (1e20, "1e+20"), (1 / 3, "0.3333333333333333")],
)
def test_number(value: float, xml: str) -> None:
    assert _number(2, 9, 5, value) == f'<c r="C9" s="5"><v>{xml}</v></c>'


def test_blank_keeps_its_style() -> None:
    assert _blank(0, 1, 8) == '<c r="A1" s="8"/>'


def test_date_is_its_serial() -> None:
    assert _date(3, 4, 6, date(2024, 3, 1)) == '<c r="D4" s="6"><v>45352</v></c>'


def test_a_datetime_in_a_date_cell_is_its_day() -> None:
    """calamine gives a datetime for a date cell holding a time: a sponsor's own value in a
    feedback copy (generate._cell compared it with a date and raised TypeError)."""
    assert _date(3, 4, 6, datetime(2024, 3, 1, 12, 0)) == '<c r="D4" s="6"><v>45352</v></c>'


def test_a_date_excel_cannot_show_is_written_as_text() -> None:
    assert _date(3, 4, 6, date(1900, 2, 28)) == '<c r="D4" s="6" t="inlineStr"><is><t>28/02/1900</t></is></c>'


# --- dates --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "serial"),
    [
        (date(1900, 3, 1), 61),  # the first day after Excel's 29/02/1900, which never was
        (date(2024, 2, 29), 45351),
        (date(2024, 3, 1), 45352),
        (date(9999, 12, 31), 2958465),  # Excel's last day, and Python's (date.max)
    ],
)
def test_excel_serial(day: date, serial: int) -> None:
    assert excel_serial(day) == serial


@pytest.mark.parametrize("day", [date(1900, 2, 28), date(1900, 1, 1), date(1899, 12, 31), date(1, 1, 1)])
def test_no_serial_before_1900_03_01(day: date) -> None:
    """Before it, Excel's serials are off by one (its 29/02/1900), and before 1900 there are none."""
    assert excel_serial(day) is None


def test_no_date_after_9999_12_31_exists_to_write() -> None:
    assert date.max == date(9999, 12, 31)  # so excel_serial never sees a day Excel cannot hold
    with pytest.raises(OverflowError):
        date.max + (date(2000, 1, 2) - date(2000, 1, 1))


# --- escaping -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "xml"),
    [
        ("R&D", "R&amp;D"),
        ("a < b > c", "a &lt; b &gt; c"),
        ("<script>&amp;", "&lt;script&gt;&amp;amp;"),
        ('say "hi" it\'s', 'say "hi" it\'s'),  # quotes need no escape in element text
        ("x\x01y", "x_x0001_y"),  # control characters as Excel writes them
        ("\x00\x08\x0b\x0c\x1f", "_x0000__x0008__x000B__x000C__x001F_"),
        ("CR\rLF", "CR_x000D_LF"),  # XML would turn a raw CR into a newline
        ("tab\tnewline\n", "tab\tnewline\n"),
        ("\ufffe\uffff", "_xFFFE__xFFFF_"),  # not XML characters
        ("_x0041_", "_x005F_x0041_"),  # else it reads back as "A"
        ("_x004a_ and _X0041_", "_x005F_x004a_ and _X0041_"),  # the escape is lower-case x only
        ("_x41_ _x00411_", "_x41_ _x00411_"),  # not four hex digits between _x and _
        ("naïve 名前 " + EMOJI, "naïve 名前 " + EMOJI),
    ],
)
def test_xml_text_escapes(text: str, xml: str) -> None:
    assert xml_text(text, CELL_LIMIT) == xml


def test_escaped_text_in_a_cell() -> None:
    assert _text("Q&A <draft>") == '<c r="B7" s="3" t="inlineStr"><is><t>Q&amp;A &lt;draft&gt;</t></is></c>'


def test_a_control_character_at_the_start_is_escaped_not_preserved() -> None:
    assert _text("\x01x") == '<c r="B7" s="3" t="inlineStr"><is><t>_x0001_x</t></is></c>'


# --- Excel's 32,767 characters, counted in UTF-16 units -----------------------------------


def test_text_at_the_limit_is_kept_whole() -> None:
    assert xml_text("a" * CELL_LIMIT, CELL_LIMIT) == "a" * CELL_LIMIT
    at_limit = EMOJI * 16_383 + "a"  # 32,767 units
    assert xml_text(at_limit, CELL_LIMIT) == at_limit


def test_text_over_the_limit_is_cut_with_an_ellipsis() -> None:
    assert xml_text("a" * (CELL_LIMIT + 1), CELL_LIMIT) == "a" * (CELL_LIMIT - 1) + "…"


def test_an_emoji_counts_two() -> None:
    """16,384 emoji are 32,768 UTF-16 units: one too many for Excel, which repairs the file."""
    assert xml_text(EMOJI * 16_384, CELL_LIMIT) == EMOJI * 16_383 + "…"


def test_a_surrogate_pair_is_never_cut_in_two() -> None:
    cut = xml_text("a" + EMOJI * 16_384, CELL_LIMIT)
    assert cut == "a" + EMOJI * 16_382 + "…"  # 32,766 units: half an emoji more would not be one
    assert len(cut.encode("utf-16-le")) // 2 == CELL_LIMIT - 1


@pytest.mark.parametrize(
    ("text", "limit", "cut"),
    [
        ("abcdef", 4, "abc…"),
        (EMOJI * 5, 5, EMOJI * 2 + "…"),
        ("ab" + EMOJI, 4, "ab" + EMOJI),
        ("abc" + EMOJI, 4, "abc…"),
    ],
)
def test_a_shorter_limit_counts_the_same_way(text: str, limit: int, cut: str) -> None:
    assert xml_text(text, limit) == cut


def test_the_limit_is_counted_before_escaping() -> None:
    """Excel counts the characters a cell holds, not the bytes of their escapes."""
    assert xml_text("&" * CELL_LIMIT, CELL_LIMIT) == "&amp;" * CELL_LIMIT


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [("a" * 10, 10, True), ("a" * 11, 10, False), (EMOJI * 5, 10, True), (EMOJI * 5 + "a", 10, False), ("", 0, True)],
)
def test_fits(text: str, limit: int, expected: bool) -> None:
    assert fits(text, limit) is expected


# --- rows ---------------------------------------------------------------------------------


def test_rows_in_order_with_their_height() -> None:
    data = SheetData()
    data.add(0, ['<c r="A1" s="1"/>'], 3)
    data.add(4, [], 2, 30)
    assert data.rows == ['<row r="1"><c r="A1" s="1"/></row>', '<row r="5" ht="30" customHeight="1"></row>']
    assert data.dimension == "A1:C5"
    assert b"".join(data.chunks()) == (
        b'<sheetData><row r="1"><c r="A1" s="1"/></row><row r="5" ht="30" customHeight="1"></row></sheetData>'
    )


def test_a_row_out_of_order_is_refused() -> None:
    data = SheetData()
    data.add(3, [], 1)
    with pytest.raises(ValueError, match="row 3 written after row 4"):
        data.add(2, [], 1)


def test_an_empty_sheet_is_a1() -> None:
    assert SheetData().dimension == "A1"


def test_write_leaves_none_and_empty_text_out() -> None:
    data = SheetData()
    writers = [lambda n, v, c=c: text_cell(cell_start(c), n, text_style(0), xml_text(v, CELL_LIMIT)) for c in range(3)]
    data.write(1, writers, ["x", None, ""])
    assert data.rows == ['<row r="2"><c r="A2" s="0" t="inlineStr"><is><t>x</t></is></c></row>']
    assert data.dimension == "A1:C2"


def test_write_makes_wrapped_text_tall_enough() -> None:
    data = SheetData()
    values = ["word " * 30]
    data.write(0, [lambda n, v: ""], values, wrapped_height(values, [Wrapped(0, 50, CELL_LIMIT)]))
    assert data.rows == ['<row r="1" ht="43.5" customHeight="1"></row>']  # 3 lines of 13.5 points, + 3
    assert wrapped_height(["short"], [Wrapped(0, 50, CELL_LIMIT)]) is None


def test_a_lone_surrogate_becomes_a_question_mark_not_broken_utf8() -> None:
    data = SheetData()
    data.add(0, [_text("bad \ud800 half")], 1)
    assert b"bad ? half" in b"".join(data.chunks())


# --- the package: read back by calamine, as collect reads a return ------------------------

ROUND_TRIP = [
    "R&D <draft> > final",
    "x\x01y\rz\tw\nv",
    "_x0041_ stays as typed",
    "=SUM(A1:A3)",
    " leading and trailing ",
    "naïve 名前 " + EMOJI,
    EMOJI * 16_383 + "a",  # exactly at the limit
]


def _package(path: Path) -> Path:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, BOOK_OPTIONS)
    book.add_worksheet("Data")
    day = xf(book.add_format({"num_format": "yyyy-mm-dd"}))
    book.close()
    data = SheetData()
    for r, text in enumerate(ROUND_TRIP):
        data.add(r, [text_cell(cell_start(0), r + 1, text_style(0), xml_text(text, CELL_LIMIT))], 1)
    n = len(ROUND_TRIP) + 1
    cells = [
        _number(0, n, 0, 0.1),
        _number(1, n, 0, 42),
        _date(2, n, day, date(2024, 3, 1)),
        _blank(3, n, day),
    ]
    data.add(n - 1, cells, 4)
    pack(buffer.getvalue(), path, {"Data": data})
    return path


def test_calamine_reads_back_what_was_written(tmp_path: Path) -> None:
    path = _package(tmp_path / "cells.xlsx")
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Data").to_python()
    assert [row[0] for row in rows[: len(ROUND_TRIP)]] == ROUND_TRIP
    assert rows[-1][:3] == [0.1, 42.0, date(2024, 3, 1)]
    with zipfile.ZipFile(path) as package:
        sheet = package.read("xl/worksheets/sheet1.xml")
    assert b'<dimension ref="A1:D8"/>' in sheet
    assert b'<c r="D8" s="1"/>' in sheet


# --- banners: rows merged across the sheet -------------------------------------------------


def test_a_banner_is_merged_across_every_column_the_sheet_uses() -> None:
    data = SheetData()
    data.banner(0, '<c r="A1" t="inlineStr"><is><t>Title</t></is></c>', 30)
    data.banner(1, '<c r="A2" t="inlineStr"><is><t>Help</t></is></c>')
    data.add(3, ['<c r="A4"/>', '<c r="B4"/>', '<c r="C4"/>'], 3)
    assert data.rows[0] == '<row r="1" ht="30" customHeight="1"><c r="A1" t="inlineStr"><is><t>Title</t></is></c></row>'
    assert data.merge_cells() == b'<mergeCells count="2"><mergeCell ref="A1:C1"/><mergeCell ref="A2:C2"/></mergeCells>'


def test_no_banner_no_merge_cells() -> None:
    data = SheetData()
    data.add(0, ['<c r="A1"/>', '<c r="B1"/>'], 2)
    assert data.merge_cells() == b""


def test_merge_cells_go_where_the_format_puts_them() -> None:
    """After sheetProtection and autoFilter, before dataValidations and the print set-up
    (ECMA-376 CT_Worksheet order)."""
    merges = b'<mergeCells count="1"><mergeCell ref="A1:C1"/></mergeCells>'
    tail = (
        b'<sheetProtection sheet="1"/><autoFilter ref="A4:C9"/><dataValidations count="0"/><pageMargins/></worksheet>'
    )
    assert with_merges(tail, merges, "sheet1.xml") == (
        b'<sheetProtection sheet="1"/><autoFilter ref="A4:C9"/>'
        + merges
        + b'<dataValidations count="0"/><pageMargins/></worksheet>'
    )
    assert with_merges(b"<pageMargins/></worksheet>", merges, "x") == merges + b"<pageMargins/></worksheet>"
    assert with_merges(b"</worksheet>", merges, "x") == merges + b"</worksheet>"
    assert with_merges(tail, b"", "x") == tail


def test_merges_made_through_xlsxwriter_on_a_sheetdata_sheet_are_refused() -> None:
    with pytest.raises(RuntimeError, match="merged through xlsxwriter"):
        with_merges(b'<mergeCells count="1"><mergeCell ref="A1:B1"/></mergeCells></worksheet>', b"<mergeCells/>", "x")
