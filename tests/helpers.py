"""Shared helpers for the collect tests: a generated plan, sponsors filling returns, lookups.

Layout of a generated return (template implementation-plan): the header is on row 4
and the actions start on row 5, in plan order. Columns of the Actions sheet:

    A Ref  B Big Action  C Action  D Responsible  E Due  F Measure  G Target
    H Last RAG  I Last progress  J Progress  K RAG  L Actual  M Revised due  N Comments

Helen Watson has BA1.01 (row 5), BA1.02 (row 6), BA1.03 (row 7); Sharon McAlees has
BA3.01, BA3.02; Allen Stevenson has BA3.01, BA3.02, BA4.01 (BA3 is joint).
"""

from __future__ import annotations

import html
import re
import shutil
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
from conftest import BA1, BA3, SPONSORS, make_plan_folder
from openpyxl.workbook.workbook import Workbook

from xlplan.collect import Collected, collect
from xlplan.generate import generate
from xlplan.issues import Issue
from xlplan.ledger import Ledger
from xlplan.merge import Outcome
from xlplan.plan import Plan, load_plan
from xlplan.plan_folder import PlanFolder
from xlplan.samples.sponsor import fill_return

CYCLE = "2025-Q3"
SPG = date(2025, 10, 2)  # deadline (and the date rules' "as of"): 2025-09-11
DEADLINE = date(2025, 9, 11)
TODAY = date(2025, 9, 20)
PREVIOUS = "2025-Q2"
PREVIOUS_SPG = date(2025, 7, 3)  # deadline 2025-06-12
HELEN, SHARON, ALLEN = (s.name for s in SPONSORS)
FIRST_ROW = 5

# Returns that raise no error and no warning.
CLEAN: dict[str, dict[str, dict[str, Any]]] = {
    HELEN: {
        "BA1.01": {
            "progress": "Recruitment of two link workers delayed",
            "rag": "Amber",
            "actual": 1190,
            "revised_due": date(2026, 3, 31),
        },
        "BA1.02": {"progress": "All six locality plans published in June 2023", "rag": "Blue"},
        "BA1.03": {"progress": "Survey in the field", "rag": "Green", "actual": 86},
    },
    SHARON: {
        "BA3.01": {"progress": "Strategy drafted", "rag": "Green"},
        "BA3.02": {"progress": "Training on track", "rag": "Green", "actual": 420},
    },
    ALLEN: {
        "BA3.01": {"progress": "Consultation delayed by a month", "rag": "Amber"},
        "BA3.02": {"progress": "Training on track", "rag": "Green", "actual": 400},
        "BA4.01": {"progress": "950 households now have TEC", "rag": "Green", "actual": 950},
    },
}
FEEDBACK = {
    HELEN: {BA1: {"feedback": "People value the link workers", "case_study": "Mrs A's story"}},
    SHARON: {BA3: {"feedback": "Staff want more training"}},
}


@dataclass
class Env:
    """A plan folder with one or more cycles generated."""

    folder: PlanFolder
    plan: Plan

    def outgoing(self, who: str, cycle: str = CYCLE) -> Path:
        return self.folder.outgoing_dir(cycle) / f"{cycle} return - {who}.xlsx"

    def fill(
        self,
        who: str,
        actions: dict[str, dict[str, Any]] | None = None,
        name: str | None = None,
        *,
        cycle: str = CYCLE,
        feedback: dict[str, dict[str, str]] | None = None,
        into: Path | None = None,
        src: Path | None = None,
    ) -> Path:
        """A sponsor fills the workbook sent to them (openpyxl, as in Excel) into returns/."""
        dst = (into or self.folder.returns_dir) / (name or f"{who} {cycle}.xlsx")
        dst.parent.mkdir(parents=True, exist_ok=True)
        fill_return(
            src or self.outgoing(who, cycle),
            dst,
            self.plan.template,
            CLEAN[who] if actions is None else actions,
            feedback,
        )
        return dst

    def collect(self, **kwargs: Any) -> Collected:
        kwargs.setdefault("render", False)
        kwargs.setdefault("today", TODAY)
        return collect(self.plan, **kwargs)

    @contextmanager
    def ledger(self) -> Iterator[Ledger]:
        with Ledger(self.folder.ledger_file) as ledger:
            yield ledger

    def counts(self) -> dict[str, int]:
        with self.ledger() as ledger:
            return ledger.counts()

    def entries(self, cycle: str = CYCLE, sheet: str = "Actions") -> dict[tuple[str, str], dict[str, Any]]:
        with self.ledger() as ledger:
            return ledger.entries(cycle, sheet)


