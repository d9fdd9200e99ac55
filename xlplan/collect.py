"""One collect run: find the returned files, read, validate, decide, merge, render, report.

The order is what makes it safe: every file is read and judged before anything is
written; the archive (content-addressed) is written before the ledger; the ledger
is written in one transaction; the master tracker is rendered from the ledger
afterwards and atomically. A run killed at any point leaves each of them old or
new, and the next run finishes the job (it re-renders a master older than the ledger).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from xlplan import access
from xlplan.codes import Code
from xlplan.cycles import chosen_cycle, current_cycle, file_command, plan_start
from xlplan.errors import PlanError, UsageError
from xlplan.files import checkpoint
from xlplan.gaps import Gaps, find_gaps
from xlplan.issues import Report
from xlplan.ledger import CycleInfo, IssuedPlan, Ledger, PlanChange, ReturnRecord
from xlplan.letters import check_date, later_date
from xlplan.merge import RECORDED, Outcome, Status, archive_bytes, archive_path, record
from xlplan.plan import Plan
from xlplan.plan_log import note_plan
from xlplan.read import read_return
from xlplan.received import SPREADSHEET_SUFFIXES, check_senders, from_email, identify
from xlplan.saved_mail import EMAIL_SUFFIXES, is_email
from xlplan.seal import Sealing
from xlplan.standing import values_before
from xlplan.validate import Prepared, Validated, check_all, prepare, warm
from xlplan.values import clean_text
from xlplan.workers import chunks, default_jobs, gc_paused, map_tasks, settled, started, worth_sharing

_IGNORED_NAMES = {"thumbs.db", "desktop.ini", ".ds_store"}


@dataclass
class Collected:
    cycle: str
    outcomes: list[Outcome] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # file, why
    gaps: Gaps | None = None
    master: Path | None = None
    master_fallback: bool = False
    feedback: list[Path] = field(default_factory=list)
    changed_values: int = 0
    dry_run: bool = False
    master_cycle: str | None = None  # the cycle the master written shows: always the current one
    other_cycles: dict[str, str] = field(default_factory=dict)  # cycle -> the command that collects its returns
    plan_changes: list[PlanChange] = field(default_factory=list)  # logged since the plan was last recorded

    def count(self, status: Status) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def ok(self) -> bool:
        """True when every return merged clean: the exit code is 0 only then."""
        return all(
            o.status in ("merged", "unchanged", "duplicate", "superseded") and o.report.valid for o in self.outcomes
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "cycle": self.cycle,
            "dry_run": self.dry_run,
            "ok": self.ok,
            "returns": [o.as_dict() for o in self.outcomes],
            "skipped": [{"file": f, "reason": r} for f, r in self.skipped],
            "gaps": self.gaps.as_dict() if self.gaps else None,
            "master": str(self.master) if self.master else None,
            "master_cycle": self.master_cycle if self.master else None,
            "feedback": [str(p) for p in self.feedback],
            "changed_values": self.changed_values,
            "other_cycles": self.other_cycles,
            "plan_changes": len(self.plan_changes),
        }


def list_returns(source: Path) -> tuple[list[Path], list[tuple[str, str]]]:
    """The files to look at, and those skipped with the reason why."""
    if not source.is_dir():
        raise UsageError(f"{source} is not a folder.")
    files: list[Path] = []
    skipped: list[tuple[str, str]] = []
    for path in sorted(source.iterdir(), key=lambda p: p.name.casefold()):
        name = path.name
        if path.is_dir():
            continue
        if name.startswith("~$"):
            skipped.append((name, "Excel's lock file for a workbook that is open (not a return)"))
        elif name.startswith(".") or name.casefold() in _IGNORED_NAMES:
            continue
        elif path.suffix.casefold() not in SPREADSHEET_SUFFIXES | EMAIL_SUFFIXES:
            skipped.append((name, f"not a spreadsheet ({path.suffix or 'no extension'})"))
        else:
            files.append(path)
    return files, skipped


def collect(
    plan: Plan,
    *,
    cycle: str | None = None,
    source: Path | None = None,
    prefer: str | None = None,
    dry_run: bool = False,
    today: date | None = None,
    progress: Callable[[Path], None] | None = None,
    render: bool = True,
    jobs: int | None = None,
    fix_by: date | None = None,
) -> Collected:
    """Collect the returns in `source` (default: the plan's returns/ folder) for `cycle`.

    `jobs` processes read and check the files (default: one per core); everything
    that writes happens in this process, in the safe order above. `fix_by` is the date an
    annotated copy asks to be sent back by (default: `letters.later_date`, never after the SPG).
    """
    folder = plan.folder
    today = today or date.today()
    jobs = default_jobs() if jobs is None else max(1, jobs)
    # A real run writes: one writer at a time, after a backup. A dry run only reads.
    with (
        nullcontext() if dry_run else access.writing(folder, "collect"),
        access.reading(folder) if dry_run else access.for_writing(folder) as ledger,
        settled() as settle,
    ):
        # A cycle never generated would list every sponsor as missing: name the known ones instead.
        cycle = chosen_cycle(ledger, cycle, unknown=UsageError)
        info = ledger.cycle(cycle)
        as_of = info.deadline if info else today
        problem = check_date(fix_by, today, info.spg_date if info else None, "fix-by") if fix_by else None
        if problem:
            raise UsageError(problem)
        generated = set(ledger.cycles())
        files, skipped = list_returns(source or folder.returns_dir)
        result = Collected(cycle, skipped=skipped, dry_run=dry_run)
        seen: dict[str, Outcome] = {}
        to_read: list[tuple[Outcome, bytes]] = []
        emails: dict[str, tuple[str, bytes]] = {}  # sha -> (suffix, bytes) of each email read
        for path in files:
            found = from_email(path, ledger, generated, seen, result.skipped, emails) if is_email(path) else None
            for outcome, data in found if found is not None else [identify(path, ledger, generated, seen)]:
                result.outcomes.append(outcome)
                if data is None and progress:
                    progress(outcome.path)
                if data is not None:
                    to_read.append((outcome, data))
        issued: dict[str, list[IssuedPlan]] = {}
        for sent in ledger.issued_plans(cycle):  # what each workbook of the cycle was sent, oldest first
            issued.setdefault(sent.recipient, []).append(sent)
        _judge_all(
            to_read,
            plan,
            cycle,
            as_of,
            jobs,
            progress,
            issued,
            plan_start(plan, ledger),
            Sealing(ledger.seal_key(create=False) or "", plan.plan_id),
        )
        settle()
        for out in result.outcomes:
            if out.status == "duplicate":  # its twin has only now been read
                twin = seen[out.sha256]
                out.recipient, out.cycle = twin.recipient, twin.cycle
        check_senders(result.outcomes, plan)
        result.other_cycles = _other_cycles(result.outcomes, cycle, current_cycle(ledger) or cycle, generated, source)
        _resolve_conflicts(result.outcomes, ledger, cycle, prefer)
        if dry_run:
            result.gaps, result.changed_values = _as_if_merged(plan, ledger, result, today)
            return result
        checkpoint("after-read")
        # The archive (the bytes that were hashed and read, not the file again, which may
        # have changed since) and the annotated copies of quarantined returns (which depend
        # only on the return and earlier cycles) are written by a worker while the ledger is
        # updated here, and always before it commits: a crash before then is repaired by a
        # re-run. Archive paths are kept relative to the plan folder, which may be moved.
        keep = [_Kept(o.sha256, o.path.suffix, data) for o, data in to_read if o.status in RECORDED]
        keep += [  # the emails as saved, beside the workbooks they brought
            _Kept(sha, *emails[sha])
            for sha in dict.fromkeys(o.email_sha256 for o, _ in to_read if o.status in RECORDED and o.email_sha256)
        ]
        archived = {
            k.sha256: archive_path(folder.archive_dir, k.sha256, k.suffix).relative_to(folder.root) for k in keep
        }
        fix_by = fix_by or later_date(plan, today, info.spg_date if info else None)
        with _files_kept(plan, ledger, result, keep, jobs, fix_by) as files_kept:

            def before_commit() -> None:
                files_kept()
                checkpoint("after-archive")

            if any(o.status in RECORDED for o in result.outcomes):
                result.changed_values = record(ledger, plan.template, result.outcomes, archived, before_commit)
            else:
                before_commit()
        checkpoint("after-ledger")

        def gaps() -> Gaps:
            result.gaps = find_gaps(plan, ledger, cycle, today)
            settle()
            return result.gaps

        # A changed plan (or a new SPG decision) is logged, and the master rendered again to show it.
        result.plan_changes = note_plan(plan, ledger, "collect", cycle)
        # The master shows the current cycle even when this run filed a late return for an earlier one.
        shown = current_cycle(ledger) or cycle
        state = _master_out_of_date(plan, ledger, shown) if render else None
        if state is not None:
            if shown == cycle:
                _render(plan, ledger, result, gaps, jobs, state, shown)  # finds the gaps while its worker builds
            else:
                _render(plan, ledger, result, lambda: find_gaps(plan, ledger, shown, today), jobs, state, shown)
        if result.gaps is None:
            gaps()
    return result


# --- what the worker processes are given ----------------------------------------------------


@dataclass(frozen=True)
class _JudgeContext:
    """What every file read and checked in a worker shares."""

    plan: Plan
    cycle: str
    as_of: date  # what date rules (overdue, past_date) judge against: the deadline, or today
    issued: dict[str, list[IssuedPlan]] = field(default_factory=dict)  # recipient -> plans issued this cycle
    start: date | None = None  # the plan's start: where a measure's line to its target begins
    sealing: Sealing | None = None  # the plan folder's key for the workbooks' seals, and plan id


@dataclass(frozen=True)
class _Received:
    """One file to read and check: its bytes were read (and hashed) once, here."""

    path: Path
    data: bytes


@dataclass(frozen=True)
class _Kept:
    """One file's bytes to archive under their hash."""

    sha256: str
    suffix: str
    data: bytes


@dataclass(frozen=True)
class _KeepContext:
    """What archiving the files and writing the annotated copies needs."""

    plan: Plan
    cycle: str
    info: CycleInfo | None  # the cycle as the ledger knows it
    previous: dict[str, dict[str, Any]]  # the cycle before's values, by ref
    archive_dir: Path
    keep: list[_Kept]
    fix_by: date | None = None  # the date the annotated copies ask to be sent back by
    seal_key: str | None = None  # the annotated copies are sealed like the workbooks sent


@dataclass
class _Judged:
    """What a worker sends back about one file: small, so it crosses processes cheaply."""

    report: Report
    recipient: str = ""
    cycle: str = ""
    validated: Validated | None = None
    raw_rows: dict[str, dict[str, Any]] | None = None
    raw_groups: dict[str, dict[str, str]] | None = None


def _judge_all(
    to_read: list[tuple[Outcome, bytes]],
    plan: Plan,
    cycle: str,
    as_of: date,
    jobs: int,
    progress: Callable[[Path], None] | None,
    issued: dict[str, list[IssuedPlan]] | None = None,
    start: date | None = None,
    sealing: Sealing | None = None,
) -> None:
    """Read and check every file, in pieces spread over `jobs` processes; fill in each outcome."""
    pieces = chunks([_Received(o.path, data) for o, data in to_read], jobs)
    if len(pieces) > 1:
        warm(plan)  # once here rather than once in every worker: ~0.2 s each at national scale
    context = _JudgeContext(plan, cycle, as_of, issued or {}, start, sealing)
    _fill_in(to_read, map_tasks(_judge_piece, context, pieces, jobs), progress)


def _fill_in(
    to_read: list[tuple[Outcome, bytes]], results: Iterator[list[_Judged]], progress: Callable[[Path], None] | None
) -> None:
    outcomes = iter(o for o, _ in to_read)
    for judged_piece in results:
        for judged in judged_piece:
            out = next(outcomes)
            out.report, out.recipient, out.cycle = judged.report, judged.recipient, judged.cycle
            out.raw_rows, out.raw_groups, out.validated = judged.raw_rows, judged.raw_groups, judged.validated
            if judged.validated is not None:
                out.status = "merged" if judged.report.valid else "quarantined"
            if progress:
                progress(out.path)


def _judge_piece(context: _JudgeContext, piece: list[_Received]) -> list[_Judged]:
    """Read and check some files (in a worker process, or here); one schema pass for them all."""
    plan = context.plan
    with gc_paused():
        judged = [_judge(f.path, f.data, plan, context) for f in piece]
        batch = [p for _, p in judged if p is not None]
        check_all(batch, plan.template, context.as_of, context.start)
    for j, prepared in judged:
        if prepared is not None:
            j.validated = prepared.result
        if j.validated is not None and j.report.valid:
            j.raw_rows = j.raw_groups = None  # only a quarantined return's feedback copy needs them
    return [j for j, _ in judged]


def _judge(path: Path, data: bytes, plan: Plan, context: _JudgeContext) -> tuple[_Judged, Prepared | None]:
    template, cycle, issued = plan.template, context.cycle, context.issued
    ret, report = read_return(
        path, lambda name: template if name == template.name else None, data=data, sealing=context.sealing
    )
    judged = _Judged(report)
    if ret is None:
        return judged, None
    judged.recipient, judged.cycle = ret.recipient, ret.cycle
    editable = {c.key for c in template.rows_sheet.editable_columns}
    key = template.plan.key
    judged.raw_rows = {row.values[key]: {k: v for k, v in row.values.items() if k in editable} for row in ret.rows}
    judged.raw_groups = {g: {k: clean_text(v) for k, (v, _cell) in fields.items()} for g, fields in ret.groups.items()}
    if not ret.identity:
        return judged, None
    sent = _issued_for(issued.get(ret.recipient, []), ret.identity.get("generated_at", ""))
    prepared = prepare(ret, report, plan, cycle, sent)
    if prepared is not None:
        judged.recipient = prepared.result.recipient  # the recipient now, when the sponsor was replaced
    return judged, prepared


def _issued_for(plans: list[IssuedPlan], generated_at: str) -> IssuedPlan | None:
    """The issued plan a return answers: the workbook generated at `generated_at` (its
    metadata), else the latest issued to that recipient (None in an older ledger)."""
    exact = [p for p in plans if p.generated_at == generated_at]
    chosen = exact or plans
    return chosen[-1] if chosen else None


def _other_cycles(
    outcomes: list[Outcome], cycle: str, current: str, generated: set[str], source: Path | None
) -> dict[str, str]:
    """A return for another generated cycle is not an error in it: it is for another run.

    Nothing of it is recorded (no quarantine, no annotated copy, no chaser): the outcome
    says which command files it. An earlier cycle's return is "late"; a later one's (seen
    while a late return is filed) is "other-cycle". Returns {cycle: the command that collects it}.
    """
    commands: dict[str, str] = {}
    for out in outcomes:
        if out.status != "quarantined" or out.cycle == cycle or out.cycle not in generated:
            continue
        if not any(i.code == Code.WRONG_CYCLE for i in out.report.errors):
            continue
        late = out.cycle < cycle
        command = file_command(out.cycle, source) if out.cycle != current else _plain_command(source)
        if late:
            out.status = "late"
            out.detail = (
                f"a late return for {out.cycle} (this run collects {cycle}): nothing was merged. "
                f"File it with: {command}"
            )
        else:
            out.status = "other-cycle"
            out.detail = f"the return for {out.cycle}, not {cycle}: nothing was merged. Collect it with: {command}"
        out.report = Report(out.path.name)  # its checks are made when it is collected for its own cycle
        out.validated = out.raw_rows = out.raw_groups = None
        commands[out.cycle] = command
    return commands


def _plain_command(source: Path | None) -> str:
    return "xlplan collect" + (f' "{source}"' if source is not None else "")


def _resolve_conflicts(outcomes: list[Outcome], ledger: Ledger, cycle: str, prefer: str | None) -> None:
    """Two different returns for one recipient and cycle: never pick silently."""
    by_recipient: dict[str, list[Outcome]] = {}
    for out in outcomes:
        if out.status == "merged":
            by_recipient.setdefault(out.recipient, []).append(out)
    merged_before = {r.recipient: r for r in ledger.returns(cycle) if r.outcome == "merged"}
    for who, group in by_recipient.items():
        earlier = merged_before.get(who)
        if len(group) == 1 and earlier is None:
            continue
        names = [o.path.name for o in group] + (
            [f"{earlier.file} (collected {earlier.received_at[:10]})"] if earlier else []
        )
        chosen = _choose(group, prefer, earlier)
        if chosen is None:
            for out in group:
                out.status = "conflict"
                out.detail = (
                    f"{len(names)} returns for {who} in {cycle}: {', '.join(names)}. Choose with "
                    '--prefer newest, or --prefer "<file name>".'
                )
            continue
        kept = chosen.path.name if isinstance(chosen, Outcome) else f"{earlier.file} (collected earlier)"  # type: ignore[union-attr]
        for out in group:
            if out is not chosen:
                out.status = "superseded"
                out.detail = f"not used: {kept} was preferred"
        if isinstance(chosen, Outcome):
            chosen.detail = f"preferred over {', '.join(n for n in names if n != chosen.path.name)}"


_EARLIER = object()  # the return merged in an earlier run was preferred


def _choose(group: list[Outcome], prefer: str | None, earlier: ReturnRecord | None) -> Outcome | object | None:
    if prefer is None:
        return None
    if prefer == "newest":
        newest = max(group, key=lambda o: o.mtime)
        if earlier is not None and (earlier.file_mtime or 0) > newest.mtime:
            return _EARLIER
        return newest
    chosen = next((o for o in group if o.path.name == prefer), None)
    if chosen is None and earlier is not None and earlier.file == prefer:
        return _EARLIER
    return chosen


def _as_if_merged(plan: Plan, ledger: Ledger, result: Collected, today: date) -> tuple[Gaps, int]:
    """The gaps and the number of values changed a real run would report, found by merging
    into a throw-away copy of the ledger."""
    import tempfile

    changed = 0
    with (
        tempfile.TemporaryDirectory(prefix="xlplan-dry-run-") as tmp,
        ledger.copy_to(Path(tmp) / "ledger.sqlite") as copy,
    ):
        if any(o.status in RECORDED for o in result.outcomes):
            changed = record(copy, plan.template, result.outcomes, {})
        return find_gaps(plan, copy, result.cycle, today), changed


@contextmanager
def _files_kept(
    plan: Plan, ledger: Ledger, result: Collected, keep: list[_Kept], jobs: int, fix_by: date | None = None
) -> Iterator[Callable[[], None]]:
    """Start writing the archive and the annotated copies; the function given waits for
    them and lists the copies in `result.feedback`.

    Several quarantined files from one recipient share one copy: the last one, in file order.
    """
    last = {o.recipient: o for o in result.outcomes if o.status == "quarantined"}
    outcomes = [o for o in result.outcomes if o.status == "quarantined" and last[o.recipient] is o]
    context = _KeepContext(
        plan,
        result.cycle,
        ledger.cycle(result.cycle),
        values_before(plan, ledger, result.cycle),
        plan.folder.archive_dir,
        keep,
        fix_by,
        ledger.seal_key(create=True),
    )
    if worth_sharing(len(keep), jobs):
        with started(_keep_files, context, [outcomes], 1) as written:
            yield lambda: _take_copies(result, written)
    else:
        done = iter([_keep_files(context, outcomes)])
        yield lambda: _take_copies(result, done)


def _take_copies(result: Collected, written: Iterator[list[Path]]) -> None:
    for paths in written:  # one copy per recipient, so no path twice
        result.feedback += paths


def _keep_files(context: _KeepContext, outcomes: list[Outcome]) -> list[Path]:
    """Archive the files and write the annotated copies (in a worker, or here)."""
    from xlplan.corrections import write_correction

    c = context
    for kept in c.keep:
        archive_bytes(c.archive_dir, kept.sha256, kept.suffix, kept.data)
    paths = [write_correction(c.plan, out, c.cycle, c.info, c.previous, c.fix_by, c.seal_key) for out in outcomes]
    return [p for p in paths if p is not None]


def _master_out_of_date(plan: Plan, ledger: Ledger, cycle: str) -> str | None:
    """The ledger's state when the master does not show it for `cycle` yet (or is gone), else None.

    None too before anything was collected: there is nothing to show.
    """
    state = ledger.state()
    if state is None:
        return None
    shows = ledger.master_cycle()  # None for a master of an earlier xlplan: rebuilt, to be sure
    if ledger.master_state() != state or shows != cycle or not plan.folder.master_file.exists():
        return state
    return None


def _render(
    plan: Plan, ledger: Ledger, result: Collected, gaps: Callable[[], Gaps], jobs: int, state: str, cycle: str
) -> None:
    """Render the master for `cycle`, and note the ledger `state` and the cycle it shows."""
    from xlplan.master import render_master

    out = render_master(plan, ledger, cycle, gaps, jobs=jobs)
    result.master, result.master_fallback, result.master_cycle = out.path, out.fallback, cycle
    if not out.fallback:
        ledger.mark_master_rendered(state, cycle)


@dataclass(frozen=True)
class MasterFile:
    path: Path
    note: str = ""  # said when it had to be rebuilt


def master_showing(plan: Plan, cycle: str, today: date, scratch: Path) -> MasterFile:
    """A master tracker that shows `cycle`, for the SPG pack: never one of another quarter.

    For the current cycle, the plan's master tracker, rebuilt first when it is out of date or
    shows another cycle. For an earlier cycle, one rendered into `scratch`: the plan's master
    goes on showing the current cycle.
    """
    from xlplan.master import render_master

    master = plan.folder.master_file
    with access.reading(plan.folder) as ledger:
        if ledger.state() is None and not master.is_file():
            raise PlanError(f"There is no master tracker yet ({master}): run `xlplan collect` first.")
        current = current_cycle(ledger)
        if cycle != current:
            target = scratch / f"{master.stem} {cycle}{master.suffix}"
            render_master(plan, ledger, cycle, find_gaps(plan, ledger, cycle, today), target=target)
            note = f"Attached a master tracker rebuilt for {cycle}: {master.name} shows the current cycle, {current}."
            return MasterFile(target, note)
        if _master_out_of_date(plan, ledger, cycle) is None:
            return MasterFile(master)
    # Rebuilding the plan's master writes the folder and notes it in the ledger: a write command's way.
    with access.writing(plan.folder, "email spg"), access.for_writing(plan.folder) as ledger:
        state = _master_out_of_date(plan, ledger, cycle)
        if state is None:  # rebuilt by another run meanwhile
            return MasterFile(master)
        shown = ledger.master_cycle()
        result = Collected(cycle)
        _render(plan, ledger, result, lambda: find_gaps(plan, ledger, cycle, today), 1, state, cycle)
        assert result.master is not None
        why = f"it showed {shown}" if shown and shown != cycle else "it was older than the ledger"
        return MasterFile(result.master, f"Rebuilt the master tracker for {cycle} ({why}): {result.master}")
