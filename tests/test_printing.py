"""Printing that can be read (issue 19): the master and a sponsor's workbook converted to
PDF by LibreOffice, the text size read back from the PDF (pdftotext -bbox, poppler-utils).

A word's box in pdftotext is about 1.3 times the font size (measured: 10-point text at
100% gives boxes 13.0 points high, an 8-point page header 10.4), so a page's body text
size is its commonest box height / 1.3.
"""

from __future__ import annotations

import collections
import html
import re
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest
from conftest import SETTINGS, demo_copy, make_plan_folder
from helpers import HELEN, SPG
from libreoffice import convert
from openpyxl.utils import get_column_letter

from xlplan.collect import collect
from xlplan.generate import generate
from xlplan.plan import load_plan
from xlplan.samples.sponsor import fill_return

BOX_PER_POINT = 1.3
A3_LANDSCAPE_WIDTH = 1190.6  # points

pytestmark = pytest.mark.libreoffice


def pages(pdf: Path) -> list[tuple[float, str, float]]:
    """(page width, sheet name from the page header, body text size in points) per page."""
    html = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    out = []
    for page in html.split("<page ")[1:]:
        width = float(re.search(r'width="([\d.]+)"', page).group(1))  # type: ignore[union-attr]
        words = re.findall(r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)">([^<]*)<', page)
        top = min(float(w[1]) for w in words)  # the page header's line: the plan at left, the sheet at right
        header = [w for w in words if abs(float(w[1]) - top) < 1 and float(w[0]) > width / 2]
        heights = collections.Counter(round(float(w[2]) - float(w[1]), 1) for w in words)
        body = heights.most_common(1)[0][0] / BOX_PER_POINT
        out.append((width, " ".join(w[3] for w in header), body))
    return out


@pytest.fixture(scope="module")
def demo(built_demo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext (poppler-utils) is needed: apt-get install -y poppler-utils")
    return demo_copy(built_demo, tmp_path_factory, "printing")


def test_every_master_sheet_prints_at_8_points_or_more(demo: Path, tmp_path: Path) -> None:
    printed = pages(convert(demo / "master-tracker.xlsx", tmp_path, "pdf"))
    by_sheet: dict[str, list[float]] = {}
    for _width, sheet, body in printed:
        by_sheet.setdefault(sheet, []).append(body)
    names = openpyxl.load_workbook(demo / "master-tracker.xlsx", read_only=True).sheetnames
    assert set(by_sheet) == set(names)
    small = {sheet: min(sizes) for sheet, sizes in by_sheet.items() if min(sizes) < 7.95}
    assert small == {}
    # The dashboard: the key figures and table on one A4 page, the charts and the plan's life on the next.
    assert len(by_sheet["Dashboard"]) == 2
    # Current status (17 columns) goes to A3, two pages across, its columns as wide as on screen.
    assert len(by_sheet["Current status"]) % 2 == 0
    assert len(printed) < 60


def test_a_sponsors_actions_print_at_8_points_or_more_on_a3(demo: Path, tmp_path: Path) -> None:
    workbook = next((demo / "outgoing" / "2023-Q3").glob("*Helen Watson.xlsx"))
    printed = pages(convert(workbook, tmp_path, "pdf"))
    assert all(body >= 7.95 for _w, _s, body in printed), printed
    actions = [p for p in printed if p[1] == "Actions"]
    assert actions and all(abs(w - A3_LANDSCAPE_WIDTH) < 1 for w, _s, _b in actions)


def test_master_titles_are_inside_the_print_area(demo: Path) -> None:
    book = openpyxl.load_workbook(demo / "master-tracker.xlsx")
    for name in ("Risk register", "Current status", "Trend", "Returns", "Proposed changes to timescales"):
        assert str(book[name].print_area).split("!")[1].startswith("$A$1:"), name


LONG_TITLE = (
    "Inverclyde Health and Social Care Partnership Strategic Plan 2019-2024: Improving Lives, "
    "Reducing Inequalities and Supporting Communities"
)


def test_a_long_title_and_help_line_print_whole_within_the_page(tmp_path: Path) -> None:
    """Titles and help lines are banners, merged across the sheet and wrapped: a 140-character
    plan title and the Actions sheet's help line print in full on the page, not cut at its edge."""
    root = tmp_path / "plan"
    plan = load_plan(make_plan_folder(root, settings={**SETTINGS, "title": LONG_TITLE}))
    generate(plan, "2025-Q3", spg_date=SPG, deadline=None)
    sent = next((root / "outgoing" / "2025-Q3").glob(f"*{HELEN}.xlsx"))
    fill_return(
        sent, root / "returns" / "back.xlsx", plan.template, {"BA1.01": {"progress": "On track", "rag": "Green"}}
    )
    assert collect(plan, cycle="2025-Q3", today=SPG).ok
    master = convert(root / "master-tracker.xlsx", tmp_path / "master", "pdf")
    gaps = _page_of(master, "Gaps")
    assert squashed(f"{LONG_TITLE}: Master tracker, 2025-Q3") in squashed(" ".join(w for w, _x in gaps))
    workbook = sent
    actions = _page_of(convert(workbook, tmp_path / "return", "pdf"), "Actions")
    assert squashed(plan.template.rows_sheet.help) in squashed(" ".join(w for w, _x in actions))
    # Text past the page's edge is still in the PDF, clipped: every word must end on the page.
    for page in (gaps, actions):
        width = page[0][1]
        assert [w for w, x in page[1:] if x > width - 20] == []
    # In the file: merged across every column of the sheet, in a wrapping style.
    book = openpyxl.load_workbook(workbook)
    sheet = book["Actions"]
    assert {str(r) for r in sheet.merged_cells.ranges} >= {f"A1:{get_column_letter(sheet.max_column)}1"}
    assert sheet["A2"].alignment.wrap_text and sheet.row_dimensions[2].height > 15
    for ws in openpyxl.load_workbook(root / "master-tracker.xlsx"):
        if ws.title != "Dashboard":  # its title fits: it is written apart, through xlsxwriter
            merged = {str(r) for r in ws.merged_cells.ranges}
            last = get_column_letter(ws.max_column)
            assert {f"A1:{last}1", f"A2:{last}2"} <= merged, ws.title
            assert ws["A1"].alignment.wrap_text and ws.row_dimensions[1].height > 20, ws.title


def squashed(text: str) -> str:
    return "".join(text.split())


def _page_of(pdf: Path, sheet: str) -> list[tuple[str, float]]:
    """The first printed page of `sheet` (named at the right of the page header): ("", page
    width), then each word with where it ends across the page, in reading order."""
    boxes = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    for page in boxes.split("<page ")[1:]:
        width = float(re.search(r'width="([\d.]+)"', page).group(1))  # type: ignore[union-attr]
        words = re.findall(r'xMin="[\d.]+" yMin="([\d.]+)" xMax="([\d.]+)" yMax="[\d.]+">([^<]*)<', page)
        top = min(float(y) for y, _x, _w in words)
        header = [w for y, _x, w in words if abs(float(y) - top) < 1]
        if header and header[-1] == sheet:
            return [("", width), *((html.unescape(w), float(x)) for _y, x, w in words)]
    raise AssertionError(f"no page of {sheet} in {pdf}")
