"""`xlplan email spg` and `xlplan email chase`: drafts or SMTP, and the mail server's options."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import click

from xlplan.cli.shared import F, cycle_summary, reports_errors


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
    from xlplan.mail import send as send_message
    from xlplan.mail import write_eml

    for name, msg in messages:
        if send:
            accepted, refused = send_message(msg, smtp)
            if accepted:
                click.echo(f"Sent '{msg['Subject']}' to {', '.join(accepted)}")
            for address, reason in refused.items():
                click.echo(f"Warning: the mail server refused {address} ({reason}): it was not sent there.", err=True)
        else:
            path = write_eml(msg, out_dir, name)
            click.echo(f"Draft: {path}")


@click.group()
def email() -> None:
    """Email the SPG pack, or chase sponsors whose returns are missing or need fixing."""


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

    plan, summary = cycle_summary(ctx, cycle)
    pack = spg_pack(plan, summary.cycle, date.today(), list(to) or None)
    if pack.note:
        click.echo(pack.note)
    smtp = _smtp(plan, smtp_host, smtp_port, smtp_security, smtp_user) if send else None
    _deliver([(f"{summary.cycle} SPG pack", pack.message)], send, smtp, out_dir or plan.folder.root)


@email.command("chase")
@smtp_options
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
) -> None:
    """One message per sponsor whose return is missing or quarantined, with their workbook."""
    from xlplan.mail import chase_drafts

    plan, summary = cycle_summary(ctx, cycle)
    drafts = chase_drafts(plan, summary.cycle, date.today())
    if not drafts:
        click.echo(f"Nobody to chase for {summary.cycle}: every return is in and merged.")
        return
    smtp = _smtp(plan, smtp_host, smtp_port, smtp_security, smtp_user) if send else None
    from xlplan.files import recipient_filenames

    stems = recipient_filenames([who for who, _msg in drafts], f"{summary.cycle} chase - {{name}}")
    named = [(stems[who], msg) for who, msg in drafts]  # one file each, whatever the names
    _deliver(named, send, smtp, out_dir or plan.folder.outgoing_dir(summary.cycle))
