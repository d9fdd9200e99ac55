"""What a file really is, before any parser sees it.

Returns are untrusted email attachments: a CSV renamed .xlsx, a password-protected
workbook, a legacy .xls or a zip bomb must each get a plain answer, not a stack
trace from a library that guessed from the extension.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

MAX_FILE_BYTES = 50 * 1024 * 1024  # a return is a few hundred kB; 50 MB is not a return
MAX_UNZIPPED_BYTES = 300 * 1024 * 1024
MAX_RATIO = 200  # compressed XML is ~10-20x; far beyond that is a bomb

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


@dataclass(frozen=True)
class Sniffed:
    kind: str  # xlsx | xlsm | ods | xls | encrypted | not-a-workbook | too-big | bomb | corrupt
    problem: str = ""  # for the officer, when the file cannot be read
    macros: bool = False

    @property
    def readable(self) -> bool:
        return self.kind in ("xlsx", "xlsm")


def sniff(data: bytes) -> Sniffed:
    if len(data) == 0:
        return Sniffed("not-a-workbook", "The file is empty (0 bytes): the attachment was not saved properly.")
    if len(data) > MAX_FILE_BYTES:
        return Sniffed(
            "too-big",
            f"The file is {len(data) // (1024 * 1024)} MB; a return is far smaller. Ask for the workbook that was sent out.",
        )
    if data.startswith(OLE_MAGIC):
        return _ole(data)
    if not data.startswith(ZIP_MAGIC):
        return Sniffed("not-a-workbook", _not_workbook(data))
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        names = set(archive.namelist())
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return Sniffed(
            "corrupt",
            "The file is damaged (an incomplete or corrupt zip): ask for it to be saved and sent again.",
        )
    total = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos) or 1
    if total > MAX_UNZIPPED_BYTES or (total / packed > MAX_RATIO and total > 10 * 1024 * 1024):
        return Sniffed(
            "bomb",
            f"The file would expand to {total // (1024 * 1024)} MB: refused as unsafe (a 'zip bomb'). Ask for the workbook that was sent out.",
        )
    if "mimetype" in names and b"opendocument" in archive.read("mimetype"):
        return Sniffed(
            "ods",
            "This is an OpenDocument spreadsheet (.ods). In LibreOffice use File > Save As > Excel 2007-365 (.xlsx) and send that.",
        )
    if "xl/workbook.xml" not in names:
        return Sniffed("not-a-workbook", "The file is a zip archive but not an Excel workbook.")
    macros = "xl/vbaProject.bin" in names
    return Sniffed("xlsm" if macros else "xlsx", macros=macros)


def _ole(data: bytes) -> Sniffed:
    # OLE compound files hold both legacy .xls and password-encrypted .xlsx; the
    # directory's stream names (UTF-16) tell them apart without a full parser.
    if "EncryptedPackage".encode("utf-16-le") in data:
        return Sniffed(
            "encrypted",
            "The workbook is password-protected: remove the password (File > Info > Protect Workbook > Encrypt with Password, clear it), save and send it again.",
        )
    return Sniffed(
        "xls",
        "This is an old-format Excel file (.xls). Please use the .xlsx workbook that was sent out, or save as Excel Workbook (.xlsx).",
    )


def _not_workbook(data: bytes) -> str:
    head = data[:1024]
    if head.startswith(b"%PDF"):
        return "This is a PDF, not a workbook: please send the Excel file itself."
    if head.lstrip().lower().startswith((b"<html", b"<!doctype")):
        return "This is a web page, not a workbook: please send the Excel file itself."
    if b"," in head or b"\t" in head:
        return "This looks like a CSV or text file renamed .xlsx: please send the Excel workbook that was sent out."
    return "This is not an Excel workbook: please send the .xlsx file that was sent out."
