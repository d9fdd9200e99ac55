"""The cycle's emails to recipients, as messages: the issue (the workbooks sent out) and the chasers.

Which recipients get which email, with which workbook attached and which dates, is decided
here; the words are `letters.py`'s and the message is `mail.py`'s. Drafting never writes
the ledger (a workbook tidied away is made again with `record=False`).

Drafts of one kind are named "<cycle> issue - <name>.eml" / "<cycle> chase - <name>.eml":
writing a kind again replaces that cycle's earlier drafts of it (`stale_drafts`), so a
chaser for a recipient who has since replied is not left lying in outgoing/ to be sent.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from datetime import date
from email.message import EmailMessage
from pathlib import Path

from xlplan import access
from xlplan.corrections import correction_path
from xlplan.errors import UsageError
from xlplan.files import recipient_filenames
from xlplan.letters import DRAFT_NAMES, Kind, chase_letter, check_date, fill_in_points, issue_letter, later_date
from xlplan.mail import MailError, letter_message, sender_of
from xlplan.manifest import read_custom_properties
from xlplan.plan import Plan
from xlplan.summary import Summary, summarise


@dataclass(frozen=True)
class Draft:
    recipient: str
    kind: Kind
    message: EmailMessage


def issue_drafts(plan: Plan, cycle: str, only: list[str] | None = None) -> list[Draft]:
    """One email per recipient sent a workbook this cycle (or those named in `only`, any case)."""
    sender, officer = sender_of(plan)
    with access.reading(plan.folder) as ledger:
        info = ledger.cycle(cycle)
        issued = ledger.issued(cycle)
    if info is None:
        raise UsageError(f"{cycle} was never generated: run xlplan generate first.")
    names = [r.name for r in plan.recipients if r.name in issued or plan.items_for(r.name)]
    chosen = names if not only else [_named(plan, names, wanted) for wanted in only]
    out = []
    for who in dict.fromkeys(chosen):
        attachment = _issued_workbook(plan, cycle, who, issued)
        if attachment is None:
            raise MailError(f"Cannot make a workbook to send to {who}: they have nothing in the plan.")
        rec = plan.recipient(who)
        letter = issue_letter(plan, cycle, who, info.deadline, info.spg_date)
        message = letter_message(
            letter,
            who,
            rec.email if rec else "",
            sender=sender,
            officer=officer,
            attachment=attachment,
            greeting=rec.salutation if rec else "",
            words=plan.words,
        )
        out.append(Draft(who, "issue", message))
    return out


def _named(plan: Plan, names: list[str], wanted: str) -> str:
    folded = {n.casefold(): n for n in names}
    found = folded.get(" ".join(wanted.split()).casefold())
    if found is None:
        label = plan.template.plan.recipient_label
        raise UsageError(f"No {label} named '{wanted}' this cycle. The {label}s are: {', '.join(names)}.")
    return found


def chase_drafts(
    plan: Plan, cycle: str, today: date, fix_by: date | None = None, send_by: date | None = None
) -> list[Draft]:
    """One email per recipient whose return is missing (a reminder before the deadline, an
    overdue chaser after it), quarantined (a correction) or merged with entries left blank."""
    sender, officer = sender_of(plan)
    with access.reading(plan.folder) as ledger:
        summary = summarise(plan, ledger, cycle, today)
        issued = ledger.issued(cycle)
        returns = ledger.returns(cycle)
    out = []
    for state in summary.recipients:
        who = state.recipient
        attachment: Path | None = None
        new_date: date | None = None
        if state.state == "merged":  # entries left blank: nothing attached (a new return would replace it)
            points = _blank_entries(plan, summary, who)
            if not points:
                continue
            kind: Kind = "blanks"
        elif state.state == "quarantined":
            kind = "correction"
            latest = [r for r in returns if r.recipient == who][-1]
            points = [f"{i.where + ': ' if i.where else ''}{i.message}" for i in latest.issues if i.severity != "note"]
            attachment = _attachment(plan, cycle, who, issued, quarantined=True)
            new_date = (
                fix_by or copy_date(correction_path(plan, cycle, who)) or later_date(plan, today, summary.spg_date)
            )
        elif state.state == "missing":
            kind = "reminder" if today < summary.deadline else "overdue"
            points = fill_in_points(plan, who)
            attachment = _attachment(plan, cycle, who, issued, quarantined=False)
            if kind == "overdue":
                new_date = send_by or later_date(plan, today, summary.spg_date)
        else:
            continue
        letter = chase_letter(plan, cycle, today, summary.deadline, summary.spg_date, kind, points, new_date)
        rec = plan.recipient(who)
        message = letter_message(
            letter,
            who,
            state.email,
            sender=sender,
            officer=officer,
            attachment=attachment,
            greeting=rec.salutation if rec else "",  # the recipients sheet's Greeting, else the default
            words=plan.words,
        )
        out.append(Draft(who, kind, message))
    return out


def check_dates(fix_by: date | None, send_by: date | None, today: date, spg_date: date | None) -> None:
    """Refuse a --fix-by or --send-by that has passed or is after the SPG meeting."""
    for given, what in ((fix_by, "fix-by"), (send_by, "send-by")):
        problem = check_date(given, today, spg_date, what) if given else None
        if problem:
            raise UsageError(problem)


def _blank_entries(plan: Plan, summary: Summary, who: str) -> list[str]:
    """What the meeting will be told of each of `who`'s items left without a status this cycle."""
    mine = {item[plan.template.plan.key] for item in plan.items_for(who)}
    gaps = summary.gaps.no_status if summary.gaps else []
    return [f"{g.ref} {g.action}: {g.detail}" for g in gaps if g.ref in mine]


