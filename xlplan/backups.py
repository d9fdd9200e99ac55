"""Backups of the ledger, in the plan folder's backups/ folder: taken, listed, kept, restored.

Before every command that writes the ledger, a consistent snapshot is taken with SQLite's
backup API (never a file copy, which could catch a transaction half-way; pitfalls item 22).
The last `KEEP_RECENT` are kept, and the newest of every cycle, so that a plan keeps one
backup per quarter for its whole life. A backup is an ordinary ledger file, named for when
it was taken, by which command, and the plan's current cycle then::

    backups/ledger_2025-10-14_104205_collect_2025-Q3.sqlite

Restoring one first backs up the ledger it replaces (or, when that cannot be read, keeps its
bytes as they are), and never leaves a journal of the old ledger beside the restored one.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from xlplan.errors import DiskFullError, LedgerError, LedgerLostError, LedgerVersionError, UsageError, XlplanError
from xlplan.files import fsync_file, plain_os_error
from xlplan.ledger import Ledger
from xlplan.plan_folder import PlanFolder

BACKUPS_DIR = "backups"
KEEP_RECENT = 10
SIDECARS = ("-journal", "-wal", "-shm")
_NAME = re.compile(
    r"^ledger_(?P<day>\d{4}-\d{2}-\d{2})_(?P<time>\d{6})(?:-(?P<n>\d+))?_(?P<command>[a-z-]+)"
    r"(?:_(?P<cycle>[0-9A-Za-z-]+))?\.sqlite$"
)


@dataclass(frozen=True)
class Backup:
    path: Path
    taken_at: datetime
    command: str  # the command it was taken before ("collect"), or "damaged" for a ledger kept as it was
    cycle: str | None  # the plan's current cycle when it was taken

    @property
    def name(self) -> str:
        return self.path.name

    def size(self) -> int:
        try:
            return self.path.stat().st_size
        except OSError:
            return 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": str(self.path),
            "taken_at": self.taken_at.isoformat(timespec="seconds"),
            "command": self.command,
            "cycle": self.cycle,
            "bytes": self.size(),
        }


def backups_dir(folder: PlanFolder) -> Path:
    return folder.root / BACKUPS_DIR


def parse_name(path: Path) -> Backup | None:
    found = _NAME.match(path.name)
    if not found:
        return None
    try:
        taken = datetime.strptime(f"{found['day']} {found['time']}", "%Y-%m-%d %H%M%S")
    except ValueError:
        return None
    return Backup(path, taken, found["command"], found["cycle"])


def list_backups(folder: PlanFolder) -> list[Backup]:
    """Every backup in backups/, newest first."""
    where = backups_dir(folder)
    try:
        found = [b for p in where.iterdir() if p.is_file() and (b := parse_name(p)) is not None]
    except OSError:
        return []
    return sorted(found, key=lambda b: (b.taken_at, _sequence(b.name)), reverse=True)


def _sequence(name: str) -> int:
    found = _NAME.match(name)
    return int(found["n"]) if found and found["n"] else 1


def newest(folder: PlanFolder) -> Backup | None:
    return next((b for b in list_backups(folder) if b.command != "damaged"), None)


def restore_hint(folder: PlanFolder) -> str:
    """Where to turn when the ledger is lost: the newest backup and the command that restores it."""
    latest = newest(folder)
    if latest is None:
        return (
            f"There is no backup in {backups_dir(folder)}: restore ledger.sqlite from a copy of your own "
            "(OneDrive or SharePoint version history, the network drive's previous versions), then run `xlplan check`."
        )
    return (
        f"The newest backup is {latest.name} (taken {latest.taken_at:%d/%m/%Y %H:%M} before `xlplan {latest.command}`): "
        f"restore it with `xlplan backups restore {latest.name}`, then run `xlplan check`."
    )


def take(folder: PlanFolder, command: str, *, ledger_path: Path | None = None) -> Backup | None:
    """Back up the ledger before `command` writes it (None when there is no ledger yet).

    The snapshot is written beside its final name and renamed into place, so backups/
    never holds half a backup; a full disk stops the command before anything changed.
    """
    source = ledger_path or folder.ledger_file
    if not source.is_file() or source.stat().st_size == 0:
        return None
    with Ledger(source, readonly=True) as ledger:
        cycle = ledger.latest_cycle()
        target = _new_name(folder, command, cycle)
        _write_snapshot(ledger, target)
    prune(folder)
    return parse_name(target)


def _write_snapshot(ledger: Ledger, target: Path) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=".backup-", suffix=".sqlite", dir=target.parent)
        os.close(fd)
    except OSError as exc:
        raise _backup_error(exc, target) from exc
    tmp = Path(tmp_name)
    try:
        tmp.unlink()  # the backup API writes a database of its own there
        ledger.snapshot(tmp)
        fsync_file(tmp)
        os.replace(tmp, target)
    except OSError as exc:
        raise _backup_error(exc, target) from exc
    except DiskFullError as exc:
        raise DiskFullError(
            f"{_NOT_BACKED_UP} The disk is full: cannot write {target}. Free some space on that drive and run "
            "the command again."
        ) from exc
    except XlplanError as exc:
        raise type(exc)(f"{_NOT_BACKED_UP} {exc}") from exc
    finally:
        for leftover in (tmp, *(tmp.with_name(tmp.name + s) for s in SIDECARS)):
            with contextlib.suppress(OSError):
                leftover.unlink()


_NOT_BACKED_UP = "Could not back up the ledger before changing it, so nothing was changed."


def _backup_error(exc: OSError, target: Path) -> XlplanError:
    plain = plain_os_error(exc, target)
    return type(plain)(f"{_NOT_BACKED_UP} {plain}")


def _new_name(folder: PlanFolder, command: str, cycle: str | None) -> Path:
    stamp = datetime.now().strftime("%Y-%m-%d_%H%M%S")
    tail = f"_{command}" + (f"_{cycle}" if cycle else "") + ".sqlite"
    where = backups_dir(folder)
    # Several in one second (a command inside a command, a quick re-run) are numbered, so they list in order.
    taken = list(where.glob(f"ledger_{stamp}_*")) + list(where.glob(f"ledger_{stamp}-*_*"))
    return where / (f"ledger_{stamp}{tail}" if not taken else f"ledger_{stamp}-{len(taken) + 1}{tail}")


def prune(folder: PlanFolder, keep: int = KEEP_RECENT) -> list[Path]:
    """Delete backups beyond the newest `keep`, except the newest of each cycle and damaged ledgers kept."""
    found = list_backups(folder)
    snapshots = [b for b in found if b.command != "damaged"]  # a damaged ledger kept is never deleted here
    kept = {b.path for b in snapshots[:keep]} | {b.path for b in found if b.command == "damaged"}
    per_cycle: dict[str | None, Path] = {}
    for backup in snapshots:  # newest first: the first seen of a cycle is its newest
        per_cycle.setdefault(backup.cycle, backup.path)
    kept |= set(per_cycle.values())
    removed = []
    for backup in found:
        if backup.path not in kept:
            with contextlib.suppress(OSError):
                backup.path.unlink()
                removed.append(backup.path)
    return removed


@dataclass(frozen=True)
class Restored:
    restored: Backup | Path  # the backup restored (or the file given)
    previous: Backup | None  # the ledger it replaced, backed up first (None when there was none)
    cycles: list[str]


def find(folder: PlanFolder, name: str) -> Path:
    """The backup called `name` in backups/, or a ledger file given by its path."""
    candidate = backups_dir(folder) / name
    if parse_name(candidate) is not None and candidate.is_file():
        return candidate
    given = Path(name)
    if given.is_file() and given.suffix.lower() in (".sqlite", ".db"):
        return given.resolve()
    known = [b.name for b in list_backups(folder)[:5]]
    listing = f" The newest are: {', '.join(known)} (`xlplan backups` lists them all)." if known else ""
    raise UsageError(f"No backup called {name} in {backups_dir(folder)}.{listing}")


def restore(folder: PlanFolder, name: str) -> Restored:
    """Make the backup `name` the plan's ledger, backing up the current ledger first.

    The caller holds the plan folder's lock. The backup is checked first (readable, sound,
    not from a newer xlplan); the master tracker is marked as not showing it, so the next
    collect renders it again.
    """
    source = find(folder, name)
    try:
        with Ledger(source, readonly=True) as candidate:
            problems = [p for p in candidate.integrity() if p != "ok"]
            cycles = candidate.cycles()
    except LedgerLostError as exc:
        raise LedgerError(
            f"The backup {source} cannot be read ({exc}): choose another one (`xlplan backups`)."
        ) from exc
    if problems:
        raise LedgerError(f"The backup {source} is damaged ({problems[0]}): choose another one (`xlplan backups`).")
    previous = _keep_current(folder)
    target = folder.ledger_file
    fd, tmp_name = tempfile.mkstemp(prefix=".ledger-restore-", suffix=".sqlite", dir=folder.root)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        tmp.unlink()
        with Ledger(source, readonly=True) as candidate:
            candidate.snapshot(tmp)
        with Ledger(tmp) as restored:  # migrated here when it came from an earlier xlplan
            restored.forget_master_render()
        fsync_file(tmp)
        # A journal left beside the old ledger would be "rolled back" into the restored one and
        # damage it: remove them first (the old ledger is backed up already).
        for suffix in SIDECARS:
            with contextlib.suppress(FileNotFoundError):
                target.with_name(target.name + suffix).unlink()
        os.replace(tmp, target)
    except OSError as exc:
        raise plain_os_error(exc, target) from exc
    finally:
        for leftover in (tmp, *(tmp.with_name(tmp.name + s) for s in SIDECARS)):
            with contextlib.suppress(OSError):
                leftover.unlink()
    return Restored(parse_name(source) or source, previous, cycles)


def _keep_current(folder: PlanFolder) -> Backup | None:
    """Back up the ledger about to be replaced; when it cannot be read, keep its bytes as they are."""
    current = folder.ledger_file
    if not current.is_file() or current.stat().st_size == 0:
        return None
    try:
        return take(folder, "restore")
    except (LedgerLostError, LedgerVersionError):
        pass  # unreadable, or from a newer xlplan: its bytes are kept as they are
    target = _new_name(folder, "damaged", None)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(current, target)
        for suffix in SIDECARS:
            side = current.with_name(current.name + suffix)
            if side.is_file():
                shutil.copyfile(side, target.with_name(target.name + suffix))
    except OSError as exc:
        raise _backup_error(exc, target) from exc
    return parse_name(target)
