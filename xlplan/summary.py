"""Where a cycle stands, as numbers: status counts per group, returns per recipient.

One computation feeds `xlplan status`, `xlplan report` (text, Markdown, HTML), the
master tracker's dashboard and the SPG email, so they always agree. All text from
plans and returns is escaped in HTML.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from xlplan.codes import Code
from xlplan.gaps import Gaps, expected_recipients, find_gaps
from xlplan.ledger import Ledger
from xlplan.look import BORDER, NAVY, WHITE
from xlplan.plan import Plan
from xlplan.standing import Picture, picture
from xlplan.text import markdown_text
from xlplan.values import long_date


@dataclass(frozen=True)
class RecipientState:
    recipient: str
    email: str
    items: int
    state: str  # merged | quarantined | conflict | missing
    file: str = ""
    received: str = ""
    errors: int = 0
    warnings: int = 0
    note: str = ""  # said beside the state: "nothing was filled in"


@dataclass
class Summary:
    plan_title: str
    cycle: str
    previous_cycle: str | None
    deadline: date
    spg_date: date | None
    today: date
    statuses: list[str]  # the status choice values, in order
    colours: dict[str, tuple[str, str]]  # status -> (fill, font)
    groups: list[str]
    counts: dict[str, dict[str, int]]  # group -> status -> count ("" = no status)
    previous_counts: dict[str, int]  # status -> count last cycle
    carried: dict[str, int] = field(default_factory=dict)  # group -> items whose status is carried forward
    recipients: list[RecipientState] = field(default_factory=list)
    gaps: Gaps | None = None

    @property
    def days_to_deadline(self) -> int:
        return (self.deadline - self.today).days

    @property
    def totals(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for per in self.counts.values():
            for status, n in per.items():
                out[status] = out.get(status, 0) + n
        return out

    def count(self, state: str) -> int:
        return sum(1 for r in self.recipients if r.state == state)


def summarise(
    plan: Plan, ledger: Ledger, cycle: str, today: date, gaps: Gaps | None = None, pic: Picture | None = None
) -> Summary:
    """The cycle in numbers, from each item's standing (carried-forward statuses count as
    they stand). Pass `gaps` and `pic` when they are already found, to save finding them again."""
    template = plan.template
    info = ledger.cycle(cycle)
    choices = template.status_choices
    statuses = list(choices.names) if choices else []
    colours = {c.value: (c.fill, c.font) for c in choices.values} if choices else {}
    group_key = template.plan.group_by
    key = template.plan.key
    pic = pic or picture(plan, ledger, cycle)
    complete = template.summary.get("complete")
    groups = list(dict.fromkeys(str(i.get(group_key) or "") for i in plan.items))
    counts: dict[str, dict[str, int]] = {g: {} for g in groups}
    carried: dict[str, int] = {g: 0 for g in groups}
    previous_counts: dict[str, int] = {}
    for item in plan.items:
        group = str(item.get(group_key) or "")
        standing = pic.now[item[key]]
        status = standing.status or ""
        per = counts[group]
        per[status] = per.get(status, 0) + 1
        carried[group] += standing.carried and standing.status != complete  # complete: not asked for again
        last = pic.last_status(item[key]) or ""
        previous_counts[last] = previous_counts.get(last, 0) + 1
    summary = Summary(
        plan_title=plan.title,
        cycle=cycle,
        previous_cycle=pic.previous_cycle,
        deadline=info.deadline if info else today,
        spg_date=info.spg_date if info else None,
        today=today,
        statuses=statuses,
        colours=colours,
        groups=groups,
        counts=counts,
        previous_counts=previous_counts,
        carried=carried,
        gaps=gaps or find_gaps(plan, ledger, cycle, today, pic),
    )
    summary.recipients = _recipients(plan, ledger, cycle)
    return summary


def _state_note(record: Any) -> str:
    """Why a quarantined return is, when one word says it: it came back with nothing filled in."""
    return "nothing was filled in" if any(i.code == Code.NOTHING_FILLED for i in record.issues) else ""


def _recipients(plan: Plan, ledger: Ledger, cycle: str) -> list[RecipientState]:
    returns = ledger.returns(cycle)
    out = []
    for name in expected_recipients(plan, ledger, cycle):
        rec = plan.recipient(name)
        assert rec is not None
        n = len(plan.items_for(rec.name))
        mine = [r for r in returns if r.recipient == rec.name]
        merged = [r for r in mine if r.outcome == "merged"]
        latest = (merged or mine)[-1] if mine else None
        state = "merged" if merged else ("quarantined" if mine else "missing")
        out.append(
            RecipientState(
                rec.name,
                rec.email,
                n,
                state,
                file=latest.file if latest else "",
                received=(latest.received_at or "")[:16] if latest else "",
                errors=latest.errors if latest else 0,
                warnings=latest.warnings if latest else 0,
                note=_state_note(latest) if latest and state == "quarantined" else "",
            )
        )
    return out


# --- rendering as text -------------------------------------------------------


def deadline_words(days: int) -> str:
    if days > 0:
        return f"{days} day{'s' if days != 1 else ''} to the deadline"
    if days == 0:
        return "the deadline is today"
    return f"{-days} day{'s' if days != -1 else ''} past the deadline"


def status_table(s: Summary) -> tuple[list[str], list[list[Any]]]:
    """Rows of the per-group status table: header, then one row per group and a total."""
    header = ["Big Action", *s.statuses, "No update", "Total"]
    rows: list[list[Any]] = []
    for group in s.groups:
        per = s.counts[group]
        rows.append([group, *[per.get(x, 0) for x in s.statuses], per.get("", 0), sum(per.values())])
    totals = s.totals
    rows.append(["Total", *[totals.get(x, 0) for x in s.statuses], totals.get("", 0), sum(totals.values())])
    return header, rows


def to_markdown(s: Summary) -> str:
    esc = markdown_text  # the text is untrusted
    header, rows = status_table(s)
    lines = [f"# {esc(s.plan_title)}: progress report {s.cycle}", ""]
    lines.append(
        f"Returns: {s.count('merged')} of {len(s.recipients)} received and merged; {deadline_words(s.days_to_deadline)} ({long_date(s.deadline, weekday=False)})."
    )
    lines += ["", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(esc(c) for c in row) + " |" for row in rows]
    lines += ["", "| Sponsor | Return | File |", "|---|---|---|"]
    lines += [f"| {esc(r.recipient)} | {r.state} | {esc(r.file)} |" for r in s.recipients]
    if s.gaps and s.gaps.attention:
        lines += [
            "",
            "## Red and Amber",
            "",
            "| Ref | Status | Last cycle | Movement | Action |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {esc(g.ref)} | {g.status} | {g.last_status or ''} | {g.movement} | {esc(g.action)} |"
            for g in s.gaps.attention[:LISTED]
        ]
        if len(s.gaps.attention) > LISTED:
            lines += ["", _more(len(s.gaps.attention), "Risk register")]
    if s.gaps and s.gaps.overdue:
        refs = ", ".join(esc(g.ref) for g in s.gaps.overdue[:LISTED])
        more = f" and {len(s.gaps.overdue) - LISTED} more" if len(s.gaps.overdue) > LISTED else ""
        lines += ["", f"Overdue actions: {refs}{more}."]
    if s.gaps and s.gaps.disagreements:
        said = "; ".join(f"{esc(g.ref)} ({esc(g.detail)})" for g in s.gaps.disagreements[:LISTED])
        lines += ["", f"Joint sponsors who disagree (the most severe status is shown): {said}."]
    return "\n".join(lines) + "\n"


# A national cycle has thousands of Red, Amber and overdue actions: a report or an email
# lists the first of each, and says where the master tracker lists them all.
LISTED = 50


def _more(count: int, sheet: str) -> str:
    return f"... and {count - LISTED} more: the {sheet} sheet of the master tracker lists them all."


def to_html(s: Summary, *, standalone: bool = True) -> str:
    e = html.escape
    header, rows = status_table(s)
    cell = f"border:1px solid {BORDER.lower()};padding:4px 8px;"
    head_cells = []
    for h in header:
        fill, font = s.colours.get(h, (NAVY, WHITE))
        head_cells.append(f'<th style="{cell}background:{fill};color:{font}">{e(h)}</th>')
    body = []
    for row in rows:
        tds = [f'<td style="{cell}">{e(str(row[0]))}</td>'] + [
            f'<td style="{cell}text-align:right">{e(str(v))}</td>' for v in row[1:]
        ]
        body.append("<tr>" + "".join(tds) + "</tr>")
    parts = [
        f'<h2 style="font-family:Arial,sans-serif;color:{NAVY}">{e(s.plan_title)}: progress report {e(s.cycle)}</h2>',
        f'<p style="font-family:Arial,sans-serif">Returns: {s.count("merged")} of {len(s.recipients)} received and merged; '
        f"{e(deadline_words(s.days_to_deadline))} ({long_date(s.deadline, weekday=False)}).</p>",
        f'<table style="border-collapse:collapse;font-family:Arial,sans-serif;font-size:10pt"><tr>{"".join(head_cells)}</tr>{"".join(body)}</table>',
    ]
    gaps = s.gaps
    if gaps is not None:
        items: list[str] = []
        sections = (
            (gaps.missing_returns, "Gaps", lambda m: f"No clean return from {e(m.recipient)} ({e(m.outcome)})"),
            (
                gaps.attention,
                "Risk register",
                lambda g: f"{e(g.ref)} is {e(g.status or '')} ({e(g.detail or g.movement)}): {e(g.action)}",
            ),
            (gaps.overdue, "Gaps", lambda g: f"{e(g.ref)} is overdue (due {e(g.due)}): {e(g.action)}"),
            (gaps.contradictions, "Gaps", lambda g: f"{e(g.ref)}: status {e(g.status or '')} but {e(g.detail)}"),
            (gaps.disagreements, "Gaps", lambda g: f"{e(g.ref)}: joint sponsors disagree ({e(g.detail)})"),
        )
        for found, sheet, line in sections:
            items += [line(item) for item in found[:LISTED]]
            if len(found) > LISTED:
                items.append(e(_more(len(found), sheet)))
        if items:
            parts.append(
                '<h3 style="font-family:Arial,sans-serif">Gaps</h3><ul style="font-family:Arial,sans-serif">'
                + "".join(f"<li>{i}</li>" for i in items)
                + "</ul>"
            )
    content = "\n".join(parts)
    if not standalone:
        return content
    return f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{e(s.plan_title)} {e(s.cycle)}</title></head><body>\n{content}\n</body></html>\n'


def to_text(s: Summary) -> str:
    header, rows = status_table(s)
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    widths[0] = min(widths[0], 40)
    out = [
        f"{s.plan_title}: progress report {s.cycle}",
        f"Returns: {s.count('merged')} of {len(s.recipients)} received and merged; {deadline_words(s.days_to_deadline)}.",
        "",
    ]
    for row in [header, *rows]:
        first = str(row[0])[:40]
        out.append(
            "  ".join(
                [
                    first.ljust(widths[0]),
                    *[str(v).rjust(w) for v, w in zip(row[1:], widths[1:], strict=True)],
                ]
            )
        )
    return "\n".join(out) + "\n"
