"""What a file really is, before any parser sees it.

Returns are untrusted email attachments: a CSV renamed .xlsx, a password-protected
workbook, a legacy .xls or a zip bomb must each get a plain answer, not a stack
trace from a library that guessed from the extension (or a process killed by a
parser asked to allocate gigabytes). Everything here works on the raw bytes with
bounded effort: the zip's central directory is sized before it is parsed, each XML
part's prolog is checked for entity declarations before any parser reads it, and an
OLE container's directory is walked to tell an encrypted workbook from a legacy .xls.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass
from typing import Literal

MAX_FILE_BYTES = 50 * 1024 * 1024  # a return is a few hundred kB; 50 MB is not a return
MAX_UNZIPPED_BYTES = 300 * 1024 * 1024
MAX_RATIO = 200  # compressed XML is ~10-20x (a million blank formatted rows ~15x); far beyond is a bomb
MAX_ENTRIES = 10_000  # a workbook has a few dozen parts; a million entries is an attack on the zip reader
PROLOG_BYTES = 64 * 1024  # where an XML part's <!DOCTYPE> would be

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

ASK_AGAIN = "Ask for the workbook that was sent out to be saved in Excel and sent again."


# What a file is: the first three can be read as a workbook; the others are refused
# (codes.FILE_PROBLEM names the issue each one gets).
SniffKind = Literal[
    "xlsx", "xlsm", "ods", "xls", "xlsb", "encrypted", "not-a-workbook", "too-big", "bomb", "unsafe", "corrupt"
]
READABLE: tuple[SniffKind, ...] = ("xlsx", "xlsm", "ods")


@dataclass(frozen=True)
class Sniffed:
    kind: SniffKind
    problem: str = ""  # for the officer, when the file cannot be read
    macros: bool = False

    @property
    def readable(self) -> bool:
        return self.kind in READABLE


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
    return _zip(data)


# --- zip (OOXML and OpenDocument) -------------------------------------------------------

_CORRUPT = Sniffed("corrupt", f"The file is damaged (an incomplete or corrupt zip archive). {ASK_AGAIN}")


def _zip(data: bytes) -> Sniffed:
    entries = _zip_entry_count(data)
    if entries is None:
        return _CORRUPT
    if entries > MAX_ENTRIES:
        return Sniffed(
            "bomb",
            f"The file is a zip archive of {entries:,} parts (a workbook has a few dozen): refused as unsafe. {ASK_AGAIN}",
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, struct.error):
        return _CORRUPT
    names = {i.filename for i in infos}
    total = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos) or 1
    biggest = max(infos, key=lambda i: i.file_size / max(i.compress_size, 1), default=None)
    ratio = biggest.file_size / max(biggest.compress_size, 1) if biggest else 0
    if (ratio > MAX_RATIO and biggest and biggest.file_size > 10 * 1024 * 1024) or (
        total > MAX_UNZIPPED_BYTES and total / packed > MAX_RATIO
    ):
        return Sniffed(
            "bomb",
            f"The file would expand to {total // (1024 * 1024):,} MB from {len(data) // 1024:,} kB: "
            f"refused as unsafe (a 'zip bomb'). {ASK_AGAIN}",
        )
    if total > MAX_UNZIPPED_BYTES:
        return Sniffed(
            "too-big",
            f"The workbook would take {total // (1024 * 1024):,} MB once opened: far more than a return needs "
            "(formatting applied to a million rows or columns?). Ask for the workbook that was sent out.",
        )
    try:
        unsafe = _xml_with_entities(archive, infos)
        mimetype = archive.read("mimetype")[:200] if "mimetype" in names else b""
    except (zipfile.BadZipFile, zlib.error, OSError, ValueError, EOFError, NotImplementedError, RuntimeError):
        return _CORRUPT  # a damaged part, an unknown compression method or an encrypted zip entry
    if unsafe:
        return Sniffed(
            "unsafe",
            f"The workbook contains XML with entity declarations (<!DOCTYPE> in {unsafe}), which Excel never writes: "
            f"the pattern of the 'billion laughs' and 'external entity' attacks. Refused as unsafe. {ASK_AGAIN}",
        )
    if b"opendocument.spreadsheet" in mimetype:
        macros = any(n.startswith(("Basic/", "Scripts/")) for n in names)
        return Sniffed("ods", macros=macros)
    if b"opendocument" in mimetype:
        return Sniffed(
            "not-a-workbook", "This is an OpenDocument file but not a spreadsheet: please send the workbook."
        )
    if "xl/workbook.bin" in names:
        return Sniffed(
            "xlsb",
            "This is an Excel binary workbook (.xlsb). In Excel use File > Save As > Excel Workbook (.xlsx) and send that.",
        )
    if "xl/workbook.xml" not in names:
        if "word/document.xml" in names:
            return Sniffed(
                "not-a-workbook", "This is a Word document, not a workbook: please send the Excel file itself."
            )
        if "ppt/presentation.xml" in names:
            return Sniffed(
                "not-a-workbook", "This is a PowerPoint file, not a workbook: please send the Excel file itself."
            )
        return Sniffed("not-a-workbook", "The file is a zip archive but not an Excel workbook.")
    macros = "xl/vbaProject.bin" in names or _macro_content_type(archive, names)
    return Sniffed("xlsm" if macros else "xlsx", macros=macros)


def _zip_entry_count(data: bytes) -> int | None:
    """The entry count from the end-of-central-directory record, before zipfile builds one object per entry."""
    end = data.rfind(b"PK\x05\x06", max(0, len(data) - 65557))
    if end < 0 or len(data) < end + 22:
        return None
    count = struct.unpack_from("<H", data, end + 10)[0]
    locator = end - 20
    if count == 0xFFFF and locator >= 0 and data[locator : locator + 4] == b"PK\x06\x07":
        offset = struct.unpack_from("<Q", data, locator + 8)[0]
        if offset + 40 <= len(data) and data[offset : offset + 4] == b"PK\x06\x06":
            return int(struct.unpack_from("<Q", data, offset + 32)[0])
        return None
    return int(count)


def _xml_with_entities(archive: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> str:
    """The first XML part whose prolog declares a DTD or entities ('' if none).

    ECMA-376 and ODF both forbid DTDs, so no genuine workbook has one: refusing here
    answers billion-laughs and external-entity files with one clear message, whichever
    parser (calamine, defusedxml) would have met them first.
    """
    for info in infos:
        if info.is_dir() or not info.filename.lower().endswith((".xml", ".rels", ".vml")):
            continue
        if _declares_entities(archive, info):
            return info.filename
    return ""


_ROOT = re.compile(rb"<[A-Za-z_]")  # the root element's start: no declaration can follow it
_COMMENT = re.compile(rb"<!--.*?-->", re.S)


def _declares_entities(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bool:
    """Read the part's prolog only, a few KB at a time, up to the root element (or PROLOG_BYTES)."""
    head = b""
    with archive.open(info) as part:
        while len(head) < PROLOG_BYTES:
            chunk = part.read(4096)
            if not chunk:
                break
            head += chunk
            visible = _COMMENT.sub(b"", head)  # a comment may mention <tags>: it is not the root
            root = None if b"<!--" in visible else _ROOT.search(visible)
            if root is not None:
                head = visible[: root.start()]
                break
    return b"<!DOCTYPE" in head or b"<!ENTITY" in head


