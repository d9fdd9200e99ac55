"""No tracebacks, ever: a full disk, a read-only folder, permission denied, a file held by
another program, a path too long, an interrupted run, and anything unexpected.

Each case is driven for real where this machine allows it (a small tmpfs that fills up, a
read-only remount; the tests run as root, who ignores file permissions, so permissions are
not used) and by an error injected where the real one is raised. Every test asserts the
message, the exit code, and that the ledger, the archive and the master tracker are intact.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from helpers import HELEN, SHARON, Env, copy_env

import xlplan.files
import xlplan.lock
from xlplan import ledger as ledger_module
from xlplan.cli import main
from xlplan.failures import plain_os_error
from xlplan.ledger import Ledger

TRACEBACK = "Traceback (most recent call last)"


def run(root: Path, *args: str) -> Any:
    result = CliRunner().invoke(main, ["--plan", str(root), *args])
    assert TRACEBACK not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def state(root: Path) -> dict[str, str]:
    """The ledger, the archive and the master tracker, byte for byte."""
    files = [root / "ledger.sqlite", root / "master-tracker.xlsx", *sorted((root / "archive").rglob("*"))]
    return {str(p.relative_to(root)): digest(p) for p in files if p.is_file()}


def sound(root: Path) -> None:
    """The ledger passes SQLite's integrity check, and nothing was left half-written."""
    with Ledger(root / "ledger.sqlite", readonly=True) as ledger:
        assert ledger.integrity() == ["ok"]
    assert sorted(p.name for p in root.glob("ledger.sqlite*")) == ["ledger.sqlite"]
    assert not (root / "xlplan.lock").exists()
    leftovers = [p for p in root.rglob(".*") if p.is_file() and p.parent.name != ".xlplan-cache"]
    assert not leftovers, leftovers


@pytest.fixture
def demo(built_demo: Path, tmp_path: Path) -> Path:
    root = tmp_path / "demo"
    shutil.copytree(built_demo, root)
    return root


@pytest.fixture
def env(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Env:
    """A plan with 2025-Q3 generated, Helen's return collected (so there is a master), Sharon's waiting."""
    env = copy_env(tmp_path_factory, tmp_path / "plan")
    env.fill(HELEN)
    assert run(env.folder.root, "collect", "--jobs", "1").exit_code in (0, 1)
    env.fill(SHARON)
    return env


# --- mounts: a small disk, a read-only drive ---------------------------------------------


@pytest.fixture
def mount(tmp_path: Path) -> Iterator[Callable[..., Path]]:
    """mount(size) -> a fresh tmpfs of that size; remount(point) makes it read-only."""
    points: list[Path] = []

    def make(size: str = "16m") -> Path:
        point = tmp_path / f"mnt{len(points)}"
        point.mkdir()
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point)], capture_output=True, text=True
        )
        if done.returncode != 0:  # said, not silent: the injected-error tests cover the case
            pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip()}); the injected-error tests cover this case")
        points.append(point)
        return point

    yield make
    for point in reversed(points):
        subprocess.run(["umount", "-l", str(point)], capture_output=True)


def remount_read_only(point: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(point)], check=True, capture_output=True)
    with pytest.raises(OSError) as caught:
        (point / "probe").write_text("x")
    assert caught.value.errno == errno.EROFS


def fill(point: Path, leave: int) -> Path:
    """Fill the file system at `point` until only about `leave` bytes are free."""
    filler = point / "filler.bin"
    free = os.statvfs(point).f_bavail * os.statvfs(point).f_frsize
    with open(filler, "wb") as fh:
        fh.write(b"\0" * max(0, free - leave))
    return filler


# --- a full disk ---------------------------------------------------------------------------


