"""The quarter's commands: `xlplan generate`, `xlplan collect` and `xlplan status`."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import click

from xlplan.cli.shared import cycle_summary, date_option, jobs_option, plan_folder, reports_errors, write_access


@click.command()
@click.option("--cycle", required=True, help="The reporting cycle, e.g. 2025-Q3.")
@click.option(
    "--spg-date",
    callback=date_option,
    help="Date of the meeting the returns are for (Settings: Meeting); returns are due 3 weeks before, moved back to a working day when that is "
    "a weekend or a public holiday (the plan's Settings Region; Scotland by default).",
)
@click.option("--deadline", callback=date_option, help="Return deadline, if not 3 weeks before the meeting.")
@click.option("--sponsor", "only", multiple=True, help="Only this recipient (repeat for several).")
@click.option(
    "--password",
    envvar="XLPLAN_SHEET_PASSWORD",
    help="Password for sheet protection (or set XLPLAN_SHEET_PASSWORD).",
)
@jobs_option("write workbooks")
@click.pass_context
@reports_errors
def generate(
    ctx: click.Context,
    cycle: str,
    spg_date: date | None,
    deadline: date | None,
    only: tuple[str, ...],
    password: str | None,
    jobs: int | None,
) -> None:
    """Write one return workbook per sponsor for CYCLE into outgoing/<cycle>/."""
    from xlplan.console import progress_bar
    from xlplan.generate import generate as run
    from xlplan.plan import load_plan
    from xlplan.values import long_date

    plan = load_plan(plan_folder(ctx))
    with (
        write_access(ctx, "generate"),
        progress_bar("Writing workbooks", len(only) if only else len(plan.recipients)) as tick,
    ):
        result = run(
            plan,
            cycle,
            spg_date=spg_date,
            deadline=deadline,
            password=password,
            only=list(only) or None,
            progress=tick,
            jobs=jobs,
        )
    for who, why in result.skipped:
        click.echo(f"Warning: no workbook for {who}: {why}.", err=True)
    note = result.deadline_note
    if note is not None and note.moved_to is None:  # the officer's own --deadline, kept
        click.echo(f"Warning: {str(note)[:1].lower()}{str(note)[1:]}", err=True)
    assert result.deadline is not None and result.outbox is not None
    click.echo(f"Wrote {len(result.files)} workbook(s) for {cycle} to {result.outbox}:")
    for who, path, n in result.files:
        click.echo(f"  {path.name}  ({who}, {plan.template.plan.items_count(n)})")
    if note is not None and note.moved_to is not None:
        click.echo(str(note))
    click.echo(f"Return deadline: {long_date(result.deadline)}.")
    if result.plan_changes:
        click.echo(
            f"The plan changed since it was last used: {len(result.plan_changes)} change(s) logged "
            "(the master's Plan changes sheet; `xlplan export audit`)."
        )


@click.command()
@click.argument("source", required=False, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--cycle",
    help="The cycle to collect (default: the current one, the latest generated); a late return for an earlier cycle is filed with --cycle.",
)
@click.option("--prefer", help="When a recipient sent two returns: 'newest', or the file name to use.")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Check and report exactly as a real run would, changing nothing.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the outcome of each return and the gaps as JSON.")
@click.option(
    "--fix-by",
    callback=date_option,
    help="The date a return needing corrections is to be sent back by, shown in its annotated copy "
    "(default: 5 working days on, never after the meeting).",
)
@jobs_option("read returns")
@click.pass_context
@reports_errors
def collect(
    ctx: click.Context,
    source: Path | None,
    cycle: str | None,
    prefer: str | None,
    dry_run: bool,
    as_json: bool,
    fix_by: date | None,
    jobs: int | None,
) -> None:
    """Read, check and merge the returned workbooks in SOURCE (default: the plan's returns/ folder).

    \b
    A return for an earlier cycle that arrives after the next was generated is "late":
    nothing of it is merged, and collect prints the command that files it
    (xlplan collect --cycle 2023-Q4). The master tracker shows the current cycle either way.

    \b
    Exit code 0: every return merged clean.
              1: a return was quarantined, conflicted, late or had errors.
              2: the command was used wrongly (e.g. --cycle for a cycle never generated).
    """
    from contextlib import nullcontext

    from xlplan.collect import collect as run
    from xlplan.collect import list_returns
    from xlplan.console import print_collected, progress_bar
    from xlplan.plan import load_plan

    plan = load_plan(plan_folder(ctx))
    files, _skipped = list_returns(source or plan.folder.returns_dir)
    with (
        nullcontext() if dry_run else write_access(ctx, "collect"),
        progress_bar("Reading returns", len(files), enabled=not as_json) as tick,
    ):
        result = run(
            plan,
            cycle=cycle,
            source=source,
            prefer=prefer,
            dry_run=dry_run,
            progress=lambda path: tick(path.name),
            jobs=jobs,
            fix_by=fix_by,
        )
    if as_json:
        import json

        click.echo(json.dumps(result.as_dict(), indent=2, ensure_ascii=False))
    else:
        print_collected(result, plan)
    sys.exit(0 if result.ok else 1)


@click.command()
@click.option("--cycle", help="The cycle (default: the current one, the latest generated).")
@click.pass_context
@reports_errors
def status(ctx: click.Context, cycle: str | None) -> None:
    """Where is this cycle? Returns expected, received, merged, quarantined, missing.

    It also says which cycle is current, and what the one before still lacks.
    """
    from xlplan.access import reading
    from xlplan.console import print_status
    from xlplan.cycles import current_note

    plan, summary = cycle_summary(ctx, cycle)
    with reading(plan.folder) as ledger:
        note = current_note(plan, ledger, summary.cycle, date.today())
    print_status(summary, plan, note)
