"""SPG decisions: what the Strategic Planning Group decided, as the officer records it in plan.xlsx.

The plan's optional ``Decisions`` sheet has one row per decision::

    Date        Ref     Decision               New due date  Note
    14/10/2025  BA1.01  Approve revised date   31/03/2026    SPG minute 5.2
    14/10/2025  BA4.01  Close                                 Delivered by partners

``Decision`` is one of ``DECISIONS`` (a dropdown in the sheet ``xlplan init`` writes;
read tolerantly: case, spaces and the aliases below). This module owns what they mean:

- **Approve revised date**: the new date becomes the action's *agreed due date* from the
  moment it is recorded: the plan's items carry it (``apply_due_dates``), so the next
  workbook's due date column, the overdue checks on return, the gaps and the master all
  use it. The plan column keeps the officer's original date (``Plan.planned_due``).
- **Keep due date**: the proposal is not approved; the due date stays as it is. Shown as decided.
- **Close**: the action is complete from the cycle the decision was taken in
  (``standing`` gives it the template's complete status: never overdue, its row locked and
  not asked for again), until a sponsor reports on it in a later cycle or it is reopened.
- **Reopen**: a complete (or closed) action is open again: its status is cleared, so
  the next workbook asks for it and the gaps count it until it is reported.

Decisions apply in date order (then sheet order). A decision belongs to the cycle it was
taken in: the latest cycle generated before its date (or the first cycle), and a status
decision (Close, Reopen) counts from that cycle on, after that cycle's returns.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from xlplan.values import clean_text, column_letter, normalise_header, parse_date

DECISIONS_SHEET = "Decisions"
APPROVE = "Approve revised date"
KEEP = "Keep due date"
CLOSE = "Close"
REOPEN = "Reopen"
DECISIONS = (APPROVE, KEEP, CLOSE, REOPEN)
TIMESCALE_DECISIONS = (APPROVE, KEEP)
STATUS_DECISIONS = (CLOSE, REOPEN)
# Other words an officer may type for each decision, matched like the headers (case,
# spaces and punctuation ignored).
ALIASES: dict[str, tuple[str, ...]] = {
    APPROVE: (
        "approve", "approved", "approve date", "approve revised due date", "revised date approved",
        "agree", "agreed", "agree revised date", "accept", "accepted", "new due date",
    ),
    KEEP: (
        "keep", "keep date", "keep due", "kept", "due date kept", "reject", "rejected", "decline",
        "declined", "not approved", "refuse", "refused",
    ),
    CLOSE: ("closed", "complete", "completed", "close action", "done"),
    REOPEN: ("re-open", "reopened", "re-opened", "open", "open again", "reopen action"),
}  # fmt: skip
# The sheet's columns: (key, header, other headers accepted).
COLUMNS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("date", "Date", ("Decided", "Decided on", "Decision date", "SPG date", "Meeting date")),
    ("ref", "Ref", ("Reference", "Action ref")),
    ("decision", "Decision", ("SPG decision",)),
    ("new_due", "New due date", ("Agreed due date", "Revised due date", "New date", "Due date")),
    ("note", "Note", ("Notes", "Minute", "Minute reference", "Comment", "Comments")),
)
HELP = {
    "date": "The date the meeting decided.",
    "ref": "The action's Ref, as on the Actions sheet.",
    "decision": "Approve revised date, Keep due date, Close or Reopen.",
    "new_due": "For 'Approve revised date': the agreed due date.",
    "note": "Optional: the minute reference or why.",
}


@dataclass(frozen=True)
class Decision:
    """One row of the Decisions sheet, read and checked."""

    date: dt.date
    ref: str
    decision: str  # one of DECISIONS
    new_due: dt.date | None
    note: str
    row: int  # the Excel row in plan.xlsx, for messages and order

    @property
    def about_status(self) -> bool:
        return self.decision in STATUS_DECISIONS

    @property
    def about_timescale(self) -> bool:
        return self.decision in TIMESCALE_DECISIONS

    def describe(self) -> str:
        """'Approve revised date: 31/03/2026' as the master shows it."""
        if self.decision == APPROVE and self.new_due:
            return f"{APPROVE}: {self.new_due:%d/%m/%Y}"
        return self.decision

    def as_dict(self) -> dict[str, Any]:
        """As the ledger's change log keeps it."""
        return {
            "date": self.date.isoformat(),
            "ref": self.ref,
            "decision": self.decision,
            "new_due_date": self.new_due.isoformat() if self.new_due else None,
            "note": self.note,
        }

    def as_row(self) -> list[Any]:
        """As the plan cache keeps it."""
        return [self.date.isoformat(), self.ref, self.decision, _iso(self.new_due), self.note, self.row]

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> Decision:
        when, ref, decision, new_due, note, excel_row = row
        return cls(
            date.fromisoformat(when), ref, decision, date.fromisoformat(new_due) if new_due else None, note, excel_row
        )


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _norm(text: object) -> str:
    return normalise_header(text)


