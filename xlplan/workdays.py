"""Return deadlines on working days: not a weekend, not a UK public holiday.

Public holidays differ between the four nations (St Andrew's Day and 2 January in
Scotland, Easter Monday elsewhere...), so they come from the `holidays` package for
the partnership's region: Scotland unless the plan's Settings sheet says otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from typing import Any

from xlplan.errors import PlanError
from xlplan.values import long_date

# The Settings sheet's Region, as the officer may type it -> the `holidays` subdivision.
REGIONS = {
    "scotland": "SCT",
    "england": "ENG",
    "wales": "WLS",
    "northern ireland": "NIR",
}
_CODES = {code.casefold(): code for code in REGIONS.values()}
REGION_NAMES = {code: name.title() for name, code in REGIONS.items()}
DEFAULT_REGION = "SCT"  # partnerships are Scottish HSCPs unless the plan says otherwise


@dataclass(frozen=True)
class DeadlineNote:
    """Why a deadline is not a working day, and what was done about it."""

    given: date
    reason: str  # "Christmas Day", "a Saturday"
    moved_to: date | None  # None: kept as given (the officer chose it)
    region: str = DEFAULT_REGION

    def __str__(self) -> str:
        if self.moved_to is not None:
            return f"The deadline {self.given:%d/%m/%Y} is {self.reason}: moved to {long_date(self.moved_to)}."
        where = REGION_NAMES[self.region]
        return f"The deadline {self.given:%d/%m/%Y} is {self.reason}, not a working day in {where}: kept as given."


def region_code(text: str | None) -> str:
    """The holidays subdivision for the Settings sheet's Region ('' or missing: Scotland)."""
    words = " ".join((text or "").replace("_", " ").split()).casefold()
    if not words:
        return DEFAULT_REGION
    code = REGIONS.get(words) or _CODES.get(words)
    if code is None:
        names = ", ".join(REGION_NAMES.values())
        raise PlanError(f"Settings: Region '{text}' is not one of {names} (leave it blank for Scotland).")
    return code


@cache
def _calendar(region: str) -> Any:
    import holidays  # imported only by generate: the package builds its tables on first use

    return holidays.country_holidays("GB", subdiv=region)


def why_not_working(day: date, region: str = DEFAULT_REGION) -> str | None:
    """'Christmas Day', 'a Saturday'..., or None for a working day."""
    name = _calendar(region).get(day)
    if name:
        return str(name).replace("; ", " and ")  # a day that is two holidays has both names, joined by "; "
    if day.weekday() >= 5:
        return ("a Saturday", "a Sunday")[day.weekday() - 5]  # not strftime: English whatever the locale
    return None


def working_day_on_or_before(day: date, region: str = DEFAULT_REGION) -> date:
    while why_not_working(day, region):
        day -= timedelta(days=1)
    return day


def working_deadline(deadline: date, region: str = DEFAULT_REGION) -> tuple[date, DeadlineNote | None]:
    """A computed deadline moved back to the working day before it when it is not one."""
    reason = why_not_working(deadline, region)
    if reason is None:
        return deadline, None
    moved = working_day_on_or_before(deadline, region)
    return moved, DeadlineNote(deadline, reason, moved, region)


def check_given_deadline(deadline: date, region: str = DEFAULT_REGION) -> DeadlineNote | None:
    """A deadline the officer chose is kept; say so when it is not a working day."""
    reason = why_not_working(deadline, region)
    return None if reason is None else DeadlineNote(deadline, reason, None, region)
