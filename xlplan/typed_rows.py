"""A return's cells -> typed values, by their column's type; every value that cannot be
read as its type is an issue, and every reading the sponsor might not expect a note.

Dates (and timescales such as "Q3 2024/25"), numbers (percentages, thousands), choices
(normalised to the list's names) and text, with invisible characters found or removed.
`values` reads one value tolerantly; this module reads a return's rows with it and says what it did.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from xlplan.codes import BAD_VALUE, Code
from xlplan.issues import Report
from xlplan.plan import Plan
from xlplan.read import Return
from xlplan.template import Column, Template
from xlplan.values import (
    TIMESCALE_EXAMPLES,
    ambiguous_thousands,
    clean_text,
    column_letter,
    format_value,
    has_invisible,
    not_applicable,
    parse_number,
    parse_timescale,
    strip_invisible,
)

# A date typed in a return before this is a number typed in a date column ("6" for six
# months is 06/01/1900) or a slip of the keyboard: refused, never merged as a date.
EARLIEST_DATE = date(2000, 1, 1)


def typed_rows(
    ret: Return, report: Report, plan: Plan, rows: dict[str, Any], items: dict[str, dict[str, Any]], sheet: str
) -> dict[str, tuple[int, dict[str, Any]]]:
    """ref -> (excel row, {key: typed value}) for every column; unreadable values reported.

    Plan columns take the plan's own typed values, as issued (the rules judge the sponsor's
    entries against what the sponsor was shown): the tamper check has already compared
    them with what came back, so re-reading 50,000 locked cells by type would be waste.
    """
    template = plan.template
    letters = {key: column_letter(i) for key, i in ret.columns.items()}
    columns = template.rows_sheet.columns
    # Values typed exactly as listed need no normalising: the fast path below.
    exact = {c.key: frozenset(template.choices[c.choices].names) for c in columns if c.type == "choice" and c.choices}
    extra = template.rule_plan_keys  # plan columns the rules read that the sheet does not show
    out: dict[str, tuple[int, dict[str, Any]]] = {}
    for ref, row in rows.items():
        item = items[ref]
        typed: dict[str, Any] = {}
        for col in columns:
            if col.source == "plan":
                typed[col.key] = item.get(col.key)
                continue
            raw = row.values.get(col.key)
            if raw is None or raw == "":
                typed[col.key] = None
                continue
            if type(raw) is str and (col.type == "text" or raw in exact.get(col.key, ())) and raw.isascii():
                typed[col.key] = raw.strip() or None  # as _typed would say, without its checks
                continue
            cell = f"{letters[col.key]}{row.excel_row}" if col.key in letters else ""
            percent = cell in ret.percent
            typed[col.key] = _typed(col, raw, template, report, sheet, cell, ref, ret.recipient, percent)
        for k in extra:
            typed[k] = item.get(k)
        out[ref] = (row.excel_row, typed)
    return out


def _typed(
    col: Column,
    raw: Any,
    template: Template,
    report: Report,
    sheet: str,
    cell: str,
    ref: str,
    who: str,
    percent: bool = False,
) -> Any:
    def where() -> dict[str, Any]:  # built only when there is something to say
        return {
            "sheet": sheet,
            "cell": cell,
            "ref": ref,
            "field": col.key,
            "value": clean_text(raw)[:200],
            "recipient": who,
        }

    if isinstance(raw, str) and not raw.isascii() and has_invisible(raw):
        stripped, inside = strip_invisible(raw)
        if inside and col.type == "number" and not has_invisible(stripped.replace("\u00a0", "")):
            inside = ""  # "1\u00a0200": a non-breaking space between thousands, as many write them
        if inside and col.type != "text":
            if col.editable:
                report.error(
                    f"{ref}: '{stripped[:80]}' in {col.header} holds an invisible character ({inside}): "
                    "delete the cell's content and type it again.",
                    code=Code.INVISIBLE_CHARACTERS,
                    **where(),
                )
            return None
        if stripped != raw.strip() and col.editable:
            report.note(
                f"Invisible characters (zero-width or non-breaking spaces) around '{stripped[:80]}' were removed.",
                code=Code.INVISIBLE_CHARACTERS,
                **where(),
            )
        raw = stripped
        if not raw:
            return None
    if col.type in ("date", "number") and not_applicable(raw):
        if col.editable:
            report.note(
                f"'{raw.strip()}' in {col.header} was read as blank (nothing to give).",
                code=Code.NOT_APPLICABLE,
                **where(),
            )
        return None
    try:
        if col.type == "date":
            return _date(col, raw, report, where)
        if col.type == "number":
            number = parse_number(raw)
            if percent and isinstance(raw, float) and number is not None:
                number = round(number * 100, 9)
                if col.editable:
                    report.note(
                        f"{col.header} shows {format_value(number)}% (a percentage format): read as "
                        f"{format_value(number)}, the number shown, not {format_value(raw)}.",
                        code=Code.PERCENT,
                        **where(),
                    )
            elif ambiguous_thousands(raw) and col.editable:
                report.note(
                    f"'{raw.strip()}' in {col.header} was read as {format_value(number)} (a decimal point); "
                    f"if you meant {raw.strip().replace('.', ',')}, type {raw.strip().replace('.', '')}.",
                    code=Code.DECIMAL_POINT,
                    **where(),
                )
            return number
    except _NotADate as exc:
        if col.editable:
            report.error(str(exc), code=Code.BAD_DATE, **where())
        return None
    except ValueError:
        if col.editable:
            example = (
                "a date such as 31/03/2025" if col.type == "date" else "a number only, such as 85 (no units or words)"
            )
            report.error(
                f"'{clean_text(raw)[:80]}' in {col.header} cannot be read: enter {example}.",
                code=BAD_VALUE[col.type],
                **where(),
            )
        return None
    text = clean_text(raw)
    if col.type == "choice" and col.choices and text:
        choices = template.choices[col.choices]
        if text not in choices.names:
            fixed = choices.normalise(text)
            if fixed is not None:
                if col.editable:
                    report.note(f"'{raw}' was read as {fixed}.", code=Code.NORMALISED, **where())
                return fixed
    return text or None


class _NotADate(ValueError):
    """A value read as a date that cannot be meant as one: the message says why."""


def _date(col: Column, raw: Any, report: Report, where: Any) -> date | None:
    """A date column's value: a date, or a timescale ("April 2020", "Q3 2024/25", said in a
    note); never a small number that would be a date in 1900."""
    timescale = parse_timescale(raw)
    if timescale is None:
        return None
    day = timescale.due
    if day is not None and day < EARLIEST_DATE:
        serial = _serial(day)
        if not isinstance(raw, date) or serial < 3_653:
            # A number: typed as one, or into a cell formatted as a date (then read as 1900's)
            typed = clean_text(raw)[:40] if not isinstance(raw, date) else str(serial)
            said = f"'{typed}' in {col.header} is not a date (as a date, {format_value(day)})"
        else:
            said = f"'{format_value(day)}' in {col.header} is too early for a due date"
        raise _NotADate(f"{said}: enter {TIMESCALE_EXAMPLES}.")
    if timescale.wording and col.editable:
        read_as = f"read as {format_value(day)}, {timescale.means}" if day else f"read as no date ({timescale.means})"
        report.note(f"'{timescale.wording}' in {col.header} was {read_as}.", code=Code.TIMESCALE, **where())
    return day


def _serial(day: date) -> int:
    """The number Excel shows as `day` (its 29/02/1900 that never was included)."""
    if day < date(1900, 3, 1):
        return (day - date(1899, 12, 31)).days
    return (day - date(1899, 12, 30)).days
