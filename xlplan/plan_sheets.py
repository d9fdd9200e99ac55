"""The plan workbook's Settings, Sponsors and Actions sheets: what each holds, and reading
each tolerantly into typed values (header case and spacing, dates as dates, text or
timescales, choices as the list spells them), every problem named by sheet, row and column."""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from xlplan.template import ChoiceList, Template
from xlplan.values import (
    TIMESCALE_EXAMPLES,
    clean_text,
    column_letter,
    normalise_header,
    parse_date,
    parse_number,
    parse_timescale,
)

SETTINGS_SHEET = "Settings"


# Settings rows: (key, label shown to the officer, help).
SETTINGS = (
    ("title", "Plan title", "Shown on every workbook and report."),
    ("plan_id", "Plan id", "A short id that never changes; it identifies returns."),
    ("template", "Template", "The kind of return (a file in templates/)."),
    ("officer", "Planning officer", "Named on the Instructions sheet."),
    ("return_email", "Return address", "Where sponsors send their returns."),
    ("spg_email", "SPG email", "Where the master tracker is sent."),
    ("smtp_host", "SMTP host", "Optional: mail server for `xlplan email --send`."),
    ("smtp_user", "SMTP user", "Optional: login for the mail server."),
    (
        "plan_start",
        "Plan start",
        "Optional: the date the plan's period began, when its measures' baselines stand "
        "(blank: the first cycle's deadline).",
    ),
    (
        "region",
        "Region",
        "Optional: England, Wales, Scotland or Northern Ireland, whose public holidays a deadline avoids "
        "(blank: Scotland).",
    ),
)


RECIPIENT_COLUMNS = (("name", "Name"), ("email", "Email"), ("role", "Role"), ("greeting", "Greeting"))


# A due date written as words ("March 2025", "Ongoing") is kept beside the date it means,
# in the item under this key (a template key never holds a space).
AS_WRITTEN = "{key} as written"


@functools.cache  # asked for each plan cell a workbook shows: 700,000 times at national scale
def as_written_key(key: str) -> str:
    return AS_WRITTEN.format(key=key)


_SPLIT_CHOICES = re.compile(r"[;,\n]+")  # several values in one cell: "3; 8; 9", "3, 8"


@dataclass(frozen=True)
class Recipient:
    name: str
    email: str = ""
    role: str = ""
    greeting: str = ""  # how emails address them ("Dear ..."): the Sponsors sheet's Greeting column

    @property
    def salutation(self) -> str:
        """Who "Dear ..." names: the Greeting given, else the first name of a person's name,
        else the whole name when it is a role or an organisation ("Head of Trading Standards")."""
        return self.greeting or salutation_for(self.name)


# Words that say a name is a role or an organisation, not a person: greet it whole.
_NOT_A_PERSON = re.compile(
    r"\b(head|chief|director|officer|manager|lead|chair|service|services|team|council|board|partnership|"
    r"department|nhs|hscp|fire|rescue|police|trust|group|committee|association|authority|of|and|&)\b",
    re.IGNORECASE,
)


def salutation_for(name: str) -> str:
    words = name.split()
    if not words:
        return "colleague"
    if _NOT_A_PERSON.search(name) or len(words) > 4 or "(" in name:
        return " ".join(words)
    title = words[0].rstrip(".").casefold() in {"dr", "mr", "mrs", "ms", "miss", "mx", "prof", "professor", "cllr"}
    return " ".join(words[:1] if not title else [words[0], words[-1]])


def read_settings(rows: list[list[Any]]) -> dict[str, str]:
    by_label = {normalise_header(label): key for key, label, _ in SETTINGS}
    by_label.update({normalise_header(key): key for key, _, _ in SETTINGS})
    settings: dict[str, str] = {}
    for row in rows:
        if len(row) >= 2 and normalise_header(row[0]) in by_label:
            settings[by_label[normalise_header(row[0])]] = clean_text(row[1])
    return settings


