"""Charts as PNG pictures, for the Word paper: stacked bars of status counts.

Drawn with Pillow: a well-kept imaging library with wheels for every platform, which
brings its own font (`ImageFont.load_default(size)`, FreeType being in the wheels), so
a chart has readable labels on any machine without the weight of a plotting library
(matplotlib brings numpy, a font cache and a backend to configure). openpyxl uses
Pillow too, for images in workbooks. The master tracker's charts are native Excel
charts (`master/dashboard.py`); a Word document made by python-docx can only hold
pictures.

Pictures are drawn at twice the size they are shown (about 200 dpi on the page), so
they print sharply.
"""

from __future__ import annotations

import io
import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

SCALE = 2  # pixels drawn per pixel shown
TEXT = "#1F1F1F"
AXIS = "#808080"
GRID = "#D9D9D9"
TITLE = "#1F3864"


@dataclass(frozen=True)
class Series:
    name: str
    fill: str  # "#RRGGBB"
    values: Sequence[int]


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size * SCALE)


def _text_width(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont) -> float:
    return draw.textlength(text, font=font)


def _step(top: int) -> int:
    """A round step for the value axis: 1, 2, 5, 10, 20, 50 ... giving at most 8 ticks."""
    if top <= 0:
        return 1
    raw = top / 8
    power = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    for m in (1, 2, 5, 10):
        if m * power >= raw:
            return int(m * power)
    return int(10 * power)


def _contrast(fill: str) -> str:
    r, g, b = (int(fill[i : i + 2], 16) for i in (1, 3, 5))
    return "#000000" if 0.299 * r + 0.587 * g + 0.114 * b > 150 else "#FFFFFF"


