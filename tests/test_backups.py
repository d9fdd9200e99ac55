"""Backups, a lost ledger, upgrades: the ledger survives years of officers' file handling.

The older ledger in tests/data was written by xlplan at commit b0817ef (`xlplan demo`, two
cycles of the sample): schema 2 without removed_cycles, in WAL mode, as officers have it.
"""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from xlplan import backups
from xlplan.access import reading, writing
from xlplan.backups import KEEP_RECENT, list_backups, prune
from xlplan.cli import main
from xlplan.errors import LedgerLostError, LedgerVersionError
from xlplan.ledger import SCHEMA_VERSION, Ledger
from xlplan.plan_folder import PlanFolder

OLD_LEDGER = Path(__file__).parent / "data" / "ledger-b0817ef.sqlite"


@pytest.fixture
def demo(built_demo: Path, tmp_path: Path) -> Path:
    root = tmp_path / "demo"
    shutil.copytree(built_demo, root)
    return root


def run(root: Path, *args: str) -> Any:
    return CliRunner().invoke(main, ["--plan", str(root), *args])


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def folder_state(root: Path) -> dict[str, str]:
    """The ledger, the archive and the master tracker, byte for byte."""
    files = [root / "ledger.sqlite", root / "master-tracker.xlsx", *sorted((root / "archive").rglob("*"))]
    return {str(p.relative_to(root)): digest(p) for p in files if p.is_file()}


def dump(path: Path) -> dict[str, Any]:
    with Ledger(path, readonly=True) as ledger:
        return {
            "cycles": ledger.cycles(),
            "returns": [r.as_dict() for r in ledger.returns()],
            "entries": ledger.entry_records(),
            "audit": ledger.audit(),
            "state": ledger.state(),
        }


# --- one file at rest ----------------------------------------------------------------------


def test_between_commands_the_ledger_is_one_file_with_a_rollback_journal(demo: Path) -> None:
    assert run(demo, "collect").exit_code in (0, 1)
    assert sorted(p.name for p in demo.glob("ledger.sqlite*")) == ["ledger.sqlite"]
    with Ledger(demo / "ledger.sqlite", readonly=True) as ledger:
        assert ledger.journal_mode() == "delete"
        assert not ledger.file_says_wal()
    db = sqlite3.connect(demo / "ledger.sqlite")
    assert db.execute("PRAGMA synchronous").fetchone()[0] in (0, 1, 2)  # per connection; ours sets FULL
    db.close()


def test_the_ledger_sets_full_synchronous_writes(tmp_path: Path) -> None:
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        assert ledger.db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert ledger.journal_mode() == "delete"


# --- backups -------------------------------------------------------------------------------


def test_every_write_command_backs_the_ledger_up_first(demo: Path) -> None:
    folder = PlanFolder(demo)
    before = len(list_backups(folder))
    ledger_then = dump(demo / "ledger.sqlite")
    assert run(demo, "collect").exit_code in (0, 1)
    taken = list_backups(folder)
    assert len(taken) == before + 1
    assert taken[0].command == "collect" and taken[0].cycle == "2023-Q3"
    assert dump(taken[0].path) == ledger_then  # the ledger as it was before the command
    assert run(demo, "generate", "--cycle", "2023-Q4", "--spg-date", "2024-01-11").exit_code == 0
    assert list_backups(folder)[0].command == "generate"
    assert run(demo, "cycles", "remove", "2023-Q4").exit_code == 0
    assert list_backups(folder)[0].command == "cycles-remove" and list_backups(folder)[0].cycle == "2023-Q4"
    for command in (["status"], ["report"], ["cycles"], ["export", "entries"], ["check"], ["collect", "--dry-run"]):
        count = len(list_backups(folder))
        assert run(demo, *command).exit_code in (0, 1)
        assert len(list_backups(folder)) == count, command  # reading takes none
    assert not list(folder.root.glob("backups/.backup-*"))


def test_the_last_several_and_one_per_cycle_are_kept(tmp_path: Path) -> None:
    folder = PlanFolder(tmp_path)
    where = tmp_path / "backups"
    where.mkdir()
    names = [f"ledger_2024-01-{d:02d}_100000_collect_2023-Q4.sqlite" for d in range(1, 6)]
    names += [f"ledger_2024-04-{d:02d}_100000_collect_2024-Q1.sqlite" for d in range(1, 13)]
    names += ["ledger_2024-04-20_100000_damaged.sqlite", "notes.txt"]
    for name in names:
        (where / name).write_bytes(b"x")
    prune(folder)
    kept = sorted(p.name for p in where.iterdir())
    q1 = [n for n in kept if n.endswith("2024-Q1.sqlite")]
    assert len(q1) == KEEP_RECENT == 10
    assert [n for n in kept if "2023-Q4" in n] == ["ledger_2024-01-05_100000_collect_2023-Q4.sqlite"]  # its newest
    assert "ledger_2024-04-20_100000_damaged.sqlite" in kept and "notes.txt" in kept