def test_a_full_disk_stops_the_backup_before_anything_changes(demo: Path, mount: Callable[..., Path]) -> None:
    point = mount("4m")
    root = point / "demo"
    shutil.copytree(demo, root)
    before = state(root)
    filler = fill(point, 64 * 1024)  # room for the lock, none for a backup of the ledger
    result = run(root, "generate", "--cycle", "2023-Q4", "--spg-date", "2024-01-11", "--jobs", "1")
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "Error: Could not back up the ledger before changing it, so nothing was changed. The disk is full: "
        f"cannot write {root / 'backups'}/ledger_"
    )
    assert state(root) == before
    assert not (root / "outgoing" / "2023-Q4").exists()
    filler.unlink()
    sound(root)
    assert run(root, "generate", "--cycle", "2023-Q4", "--spg-date", "2024-01-11", "--jobs", "1").exit_code == 0


def test_a_disk_that_fills_while_workbooks_are_written(demo: Path, mount: Callable[..., Path]) -> None:
    point = mount("4m")
    root = point / "demo"
    shutil.copytree(demo, root)
    before = state(root)
    ledger_size = (root / "ledger.sqlite").stat().st_size
    filler = fill(point, ledger_size + 40 * 1024)  # a backup fits; five workbooks do not
    result = run(root, "generate", "--cycle", "2023-Q4", "--spg-date", "2024-01-11", "--jobs", "1")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: The disk is full: cannot write {root / 'outgoing' / '2023-Q4'}")
    assert "Nothing half-written was left: free some space on that drive and run the command again." in result.stderr
    assert state(root) == before  # the cycle was not recorded
    filler.unlink()
    sound(root)
    assert run(root, "generate", "--cycle", "2023-Q4", "--spg-date", "2024-01-11", "--jobs", "1").exit_code == 0
    with Ledger(root / "ledger.sqlite", readonly=True) as ledger:
        assert ledger.latest_cycle() == "2023-Q4"


def enospc(path: Any) -> OSError:
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))


