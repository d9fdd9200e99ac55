"""Printing that can be read (issue 19): the master and a sponsor's workbook converted to
PDF by LibreOffice, the text size read back from the PDF (pdftotext -bbox, poppler-utils).

A word's box in pdftotext is about 1.3 times the font size (measured: 10-point text at
100% gives boxes 13.0 points high, an 8-point page header 10.4), so a page's body text
size is its commonest box height / 1.3.
"""

from __future__ import annotations

import collections
import re
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest
from conftest import demo_copy
from libreoffice import convert

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
