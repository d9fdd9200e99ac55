"""Email: messages, .eml drafts and SMTP; the meeting's pack (`recipient_mail` drafts the recipients' emails).

Named mail.py, not email.py, so the standard library's `email` package stays
reachable. Drafts carry `X-Unsent: 1`, so Outlook opens them as editable
messages ready to send; Thunderbird opens them with File > Open.
"""

from __future__ import annotations

import html
import smtplib
import socket
import ssl
from dataclasses import dataclass
from datetime import date
from email.message import EmailMessage
from email.utils import formataddr, formatdate, getaddresses, make_msgid
from pathlib import Path

from xlplan import access
from xlplan.errors import XlplanError
from xlplan.files import atomic_path, safe_filename
from xlplan.kinds import CycleReport, cycle_report
from xlplan.letters import Letter
from xlplan.plan import Plan
from xlplan.plan_sheets import email_problem, salutation_for
from xlplan.values import long_date
from xlplan.words import Words

XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")


class MailError(XlplanError):
    """The message could not be sent; nothing was delivered."""


@dataclass(frozen=True)
class Smtp:
    host: str
    port: int = 587
    security: str = "starttls"  # starttls | ssl | none
    user: str = ""
    password: str = ""
    timeout: float = 30


def _base(sender: str, to: list[str], subject: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain="xlplan.local")
    msg["X-Unsent"] = "1"  # Outlook: open as a draft to review and send
    return msg


def attach_workbook(msg: EmailMessage, path: Path, name: str | None = None) -> None:
    msg.add_attachment(path.read_bytes(), maintype=XLSX_TYPE[0], subtype=XLSX_TYPE[1], filename=name or path.name)


def spg_message(report: CycleReport, master: Path, *, sender: str, to: list[str], officer: str = "") -> EmailMessage:
    """The meeting's copy of the report (no officer's checks) as text and HTML, the master attached."""
    words = report.words
    subject = f"{report.plan_title}: progress report and master tracker, {report.cycle}"
    msg = _base(sender, to, subject)
    when = f" on {long_date(report.meeting_date, weekday=False)}" if report.meeting_date else ""
    intro = f"Please find attached the master tracker for {report.cycle}, {words.for_meeting}{when}."
    sign = f"\n\n{officer}" if officer else ""
    msg.set_content(f"Dear colleagues,\n\n{intro}\n\n{report.text()}{sign}\n")
    charts: dict[str, bytes] = {}  # kind -> PNG, sent as parts of the HTML (data: URLs are blocked by Outlook)

    def related(kind: str, png: bytes) -> str:
        charts[kind] = png
        return f"cid:{kind}-chart@xlplan"

    body = report.html(standalone=False, chart_src=related)
    msg.add_alternative(
        f'<!DOCTYPE html><html><body><p style="font-family:Arial,sans-serif">Dear colleagues,</p>'
        f'<p style="font-family:Arial,sans-serif">{html.escape(intro)}</p>{body}'
        f'<p style="font-family:Arial,sans-serif">{html.escape(officer)}</p></body></html>',
        subtype="html",
    )
    html_part = msg.get_body(preferencelist=("html",))
    assert isinstance(html_part, EmailMessage)  # just added
    for kind, png in charts.items():
        html_part.add_related(png, "image", "png", cid=f"<{kind}-chart@xlplan>", filename=f"{kind}-chart.png")
    attach_workbook(msg, master)
    return msg


def letter_message(
    letter: Letter,
    recipient: str,
    email: str,
    *,
    sender: str,
    officer: str,
    attachment: Path | None,
    greeting: str = "",
    words: Words | None = None,
) -> EmailMessage:
    """A letter to one recipient as text and HTML, with their workbook attached (if any)."""
    msg = _base(sender, [formataddr((recipient, email))], letter.subject)
    first = greeting or salutation_for(recipient)  # "Dear Head of Trading Standards", never "Dear Head"
    dear = words.dear(first) if words else f"Dear {first}"  # the plan's Salutation
    text_list = "\n".join(f"- {p}" for p in letter.points)
    paragraphs = [f"{dear},", *letter.lead, *([text_list] if letter.points else []), *letter.after]
    msg.set_content("\n\n".join(paragraphs) + f"\n\nThank you,\n{officer}\n")
    items = "".join(f"<li>{html.escape(p)}</li>" for p in letter.points)
    lead = "".join(f"<p>{html.escape(p)}</p>" for p in letter.lead)
    after = "".join(f"<p>{html.escape(p)}</p>" for p in letter.after)
    msg.add_alternative(
        f'<!DOCTYPE html><html><body style="font-family:Arial,sans-serif"><p>{html.escape(dear)},</p>'
        f"{lead}{f'<ul>{items}</ul>' if items else ''}{after}"
        f"<p>Thank you,<br>{html.escape(officer)}</p></body></html>",
        subtype="html",
    )
    if attachment is not None:
        attach_workbook(msg, attachment)
    return msg


