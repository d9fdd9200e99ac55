"""Regenerate the README's pictures from the demo, as LibreOffice prints them.

    python docs/make_pictures.py          # writes docs/dashboard.png and docs/actions-sheet.png

Runs `xlplan demo` in a temporary folder, converts the master tracker and Helen
Watson's 2023-Q3 workbook to PDF with headless LibreOffice (tests/libreoffice.py,
as the tests do), and renders one page of each at 110 dpi with pdftoppm, cropped to
its content (the page header and footer left out). Needs LibreOffice and poppler-utils.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS.parent / "tests"))

from libreoffice import convert  # noqa: E402  (tests/ holds the LibreOffice helper)

from xlplan.demo import run_demo  # noqa: E402

DPI = 110
PAD = 12  # pixels of white kept around the content
MARGIN_BAND = 0.5  # inches at the top and bottom where the page header and footer print
WHITE = 0xF0  # a channel at or above this is paper


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="xlplan-pictures-") as tmp:
        work = Path(tmp)
        demo = work / "demo"
        run_demo(demo, echo=lambda _s: None)
        master = convert(demo / "master-tracker.xlsx", work / "pdf", "pdf")
        picture(master, 1, DOCS / "dashboard.png")
        sponsor = demo / "outgoing" / "2023-Q3" / "2023-Q3 return - Helen Watson.xlsx"
        actions = convert(sponsor, work / "pdf", "pdf")
        picture(actions, 2, DOCS / "actions-sheet.png")  # page 1 is the Instructions sheet


def picture(pdf: Path, page: int, out: Path) -> None:
    """Page `page` of `pdf` as a PNG at DPI, cropped to what is printed on it."""
    ppm = pdf.with_name(f"{pdf.stem}-{page}")
    _pdftoppm(pdf, page, ppm)
    x, y, w, h = _content_box(ppm.with_suffix(".ppm").read_bytes())
    _pdftoppm(pdf, page, out.with_suffix(""), "-png", "-x", str(x), "-y", str(y), "-W", str(w), "-H", str(h))
    print(f"{out} ({w} x {h})")


def _pdftoppm(pdf: Path, page: int, prefix: Path, *options: str) -> None:
    cmd = ["pdftoppm", "-r", str(DPI), "-f", str(page), "-l", str(page), "-singlefile", *options, str(pdf), str(prefix)]
    subprocess.run(cmd, check=True)


def _content_box(ppm: bytes) -> tuple[int, int, int, int]:
    """(x, y, width, height) of the non-white part of a binary PPM, outside the margin bands."""
    match = re.match(rb"P6\s+(\d+)\s+(\d+)\s+(\d+)\s", ppm)
    if match is None:
        raise ValueError("not a binary PPM")
    width, height = int(match[1]), int(match[2])
    pixels = ppm[match.end() :]
    paper = bytes(0xFF if b >= WHITE else b for b in range(256))
    stride = width * 3
    band = int(MARGIN_BAND * DPI)
    top = bottom = left = right = None
    for y in range(band, height - band):
        row = pixels[y * stride : (y + 1) * stride].translate(paper)
        ink = row.strip(b"\xff")
        if not ink:
            continue
        start = (len(row) - len(row.lstrip(b"\xff"))) // 3
        end = start + (len(ink) + 2) // 3
        top = y if top is None else top
        bottom = y
        left = start if left is None else min(left, start)
        right = end if right is None else max(right, end)
    if top is None or bottom is None or left is None or right is None:
        raise ValueError("the page is blank")
    x, y = max(left - PAD, 0), max(top - PAD, 0)
    return x, y, min(right + PAD, width) - x, min(bottom + PAD, height) - y


if __name__ == "__main__":
    main()
