"""What the SPG needs chased: missing returns, no update, overdue, Red/Amber, contradictions.

Computed from the plan and the ledger only, so the same answer appears on the
console, in the master tracker's Gaps sheet and in --json output.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from xlplan.cycles import plan_start
from xlplan.ledger import Ledger
from xlplan.look import as_date
from xlplan.plan import Plan
from xlplan.schema import judge_measures
from xlplan.standing import Picture, Standing, picture
from xlplan.values import format_value, is_blank, parse_date


@dataclass(frozen=True)
class Missing:
    recipient: str
    email: str
    outcome: str  # "missing" (nothing came back) or "quarantined" (came back with errors)
    days_to_deadline: int  # negative: days past the deadline


@dataclass(frozen=True)
class ActionGap:
    ref: str
    action: str
    sponsor: str
    status: str | None = None
    last_status: str | None = None
    movement: str = ""  # new | worsened | improved | unchanged | not updated (carried forward)
    due: str = ""
    detail: str = ""
    as_of: str = ""  # the cycle its status was reported in: earlier than the gaps' cycle when carried forward
    suggested: str = ""  # contradictions: the status the figures suggest, a question for the officer


@dataclass
class Gaps:
    cycle: str
    deadline: date
    as_of: date
    missing_returns: list[Missing] = field(default_factory=list)
    no_update: list[ActionGap] = field(default_factory=list)
    no_status: list[ActionGap] = field(default_factory=list)
    overdue: list[ActionGap] = field(default_factory=list)
    attention: list[ActionGap] = field(default_factory=list)  # Red and Amber
    contradictions: list[ActionGap] = field(default_factory=list)
    disagreements: list[ActionGap] = field(default_factory=list)  # joint sponsors gave different statuses

    @property
    def total(self) -> int:
        return sum(
            len(v)
            for v in (
                self.missing_returns,
                self.no_update,
                self.no_status,
                self.overdue,
                self.attention,
                self.contradictions,
                self.disagreements,
            )
        )

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["deadline"] = self.deadline.isoformat()
        out["as_of"] = self.as_of.isoformat()
        return out


NOT_UPDATED = "not updated"  # the movement of a status carried forward: nobody reported on it


def movement(now: str | None, before: str | None, order: list[str]) -> str:
    """Compare two statuses by their order in the choice list (first = worst)."""
    if not now or now not in order:
        return ""  # no status this cycle: nothing to compare
    if not before or before not in order:
        return "new"
    if now == before:
        return "unchanged"
    return "worsened" if order.index(now) < order.index(before) else "improved"


def expected_recipients(plan: Plan, ledger: Ledger, cycle: str) -> list[str]:
    """Who owes a return this cycle: everyone issued a workbook, and anyone the plan gives actions to."""
    issued = ledger.issued(cycle)
    return [r.name for r in plan.recipients if r.name in issued or plan.items_for(r.name)]


def find_gaps(plan: Plan, ledger: Ledger, cycle: str, today: date, pic: Picture | None = None) -> Gaps:
    """The cycle's gaps, read from each item's standing (`standing.picture`): pass `pic`
    when it is already read."""
    template = plan.template
    info = ledger.cycle(cycle)
    deadline = info.deadline if info else today
    gaps = Gaps(cycle, deadline, today)
    pic = pic or picture(plan, ledger, cycle)
    gaps.missing_returns = _missing_returns(plan, ledger, cycle, deadline, today)
    status_key = template.status_column
    choices = template.status_choices
    order = list(choices.names) if choices else []
    attention = set(template.attention)
    complete = template.complete
    # Which columns hold the due date and its revision: the template says (its roles).
    due_key, revised_key = template.due_key, template.revised_key
    key = template.plan.key
    title_key = template.label_key
    for item in plan.items:
        ref = item[key]
        standing = pic.now[ref]
        values = standing.values
        sponsor = str(item.get(template.plan.assign_by, "")) if template.plan.assign_by != "all" else ""
        base = {"ref": ref, "action": str(item.get(title_key, "")), "sponsor": sponsor, "as_of": standing.as_of or ""}
        status = standing.status
        done = complete is not None and status == complete
        last = pic.last_status(ref)
        move = movement(status, last, order) if standing.reported else NOT_UPDATED if standing.carried else ""
        if not standing.reported and not done and (status_key or ref not in pic.entered):
            # Left blank in a merged return, or no return merged for it at all (without a
            # status column, an item in a merged return is updated).
            target = gaps.no_status if status_key and ref in pic.entered else gaps.no_update
            target.append(ActionGap(**base, status=status, detail=standing.note))
        if standing.disagreement:
            gaps.disagreements.append(ActionGap(**base, status=status, detail=standing.entry_statuses(status_key)))
        due = item.get(due_key) if due_key else None
        revised = parse_date(values.get(revised_key)) if revised_key and values.get(revised_key) else None
        if isinstance(due, date) and (revised or due) < deadline and not done:
            gaps.overdue.append(
                ActionGap(
                    **base,
                    status=status,
                    due=due.isoformat(),
                    detail=f"revised to {revised.isoformat()}" if revised else "",
                )
            )
        if status in attention:
            detail = "" if standing.reported else standing.note
            gaps.attention.append(ActionGap(**base, status=status, last_status=last, movement=move, detail=detail))
    gaps.contradictions = _contradictions(plan, ledger, pic, deadline)
    return gaps


def _contradictions(plan: Plan, ledger: Ledger, pic: Picture, as_of: date) -> list[ActionGap]:
    """Statuses reported this cycle that the figures question (the `tolerance` rule, judged
    as on return: direction, and the straight line to a target not yet due), in plan order."""
    template = plan.template
    rule = template.contradictions_rule  # roles.contradictions: which tolerance rule, if any
    if rule is None:
        return []
    p = rule.params
    key = template.plan.key
    title_key = template.label_key
    rows: list[tuple[dict[str, Any], Standing]] = []
    for item in plan.items:
        standing = pic.now[item[key]]
        if standing.reported and standing.status in p["applies_to"] and not is_blank(standing.values.get(p["actual"])):
            rows.append((item, standing))
    if not rows:
        return []

    def of(name: str) -> list[Any] | None:
        """A parameter's column for the rows: the return's value, else the plan's."""
        column = p.get(name)
        if not column:
            return None
        return [s.values.get(column, item.get(column)) for item, s in rows]

    until = [
        t if t is not None else d
        for t, d in zip(of("target_date") or [None] * len(rows), of("due") or [None] * len(rows), strict=True)
    ]
    start = plan_start(plan, ledger)
    judged = judge_measures(
        p,
        of("actual"),
        of("target"),
        direction=of("direction"),
        baseline=of("baseline"),
        until=[as_date(u) for u in until],
        start=[start] * len(rows),
        as_of=[as_of] * len(rows),
    )
    baseline = of("baseline") or [None] * len(rows)
    found = []
    for i, (item, standing) in enumerate(rows):
        expected = str(judged.expected.iloc[i])
        if not expected or expected == standing.status:
            continue
        actual, target = standing.values.get(p["actual"]), item.get(p["target"])
        basis = judged.basis(judged.expected.index[i], baseline[i], start, as_date(until[i]))
        found.append(
            ActionGap(
                ref=item[key],
                action=str(item.get(title_key, "")),
                sponsor=str(item.get(template.plan.assign_by, "")) if template.plan.assign_by != "all" else "",
                status=standing.status,
                detail=f"actual {format_value(actual)} vs target {format_value(target)}{basis} suggests {expected}",
                as_of=standing.as_of or "",
                suggested=expected,
            )
        )
    return found


def _missing_returns(plan: Plan, ledger: Ledger, cycle: str, deadline: date, today: date) -> list[Missing]:
    merged = merged_recipients(ledger, cycle)
    quarantined = {r.recipient for r in ledger.returns(cycle) if r.outcome == "quarantined"}
    out = []
    for name in expected_recipients(plan, ledger, cycle):
        if name not in merged:
            rec = plan.recipient(name)
            outcome = "quarantined" if name in quarantined else "missing"
            out.append(Missing(name, rec.email if rec else "", outcome, (deadline - today).days))
    return out


def merged_recipients(ledger: Ledger, cycle: str) -> set[str]:
    """Who has a return merged for the cycle."""
    return {r.recipient for r in ledger.returns(cycle) if r.outcome == "merged" and r.recipient}
