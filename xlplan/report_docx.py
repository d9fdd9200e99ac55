"""The paper (`paper_sections.sections`) as a Word document: the SPG's covering report.

Laid out as a committee report on A4: a heading block (to whom, when, by whom, about
what), then numbered sections, each the same blocks the text, Markdown and HTML
reports render (`report.py`), with the two charts drawn as pictures (`charts.py`)
beside their tables. Written with python-docx; opens in Word and LibreOffice Writer,
and LibreOffice converts it to PDF.

Text from plans and returns goes into runs as plain text: never a field, a hyperlink or
markup. Characters XML cannot hold (control characters a pasted note may carry) are
dropped, as Word would refuse the file.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from docx import Document
from docx.document import Document as DocumentObject
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph

from xlplan.files import atomic_path
from xlplan.look import NAVY, WHITE
from xlplan.paper import Paper
from xlplan.paper_charts import chart_png
from xlplan.paper_sections import Block, Bullets, Chart, Grid, Item, Para, Section, sections
from xlplan.values import long_date

TEXT_WIDTH = Cm(17)  # A4 less 2 cm margins each side
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def write_docx(paper: Paper, path: Path, *, officer: bool = False) -> Path:
    """Write the paper to `path` (atomically); the officer's checks only when `officer`."""
    doc = paper_document(paper, officer=officer)
    with atomic_path(path) as tmp:
        doc.save(str(tmp))
    return path


def paper_document(paper: Paper, *, officer: bool = False) -> DocumentObject:
    doc = Document()
    _page(doc)
    _styles(doc)
    props = doc.core_properties
    props.title = _x(paper.title)[:255]
    props.subject = f"{paper.words.meeting} paper"
    props.author = _x(paper.officer)[:255] or "xlplan"
    props.comments = ""
    _heading_block(doc, paper)
    for n, section in enumerate(sections(paper, officer=officer, listed=None), start=1):
        _section(doc, paper, n, section)
    return doc


# --- page and styles -----------------------------------------------------------------


def _page(doc: DocumentObject) -> None:
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    for side in ("left_margin", "right_margin"):
        setattr(section, side, Cm(2))
    section.top_margin = section.bottom_margin = Cm(2)
    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    footer.add_run("Page ")
    _page_field(footer)


def _page_field(paragraph: Paragraph) -> None:
    """A PAGE field: the page number (our own field, never text from a return)."""
    run = paragraph.add_run()
    for kind, text in (("begin", None), (None, "PAGE"), ("separate", None), (None, "1"), ("end", None)):
        if kind:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), kind)
        elif text == "PAGE":
            el = OxmlElement("w:instrText")
            el.set(qn("xml:space"), "preserve")
            el.text = " PAGE "
        else:
            el = OxmlElement("w:t")
            el.text = text
        run._r.append(el)


def _styles(doc: DocumentObject) -> None:
    normal = doc.styles["Normal"]
    normal.font.name = "Arial"  # type: ignore[attr-defined]
    normal.font.size = Pt(11)  # type: ignore[attr-defined]
    for name, size in (("Title", 20), ("Heading 1", 14), ("Heading 2", 12), ("Heading 3", 11)):
        style = doc.styles[name]
        style.font.name = "Arial"  # type: ignore[attr-defined]
        style.font.size = Pt(size)  # type: ignore[attr-defined]
        style.font.color.rgb = _rgb(NAVY)  # type: ignore[attr-defined]


def _heading_block(doc: DocumentObject, paper: Paper) -> None:
    doc.add_paragraph(_x(paper.title), style="Title")
    facts = [("Report to", paper.words.meeting)]
    if paper.spg_date:
        facts.append(("Date of meeting", long_date(paper.spg_date, weekday=False)))
    if paper.officer:
        facts.append(("Report by", paper.officer))
    facts += [("Subject", f"Progress report, {paper.cycle}"), ("Returns", paper.returns_line.removeprefix("Returns: "))]
    table = doc.add_table(rows=0, cols=2)
    table.style = "Table Grid"
    for label, value in facts:
        cells = table.add_row().cells
        _cell_text(cells[0], label, bold=True)
        _cell_text(cells[1], value)
    _widths(table, [Cm(4), TEXT_WIDTH - Cm(4)])


# --- sections and blocks ---------------------------------------------------------------


def _section(doc: DocumentObject, paper: Paper, n: int, section: Section) -> None:
    marker = f" (for the officer, not for the {paper.words.meeting_short})" if section.officer_only else ""
    doc.add_heading(_x(f"{n}. {section.title}{marker}"), level=1)
    for block in section.blocks:
        _block(doc, paper, block)


def _block(doc: DocumentObject, paper: Paper, block: Block) -> None:
    if isinstance(block, Para):
        doc.add_paragraph(_x(block.text))
    elif isinstance(block, Bullets):
        for item in block.items:
            doc.add_paragraph(_x(item), style="List Bullet")
    elif isinstance(block, Grid):
        _grid(doc, paper, block)
        doc.add_paragraph()
    elif isinstance(block, Item):
        _item(doc, paper, block)
    elif isinstance(block, Chart):
        png = chart_png(paper, block.kind)
        if png:
            doc.add_picture(io.BytesIO(png), width=TEXT_WIDTH)
            doc.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER


