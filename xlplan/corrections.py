"""Corrections: annotated copies of returns that need fixing, ready to send back to the sponsor.

(Not the service users' Feedback sheet. The copies still live in the plan folder's
`feedback/<cycle>/` and are called feedback copies on screen: that name is public.)

The copy is a fresh workbook generated from the plan (same identity, so the sponsor
can fix it and return this very file) with the sponsor's own entries filled in, the
offending cells coloured (errors red, warnings amber) with a comment holding each
message, and a 'Please fix' summary sheet first.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from xlplan.files import recipient_filenames
from xlplan.ledger import CycleInfo
from xlplan.merge import Outcome
from xlplan.plan import Plan
from xlplan.return_workbook import Annotations, new_manifest, write_return


def correction_path(plan: Plan, cycle: str, who: str) -> Path:
    """Where the annotated copy of a recipient's return for a cycle lives."""
    names = [r.name for r in plan.recipients]
    stems = recipient_filenames(names if who in names else [*names, who], f"{cycle} return - {{name}} - PLEASE FIX")
    return plan.folder.feedback_dir(cycle) / f"{stems[who]}.xlsx"  # "PLEASE FIX" never cut; one file each


def write_correction(
    plan: Plan,
    outcome: Outcome,
    cycle: str,
    info: CycleInfo | None,
    previous: dict[str, dict[str, Any]],
    fix_by: date | None = None,
    seal_key: str | None = None,
) -> Path | None:
    """Write the annotated copy for a quarantined return; None if it cannot be matched.

    `info` is the cycle as the ledger knows it, `previous` the cycle before's values by ref,
    `fix_by` the date to send it back by, shown on its Instructions sheet (default: the deadline).
    """
    who = outcome.recipient
    if not who or plan.recipient(who) is None or outcome.cycle != cycle:
        return None
    items = plan.items_for(who)
    if not items or info is None:
        return None
    manifest = new_manifest(plan, who, cycle, fix_by or info.deadline)
    path = correction_path(plan, cycle, who)
    notes = Annotations(outcome.raw_rows or {}, outcome.report.issues, outcome.raw_groups or {})
    write_return(path, plan, who, items, previous, manifest, info.spg_date, None, notes, seal_key)
    return path
