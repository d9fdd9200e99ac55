"""One cycle's generate: the deadline, which recipients get a workbook, the workbooks written
on every core, and the cycle and what each workbook was sent recorded in the ledger.

Each workbook itself is written by `xlplan.return_workbook`.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from xlplan import access
from xlplan.errors import OutputError, PlanError, UsageError
from xlplan.files import recipient_filenames
from xlplan.ledger import IssuedPlan, PlanChange
from xlplan.manifest import Manifest
from xlplan.plan import Plan
from xlplan.plan_log import compare as compare_plan
from xlplan.plan_log import record_version
from xlplan.return_workbook import new_manifest, write_return
from xlplan.standing import values_before
from xlplan.values import long_date
from xlplan.workdays import DeadlineNote, check_given_deadline, region_code, working_deadline
from xlplan.workers import chunks, default_jobs, gc_paused, running

DEADLINE_BEFORE_SPG = timedelta(weeks=3)  # SOP: returns due 3 weeks before the SPG meets


@dataclass
class Generated:
    files: list[tuple[str, Path, int]] = field(default_factory=list)  # recipient, path, items
    skipped: list[tuple[str, str]] = field(default_factory=list)  # recipient, why
    deadline: date | None = None
    outbox: Path | None = None
    deadline_note: DeadlineNote | None = None  # the deadline is not a working day: moved, or kept as given
    plan_changes: list[PlanChange] = field(default_factory=list)  # since the plan was last recorded


def default_deadline(spg_date: date) -> date:
    """Three weeks before the SPG, as the SOP says (`choose_deadline` makes it a working day)."""
    return spg_date - DEADLINE_BEFORE_SPG


def choose_deadline(plan: Plan, spg_date: date | None, deadline: date | None) -> tuple[date, DeadlineNote | None]:
    """The cycle's deadline: as given, or 3 weeks before the SPG moved back to a working day.

    A given deadline is kept even on a holiday (the officer may know better), with a note.
    """
    region = region_code(plan.settings.get("region"))
    if deadline is None:
        if spg_date is None:
            raise UsageError("Give --spg-date (the deadline is 3 weeks before it) or --deadline.")
        chosen, note = working_deadline(default_deadline(spg_date), region)
    else:
        chosen, note = deadline, check_given_deadline(deadline, region)
    if spg_date is not None and chosen > spg_date:
        raise UsageError(
            f"The deadline {long_date(chosen)} is after the {plan.words.meeting_event} on {long_date(spg_date)}: "
            f"returns must be in before the {plan.words.meeting_short} meets. Check --deadline and --spg-date."
        )
    return chosen, note


def validate_cycle(cycle: str) -> str:
    """Cycles are names such as 2025-Q3 that sort in time order."""
    import re

    if not re.fullmatch(r"\d{4}-(Q[1-4]|H[12]|0[1-9]|1[0-2])", cycle):
        raise UsageError(f"Cycle '{cycle}' should look like 2025-Q3 (year, dash, quarter).")
    return cycle


def generate(
    plan: Plan,
    cycle: str,
    *,
    spg_date: date | None,
    deadline: date | None,
    password: str | None = None,
    only: list[str] | None = None,
    progress: Callable[[str], None] | None = None,
    jobs: int | None = None,
    record: bool = True,
) -> Generated:
    """Write this cycle's workbooks into outgoing/<cycle>/ and record the cycle in the ledger.

    The workbooks are written by `jobs` processes (default: one per core). With `record`
    False the ledger is only read: a workbook made again for a chaser is not a new issue.
    """
    validate_cycle(cycle)
    jobs = default_jobs() if jobs is None else max(1, jobs)
    template = plan.template
    if not plan.items:  # else the ledger gains an empty cycle that every later dashboard shows
        raise PlanError(
            f"The plan has no {template.plan.items_sheet.lower()}: fill in the {template.plan.items_sheet} sheet "
            f"of {plan.folder.plan_file.name}, then generate. Nothing was written or recorded."
        )
    deadline, note = choose_deadline(plan, spg_date, deadline)
    outbox = plan.folder.outgoing_dir(cycle)
    result = Generated(deadline=deadline, outbox=outbox, deadline_note=note)
    tasks = _tasks(plan, cycle, deadline, only, outbox, result)
    # Recording the cycle writes the ledger: one writer at a time, after a backup. A workbook
    # made again for a chaser only reads it.
    with access.writing(plan.folder, "generate") if record else nullcontext():
        try:
            outbox.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"Cannot create the folder {outbox}: {exc.strerror or exc}.") from exc
        with access.for_writing(plan.folder) if record else access.reading(plan.folder) as ledger:
            previous = values_before(plan, ledger, cycle)
            context = _WriteContext(plan, previous, spg_date, password, ledger.seal_key(create=record))
            with running(_write_piece, context, chunks(tasks, jobs), jobs) as pieces:
                # While the workers write: what the ledger will keep of what was sent, and of
                # the plan (a new version, if the officer changed it). Nothing when only read.
                sent = (
                    {t.recipient: issued_plan(plan, t.recipient, cycle, t.manifest.generated_at) for t in tasks}
                    if record
                    else {}
                )
                version = compare_plan(plan, ledger) if record else None
                for piece in pieces:
                    for name, path, count in piece:
                        if progress:
                            progress(name)
                        result.files.append((name, path, count))
            if record:  # the cycle and what each workbook was sent, together
                with ledger.transaction():
                    ledger.record_cycle(cycle, spg_date, deadline, [(n, p.name, k) for n, p, k in result.files])
                    ledger.record_issued_plans([sent[n] for n, _p, _k in result.files])
                result.plan_changes = record_version(ledger, version, "generate", cycle)
    return result


@dataclass(frozen=True)
class _WriteContext:
    """What every workbook written in a worker shares."""

    plan: Plan
    previous: dict[str, dict[str, Any]]  # the cycle before's values, by ref
    spg_date: date | None
    password: str | None
    seal_key: str | None = None  # the plan folder's key: each workbook's metadata is sealed with it


@dataclass(frozen=True)
class _ToWrite:
    """One recipient's workbook to write."""

    recipient: str
    path: Path
    manifest: Manifest


