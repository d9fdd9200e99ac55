"""One writer at a time: the lock file, on this PC and across machines."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from xlplan import lock
from xlplan.cli import main
from xlplan.errors import BusyError
from xlplan.lock import LOCK_NAME, Holder, busy_message, locked, read_holder


def write_lock(root: Path, **fields: Any) -> Path:
    holder = {
        "command": "collect",
        "user": "Morag Kerr",
        "machine": "PC-0421",
        "pid": 4242,
        "since": datetime.now().astimezone().replace(hour=10, minute=42).isoformat(timespec="seconds"),
        **fields,
    }
    path = root / LOCK_NAME
    path.write_text(json.dumps(holder), encoding="utf-8")
    return path


@pytest.fixture
def demo(built_demo: Path, tmp_path: Path) -> Path:
    root = tmp_path / "demo"
    shutil.copytree(built_demo, root)
    return root


def run(root: Path, *args: str) -> Any:
    return CliRunner().invoke(main, ["--plan", str(root), *args])


def test_the_lock_holds_who_where_and_since_when_and_goes_away(tmp_path: Path) -> None:
    with locked(tmp_path, "collect") as taken:
        assert taken is not None
        holder = read_holder(tmp_path / LOCK_NAME)
        assert holder is not None
        assert (holder.command, holder.machine, holder.pid) == ("collect", lock.machine_name(), taken.holder.pid)
        assert holder.user and datetime.fromisoformat(holder.since)
        with locked(tmp_path, "collect") as again:  # the same process, a command inside a command
            assert again is None
        assert (tmp_path / LOCK_NAME).exists()
    assert not (tmp_path / LOCK_NAME).exists()


def test_the_lock_is_released_when_the_command_fails(tmp_path: Path) -> None:
    with pytest.raises(ZeroDivisionError), locked(tmp_path, "generate"):
        _ = 1 / 0
    assert not (tmp_path / LOCK_NAME).exists()


def test_a_second_run_on_this_pc_stops_with_who_holds_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        monkeypatch.setattr(lock, "user_name", lambda: "Morag Kerr")
        monkeypatch.setattr(lock, "machine_name", lambda: "PC-0421")
        write_lock(tmp_path, pid=sleeper.pid)
        with pytest.raises(BusyError) as caught, locked(tmp_path, "generate"):
            pass
        assert str(caught.value).startswith("xlplan collect is already running (Morag Kerr on PC-0421 since 10:42).")
        assert (tmp_path / LOCK_NAME).exists()  # still theirs
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_stale_lock_of_a_dead_process_on_this_pc_is_recognised_and_explained(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    monkeypatch.setattr(lock, "machine_name", lambda: "PC-0421")
    write_lock(tmp_path, pid=dead.pid)
    with locked(tmp_path, "collect") as taken:
        assert taken is not None and taken.replaced is not None
        note = taken.note()
        assert note == (
            "A lock left by xlplan collect (Morag Kerr on PC-0421 since 10:42) was cleared: that process has "
            "ended, so the run was interrupted. This run finishes its work."
        )
    assert not (tmp_path / LOCK_NAME).exists()


def test_a_lock_from_another_machine_is_never_taken_over(tmp_path: Path) -> None:
    path = write_lock(tmp_path, machine="PC-9999", pid=1)
    with pytest.raises(BusyError) as caught, locked(tmp_path, "collect"):
        pass
    assert str(caught.value) == (
        "xlplan collect is already running (Morag Kerr on PC-9999 since 10:42). Wait for it to finish, then run "
        f"the command again. (If nothing is running xlplan on PC-9999, delete {path} and run the command again.)"
    )


def test_an_old_lock_from_another_machine_says_how_to_clear_it(tmp_path: Path) -> None:
    since = datetime(2025, 10, 13, 10, 42).astimezone()
    holder = Holder("generate", "Morag Kerr", "PC-9999", 77, since.isoformat())
    text = busy_message(holder, tmp_path / LOCK_NAME, now=since + timedelta(days=1))
    assert text.startswith("xlplan generate is already running (Morag Kerr on PC-9999 since 13/10/2025 10:42).")
    assert "It started long ago: if nothing is running xlplan on PC-9999" in text


def test_two_collects_at_once_one_stops_plainly(demo: Path) -> None:
    """Two `xlplan collect` processes started together: one merges, the other stops with a plain
    message (before, one reported a CONFLICT of a file with itself)."""
    for path in (demo / "returns").iterdir():
        path.touch()
    exe = str(Path(sys.executable).with_name("xlplan"))
    procs = [
        subprocess.Popen(
            [exe, "--plan", str(demo), "collect", "--jobs", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for _ in range(2)
    ]
    done = [(p.wait(timeout=300), p.stdout.read().decode(), p.stderr.read().decode()) for p in procs]  # type: ignore[union-attr]
    for _code, out, err in done:
        assert "Traceback" not in out + err
        assert "CONFLICT" not in out
    busy = [d for d in done if "is already running" in d[2]]
    # Usually one waits on the other; when the first had finished before the second started, both ran.
    if busy:
        ((code, _out, err),) = busy
        assert code == 1
        assert err.startswith("Error: xlplan collect is already running (")
        assert f"on {lock.machine_name()} since " in err
    assert not (demo / LOCK_NAME).exists()


def test_a_write_command_on_a_locked_folder_stops_and_changes_nothing(demo: Path) -> None:
    before = (demo / "ledger.sqlite").read_bytes()
    master = (demo / "master-tracker.xlsx").read_bytes()
    write_lock(demo, machine="PC-9999")
    for args in (
        ["collect"],
        ["generate", "--cycle", "2023-Q4", "--spg-date", "2024-01-11"],
        ["cycles", "remove", "2023-Q3"],
    ):
        result = run(demo, *args)
        assert result.exit_code == 1, result.output
        assert result.stderr.startswith("Error: xlplan collect is already running (Morag Kerr on PC-9999 since 10:42).")
    assert (demo / "ledger.sqlite").read_bytes() == before
    assert (demo / "master-tracker.xlsx").read_bytes() == master
    assert run(demo, "status").exit_code == 0  # reading needs no lock
