"""A corpus of hostile and broken returns, built at test time from generated workbooks.

Nothing large is committed: the zip bomb, the million blank rows and the rest are
written into a folder when a test (or a person) asks for them::

    python tests/corpus.py /tmp/corpus      # a plan folder with every bad return in returns/
    xlplan --plan /tmp/corpus collect       # what the officer sees (docs/bad-returns.md)

Each `Case` says what is wrong with the file, whose generated workbook it starts from,
and what collect must answer: refused (quarantined, nothing of it merged) or accepted
(merged, with the note or warning that says what was done). Cases that need LibreOffice
(.xls, .ods) are built only when soffice is installed.

The plan has one sponsor per accepted case, so that accepted returns never conflict
with each other, and a "victim" whose earlier return was merged: every refused file
claims to be the victim's, and carries "LEAK" text, so any leak into the ledger or the
master tracker is visible.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import struct
import sys
import threading
import zipfile
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl

sys.path.insert(0, str(Path(__file__).parent))

from conftest import SETTINGS, make_plan_folder

from xlplan.generate import generate
from xlplan.plan import load_plan
from xlplan.plan_folder import PlanFolder
from xlplan.plan_sheets import Recipient
from xlplan.samples.sponsor import fill_return

CYCLE = "2025-Q3"
SPG = date(2025, 10, 2)  # deadline 2025-09-11
TODAY = date(2025, 9, 20)
FIRST_ROW = 5  # the first action row of a generated Actions sheet (header on row 4)
BIG_ACTION = "Big Action 9: Hostile returns"
# Columns of the Actions sheet (see tests/helpers.py): A Ref ... J Progress, K RAG, L Actual,
# M Revised due, N Comments.
LEAK = "LEAK"
BASELINE = "victim earlier.xlsx"  # the victim's clean return, merged before the corpus arrives


def person(name: str) -> Recipient:
    return Recipient(name, f"{name.lower().replace(' ', '.')}@example.org", "Head of Service")


GOOD = "Gail Good"
VICTIM = "Victor Victim"
TWICE = "Tess Twice"
ACCEPTED_SPONSORS = {
    "macros": "Mona Macro",
    "ods": "Olga Ods",
    "no-manifest-sheet": "Nora Nometa",
    "sheet-renamed": "Rena Renamed",
    "columns-moved": "Max Moved",
    "column-inserted": "Ines Inserted",
    "blank-rows": "Bill Blank",
    "wide": "Wanda Wide",
    "unicode": "Uma Unicode",
    "text-dates": "Dana Dates",
    "old-version": "Olly Old",
    "formula-values": "Fran Formula",
}
SPONSORS = [GOOD, VICTIM, TWICE, *ACCEPTED_SPONSORS.values()]


def refs_of(who: str) -> tuple[str, str]:
    n = SPONSORS.index(who) + 1
    return f"H{n:02d}.01", f"H{n:02d}.02"


def actions() -> list[dict[str, Any]]:
    out = []
    for who in SPONSORS:
        first, second = refs_of(who)
        out.append(
            {
                "ref": first,
                "big_action": BIG_ACTION,
                "action": f"Deliver the first commitment of {who}",
                "responsible": "Service Manager",
                "sponsor": who,
                "due": date(2026, 12, 31),
                "measure": "People supported",
                "target": 100,
            }
        )
        out.append(
            {
                "ref": second,
                "big_action": BIG_ACTION,
                "action": f"=Deliver the second commitment of {who}",  # plan text that looks like a formula
                "responsible": "Planning Officer",
                "sponsor": who,
                "due": date(2026, 6, 30),
                "measure": "",
                "target": None,
            }
        )
    return out


def clean(who: str, tag: str = "") -> dict[str, dict[str, Any]]:
    """A return with no error and no warning; `tag` makes its text unique."""
    first, second = refs_of(who)
    return {
        first: {"progress": f"On track {tag}".strip(), "rag": "Green", "actual": 100},
        second: {"progress": f"Drafting {tag}".strip(), "rag": "Amber", "revised_due": date(2026, 9, 30)},
    }


@dataclass(frozen=True, eq=False)
class Case:
    """One bad return: what is wrong, the file, and what collect must say about it."""

    kind: str  # what is wrong, in words (the docs table's first column)
    file: str
    outcome: str  # quarantined | merged | conflict | duplicate
    code: str  # the issue code that explains the outcome ("" for conflict/duplicate/clean)
    cell: str = ""  # Sheet!A1 the issue names, when there is a cell
    who: str = VICTIM  # the recipient the file claims to be from ("" when it cannot say)
    values: dict[str, dict[str, Any]] | None = None  # accepted: exactly what must be merged
    needs_libreoffice: bool = False


# --- zip and XML surgery ------------------------------------------------------------------


def sheet_part(data: bytes, sheet: str) -> str:
    """The zip part holding `sheet`'s XML, from the workbook and its relationships."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        workbook = z.read("xl/workbook.xml").decode()
        rels = z.read("xl/_rels/workbook.xml.rels").decode()
    rid = re.search(rf'<sheet [^>]*name="{re.escape(sheet)}"[^>]*r:id="([^"]+)"', workbook)
    assert rid, sheet
    target = re.search(rf'<Relationship [^>]*Id="{rid.group(1)}"[^>]*Target="([^"]+)"', rels) or re.search(
        rf'<Relationship [^>]*Target="([^"]+)"[^>]*Id="{rid.group(1)}"', rels
    )
    assert target
    path = target.group(1)
    return path.lstrip("/") if path.startswith("/") else f"xl/{path}"


