"""Work spread over processes gives exactly what one process gives, and a dead worker is an error."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner
from helpers import ALLEN, CLEAN, CYCLE, HELEN, SHARON, SPG, TODAY, copy_env
from libreoffice import convert

from xlplan import workers
from xlplan.cli import main
from xlplan.gaps import Gaps, find_gaps
from xlplan.generate import generate
from xlplan.master import build, context
from xlplan.ooxml import sheet_parts
from xlplan.workers import WorkerError, chunks, default_jobs, map_tasks


def _square_with_pid(offset: int, n: int) -> tuple[int, int]:
    return n * n + offset, os.getpid()


def _die(_context: Any, n: int) -> int:
    if n == 3:
        os._exit(9)  # as the kernel's out-of-memory killer would end it
    return n


def test_tasks_run_in_other_processes_and_come_back_in_order() -> None:
    results = list(map_tasks(_square_with_pid, 1, list(range(20)), jobs=2))
    assert [r for r, _ in results] == [n * n + 1 for n in range(20)]
    assert os.getpid() not in {pid for _, pid in results}
    serial = list(map_tasks(_square_with_pid, 1, list(range(20)), jobs=1))
    assert [r for r, _ in serial] == [r for r, _ in results]
    assert {pid for _, pid in serial} == {os.getpid()}


def test_a_worker_that_dies_is_reported_not_ignored() -> None:
    with pytest.raises(WorkerError, match="--jobs 1"):
        list(map_tasks(_die, None, list(range(6)), jobs=2))


def test_chunks_keep_every_item_once_in_order() -> None:
    items = list(range(23))
    for jobs, count in ((1, 1), (2, 8), (3, 12), (8, 23)):  # about four pieces a job, at most one item each
        pieces = chunks(items, jobs)
        assert [i for piece in pieces for i in piece] == items
        assert len(pieces) == count, jobs
    assert chunks([], 4) == []
    assert chunks(list(range(5)), 2) == [list(range(5))]  # a council's few files: one piece, no workers
    assert 1 <= default_jobs() <= 8


def _returns(env: Any, copy_to: Any = None) -> None:
    """Three returns and a copy of one; `copy_to` gets the very same files (a file saved a
    second later differs in its timestamps, and so in its hash)."""
    env.fill(HELEN)
    env.fill(ALLEN)
    bad = {ref: dict(values) for ref, values in CLEAN[SHARON].items()}
    bad["BA3.01"]["rag"] = "Grenn"
    env.fill(SHARON, bad)  # quarantined: K5
    returns = env.folder.returns_dir
    (returns / f"{HELEN} copy.xlsx").write_bytes((returns / f"{HELEN} {CYCLE}.xlsx").read_bytes())
    if copy_to is not None:
        for path in returns.iterdir():
            (copy_to.folder.returns_dir / path.name).write_bytes(path.read_bytes())


def _ledger_rows(env: Any) -> tuple[list[Any], list[Any]]:
    with env.ledger() as ledger:
        entries = ledger.db.execute(
            "SELECT cycle, recipient, sheet, ref, fields FROM entries ORDER BY rowid"
        ).fetchall()
        audit = [
            {k: getattr(a, k) for k in ("cycle", "recipient", "sheet", "ref", "field", "old", "new")}
            for a in ledger.audit()
        ]
    return entries, audit


def test_collect_in_processes_gives_what_one_process_gives(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(workers, "PARALLEL_FROM_FILES", 1)  # four files are shared out too
    one, many = copy_env(tmp_path_factory, tmp_path / "one"), copy_env(tmp_path_factory, tmp_path / "many")
    _returns(one, many)
    serial, parallel = one.collect(jobs=1), many.collect(jobs=3)
    assert [o.as_dict() for o in parallel.outcomes] == [o.as_dict() for o in serial.outcomes]
    assert {o.status for o in serial.outcomes} == {"merged", "quarantined", "duplicate"}
    dup = next(o for o in parallel.outcomes if o.status == "duplicate")
    assert dup.recipient == HELEN  # filled in from its twin, read after it was seen
    bad = next(o for o in parallel.outcomes if o.status == "quarantined")
    assert [(i.cell, i.code) for i in bad.report.errors] == [("K5", "bad-choice")]
    assert _ledger_rows(many) == _ledger_rows(one)
    assert _ledger_rows(one)[0]  # something was merged


def test_generate_in_processes_writes_the_same_workbooks(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(workers, "PARALLEL_FROM_FILES", 1)
    one, many = copy_env(tmp_path_factory, tmp_path / "one"), copy_env(tmp_path_factory, tmp_path / "many")
    a = generate(one.plan, "2026-Q1", spg_date=SPG, deadline=None, jobs=1)
    b = generate(many.plan, "2026-Q1", spg_date=SPG, deadline=None, jobs=2)
    assert [(who, p.name, n) for who, p, n in a.files] == [(who, p.name, n) for who, p, n in b.files]
    for (_, left, _), (_, right, _) in zip(a.files, b.files, strict=True):
        with zipfile.ZipFile(left) as x, zipfile.ZipFile(right) as y:
            parts = sheet_parts(x)
            assert parts == sheet_parts(y)
            for name in ("Instructions", "Actions", "Feedback"):
                assert x.read(parts[name]) == y.read(parts[name]), (left.name, name)


def test_jobs_option(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    env = copy_env(tmp_path_factory, tmp_path / "plan")
    runner = CliRunner()
    bad = runner.invoke(main, ["--plan", str(env.folder.root), "collect", "--jobs", "0"])
    assert bad.exit_code == 2 and "0 is not in the range x>=1" in bad.output
    env.fill(HELEN)
    env.fill(ALLEN)
    ok = runner.invoke(main, ["--plan", str(env.folder.root), "collect", "-j", "1"], env={"XLPLAN_JOBS": "5"})
    assert ok.exit_code == 0, ok.output
    assert "merged" in ok.output


@pytest.fixture
def masters(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Any, Path, Path]:
    """The sample's master rendered in this process alone, and with a worker and threads."""
    env = copy_env(tmp_path_factory, tmp_path / "plan")
    _returns(env)
    env.collect(jobs=1)
    monkeypatch.setattr(build, "PARALLEL_FROM_ITEMS", 1)  # the sample plan is far below the real threshold
    monkeypatch.setattr(context, "_now", lambda: datetime(2025, 10, 2, 9, 30))  # one "Rendered at" for both
    one, two = tmp_path / "one.xlsx", tmp_path / "two.xlsx"
    found: list[str] = []

    def gaps() -> Gaps:  # with a worker, found while it builds
        found.append("found")
        return find_gaps(env.plan, ledger, CYCLE, TODAY)

    with env.ledger() as ledger:
        build.render_master(env.plan, ledger, CYCLE, find_gaps(env.plan, ledger, CYCLE, TODAY), one, jobs=1)
        build.render_master(env.plan, ledger, CYCLE, gaps, two, jobs=2)
    assert found == ["found"]
    return env, one, two


