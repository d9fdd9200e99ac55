"""The paper (`paper_sections.sections`) as plain text, Markdown and HTML: `xlplan report` and the SPG email.

Each renderer walks the same sections and blocks, so every format carries the same
content; HTML and the Word paper (`report_docx.py`) also show the charts as pictures
(`paper_charts`), plain text and Markdown the tables they are drawn from. Text from plans
and returns is untrusted: Markdown escapes it with `text.markdown_text` (and a block
marker at the start of a line of a note), HTML with `html.escape`; plain text shows it
as typed. Nothing is cut: names and notes are given in full (lists stop at
`paper_sections.LISTED` items and say where the master tracker lists the rest).
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Callable
from typing import Any

from xlplan.look import BORDER, NAVY, WHITE
from xlplan.paper import Paper
from xlplan.paper_charts import chart_png, chart_title
from xlplan.paper_sections import LISTED, Block, Bullets, Chart, Grid, Item, Para, Section, sections
from xlplan.text import markdown_text

FONT = "font-family:Arial,sans-serif"


def _sections(paper: Paper, officer: bool) -> list[Section]:
    return sections(paper, officer=officer, listed=LISTED)


# --- plain text ------------------------------------------------------------------------


def _officer_only(paper: Paper) -> str:
    return f" (for the officer, not for the {paper.words.meeting_short})"


def to_text(paper: Paper, *, officer: bool = False) -> str:
    out = [paper.title, paper.returns_line, ""]
    for section in _sections(paper, officer):
        title = section.title + (_officer_only(paper) if section.officer_only else "")
        out += [title, "=" * len(title)]
        for block in section.blocks:
            out += _text_block(block)
            out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def _text_block(block: Block) -> list[str]:
    if isinstance(block, Para):
        return [block.text]
    if isinstance(block, Bullets):
        return [f"- {i}" for i in block.items]
    if isinstance(block, Grid):
        return _text_grid(block)
    if isinstance(block, Item):
        lines = [block.heading]
        lines += [f"  {k}: {v}" for k, v in block.fields]
        for note in block.notes:
            lines.append(f"  {note.header}:")
            lines += [f"    {line}" for line in note.text.splitlines() or [""]]
        return lines
    return []  # a chart: the table before it says the same


def _text_grid(grid: Grid) -> list[str]:
    """Columns lined up, every name in full; the last column runs on (it holds the long text)."""
    table = [[str(c) for c in grid.header], *[[_plain(c) for c in row] for row in grid.rows]]
    n = len(grid.header)
    widths = [max(len(r[i]) for r in table) for i in range(n)]
    numeric = grid.numeric_from if grid.numeric_from is not None else n
    lines = []
    for row in table:
        cells = [c.rjust(widths[i]) if i >= numeric else c.ljust(widths[i]) for i, c in enumerate(row)]
        if numeric == n:  # no counts: the last column, the long text, runs on
            cells[-1] = row[-1]
        lines.append("  ".join(cells).rstrip())
    return lines


def _plain(value: Any) -> str:
    return " ".join(str(value).split())  # a line break in a cell would break the table's lines


# --- Markdown --------------------------------------------------------------------------

# At the start of a line a Markdown renderer reads these as a heading, a list, a quote, a
# rule, a code block or a table: a note's lines are escaped there.
_BLOCK_START = re.compile(r"^(\s*)([#>*+=_`~|-]|\d+[.)])")


def to_markdown(paper: Paper, *, officer: bool = False) -> str:
    esc = markdown_text
    out = [f"# {esc(paper.title)}", "", paper.returns_line, ""]
    for section in _sections(paper, officer):
        title = section.title + (_officer_only(paper) if section.officer_only else "")
        out += [f"## {esc(title)}", ""]
        for block in section.blocks:
            lines = _md_block(block)
            if lines:
                out += [*lines, ""]
    return "\n".join(out).rstrip("\n") + "\n"


def _md_block(block: Block) -> list[str]:
    esc = markdown_text
    if isinstance(block, Para):
        return [esc(block.text)]
    if isinstance(block, Bullets):
        return [f"- {esc(i)}" for i in block.items]
    if isinstance(block, Grid):
        lines = ["| " + " | ".join(esc(h) for h in block.header) + " |", "|" + "---|" * len(block.header)]
        return lines + ["| " + " | ".join(esc(c) for c in row) + " |" for row in block.rows]
    if isinstance(block, Item):
        lines = [f"### {esc(block.heading)}", ""]
        lines += [f"- **{esc(k)}:** {esc(v)}" for k, v in block.fields]
        for note in block.notes:
            lines += ["", f"**{esc(note.header)}:**", "", _md_note(note.text)]
        return lines
    return []


def _md_note(text: str) -> str:
    """A note's lines as one paragraph with hard line breaks, each line inert."""
    lines = [
        _BLOCK_START.sub(lambda m: m.group(1) + "\\" + m.group(2), markdown_text(line)) for line in text.splitlines()
    ]
    return "\\\n".join(line for line in lines) or "\\-"