def write_eml(msg: EmailMessage, out_dir: Path, name: str) -> Path:
    path = out_dir / f"{safe_filename(name, limit=160)}.eml"
    with atomic_path(path) as tmp:
        tmp.write_bytes(msg.as_bytes(policy=msg.policy.clone(linesep="\r\n")))  # mail wants CRLF
    return path


def send(msg: EmailMessage, smtp: Smtp) -> tuple[list[str], dict[str, str]]:
    """Send over SMTP. Returns (accepted addresses, {refused address: reason}).

    Raises MailError when nothing was accepted: nothing is reported as sent unless the server took it.
    """
    to = [address for _name, address in getaddresses([str(msg["To"] or "")])]
    bad = [(a, email_problem(a)) for a in to if email_problem(a)] if to else [("(nobody)", "no address")]
    if bad:
        said = "; ".join(f"'{a}': {why}" for a, why in bad)
        raise MailError(f"Not an email address ({said}): '{msg['Subject']}' was not sent. Fix it on the plan's sheet.")
    del msg["X-Unsent"]  # a sent message is not a draft
    try:
        client = _connect(smtp)
    except (ConnectionRefusedError, socket.gaierror, TimeoutError, OSError) as exc:
        raise MailError(
            f"Cannot connect to the mail server {smtp.host}:{smtp.port} ({_reason(exc)}). "
            "Check --smtp-host and --smtp-port, and that you are on the network."
        ) from exc
    try:
        with client:
            if smtp.security == "starttls":
                client.starttls(context=ssl.create_default_context())
            if smtp.user:
                client.login(smtp.user, smtp.password)
            refused = client.send_message(msg)
    except smtplib.SMTPAuthenticationError as exc:
        raise MailError(
            f"The mail server refused the login for {smtp.user!r}: check the user name and password."
        ) from exc
    except smtplib.SMTPNotSupportedError as exc:
        if smtp.user and "AUTH" in str(exc).upper():
            raise MailError(
                "The mail server offers no login: leave out --smtp-user, or use --smtp-security starttls or ssl."
            ) from exc
        raise MailError(
            f"The mail server does not support that: {str(exc).rstrip('.')}. Try --smtp-security ssl or none."
        ) from exc
    except smtplib.SMTPServerDisconnected as exc:
        raise MailError(f"The mail server {smtp.host} closed the connection ({exc}). Nothing was sent.") from exc
    except smtplib.SMTPRecipientsRefused as exc:
        who = ", ".join(f"{a} ({c} {m.decode(errors='replace')})" for a, (c, m) in exc.recipients.items())
        raise MailError(f"The mail server refused every recipient: {who}. Nothing was sent.") from exc
    except smtplib.SMTPException as exc:
        raise MailError(f"The mail server rejected the message: {exc}. Nothing was sent.") from exc
    except (OSError, ssl.SSLError) as exc:
        raise MailError(
            f"The connection to {smtp.host} failed while sending ({_reason(exc)}). Nothing was reported as sent."
        ) from exc
    reasons = {a: f"{c} {m.decode(errors='replace')}" for a, (c, m) in refused.items()}
    return [a for a in to if a not in refused], reasons


def _connect(smtp: Smtp) -> smtplib.SMTP:
    if smtp.security == "ssl":
        return smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=smtp.timeout, context=ssl.create_default_context())
    return smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout)


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


# --- the drafts of a cycle ------------------------------------------------------


def sender_of(plan: Plan) -> tuple[str, str]:
    settings = plan.settings
    officer = settings.get("officer", "")
    address = settings.get("return_email", "")
    if not address:
        raise MailError("The plan has no 'Return address' on its Settings sheet: add one to send email.")
    return (formataddr((officer, address)) if officer else address), officer


@dataclass(frozen=True)
class SpgPack:
    message: EmailMessage
    note: str = ""  # said when the master tracker had to be rebuilt for the pack


def spg_draft(plan: Plan, cycle: str, today: date, to: list[str] | None = None) -> EmailMessage:
    """The SPG message for a cycle, with the master tracker attached."""
    return spg_pack(plan, cycle, today, to).message


def spg_pack(plan: Plan, cycle: str, today: date, to: list[str] | None = None) -> SpgPack:
    """The SPG message for a cycle, with a master tracker of that cycle attached (never another quarter's)."""
    import tempfile

    from xlplan.collect import master_showing
    from xlplan.errors import PlanError

    recipients = to or [a.strip() for a in plan.settings.get("spg_email", "").split(";") if a.strip()]
    if not recipients:
        raise MailError(
            f"No address for the {plan.words.meeting}: fill in 'SPG email' on the plan's Settings sheet, or give --to."
        )
    sender, officer = sender_of(plan)
    with tempfile.TemporaryDirectory(prefix="xlplan-meeting-") as scratch:
        try:
            master = master_showing(plan, cycle, today, Path(scratch))
        except PlanError as exc:
            raise MailError(str(exc)) from exc
        with access.reading(plan.folder) as ledger:
            report = cycle_report(plan, ledger, cycle, today)
        message = spg_message(report, master.path, sender=sender, to=recipients, officer=officer)
    return SpgPack(message, master.note)
