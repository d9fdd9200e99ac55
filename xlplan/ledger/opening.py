"""Opening the ledger's file: its schema version, a journal left by a killed run, a
read-only URI, and SQLite's errors said plainly."""

from __future__ import annotations

import os
import re
import sqlite3
from pathlib import Path
from urllib.parse import quote

from xlplan import __version__
from xlplan.errors import (
    BusyError,
    DiskFullError,
    LedgerLostError,
    LedgerVersionError,
    ReadOnlyError,
    StorageError,
    XlplanError,
)
from xlplan.ledger.schema import _AUDIT, _ENTRIES, _ISSUED_PLANS, _PLAN, _REMOVED, _SCHEMA, SCHEMA_VERSION

_TABLES = frozenset(
    re.findall(r"CREATE TABLE IF NOT EXISTS (\w+)", _SCHEMA + _ENTRIES + _AUDIT + _REMOVED + _PLAN + _ISSUED_PLANS)
)


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


def schema_of(db: sqlite3.Connection) -> int | None:
    """The schema version of an open ledger: None for a new, empty file; 1 for one from before versions."""
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not tables:
        return None
    if "meta" not in tables:
        return 1
    row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    try:
        return 1 if row is None else int(row[0])
    except ValueError:
        return 1


def _missing_tables(db: sqlite3.Connection) -> bool:
    """Whether a table of this schema is missing (a ledger that says it is current but is not quite)."""
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    return not tables >= _TABLES


def _refuse_newer(db: sqlite3.Connection, version: int | None, path: Path) -> None:
    if version is None or version <= SCHEMA_VERSION:
        return
    row = db.execute("SELECT value FROM meta WHERE key = 'xlplan_version'").fetchone()
    writer = f"xlplan {row[0]}" if row else "a newer xlplan"
    raise LedgerVersionError(
        f"The ledger {path} was written by {writer} (ledger schema {version}); this is xlplan {__version__}, "
        f"which knows ledger schemas up to {SCHEMA_VERSION}. Upgrade xlplan on this PC "
        "(pip install --upgrade xlplan) and run the command again. Nothing was changed."
    )


def _says_wal(path: Path) -> bool:
    """Whether the file's header says WAL (bytes 18 and 19 are 2): a ledger of an earlier xlplan."""
    try:
        with open(path, "rb") as fh:
            header = fh.read(20)
    except OSError:
        return False
    return len(header) == 20 and header[18] == 2


def sqlite_uri(path: str, *, immutable: bool = False, windows: bool | None = None) -> str:
    """A read-only SQLite URI for `path` (file:...?mode=ro), on Windows too: a drive letter
    (file:///C:/...), a UNC path (file:////server/share/...: the authority must be empty),
    and any ?, # or % in the names escaped."""
    on_windows = os.name == "nt" if windows is None else windows
    text = path.replace("\\", "/") if on_windows else path
    if on_windows and re.match(r"[A-Za-z]:", text):
        text = "///" + text
    elif text.startswith("//"):
        text = "//" + text
    query = "mode=ro" + ("&immutable=1" if immutable else "")
    return f"file:{quote(text, safe='/:')}?{query}"


def plain_ledger_error(exc: sqlite3.Error, path: Path) -> XlplanError | None:
    """What SQLite's error means for the officer, naming the file; None for a program error."""
    text = str(exc).lower()
    code = getattr(exc, "sqlite_errorname", "") or ""
    if "database or disk is full" in text or code == "SQLITE_FULL":
        return DiskFullError(
            f"The disk is full: cannot write {path}. The ledger is as it was before the command. "
            "Free some space on that drive and run the command again."
        )
    if "readonly database" in text or code.startswith("SQLITE_READONLY"):
        return ReadOnlyError(
            f"Cannot write the ledger {path}: the plan folder or the ledger is read-only. Ask for write access "
            "to the folder (or copy it somewhere you can write) and run the command again. Commands that only "
            "read (status, report, export, cycles, check, collect --dry-run) work as it is."
        )
    if "database is locked" in text or "database table is locked" in text or code.startswith("SQLITE_BUSY"):
        return BusyError(
            f"The ledger {path} is locked by another program (another xlplan, a backup or a sync program): "
            "wait a moment and run the command again."
        )
    if "disk i/o error" in text or code.startswith("SQLITE_IOERR"):
        return StorageError(
            f"Cannot read or write the ledger {path}: disk I/O error (a network drive that disconnected, "
            "or a full disk?). Check the drive and run the command again; `xlplan check` says whether "
            "the ledger is sound."
        )
    if "unable to open database file" in text or code.startswith("SQLITE_CANTOPEN"):
        return StorageError(
            f"Cannot open the ledger {path}: its folder is missing, not allowed to you, or on a drive that "
            "is not connected."
        )
    if "disk image is malformed" in text or "not a database" in text or code in ("SQLITE_CORRUPT", "SQLITE_NOTADB"):
        return LedgerLostError(f"The ledger {path} is damaged (SQLite: {exc}).")
    return None
