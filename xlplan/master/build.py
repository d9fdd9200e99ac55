"""Writing the master tracker's file: the sheets in order, the workers, the zip, the fallback.

The master is rendered afresh from data every time: nothing is loaded, modified and
re-saved. ``render_master`` gathers what the sheets show (``context``), writes each
sheet of ``SHEETS`` in turn and packs the file (``sheetxml.pack``).

Speed: at national scale (50,000 actions) the tables hold a million cells, and
xlsxwriter spends ~7 µs on each. So xlsxwriter writes the workbook's structure (styles,
column widths, panes, filters, print setup, the Dashboard and its charts) and the
cells of every other sheet are written as sheet XML, row by row, and streamed into the
file when it is packed. With several cores and a large plan, a worker process builds
the biggest sheet's cells (``PARALLEL_GROUPS``) while this one writes the rest, and a
thread compresses each sheet written here while the next one is written.

The file is written beside the target and renamed into place (``files.atomic_path``).
If the master is open in Excel on Windows the rename fails; the tracker is then
written under a new name beside it (``fallback_path``), so the officer still gets this
cycle's tracker.
"""

from __future__ import annotations

import functools
import io
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.exceptions import XlsxWriterException
from xlsxwriter.workbook import Workbook

from xlplan import __version__
from xlplan.errors import OutputError, UsageError
from xlplan.files import atomic_path, safe_filename
from xlplan.gaps import Gaps
from xlplan.ledger import Ledger
from xlplan.master.changes import write_changes
from xlplan.master.context import Context, gather
from xlplan.master.current_status import write_current_status, write_trend
from xlplan.master.dashboard import write_dashboard
from xlplan.master.decisions_sheet import write_decisions
from xlplan.master.feedback_sheet import write_feedback
from xlplan.master.gaps_sheet import write_gaps
from xlplan.master.outcomes_sheet import write_outcomes
from xlplan.master.plan_changes_sheet import write_plan_changes
from xlplan.master.ratings_sheet import write_ratings
from xlplan.master.returns_sheet import write_returns
from xlplan.master.risk_register import write_risk_register
from xlplan.master.sheets import Book, SheetWriter, Styles
from xlplan.master.timescales import write_timescales
from xlplan.plan import Plan
from xlplan.sheetxml import BOOK_OPTIONS, pack
from xlplan.workers import gc_paused, started
from xlplan.zipwriter import Deflated, deflate

# The sheets, in order: what the SPG decides on first, then the detail behind it. A
# writer returns None, and adds no sheet, where its sheet is not for this kind of return.
SHEETS: tuple[SheetWriter, ...] = (
    write_dashboard,
    write_outcomes,
    write_ratings,
    write_risk_register,
    write_changes,
    write_timescales,
    write_decisions,
    write_plan_changes,
    write_current_status,
    write_trend,
    write_gaps,
    write_feedback,
    write_returns,
)
# With several cores and a large plan, a worker process builds Current status (the
# biggest sheet by far, which needs no gaps) while this one finds the gaps and writes the
# rest. Measured on two cores at 50,000 actions (render alone, 4 runs each): Current status
# alone 2.8-3.0 s; giving the worker Trend too 2.9-3.4 s, Trend and Timescales 3.3-3.7 s,
# or a second worker for those two 2.9-3.7 s.
PARALLEL_GROUPS: tuple[tuple[SheetWriter, ...], ...] = ((write_current_status,),)
PARALLEL_FROM_ITEMS = 5_000  # plan items: below this, starting a worker costs more than it saves
MASTER_LOST = (
    "the master tracker was not written, and the ledger has this run's returns "
    "(the next `xlplan collect` writes the master from it)"
)


class MasterLocked(OutputError):
    """The target could not be replaced: it is open in another program (Excel on Windows)."""


@dataclass
class Rendered:
    path: Path  # where it was written
    fallback: bool  # True if target was locked (open in Excel) and we wrote elsewhere


@dataclass(frozen=True)
class BuildJob:
    """What a worker is asked for: the cells of the sheets of PARALLEL_GROUPS[group]."""

    group: int


@dataclass(frozen=True)
class BuiltSheet:
    """One sheet's cells as a worker built them: its <sheetData>, compressed, and its extent."""

    cells: Deflated
    last_row: int
    last_col: int


@dataclass(frozen=True)
class Built:
    """A worker's sheets (by name), and the style number it gave each format (by format key)."""

    sheets: dict[str, BuiltSheet]
    style_indices: dict[Any, int]