def _macro_content_type(archive: zipfile.ZipFile, names: set[str]) -> bool:
    if "[Content_Types].xml" not in names:
        return False
    with archive.open("[Content_Types].xml") as part:
        return b"macroEnabled" in part.read(PROLOG_BYTES)


# --- OLE compound files: legacy .xls, encrypted OOXML ---------------------------------------


def _ole(data: bytes) -> Sniffed:
    """OLE compound files hold both legacy .xls and password-encrypted .xlsx: the directory tells them apart."""
    names = ole_stream_names(data)
    if names is None:
        # A damaged directory: fall back on the stream name's bytes for the one case that matters most.
        if "EncryptedPackage".encode("utf-16-le") in data:
            return _ENCRYPTED
        return Sniffed(
            "corrupt",
            f"The file is damaged (an Office file whose directory cannot be read). {ASK_AGAIN}",
        )
    if "EncryptedPackage" in names or "EncryptionInfo" in names:
        return _ENCRYPTED
    if "Workbook" in names or "Book" in names:
        return Sniffed(
            "xls",
            "This is an old-format Excel file (.xls). Please use the .xlsx workbook that was sent out, "
            "or in Excel use File > Save As > Excel Workbook (.xlsx) and send that.",
        )
    if "WordDocument" in names:
        return Sniffed(
            "not-a-workbook", "This is a Word document (.doc), not a workbook: please send the Excel file itself."
        )
    return Sniffed("not-a-workbook", "This is an Office file but not an Excel workbook: please send the .xlsx file.")


