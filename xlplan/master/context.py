"""What the master tracker's sheets show, read from the ledger and the plan once.

This is the only module of the master that reads the ledger: ``gather`` reads this
cycle's and the last cycle's values, every cycle's statuses, the feedback, the returns
and the ratings into a ``Context``; the sheets only ever read the Context.

The gaps (and the counts ``summary.summarise`` makes of them) are found while a worker
may already be building the biggest sheets, so they are added afterwards by
``Context.with_gaps``: a worker gets the Context without them, and a sheet that needs
them there fails at once rather than showing none.

Everything comes from the template: the status column, its choices, the group (Big
Action), the attention and complete statuses, the due and revised dates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cached_property
from typing import Any

from xlplan.decisions import Timed, timed
from xlplan.gaps import Gaps
from xlplan.kinds import cycle_ratings
from xlplan.ledger import CycleInfo, Ledger, PlanChangeRecord, ReturnRecord
from xlplan.plan import Plan
from xlplan.ratings import Ratings
from xlplan.standing import Picture, picture
from xlplan.summary import Summary, summarise
from xlplan.template import Template


@dataclass(frozen=True)
class Context:
    """Everything a sheet needs, read from the ledger once."""

    plan: Plan
    cycle: str
    rendered_at: datetime
    previous_cycle: str | None
    previous_info: CycleInfo | None  # the previous cycle's deadline, for "newly overdue"
    current: Mapping[str, Mapping[str, Any]]  # ref -> its values now: reported this cycle, or carried forward
    previous: Mapping[str, Mapping[str, Any]]  # ref -> its values at the last cycle
    history: Mapping[str, Mapping[str, Any]]  # ref -> cycle -> the status reported that cycle
    cycles: list[str]  # every cycle up to and including this one, in order
    feedback: dict[tuple[str, str], dict[str, Any]]  # (recipient, group) -> field -> text
    returns: list[ReturnRecord]
    picture: Picture  # each item's standing: where its values come from, who said what
    ratings: Ratings | None = None  # a `distribution` summary: many respondents rate each item
    plan_changes: tuple[PlanChangeRecord, ...] = ()  # every change to the plan logged, oldest first
    decisions: tuple[Timed, ...] = ()  # the SPG's decisions from the plan, in date order, with their cycle
    # The gaps, and summary.summarise() of them (the counts the report and the email show
    # too). None in a context sent to a worker before the gaps were found.
    found: tuple[Gaps, Summary] | None = None

    # --- the gaps, handed over once found

    @property
    def gaps(self) -> Gaps:
        return self._found[0]

    @property
    def summary(self) -> Summary:
        return self._found[1]

    @property
    def _found(self) -> tuple[Gaps, Summary]:
        if self.found is None:
            raise RuntimeError("a sheet that needs the gaps was given to a worker started before they were found")
        return self.found

    def with_gaps(self, ledger: Ledger, gaps: Gaps) -> Context:
        return replace(self, found=(gaps, summarise(self.plan, ledger, self.cycle, gaps.as_of, gaps)))

    # --- the template's words and keys

    @property
    def template(self) -> Template:
        return self.plan.template

    @cached_property  # asked for per row and per cell: 200,000 times at national scale
    def status_key(self) -> str | None:
        return self.template.status_column

    @cached_property
    def status_order(self) -> list[str]:
        choices = self.template.status_choices
        return list(choices.names) if choices else []

    @cached_property
    def status_header(self) -> str:
        col = self.template.rows_sheet.column(self.status_key or "")
        return col.header if col else "Status"

    @cached_property
    def last_status_header(self) -> str:
        """The header of last cycle's status, naming that cycle when there was one."""
        key = self.status_key
        prev = next(
            (c for c in self.template.rows_sheet.columns if c.source == "previous" and c.field == key),
            None,
        )
        header = prev.header if prev else f"Last {self.status_header}"
        return f"{header} ({self.previous_cycle})" if self.previous_cycle else header

    @cached_property
    def attention(self) -> list[str]:
        return [s for s in self.template.attention if s in self.status_order]

    @cached_property
    def complete(self) -> str | None:
        value = self.template.complete
        return value if value in self.status_order else None

    @property
    def recipient_label(self) -> str:
        return self.template.plan.recipient_label.capitalize()

    @property
    def items_label(self) -> str:
        return self.template.plan.items_sheet

    @cached_property
    def label_key(self) -> str:
        """The plan column that says what an item is (the template's `roles.label`)."""
        return self.template.label_key

    @property
    def group_key(self) -> str:
        return self.template.plan.group_by

    @property
    def sponsor_key(self) -> str | None:
        assign = self.template.plan.assign_by
        return None if assign == "all" else assign

    @cached_property  # asked for per row
    def due_key(self) -> str | None:
        return self.template.due_key

    @cached_property  # asked for per row
    def revised_key(self) -> str | None:
        return self.template.revised_key

    @cached_property
    def progress_key(self) -> str | None:
        """The return's main note (the template's `roles.progress`)."""
        return self.template.progress_key

    def planned_due(self, item: Mapping[str, Any]) -> Any:
        """The due date plan.xlsx itself gives an item (before any approved revised date)."""
        ref = item.get(self.template.plan.key)
        if ref in self.plan.planned_due:
            return self.plan.planned_due[ref]
        return item.get(self.due_key) if self.due_key else None

    def plan_header(self, key: str | None, default: str) -> str:
        col = next((c for c in self.template.plan.columns if c.key == key), None)
        return col.header if col else default

    def input_header(self, key: str | None, default: str) -> str:
        col = self.template.rows_sheet.column(key or "")
        return col.header if col else default

    # --- items and their statuses

    @cached_property
    def items_by_ref(self) -> dict[str, dict[str, Any]]:
        key = self.template.plan.key
        return {item[key]: item for item in self.plan.items}

    def sponsor_of(self, item: Mapping[str, Any]) -> str:
        key = self.sponsor_key
        return str(item.get(key) or "") if key else ""

    def status_of(self, ref: str) -> str | None:
        return (self.current.get(ref) or {}).get(self.status_key) if self.status_key else None

    def last_status_of(self, ref: str) -> str | None:
        return (self.previous.get(ref) or {}).get(self.status_key) if self.status_key else None

    def last_known(self, ref: str) -> str | None:
        """The status last reported before this cycle, however many cycles ago."""
        per_cycle = self.history.get(ref) or {}
        earlier = [c for c in per_cycle if c < self.cycle and per_cycle[c]]
        return per_cycle[max(earlier)] if earlier else None

    def cycles_at(self, ref: str, statuses: Sequence[str]) -> int:
        """Consecutive cycles, up to and including this one, at one of `statuses`: a cycle
        nobody reported it in keeps the status it last had (carried forward)."""
        per_cycle = self.history.get(ref) or {}
        count, standing = 0, None
        for cycle in self.cycles:
            standing = per_cycle.get(cycle) or standing
            count = count + 1 if standing in statuses else 0
        return count


