"""Console output for the CLI: progress bars and the tables an officer reads.

Kept apart from the library so that the library never prints; the CLI calls these.
Rich writes plain text when the output is not a terminal (pipes, CliRunner).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from xlplan.values import days_text

if TYPE_CHECKING:
    from xlplan.collect import Collected
    from xlplan.cycles import CycleList
    from xlplan.issues import Issue
    from xlplan.plan import Plan
    from xlplan.summary import Summary
    from xlplan.words import Words

# A national cycle finds thousands of warnings and Red/Amber actions: the console shows the
# first of each (the master tracker, the annotated copies and `xlplan export` hold them all).
ISSUES_SHOWN = 12  # per return: errors, then warnings, then notes
ROWS_SHOWN = 40  # per table

_OUTCOME_STYLE: dict[str, str] = {  # by outcome (merge.Status) and by return state (summary)
    "merged": "green",
    "quarantined": "red",
    "conflict": "red",
    "superseded": "yellow",
    "unchanged": "dim",
    "duplicate": "dim",
    "late": "yellow",
    "other-cycle": "yellow",
}


def console() -> Console:
    return Console(highlight=False, soft_wrap=False)


@contextmanager
def progress_bar(label: str, total: int | None = None, enabled: bool = True) -> Iterator[Callable[[str], None]]:
    """A progress bar on stderr ("Reading returns  57/200  <name>") while files are done;
    a no-op when not wanted or when stderr is not a terminal."""
    if not enabled:
        yield lambda _name: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    err = Console(stderr=True)
    with Progress(
        TextColumn(escape(label)),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    ) as bar:
        task = bar.add_task("", total=total)

        def tick(name: str) -> None:
            bar.update(task, advance=1, description=escape(name))  # a file name is not markup

        yield tick


def print_collected(result: Collected, plan: Plan) -> None:
    out = console()
    label = plan.template.plan.recipient_label
    head = f"Collect {result.cycle}" + (" (dry run: nothing was changed)" if result.dry_run else "")
    out.print(head, markup=False)
    for name, why in result.skipped:
        out.print(f"Skipped {name}: {why}.", markup=False)
    if not result.outcomes:
        out.print("No returns found in the folder.")
    seen = [o for o in result.outcomes if o.status == "unchanged"]
    if seen:
        names = ", ".join(o.path.name for o in seen[:5]) + (f" and {len(seen) - 5} more" if len(seen) > 5 else "")
        out.print(f"Already collected, nothing to do: {len(seen)} file(s) ({names}).", markup=False)
    for o in result.outcomes:
        if o in seen:
            continue
        counts = f"{len(o.report.errors)} error(s), {len(o.report.warnings)} warning(s)"
        who = f" ({o.recipient})" if o.recipient else ""
        style = _OUTCOME_STYLE.get(o.status, "")
        line = Text.assemble((f"{o.status.upper():<11}", style), f" {o.path.name}{who}: {o.detail or counts}")
        out.print(line, soft_wrap=o.status in ("late", "other-cycle"))  # one line: it ends with a command to copy
        report = o.report
        _print_issues(out, report.errors + report.warnings + report.notes, annotated=o.status == "quarantined")
    if result.gaps is not None:
        _print_gaps(out, result, label, plan.words)
    if result.master:
        note = (
            " (the usual file is open in another program: close it; this copy has the update)"
            if result.master_fallback
            else ""
        )
        out.print(f"Master tracker: {result.master}{note}", markup=False)
        if result.master_cycle and result.master_cycle != result.cycle:
            out.print(
                f"The master tracker shows {result.master_cycle}, the current cycle, not {result.cycle}: "
                f"the {result.cycle} returns are in its history. For {result.cycle}'s {plan.words.meeting_short} pack, run "
                f"`xlplan email spg --cycle {result.cycle}`.",
                markup=False,
                soft_wrap=True,
            )
    for path in result.feedback:
        out.print(f"Feedback to send back: {path}", markup=False)
    merged = result.count("merged")
    bad = result.count("quarantined") + result.count("conflict")
    out.print(
        f"Summary: {merged} merged, {bad} need attention, {result.count('unchanged') + result.count('duplicate')} already seen; "
        f"{result.changed_values} value(s) changed."
    )
    if result.plan_changes:
        out.print(_plan_changes_line(len(result.plan_changes)), markup=False, soft_wrap=True)
    _print_elsewhere(out, result)


def _plan_changes_line(n: int) -> str:
    return (
        f"The plan changed since it was last used: {n} change(s) logged (the master's Plan changes sheet; "
        "`xlplan export audit`)."
    )


def _print_elsewhere(out: Console, result: Collected) -> None:
    """Returns for other cycles: one line per cycle with the command that collects them."""
    for cycle, command in sorted(result.other_cycles.items()):
        names = [o.path.name for o in result.outcomes if o.cycle == cycle and o.status in ("late", "other-cycle")]
        what = "late return(s)" if cycle < result.cycle else "return(s)"
        line = f"Not merged: {len(names)} {what} for {cycle} ({', '.join(names)}). Run: {command}"
        out.print(line, markup=False, soft_wrap=True)  # one line: the command must copy and paste whole


def _print_issues(out: Console, issues: list[Issue], annotated: bool) -> None:
    """A return's issues, most serious first; past ISSUES_SHOWN, how many more and where they all are."""
    # Written as they are, one line each: rich's layout costs ~100 µs a line (a national run
    # prints thousands), and an unwrapped line is what grep and a log file want.
    lines = [f"    {_issue_line(i)}\n" for i in issues[:ISSUES_SHOWN]]
    out.file.write("".join(lines))
    if len(issues) > ISSUES_SHOWN:
        copy = ", and the annotated copy marks each cell" if annotated else ""
        out.print(
            f"    ... and {len(issues) - ISSUES_SHOWN} more: `xlplan export returns` lists them all{copy}.",
            markup=False,
        )


