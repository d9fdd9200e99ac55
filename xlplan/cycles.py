"""Reporting cycles as a list: which one is current, what each holds, removing an unused one.

The **current cycle** is defined here and only here: the latest cycle generated, in
time order (cycle names such as 2025-Q3 sort in time order), whatever order they were
generated in. Regenerating one sponsor's workbook for an earlier cycle does not make
that cycle current; generating the next one early does. `status`, `report`, `email`
and `collect` all default to it, and the master tracker always shows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from xlplan import access
from xlplan.errors import PlanError, XlplanError
from xlplan.ledger import CycleOverview, Ledger, RemovedCycle
from xlplan.plan import Plan
from xlplan.plan_folder import PlanFolder

NOTHING_YET = "No cycle has been generated yet: run `xlplan generate --cycle ... --spg-date ...` first."


def current_cycle(ledger: Ledger) -> str | None:
    """The latest generated cycle (None before the first `generate`)."""
    return ledger.latest_cycle()


def plan_start(plan: Plan, ledger: Ledger) -> date | None:
    """Where a measure's straight line to its target starts: Settings' plan start, else the
    deadline of the first cycle (None before any cycle is generated)."""
    if plan.start is not None:
        return plan.start
    cycles = ledger.cycles()
    first = ledger.cycle(min(cycles)) if cycles else None
    return first.deadline if first else None


def chosen_cycle(ledger: Ledger, cycle: str | None, unknown: type[XlplanError] = PlanError) -> str:
    """`cycle` if it was generated, else the current one when none is given; an `unknown` error otherwise."""
    chosen = cycle or current_cycle(ledger)
    if chosen is None:
        raise PlanError(NOTHING_YET)
    if ledger.cycle(chosen) is None:
        known = ", ".join(ledger.cycles())
        raise unknown(f"Cycle {chosen} has not been generated (known cycles: {known}).")
    return chosen


def ago(stamp: str, today: date) -> str:
    """'today', 'yesterday', '3 days ago' for a ledger timestamp."""
    try:
        days = (today - datetime.fromisoformat(stamp).date()).days
    except ValueError:
        return f"on {stamp[:10]}"
    if days <= 0:
        return "today"
    return "yesterday" if days == 1 else f"{days} days ago"


def outstanding(plan: Plan, ledger: Ledger, cycle: str) -> tuple[int, int]:
    """(missing, quarantined): recipients issued a workbook for `cycle` with no merged return."""
    issued = ledger.issued(cycle)
    returns = ledger.returns(cycle)
    merged = {r.recipient for r in returns if r.outcome == "merged"}
    quarantined = {r.recipient for r in returns if r.outcome == "quarantined"} - merged
    expected = [r.name for r in plan.recipients if r.name in issued]
    missing = [n for n in expected if n not in merged and n not in quarantined]
    return len(missing), sum(1 for n in expected if n in quarantined)


def current_note(plan: Plan, ledger: Ledger, shown: str, today: date) -> str:
    """The line `xlplan status` prints about which cycle is current.

    "2024-Q1 is current (generated 3 days ago); 2023-Q4 has 2 returns still missing: ..."
    """
    current = current_cycle(ledger)
    info = ledger.cycle(current) if current else None
    if current is None or info is None:
        return ""
    generated = f"generated {ago(info.generated_at, today)}"
    if shown != current:
        return f"{shown} is not the current cycle: {current} is ({generated})."
    line = f"{current} is current ({generated})"
    previous = max((c for c in ledger.cycles() if c < current), default=None)
    if previous is not None:
        missing, quarantined = outstanding(plan, ledger, previous)
        parts = [f"{n} {_returns(n)} still missing" for n in [missing] if n] + [
            f"{n} quarantined" for n in [quarantined] if n
        ]
        if parts:
            return f"{line}; {previous} has {' and '.join(parts)}: `xlplan status --cycle {previous}`."
    return line + "."


def _returns(n: int) -> str:
    return "return" if n == 1 else "returns"


# --- the list of cycles -----------------------------------------------------------------


@dataclass(frozen=True)
class CycleList:
    current: str | None
    cycles: list[CycleOverview]
    removed: list[RemovedCycle]

    def as_dict(self) -> dict[str, Any]:
        return {
            "current": self.current,
            "cycles": [
                {
                    "cycle": c.cycle,
                    "spg_date": c.spg_date.isoformat() if c.spg_date else None,
                    "deadline": c.deadline.isoformat(),
                    "generated_at": c.generated_at,
                    "issued": c.issued,
                    "merged": c.merged,
                    "quarantined": c.quarantined,
                    "current": c.cycle == self.current,
                }
                for c in self.cycles
            ],
            "removed": [{"cycle": r.cycle, "removed_at": r.removed_at, "held": r.held} for r in self.removed],
        }


def list_cycles(folder: PlanFolder) -> CycleList:
    with access.reading(folder) as ledger:
        return CycleList(current_cycle(ledger), ledger.cycle_overview(), ledger.removed_cycles())


@dataclass(frozen=True)
class Removal:
    removed: RemovedCycle
    outbox: Path  # left as it was
    current: str | None  # the current cycle after the removal
    master_showed_it: bool  # the master tracker shows the removed cycle until the next collect


def remove_cycle(folder: PlanFolder, cycle: str) -> Removal:
    """Take `cycle` out of the ledger when nothing was merged into it (refused otherwise).

    The files sent out stay in outgoing/<cycle>/: they may already be in sponsors' inboxes.
    """
    with access.writing(folder, "cycles remove"), access.for_writing(folder) as ledger:
        removed = ledger.remove_cycle(cycle)
        return Removal(removed, folder.outgoing_dir(cycle), current_cycle(ledger), ledger.master_cycle() == cycle)


def removal_lines(removal: Removal) -> list[str]:
    """What `xlplan cycles remove` says it did."""
    held = removal.removed.held
    issued, returns = len(held["issued"]), len(held["returns"])
    cycle = removal.removed.cycle
    lines = [
        f"Removed cycle {cycle} from the ledger ({issued} workbook(s) issued, "
        f"{returns} quarantined return(s); nothing had been merged). The removal is recorded in the ledger."
    ]
    if removal.outbox.exists():
        lines.append(f"Its folder {removal.outbox} was left as it is: delete it yourself if nobody needs it.")
    lines.append(f"The current cycle is now {removal.current}." if removal.current else "No cycle is left.")
    if removal.master_showed_it and removal.current:
        lines.append(
            f"The master tracker still shows {cycle}: the next `xlplan collect` rebuilds it for {removal.current}."
        )
    return lines


# --- late returns ----------------------------------------------------------------------


def file_command(cycle: str, source: Path | None) -> str:
    """The command that collects a return for `cycle` (from `source`, when one was given)."""
    where = f' "{source}"' if source is not None else ""
    return f"xlplan collect{where} --cycle {cycle}"
