"""The words and dates of the cycle's emails to recipients: issue, reminder, overdue, blanks, correction.

Every sentence a recipient reads in an email is here, in one place, built from the
template's own names (what a recipient, an item and the rows sheet are called, the
headers and help of the columns to fill in) and the plan's Settings, never from a
particular template's words. `mail.py` turns a `Letter` into a message.

The dates: before the deadline a chaser is a reminder ("due on ..."); on or after it, the
return is overdue and the chaser gives a new date to send by. A correction gives a date to
fix by. Both default to `GRACE_DAYS` working days from today and are never after the SPG
meeting (the pack is made from what is in by then).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from xlplan.plan import Plan
from xlplan.values import long_date
from xlplan.workdays import region_code, why_not_working, working_day_on_or_before

Kind = Literal["issue", "reminder", "overdue", "blanks", "correction"]
# Draft file names, one kind each: writing a kind again replaces that cycle's earlier drafts of it.
DRAFT_NAMES: dict[str, str] = {"issue": "{cycle} issue - {name}", "chase": "{cycle} chase - {name}"}
GRACE_DAYS = 5  # working days to send an overdue return, or a corrected one


@dataclass(frozen=True)
class Letter:
    """One email's words: a subject, the paragraphs before the list, the list, the paragraphs after."""

    subject: str
    lead: list[str]
    points: list[str]
    after: list[str]


def later_date(plan: Plan, today: date, spg_date: date | None, days: int = GRACE_DAYS) -> date:
    """`days` working days after today, moved back to the SPG meeting if that is sooner
    (never before today: a meeting already past cannot be met)."""
    region = region_code(plan.settings.get("region"))
    day, left = today, days
    while left > 0:
        day += timedelta(days=1)
        if why_not_working(day, region) is None:
            left -= 1
    if spg_date is not None and day > spg_date:
        day = max(today, working_day_on_or_before(spg_date, region))
    return day


def check_date(given: date, today: date, spg_date: date | None, what: str) -> str | None:
    """Why a date the officer gave (--fix-by) cannot be used, or None."""
    if given < today:
        return f"The {what} date {long_date(given)} has passed: give a date from today on."
    if spg_date is not None and given > spg_date:
        return f"The {what} date {long_date(given)} is after the meeting on {long_date(spg_date)}."
    return None


def _fill_in(plan: Plan) -> list[str]:
    """What the recipient fills in, in the template's words: the rows sheet's input columns."""
    template = plan.template
    rows = template.rows_sheet
    out = [f"{c.header}: {c.help}" if c.help else c.header for c in rows.editable_columns]
    if template.groups_sheet is not None and template.groups_sheet.help:
        out.append(f"On the '{template.groups_sheet.name}' sheet: {template.groups_sheet.help}")
    return out


def _return_to(plan: Plan) -> str:
    officer = plan.settings.get("officer", "")
    address = plan.settings.get("return_email", "")
    return " ".join(p for p in (officer, f"<{address}>" if address else "") if p)


def issue_letter(plan: Plan, cycle: str, who: str, deadline: date, spg_date: date | None) -> Letter:
    """The first email of a cycle: the workbook, what to fill in, by when and where to send it."""
    template = plan.template
    words = plan.words
    count = words.count(len(plan.items_for(who)))
    meeting = f", {words.for_meeting} on {long_date(spg_date, weekday=False)}" if spg_date else ""
    lead = [
        f"Please find attached your {words.return_name} workbook for {cycle}{meeting}: it lists the "
        f"{count} you are the {words.recipient} for.",
        f"On the '{template.rows_sheet.name}' sheet, the grey columns are the plan and are locked; "
        "please fill in the pale yellow ones for each row:",
    ]
    after = [
        f"Please save it as .xlsx (you may rename the file) and email it back to {_return_to(plan)} "
        f"by {long_date(deadline)}. The workbook's Instructions sheet says the same.",
    ]
    subject = f"{plan.title}: your {cycle} {words.return_name} workbook, due {long_date(deadline)}"
    return Letter(subject, lead, _fill_in(plan), after)


def chase_letter(
    plan: Plan,
    cycle: str,
    today: date,
    deadline: date,
    spg_date: date | None,
    kind: Kind,
    points: list[str],
    new_date: date | None = None,
) -> Letter:
    """A chaser of `kind`: reminder (before the deadline), overdue (after it, with `new_date`
    to send by), blanks (merged, some statuses left blank) or correction (fix by `new_date`)."""
    title = plan.title
    words = plan.words
    when = long_date(deadline)
    by = long_date(new_date) if new_date else when
    back = _return_to(plan)
    if kind == "correction":
        return Letter(
            f"{title}: your {cycle} return needs corrections by {by}",
            [
                "Thank you for your return. It could not be merged yet because of the points below. "
                "The attached copy keeps your entries and marks each cell to fix.",
            ],
            points,
            [f"Please correct it and send it back to {back} by {by}."],
        )
    if kind == "blanks":
        missing = f"no {words.status}" if plan.template.status_column else "nothing filled in"
        return Letter(
            f"{title}: entries missing from your {cycle} return",
            [
                f"Thank you for your return, which has been merged. The {words.items} below have "
                f"{missing} this cycle, so the {words.meeting_short} will see their last update, marked as not "
                "updated. "
                f"If you can, reply with them by {by}.",
            ],
            points,
            [],
        )
    if kind == "reminder":
        days = (deadline - today).days
        soon = "today" if days == 0 else f"in {days} day{'s' if days != 1 else ''}"
        return Letter(
            f"{title}: reminder, your {cycle} return is due on {when}",
            [
                f"A reminder that your {words.return_name} for {cycle} is due on {when} ({soon}). "
                "The workbook is attached again, in case you need it."
            ],
            points,
            [f"Please email it back to {back} by {when}."],
        )
    return Letter(
        f"{title}: your {cycle} return is overdue, please send it by {by}",
        [
            f"We have not yet received your {words.return_name} for {cycle}, which was due on {when}. "
            "The workbook is attached again."
        ],
        points,
        [f"Please email it back to {back} by {by}."],
    )


def fill_in_points(plan: Plan, who: str) -> list[str]:
    """A missing return's one point: how many items it covers."""
    words = plan.words
    n = len(plan.items_for(who))
    return [f"Your return covers {words.count(n)}: please give an update for each."]
