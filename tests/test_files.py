"""Files written atomically: whole or not at all, and readable as any new file would be."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from xlplan.files import atomic_path


def test_an_atomic_file_gets_the_mode_open_gives(tmp_path: Path) -> None:
    target = tmp_path / "master-tracker.xlsx"
    with atomic_path(target) as tmp:
        tmp.write_bytes(b"new")
    plain = tmp_path / "plain.txt"
    plain.write_bytes(b"x")  # what open() makes, under this process's umask
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode)
    if sys.platform != "win32":
        assert stat.S_IMODE(target.stat().st_mode) & stat.S_IRGRP  # not mkstemp's 0600: colleagues can open it


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "master-tracker.xlsx"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("killed mid-write")
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["master-tracker.xlsx"]
