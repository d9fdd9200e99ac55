"""Progress by outcome: each item's standing counted under every outcome the plan maps it to.

Integration Authorities report progress against the 9 National Health and Wellbeing
Outcomes (Public Bodies (Joint Working) (Scotland) Act 2014). The template names the
plan column that maps each item to its outcomes (``summary.outcomes``), whose choice list
holds the outcomes in order with their words. An item serving three outcomes is counted
under each of them, so the totals add up to more than the plan's items.

Read from the standing model (``standing.picture``), as every other count is, so the
master's sheet, ``summary.Summary.outcomes`` and any paper agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from xlplan.plan import Plan
from xlplan.standing import Picture


@dataclass(frozen=True)
class OutcomeProgress:
    """One outcome: the items mapped to it and where they stand this cycle."""

    outcome: str  # the outcome as the plan names it: "5"
    words: str  # what it says: "Health and social care services contribute to reducing health inequalities."
    counts: Mapping[str, int]  # status -> items at it ("" = no status yet), in the status order
    groups: tuple[str, ...]  # the groups (Big Actions) of the items mapped to it, in plan order
    refs: tuple[str, ...]  # the items mapped to it, in plan order

    @property
    def items(self) -> int:
        return len(self.refs)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["counts"] = dict(self.counts)
        out["items"] = self.items
        return out


def progress_by_outcome(plan: Plan, pic: Picture) -> list[OutcomeProgress]:
    """Every outcome of the template's list, in its order, with its items' statuses now
    (carried-forward statuses count as they stand); [] when the template maps no outcomes
    or the plan maps no item to one."""
    spec = plan.template.outcomes
    if spec is None:
        return []
    choices = plan.template.choices[spec.choices]
    status_choices = plan.template.status_choices
    order = [*(status_choices.names if status_choices else ()), ""]
    key, group_key = plan.template.plan.key, plan.template.plan.group_by
    refs: dict[str, list[str]] = {c.value: [] for c in choices.values}
    groups: dict[str, dict[str, None]] = {c.value: {} for c in choices.values}
    counts: dict[str, dict[str, int]] = {c.value: dict.fromkeys(order, 0) for c in choices.values}
    for item in plan.items:
        mapped = [o.strip() for o in str(item.get(spec.column) or "").split(";") if o.strip() in refs]
        if not mapped:
            continue
        ref = str(item[key])
        standing = pic.now.get(ref)
        status = (standing.status if standing else None) or ""
        for outcome in mapped:
            refs[outcome].append(ref)
            if group_key and item.get(group_key):
                groups[outcome][str(item[group_key])] = None
            per = counts[outcome]
            per[status] = per.get(status, 0) + 1
    if not any(refs.values()):
        return []
    return [
        OutcomeProgress(c.value, c.definition, counts[c.value], tuple(groups[c.value]), tuple(refs[c.value]))
        for c in choices.values
    ]
