"""How a command gets at the ledger: read-only to read; to write, one writer at a time, a
backup first, and never a new history in place of a lost one.

A command that only reads opens the ledger read-only (`reading`). A command that writes
runs inside `writing(folder, command)`, which, before anything is written:

1. takes the plan folder's lock (`xlplan.lock`), so a second run stops with who holds it,
   and a read-only folder is found out before anything starts;
2. says once where the folder lives (a network drive, a synced folder) and what is safe;
3. refuses to go on when the ledger is missing, empty or unreadable in a folder with
   history (an archive, a master tracker, cycles sent out, backups), pointing to the newest
   backup: a new, empty ledger there would start the plan's history again and overwrite the
   master tracker from nothing;
4. refuses a ledger written by a newer xlplan, naming both versions;
5. backs the ledger up (backups/), so that an older ledger is migrated only after a backup.

`writing` is re-entrant: `xlplan.cli` enters it for a write command (so its notes are printed),
and the library functions enter it again (so a library caller is protected too).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from xlplan import backups, lock, storage
from xlplan.errors import LedgerLostError
from xlplan.ledger import Ledger
from xlplan.plan_folder import PlanFolder

Notify = Callable[[str], None]


def _ignore(_text: str) -> None:
    pass


def history(folder: PlanFolder) -> list[str]:
    """What in the folder shows the plan has a history the ledger should hold (empty for a new plan)."""
    found = []
    if folder.master_file.is_file():
        found.append(folder.master_file.name)
    archived = _count_files(folder.archive_dir)
    if archived:
        found.append(f"{archived} return(s) in {folder.archive_dir.name}/")
    outgoing = folder.root / "outgoing"
    cycles = sorted(p.name for p in _dirs(outgoing) if any(_files(p)))
    if cycles:
        found.append(f"cycle(s) {', '.join(cycles)} in outgoing/")
    if backups.list_backups(folder):
        found.append(f"backups in {backups.BACKUPS_DIR}/")
    return found


def _dirs(path: Path) -> list[Path]:
    try:
        return [p for p in path.iterdir() if p.is_dir()]
    except OSError:
        return []


def _files(path: Path) -> list[Path]:
    try:
        return [p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")]
    except OSError:
        return []


def _count_files(path: Path) -> int:
    try:
        return sum(1 for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
    except OSError:
        return 0


def ledger_state(folder: PlanFolder) -> str:
    """'present', 'missing' or 'empty' (0 bytes)."""
    path = folder.ledger_file
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return "missing"
    return "present" if size > 0 else "empty"


def refuse_lost(folder: PlanFolder) -> None:
    """Stop when the ledger is missing or empty in a folder with history (see the module's docstring)."""
    state = ledger_state(folder)
    if state == "present":
        return
    found = history(folder)
    if not found:
        return
    raise LedgerLostError(
        f"The ledger {folder.ledger_file} is {state}, but this plan folder has a history ({'; '.join(found)}). "
        "xlplan will not start the plan's history again, nor rebuild the master tracker from nothing. "
        + backups.restore_hint(folder)
    )


def reading(folder: PlanFolder) -> Ledger:
    """The ledger, opened read-only (an empty one in memory for a new plan). Use as a context manager."""
    if ledger_state(folder) != "present":
        refuse_lost(folder)
        return Ledger(Path(":memory:"))
    try:
        return Ledger(folder.ledger_file, readonly=True)
    except LedgerLostError as exc:
        raise LedgerLostError(f"{exc} {backups.restore_hint(folder)}") from exc


@contextmanager
def writing(
    folder: PlanFolder,
    command: str,
    notify: Notify | None = None,
    *,
    backup: bool = True,
    guard: bool = True,
) -> Iterator[None]:
    """Hold the plan folder for a write command while the block runs (see the module's docstring).

    `notify` is told, once, what the officer should know (where the folder lives, a stale lock
    cleared). `restore` passes backup=False and guard=False: it is the cure for a lost ledger.
    """
    say = notify or _ignore
    with lock.locked(folder.root, command) as taken:
        if taken is None:  # this process holds it already: the outer command did all this
            yield
            return
        stale = taken.note()
        if stale:
            say(stale)
        note = storage.note_once(folder.root, storage.locate(folder.root), folder.cache_file.parent / "location.json")
        if note:
            say(note)
        if guard:
            refuse_lost(folder)
        if backup and ledger_state(folder) == "present":
            try:
                backups.take(folder, command.replace(" ", "-"))
            except LedgerLostError as exc:
                raise LedgerLostError(f"{exc} {backups.restore_hint(folder)}") from exc
        yield


def for_writing(folder: PlanFolder) -> Ledger:
    """The ledger opened to write (created, or migrated after the backup `writing` took).
    Only inside `writing`."""
    assert lock.holds(folder.root), "open the ledger to write only inside access.writing()"
    try:
        return Ledger(folder.ledger_file)
    except LedgerLostError as exc:
        raise LedgerLostError(f"{exc} {backups.restore_hint(folder)}") from exc