def stacked_bars(
    categories: Sequence[str],
    series: Sequence[Series],
    title: str,
    *,
    horizontal: bool,
    width: int = 900,
) -> bytes:
    """A stacked bar chart as PNG bytes: one bar per category (across when `horizontal`,
    the categories down the left; else upright, the categories along the bottom), one
    coloured segment per series, its count written inside when it fits; a legend below."""
    label_font, small, title_font = _font(11), _font(10), _font(13)
    scratch = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    w = width * SCALE
    pad = 12 * SCALE
    line = 14 * SCALE
    totals = [sum(s.values[i] for s in series) for i in range(len(categories))]
    top = max(totals, default=0)
    step = _step(top)
    top = max(step, math.ceil(top / step) * step)

    # Category labels: wrapped onto at most three lines.
    if horizontal:
        label_w = int(w * 0.34)
        chars = max(10, int(label_w / (_text_width(scratch, "n", label_font) or 1)))
        labels = [_wrap(c, chars, 3) for c in categories]
        bar_h = max(26 * SCALE, max((len(lbl) for lbl in labels), default=1) * line + 8 * SCALE)
        plot_h = bar_h * len(categories)
    else:
        label_w = 0
        per = (w - 2 * pad - 40 * SCALE) / max(len(categories), 1)
        chars = max(4, int(per / (_text_width(scratch, "n", small) or 1)))
        labels = [_wrap(c, chars, 2) for c in categories]
        plot_h = 260 * SCALE
    legend_rows = _legend_rows(scratch, series, small, w - 2 * pad)
    axis_h = 2 * line if not horizontal else line + 6 * SCALE
    title_h = 2 * line
    h = title_h + plot_h + axis_h + len(legend_rows) * line * 1.4 + 2 * pad + (0 if horizontal else 2 * line)
    img = Image.new("RGB", (w, int(h)), "white")
    draw = ImageDraw.Draw(img)
    draw.text((w / 2, pad), title, fill=TITLE, font=title_font, anchor="mt")

    if horizontal:
        x0, x1 = pad + label_w, w - pad - 10 * SCALE
        y0 = pad + title_h
        span = x1 - x0
        for tick in range(0, top + 1, step):
            x = x0 + span * tick / top
            draw.line([(x, y0), (x, y0 + plot_h)], fill=GRID, width=SCALE)
            draw.text((x, y0 + plot_h + 4 * SCALE), str(tick), fill=TEXT, font=small, anchor="mt")
        for i, label in enumerate(labels):
            cy = y0 + bar_h * i + bar_h / 2
            draw.multiline_text(
                (x0 - 6 * SCALE, cy), "\n".join(label), fill=TEXT, font=label_font, anchor="rm", align="right"
            )
            left: float = x0
            for s in series:
                n = s.values[i]
                if not n:
                    continue
                right = left + span * n / top
                draw.rectangle([(left, cy - bar_h * 0.36), (right, cy + bar_h * 0.36)], fill=s.fill, outline="white")
                _count(draw, str(n), (left + right) / 2, cy, right - left, s.fill, small)
                left = right
        draw.line([(x0, y0), (x0, y0 + plot_h)], fill=AXIS, width=SCALE)
        legend_y = y0 + plot_h + axis_h + pad / 2
    else:
        x0, x1 = pad + 40 * SCALE, w - pad
        y0 = pad + title_h
        y1 = y0 + plot_h
        for tick in range(0, top + 1, step):
            y = y1 - plot_h * tick / top
            draw.line([(x0, y), (x1, y)], fill=GRID, width=SCALE)
            draw.text((x0 - 6 * SCALE, y), str(tick), fill=TEXT, font=small, anchor="rm")
        per = (x1 - x0) / max(len(categories), 1)
        bar_w = min(per * 0.6, 90 * SCALE)
        for i, label in enumerate(labels):
            cx = x0 + per * i + per / 2
            bottom: float = y1
            for s in series:
                n = s.values[i]
                if not n:
                    continue
                up = bottom - plot_h * n / top
                draw.rectangle([(cx - bar_w / 2, up), (cx + bar_w / 2, bottom)], fill=s.fill, outline="white")
                _count(draw, str(n), cx, (up + bottom) / 2, bottom - up, s.fill, small, across=bar_w)
                bottom = up
            draw.multiline_text(
                (cx, y1 + 6 * SCALE), "\n".join(label), fill=TEXT, font=small, anchor="ma", align="center"
            )
        draw.line([(x0, y1), (x1, y1)], fill=AXIS, width=SCALE)
        legend_y = y1 + axis_h + line
    _legend(draw, legend_rows, w, legend_y, line, small)
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _wrap(text: str, chars: int, lines: int) -> list[str]:
    wrapped = textwrap.wrap(text, chars) or [""]
    if len(wrapped) > lines:  # the table beside the chart gives the name in full
        wrapped = [*wrapped[: lines - 1], textwrap.shorten(" ".join(wrapped[lines - 1 :]), chars, placeholder=" …")]
    return wrapped


def _count(
    draw: ImageDraw.ImageDraw,
    text: str,
    x: float,
    y: float,
    room: float,
    fill: str,
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
    across: float | None = None,
) -> None:
    """The count inside its segment, when it fits."""
    size = draw.textlength(text, font=font)
    fits = room > 16 * SCALE and (across or room) > size + 4 * SCALE
    if fits:
        draw.text((x, y), text, fill=_contrast(fill), font=font, anchor="mm")


def _legend_rows(
    draw: ImageDraw.ImageDraw,
    series: Sequence[Series],
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
    room: float,
) -> list[list[tuple[Series, float]]]:
    rows: list[list[tuple[Series, float]]] = [[]]
    used = 0.0
    for s in series:
        width = 14 * SCALE + draw.textlength(s.name, font=font) + 16 * SCALE
        if rows[-1] and used + width > room:
            rows.append([])
            used = 0.0
        rows[-1].append((s, width))
        used += width
    return rows


def _legend(
    draw: ImageDraw.ImageDraw,
    rows: list[list[tuple[Series, float]]],
    w: int,
    y: float,
    line: int,
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
) -> None:
    for row in rows:
        x = (w - sum(width for _, width in row)) / 2
        for s, width in row:
            draw.rectangle([(x, y - 5 * SCALE), (x + 10 * SCALE, y + 5 * SCALE)], fill=s.fill, outline=AXIS)
            draw.text((x + 14 * SCALE, y), s.name, fill=TEXT, font=font, anchor="lm")
            x += width
        y += line * 1.4
