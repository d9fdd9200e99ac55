"""Returns inside saved emails: a `.eml` (any mail program's "Save as") or Outlook's `.msg`
(what dragging a message out of Outlook into a folder makes).

Each workbook attached is a return of its own (one inside a zipped attachment too, and
in an email forwarded as an attachment); the email's sender, subject and date come
with it, for the officer (who sent it) and for `--prefer newest` (when it was sent).
The email is untrusted like any return: a zip is opened with the same limits as a
workbook, and nothing is written to disk here.
"""

from __future__ import annotations

import email
import email.policy
import io
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from xlplan.sniff import MAX_FILE_BYTES

EMAIL_SUFFIXES = {".eml", ".msg"}
MAX_ZIP_MEMBERS = 50  # an attached zip of returns: a handful of workbooks, never thousands


@dataclass
class SavedEmail:
    """What a saved email holds for collect."""

    sender: str  # the address only, lower case ("" when the email gives none)
    subject: str
    sent: datetime | None  # its Date header (Outlook: when it was sent)
    workbooks: list[tuple[str, bytes]] = field(default_factory=list)  # (attachment name, bytes)

    @property
    def sender_words(self) -> str:
        return self.sender or "an unknown sender"


class UnreadableEmail(Exception):
    """The file is not an email this module can read (damaged, or not an email at all)."""


def is_email(path: Path) -> bool:
    return path.suffix.casefold() in EMAIL_SUFFIXES


def read_saved_email(path: Path, data: bytes, workbook_suffixes: set[str]) -> SavedEmail:
    """The sender, subject, date and attached workbooks (by suffix) of a saved email."""
    if path.suffix.casefold() == ".msg":
        return _read_msg(data, workbook_suffixes)
    return _read_eml(data, workbook_suffixes)


def _read_eml(data: bytes, suffixes: set[str]) -> SavedEmail:
    msg = email.message_from_bytes(data, policy=email.policy.default)
    if not isinstance(msg, EmailMessage) or not (msg["From"] or msg["Subject"] or msg["Date"]):
        raise UnreadableEmail("it has no From, Subject or Date: not an email")
    out = SavedEmail(_address(str(msg["From"] or "")), str(msg["Subject"] or ""), _date(msg))
    for part in msg.walk():  # into forwarded messages (message/rfc822) too
        name = part.get_filename()
        if not name or part.is_multipart():
            continue
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            _add(out, name, payload, suffixes)
    return out


def _date(msg: EmailMessage) -> datetime | None:
    try:
        header = msg["Date"]
        return header.datetime if header is not None else None  # type: ignore[no-any-return]
    except (AttributeError, ValueError, TypeError):
        return None


def _read_msg(data: bytes, suffixes: set[str]) -> SavedEmail:
    import logging

    import extract_msg

    # Its warnings are about formatting, and a damaged file is said once, as a skipped file: not logged too.
    logging.getLogger("extract_msg").setLevel(logging.CRITICAL)
    try:
        msg = extract_msg.openMsg(data)
    except Exception as exc:  # the reader raises many kinds for a damaged or foreign file
        raise UnreadableEmail(f"not an Outlook message that can be read ({type(exc).__name__})") from exc
    try:
        sent = getattr(msg, "date", None)
        out = SavedEmail(
            _address(str(getattr(msg, "sender", "") or "")),
            str(getattr(msg, "subject", "") or "").rstrip("\0"),
            sent if isinstance(sent, datetime) else None,
        )
        _msg_attachments(msg, out, suffixes)
    finally:
        msg.close()
    return out


def _msg_attachments(msg: Any, out: SavedEmail, suffixes: set[str]) -> None:
    for attachment in getattr(msg, "attachments", []):
        content = getattr(attachment, "data", None)
        if isinstance(content, bytes):
            name = attachment.longFilename or attachment.shortFilename or ""
            _add(out, name, content, suffixes)
        elif content is not None and hasattr(content, "attachments"):  # a message forwarded as an attachment
            _msg_attachments(content, out, suffixes)


def _add(out: SavedEmail, name: str, payload: bytes, suffixes: set[str]) -> None:
    name = Path(name.replace("\\", "/")).name  # never a path from the sender
    suffix = Path(name).suffix.casefold()
    if suffix in suffixes:
        out.workbooks.append((name, payload))
    elif suffix == ".zip":
        for inner, data in _unzipped(payload, suffixes):
            out.workbooks.append((f"{name} » {inner}", data))


def _unzipped(payload: bytes, suffixes: set[str]) -> list[tuple[str, bytes]]:
    """The workbooks inside a zipped attachment; nothing from a zip that is damaged or too big."""
    try:
        with zipfile.ZipFile(io.BytesIO(payload)) as archive:
            infos = [i for i in archive.infolist() if not i.is_dir()]
            if len(infos) > MAX_ZIP_MEMBERS:
                return []
            wanted = [i for i in infos if Path(i.filename).suffix.casefold() in suffixes]
            if sum(i.file_size for i in wanted) > MAX_FILE_BYTES:
                return []
            return [(Path(i.filename).name, archive.read(i)) for i in wanted]
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, RuntimeError):
        return []  # damaged, or encrypted: said as "no workbook attached"


def _address(header: str) -> str:
    return parseaddr(header)[1].strip().casefold()
