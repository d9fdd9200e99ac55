"""`xlplan check`: is the plan folder sound? The ledger's integrity and version, whether the
ledger, the archive and the master tracker agree, where the folder lives, the backups.

Read-only: it opens the ledger read-only and changes nothing, so it can be run on a
read-only folder, on a copy, or while wondering whether a sync client mangled something.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from xlplan import __version__, access, backups, lock, storage
from xlplan.errors import LedgerError, XlplanError
from xlplan.ledger import SCHEMA_VERSION, Ledger
from xlplan.plan_folder import PlanFolder

Level = Literal["ok", "note", "warning", "problem"]


@dataclass(frozen=True)
class Finding:
    level: Level
    topic: str  # ledger | versions | archive | master | location | lock | backups | files
    text: str

    def as_dict(self) -> dict[str, str]:
        return {"level": self.level, "topic": self.topic, "text": self.text}


@dataclass
class Checked:
    folder: Path
    findings: list[Finding] = field(default_factory=list)

    def add(self, level: Level, topic: str, text: str) -> None:
        self.findings.append(Finding(level, topic, text))

    @property
    def ok(self) -> bool:
        return not any(f.level == "problem" for f in self.findings)

    def as_dict(self) -> dict[str, Any]:
        return {"folder": str(self.folder), "ok": self.ok, "findings": [f.as_dict() for f in self.findings]}

    def lines(self) -> list[str]:
        mark = {"ok": "ok      ", "note": "note    ", "warning": "WARNING ", "problem": "PROBLEM "}
        out = [f"Checked {self.folder}"]
        out += [f"  {mark[f.level]}{f.text}" for f in self.findings]
        problems = sum(1 for f in self.findings if f.level == "problem")
        out.append("All is well." if self.ok else f"{problems} problem(s) found: see above.")
        return out


def check_folder(folder: PlanFolder) -> Checked:
    found = Checked(folder.root)
    _location(folder, found)
    _lock(folder, found)
    _leftovers(folder, found)
    ledger = _open(folder, found)
    if ledger is not None:
        with ledger:
            _integrity(ledger, found)
            _archive(folder, ledger, found)
            _master(folder, ledger, found)
    _backups(folder, found)
    return found


def _location(folder: PlanFolder, found: Checked) -> None:
    where = storage.locate(folder.root)
    if where.kind == "local":
        found.add("ok", "location", "The plan folder is on a local disk.")
    else:
        found.add("note", "location", where.note() or "")


def _lock(folder: PlanFolder, found: Checked) -> None:
    path = lock.lock_path(folder.root)
    if not path.exists():
        return
    holder = lock.read_holder(path)
    if holder is None:
        found.add("warning", "lock", f"{path} is there but cannot be read: if no xlplan command is running, delete it.")
    else:
        found.add("note", "lock", lock.busy_message(holder, path).replace("already running", "running now", 1))


def _leftovers(folder: PlanFolder, found: Checked) -> None:
    ledger = folder.ledger_file
    for suffix in backups.SIDECARS:
        side = ledger.with_name(ledger.name + suffix)
        if side.exists() and not lock.lock_path(folder.root).exists():
            found.add(
                "warning",
                "files",
                f"{side.name} is beside the ledger while no command runs: a run was interrupted or the folder was "
                "copied half-way. Keep it with ledger.sqlite (it completes or undoes the last change); the next "
                "command that writes settles it.",
            )
    copies = sorted(
        p.name for p in folder.root.glob("ledger*.sqlite") if p.name != ledger.name and p.is_file()
    ) + sorted(p.name for p in folder.root.glob("*ledger*conflict*") if p.is_file())
    for name in dict.fromkeys(copies):
        found.add(
            "warning",
            "files",
            f"{name} is a second copy of the ledger (a sync client's conflict copy?): the plan uses ledger.sqlite. "
            "Compare them with `xlplan --plan COPY status` if unsure, then move the copy out of the folder.",
        )


def _open(folder: PlanFolder, found: Checked) -> Ledger | None:
    state = access.ledger_state(folder)
    if state != "present":
        history = access.history(folder)
        if history:
            found.add(
                "problem",
                "ledger",
                f"The ledger {folder.ledger_file} is {state}, but the folder has a history ({'; '.join(history)}). "
                + backups.restore_hint(folder),
            )
        else:
            found.add("ok", "ledger", "No ledger yet: it is made by the first `xlplan generate`.")
        return None
    try:
        return Ledger(folder.ledger_file, readonly=True)
    except LedgerError as exc:
        found.add("problem", "ledger", f"{exc} {backups.restore_hint(folder)}")
    except XlplanError as exc:
        found.add("problem", "ledger", str(exc))
    return None


def _integrity(ledger: Ledger, found: Checked) -> None:
    try:
        problems = [p for p in ledger.integrity() if p != "ok"]
    except XlplanError as exc:
        problems = [str(exc)]
    if problems:
        found.add(
            "problem",
            "ledger",
            f"The ledger {ledger.path} is damaged: {'; '.join(problems[:3])}. {backups.restore_hint(_folder_of(ledger))}",
        )
        return
    cycles = ledger.cycles()
    found.add("ok", "ledger", f"The ledger passes SQLite's integrity check ({len(cycles)} cycle(s)).")
    _schema, writer = ledger.versions()
    if ledger.file_schema is not None and ledger.file_schema < SCHEMA_VERSION:
        found.add(
            "note",
            "versions",
            f"The ledger was written by xlplan {writer or 'before 0.1'}: the next command that writes it "
            f"upgrades it to schema {SCHEMA_VERSION} (after a backup).",
        )
    else:
        found.add("ok", "versions", f"Ledger schema {SCHEMA_VERSION}, last written by xlplan {writer or __version__}.")
    if ledger.file_says_wal():
        found.add(
            "note",
            "versions",
            "The ledger still uses WAL, as earlier xlplan did: the next command that writes it switches it to a "
            "rollback journal (safe on network drives and in synced folders).",
        )


def _folder_of(ledger: Ledger) -> PlanFolder:
    return PlanFolder(ledger.path.parent)


def _archive(folder: PlanFolder, ledger: Ledger, found: Checked) -> None:
    """Every return the ledger says was archived is in archive/, whole (its name is its hash)."""
    recorded = [r for r in ledger.returns() if r.archived]
    missing, altered = [], []
    for ret in recorded:
        path = folder.root / ret.archived if ret.archived else None
        if path is None or not path.is_file():
            missing.append(ret.archived or ret.file)
            continue
        if _sha256(path) != ret.sha256:
            altered.append(ret.archived or ret.file)
    referenced = {str(Path(r.archived)) for r in recorded if r.archived}
    for email in sorted({r.email for r in ledger.returns() if r.email}):  # a saved email, named by its own hash
        path = folder.root / email
        if not path.is_file():
            missing.append(email)
        elif _sha256(path) != path.stem:
            altered.append(email)
        referenced.add(str(Path(email)))
    on_disk = [p for p in (folder.archive_dir.rglob("*") if folder.archive_dir.is_dir() else []) if p.is_file()]
    unrecorded = [
        p for p in on_disk if not p.name.startswith(".") and str(p.relative_to(folder.root)) not in referenced
    ]
    if missing:
        found.add(
            "problem",
            "archive",
            f"{len(missing)} return(s) the ledger lists are missing from archive/ (e.g. {missing[0]}): restore "
            "archive/ from a copy of the plan folder; the ledger's values are not affected.",
        )
    if altered:
        found.add(
            "problem",
            "archive",
            f"{len(altered)} archived return(s) no longer match what was collected (e.g. {altered[0]}): restore "
            "them from a copy of the plan folder.",
        )
    if not missing and not altered:
        found.add("ok", "archive", f"The archive holds every return the ledger lists ({len(recorded)}), unchanged.")
    if unrecorded:
        found.add(
            "note",
            "archive",
            f"{len(unrecorded)} file(s) in archive/ are not in the ledger (a collect interrupted before it "
            "recorded them, or a restored ledger): harmless; the next collect records them again.",
        )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _master(folder: PlanFolder, ledger: Ledger, found: Checked) -> None:
    master = folder.master_file
    state = ledger.state()
    current = ledger.latest_cycle()
    if state is None:
        note = "No master tracker yet: the first `xlplan collect` writes it."
        found.add(
            "ok" if not master.is_file() else "note",
            "master",
            note
            if not master.is_file()
            else (
                f"{master.name} is there but the ledger has nothing collected yet: the next collect that merges "
                "a return rewrites it."
            ),
        )
        return
    if not master.is_file():
        found.add("problem", "master", f"{master.name} is missing: run `xlplan collect` to write it again.")
        return
    shows = ledger.master_cycle()
    if ledger.master_state() != state or (current and shows != current):
        if shows is None:
            why = "it was written by an earlier xlplan, which did not note its cycle"
        elif shows != current:
            why = f"it shows {shows}, the current cycle is {current}"
        else:
            why = "it is older than the ledger"
        found.add("warning", "master", f"{master.name} is out of date ({why}): run `xlplan collect` to rebuild it.")
    else:
        found.add("ok", "master", f"{master.name} shows the ledger as it is (cycle {shows}).")


def _backups(folder: PlanFolder, found: Checked) -> None:
    listed = backups.list_backups(folder)
    usable = [b for b in listed if b.command != "damaged"]
    if not usable:
        found.add("note", "backups", "No backups yet: one is taken before every command that writes the ledger.")
        return
    latest = usable[0]
    found.add(
        "ok",
        "backups",
        f"{len(usable)} backup(s) in {backups.BACKUPS_DIR}/, the newest {latest.name} "
        f"({latest.taken_at:%d/%m/%Y %H:%M}).",
    )