_WORDS: dict[str, str] = {_norm(word): word for word in DECISIONS} | {
    _norm(alias): word for word, aliases in ALIASES.items() for alias in aliases
}


def decision_word(text: object) -> str | None:
    """The decision a cell names (tolerantly), or None."""
    return _WORDS.get(_norm(text))


def suggest(text: object) -> str | None:
    """The decision a mistyped word most likely meant."""
    typed = clean_text(text).casefold()
    names = {word.casefold(): word for word in DECISIONS} | {
        alias: word for word, aliases in ALIASES.items() for alias in aliases
    }
    close = difflib.get_close_matches(typed, list(names), n=1, cutoff=0.6)
    return names[close[0]] if close else None


def _header(rows: list[list[Any]]) -> tuple[int, dict[str, int]]:
    accepted = {key: {_norm(h) for h in (header, key, *others)} for key, header, others in COLUMNS}
    for r, row in enumerate(rows[:20]):
        found: dict[str, int] = {}
        for c, cell in enumerate(row):
            norm = _norm(cell)
            for key, names in accepted.items():
                if key not in found and norm and (norm in names or norm.rstrip("s") in names):
                    found[key] = c
                    break
        if "ref" in found and "decision" in found:
            return r, found
    return -1, {}


def read_decisions(
    rows: list[list[Any]],
    refs: Iterable[str],
    problems: list[str],
    sheet: str = DECISIONS_SHEET,
) -> list[Decision]:
    """The decisions on the sheet's `rows`; every problem goes to `problems`, named by sheet!cell."""
    head, cols = _header(rows)
    if head < 0:
        if any(clean_text(v) for row in rows for v in row):
            problems.append(f"{sheet}: no header row with 'Ref' and 'Decision' columns in the first rows.")
        return []
    known = {_norm(ref): ref for ref in refs}
    letters = {key: column_letter(c) for key, c in cols.items()}
    headers = {key: header for key, header, _ in COLUMNS}
    out: list[Decision] = []
    for r, row in enumerate(rows[head + 1 :], start=head + 2):
        raw = {key: row[c] if c < len(row) else None for key, c in cols.items()}
        if not any(clean_text(raw.get(k)) for k in ("date", "ref", "decision", "new_due")):
            continue  # a blank row, or only a note

        def cell(key: str, row_number: int = r) -> str:
            where = f"{sheet}!{letters[key]}{row_number}" if key in letters else f"{sheet} row {row_number}"
            return f"{where} ({headers[key]})"

        if "date" not in cols:
            problems.append(f"{sheet} row {r}: there is no 'Date' column: give the date the meeting decided.")
            when = None
        elif not clean_text(raw.get("date")):
            problems.append(f"{cell('date')}: is empty: give the date the meeting decided.")
            when = None
        else:
            when = _date_in(raw, "date", cell, problems)
        bad = when is None
        ref_text = " ".join(clean_text(raw.get("ref")).split())
        ref = known.get(_norm(ref_text))
        if not ref_text:
            problems.append(f"{cell('ref')}: is empty: give the action's Ref.")
        elif ref is None:
            near = difflib.get_close_matches(ref_text, list(known.values()), n=1, cutoff=0.8)
            hint = f" Did you mean {near[0]}?" if near else ""
            problems.append(f"{cell('ref')}: '{ref_text}' is not an action in the plan.{hint}")
        bad |= ref is None
        word_text = clean_text(raw.get("decision"))
        word = decision_word(word_text)
        if not word_text:
            problems.append(f"{cell('decision')}: is empty: choose one of {', '.join(DECISIONS)}.")
        elif word is None:
            guess = suggest(word_text)
            hint = f" Did you mean '{guess}'?" if guess else ""
            problems.append(
                f"{cell('decision')}: '{word_text}' is not a decision.{hint} Choose one of {', '.join(DECISIONS)}."
            )
        bad |= word is None
        new_due = _date_in(raw, "new_due", cell, problems) if "new_due" in cols else None
        if word == APPROVE and new_due is None and not clean_text(raw.get("new_due")):
            problems.append(f"{cell('new_due')}: is empty: '{APPROVE}' needs the agreed due date.")
            bad = True
        if bad or when is None or ref is None or word is None:
            continue
        note = clean_text(raw.get("note"))
        out.append(Decision(when, ref, word, new_due if word == APPROVE else None, note, r))
    return in_order(out)


