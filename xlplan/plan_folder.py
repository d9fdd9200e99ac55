"""The plan folder: where a plan's files live, and finding it from the current folder.

A plan lives in one folder, like a git repository::

    my-plan/
      plan.xlsx            the officer's own workbook: what is tracked (never written by xlplan)
      ledger.sqlite        xlplan's memory of every cycle (statuses, changes, returns)
      master-tracker.xlsx  rendered afresh from plan + ledger for the SPG
      outgoing/2025-Q3/    workbooks to send to sponsors this cycle
      returns/             drop the returned attachments here
      feedback/2025-Q3/    annotated copies of returns that need fixing
      archive/             every ingested return, by content hash
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from xlplan.errors import PlanError

PLAN_FILE = "plan.xlsx"


@dataclass(frozen=True)
class PlanFolder:
    root: Path

    @property
    def plan_file(self) -> Path:
        return self.root / PLAN_FILE

    @property
    def cache_file(self) -> Path:
        """plan.xlsx as last read, kept to skip re-reading it while it is unchanged."""
        return self.root / ".xlplan-cache" / "plan.json"

    @property
    def ledger_file(self) -> Path:
        return self.root / "ledger.sqlite"

    @property
    def master_file(self) -> Path:
        return self.root / "master-tracker.xlsx"

    @property
    def returns_dir(self) -> Path:
        return self.root / "returns"

    @property
    def archive_dir(self) -> Path:
        return self.root / "archive"

    def outgoing_dir(self, cycle: str) -> Path:
        return self.root / "outgoing" / cycle

    def feedback_dir(self, cycle: str) -> Path:
        return self.root / "feedback" / cycle

    def make_dirs(self) -> None:
        for d in (
            self.returns_dir,
            self.archive_dir,
            self.root / "outgoing",
            self.root / "feedback",
        ):
            d.mkdir(parents=True, exist_ok=True)


def find_folder(start: Path) -> PlanFolder:
    """The plan folder at `start`, or the nearest parent holding a plan.xlsx (like git)."""
    start = start.resolve()
    for candidate in (start, *start.parents):
        if (candidate / PLAN_FILE).is_file():
            return PlanFolder(candidate)
    raise PlanError(
        f"No plan folder here: {start} has no {PLAN_FILE} (nor do its parents). "
        "Run the command inside a plan folder, give --plan DIR, or create one with `xlplan init DIR`."
    )