# --- HTML ------------------------------------------------------------------------------


ChartSource = Callable[[str, bytes], str]  # (chart kind, PNG) -> the <img> element's src


def embedded(_kind: str, png: bytes) -> str:
    """A chart inside the HTML itself, as a data: URL (a report saved as a file)."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def to_html(
    paper: Paper, *, standalone: bool = True, officer: bool = False, chart_src: ChartSource | None = embedded
) -> str:
    """The paper as HTML; each chart as a picture whose src `chart_src` gives (an email
    refers to its related parts: `mail.spg_message`), or left out with None."""
    e = html.escape
    parts = [
        f'<h2 style="{FONT};color:{NAVY}">{e(paper.title)}</h2>',
        f'<p style="{FONT}">{e(paper.returns_line)}</p>',
    ]
    for section in _sections(paper, officer):
        marker = _officer_only(paper) if section.officer_only else ""
        parts.append(f'<h3 style="{FONT};color:{NAVY}">{e(section.title + marker)}</h3>')
        parts += [_html_block(block, paper, chart_src) for block in section.blocks]
    content = "\n".join(p for p in parts if p)
    if not standalone:
        return content
    title = f"{paper.plan_title} {paper.cycle}"
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{e(title)}</title></head><body>\n'
        f"{content}\n</body></html>\n"
    )


def _html_block(block: Block, paper: Paper, chart_src: ChartSource | None) -> str:
    e = html.escape
    if isinstance(block, Para):
        return f'<p style="{FONT}">{e(block.text)}</p>'
    if isinstance(block, Bullets):
        return f'<ul style="{FONT}">' + "".join(f"<li>{e(i)}</li>" for i in block.items) + "</ul>"
    if isinstance(block, Grid):
        return _html_grid(block, paper)
    if isinstance(block, Item):
        out = [f'<h4 style="{FONT};margin-bottom:2px">{e(block.heading)}</h4>']
        if block.fields:
            out.append(
                f'<p style="{FONT};margin-top:0">'
                + "<br>".join(f"<strong>{e(k)}:</strong> {e(v)}" for k, v in block.fields)
                + "</p>"
            )
        for note in block.notes:
            out.append(
                f'<p style="{FONT};margin-bottom:0"><strong>{e(note.header)}:</strong></p>'
                f'<p style="{FONT};margin-top:0;white-space:pre-wrap">{e(note.text)}</p>'
            )
        return "".join(out)
    assert isinstance(block, Chart)
    png = chart_png(paper, block.kind) if chart_src else None
    if png is None or chart_src is None:
        return ""
    alt = e(chart_title(paper, block.kind))
    return f'<p><img src="{e(chart_src(block.kind, png))}" alt="{alt}" width="640" style="max-width:100%"></p>'


def _html_grid(grid: Grid, paper: Paper) -> str:
    e = html.escape
    cell = f"border:1px solid {BORDER.lower()};padding:4px 8px;"
    heads = []
    for h in grid.header:
        fill, font = paper.colours.get(h, (NAVY, WHITE)) if grid.status_header else (NAVY, WHITE)
        heads.append(f'<th style="{cell}background:{fill};color:{font}">{e(h)}</th>')
    numeric = grid.numeric_from if grid.numeric_from is not None else len(grid.header)
    body = []
    for row in grid.rows:
        tds = []
        for i, value in enumerate(row):
            style = cell + ("text-align:right;" if i >= numeric else "")
            if i in grid.status_cols and value in paper.colours:
                fill, font = paper.colours[value]
                style += f"background:{fill};color:{font};"
            tds.append(f'<td style="{style}">{e(str(value))}</td>')
        body.append("<tr>" + "".join(tds) + "</tr>")
    return (
        f'<table style="border-collapse:collapse;{FONT};font-size:10pt"><tr>{"".join(heads)}</tr>'
        f"{''.join(body)}</table>"
    )