def test_backups_list_and_json(demo: Path) -> None:
    result = run(demo, "backups")
    assert result.exit_code == 0
    newest = list_backups(PlanFolder(demo))[0]
    assert result.stdout.splitlines()[-1] == f"Restore one with: xlplan backups restore {newest.name}"
    listed = __import__("json").loads(run(demo, "backups", "--json").stdout)
    assert listed[0]["name"] == newest.name and listed[0]["command"] == newest.command


def test_restore_backs_up_the_current_ledger_first_and_the_next_collect_catches_up(demo: Path) -> None:
    folder = PlanFolder(demo)
    oldest = list_backups(folder)[-1]  # before the demo's first collect: 2023-Q2 only, nothing merged
    current = dump(demo / "ledger.sqlite")
    (demo / "ledger.sqlite-journal").write_bytes(b"a stale journal of another ledger")
    result = run(demo, "backups", "restore", oldest.name)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Backed up the ledger it replaces as ")
    assert not (demo / "ledger.sqlite-journal").exists()
    kept = list_backups(folder)[0]
    assert kept.command == "restore" and dump(kept.path) == current
    restored = dump(demo / "ledger.sqlite")
    assert restored["cycles"] == dump(oldest.path)["cycles"]
    with Ledger(demo / "ledger.sqlite", readonly=True) as ledger:
        assert ledger.master_state() is None  # the master shows a later ledger: rebuilt by the next collect
    again = run(demo, "collect")
    assert "Traceback" not in again.output
    with Ledger(demo / "ledger.sqlite", readonly=True) as ledger:
        assert ledger.master_state() == ledger.state()


def test_restore_of_an_unknown_backup(demo: Path) -> None:
    result = run(demo, "backups", "restore", "ledger_1999-01-01_000000_collect.sqlite")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: No backup called ledger_1999-01-01_000000_collect.sqlite in ")


def test_a_damaged_backup_is_not_restored(demo: Path) -> None:
    folder = PlanFolder(demo)
    newest = list_backups(folder)[0]
    newest.path.write_bytes(b"not a database at all" * 100)
    before = folder_state(demo)
    result = run(demo, "backups", "restore", newest.name)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: The backup {newest.path} cannot be read (")
    assert folder_state(demo) == before


# --- a lost ledger never starts a new history ------------------------------------------------


@pytest.mark.parametrize("how", ["missing", "empty", "damaged"])
@pytest.mark.parametrize(
    "command",
    [["generate", "--cycle", "2023-Q4", "--spg-date", "2024-01-11"], ["collect"], ["status"], ["cycles"]],
)
def test_a_lost_ledger_stops_every_command_and_points_to_the_newest_backup(
    demo: Path, how: str, command: list[str]
) -> None:
    ledger = demo / "ledger.sqlite"
    if how == "missing":
        ledger.unlink()
    elif how == "empty":
        ledger.write_bytes(b"")
    else:
        ledger.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4080)
    before = folder_state(demo)
    outgoing = sorted(p.name for p in (demo / "outgoing").rglob("*"))
    newest = list_backups(PlanFolder(demo))[0]
    result = run(demo, *command)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    err = result.stderr
    assert err.startswith(f"Error: The ledger {ledger} is {'damaged' if how == 'damaged' else how}")
    assert f"xlplan backups restore {newest.name}" in err
    if how != "damaged":
        assert "this plan folder has a history (master-tracker.xlsx; 9 return(s) in archive/;" in err
    assert folder_state(demo) == before  # the master tracker above all
    assert sorted(p.name for p in (demo / "outgoing").rglob("*")) == outgoing
    # and the cure works
    assert run(demo, "backups", "restore", newest.name).exit_code == 0
    assert run(demo, "status").exit_code == 0


def test_a_new_plan_folder_without_a_ledger_is_no_lost_ledger(tmp_path: Path) -> None:
    from conftest import make_plan_folder

    folder = make_plan_folder(tmp_path / "plan")
    with reading(folder) as ledger:
        assert ledger.cycles() == []
    assert not folder.ledger_file.exists()  # reading made none
    result = run(folder.root, "status")
    assert result.exit_code == 1 and "No cycle has been generated yet" in result.stderr


def test_a_library_caller_is_protected_too(demo: Path) -> None:
    from xlplan.collect import collect
    from xlplan.plan import load_plan

    (demo / "ledger.sqlite").unlink()
    with pytest.raises(LedgerLostError):
        collect(load_plan(PlanFolder(demo)), jobs=1)
    assert not (demo / "ledger.sqlite").exists()


# --- versions ------------------------------------------------------------------------------


@pytest.fixture
def old_demo(demo: Path) -> Path:
    """The demo folder with the ledger an older xlplan (b0817ef) wrote, and no backups yet."""
    shutil.copy(OLD_LEDGER, demo / "ledger.sqlite")
    shutil.rmtree(demo / "backups")
    return demo