def _issue_line(issue: Issue) -> str:
    """ "error: Actions!K5 message": one space between the parts, whichever are there."""
    return " ".join(part for part in (f"{issue.severity}:", issue.where.strip(), issue.message.strip()) if part)


def ref_list(refs: list[str], shown: int = 30) -> str:
    """Refs as a readable list: "H02.01, H02.02 and 3 more"; refs that are plain numbers get
    a "#" ("#1, #2") so that "Overdue: 31: 1, 2" cannot be misread as counts."""
    numeric = all(r.strip().isdigit() for r in refs)
    listed = ", ".join(f"#{r}" if numeric else r for r in refs[:shown])
    return listed + (f" and {len(refs) - shown} more" if len(refs) > shown else "")


def _print_gaps(out: Console, result: Collected, label: str, words: Words) -> None:
    gaps = result.gaps
    assert gaps is not None
    if gaps.missing_returns:
        table = Table(title=f"Returns outstanding ({label}s)", title_justify="left")
        for col in (label.capitalize(), "Email", "State", "Deadline"):
            table.add_column(col)
        for m in gaps.missing_returns[:ROWS_SHOWN]:
            table.add_row(*_cells(m.recipient, m.email, m.outcome, days_text(m.days_to_deadline)))
        out.print(table)
        _more(out, len(gaps.missing_returns), "the Gaps sheet of the master tracker")
    if gaps.attention:
        table = Table(title=words.attention or "Needing attention", title_justify="left")
        for col in ("Ref", "Status", "Last", "Movement", words.recipient.capitalize()):
            table.add_column(col)
        for g in gaps.attention[:ROWS_SHOWN]:
            table.add_row(*_cells(g.ref, g.status, g.last_status, g.movement, g.sponsor))
        out.print(table)
        _more(out, len(gaps.attention), "the Risk register sheet of the master tracker")
    lines = [
        ("Overdue (due date passed, not complete)", gaps.overdue),
        ("No update this cycle", gaps.no_update),
        ("No status given", gaps.no_status),
        ("Status contradicts the measure", gaps.contradictions),
        (f"Joint {words.recipients} disagree (the most severe status is shown)", gaps.disagreements),
    ]
    for title, items in lines:
        if items:
            out.print(f"{title}: {len(items)}: {ref_list([g.ref for g in items])}", markup=False)