def make_env(root: Path, cycles: tuple[tuple[str, date], ...] = ((CYCLE, SPG),)) -> Env:
    folder = make_plan_folder(root)
    plan = load_plan(folder)
    for cycle, spg in cycles:
        generate(plan, cycle, spg_date=spg, deadline=None)
    return Env(folder, plan)


_PRISTINE: dict[tuple[tuple[str, date], ...], Path] = {}


def copy_env(factory: Any, root: Path, cycles: tuple[tuple[str, date], ...] = ((CYCLE, SPG),)) -> Env:
    """A fresh copy of a plan folder generated once per session (generating costs ~0.25 s)."""
    if cycles not in _PRISTINE:
        _PRISTINE[cycles] = make_env(factory.mktemp("pristine") / "plan", cycles).folder.root
    shutil.copytree(_PRISTINE[cycles], root)
    folder = PlanFolder(root)
    return Env(folder, load_plan(folder))


def outcome_for(result: Collected, name: str) -> Outcome:
    return next(o for o in result.outcomes if o.path.name == name)


def only(result: Collected) -> Outcome:
    assert len(result.outcomes) == 1, [o.path.name for o in result.outcomes]
    return result.outcomes[0]


def issues(outcome: Outcome, code: str | None = None, severity: str | None = None) -> list[Issue]:
    return [
        i
        for i in outcome.report.issues
        if (code is None or i.code == code) and (severity is None or i.severity == severity)
    ]


def one(outcome: Outcome, code: str) -> Issue:
    """The single issue with `code` (and a readable failure listing all issues if not)."""
    found = issues(outcome, code)
    assert len(found) == 1, describe(outcome)
    return found[0]


def describe(outcome: Outcome) -> str:
    lines = [f"{outcome.path.name}: {outcome.status} {outcome.detail}"]
    lines += [f"  {i.severity} {i.where} {i.code}: {i.message}" for i in outcome.report.issues]
    return "\n".join(lines)


def codes(outcome: Outcome, severity: str | None = None) -> list[str]:
    return sorted(i.code for i in issues(outcome, severity=severity))


def edit_workbook(path: Path, change: Callable[[Workbook], None], dst: Path | None = None) -> Path:
    """What a person does in Excel beyond typing values: openpyxl stands in for the client."""
    book = openpyxl.load_workbook(path)
    change(book)
    book.save(dst or path)
    return dst or path


def move_rows(ws: Any, moves: dict[int, int | None], last_col: int = 14) -> None:
    """Move whole rows: {from row: to row, or None to drop it}, keeping text as text.

    openpyxl would turn a moved "=Publish..." into a formula; Excel keeps it as text.
    """
    saved = {r: [(ws.cell(r, c).value, ws.cell(r, c).data_type) for c in range(1, last_col + 1)] for r in moves}
    for r in moves:
        for c in range(1, last_col + 1):
            ws.cell(r, c).value = None
    for r, to in moves.items():
        if to is None:
            continue
        for c, (value, kind) in enumerate(saved[r], start=1):
            copy_cell(ws.cell(to, c), value, kind)


def copy_cell(cell: Any, value: Any, kind: str) -> None:
    cell.value = value
    if kind == "s" and isinstance(value, str):
        cell.data_type = "s"


def manifest_rows(book: Workbook) -> dict[str, Any]:
    """The `_xlplan` sheet's identity rows as {key: cell} (so a test can alter one)."""
    ws = book["_xlplan"]
    return {row[0].value: row[1] for row in ws.iter_rows(min_col=1, max_col=2) if row[0].value}


def odd_headers(path: Path) -> dict[str, str]:
    """Each worksheet part's page header (<oddHeader>) as Excel reads it: XML entities undone,
    so "&&" is the header code for one "&" (a single "&" starts a code such as &L or &A)."""
    with zipfile.ZipFile(path) as z:
        parts = [n for n in z.namelist() if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", n)]
        found = {n: re.search(rb"<oddHeader>(.*?)</oddHeader>", z.read(n)) for n in parts}
    return {n: html.unescape(m.group(1).decode()) if m else "" for n, m in found.items()}