def _date_in(raw: Mapping[str, Any], key: str, cell: Any, problems: list[str]) -> date | None:
    value = raw.get(key)
    try:
        return parse_date(value)
    except ValueError:
        problems.append(f"{cell(key)}: '{clean_text(value)}' is not a date (e.g. 14/10/2025).")
        return None


def in_order(decisions: Iterable[Decision]) -> list[Decision]:
    """Date order, then the order on the sheet."""
    return sorted(decisions, key=lambda d: (d.date, d.row))


def apply_due_dates(
    decisions: Sequence[Decision], items: Mapping[str, dict[str, Any]], due_key: str | None
) -> dict[str, Any]:
    """Give each action approved a revised date its agreed due date (in `items`, by ref), in
    date order; return {ref: the due date the plan itself gives} for the actions changed."""
    planned: dict[str, Any] = {}
    if due_key is None:
        return planned
    for d in in_order(decisions):
        if d.decision == APPROVE and d.new_due and d.ref in items:
            item = items[d.ref]
            planned.setdefault(d.ref, item.get(due_key))
            item[due_key] = d.new_due
    return planned


def taken_in(when: date, generated: Sequence[tuple[str, str]]) -> str | None:
    """The cycle a decision dated `when` was taken in: the latest cycle generated before that
    date, else the first cycle (None when no cycle is known). `generated`: (cycle, generated_at)."""
    ordered = sorted(generated)
    before = [cycle for cycle, at in ordered if _day(at) < when]
    if before:
        return before[-1]
    return ordered[0][0] if ordered else None


def _day(stamp: str) -> date:
    match = re.match(r"\d{4}-\d{2}-\d{2}", stamp or "")
    return date.fromisoformat(match.group(0)) if match else date.min


@dataclass(frozen=True)
class Timed:
    """A decision and the cycle it was taken in (None: no cycle generated yet)."""

    decision: Decision
    cycle: str | None


def timed(decisions: Sequence[Decision], generated: Sequence[tuple[str, str]]) -> list[Timed]:
    return [Timed(d, taken_in(d.date, generated)) for d in in_order(decisions)]


def status_decision(timeline: Sequence[Timed], ref: str, cycle: str) -> Timed | None:
    """The latest Close or Reopen of `ref` taken in `cycle` or before, if any."""
    found = None
    for t in timeline:
        if t.decision.ref == ref and t.decision.about_status and (t.cycle is None or t.cycle <= cycle):
            found = t
    return found


def latest_timescale(decisions: Sequence[Decision], ref: str) -> Decision | None:
    """The latest Approve or Keep decision on `ref`."""
    found = None
    for d in in_order(decisions):
        if d.ref == ref and d.about_timescale:
            found = d
    return found