def _cells(*values: str | None) -> list[Text]:
    """Table cells shown as they are: a name or file name with [brackets] is not rich markup."""
    return [Text(v or "") for v in values]


def _more(out: Console, count: int, where: str) -> None:
    if count > ROWS_SHOWN:
        out.print(f"... and {count - ROWS_SHOWN} more: {where} lists them all.", markup=False)


def print_status(summary: Summary, plan: Plan, current: str = "") -> None:
    """The cycle's returns; `current` is the line saying which cycle is current (cycles.current_note)."""
    from xlplan.summary import deadline_words
    from xlplan.values import long_date

    out = console()
    label = plan.template.plan.recipient_label
    out.print(f"{summary.plan_title}: cycle {summary.cycle}", markup=False)
    if current:
        out.print(current, markup=False, soft_wrap=True)  # one line, whatever the width: it names a command
    spg = f", {plan.words.meeting_short} meets {long_date(summary.spg_date, weekday=False)}" if summary.spg_date else ""
    out.print(
        f"Deadline {long_date(summary.deadline)} ({deadline_words(summary.days_to_deadline)}){spg}.", markup=False
    )
    table = Table(title_justify="left")
    for col in (label.capitalize(), plan.template.plan.items_sheet, "Return", "File", "Errors", "Warnings"):
        table.add_column(col)
    for r in summary.recipients:
        style = _OUTCOME_STYLE.get(r.state, "red")
        table.add_row(
            Text(r.recipient),
            str(r.items),
            Text(f"{r.state}: {r.note}" if r.note else r.state, style=style),
            Text(r.file),
            str(r.errors),
            str(r.warnings),
        )
    out.print(table)
    expected = len(summary.recipients)
    out.print(
        f"Expected {expected}, received {expected - summary.count('missing')}, merged {summary.count('merged')}, "
        f"quarantined {summary.count('quarantined')}, missing {summary.count('missing')}."
    )


def print_cycles(found: CycleList) -> None:
    """`xlplan cycles`: one line per cycle (plain columns that fit 80 characters), the current one starred."""
    out = console()
    if not found.cycles:
        out.print("No cycle has been generated yet: run `xlplan generate --cycle ... --spg-date ...`.", markup=False)
    else:
        row = "{:<9}  {:<10}  {:<10}  {:<10}  {:>6}  {:>6}  {:>11}"
        lines = [row.format("Cycle", "Meeting", "Deadline", "Generated", "Issued", "Merged", "Quarantined")]
        for c in found.cycles:
            lines.append(
                row.format(
                    c.cycle + (" *" if c.cycle == found.current else ""),
                    f"{c.spg_date:%d/%m/%Y}" if c.spg_date else "",
                    f"{c.deadline:%d/%m/%Y}",
                    _day(c.generated_at),
                    c.issued,
                    c.merged,
                    c.quarantined,
                )
            )
        lines.append(f"* {found.current} is the current cycle (the latest generated).")
        out.file.write("\n".join(lines) + "\n")  # as they are: rich would cut a cycle name to fit
    for r in found.removed:
        out.print(f"Removed: {r.cycle} on {_day(r.removed_at)}.", markup=False)


def _day(stamp: str) -> str:
    """A ledger timestamp (ISO) as the day officers write: 20/09/2025."""
    return f"{stamp[8:10]}/{stamp[5:7]}/{stamp[:4]}" if len(stamp) >= 10 else stamp