def _header_index(rows: list[list[Any]], wanted: dict[str, str]) -> tuple[int, dict[str, int]]:
    """Find the header row (the first row naming any wanted column) and map keys to columns."""
    for r, row in enumerate(rows[:20]):
        found: dict[str, int] = {}
        for c, cell in enumerate(row):
            norm = normalise_header(cell)
            for key, header in wanted.items():
                if key not in found and norm in {
                    normalise_header(header),
                    normalise_header(key),
                    normalise_header(header) + "s",
                }:
                    found[key] = c
        if found:
            return r, found
    return -1, {}


def read_recipients(rows: list[list[Any]], sheet: str, problems: list[str]) -> list[Recipient]:
    head, cols = _header_index(rows, dict(RECIPIENT_COLUMNS))
    if "name" not in cols:
        problems.append(f"{sheet}: no 'Name' column in the first rows.")
        return []
    recipients: list[Recipient] = []
    seen: set[str] = set()
    for r, row in enumerate(rows[head + 1 :], start=head + 2):
        values = {k: clean_text(row[c]) if c < len(row) else "" for k, c in cols.items()}
        name = " ".join(values["name"].split())
        if not name:
            continue
        if name.casefold() in seen:
            problems.append(f"{sheet}!row {r}: '{name}' is listed twice.")
            continue
        seen.add(name.casefold())
        email = values.get("email", "")
        if email:
            problem = email_problem(email)
            if problem:
                letter = column_letter(cols["email"])
                problems.append(f"{sheet}!{letter}{r} (Email of {name}): '{email}' is not an email address: {problem}")
        greeting = " ".join(values.get("greeting", "").split())
        recipients.append(Recipient(name, email, values.get("role", ""), greeting))
    return recipients


def email_problem(address: str) -> str:
    """Why `address` is not an email address one can send to, or "" (its form only: no DNS)."""
    from email_validator import EmailNotValidError, validate_email

    try:
        validate_email(address, check_deliverability=False, test_environment=True)
    except EmailNotValidError as exc:
        return str(exc)
    return ""


