"""`xlplan email issue`, `xlplan email chase` and `xlplan email spg`: drafts or SMTP, and the mail
server's options."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Any

import click

from xlplan.cli.shared import F, cycle_summary, date_option, reports_errors


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


@click.group()
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
    """The meeting's pack: the cycle's report and the master tracker attached.

    The master attached always shows the cycle of the pack: rebuilt first when it is out of
    date, or (for an earlier cycle) rebuilt for that cycle without touching master-tracker.xlsx.
    """
    from xlplan.mail import spg_pack

    plan, summary = cycle_summary(ctx, cycle)
    pack = spg_pack(plan, summary.cycle, date.today(), list(to) or None)
    if pack.note:
        click.echo(pack.note)
    smtp = _smtp(plan, smtp_host, smtp_port, smtp_security, smtp_user) if send else None
    _deliver(
        [(f"{summary.cycle} {plan.words.meeting_short} pack", pack.message)], send, smtp, out_dir or plan.folder.root
    )


@email.command("issue")
@smtp_options
@click.option("--sponsor", "only", multiple=True, help="Only this recipient (any case; repeat for several).")
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

    plan, summary = cycle_summary(ctx, cycle)
    drafts = issue_drafts(plan, summary.cycle, list(only) or None)
    smtp = _smtp(plan, smtp_host, smtp_port, smtp_security, smtp_user) if send else None
    out = out_dir or plan.folder.outgoing_dir(summary.cycle)
    _deliver_drafts(drafts, "issue", summary.cycle, send, smtp, out, whole=not only)


@email.command("chase")
@smtp_options
@click.option(
    "--fix-by",
    callback=date_option,
    help="The date to send a corrected return by (default: the annotated copy's, set by collect).",
)
@click.option(
    "--send-by",
    callback=date_option,
    help="After the deadline: the new date to send a missing return by (default: 5 working days on, "
    "never after the meeting).",
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

    plan, summary = cycle_summary(ctx, cycle)
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
