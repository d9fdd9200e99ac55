"""The SPG's paper and the ledger's history: `xlplan report` and `xlplan export`."""

from __future__ import annotations

from pathlib import Path

import click

from xlplan.cli.shared import cycle_summary, plan_folder, reports_errors


@click.command()
@click.option("--cycle", help="The cycle (default: the current one, the latest generated).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown", "html", "docx", "json"]),
    default="text",
    show_default=True,
    help="docx: the meeting's paper as a Word document (written to a file); json: everything, the officer's checks included.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file instead of the screen (docx: default '<cycle> <Meeting short name> paper.docx' in the plan folder).",
)
@click.option(
    "--for-officer",
    "for_officer",
    is_flag=True,
    help="Add the officer's checks (statuses the figures contradict, joint recipients who disagree): not for the meeting.",
)
@click.pass_context
@reports_errors
def report(ctx: click.Context, cycle: str | None, fmt: str, output: Path | None, for_officer: bool) -> None:
    """The cycle's report for the meeting: the paper as text, Markdown, HTML or a Word document.

    Every format carries the same sections, in the plan's own words: purpose and summary,
    status by group, the plan over all its cycles, every item needing attention in its
    recipient's own words, items completed, overdue, decisions needed and taken, feedback
    and case studies, returns received and missing. A rating template gives its ratings.
    """
    from xlplan.files import atomic_path

    plan, summary = cycle_summary(ctx, cycle)
    from xlplan.access import reading
    from xlplan.kinds import cycle_report

    with reading(plan.folder) as ledger:
        found = cycle_report(plan, ledger, summary.cycle, summary.today, summary)
    if fmt == "docx":
        from xlplan.files import safe_filename

        path = output or plan.folder.root / f"{safe_filename(summary.cycle)} {plan.words.meeting_short} paper.docx"
        found.docx(path, officer=for_officer)
        click.echo(f"Wrote {path}")
        return
    text = found.render(fmt, officer=for_officer)
    if output is None:
        click.echo(text, nl=False)
        return
    with atomic_path(output) as tmp:
        tmp.write_text(text, encoding="utf-8")
    click.echo(f"Wrote {output}")


@click.command()
@click.argument("table", type=click.Choice(["entries", "audit", "returns", "standing"]))
@click.option("--cycle", help="Only this cycle (default: every cycle).")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="Write to this file instead of the screen."
)
@click.pass_context
@reports_errors
def export(ctx: click.Context, table: str, cycle: str | None, fmt: str, output: Path | None) -> None:
    """Export the ledger's full history: every value (entries), every change (audit), every
    return, or where each action stood at each cycle as the SPG saw it (standing: reported,
    carried forward or never, who reported it, whether joint sponsors disagreed).

    CSV opens safely in Excel: UTF-8, and text that looks like a formula is kept as text.
    """
    from xlplan import export as ex
    from xlplan.access import reading
    from xlplan.files import atomic_path
    from xlplan.plan import load_plan

    folder = plan_folder(ctx)
    plan = load_plan(folder) if table == "standing" else None
    with reading(folder) as ledger:
        records = ex.rows(ledger, table, cycle, plan)
    text = ex.to_csv(records) if fmt == "csv" else ex.to_json(records)
    if output is None:
        click.echo(text.removeprefix("\ufeff"), nl=False)
        return
    with atomic_path(output) as tmp:
        tmp.write_text(text, encoding="utf-8", newline="")
    click.echo(f"Wrote {len(records)} row(s) to {output}")