def rezip(
    data: bytes,
    change: dict[str, Callable[[bytes], bytes]] | None = None,
    add: dict[str, bytes] | None = None,
    drop: tuple[str, ...] = (),
    level: int = 6,
) -> bytes:
    """The same zip with some parts rewritten, added or dropped."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            if info.filename in drop:
                continue
            body = zin.read(info.filename)
            if change and info.filename in change:
                body = change[info.filename](body)
            stored = info.compress_type == zipfile.ZIP_STORED  # an .ods's mimetype must stay uncompressed
            method = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
            zout.writestr(info.filename, body, compress_type=method, compresslevel=None if stored else level)
        for name, body in (add or {}).items():
            zout.writestr(name, body, compress_type=zipfile.ZIP_DEFLATED, compresslevel=level)
    return out.getvalue()


def set_cell(xml: bytes, ref: str, inner: bytes, t: bytes | None = None) -> bytes:
    """Replace cell `ref`'s content with raw XML (keeping its style), as Excel would store it."""
    pattern = re.compile(rb'<c r="' + ref.encode() + rb'"([^>]*?)(?:/>|>.*?</c>)', re.S)
    match = pattern.search(xml)
    assert match, ref
    attrs = re.sub(rb'\st="[^"]*"', b"", match.group(1))
    t_attr = b' t="' + t + b'"' if t else b""
    return (
        xml[: match.start()]
        + b'<c r="'
        + ref.encode()
        + b'"'
        + attrs
        + t_attr
        + b">"
        + inner
        + b"</c>"
        + xml[match.end() :]
    )


def inline(text: str) -> bytes:
    from xml.sax.saxutils import escape

    return b'<is><t xml:space="preserve">' + escape(text).encode() + b"</t></is>"


# --- OLE compound file (for the encrypted workbook) -----------------------------------------