def render_master(
    plan: Plan,
    ledger: Ledger,
    cycle: str,
    gaps: Gaps | Callable[[], Gaps],
    target: Path | None = None,
    jobs: int = 1,
) -> Rendered:
    """Write the master tracker for `cycle` to `target` (default: the plan folder's).

    With `jobs` > 1 and a large plan, a worker process builds the biggest sheets' cells,
    which need no gaps: give `gaps` as the function that finds them, and they are found
    while the worker builds.
    """
    target = target or plan.folder.master_file
    early = gather(plan, ledger, cycle)
    parallel = jobs > 1 and len(plan.items) >= PARALLEL_FROM_ITEMS
    tasks = [BuildJob(group) for group in range(len(PARALLEL_GROUPS))] if parallel else []
    with started(_build, early, tasks, jobs, MASTER_LOST) as building:
        found = gaps() if callable(gaps) else gaps
        if found.cycle != cycle:
            raise UsageError(f"The gaps given are for {found.cycle}, not {cycle}.")
        ctx = early.with_gaps(ledger, found)
        built = functools.cache(lambda: list(building))  # waited for once; a fallback book reuses them
        try:
            _write_book(target, ctx, built, parallel)
            return Rendered(target, fallback=False)
        except MasterLocked:
            pass  # the master is open in Excel: leave it as it is and write a new file beside it
        other = fallback_path(target, cycle, ctx.rendered_at)
        _write_book(other, ctx, built, parallel)
        return Rendered(other, fallback=True)


def fallback_path(target: Path, cycle: str, when: datetime) -> Path:
    """`master-tracker (2025-Q3 20250920-141500).xlsx` beside `target`."""
    stem = safe_filename(f"{target.stem} ({cycle} {when:%Y%m%d-%H%M%S})", limit=120)
    return target.with_name(stem + (target.suffix or ".xlsx"))


def _write_book(path: Path, ctx: Context, built: Callable[[], list[Built]], parallel: bool) -> None:
    """The workbook; when `parallel`, the cells of PARALLEL_GROUPS' sheets come from `built`,
    and each sheet written here is compressed by a thread while the next one is written."""
    try:
        with atomic_path(path) as tmp, ThreadPoolExecutor(2 if parallel else 1) as threads:
            buffer = io.BytesIO()
            workbook = xlsxwriter.Workbook(buffer, BOOK_OPTIONS)
            book = Book(workbook)
            styles = Styles(workbook, ctx.template)
            with gc_paused():
                for writer in SHEETS:  # while the workers build their sheets' cells
                    book.defer = parallel and any(writer in group for group in PARALLEL_GROUPS)
                    writer(book, styles, ctx)
                    if parallel:
                        _compress_done(book, threads)
                for result in built():
                    _take(book, workbook, result)
            workbook.set_properties(_properties(ctx))
            workbook.close()
            pack(buffer.getvalue(), tmp, book.data)
    except OutputError as exc:  # only atomic_path raises it: the rename into place failed
        raise MasterLocked(str(exc)) from exc
    except (OSError, XlsxWriterException, zipfile.BadZipFile) as exc:
        raise OutputError(f"Cannot write {path}: {getattr(exc, 'strerror', None) or exc}.") from exc


def _compress_done(book: Book, threads: ThreadPoolExecutor) -> None:
    """Start compressing the sheets written so far (zlib works outside the GIL)."""
    for data in book.data.values():
        if data.compressed is None and not data.deferred:
            data.compressed = threads.submit(deflate, data.chunks())


def _build(ctx: Context, job: BuildJob) -> Built:
    """In a worker: the cells of one group of sheets, compressed, and the style indices they used."""
    workbook = xlsxwriter.Workbook(io.BytesIO(), BOOK_OPTIONS)  # never closed: only its styles are used
    book = Book(workbook)
    styles = Styles(workbook, ctx.template)
    with gc_paused():
        for writer in PARALLEL_GROUPS[job.group]:
            writer(book, styles, ctx)
    sheets = {name: BuiltSheet(data.deflated(), data.last_row, data.last_col) for name, data in book.data.items()}
    return Built(sheets, dict(workbook.xf_format_indices))


def _take(book: Book, workbook: Workbook, built: Built) -> None:
    """A worker's cells into the deferred sheets, checked against what this process laid out."""
    if any(workbook.xf_format_indices.get(key) != index for key, index in built.style_indices.items()):
        raise RuntimeError("a worker numbered the cell styles differently: a format is not made in Styles")
    for name, sheet in built.sheets.items():
        data = book.data[name]
        if not data.deferred or (data.last_row, data.last_col) != (sheet.last_row, sheet.last_col):
            raise RuntimeError(f"the '{name}' sheet built by a worker does not match its layout")
        data.compressed = sheet.cells


def _properties(ctx: Context) -> dict[str, Any]:
    return {
        "title": f"{ctx.plan.title}: master tracker {ctx.cycle}",
        "subject": f"{ctx.template.title}, {ctx.cycle}",
        "author": f"xlplan {__version__}",
        "company": ctx.plan.title,
        "comments": f"Rendered from the plan and the ledger on {ctx.rendered_at:%d/%m/%Y %H:%M}.",
        "created": ctx.rendered_at,
    }