def test_disk_full_while_archiving_a_return(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    root = env.folder.root
    before = state(root)
    real = xlplan.files._fsync

    def full(path: Path) -> None:
        if env.folder.archive_dir in Path(path).parents:
            raise enospc(path)
        real(path)

    monkeypatch.setattr(xlplan.files, "_fsync", full)
    result = run(root, "collect", "--jobs", "1")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: The disk is full: cannot write {env.folder.archive_dir}")
    assert state(root) == before
    monkeypatch.undo()
    sound(root)
    assert run(root, "collect", "--jobs", "1").exit_code in (0, 1)
    assert state(root) != before


def test_disk_full_as_the_ledger_commits(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite's own 'database or disk is full', raised where the merge writes its entries."""
    root = env.folder.root
    before = state(root)
    real = ledger_module._Connection.executemany

    def full(self: Any, sql: str, parameters: Any, /) -> Any:
        if sql.startswith("INSERT INTO entries"):
            raise sqlite3.OperationalError("database or disk is full")
        return real(self, sql, parameters)

    monkeypatch.setattr(ledger_module._Connection, "executemany", full)
    result = run(root, "collect", "--jobs", "1")
    assert result.exit_code == 1
    assert result.stderr.startswith(
        f"Error: The disk is full: cannot write {env.folder.ledger_file}. The ledger is as it was before the command."
    )
    assert {k: v for k, v in state(root).items() if not k.startswith("archive")} == {
        k: v for k, v in before.items() if not k.startswith("archive")
    }  # the archive may hold the new return: it is written first, and harmless
    monkeypatch.undo()
    sound(root)
    assert run(root, "collect", "--jobs", "1").exit_code in (0, 1)


def test_disk_full_while_writing_the_master(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    root = env.folder.root
    master = env.folder.master_file
    old_master = digest(master)
    real = xlplan.files._fsync

    def full(path: Path) -> None:
        if Path(path).parent == root and Path(path).suffix == ".xlsx":
            raise enospc(path)
        real(path)

    monkeypatch.setattr(xlplan.files, "_fsync", full)
    result = run(root, "collect", "--jobs", "1")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: The disk is full: cannot write {master}.")
    assert digest(master) == old_master  # the old master, whole
    monkeypatch.undo()
    sound(root)
    again = run(root, "collect", "--jobs", "1")  # merged already; the master is rebuilt
    assert again.exit_code in (0, 1)
    assert digest(master) != old_master


# --- read-only -----------------------------------------------------------------------------

READ_COMMANDS = [
    ["status"],
    ["report"],
    ["report", "--format", "markdown"],
    ["export", "entries"],
    ["export", "standing"],
    ["cycles"],
    ["check"],
    ["backups"],
    ["collect", "--dry-run", "--jobs", "1"],
]
WRITE_COMMANDS = [
    ["collect", "--jobs", "1"],
    ["generate", "--cycle", "2023-Q4", "--spg-date", "2024-01-11", "--jobs", "1"],
    ["cycles", "remove", "2023-Q3"],
]


def test_a_read_only_folder_reads_and_refuses_to_write(demo: Path, mount: Callable[..., Path]) -> None:
    point = mount("32m")
    root = point / "demo"
    shutil.copytree(demo, root)
    before = state(root)
    remount_read_only(point)
    for command in READ_COMMANDS:
        result = run(root, *command)
        assert result.exit_code in (0, 1), (command, result.output)
        assert "Error" not in result.stderr, (command, result.stderr)
    for command in WRITE_COMMANDS:
        result = run(root, *command)
        assert result.exit_code == 1, command
        assert result.stderr.startswith(
            f"Error: The plan folder {root} is read-only: this command writes to it, so it cannot run there. "
            "Ask for write access (or copy the folder somewhere you can write) and run it again."
        ), (command, result.stderr)
    newest = sorted((root / "backups").iterdir())[-1].name
    assert run(root, "backups", "restore", newest).stderr.startswith(f"Error: The plan folder {root} is read-only")
    assert state(root) == before


def test_read_commands_open_the_ledger_read_only(demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[str] = []
    real = ledger_module._connect

    def spy(database: str, path: Path, *, uri: bool = False) -> Any:
        opened.append(database)
        return real(database, path, uri=uri)

    monkeypatch.setattr(ledger_module, "_connect", spy)
    before = state(demo)
    for command in READ_COMMANDS:
        opened.clear()
        assert run(demo, *command).exit_code in (0, 1), command
        on_file = [d for d in opened if "ledger.sqlite" in d and "dry-run" not in d]
        if command == ["backups"]:  # lists the files: opens none
            assert on_file == []
            continue
        assert on_file and all(d.startswith("file:") and "mode=ro" in d for d in on_file), (command, opened)
    assert state(demo) == before


@pytest.mark.parametrize("code", [errno.EROFS, errno.EACCES])
def test_a_folder_that_cannot_be_written_is_named(env: Env, monkeypatch: pytest.MonkeyPatch, code: int) -> None:
    root = env.folder.root
    before = state(root)
    real = xlplan.lock.os.open

    def refuse(path: Any, flags: int, mode: int = 0o777) -> int:
        if Path(path).name == "xlplan.lock":
            raise OSError(code, os.strerror(code), str(path))
        return real(path, flags, mode)

    monkeypatch.setattr(xlplan.lock.os, "open", refuse)
    result = run(root, "collect", "--jobs", "1")
    assert result.exit_code == 1
    why = "read-only" if code == errno.EROFS else "not writable by you"
    assert result.stderr.startswith(f"Error: The plan folder {root} is {why}: this command writes to it")
    assert state(root) == before


def test_a_read_only_ledger_in_a_writable_folder(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    root = env.folder.root
    before = state(root)
    real = ledger_module._Connection.execute

    def refuse(self: Any, sql: str, parameters: Any = (), /) -> Any:
        if sql == "BEGIN IMMEDIATE" and self.ledger_path == env.folder.ledger_file:
            raise sqlite3.OperationalError("attempt to write a readonly database")
        return real(self, sql, parameters)

    monkeypatch.setattr(ledger_module._Connection, "execute", refuse)
    result = run(root, "collect", "--jobs", "1")
    assert result.exit_code == 1
    assert result.stderr.startswith(
        f"Error: Cannot write the ledger {env.folder.ledger_file}: the plan folder or the ledger is read-only."
    )
    assert {k: v for k, v in state(root).items() if not k.startswith("archive")} == {
        k: v for k, v in before.items() if not k.startswith("archive")
    }


# --- permission denied, a file held by another program, a path too long ----------------------


def test_permission_denied_on_a_workbook(demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = state(demo)
    real = xlplan.files._fsync
    outbox = demo / "outgoing" / "2023-Q4"

    def denied(path: Path) -> None:
        if Path(path).parent == outbox:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        real(path)

    monkeypatch.setattr(xlplan.files, "_fsync", denied)
    result = run(demo, "generate", "--cycle", "2023-Q4", "--spg-date", "2024-01-11", "--jobs", "1")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: Permission denied: {outbox}")
    assert "open in another program (Excel?)" in result.stderr
    assert state(demo) == before


def test_an_output_open_in_excel(demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = demo / "report.md"
    out.write_text("the old report")
    real = xlplan.files.os.replace

    def locked(src: Any, dst: Any) -> None:
        if Path(dst) == out:
            error = PermissionError(errno.EACCES, "The process cannot access the file", str(dst))
            error.winerror = 32  # type: ignore[attr-defined]  # ERROR_SHARING_VIOLATION
            raise error
        real(src, dst)

    monkeypatch.setattr(xlplan.files.os, "replace", locked)
    result = run(demo, "report", "--format", "markdown", "-o", str(out))
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: Cannot replace {out}: it is open in another program (Excel?) or read-only. "
        "Close it and run the command again.\n"
    )
    assert out.read_text() == "the old report"


def test_a_ledger_locked_by_another_program(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    root = env.folder.root
    before = state(root)
    real = ledger_module._Connection.execute

    def busy(self: Any, sql: str, parameters: Any = (), /) -> Any:
        if sql == "BEGIN IMMEDIATE":
            raise sqlite3.OperationalError("database is locked")
        return real(self, sql, parameters)

    monkeypatch.setattr(ledger_module._Connection, "execute", busy)
    result = run(root, "collect", "--jobs", "1")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: The ledger {env.folder.ledger_file} is locked by another program")
    assert {k: v for k, v in state(root).items() if not k.startswith("archive")} == {
        k: v for k, v in before.items() if not k.startswith("archive")
    }


def test_a_path_too_long(demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = state(demo)
    real = xlplan.files.tempfile.mkstemp

    def too_long(*args: Any, **kwargs: Any) -> Any:
        if "2023-Q4" in str(kwargs.get("dir", "")):
            raise OSError(errno.ENAMETOOLONG, os.strerror(errno.ENAMETOOLONG), str(kwargs["dir"]))
        return real(*args, **kwargs)

    monkeypatch.setattr(xlplan.files.tempfile, "mkstemp", too_long)
    result = run(demo, "generate", "--cycle", "2023-Q4", "--spg-date", "2024-01-11", "--jobs", "1")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: The path is too long (")
    assert "Move the plan folder nearer the top of the drive" in result.stderr
    assert state(demo) == before


def test_windows_errors_in_words() -> None:
    long_name = "C:\\Users\\mkerr\\OneDrive - Inverclyde Council\\" + "Strategic Plan folder\\" * 12 + "x.xlsx"
    error = FileNotFoundError(errno.ENOENT, "The system cannot find the path specified", long_name)
    assert str(plain_os_error(error, windows=True)).startswith(f"The path is too long ({len(long_name)} characters;")
    held = PermissionError(errno.EACCES, "The process cannot access the file", "C:\\Plans\\master-tracker.xlsx")
    held.winerror = 32  # type: ignore[attr-defined]
    assert str(plain_os_error(held, windows=True)) == (
        "C:\\Plans\\master-tracker.xlsx is open in another program (Excel? a sync or backup program?): close it "
        "and run the command again."
    )
    gone = OSError(errno.EIO, "Input/output error", "K:\\Plans\\ledger.sqlite")
    assert "a network drive that disconnected" in str(plain_os_error(gone, windows=True))


# --- an interrupted run --------------------------------------------------------------------


def test_ctrl_c_mid_merge_rolls_back_and_says_so(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    import xlplan.collect

    root = env.folder.root
    before = state(root)

    def interrupt(name: str) -> None:
        if name == "after-archive":
            raise KeyboardInterrupt

    monkeypatch.setattr(xlplan.collect, "checkpoint", interrupt)
    result = run(root, "collect", "--jobs", "1")
    assert result.exit_code == 130
    assert result.stderr == (
        "Error: Interrupted. Nothing half-written was left: the ledger, the archive and the master tracker are each "
        "as they were or complete. Run the command again to finish.\n"
    )
    assert {k: v for k, v in state(root).items() if not k.startswith("archive")} == {
        k: v for k, v in before.items() if not k.startswith("archive")
    }
    sound(root)


KILL = """
import sys
from pathlib import Path
from xlplan.cli import main
main(["--plan", sys.argv[1], "collect", "--jobs", "1"])
"""


def test_a_killed_run_leaves_a_lock_and_a_journal_that_the_next_commands_settle(env: Env) -> None:
    root = env.folder.root
    before = state(root)
    done = subprocess.run(
        [sys.executable, "-c", KILL, str(root)],
        env={**os.environ, "XLPLAN_CRASH_AT": "after-archive"},  # inside the ledger's transaction
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()
    assert (root / "xlplan.lock").exists()
    assert (root / "ledger.sqlite-journal").exists()  # the transaction, never committed
    status = run(root, "status")  # reading sees the ledger as before
    assert status.exit_code == 0
    assert {k: v for k, v in state(root).items() if not k.startswith("archive")} == {
        k: v for k, v in before.items() if not k.startswith("archive")
    }
    again = run(root, "collect", "--jobs", "1")
    assert again.exit_code in (0, 1)
    assert again.stderr.startswith("Note: A lock left by xlplan collect (")
    assert "that process has ended, so the run was interrupted. This run finishes its work." in again.stderr
    sound(root)
    with Ledger(root / "ledger.sqlite", readonly=True) as ledger:
        assert SHARON in {r.recipient for r in ledger.returns() if r.outcome == "merged"}


# --- anything unexpected -------------------------------------------------------------------


def test_an_unexpected_error_is_logged_in_the_plan_folder_not_printed(
    demo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import xlplan.summary

    def broken(*args: Any, **kwargs: Any) -> Any:
        return 1 / 0

    monkeypatch.setattr(xlplan.summary, "summarise", broken)
    result = run(demo, "status")
    assert result.exit_code == 1
    (log,) = (demo / "logs").iterdir()
    assert result.stderr == (
        "Error: xlplan stopped on something unexpected (ZeroDivisionError: division by zero). The details are in "
        f"{log}: please send that file to whoever supports xlplan. Nothing half-written was left; run `xlplan check` "
        "to see that the plan folder is sound.\n"
    )
    text = log.read_text(encoding="utf-8")
    assert TRACEBACK in text and "ZeroDivisionError: division by zero" in text and "def broken" not in result.output
    assert "xlplan 0.1.0 stopped on an unexpected error" in text


def test_an_unexpected_error_in_a_read_only_folder_is_logged_elsewhere(
    demo: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import tempfile

    import xlplan.summary

    monkeypatch.setattr(xlplan.summary, "summarise", lambda *a, **k: [][0])
    real_mkdir = Path.mkdir

    def read_only(self: Path, *args: Any, **kwargs: Any) -> None:
        if self == demo / "logs":
            raise OSError(errno.EROFS, "Read-only file system", str(self))
        real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", read_only)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "temp"))
    (tmp_path / "temp").mkdir()
    result = run(demo, "status")
    assert result.exit_code == 1
    (log,) = (tmp_path / "temp").iterdir()
    assert f"The details are in {log}:" in result.stderr