def cfb(streams: dict[str, bytes]) -> bytes:
    """A minimal but valid Compound File Binary (version 3, 512-byte sectors).

    Streams under 4096 bytes live in the mini stream, as the format requires; the
    directory is a root storage whose children form a (degenerate, black) tree ordered
    by name as the specification compares them (length first, then upper case).
    """
    sector, mini = 512, 64
    free, end, fat_mark = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD
    names = sorted(streams, key=lambda n: (len(n), n.upper()))
    small = {n: b for n, b in streams.items() if len(b) < 4096}
    big = {n: b for n, b in streams.items() if len(b) >= 4096}

    def pad(body: bytes, size: int) -> bytes:
        return body + b"\0" * (-len(body) % size)

    ministream, minifat, mini_start = b"", [], {}
    for n in names:
        if n in small:
            mini_start[n] = len(ministream) // mini
            count = max(1, -(-len(small[n]) // mini))
            minifat += [*range(mini_start[n] + 1, mini_start[n] + count), end]
            ministream += pad(small[n], mini) or b"\0" * mini
    entries = 1 + len(names)
    dir_sectors = -(-entries * 128 // sector)
    minifat_sectors = -(-len(minifat) * 4 // sector) if minifat else 0
    ministream_sectors = -(-len(ministream) // sector)
    big_sectors = {n: -(-len(b) // sector) for n, b in big.items()}
    data_sectors = dir_sectors + minifat_sectors + ministream_sectors + sum(big_sectors.values())
    fat_sectors = 1
    while fat_sectors * (sector // 4) < data_sectors + fat_sectors:
        fat_sectors += 1
    assert fat_sectors <= 109, "stream too large for this little writer"
    fat: list[int] = [fat_mark] * fat_sectors
    nxt = fat_sectors

    def chain(count: int) -> int:
        nonlocal nxt
        start = nxt
        fat.extend([*range(nxt + 1, nxt + count), end])
        nxt += count
        return start

    dir_start = chain(dir_sectors)
    minifat_start = chain(minifat_sectors) if minifat_sectors else end
    ministream_start = chain(ministream_sectors) if ministream_sectors else end
    big_start = {n: chain(big_sectors[n]) for n in names if n in big}
    fat += [free] * (fat_sectors * (sector // 4) - len(fat))

    def entry(name: str, kind: int, child: int, right: int, start: int, size: int) -> bytes:
        encoded = (name + "\0").encode("utf-16-le")
        return (
            encoded.ljust(64, b"\0")
            + struct.pack("<HBB", len(encoded), kind, 1)
            + struct.pack("<III", free, right, child)
            + b"\0" * 16  # CLSID
            + struct.pack("<I", 0)  # state bits
            + b"\0" * 16  # creation and modification times
            + struct.pack("<IQ", start, size)
        )

    directory = entry("Root Entry", 5, 1 if names else free, free, ministream_start, len(ministream))
    for i, n in enumerate(names, start=1):
        right = i + 1 if i < len(names) else free
        if n in small:
            directory += entry(n, 2, free, right, mini_start[n], len(small[n]))
        else:
            directory += entry(n, 2, free, right, big_start[n], len(big[n]))
    empty = b"\0" * 64 + struct.pack("<HBB", 0, 0, 0) + struct.pack("<III", free, free, free) + b"\0" * 52
    directory += empty * (dir_sectors * 4 - entries)

    difat = [*range(fat_sectors)] + [free] * (109 - fat_sectors)
    header = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + b"\0" * 16
        + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
        + b"\0" * 6
        + struct.pack("<IIIIIIIII", 0, fat_sectors, dir_start, 0, 4096, minifat_start, minifat_sectors, end, 0)
        + struct.pack("<109I", *difat)
    )
    assert len(header) == 512
    body = struct.pack(f"<{len(fat)}I", *fat) + directory
    body += pad(struct.pack(f"<{len(minifat)}I", *minifat), sector) if minifat else b""
    body += pad(ministream, sector)
    for n in names:
        if n in big:
            body += pad(big[n], sector)
    return header + body


AGILE_INFO = (
    b"\x04\x00\x04\x00\x40\x00\x00\x00" + b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
    b'<encryption xmlns="http://schemas.microsoft.com/office/2006/encryption" '
    b'xmlns:p="http://schemas.microsoft.com/office/2006/keyEncryptor/password">'
    b'<keyData saltSize="16" blockSize="16" keyBits="256" hashSize="64" cipherAlgorithm="AES" '
    b'cipherChaining="ChainingModeCBC" hashAlgorithm="SHA512" saltValue="AAAAAAAAAAAAAAAAAAAAAA=="/>'
    b'<keyEncryptors><keyEncryptor uri="http://schemas.microsoft.com/office/2006/keyEncryptor/password">'
    b'<p:encryptedKey spinCount="100000" saltSize="16" blockSize="16" keyBits="256" hashSize="64" '
    b'cipherAlgorithm="AES" cipherChaining="ChainingModeCBC" hashAlgorithm="SHA512"/>'
    b"</keyEncryptor></keyEncryptors></encryption>"
)


def encrypted_workbook(plain: bytes) -> bytes:
    """What Excel writes for File > Info > Encrypt with Password: an OLE file holding
    EncryptionInfo and EncryptedPackage (here random bytes of the package's length)."""
    size = len(plain)
    package = struct.pack("<Q", size) + os.urandom(size + (-size % 16))
    return cfb({"EncryptionInfo": AGILE_INFO, "EncryptedPackage": package})


# --- the builder ----------------------------------------------------------------------------


class Corpus:
    """A plan folder for the corpus, and a builder for each kind of bad return."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.folder = make_plan_folder(root, actions=actions(), sponsors=[person(s) for s in SPONSORS])
        self.plan = load_plan(self.folder)
        generate(self.plan, CYCLE, spg_date=SPG, deadline=None)
        self.template = self.plan.template
        self.work = root.parent / f"{root.name}-work"
        self.work.mkdir(exist_ok=True)
        self._lock = threading.Lock()
        self._ods: bytes | None = None

    @property
    def returns(self) -> Path:
        return self.folder.returns_dir

    def outgoing(self, who: str) -> Path:
        return self.folder.outgoing_dir(CYCLE) / f"{CYCLE} return - {who}.xlsx"

    def filled(self, who: str, values: dict[str, dict[str, Any]] | None = None, src: Path | None = None) -> bytes:
        """The bytes of `who`'s workbook filled in (openpyxl, as Excel would)."""
        dst = self.work / f"filled-{os.urandom(6).hex()}.xlsx"
        fill_return(src or self.outgoing(who), dst, self.template, clean(who) if values is None else values)
        return dst.read_bytes()

    def edited(self, who: str, change: Callable[[Any], None], values: dict[str, dict[str, Any]] | None = None) -> bytes:
        """`who`'s filled workbook after what a person does beyond typing values."""
        path = self.work / f"edited-{os.urandom(6).hex()}.xlsx"
        path.write_bytes(self.filled(who, values))
        book = openpyxl.load_workbook(path)
        change(book)
        book.save(path)
        return path.read_bytes()

    def leaky(self) -> dict[str, dict[str, Any]]:
        """The victim's values in a refused file: any of them reaching the ledger is a leak."""
        first, second = refs_of(VICTIM)
        return {
            first: {"progress": f"{LEAK} progress", "rag": "Green", "actual": 100},
            second: {"progress": f"{LEAK} second", "rag": "Amber", "revised_due": date(2026, 9, 30)},
        }

    def victim(self, change: Callable[[Any], None] | None = None) -> bytes:
        return self.edited(VICTIM, change, self.leaky()) if change else self.filled(VICTIM, self.leaky())

    def actions_xml(self, data: bytes, change: Callable[[bytes], bytes]) -> bytes:
        return rezip(data, {sheet_part(data, "Actions"): change})

    # -- the cases --------------------------------------------------------------------------

    def cases(self, libreoffice: bool) -> dict[Case, Callable[[], bytes | None]]:
        v1, v2 = refs_of(VICTIM)
        r = FIRST_ROW
        out: dict[Case, Callable[[], bytes | None]] = {}

        def case(*args: Any, **kwargs: Any) -> Callable[[Callable[[], bytes | None]], None]:
            def register(build: Callable[[], bytes | None]) -> None:
                out[Case(*args, **kwargs)] = build

            return register

        # Not a workbook
        case("A CSV file renamed .xlsx", "csv renamed.xlsx", "quarantined", "file-not-a-workbook", who="")(
            lambda: b"Ref,Progress,RAG\r\nH02.01,LEAK,Green\r\n"
        )
        case("A PDF renamed .xlsx", "pdf renamed.xlsx", "quarantined", "file-not-a-workbook", who="")(
            lambda: b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <</Type /Catalog>> endobj\ntrailer <<>>\n%%EOF\n"
        )
        case("An empty file", "empty.xlsx", "quarantined", "file-not-a-workbook", who="")(lambda: b"")
        case("A truncated download", "truncated.xlsx", "quarantined", "file-corrupt", who="")(
            lambda: self.victim()[:3000]
        )

        @case("A corrupt part inside the zip", "corrupt part.xlsx", "quarantined", "file-corrupt", who="")
        def _corrupt() -> bytes:
            data = bytearray(self.victim())
            with zipfile.ZipFile(io.BytesIO(bytes(data))) as z:
                info = z.getinfo(sheet_part(bytes(data), "Actions"))
            start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
            for i in range(start + 40, start + min(info.compress_size, 400), 7):
                data[i] ^= 0x5A
            return bytes(data)

        # Other formats
        case("An Excel binary workbook (.xlsb) renamed", "binary.xlsx", "quarantined", "file-xlsb", who="")(
            lambda: rezip(self.victim(), add={"xl/workbook.bin": b"\x83\x01\x00"}, drop=("xl/workbook.xml",))
        )
        if libreoffice:
            case("A legacy .xls", "legacy.xls", "quarantined", "file-xls", who="", needs_libreoffice=True)(
                lambda: self.converted(self.victim(), "xls")
            )
            ods_who = ACCEPTED_SPONSORS["ods"]
            case(
                "An OpenDocument spreadsheet (.ods)",
                "libreoffice.ods",
                "merged",
                "ods",
                who=ods_who,
                values=clean(ods_who),
                needs_libreoffice=True,
            )(lambda: self.converted(self.filled(ods_who), "ods"))
            case(
                "An .ods with formulas (=1/0, HYPERLINK)",
                "formulas.ods",
                "quarantined",
                "error-value",
                cell=f"Actions!L{r}",
                needs_libreoffice=True,
            )(self.victim_ods)
            case(
                "An .ods with content far outside the table",
                "far cell.ods",
                "quarantined",
                "too-large",
                cell="Actions!WQJ1048006",
                who="",
                needs_libreoffice=True,
            )(lambda: ods_after_row(self.victim_ods(), v2.encode(), FAR_ODS_ROWS))
        mac = ACCEPTED_SPONSORS["macros"]
        case("An .xlsm with macros", "macros.xlsm", "merged", "macros", who=mac, values=clean(mac))(
            lambda: self.with_macros(self.filled(mac))
        )
        case("A password-encrypted workbook", "encrypted.xlsx", "quarantined", "file-encrypted", who="")(
            lambda: encrypted_workbook(self.victim())
        )

        # Attacks on the parsers
        case("A zip bomb (1 MB of zip, 1 GB of XML)", "bomb.xlsx", "quarantined", "file-bomb", who="")(self.zip_bomb)
        case("A zip whose parts lie about their size", "lying sizes.xlsx", "quarantined", "file-corrupt", who="")(
            self.lying_sizes
        )
        case("XML 'billion laughs' in a sheet", "billion laughs.xlsx", "quarantined", "file-unsafe", who="")(
            lambda: self.actions_xml(self.victim(), lambda x: laughs(x))
        )
        case(
            "XML external entity in docProps/custom.xml", "external entity.xlsx", "quarantined", "file-unsafe", who=""
        )(lambda: rezip(self.victim(), {"docProps/custom.xml": external_entity}))
        case(
            "Entities hidden after a 70 kB comment (sheet)",
            "laughs after comment.xlsx",
            "quarantined",
            "malformed",
            who="",
        )(lambda: self.actions_xml(self.victim(), lambda x: laughs(x, comment=70_000)))
        case(
            "External entity hidden after a 70 kB comment (custom.xml)",
            "entity after comment.xlsx",
            "quarantined",
            "malformed",
            who="",
        )(lambda: rezip(self.victim(), {"docProps/custom.xml": lambda x: external_entity(x, comment=70_000)}))
        case(
            "External entity after a comment that looks like an element (custom.xml)",
            "entity after tag comment.xlsx",
            "quarantined",
            "file-unsafe",
            who="",
        )(lambda: rezip(self.victim(), {"docProps/custom.xml": lambda x: external_entity(x, tag_comment=True)}))

        # Structure
        @case("Both copies of the metadata deleted", "no metadata.xlsx", "quarantined", "no-metadata", who="")
        def _no_metadata() -> bytes:
            data = self.victim(lambda book: book.remove(book["_xlplan"]))
            return rezip(data, {"docProps/custom.xml": lambda x: re.sub(rb"<property .*</property>", b"", x)})

        nom = ACCEPTED_SPONSORS["no-manifest-sheet"]
        case(
            "The hidden metadata sheet deleted",
            "no manifest sheet.xlsx",
            "merged",
            "manifest-sheet-missing",
            who=nom,
            values=clean(nom),
        )(lambda: self.edited(nom, lambda book: book.remove(book["_xlplan"])))
        ren = ACCEPTED_SPONSORS["sheet-renamed"]

        def rename(book: Any) -> None:
            book["Actions"].title = "My progress"

        case(
            "The Actions sheet renamed",
            "sheet renamed.xlsx",
            "merged",
            "sheet-renamed",
            who=ren,
            values=clean(ren),
        )(lambda: self.edited(ren, rename))

        def delete_rag(book: Any) -> None:
            book["Actions"].delete_cols(11)  # K: RAG status

        case(
            "A column deleted (RAG status)",
            "column deleted.xlsx",
            "quarantined",
            "column-missing",
            cell="Actions!K4",
        )(lambda: self.victim(delete_rag))

        def header(book: Any) -> None:
            book["Actions"]["K4"] = "Status"

        case("Header text edited", "header edited.xlsx", "quarantined", "column-missing", cell="Actions!K4")(
            lambda: self.victim(header)
        )
        mov = ACCEPTED_SPONSORS["columns-moved"]

        def swap(book: Any) -> None:
            ws = book["Actions"]
            for row in range(4, FIRST_ROW + 2):
                ws[f"J{row}"].value, ws[f"N{row}"].value = ws[f"N{row}"].value, ws[f"J{row}"].value

        case("Columns reordered", "columns moved.xlsx", "merged", "columns-moved", who=mov, values=clean(mov))(
            lambda: self.edited(mov, swap)
        )
        ins = ACCEPTED_SPONSORS["column-inserted"]

        def insert(book: Any) -> None:
            ws = book["Actions"]
            ws.insert_cols(10)  # a new J before Progress
            ws["J4"] = "My notes"
            ws[f"J{r}"] = "Not part of the return"

        # The inserted column shifts Progress..Comments one to the right.
        case(
            "A column inserted, with text in it",
            "column inserted.xlsx",
            "merged",
            "columns-extra",
            cell=f"Actions!J{r}",
            who=ins,
            values=clean(ins),
        )(lambda: self.edited(ins, insert))

        def unprotect_and_edit(book: Any) -> None:
            ws = book["Actions"]
            ws.protection.sheet = False
            ws[f"C{r}"] = "A commitment the sponsor would rather have"

        case(
            "Protection removed and a locked cell edited",
            "locked edited.xlsx",
            "quarantined",
            "locked-changed",
            cell=f"Actions!C{r}",
        )(lambda: self.victim(unprotect_and_edit))

        def insert_row(book: Any) -> None:
            ws = book["Actions"]
            ws.insert_rows(r + 1)
            ws[f"J{r + 1}"] = f"{LEAK} an extra action of my own"

        case(
            "A row inserted with content",
            "row inserted.xlsx",
            "quarantined",
            "row-without-ref",
            cell=f"Actions!A{r + 1}",
        )(lambda: self.victim(insert_row))

        def delete_row(book: Any) -> None:
            book["Actions"].delete_rows(r + 1)

        case("A row deleted", "row deleted.xlsx", "quarantined", "missing-ref")(lambda: self.victim(delete_row))

        def duplicate_row(book: Any) -> None:
            ws = book["Actions"]
            for col in range(1, 15):
                source = ws.cell(r, col)
                ws.cell(r + 2, col).value = source.value
                if source.data_type == "s":
                    ws.cell(r + 2, col).data_type = "s"

        case("A row duplicated", "row duplicated.xlsx", "quarantined", "duplicate-ref", cell=f"Actions!A{r + 2}")(
            lambda: self.victim(duplicate_row)
        )

        def merge(book: Any) -> None:
            book["Actions"].merge_cells(f"J{r}:J{r + 1}")

        case(
            "Merged cells over an editable column",
            "merged cells.xlsx",
            "quarantined",
            "merged-cells",
            cell=f"Actions!J{r}",
        )(lambda: self.victim(merge))

        # Formulas
        @case(
            "Formulas whose stored value is an error (=1/0, DDE)",
            "formula errors.xlsx",
            "quarantined",
            "error-value",
            cell=f"Actions!L{r}",
        )
        def _formula_errors() -> bytes:
            def change(xml: bytes) -> bytes:
                xml = set_cell(xml, f"L{r}", b"<f>1/0</f><v>#DIV/0!</v>", t=b"e")
                return set_cell(xml, f"J{r + 1}", b"<f>cmd|' /C calc'!A0</f><v>#N/A</v>", t=b"e")

            return self.actions_xml(self.victim(), change)

        fx = ACCEPTED_SPONSORS["formula-values"]
        f1, _ = refs_of(fx)
        fx_values = clean(fx)
        fx_values[f1] = {**fx_values[f1], "progress": "click", "actual": 100}

        @case(
            "Formulas with stored values (external link, HYPERLINK)",
            "formula values.xlsx",
            "merged",
            "formula",
            cell=f"Actions!J{r}",
            who=fx,
            values=fx_values,
        )
        def _formula_values() -> bytes:
            def change(xml: bytes) -> bytes:
                xml = set_cell(xml, f"J{r}", b'<f>HYPERLINK("http://x.example/","click")</f><v>click</v>', t=b"str")
                return set_cell(xml, f"L{r}", b"<f>[1]Sheet1!A1</f><v>100</v>")

            return self.actions_xml(self.filled(fx), change)

        # Size
        case(
            "Content in cell XFD1048576", "far cell.xlsx", "quarantined", "too-large", cell="Actions!XFD1048576", who=""
        )(lambda: self.actions_xml(self.victim(), far_cell))
        blank = ACCEPTED_SPONSORS["blank-rows"]
        case("A million blank formatted rows", "million rows.xlsx", "merged", "", who=blank, values=clean(blank))(
            lambda: self.actions_xml(self.filled(blank), million_blank_rows)
        )
        wide = ACCEPTED_SPONSORS["wide"]
        case(
            "10,000 extra formatted columns",
            "wide.xlsx",
            "merged",
            "columns-extra",
            cell="Actions!NTR4",
            who=wide,
            values=clean(wide),
        )(lambda: self.actions_xml(self.filled(wide), wide_columns))

        @case("Text over 32,767 characters", "too long.xlsx", "quarantined", "too-long", cell=f"Actions!J{r}")
        def _too_long() -> bytes:
            return self.actions_xml(
                self.victim(), lambda x: set_cell(x, f"J{r}", inline(LEAK + "x" * 40_000), t=b"inlineStr")
            )

        uni = ACCEPTED_SPONSORS["unicode"]
        u1, u2 = refs_of(uni)
        uni_values = clean(uni)
        uni_values[u1] = {**uni_values[u1], "progress": "Bell and nul removed 🎉 وصلنا إلى الهدف"}
        uni_values[u2] = {**uni_values[u2], "comments": "שלום — עברית\tand a tab\r\nand a new line"}

        @case(
            "Control characters, emoji, right-to-left text",
            "unicode.xlsx",
            "merged",
            "control-characters",
            cell=f"Actions!J{r}",
            who=uni,
            values=uni_values,
        )
        def _unicode() -> bytes:
            def change(xml: bytes) -> bytes:
                # Excel stores control characters as _xHHHH_ escapes (an XML file cannot hold them raw)
                xml = set_cell(
                    xml, f"J{r}", inline("Bell_x0007_ and nul_x0000_ removed 🎉 وصلنا إلى الهدف"), t=b"inlineStr"
                )
                comments = uni_values[u2]["comments"].replace("\r", "_x000D_")
                return set_cell(xml, f"N{r + 1}", inline(comments), t=b"inlineStr")

            return self.actions_xml(self.filled(uni), change)

        dates = ACCEPTED_SPONSORS["text-dates"]
        d1, d2 = refs_of(dates)
        date_values = clean(dates)
        date_values[d1] = {**date_values[d1], "revised_due": date(2027, 3, 31)}
        date_values[d2] = {**date_values[d2], "revised_due": date(2026, 9, 30)}

        @case("Dates typed as text in several formats", "text dates.xlsx", "merged", "", who=dates, values=date_values)
        def _text_dates() -> bytes:
            typed = {
                d1: {**date_values[d1], "revised_due": "31 March 2027"},
                d2: {**date_values[d2], "revised_due": "2026-09-30"},
            }
            return self.filled(dates, typed)

        @case("Dates before 1900 and in US order", "old dates.xlsx", "quarantined", "bad-date", cell=f"Actions!M{r}")
        def _old_dates() -> bytes:
            values = self.leaky()
            values[v1] = {**values[v1], "revised_due": "03/31/2026"}
            values[v2] = {**values[v2], "revised_due": "15/06/1899"}
            return self.filled(VICTIM, values)

        # Identity
        case("A return for another plan", "other plan.xlsx", "quarantined", "wrong-plan")(self.other_plan)
        case("A return for another cycle", "other cycle.xlsx", "quarantined", "wrong-cycle")(self.other_cycle)
        old = ACCEPTED_SPONSORS["old-version"]
        case(
            "An older template version whose columns still map",
            "old version.xlsx",
            "merged",
            "template-version",
            who=old,
            values=clean(old),
        )(lambda: self.old_version(self.filled(old)))
        case(
            "An older template version whose columns do not map",
            "old version changed.xlsx",
            "quarantined",
            "column-missing",
            cell="Actions!K4",
        )(lambda: self.old_version(self.victim(header)))
        case("Two returns for one sponsor (1)", "twice a.xlsx", "conflict", "", who=TWICE)(
            lambda: self.filled(TWICE, clean(TWICE, "first"))
        )
        case("Two returns for one sponsor (2)", "twice b.xlsx", "conflict", "", who=TWICE)(
            lambda: self.filled(TWICE, clean(TWICE, "second"))
        )
        case("A good return", "a good return.xlsx", "merged", "", who=GOOD, values=clean(GOOD))(
            lambda: self.filled(GOOD)
        )
        case("The same file twice under two names", "the same file again.xlsx", "duplicate", "", who=GOOD)(
            lambda: (self.returns / "a good return.xlsx").read_bytes()
        )
        return out

    def baseline(self) -> Path:
        """The victim's earlier return, merged and the master rendered, before the bad files arrive."""
        from xlplan.collect import collect

        path = self.returns / BASELINE
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.filled(VICTIM))
        result = collect(self.plan, today=TODAY)
        assert [o.status for o in result.outcomes] == ["merged"], result.as_dict()
        return path

    def build(self, libreoffice: bool | None = None) -> list[Case]:
        """Write every case into returns/; the LibreOffice conversions run side by side."""
        if libreoffice is None:
            from libreoffice import soffice_path

            libreoffice = soffice_path() is not None
        cases = self.cases(libreoffice)
        self.returns.mkdir(parents=True, exist_ok=True)
        slow = [c for c in cases if c.needs_libreoffice]
        with ThreadPoolExecutor(max_workers=2) as pool:
            futures = {c: pool.submit(cases[c]) for c in slow}
            for c, build in cases.items():
                if c not in futures:
                    (self.returns / c.file).write_bytes(build() or b"")
            for c, future in futures.items():
                (self.returns / c.file).write_bytes(future.result() or b"")
        return list(cases)

    # -- builders that need more than a line ----------------------------------------------

    def converted(self, data: bytes, fmt: str) -> bytes:
        from libreoffice import convert

        src = self.work / f"to-{fmt}-{os.urandom(4).hex()}.xlsx"
        src.write_bytes(data)
        return convert(src, self.work / f"out-{fmt}", fmt).read_bytes()

    def victim_ods(self) -> bytes:
        """The victim's return with formulas, saved as .ods by LibreOffice (which computes them)."""
        with self._lock:
            if self._ods is None:

                def formulas(book: Any) -> None:
                    ws = book["Actions"]
                    ws[f"L{FIRST_ROW}"] = "=1/0"
                    ws[f"N{FIRST_ROW + 1}"] = '=HYPERLINK("http://x.example","click")'

                self._ods = self.converted(self.victim(formulas), "ods")
            return self._ods

    def with_macros(self, data: bytes) -> bytes:
        """An .xlsm: a VBA project part, its relationship and the macro-enabled content type."""
        vba = (
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
            + b'Attribute VB_Name = "Module1"\r\nSub Auto_Open()\r\nShell "calc"\r\nEnd Sub'
        )

        def types(xml: bytes) -> bytes:
            xml = xml.replace(b"spreadsheetml.sheet.main+xml", b"ms-excel.sheet.macroEnabled.main+xml")
            return xml.replace(
                b"</Types>",
                b'<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/></Types>',
            )

        def rels(xml: bytes) -> bytes:
            return xml.replace(
                b"</Relationships>",
                b'<Relationship Id="rIdVba" Type="http://schemas.microsoft.com/office/2006/relationships/vbaProject" '
                b'Target="vbaProject.bin"/></Relationships>',
            )

        return rezip(
            data,
            {"[Content_Types].xml": types, "xl/_rels/workbook.xml.rels": rels},
            add={"xl/vbaProject.bin": vba},
        )

    def zip_bomb(self) -> bytes:
        """A real return whose Actions sheet is padded with 1 GB of spaces: about 1 MB on disk.

        Compressing a gigabyte takes seconds, so the repeated 8 MB block is compressed
        once: after a full flush deflate starts afresh, so every copy compresses to the
        same bytes. The zip (sizes, CRC) is exactly what a compressor would have written.
        """
        data = self.victim()
        part = sheet_part(data, "Actions")
        head, tail = zipfile.ZipFile(io.BytesIO(data)).read(part).split(b"</sheetData>")
        chunk = b" " * (8 << 20)
        squeeze = zlib.compressobj(9, zlib.DEFLATED, -15)
        packed = {id(head): squeeze.compress(head) + squeeze.flush(zlib.Z_FULL_FLUSH)}
        block = squeeze.compress(chunk) + squeeze.flush(zlib.Z_FULL_FLUSH)
        assert squeeze.compress(chunk) + squeeze.flush(zlib.Z_FULL_FLUSH) == block
        end = b"</sheetData>" + tail
        packed[id(chunk)] = block
        packed[id(end)] = squeeze.compress(end) + squeeze.flush()

        class Replay:
            def compress(self, piece: bytes) -> bytes:
                return packed[id(piece)]

            def flush(self) -> bytes:
                return b""

        out = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
            for info in zin.infolist():
                if info.filename != part:
                    zout.writestr(info.filename, zin.read(info.filename))
                    continue
                with zout.open(part, "w", force_zip64=True) as sink:
                    sink._compressor = Replay()  # type: ignore[attr-defined]
                    sink.write(head)
                    for _ in range(BOMB_CHUNKS):
                        sink.write(chunk)
                    sink.write(end)
        return out.getvalue()

    def lying_sizes(self) -> bytes:
        """The Actions part declares 1 kB but inflates to 50 MB (a bomb that lies about its size)."""
        data = self.victim()
        part = sheet_part(data, "Actions")
        padded = rezip(data, {part: lambda x: x.replace(b"</sheetData>", b" " * (50 << 20) + b"</sheetData>")}, level=9)
        blob = bytearray(padded)
        with zipfile.ZipFile(io.BytesIO(padded)) as z:
            info = z.getinfo(part)
        struct.pack_into("<I", blob, info.header_offset + 22, 1024)  # the local header's size
        pos = padded.find(b"PK\x01\x02")
        while pos >= 0:  # and the central directory's
            length = struct.unpack_from("<H", blob, pos + 28)[0]
            if blob[pos + 46 : pos + 46 + length].decode() == part:
                struct.pack_into("<I", blob, pos + 24, 1024)
                break
            pos = padded.find(b"PK\x01\x02", pos + 4)
        return bytes(blob)

    def other_plan(self) -> bytes:
        root = self.work / "other-plan"
        if not root.exists():
            folder = make_plan_folder(
                root,
                actions=actions(),
                sponsors=[person(s) for s in SPONSORS],
                settings={**SETTINGS, "plan_id": "another-plan"},
            )
            generate(load_plan(folder), CYCLE, spg_date=SPG, deadline=None)
        src = PlanFolder(root).outgoing_dir(CYCLE) / f"{CYCLE} return - {VICTIM}.xlsx"
        return self.filled(VICTIM, self.leaky(), src=src)

    def other_cycle(self) -> bytes:
        root = self.work / "other-cycle"
        if not root.exists():
            shutil.copytree(self.root, root)
            generate(load_plan(PlanFolder(root)), "2025-Q4", spg_date=date(2026, 1, 15), deadline=None)
        src = PlanFolder(root).outgoing_dir("2025-Q4") / f"2025-Q4 return - {VICTIM}.xlsx"
        return self.filled(VICTIM, self.leaky(), src=src)

    def old_version(self, data: bytes) -> bytes:
        """The same workbook as made by the previous template version (both copies of the manifest say so)."""
        older = str(self.template.version - 1)
        book = openpyxl.load_workbook(io.BytesIO(data))
        for row in book["_xlplan"].iter_rows(max_col=2):
            if row[0].value == "template_version":
                row[1].value = older
        book.custom_doc_props["xlplan_template_version"].value = older
        out = io.BytesIO()
        book.save(out)
        return out.getvalue()


BOMB_CHUNKS = 128  # x 8 MB of spaces = 1 GB uncompressed, ~1 MB compressed


def laughs(xml: bytes, comment: int = 0) -> bytes:
    """Billion laughs: ten nested entities, each ten of the last, used in a cell."""
    entities = b'<!ENTITY lol0 "lol">' + b"".join(
        b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1)) * 10) for i in range(1, 10)
    )
    declaration = b"<!DOCTYPE worksheet [" + entities + b"]>"
    pad = b"<!--" + b"x" * comment + b"-->" if comment else b""
    prolog, body = split_prolog(xml)
    cell = b'<row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row>'
    body = re.sub(rb'<row r="1"[^>]*>.*?</row>', cell, body, count=1, flags=re.S)
    return prolog + pad + declaration + body


def external_entity(xml: bytes, comment: int = 0, tag_comment: bool = False) -> bytes:
    """An external entity (XXE) reading a local file into a custom property."""
    declaration = b'<!DOCTYPE Properties [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    pad = b"<!--" + b"x" * comment + b"-->" if comment else b""
    pad += b"<!-- <Properties> is not the root yet -->" if tag_comment else b""
    prolog, body = split_prolog(xml)
    body = body.replace(b"<vt:lpwstr>test-plan</vt:lpwstr>", b"<vt:lpwstr>&xxe;</vt:lpwstr>", 1)
    return prolog + pad + declaration + body


def split_prolog(xml: bytes) -> tuple[bytes, bytes]:
    """(the XML declaration, if any; the rest)."""
    if xml.startswith(b"<?xml"):
        end = xml.index(b"?>") + 2
        return xml[:end], xml[end:]
    return b"", xml


# A million rows of 16,000 cells holding "x": one element in OpenDocument, 16 billion cells once expanded.
FAR_ODS_ROWS = (
    b'<table:table-row table:number-rows-repeated="1048000"><table:table-cell table:number-columns-repeated="16000" '
    b'office:value-type="string" calcext:value-type="string"><text:p>x</text:p></table:table-cell></table:table-row>'
)


def ods_after_row(data: bytes, text: bytes, rows: bytes) -> bytes:
    """An .ods with `rows` inserted after the table row holding `text`."""

    def change(xml: bytes) -> bytes:
        end = xml.index(b"</table:table-row>", xml.index(text)) + len(b"</table:table-row>")
        return xml[:end] + rows + xml[end:]

    return rezip(data, {"content.xml": change})


def far_cell(xml: bytes) -> bytes:
    return xml.replace(
        b"</sheetData>",
        b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row></sheetData>',
    )


def million_blank_rows(xml: bytes) -> bytes:
    """A million rows formatted (a fill colour) below the table, with nothing in them."""
    last = max(int(n) for n in re.findall(rb'<row r="(\d+)"', xml))
    rows = b"".join(
        b'<row r="%d" s="1" customFormat="1"><c r="J%d" s="1"/><c r="K%d" s="1"/></row>' % (n, n, n)
        for n in range(last + 1, last + 1_000_001)
    )
    return xml.replace(b"</sheetData>", rows + b"</sheetData>")


def wide_columns(xml: bytes) -> bytes:
    """10,000 formatted blank columns right of the table, and a header typed in the last one."""
    from xlsxwriter.utility import xl_col_to_name

    def widen(match: re.Match[bytes]) -> bytes:
        row = int(match.group(1))
        cells = b"".join(b'<c r="%s%d" s="1"/>' % (xl_col_to_name(c).encode(), row) for c in range(14, 10_014))
        if row == 4:
            cells = cells.replace(b'<c r="NTR4" s="1"/>', b'<c r="NTR4" t="inlineStr"><is><t>Extra</t></is></c>')
        return match.group(0)[: -len(b"</row>")] + cells + b"</row>"

    xml = re.sub(rb'<row r="(\d+)"[^>]*>.*?</row>', widen, xml, flags=re.S)
    return xml.replace(b"</cols>", b'<col min="15" max="10014" width="9" style="1" customWidth="1"/></cols>')


def build_corpus(root: Path, libreoffice: bool | None = None) -> tuple[Corpus, list[Case]]:
    """A plan folder at `root`, the victim's return merged, and every bad return in returns/."""
    corpus = Corpus(root)
    corpus.baseline()
    return corpus, corpus.build(libreoffice)


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "xlplan-corpus").resolve()
    if target.exists():
        sys.exit(f"{target} exists: give a new folder")
    started = datetime.now()
    _, built = build_corpus(target)
    print(f"Built {len(built)} returns in {target / 'returns'} in {(datetime.now() - started).total_seconds():.1f}s")