def test_the_older_ledger_kept_in_the_tests_is_what_it_claims() -> None:
    data = OLD_LEDGER.read_bytes()
    assert data[18] == 2  # WAL, as earlier xlplan left it
    db = sqlite3.connect(f"file:{OLD_LEDGER}?mode=ro&immutable=1", uri=True)
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == "2"
    assert "removed_cycles" not in tables
    db.close()


def test_reading_an_older_ledger_changes_nothing(old_demo: Path) -> None:
    ledger = old_demo / "ledger.sqlite"
    before = ledger.read_bytes()
    for command in (["status"], ["report"], ["cycles"], ["export", "audit"], ["check"], ["collect", "--dry-run"]):
        result = run(old_demo, *command)
        assert result.exit_code in (0, 1), (command, result.output)
        assert "Traceback" not in result.output
    assert ledger.read_bytes() == before
    assert sorted(p.name for p in old_demo.glob("ledger.sqlite*")) == ["ledger.sqlite"]  # no -wal, -shm
    assert not (old_demo / "backups").exists()
    cycles = __import__("json").loads(run(old_demo, "cycles", "--json").stdout)
    assert [c["cycle"] for c in cycles["cycles"]] == ["2023-Q2", "2023-Q3"] and cycles["removed"] == []


def test_a_write_command_migrates_an_older_ledger_after_a_backup(old_demo: Path) -> None:
    ledger = old_demo / "ledger.sqlite"
    before = dump(ledger)
    result = run(old_demo, "collect")
    assert result.exit_code in (0, 1) and "Traceback" not in result.output
    (backup,) = list_backups(PlanFolder(old_demo))
    with Ledger(backup.path, readonly=True) as copy:
        assert copy.file_schema == 2  # the backup is the ledger as the older xlplan left it
    assert dump(backup.path) == before
    with Ledger(ledger, readonly=True) as upgraded:
        assert upgraded.file_schema == SCHEMA_VERSION
        assert upgraded.versions() == (SCHEMA_VERSION, __import__("xlplan").__version__)
        assert upgraded.journal_mode() == "delete"
        assert upgraded.removed_cycles() == []
        assert upgraded.cycles() == before["cycles"]
        assert upgraded.entry_records() == before["entries"]
        assert upgraded.audit() == before["audit"]
    assert sorted(p.name for p in old_demo.glob("ledger.sqlite*")) == ["ledger.sqlite"]


def test_a_migration_that_fails_leaves_the_older_ledger_as_it_was(
    old_demo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The migration is one transaction: a failure half-way (here, after the new table and the
    schema version were written) leaves the file exactly as the older xlplan left it."""
    ledger = old_demo / "ledger.sqlite"
    before = dump(ledger)

    def fail(self: Ledger) -> None:
        real_migrate(self)
        raise sqlite3.OperationalError("database or disk is full")

    real_migrate = Ledger._migrate
    monkeypatch.setattr(Ledger, "_migrate", fail)
    result = run(old_demo, "collect")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: The disk is full: cannot write {ledger}.")
    monkeypatch.undo()
    with Ledger(ledger, readonly=True) as again:
        assert again.file_schema == 2
    assert dump(ledger) == before


def make_newer(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION + 1),))
    db.execute("INSERT OR REPLACE INTO meta VALUES ('xlplan_version', '9.0.0')")
    db.commit()
    db.close()


@pytest.mark.parametrize(
    "command", [["status"], ["collect"], ["check"], ["generate", "--cycle", "2023-Q4", "--spg-date", "2024-01-11"]]
)
def test_a_newer_ledger_is_refused_naming_both_versions(demo: Path, command: list[str]) -> None:
    make_newer(demo / "ledger.sqlite")
    before = folder_state(demo)
    backups_before = len(list_backups(PlanFolder(demo)))
    result = run(demo, *command)
    assert result.exit_code == 1
    expected = (
        f"The ledger {demo / 'ledger.sqlite'} was written by xlplan 9.0.0 (ledger schema {SCHEMA_VERSION + 1}); "
        f"this is xlplan {__import__('xlplan').__version__}, which knows ledger schemas up to {SCHEMA_VERSION}."
    )
    assert expected in result.output
    assert folder_state(demo) == before
    assert len(list_backups(PlanFolder(demo))) == backups_before


def test_the_library_refuses_a_newer_ledger(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    Ledger(path).close()
    make_newer(path)
    for readonly in (True, False):
        with pytest.raises(LedgerVersionError, match=r"written by xlplan 9\.0\.0"):
            Ledger(path, readonly=readonly)


def test_writing_without_a_backup_is_not_possible_through_access(demo: Path) -> None:
    from xlplan.access import for_writing

    with pytest.raises(AssertionError):
        for_writing(PlanFolder(demo))
    with writing(PlanFolder(demo), "test"), for_writing(PlanFolder(demo)) as ledger:
        assert ledger.cycles()
    assert backups.list_backups(PlanFolder(demo))[0].command == "test"
