"""The `xlplan` command: a thin click layer over the library.

Each command parses options, calls one library function, prints the result and
chooses the exit code. Library exceptions (XlplanError) become ``Error: ...``
here and nowhere else.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import click

from xlplan import __version__

F = TypeVar("F", bound=Callable[..., Any])


def _date(_ctx: click.Context, param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    from xlplan.values import parse_date

    try:
        parsed = parse_date(value)
    except ValueError:
        parsed = None
    if parsed is None:
        raise click.BadParameter(f"'{value}' is not a date; use 2025-10-02 or 02/10/2025.", param=param)
    return parsed


def reports_errors(func: F) -> F:
    """Turn every failure into 'Error: ...' and its exit code: never a traceback.

    Our own exceptions (XlplanError) say what to do; a full disk, a read-only folder, a file
    held by another program and the like become plain messages naming the file (`failures`);
    Ctrl+C says the run was interrupted; anything else is a fault in xlplan, whose traceback
    goes to a log file in the plan folder, named in the message.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from xlplan import failures

        try:
            return func(*args, **kwargs)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except KeyboardInterrupt:
            click.echo(f"Error: {failures.INTERRUPTED}", err=True)
            sys.exit(failures.INTERRUPTED_EXIT)
        except Exception as exc:
            root = _plan_root()
            plain = failures.explain(exc, root / "ledger.sqlite" if root else None)
            if plain is None:
                log = failures.crash_log(exc, root)
                click.echo(f"Error: {failures.unexpected_message(exc, log)}", err=True)
                sys.exit(1)
            if root is not None:
                from xlplan.backups import restore_hint
                from xlplan.plan import PlanFolder

                plain = failures.with_restore_hint(plain, restore_hint(PlanFolder(root)))
            click.echo(f"Error: {plain}", err=True)
            sys.exit(plain.exit_code)

    return wrapper  # type: ignore[return-value]


def _plan_root() -> Path | None:
    """The plan folder of the command running, when there is one (for the log of an unexpected error)."""
    ctx = click.get_current_context(silent=True)
    obj = ctx.find_root().obj if ctx is not None else None
    if not isinstance(obj, dict) or "plan" not in obj:
        return None
    try:
        from xlplan.plan import find_folder

        return find_folder(obj["plan"]).root
    except Exception:
        return None


def _note(text: str) -> None:
    click.echo(f"Note: {text}", err=True)


def _writing(ctx: click.Context, command: str) -> Any:
    """Hold the plan folder for a write command (lock, backup, ...), printing what the officer should know."""
    from xlplan.access import writing

    return writing(_folder(ctx), command, notify=_note)


def _folder(ctx: click.Context) -> Any:
    from xlplan.plan import find_folder

    return find_folder(ctx.obj["plan"])


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="xlplan")
@click.option(
    "--plan",
    "plan_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    show_default="the current folder or its nearest parent with a plan.xlsx",
    help="The plan folder to work in.",
)
@click.pass_context
def main(ctx: click.Context, plan_dir: Path) -> None:
    """Run a strategic plan's quarterly reporting cycle through Excel.

    \b
    Each quarter, inside the plan folder:
      xlplan generate --cycle 2025-Q3 --spg-date 2025-10-02   workbooks to send
      xlplan collect                                          merge what came back
      xlplan status                                           where the cycle is
      xlplan email issue                                      email each sponsor their workbook
      xlplan email chase / xlplan email spg                   chase sponsors, send the pack
      xlplan cycles                                           every cycle, and which is current
    Start with `xlplan demo` to see the whole cycle on a sample plan.

    The current cycle is the latest one generated (2024-Q1 once it is generated, even
    while 2023-Q4's returns are still coming in). status, report, email and collect work
    on it unless given --cycle, and the master tracker always shows it.
    """
    ctx.obj = {"plan": plan_dir}


@main.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--template", default="implementation-plan", show_default=True, help="The kind of return.")
@click.option("--title", default="", help="The plan's title (you can also type it into plan.xlsx).")
@reports_errors
def init(directory: Path, template: str, title: str) -> None:
    """Create a new plan folder DIRECTORY with an empty plan.xlsx to fill in."""
    from xlplan.plan import SETTINGS_SHEET
    from xlplan.plan_workbook import init_folder
    from xlplan.template import load_template

    folder = init_folder(directory, template, title)
    spec = load_template(template).plan
    click.echo(f"Created plan folder {folder.root}")
    sheets = f"{SETTINGS_SHEET}, {spec.recipients_sheet}, {spec.items_sheet}"
    click.echo(f"Next: fill in {folder.plan_file} ({sheets}), then run `xlplan generate`.")