def _item(doc: DocumentObject, paper: Paper, item: Item) -> None:
    heading = doc.add_heading(level=2)
    heading.add_run(_x(item.heading))
    if item.fields:
        para = doc.add_paragraph()
        for i, (label, value) in enumerate(item.fields):
            if i:
                para.add_run().add_break()
            para.add_run(_x(f"{label}: ")).bold = True
            run = para.add_run(_x(value))
            if value in paper.colours:
                _shade_run(run, paper.colours[value])
    for note in item.notes:
        title = doc.add_paragraph()
        title.add_run(_x(f"{note.header}:")).bold = True
        title.paragraph_format.space_after = Pt(0)
        title.paragraph_format.keep_with_next = True
        text = doc.add_paragraph()
        text.paragraph_format.left_indent = Cm(0.5)
        text.add_run(_x(note.text))  # a line break in the note becomes one in Word


def _grid(doc: DocumentObject, paper: Paper, grid: Grid) -> Table:
    table = doc.add_table(rows=1, cols=len(grid.header))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    numeric = grid.numeric_from if grid.numeric_from is not None else len(grid.header)
    head = table.rows[0]
    _repeat_header(head)
    for i, text in enumerate(grid.header):
        fill, font = paper.colours.get(text, (NAVY, WHITE)) if grid.status_header else (NAVY, WHITE)
        cell = head.cells[i]
        _cell_text(cell, text, bold=True, colour=font, size=9, right=i >= numeric)
        _shade(cell, fill)
    for r, row in enumerate(grid.rows):
        cells = table.add_row().cells
        total = grid.total_row and r == len(grid.rows) - 1
        for i, value in enumerate(row):
            text = str(value)
            colours = paper.colours.get(text) if i in grid.status_cols else None
            _cell_text(cells[i], text, bold=total, colour=colours[1] if colours else None, size=9, right=i >= numeric)
            if colours:
                _shade(cells[i], colours[0])
    _widths(table, _column_widths(grid, numeric))
    return table


CHAR_WIDTH = Cm(0.21)  # of 9-point Arial, about (bold headers are wider)
CELL_PADDING = Cm(0.45)  # LibreOffice and Word pad each side of a cell


def _column_widths(grid: Grid, numeric: int) -> list[int]:
    """Widths that fit the page: each column at least as wide as its longest word, and
    at most about 45 characters; the text columns give way when the page is too narrow."""
    n = len(grid.header)
    need, want = [], []
    for i in range(n):
        texts = [str(grid.header[i]), *(str(r[i]) for r in grid.rows)]
        word = max((len(w) for t in texts for w in t.split()), default=1)
        longest = max(len(t) for t in texts)
        want.append(min(longest, 45 if i < numeric else 12) * CHAR_WIDTH + CELL_PADDING)
        need.append(min(word, 30) * CHAR_WIDTH + CELL_PADDING if i < numeric else want[-1])  # counts never wrap
    room = int(TEXT_WIDTH)
    if sum(want) <= room:  # room to spare: the widest columns take it
        spare = room - sum(want)
        total = sum(want)
        return [int(w + spare * w / total) for w in want]
    if sum(need) >= room:
        return [int(room * w / sum(need)) for w in need]
    k = (room - sum(need)) / (sum(want) - sum(need))
    return [int(lo + (hi - lo) * k) for lo, hi in zip(need, want, strict=True)]


# --- cells, runs, shading --------------------------------------------------------------


def _x(text: object) -> str:
    """Text Word can hold: characters XML forbids are dropped."""
    return _NOT_XML.sub("", str(text))


def _rgb(colour: str) -> RGBColor:
    return RGBColor.from_string(colour.lstrip("#").upper())


def _cell_text(
    cell: _Cell,
    text: str,
    *,
    bold: bool = False,
    colour: str | None = None,
    size: float | None = None,
    right: bool = False,
) -> None:
    para = cell.paragraphs[0]
    run = para.add_run(_x(text))
    run.bold = bold or None
    if colour:
        run.font.color.rgb = _rgb(colour)
    if size:
        run.font.size = Pt(size)
    if right:
        para.alignment = WD_ALIGN_PARAGRAPH.RIGHT


def _shade(cell: _Cell, fill: str) -> None:
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill.lstrip("#").upper())
    cell._tc.get_or_add_tcPr().append(shd)


def _shade_run(run: Any, colours: tuple[str, str]) -> None:
    fill, font = colours
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill.lstrip("#").upper())
    run._r.get_or_add_rPr().append(shd)
    run.font.color.rgb = _rgb(font)


def _repeat_header(row: Any) -> None:
    """The header row repeats at the top of each page a table runs onto."""
    marker = OxmlElement("w:tblHeader")
    marker.set(qn("w:val"), "true")
    row._tr.get_or_add_trPr().append(marker)


def _widths(table: Table, widths: Sequence[Any]) -> None:
    """Column widths, on the grid (LibreOffice reads it) and on each cell (Word does)."""
    table.autofit = False
    for column, width in zip(table.columns, widths, strict=True):
        column.width = width
    for row in table.rows:
        for cell, width in zip(row.cells, widths, strict=True):
            cell.width = width