def gather(plan: Plan, ledger: Ledger, cycle: str) -> Context:
    """What the sheets show, read from the ledger; the gaps are added by `Context.with_gaps`.

    Values, statuses and trend come from each item's standing (`standing.picture`), as the
    gaps, the summary, the report and the email do: carried forward where nobody reported
    this cycle, joint sponsors consolidated, whatever the files were called."""
    template = plan.template
    pic = picture(plan, ledger, cycle)
    groups = template.groups_sheet
    return Context(
        plan=plan,
        cycle=cycle,
        rendered_at=_now(),
        previous_cycle=pic.previous_cycle,
        previous_info=ledger.cycle(pic.previous_cycle) if pic.previous_cycle else None,
        current={ref: s.values for ref, s in pic.now.items() if s.values},
        previous={ref: s.values for ref, s in pic.before.items() if s.values},
        history=pic.trend,
        cycles=list(pic.cycles),
        feedback=ledger.entries(cycle, groups.name) if groups else {},
        returns=ledger.returns(),
        picture=pic,
        ratings=cycle_ratings(plan, ledger, cycle),
        plan_changes=tuple(ledger.plan_changes()),
        decisions=tuple(timed(plan.decisions, ledger.generated())),
    )


def _now() -> datetime:
    return datetime.now().replace(microsecond=0)