def read_items(
    rows: list[list[Any]], template: Template, problems: list[str]
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    spec = template.plan
    sheet = spec.items_sheet
    head, cols = _header_index(rows, {c.key: c.header for c in spec.columns})
    missing = [c.header for c in spec.columns if c.required and c.key not in cols]
    if missing:
        problems.append(f"{sheet}: missing column(s) {', '.join(missing)} in the header row.")
        return [], {}
    body = rows[head + 1 :]
    # Column by column: one pass per column, with the plain cases (text, real dates and
    # numbers) in comprehensions; 400,000 cells at national scale.
    raw = {col.key: _column(body, cols.get(col.key)) for col in spec.columns}
    blank_row = [all(flags) for flags in zip(*(_blanks(values) for values in raw.values()), strict=True)]
    found: list[tuple[int, int, str]] = []  # (row, column, problem): reported in sheet order
    wordings: dict[str, list[str]] = {col.key: [] for col in spec.columns if col.type == "date"}
    typed = {
        col.key: _typed_column(
            raw[col.key], col, blank_row, _cell_name(sheet, cols, col.key), head + 2, n, found, wordings.get(col.key)
        )
        for n, col in enumerate(spec.columns)
    }
    for n, col in enumerate(spec.columns):
        if col.choices:
            cell = _cell_name(sheet, cols, col.key)
            choices = template.choices[col.choices]
            typed[col.key] = _chosen(typed[col.key], choices, col.header, cell, head + 2, n, found, col.several)
    keys = [col.key for col in spec.columns]
    worded = {as_written_key(k): v for k, v in wordings.items() if any(v)}
    keys += list(worded)
    typed |= worded
    items: list[dict[str, Any]] = []
    where: dict[str, int] = {}
    ref_at = keys.index(spec.key)
    for r, values in enumerate(zip(*(typed[k] for k in keys), strict=True), start=head + 2):
        if blank_row[r - head - 2]:
            continue  # blank rows between Big Actions are normal
        ref = values[ref_at]
        if not ref:
            continue
        if ref in where:
            found.append(
                (
                    r,
                    len(keys),
                    f"{sheet} row {r}: ref '{ref}' is already used on row {where[ref]}; refs must be unique.",
                )
            )
            continue
        where[ref] = r
        items.append(dict(zip(keys, values, strict=True)))
    problems += [message for _, _, message in sorted(found, key=lambda f: (f[0], f[1]))]
    return items, where


def _column(body: list[list[Any]], c: int | None) -> list[Any]:
    if c is None:
        return [None] * len(body)
    return [row[c] if c < len(row) else None for row in body]


def _blanks(values: list[Any]) -> list[bool]:
    """is_blank for a whole column, without a call per cell."""
    return [v is None or (not v.strip() if type(v) is str else v != v if type(v) is float else False) for v in values]


def _cell_name(sheet: str, cols: dict[str, int], key: str) -> Callable[[int], str]:
    letter = column_letter(cols[key]) if key in cols else ""
    return (lambda r: f"{sheet}!{letter}{r}") if letter else (lambda r: f"{sheet} row {r}")


def _typed_column(
    values: list[Any],
    col: Any,
    blank_row: list[bool],
    cell: Callable[[int], str],
    first: int,
    n: int,
    found: list[tuple[int, int, str]],
    wordings: list[str] | None = None,
) -> list[Any]:
    """A plan column's values by its type; what cannot be read, or is missing, goes to `found`.

    A date column reads timescales too ("March 2025", "2024/25", "Ongoing": `parse_timescale`);
    their wording goes to `wordings`, one per value ("" for a plain date)."""
    if col.type == "text":
        texts = [v.strip() if type(v) is str else clean_text(v) for v in values]
        out: list[Any] = [" ".join(t.split()) if "\n" not in t else t for t in texts]
    else:
        out = []
        for i, value in enumerate(values):
            kind = type(value)
            plain_date = kind is date and col.type == "date" and value.year >= 1900  # type: ignore[attr-defined]
            plain_number = kind is float and col.type == "number" and math.isfinite(value)  # type: ignore[arg-type]
            if wordings is not None:
                wordings.append("")
            if value is None or plain_date or plain_number:
                out.append(value)
                continue
            try:
                if wordings is not None:
                    timescale = parse_timescale(value)
                    out.append(timescale.due if timescale else None)
                    wordings[-1] = timescale.wording if timescale else ""
                    continue
                out.append(_typed(value, col.type))
            except ValueError:
                if not blank_row[i]:
                    what = TIMESCALE_EXAMPLES if col.type == "date" else "a number"
                    what = f"a date: give {what}" if col.type == "date" else what
                    found.append(
                        (first + i, n, f"{cell(first + i)} ({col.header}): '{clean_text(value)}' is not {what}.")
                    )
                out.append(None)
    if col.required:
        found += [
            (first + i, n, f"{cell(first + i)} ({col.header}): is empty.")
            for i, v in enumerate(out)
            if not blank_row[i] and (v is None or v == "") and not (wordings and wordings[i])
        ]
    return out


def _chosen(
    values: list[Any],
    choices: ChoiceList,
    header: str,
    cell: Callable[[int], str],
    first: int,
    n: int,
    found: list[tuple[int, int, str]],
    several: bool = False,
) -> list[Any]:
    """A choice column's values as the list spells them ("lower" -> "Lower is better");
    with `several`, each of the values separated by ";" ("3;8; 9" -> "3; 8; 9"). A value
    the list does not know goes to `found`, naming the values it does."""
    out: list[Any] = []
    for i, value in enumerate(values):
        if value is None or value == "":
            out.append(None)
            continue
        parts = [p for p in _SPLIT_CHOICES.split(str(value)) if p.strip()] if several else [str(value)]
        meant = [choices.normalise(p) for p in parts]
        unknown = [p.strip() for p, m in zip(parts, meant, strict=True) if m is None]
        if unknown:
            allowed = " or ".join(choices.names) if len(choices.names) < 5 else ", ".join(choices.names)
            found.append((first + i, n, f"{cell(first + i)} ({header}): '{unknown[0]}' is not one of {allowed}."))
        known = list(dict.fromkeys(m for m in meant if m is not None))
        out.append("; ".join(known) or None)
    return out


def _typed(value: object, kind: str) -> Any:
    if kind == "date":
        return parse_date(value)
    if kind == "number":
        return parse_number(value)
    text = value.strip() if type(value) is str else clean_text(value)  # str first: 400,000 cells at scale
    return " ".join(text.split()) if "\n" not in text else text