def _tasks(
    plan: Plan, cycle: str, deadline: date, only: list[str] | None, outbox: Path, result: Generated
) -> list[_ToWrite]:
    """The workbooks to write; those who get none go to `result.skipped`. Refuses when none is left."""
    template = plan.template
    wanted = only or [r.name for r in plan.recipients]
    unknown = [n for n in wanted if plan.recipient(n) is None]
    if unknown:
        raise UsageError(f"Not on the plan's {template.plan.recipients_sheet} sheet: {', '.join(unknown)}.")
    generated_at = datetime.now().astimezone().isoformat(timespec="seconds")
    everyone = [r.name for r in plan.recipients]
    stems = recipient_filenames(everyone, f"{cycle} return - {{name}}")  # one file each, whatever the names
    tasks: list[_ToWrite] = []
    for name in wanted:
        if not plan.items_for(name):
            result.skipped.append((name, f"no {template.plan.items_sheet.lower()} in the plan"))
            continue
        path = outbox / f"{stems[name]}.xlsx"
        tasks.append(_ToWrite(name, path, new_manifest(plan, name, cycle, deadline, generated_at)))
    if not tasks:  # recording a cycle with nothing issued would only haunt later dashboards
        nobody = ", ".join(who for who, _why in result.skipped)
        raise UsageError(
            f"No workbook to write: {nobody} {'has' if len(result.skipped) == 1 else 'have'} "
            f"no {template.plan.items_sheet.lower()} in the plan. Nothing was recorded."
        )
    return tasks


def _write_piece(context: _WriteContext, piece: list[_ToWrite]) -> list[tuple[str, Path, int]]:
    """Write some recipients' workbooks (in a worker process, or here): (recipient, path, items) each."""
    c = context
    done = []
    with gc_paused():
        for task in piece:
            items = c.plan.items_for(task.recipient)
            write_return(
                task.path, c.plan, task.recipient, items, c.previous, task.manifest, c.spg_date, c.password,
                seal_key=c.seal_key,
            )  # fmt: skip
            done.append((task.recipient, task.path, len(items)))
    return done


def issued_plan(plan: Plan, recipient: str, cycle: str, generated_at: str) -> IssuedPlan:
    """The plan as a workbook for `recipient` is written from it now: what the ledger keeps of
    it, so that the return is checked against what was sent (`sent.Sent`)."""
    key, plain_items = plan.template.plan.key, plan.plain_items
    items = {item[key]: plain_items[item[key]] for item in plan.items_for(recipient)}
    return IssuedPlan(cycle, recipient, generated_at, items, tuple(plan.groups_for(recipient)))
