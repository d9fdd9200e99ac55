"""What came in: each file collected read and hashed, and what its hash alone decides (a copy
of another in this run, or a return already collected); a saved email opened into the
workbooks attached to it, and their sender checked against the plan.

What is left, a workbook to read, goes on to be read and checked (`collect`).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from xlplan.codes import Code
from xlplan.issues import Report
from xlplan.ledger import Ledger, ReturnRecord
from xlplan.merge import Outcome
from xlplan.plan import Plan
from xlplan.saved_mail import UnreadableEmail, read_saved_email
from xlplan.sniff import MAX_FILE_BYTES
from xlplan.values import clean_text

SPREADSHEET_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".xlsb", ".ods", ".csv", ".xltx"}


def identify(path: Path, ledger: Ledger, generated: set[str], seen: dict[str, Outcome]) -> tuple[Outcome, bytes | None]:
    """Read one file's bytes and settle what its hash alone decides (a copy, or already collected).

    The bytes come back when the file still has to be read as a return.
    """
    read = _read_file(path)
    if isinstance(read, Outcome):
        return read, None
    data, mtime = read
    return _by_hash(path, data, mtime, ledger, generated, seen)


def _read_file(path: Path) -> tuple[bytes, float] | Outcome:
    """A file's bytes and modification time, or the outcome of a file that cannot be read."""
    try:
        stat = path.stat()
        if stat.st_size > MAX_FILE_BYTES:  # refused unread: never held in memory
            return _too_big(path, stat.st_size)
        return path.read_bytes(), stat.st_mtime
    except OSError as exc:
        report = Report(path.name)
        report.error(
            f"Cannot read the file: {exc.strerror or exc} (is it open in another program?).", code=Code.UNREADABLE
        )
        return Outcome(path, "", report, status="quarantined")


def from_email(
    path: Path,
    ledger: Ledger,
    generated: set[str],
    seen: dict[str, Outcome],
    skipped: list[tuple[str, str]],
    emails: dict[str, tuple[str, bytes]],
) -> list[tuple[Outcome, bytes | None]]:
    """Each workbook attached to a saved email, as a return of its own (named "<email> » <attachment>");
    an email with none is listed as skipped, with its sender and subject."""
    read = _read_file(path)
    if isinstance(read, Outcome):
        return [(read, None)]
    data, mtime = read
    try:
        mail = read_saved_email(path, data, SPREADSHEET_SUFFIXES)
    except UnreadableEmail as exc:
        skipped.append((path.name, f"an email that cannot be read: {exc}"))
        return []
    if not mail.workbooks:
        subject = clean_text(mail.subject)[:120]
        skipped.append((path.name, f"an email from {mail.sender_words}, '{subject}': no workbook attached"))
        return []
    email_sha = hashlib.sha256(data).hexdigest()
    emails[email_sha] = (path.suffix, data)
    sent = mail.sent.timestamp() if mail.sent else mtime
    out = []
    for name, workbook in mail.workbooks:
        outcome, to_read = _by_hash(path.with_name(f"{path.name} » {name}"), workbook, sent, ledger, generated, seen)
        outcome.email, outcome.email_sha256, outcome.sender = path, email_sha, mail.sender
        out.append((outcome, to_read))
    return out


def check_senders(outcomes: list[Outcome], plan: Plan) -> None:
    """Point out a return from a saved email sent from an address that is neither its
    recipient's on the plan nor the return address (the officer's, for mail they forwarded).
    Whose return it is still comes from the workbook's metadata."""
    officer = plan.settings.get("return_email", "").strip().casefold()
    for out in outcomes:
        if out.email is None or not out.recipient or out.status in ("duplicate", "unchanged"):
            continue
        rec = plan.recipient(out.recipient)
        expected = {a for a in (rec.email.strip().casefold() if rec else "", officer) if a}
        if out.sender in expected:
            continue
        label = plan.template.plan.recipient_label
        on_plan = f" (the plan has {rec.email})" if rec and rec.email else ""
        out.report.warning(
            f"The email {out.email.name} came from {out.sender or 'no address'}, not from {out.recipient}'s "
            f"address{on_plan}: check it is the {label}'s return. It was filed for {out.recipient}, "
            "as the workbook says.",
            code=Code.UNEXPECTED_SENDER,
            recipient=out.recipient,
            value=out.sender,
        )


def _by_hash(
    path: Path, data: bytes, mtime: float, ledger: Ledger, generated: set[str], seen: dict[str, Outcome]
) -> tuple[Outcome, bytes | None]:
    """What a workbook's hash alone decides: a copy of another in this run, or already collected."""
    sha = hashlib.sha256(data).hexdigest()
    if sha in seen:
        twin = seen[sha]
        detail = f"identical to {twin.path.name}: ignored"
        return Outcome(path, sha, Report(path.name), twin.recipient, twin.cycle, "duplicate", detail), None
    known = ledger.return_by_hash(sha)
    if known is not None and _quarantined_for_another_cycle(known, generated):
        known = None  # earlier versions quarantined a late return: read it again, to file it or say how
    if known is not None:
        detail = f"already collected on {known.received_at[:10]} ({known.outcome}): nothing to do"
        out = Outcome(path, sha, Report(path.name), known.recipient or "", known.cycle or "", "unchanged", detail)
        seen[sha] = out
        return out, None
    out = Outcome(path, sha, Report(path.name), status="quarantined", mtime=mtime)
    seen[sha] = out
    return out, data


def _too_big(path: Path, size: int) -> Outcome:
    """A file far larger than any return: hashed as a stream, recorded, not archived."""
    with path.open("rb") as stream:
        sha = hashlib.file_digest(stream, "sha256").hexdigest()
    report = Report(path.name)
    report.error(
        f"The file is {size // (1024 * 1024)} MB; a return is far smaller. Ask for the workbook that was sent out.",
        code=Code.FILE_TOO_BIG,
    )
    return Outcome(path, sha, report, status="quarantined", detail="not archived: too large to keep")


def _quarantined_for_another_cycle(known: ReturnRecord, generated: set[str]) -> bool:
    if known.outcome != "quarantined" or known.cycle not in generated:
        return False
    return any(i.code == Code.WRONG_CYCLE for i in known.issues)
