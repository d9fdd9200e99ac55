"""`xlplan check`: the ledger's integrity, and whether the ledger, the archive and the master agree."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from xlplan.cli import main
from xlplan.ledger import Ledger


@pytest.fixture
def demo(built_demo: Path, tmp_path: Path) -> Path:
    root = tmp_path / "demo"
    shutil.copytree(built_demo, root)
    return root


def check(root: Path) -> Any:
    result = CliRunner().invoke(main, ["--plan", str(root), "check"])
    assert "Traceback" not in result.output
    return result


def findings(root: Path) -> dict[str, list[tuple[str, str]]]:
    result = CliRunner().invoke(main, ["--plan", str(root), "check", "--json"])
    out: dict[str, list[tuple[str, str]]] = {}
    for f in json.loads(result.stdout)["findings"]:
        out.setdefault(f["topic"], []).append((f["level"], f["text"]))
    return out


def test_a_sound_folder(demo: Path) -> None:
    before = (demo / "ledger.sqlite").read_bytes()
    result = check(demo)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"Checked {demo}" and lines[-1] == "All is well."
    assert "  ok      The ledger passes SQLite's integrity check (2 cycle(s))." in lines
    assert "  ok      The archive holds every return the ledger lists (9), unchanged." in lines
    assert "  ok      master-tracker.xlsx shows the ledger as it is (cycle 2023-Q3)." in lines
    assert (demo / "ledger.sqlite").read_bytes() == before


def test_a_return_missing_from_the_archive_or_altered(demo: Path) -> None:
    archived = sorted(p for p in (demo / "archive").rglob("*") if p.is_file())
    archived[0].unlink()
    archived[1].write_bytes(b"changed")
    result = check(demo)
    assert result.exit_code == 1
    assert result.stdout.splitlines()[-1] == "2 problem(s) found: see above."
    levels = findings(demo)["archive"]
    assert [lvl for lvl, _ in levels] == ["problem", "problem"]
    assert "missing from archive/" in levels[0][1] and "no longer match" in levels[1][1]


def test_an_out_of_date_or_missing_master(demo: Path) -> None:
    with Ledger(demo / "ledger.sqlite") as ledger:
        ledger.bump_state()
    assert check(demo).exit_code == 0  # a warning: collect rebuilds it
    (master,) = findings(demo)["master"]
    assert master == (
        "warning",
        "master-tracker.xlsx is out of date (it is older than the ledger): run `xlplan collect` to rebuild it.",
    )
    (demo / "master-tracker.xlsx").unlink()
    assert check(demo).exit_code == 1
    assert findings(demo)["master"] == [
        ("problem", "master-tracker.xlsx is missing: run `xlplan collect` to write it again.")
    ]


def test_a_damaged_or_lost_ledger_is_a_problem_with_the_cure(demo: Path) -> None:
    (demo / "ledger.sqlite").write_bytes(b"SQLite format 3\x00" + b"\x00" * 100)
    result = check(demo)
    assert result.exit_code == 1
    assert "xlplan backups restore ledger_" in result.stdout
    (demo / "ledger.sqlite").unlink()
    result = check(demo)
    assert result.exit_code == 1
    assert f"The ledger {demo / 'ledger.sqlite'} is missing, but the folder has a history" in result.stdout


def test_leftovers_and_conflict_copies_are_named(demo: Path) -> None:
    shutil.copy(demo / "ledger.sqlite", demo / "ledger-PC-0421.sqlite")
    (demo / "ledger.sqlite-wal").write_bytes(b"")
    files = [text for _lvl, text in findings(demo)["files"]]
    assert any(t.startswith("ledger.sqlite-wal is beside the ledger while no command runs") for t in files)
    assert any(t.startswith("ledger-PC-0421.sqlite is a second copy of the ledger") for t in files)