def copy_date(path: Path) -> date | None:
    """The fix-by date an annotated copy shows (its Instructions sheet's "Please return by")."""
    try:
        with zipfile.ZipFile(path) as archive:
            return date.fromisoformat(read_custom_properties(archive).get("deadline", ""))
    except (OSError, zipfile.BadZipFile, ValueError):
        return None


def _attachment(plan: Plan, cycle: str, who: str, issued: dict[str, tuple[str, int]], quarantined: bool) -> Path:
    if quarantined:
        fix = correction_path(plan, cycle, who)
        if fix.is_file():
            return fix
    path = _issued_workbook(plan, cycle, who, issued)
    if path is None:
        raise MailError(f"Cannot make a workbook to send to {who}: they have nothing in the plan.")
    return path


def _issued_workbook(plan: Plan, cycle: str, who: str, issued: dict[str, tuple[str, int]]) -> Path | None:
    if who in issued:
        path = plan.folder.outgoing_dir(cycle) / issued[who][0]
        if path.is_file():
            return path
    return _fresh_workbook(plan, cycle, who)


def _fresh_workbook(plan: Plan, cycle: str, who: str) -> Path | None:
    """The sent workbook was deleted or never made: make it again, for this recipient only.

    Drafting an email never writes the ledger: the cycle keeps the date it was generated.
    """
    from xlplan.generate import generate

    with access.reading(plan.folder) as ledger:
        info = ledger.cycle(cycle)
    if info is None or not plan.items_for(who):
        return None
    result = generate(plan, cycle, spg_date=info.spg_date, deadline=info.deadline, only=[who], record=False)
    return result.files[0][1] if result.files else None


# --- draft files -------------------------------------------------------------------------


def draft_names(drafts: list[Draft], cycle: str, family: str) -> list[tuple[str, EmailMessage]]:
    """Each draft's file name (no extension): one file each, whatever the names."""
    stems = recipient_filenames([d.recipient for d in drafts], DRAFT_NAMES[family].format(cycle=cycle, name="{name}"))
    return [(stems[d.recipient], d.message) for d in drafts]


def stale_drafts(out_dir: Path, cycle: str, family: str, keep: set[str]) -> list[Path]:
    """That cycle's earlier drafts of a family (issue, chase) not being written again now."""
    head, _, tail = DRAFT_NAMES[family].format(cycle=cycle, name="\0").partition("\0")
    if not out_dir.is_dir():
        return []
    return sorted(
        p
        for p in out_dir.iterdir()
        if p.suffix == ".eml" and p.stem.startswith(head) and p.stem.endswith(tail) and p.stem not in keep
    )
