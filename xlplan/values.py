"""Turning what a spreadsheet cell holds into a typed value, tolerantly.

Excel, LibreOffice and people give dates as dates, datetimes, serial numbers or text
in several formats, and numbers as numbers or text. One place decides what each means.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime, timedelta

# Excel's day 0: serial 1 = 1900-01-01 (its leap-year bug included). The range it writes
# as dates is look.py's; it reads serials up to 31/12/9999 (date.max, and Excel's last day).
EXCEL_EPOCH = date(1899, 12, 30)
_MAX_SERIAL = date.max.toordinal() - EXCEL_EPOCH.toordinal()  # 2,958,465
_DATE_FORMATS = (
    "%Y-%m-%d",
    "%d/%m/%Y",
    "%d/%m/%y",
    "%d-%m-%Y",
    "%d.%m.%Y",
    "%d %B %Y",
    "%d %b %Y",
    "%B %d, %Y",
    "%b %d, %Y",
    "%Y/%m/%d",
)
_NUMBER_TEXT = re.compile(r"^[-+]?(\d{1,3}(,\d{3})+|\d+)?(\.\d+)?%?$")


def excel_length(text: str) -> int:
    """How long `text` is as Excel counts it (LEN, a cell's 32,767 limit, a length
    validation): in UTF-16 units, so a character beyond the BMP (an emoji) counts 2."""
    return len(text) if text.isascii() else len(text.encode("utf-16-le", "surrogatepass")) >> 1


def is_blank(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def clean_text(value: object) -> str:
    """Cell content as text: numbers without a spurious '.0', spaces trimmed."""
    if is_blank(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else str(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def normalise_header(text: object) -> str:
    """A header or sheet name as it is matched: case, spaces and punctuation ignored."""
    return re.sub(r"[^a-z0-9]", "", clean_text(text).casefold())


def parse_date(value: object) -> date | None:
    """A date from a cell, or None if blank. Raises ValueError if it is not a date.

    Dates before 1900 are refused: Excel cannot hold them as dates, and in a plan or a
    return they are always a typing mistake.
    """
    parsed = _parse_date(value)
    if parsed is not None and parsed.year < 1900:
        raise ValueError(value)
    return parsed


def _parse_date(value: object) -> date | None:
    if is_blank(value):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int | float):
        return _from_serial(float(value))
    text = " ".join(str(value).split())
    if len(text) == 10 and text[4] == text[7] == "-":  # ISO, as the ledger keeps dates: no regex
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    if re.fullmatch(r"\d+(\.0+)?", text):
        if len(text.split(".")[0]) <= 4:  # "2026" typed as text is a year, not serial 2026 (1905)
            raise ValueError(value)
        return _from_serial(float(text))
    text = re.sub(r"(?<=\d)(st|nd|rd|th)\b", "", text)  # "31st March 2024"
    text = text.split("T")[0] if re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+", text) else text
    text = text.split(" ")[0] if re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d(:\d\d)?", text) else text
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(value)


def _from_serial(serial: float) -> date:
    if not 1 <= serial <= _MAX_SERIAL or not serial.is_integer():
        raise ValueError(serial)
    if serial < 61:  # Excel counts a 29 February 1900 that never was (serial 60)
        return date(1899, 12, 31) + timedelta(days=min(int(serial), 59))
    return EXCEL_EPOCH + timedelta(days=int(serial))


def parse_number(value: object) -> float | None:
    """A number from a cell, or None if blank. Raises ValueError if it is not a number.

    Accepts numbers stored as text ("1,200", " 85 ", "85%" -> 85).
    """
    if is_blank(value):
        return None
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(value)
        return float(value)
    text = str(value).strip().replace("\u00a0", "")
    if not _NUMBER_TEXT.match(text) or not any(ch.isdigit() for ch in text):
        raise ValueError(value)
    return float(text.rstrip("%").replace(",", ""))


def format_value(value: object) -> str:
    """How a typed value is shown in messages: dates as 31/03/2024, whole numbers without '.0'."""
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def long_date(value: date, weekday: bool = True) -> str:
    """'Thursday 4 September 2025': no zero-padded day, English names whatever the locale."""
    days = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
    months = (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    )
    text = f"{value.day} {months[value.month - 1]} {value.year}"
    return f"{days[value.weekday()]} {text}" if weekday else text


def column_letter(index: int) -> str:
    """0 -> A, 26 -> AA: a column as Excel names it."""
    from xlsxwriter.utility import xl_col_to_name

    return xl_col_to_name(index)


def days_text(days: int) -> str:
    """Days to the deadline as a person says it: "3 days to go", "5 days overdue"."""
    if days == 0:
        return "due today"
    count = abs(days)
    unit = "day" if count == 1 else "days"
    return f"{count} {unit} to go" if days > 0 else f"{count} {unit} overdue"
