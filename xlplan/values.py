"""Turning what a spreadsheet cell holds into a typed value, tolerantly.

Excel, LibreOffice and people give dates as dates, datetimes, serial numbers or text
in several formats, and numbers as numbers or text. One place decides what each means.
"""

from __future__ import annotations

import calendar
import math
import re
from dataclasses import dataclass
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


# Characters nobody sees in a cell: zero-width spaces and joiners, the byte-order mark, the
# soft hyphen and the non-breaking spaces. Pasted from web pages, PDFs and email.
INVISIBLE: dict[str, str] = {
    "\u200b": "a zero-width space",
    "\u200c": "a zero-width non-joiner",
    "\u200d": "a zero-width joiner",
    "\u2060": "a word joiner",
    "\ufeff": "a byte-order mark",
    "\u00ad": "a soft hyphen",
    "\u180e": "a Mongolian vowel separator",
    "\u00a0": "a non-breaking space",
    "\u202f": "a narrow non-breaking space",
    "\u2007": "a figure space",
}
_INVISIBLE_RE = re.compile("[" + "".join(INVISIBLE) + "]")
_AROUND = "".join(INVISIBLE) + " \t\r\n"

# What people type where there is no measure, no value or no date yet: read as blank.
NOT_APPLICABLE = frozenset({"n/a", "na", "n.a.", "-", "--", "\u2013", "\u2014", "none", "tbc", "tbd", "not applicable"})


def has_invisible(text: str) -> bool:
    return _INVISIBLE_RE.search(text) is not None


def strip_invisible(text: str) -> tuple[str, str]:
    """`text` without the invisible characters around it, and a description of the first
    one left inside it ("a zero-width space after 'Gre'"), or ""."""
    stripped = text.strip(_AROUND)
    inside = _INVISIBLE_RE.search(stripped)
    if inside is None:
        return stripped, ""
    before = stripped[: inside.start()].strip()[-20:]
    where = f"after '{before}'" if before else "at the start"
    return stripped, f"{INVISIBLE[inside.group()]} {where}"


def not_applicable(value: object) -> bool:
    """ "N/A", "-", "none", "TBC" and the like: nothing to give yet, read as blank."""
    return isinstance(value, str) and " ".join(value.split()).casefold() in NOT_APPLICABLE


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


# --- timescales: the due dates plans and sponsors write -----------------------------

_MONTHS = {name.casefold(): n for n, name in enumerate(calendar.month_name) if name}
_MONTHS |= {name.casefold(): n for n, name in enumerate(calendar.month_abbr) if name}
_MONTHS["sept"] = 9
_MONTH = "(" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_FY = r"(?:fy\s*|financial\s+year\s+)?((?:19|20)\d\d)\s*[/\-\u2013]\s*((?:19|20)?\d\d)"
_TIMESCALE = re.compile(
    rf"q([1-4])\s*,?\s*{_FY}|{_FY}\s*,?\s*q([1-4])|{_FY}|{_MONTH}\s*,?\s*((?:19|20)\d\d)",
    re.IGNORECASE,
)
# Words around a timescale that change nothing: "Short term (by March 2020)", "end of 2024/25".
_FILLER = frozenset(
    [
        "by",
        "end",
        "of",
        "the",
        "in",
        "before",
        "until",
        "due",
        "complete",
        "completed",
        "completion",
        "short",
        "medium",
        "long",
        "term",
        "quarter",
        "year",
        "financial",
        "fy",
    ]
)
# Written instead of a date for work with no end: no due date, never overdue.
NO_DUE_DATE = frozenset(
    {"ongoing", "on-going", "on going", "quarterly", "monthly", "annually", "annual", "yearly", "continuous"}
)
TIMESCALE_EXAMPLES = (
    "a date such as 31/03/2025, a month (March 2025), a financial year (2024/25), a quarter (Q3 2024/25) or Ongoing"
)


@dataclass(frozen=True)
class Timescale:
    """A due date as a plan or a sponsor wrote it: the date it means, and the wording.

    `due` is None for "Ongoing" and "Quarterly" (no due date, never overdue); `wording`
    is "" for a plain date, else the words as written; `means` says how the date was
    worked out ("the end of that month")."""

    due: date | None
    wording: str = ""
    means: str = ""

    @property
    def shown(self) -> str:
        """How it is shown: "March 2025 (31/03/2025)", "Ongoing", "31/03/2025"."""
        if not self.wording:
            return format_value(self.due)
        return f"{self.wording} ({format_value(self.due)})" if self.due else self.wording


def parse_timescale(value: object) -> Timescale | None:
    """A date, or a timescale as plans write them; None if blank. Raises ValueError otherwise.

    - a date (any form `parse_date` reads);
    - a month and year, "March 2025": the last day of that month;
    - a financial year, "2024/25" (or 2024-25, 2024/2025, FY 2024/25): 31 March 2025;
    - a quarter of a financial year, "Q3 2024/25": Q1 is April to June 2024, Q2 July to
      September, Q3 October to December 2024, Q4 January to March 2025; its last day;
    - "Ongoing", "Quarterly" (and "Monthly", "Annually", "Continuous"): no due date.

    Words around one of these that change nothing are allowed ("Short term (by March 2020)").
    """
    if is_blank(value):
        return None
    if not isinstance(value, str):
        return Timescale(parse_date(value))
    wording = " ".join(value.split())
    try:
        return Timescale(parse_date(wording))
    except ValueError:
        pass
    if wording.casefold().rstrip(".") in NO_DUE_DATE:
        return Timescale(None, wording, "no due date")
    found = list(_TIMESCALE.finditer(wording))
    if len(found) != 1:
        raise ValueError(value)
    match = found[0]
    rest = (wording[: match.start()] + " " + wording[match.end() :]).casefold()
    if any(word not in _FILLER for word in re.findall(r"[a-z0-9]+", rest)):
        raise ValueError(value)
    g = match.groups()
    if g[8]:  # a month and year
        year, month = int(g[9]), _MONTHS[g[8].casefold()]
        return Timescale(date(year, month, calendar.monthrange(year, month)[1]), wording, "the end of that month")
    quarter, start, end = (g[0], g[1], g[2]) if g[0] else (g[5], g[3], g[4]) if g[5] else (None, g[6], g[7])
    first = int(start)
    second = int(end) if len(end) == 4 else first // 100 * 100 + int(end)
    if second != first + 1:
        raise ValueError(value)
    if quarter is None:
        return Timescale(date(second, 3, 31), wording, "the end of that financial year (31 March)")
    ends = {1: date(first, 6, 30), 2: date(first, 9, 30), 3: date(first, 12, 31), 4: date(second, 3, 31)}
    return Timescale(ends[int(quarter)], wording, "the end of that quarter of the financial year (April to March)")


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
    text = _INVISIBLE_RE.sub("", str(value)).strip()
    if not _NUMBER_TEXT.match(text) or not any(ch.isdigit() for ch in text):
        raise ValueError(value)
    return float(text.rstrip("%").replace(",", ""))


def ambiguous_thousands(value: object) -> bool:
    """Text such as "1.200": 1.2 with a trailing zero, or 1,200 written with a dot as some
    countries write thousands. Read as 1.2, and said so."""
    return isinstance(value, str) and re.fullmatch(r"\s*[-+]?\d{1,3}\.\d{3}\s*%?\s*", value) is not None


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