_ENCRYPTED = Sniffed(
    "encrypted",
    "The workbook is password-protected: remove the password (File > Info > Protect Workbook > "
    "Encrypt with Password, clear it), save and send it again.",
)


def ole_stream_names(data: bytes) -> set[str] | None:
    """The names in an OLE (Compound File Binary) directory, or None if it is malformed.

    Reads the header, follows the FAT chain of the directory sectors (bounded) and
    decodes each 128-byte entry's UTF-16 name. No streams are read.
    """
    try:
        shift = struct.unpack_from("<H", data, 0x1E)[0]
        if shift not in (9, 12):
            return None
        size = 1 << shift
        n_fat, first_dir = struct.unpack_from("<II", data, 0x2C)
        first_difat, n_difat = struct.unpack_from("<II", data, 0x44)
        sectors = len(data) // size - 1  # sector n starts at (n + 1) * size: the header fills sector -1

        def sector(n: int) -> bytes:
            if not 0 <= n < sectors:
                raise ValueError(n)
            return data[(n + 1) * size : (n + 2) * size]

        fat_sectors = [s for s in struct.unpack_from("<109I", data, 0x4C) if s < 0xFFFFFFFA]
        nxt, hops = first_difat, 0
        while nxt < 0xFFFFFFFA and hops < max(n_difat, 0) + 1 and len(fat_sectors) < n_fat:
            block = sector(nxt)
            entries = struct.unpack(f"<{size // 4}I", block)
            fat_sectors += [s for s in entries[:-1] if s < 0xFFFFFFFA]
            nxt, hops = entries[-1], hops + 1
        fat: list[int] = []
        for s in fat_sectors[: min(n_fat, sectors)]:
            fat.extend(struct.unpack(f"<{size // 4}I", sector(s)))
        names: set[str] = set()
        current, seen = first_dir, set[int]()
        while current < 0xFFFFFFFA:
            if current in seen or current >= len(fat) or len(seen) > sectors:
                return None  # a loop or a chain out of the file
            seen.add(current)
            block = sector(current)
            for off in range(0, size, 128):
                length = struct.unpack_from("<H", block, off + 0x40)[0]
                kind = block[off + 0x42]
                if kind in (1, 2, 5) and 2 <= length <= 64:
                    names.add(block[off : off + length - 2].decode("utf-16-le", "replace"))
            current = fat[current]
        return names or None
    except (struct.error, ValueError, IndexError):
        return None


def _not_workbook(data: bytes) -> str:
    head = data[:1024]
    if head.startswith(b"%PDF"):
        return "This is a PDF, not a workbook: please send the Excel file itself."
    if head.lstrip().lower().startswith((b"<html", b"<!doctype")):
        return "This is a web page, not a workbook: please send the Excel file itself."
    if head.startswith(b"PK"):
        return f"The file is damaged (an incomplete or corrupt zip archive). {ASK_AGAIN}"
    if b"," in head or b"\t" in head or b";" in head:
        return "This looks like a CSV or text file renamed .xlsx: please send the Excel workbook that was sent out."
    return "This is not an Excel workbook: please send the .xlsx file that was sent out."