def _jobs_option(what: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option(
        "--jobs",
        "-j",
        type=click.IntRange(min=1),
        envvar="XLPLAN_JOBS",
        show_default="one per core",
        help=f"How many processes {what} at once (1: this process only; or set XLPLAN_JOBS).",
    )


@main.command()
@click.option("--cycle", required=True, help="The reporting cycle, e.g. 2025-Q3.")
@click.option(
    "--spg-date",
    callback=_date,
    help="Date of the SPG meeting; returns are due 3 weeks before, moved back to a working day when that is "
    "a weekend or a public holiday (the plan's Settings Region; Scotland by default).",
)
@click.option("--deadline", callback=_date, help="Return deadline, if not 3 weeks before the SPG date.")
@click.option("--sponsor", "only", multiple=True, help="Only this sponsor (repeat for several).")
@click.option(
    "--password",
    envvar="XLPLAN_SHEET_PASSWORD",
    help="Password for sheet protection (or set XLPLAN_SHEET_PASSWORD).",
)
@_jobs_option("write workbooks")
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

    plan = load_plan(_folder(ctx))
    with (
        _writing(ctx, "generate"),
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


@main.command()
@click.argument("source", required=False, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--cycle",
    help="The cycle to collect (default: the current one, the latest generated); a late return for an earlier cycle is filed with --cycle.",
)
@click.option("--prefer", help="When a sponsor sent two returns: 'newest', or the file name to use.")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Check and report exactly as a real run would, changing nothing.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the outcome of each return and the gaps as JSON.")
@click.option(
    "--fix-by",
    callback=_date,
    help="The date a return needing corrections is to be sent back by, shown in its annotated copy "
    "(default: 5 working days on, never after the SPG meeting).",
)
@_jobs_option("read returns")
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

    plan = load_plan(_folder(ctx))
    files, _skipped = list_returns(source or plan.folder.returns_dir)
    with (
        nullcontext() if dry_run else _writing(ctx, "collect"),
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


def _cycle_summary(ctx: click.Context, cycle: str | None) -> Any:
    from xlplan.access import reading
    from xlplan.cycles import chosen_cycle
    from xlplan.plan import load_plan
    from xlplan.summary import summarise

    plan = load_plan(_folder(ctx))
    with reading(plan.folder) as ledger:
        return plan, summarise(plan, ledger, chosen_cycle(ledger, cycle), date.today())


@main.command()
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

    plan, summary = _cycle_summary(ctx, cycle)
    with reading(plan.folder) as ledger:
        note = current_note(plan, ledger, summary.cycle, date.today())
    print_status(summary, plan, note)


@main.command()
@click.option("--cycle", help="The cycle (default: the current one, the latest generated).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown", "html", "docx", "json"]),
    default="text",
    show_default=True,
    help="docx: the SPG paper as a Word document (written to a file); json: everything, the officer's checks included.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file instead of the screen (docx: default '<cycle> SPG paper.docx' in the plan folder).",
)
@click.option(
    "--for-officer",
    "for_officer",
    is_flag=True,
    help="Add the officer's checks (statuses the figures contradict, joint sponsors who disagree): not for the SPG.",
)
@click.pass_context
@reports_errors
def report(ctx: click.Context, cycle: str | None, fmt: str, output: Path | None, for_officer: bool) -> None:
    """The cycle's report for the SPG: the paper as text, Markdown, HTML or a Word document.

    Every format carries the same sections: purpose and summary, status by Big Action, the
    plan over all its cycles, every Red and Amber action in its sponsor's own words, actions
    completed, overdue, decisions needed and taken, feedback and case studies, returns
    received and missing.
    """
    from xlplan.files import atomic_path

    plan, summary = _cycle_summary(ctx, cycle)
    if plan.template.summary_kind == "distribution":  # a declared summary kind, not a template name
        from xlplan import ratings
        from xlplan.access import reading

        if fmt in ("docx", "json"):
            from xlplan.errors import UsageError

            raise UsageError(
                f"--format {fmt} is for plans with a status to report; this plan's returns are ratings: "
                "use --format text, markdown or html."
            )
        with reading(plan.folder) as ledger:
            found = ratings.distribution(plan, ledger, summary.cycle)
        text = {"text": ratings.to_text, "markdown": ratings.to_markdown, "html": ratings.to_html}[fmt](found)
    else:
        from xlplan.access import reading
        from xlplan.paper import build_paper

        with reading(plan.folder) as ledger:
            paper = build_paper(plan, ledger, summary.cycle, summary.today, summary)
        if fmt == "docx":
            from xlplan.files import safe_filename
            from xlplan.report_docx import write_docx

            path = output or plan.folder.root / f"{safe_filename(summary.cycle)} SPG paper.docx"
            write_docx(paper, path, officer=for_officer)
            click.echo(f"Wrote {path}")
            return
        if fmt == "json":
            import json

            text = json.dumps(paper.as_dict(), indent=2, ensure_ascii=False) + "\n"
        else:
            from xlplan import report as render

            text = {"text": render.to_text, "markdown": render.to_markdown, "html": render.to_html}[fmt](
                paper, officer=for_officer
            )
    if output is None:
        click.echo(text, nl=False)
        return
    with atomic_path(output) as tmp:
        tmp.write_text(text, encoding="utf-8")
    click.echo(f"Wrote {output}")


def smtp_options(func: F) -> F:
    options = [
        click.option("--send", is_flag=True, help="Send over SMTP instead of writing .eml drafts."),
        click.option("--smtp-host", help="Mail server (default: 'SMTP host' in the plan's Settings)."),
        click.option(
            "--smtp-port",
            type=int,
            help="Port (default 587 for starttls, 465 for ssl, 25 for none).",
        ),
        click.option(
            "--smtp-security",
            type=click.Choice(["starttls", "ssl", "none"]),
            default="starttls",
            show_default=True,
        ),
        click.option(
            "--smtp-user",
            help="Login (default: 'SMTP user' in Settings). The password is read from "
            "XLPLAN_SMTP_PASSWORD or asked for; never give it on the command line.",
        ),
        click.option(
            "--out",
            "out_dir",
            type=click.Path(file_okay=False, path_type=Path),
            help="Folder for .eml drafts (default: the plan folder's outgoing/<cycle>/).",
        ),
        click.option("--cycle", help="The cycle (default: the current one, the latest generated)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _smtp(plan: Any, host: str | None, port: int | None, security: str, user: str | None) -> Any:
    import os

    from xlplan.errors import UsageError
    from xlplan.mail import Smtp

    host = host or plan.settings.get("smtp_host", "")
    if not host:
        raise UsageError("No mail server: give --smtp-host or fill in 'SMTP host' on the Settings sheet.")
    user = user if user is not None else plan.settings.get("smtp_user", "")
    password = ""
    if user:
        password = os.environ.get("XLPLAN_SMTP_PASSWORD") or click.prompt(f"Password for {user}", hide_input=True)
    port = port or {"starttls": 587, "ssl": 465, "none": 25}[security]
    return Smtp(host, port, security, user, password)


def _deliver(messages: list[tuple[str, Any]], send: bool, smtp: Any, out_dir: Path) -> None:
    """Write each draft, or send each message on its own: one refused is said and the rest still go."""
    from xlplan.mail import MailError, write_eml
    from xlplan.mail import send as send_message

    failed = 0
    for name, msg in messages:
        if not send:
            click.echo(f"Draft: {write_eml(msg, out_dir, name)}")
            continue
        try:
            accepted, refused = send_message(msg, smtp)
        except MailError as exc:
            if len(messages) == 1:
                raise
            click.echo(f"Error: {exc}", err=True)
            failed += 1
            continue
        if accepted:
            click.echo(f"Sent '{msg['Subject']}' to {', '.join(accepted)}")
        for address, reason in refused.items():
            click.echo(f"Warning: the mail server refused {address} ({reason}): it was not sent there.", err=True)
    if failed:
        sys.exit(1)


def _deliver_drafts(
    drafts: list[Any], family: str, cycle: str, send: bool, smtp: Any, out_dir: Path, whole: bool
) -> None:
    """Recipients' drafts of a family; writing drafts of the whole cycle removes its earlier
    ones for recipients who no longer need one (`whole`: not only some recipients)."""
    from xlplan.recipient_mail import draft_names, stale_drafts

    named = draft_names(drafts, cycle, family)
    if not send and whole:
        for old in stale_drafts(out_dir, cycle, family, {stem for stem, _msg in named}):
            old.unlink(missing_ok=True)
            click.echo(f"Removed an earlier draft no longer needed: {old}")
    _deliver(named, send, smtp, out_dir)


@main.group()
def email() -> None:
    """Email the workbooks out, chase sponsors whose returns are missing or need fixing, send the SPG pack."""


@email.command("spg")
@smtp_options
@click.option(
    "--to",
    "to",
    multiple=True,
    help="Recipient (default: 'SPG email' in Settings). Repeat for several.",
)
@click.pass_context
@reports_errors
def email_spg(
    ctx: click.Context,
    send: bool,
    smtp_host: str | None,
    smtp_port: int | None,
    smtp_security: str,
    smtp_user: str | None,
    out_dir: Path | None,
    cycle: str | None,
    to: tuple[str, ...],
) -> None:
    """The master tracker and a RAG summary for the Strategic Planning Group.

    The master attached always shows the cycle of the pack: rebuilt first when it is out of
    date, or (for an earlier cycle) rebuilt for that cycle without touching master-tracker.xlsx.
    """
    from xlplan.mail import spg_pack

    plan, summary = _cycle_summary(ctx, cycle)
    pack = spg_pack(plan, summary.cycle, date.today(), list(to) or None)
    if pack.note:
        click.echo(pack.note)
    smtp = _smtp(plan, smtp_host, smtp_port, smtp_security, smtp_user) if send else None
    _deliver([(f"{summary.cycle} SPG pack", pack.message)], send, smtp, out_dir or plan.folder.root)


@email.command("issue")
@smtp_options
@click.option("--sponsor", "only", multiple=True, help="Only this sponsor (any case; repeat for several).")
@click.pass_context
@reports_errors
def email_issue(
    ctx: click.Context,
    send: bool,
    smtp_host: str | None,
    smtp_port: int | None,
    smtp_security: str,
    smtp_user: str | None,
    out_dir: Path | None,
    cycle: str | None,
    only: tuple[str, ...],
) -> None:
    """One message per sponsor of the cycle with their workbook, the deadline and where to send it back."""
    from xlplan.recipient_mail import issue_drafts

    plan, summary = _cycle_summary(ctx, cycle)
    drafts = issue_drafts(plan, summary.cycle, list(only) or None)
    smtp = _smtp(plan, smtp_host, smtp_port, smtp_security, smtp_user) if send else None
    out = out_dir or plan.folder.outgoing_dir(summary.cycle)
    _deliver_drafts(drafts, "issue", summary.cycle, send, smtp, out, whole=not only)


@email.command("chase")
@smtp_options
@click.option(
    "--fix-by",
    callback=_date,
    help="The date to send a corrected return by (default: the annotated copy's, set by collect).",
)
@click.option(
    "--send-by",
    callback=_date,
    help="After the deadline: the new date to send a missing return by (default: 5 working days on, "
    "never after the SPG meeting).",
)
@click.pass_context
@reports_errors
def email_chase(
    ctx: click.Context,
    send: bool,
    smtp_host: str | None,
    smtp_port: int | None,
    smtp_security: str,
    smtp_user: str | None,
    out_dir: Path | None,
    cycle: str | None,
    fix_by: date | None,
    send_by: date | None,
) -> None:
    """One message per sponsor whose return is missing (a reminder before the deadline, overdue
    after it), quarantined (a correction, with a date to fix by) or merged with statuses left blank.

    Writing drafts again replaces the cycle's earlier chase drafts, and removes those of
    sponsors who no longer need one.
    """
    from xlplan.recipient_mail import chase_drafts, check_dates

    plan, summary = _cycle_summary(ctx, cycle)
    check_dates(fix_by, send_by, date.today(), summary.spg_date)
    drafts = chase_drafts(plan, summary.cycle, date.today(), fix_by=fix_by, send_by=send_by)
    out = out_dir or plan.folder.outgoing_dir(summary.cycle)
    if not drafts:
        click.echo(f"Nobody to chase for {summary.cycle}: every return is in and merged.")
        if not send:
            _deliver_drafts([], "chase", summary.cycle, send, None, out, whole=True)
        return
    smtp = _smtp(plan, smtp_host, smtp_port, smtp_security, smtp_user) if send else None
    _deliver_drafts(drafts, "chase", summary.cycle, send, smtp, out, whole=True)


@main.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
@click.pass_context
@reports_errors
def cycles(ctx: click.Context, as_json: bool) -> None:
    """Every cycle generated: its dates, workbooks issued, returns merged and quarantined, and which is current.

    \b
    The current cycle is the latest one generated: the default of status, report, email and
    collect, and the cycle the master tracker shows.
    """
    if ctx.invoked_subcommand is not None:
        return
    from xlplan.console import print_cycles
    from xlplan.cycles import list_cycles

    found = list_cycles(_folder(ctx))
    if as_json:
        import json

        click.echo(json.dumps(found.as_dict(), indent=2, ensure_ascii=False))
    else:
        print_cycles(found)


@cycles.command("remove")
@click.argument("cycle")
@click.pass_context
@reports_errors
def cycles_remove(ctx: click.Context, cycle: str) -> None:
    """Remove CYCLE from the ledger, when no return was merged into it (a cycle generated by mistake).

    The removal is recorded in the ledger; the workbooks in outgoing/CYCLE/ are left as they are.
    """
    from xlplan.cycles import removal_lines, remove_cycle

    with _writing(ctx, "cycles remove"):
        removal = remove_cycle(_folder(ctx), cycle)
    for line in removal_lines(removal):
        click.echo(line)


@main.command()
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

    folder = _folder(ctx)
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


@main.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
@click.pass_context
@reports_errors
def backups(ctx: click.Context, as_json: bool) -> None:
    """The ledger's backups in backups/, newest first: one is taken before every command that
    writes the ledger; the last 10 are kept, and the newest of every cycle.

    \b
    Restore one with: xlplan backups restore NAME
    """
    if ctx.invoked_subcommand is not None:
        return
    from xlplan.backups import backups_dir, list_backups

    folder = _folder(ctx)
    found = list_backups(folder)
    if as_json:
        import json

        click.echo(json.dumps([b.as_dict() for b in found], indent=2, ensure_ascii=False))
        return
    if not found:
        click.echo(
            f"No backups yet in {backups_dir(folder)}: one is taken before every command that writes the ledger."
        )
        return
    click.echo(f"Backups of the ledger in {backups_dir(folder)}, newest first:")
    for b in found:
        cycle = b.cycle or "-"
        click.echo(
            f"  {b.name}  {b.taken_at:%d/%m/%Y %H:%M}  before {b.command:<13} {cycle:<8} {b.size() / 1024:,.0f} KB"
        )
    click.echo(f"Restore one with: xlplan backups restore {found[0].name}")


@backups.command("restore")
@click.argument("name")
@click.pass_context
@reports_errors
def backups_restore(ctx: click.Context, name: str) -> None:
    """Make the backup NAME the plan's ledger (the current ledger is backed up first).

    NAME is a file in backups/ (see `xlplan backups`), or the path of a ledger file.
    """
    from xlplan.access import writing
    from xlplan.backups import restore

    folder = _folder(ctx)
    with writing(folder, "backups restore", notify=_note, backup=False, guard=False):
        done = restore(folder, name)
    if done.previous is not None and done.previous.command == "damaged":
        click.echo(f"Kept the unreadable ledger it replaces, as it was, as {done.previous.path}")
    elif done.previous is not None:
        click.echo(f"Backed up the ledger it replaces as {done.previous.path}")
    shown = done.restored.name if not isinstance(done.restored, Path) else str(done.restored)
    cycles = ", ".join(done.cycles) or "none"
    click.echo(f"Restored {shown} as {folder.ledger_file} (cycles: {cycles}).")
    click.echo(
        "Run `xlplan collect` to merge again any return collected since, and to rebuild the master tracker; "
        "`xlplan check` says whether everything agrees."
    )


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
@click.pass_context
@reports_errors
def check(ctx: click.Context, as_json: bool) -> None:
    """Check the plan folder: the ledger's integrity and version, and whether the ledger, the
    archive and the master tracker agree; where the folder lives; the backups.

    \b
    Exit code 0: all is well (notes and warnings may be printed).
              1: a problem was found: the message says what to do.
    """
    from xlplan.check import check_folder

    found = check_folder(_folder(ctx))
    if as_json:
        import json

        click.echo(json.dumps(found.as_dict(), indent=2, ensure_ascii=False))
    else:
        for line in found.lines():
            click.echo(line)
    sys.exit(0 if found.ok else 1)


@main.command()
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@reports_errors
def demo(directory: Path | None) -> None:
    """Run the whole cycle on the bundled sample plan in DIRECTORY (default: a new ./xlplan-demo folder)."""
    from xlplan.demo import run_demo

    if directory is None:  # a second `xlplan demo` gets a fresh folder rather than an error
        directory = next(
            p for n in range(1, 1000) if not (p := Path("xlplan-demo" + (f"-{n}" if n > 1 else ""))).exists()
        )
    run_demo(directory, echo=click.echo)


if __name__ == "__main__":  # pragma: no cover
    main()
