"""Where a cycle stands, as numbers: status counts per group, returns per recipient.

One computation feeds `xlplan status`, the master tracker's dashboard and the paper
(`paper.py`), which `xlplan report` and the SPG email render, so they always agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from xlplan.codes import Code
from xlplan.gaps import Gaps, expected_recipients, find_gaps
from xlplan.ledger import Ledger
from xlplan.outcomes import OutcomeProgress, progress_by_outcome
from xlplan.plan import Plan
from xlplan.standing import Picture, picture


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
    group_label: str  # what a group is called: the status table's first header
    colours: dict[str, tuple[str, str]]  # status -> (fill, font)
    groups: list[str]
    counts: dict[str, dict[str, int]]  # group -> status -> count ("" = no status)
    previous_counts: dict[str, int]  # status -> count last cycle
    carried: dict[str, int] = field(default_factory=dict)  # group -> items whose status is carried forward
    recipients: list[RecipientState] = field(default_factory=list)
    gaps: Gaps | None = None
    # Progress by National Health and Wellbeing Outcome: outcome -> status -> count ("" = no
    # status), in the plan's order; None when the plan maps no outcomes. The paper shows it.
    outcomes: dict[str, dict[str, int]] | None = None
    # The same, each outcome with its words, groups and items: the master's outcomes sheet.
    outcome_progress: list[OutcomeProgress] = field(default_factory=list)

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
        group_label=plan.words.group,
        colours=colours,
        groups=groups,
        counts=counts,
        previous_counts=previous_counts,
        carried=carried,
        gaps=gaps or find_gaps(plan, ledger, cycle, today, pic),
    )
    summary.recipients = _recipients(plan, ledger, cycle)
    summary.outcome_progress = progress_by_outcome(plan, pic)
    if summary.outcome_progress:  # the paper's table: each outcome named with its words
        summary.outcomes = {f"{p.outcome}. {p.words}": dict(p.counts) for p in summary.outcome_progress}
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
    header = [s.group_label, *s.statuses, "No update", "Total"]
    rows: list[list[Any]] = []
    for group in s.groups:
        per = s.counts[group]
        rows.append([group, *[per.get(x, 0) for x in s.statuses], per.get("", 0), sum(per.values())])
    totals = s.totals
    rows.append(["Total", *[totals.get(x, 0) for x in s.statuses], totals.get("", 0), sum(totals.values())])
    return header, rows