def test_master_built_partly_in_a_worker_is_the_same_file(masters: tuple[Any, Path, Path]) -> None:
    env, one, two = masters
    with zipfile.ZipFile(one) as x, zipfile.ZipFile(two) as y:
        assert x.testzip() is None and y.testzip() is None
        assert x.namelist() == y.namelist()
        for name in x.namelist():
            assert x.read(name) == y.read(name), name
        status = y.read(sheet_parts(y)["Current status"])
    assert b"BA1.01" in status and status.count(b"<row ") > len(env.plan.items)  # the worker's cells are there


@pytest.mark.libreoffice
def test_master_compressed_in_pieces_opens_in_libreoffice(masters: tuple[Any, Path, Path], tmp_path: Path) -> None:
    """Its big sheets are DEFLATE pieces joined (zipwriter): a real spreadsheet program reads them."""
    env, _, two = masters
    saved = convert(two, tmp_path / "lo", "xlsx")
    book = openpyxl.load_workbook(saved, read_only=True)
    refs = [row[0] for row in book["Current status"].iter_rows(min_row=5, max_col=1, values_only=True)]
    assert refs == [item["ref"] for item in env.plan.items]
    assert book.sheetnames[:1] == ["Dashboard"] and "Trend" in book.sheetnames


def test_a_worker_started_before_the_gaps_cannot_use_them(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    env = copy_env(tmp_path_factory, tmp_path / "plan")
    with env.ledger() as ledger:
        early = context.gather(env.plan, ledger, CYCLE)
        with pytest.raises(RuntimeError, match="needs the gaps"):
            early.gaps  # noqa: B018
        ctx = early.with_gaps(ledger, find_gaps(env.plan, ledger, CYCLE, TODAY))
    assert ctx.gaps.cycle == CYCLE and ctx.summary.cycle == CYCLE


def test_everything_also_works_with_spawned_workers(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Windows and macOS spawn their workers, which then get the plan pickled, not inherited."""
    import multiprocessing

    monkeypatch.setattr(workers, "_start_method", lambda: multiprocessing.get_context("spawn"))
    monkeypatch.setattr(workers, "PARALLEL_FROM_FILES", 1)
    monkeypatch.setattr(build, "PARALLEL_FROM_ITEMS", 1)
    one, many = copy_env(tmp_path_factory, tmp_path / "one"), copy_env(tmp_path_factory, tmp_path / "many")
    _returns(one, many)
    serial, spawned = one.collect(jobs=1, render=True), many.collect(jobs=2, render=True)
    assert [o.as_dict() for o in spawned.outcomes] == [o.as_dict() for o in serial.outcomes]
    assert _ledger_rows(many) == _ledger_rows(one)
    assert spawned.feedback and spawned.master is not None and spawned.master.is_file()
    gen = generate(many.plan, "2026-Q1", spg_date=SPG, deadline=None, jobs=2)
    assert len(gen.files) == len(many.plan.recipients)


ORPHANS = """
import os, signal, sys, time
from xlplan.workers import started
from tests_helpers_sleep import slow
with started(slow, None, [1, 2], 2) as results:
    for _ in range(600):  # until both workers are in their task (a minute at most)
        if len(os.listdir("started")) == 2:
            break
        time.sleep(0.1)
    print(" ".join(os.popen(f"pgrep -P {os.getpid()}").read().split()), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forked workers and prctl are Linux's")
def test_workers_do_not_outlive_a_killed_run(tmp_path: Path) -> None:
    (tmp_path / "started").mkdir()
    (tmp_path / "tests_helpers_sleep.py").write_text(
        "import pathlib, time\n\ndef slow(_c, t):\n    pathlib.Path('started', str(t)).touch()\n"
        "    time.sleep(60)\n    return t\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", ORPHANS], cwd=tmp_path, capture_output=True, text=True, timeout=60,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
    )  # fmt: skip
    assert done.returncode == -signal.SIGKILL, done.stderr
    children = [int(pid) for pid in done.stdout.split()]
    assert len(children) >= 2 and len(os.listdir(tmp_path / "started")) == 2
    for _ in range(300):  # the kernel ends them at once; their exit may take a moment to show
        if not any(_running(pid) for pid in children):
            break
        time.sleep(0.1)
    assert [pid for pid in children if _running(pid)] == [], "worker processes outlived the run"


def _running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's exit status may wait for a reaper in a container)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def _dies_in_the_worker(_book: Any, _styles: Any, _ctx: Any) -> None:
    os._exit(9)  # as the kernel's out-of-memory killer would end it


def test_a_master_worker_that_dies_says_the_ledger_has_the_returns_and_the_next_run_writes_the_master(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = copy_env(tmp_path_factory, tmp_path / "plan")
    env.fill(HELEN)
    env.fill(ALLEN)
    monkeypatch.setattr(build, "PARALLEL_FROM_ITEMS", 1)
    monkeypatch.setattr(build, "PARALLEL_GROUPS", ((_dies_in_the_worker,),))
    runner = CliRunner()
    args = ["--plan", str(env.folder.root), "collect", "-j", "2"]
    died = runner.invoke(main, args)
    assert died.exit_code == 1, died.output
    assert "A worker process stopped unexpectedly (out of memory?); the master tracker was not written" in died.output
    assert "the ledger was not changed" not in died.output
    assert not env.folder.master_file.exists()
    with env.ledger() as ledger:
        assert {who for who, _ref in ledger.entries(CYCLE, "Actions")} == {HELEN, ALLEN}
    monkeypatch.undo()
    again = runner.invoke(main, args)
    assert "already collected" in again.output.lower(), again.output
    assert env.folder.master_file.is_file()  # written from the ledger, though no return was new


def test_a_locked_master_falls_back_with_the_workers_cells(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker's cells are waited for once and go into the file written beside a locked master too."""
    import xlplan.files

    env = copy_env(tmp_path_factory, tmp_path / "plan")
    _returns(env)
    env.collect(jobs=1)
    target = env.folder.master_file
    target.write_bytes(b"open in Excel")
    real_replace = os.replace

    def replace(src: Any, dst: Any) -> None:
        if Path(dst) == target:
            raise PermissionError(13, "The process cannot access the file", str(dst))
        real_replace(src, dst)

    monkeypatch.setattr(xlplan.files.os, "replace", replace)
    monkeypatch.setattr(build, "PARALLEL_FROM_ITEMS", 1)
    with env.ledger() as ledger:
        rendered = build.render_master(env.plan, ledger, CYCLE, find_gaps(env.plan, ledger, CYCLE, TODAY), jobs=2)
    assert rendered.fallback and target.read_bytes() == b"open in Excel"
    book = openpyxl.load_workbook(rendered.path, read_only=True)
    refs = [row[0] for row in book["Current status"].iter_rows(min_row=5, max_col=1, values_only=True)]
    assert refs == [item["ref"] for item in env.plan.items]
