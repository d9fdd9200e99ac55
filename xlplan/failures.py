"""What went wrong, in words for the planning officer: never a Python traceback.

A full disk, a read-only or forbidden folder, a file held open by another program, a path
too long for Windows, a network drive gone, an interrupted run: each becomes one of the
program's own errors naming the file and what to do. Anything else is a fault in xlplan:
`crash_log` writes its full traceback to a log file in the plan folder, for whoever
supports xlplan, and the officer is told where it is. `xlplan.cli` prints them.
"""

from __future__ import annotations

import errno
import os
import platform
import sqlite3
import sys
import tempfile
import traceback
from datetime import datetime
from pathlib import Path

from xlplan import __version__
from xlplan.errors import DiskFullError, LedgerLostError, ReadOnlyError, StorageError, XlplanError

WINDOWS_MAX_PATH = 260
LOGS_DIR = "logs"
INTERRUPTED_EXIT = 130  # the shell's code for a run stopped with Ctrl+C

_SHARING_VIOLATIONS = {32, 33}  # ERROR_SHARING_VIOLATION, ERROR_LOCK_VIOLATION: open in another program
_PATH_TOO_LONG = {206}  # ERROR_FILENAME_EXCED_RANGE
_NETWORK = {
    errno.ETIMEDOUT, errno.EHOSTDOWN, errno.EHOSTUNREACH, errno.ENETDOWN, errno.ENETUNREACH,
    errno.ECONNRESET, errno.ECONNABORTED, errno.ESTALE,
}  # fmt: skip
_WINDOWS_NETWORK = {53, 59, 64, 67, 1231}  # path not found on the network, unexpected network error, ...


def plain_os_error(exc: OSError, path: Path | str | None = None, *, windows: bool | None = None) -> XlplanError:
    """An OSError as the program's own error, naming `path` (default: the file the error names)."""
    on_windows = os.name == "nt" if windows is None else windows
    name = str(path if path is not None else (exc.filename or "a file"))
    winerror = getattr(exc, "winerror", None)
    code = exc.errno
    reason = exc.strerror or str(exc)
    if code in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        return DiskFullError(
            f"The disk is full: cannot write {name}. Nothing half-written was left: free some space on that "
            "drive and run the command again."
        )
    if code == errno.ENAMETOOLONG or winerror in _PATH_TOO_LONG or (on_windows and len(name) >= WINDOWS_MAX_PATH):
        return StorageError(
            f"The path is too long ({len(name)} characters; Windows allows {WINDOWS_MAX_PATH - 1} unless long paths "
            f"are switched on): {name}. Move the plan folder nearer the top of the drive (e.g. C:\\Plans\\...), "
            "or map a drive letter to the folder above it, and run the command again."
        )
    if code == errno.EROFS:
        return ReadOnlyError(
            f"Cannot write {name}: the drive is read-only. Ask for write access (or copy the plan folder "
            "somewhere you can write) and run the command again."
        )
    if winerror in _SHARING_VIOLATIONS:
        return StorageError(
            f"{name} is open in another program (Excel? a sync or backup program?): close it and run the command again."
        )
    if isinstance(exc, PermissionError) or code in (errno.EACCES, errno.EPERM):
        return StorageError(
            f"Permission denied: {name} ({reason}). It may be open in another program (Excel?), or you may "
            "not be allowed to change it: close it, or ask for write access to the plan folder, and run "
            "the command again."
        )
    if code in _NETWORK or winerror in _WINDOWS_NETWORK:
        return StorageError(
            f"The drive holding {name} stopped answering ({reason}): check the network connection and run "
            "the command again."
        )
    if code == errno.EIO:
        return StorageError(
            f"Cannot read or write {name}: input/output error (a network drive that disconnected, or a "
            "failing disk?). Check the drive and run the command again; `xlplan check` says whether the "
            "plan folder is sound."
        )
    return StorageError(f"Cannot read or write {name}: {reason}.")


def environmental(exc: OSError) -> bool:
    """Whether the error is the drive's doing (full, read-only, not allowed, held, too long, gone), not a
    file in the wrong place: those are said in words wherever they happen."""
    codes = {errno.ENOSPC, getattr(errno, "EDQUOT", -1), errno.EROFS, errno.EACCES, errno.EPERM, errno.ENAMETOOLONG}
    winerror = getattr(exc, "winerror", None)
    return (
        exc.errno in codes | _NETWORK | {errno.EIO}
        or winerror in _SHARING_VIOLATIONS | _PATH_TOO_LONG | _WINDOWS_NETWORK
        or isinstance(exc, PermissionError)
    )


def explain(exc: BaseException, ledger_file: Path | None = None) -> XlplanError | None:
    """An environmental failure as the program's own error; None for a fault in xlplan."""
    if isinstance(exc, XlplanError):
        return exc
    if isinstance(exc, OSError) and exc.errno is not None:
        return plain_os_error(exc)
    if isinstance(exc, sqlite3.Error):
        from xlplan.ledger import plain_ledger_error

        return plain_ledger_error(exc, ledger_file or Path("ledger.sqlite"))
    if isinstance(exc, MemoryError):
        return StorageError(
            "The computer ran out of memory. Close other programs and run the command again "
            "(with --jobs 1 to use a single process)."
        )
    return None


def with_restore_hint(exc: XlplanError, hint: str) -> XlplanError:
    """A damaged ledger's message, with where to turn (the newest backup), unless it says so already."""
    if isinstance(exc, LedgerLostError) and "xlplan backups restore" not in str(exc) and "backup" not in str(exc):
        return LedgerLostError(f"{exc} {hint}")
    return exc


INTERRUPTED = (
    "Interrupted. Nothing half-written was left: the ledger, the archive and the master tracker are each as "
    "they were or complete. Run the command again to finish."
)


def crash_log(exc: BaseException, root: Path | None, argv: list[str] | None = None) -> Path:
    """Write `exc`'s full traceback to a new log file (in the plan folder's logs/, else the
    temporary folder) and return its path."""
    stamp = datetime.now()
    text = "".join(
        [
            f"xlplan {__version__} stopped on an unexpected error at {stamp.isoformat(timespec='seconds')}\n",
            f"command: {' '.join(argv if argv is not None else sys.argv)}\n",
            f"python {platform.python_version()} on {platform.platform()}; sqlite {sqlite3.sqlite_version}\n",
            f"plan folder: {root}\n\n",
            *traceback.format_exception(exc),
        ]
    )
    name = f"xlplan-error-{stamp:%Y-%m-%d-%H%M%S}-{os.getpid()}.log"
    for folder in ([root / LOGS_DIR] if root is not None else []) + [Path(tempfile.gettempdir())]:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / name
            path.write_text(text, encoding="utf-8")
            return path
        except OSError:
            continue
    return Path(tempfile.gettempdir()) / name  # nowhere writable: named all the same


def unexpected_message(exc: BaseException, log: Path) -> str:
    summary = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if len(summary) > 200:
        summary = summary[:197] + "..."
    return (
        f"xlplan stopped on something unexpected ({summary}). The details are in {log}: please send that "
        "file to whoever supports xlplan. Nothing half-written was left; run `xlplan check` to see that the "
        "plan folder is sound."
    )
