"""Clean returns -> ledger changes, in one transaction; every file archived by its hash.

A return is merged whole or not at all. Each merged value that differs from what
the ledger last knew for that action and field is written to the audit trail.
Idempotence comes from the file hash: a file already in the ledger is never merged twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from xlplan.files import atomic_path, checkpoint
from xlplan.issues import Report
from xlplan.ledger import Changes, Key, Ledger, ReturnRecord, now, plain
from xlplan.template import Template
from xlplan.validate import Validated
from xlplan.workers import gc_paused

# A file's fate in a collect run (the "outcome" of --json and of the ledger's returns log).
# late: a return for an earlier generated cycle; other-cycle: for a later one (seen while filing a
# late return). Neither is recorded: collect says which command collects it.
Status = Literal["merged", "quarantined", "superseded", "conflict", "unchanged", "duplicate", "late", "other-cycle"]


@dataclass
class Outcome:
    """One file's fate in a collect run."""

    path: Path
    sha256: str
    report: Report
    recipient: str = ""
    cycle: str = ""
    status: Status = "quarantined"  # until it is judged: nothing of a file is merged unless it is clean
    detail: str = ""
    validated: Validated | None = None
    raw_rows: dict[str, dict[str, Any]] | None = None  # ref -> raw editable values, for feedback copies
    raw_groups: dict[str, dict[str, str]] | None = None  # group -> field -> text, for feedback copies
    mtime: float = 0.0  # the file's modification time (an email's: when it was sent), for --prefer newest
    email: Path | None = None  # the saved email (.eml, .msg) it came attached to
    email_sha256: str = ""  # that email's bytes, archived under their hash
    sender: str = ""  # that email's sender's address

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.path.name,
            "sha256": self.sha256,
            "recipient": self.recipient,
            "cycle": self.cycle,
            "outcome": self.status,
            "detail": self.detail,
            "errors": len(self.report.errors),
            "warnings": len(self.report.warnings),
            "issues": [i.as_dict() for i in self.report.issues],
        }


# Outcomes written to the ledger's returns log (and archived); the others change nothing.
RECORDED: tuple[Status, ...] = ("merged", "quarantined", "superseded")


def archive_path(archive_dir: Path, sha256: str, suffix: str) -> Path:
    return archive_dir / sha256[:2] / f"{sha256}{suffix.lower() or '.bin'}"


def archive_bytes(archive_dir: Path, sha256: str, suffix: str, data: bytes) -> Path:
    """Keep the exact bytes ingested (whose hash is `sha256`), named by content:
    re-archiving is a no-op."""
    target = archive_path(archive_dir, sha256, suffix)
    if not target.exists():
        with atomic_path(target) as tmp:
            tmp.write_bytes(data)
    return target


def record(
    ledger: Ledger,
    template: Template,
    outcomes: list[Outcome],
    archived: dict[str, Path],
    before_commit: Callable[[], None] | None = None,
) -> int:
    """Write every outcome of a run in ONE transaction. Returns the number of values changed.

    `before_commit` runs last inside the transaction: if it raises, nothing is written.
    """
    rows_sheet = template.rows_sheet.name
    groups_sheet = template.groups_sheet.name if template.groups_sheet else ""
    changed = 0
    stamp = now()
    earlier_by_cycle: dict[str, dict[Key, dict[str, Any]]] = {}
    with ledger.transaction(), gc_paused():  # a bounded run of long-lived rows: no collector scans
        for out in outcomes:
            if out.status not in RECORDED or not out.sha256:
                continue
            ledger.record_return(_return_record(out, archived, stamp))
            if out.status == "merged" and out.validated is not None:
                # It replaces any return merged earlier for this recipient and cycle.
                ledger.supersede_returns(out.cycle, out.recipient, kept=out.sha256)
                values = {(rows_sheet, ref): row for ref, row in out.validated.values.items()}
                values |= {(groups_sheet, g): row for g, row in out.validated.groups.items()}
                if out.cycle not in earlier_by_cycle:  # read once per run, not once per return
                    earlier_by_cycle[out.cycle] = _previous_values(ledger, out.cycle)
                changed += _merge_values(ledger, out, values, earlier_by_cycle[out.cycle], stamp)
        checkpoint("in-ledger-transaction")
        if before_commit is not None:
            before_commit()
        ledger.bump_state()
    return changed


def _return_record(out: Outcome, archived: dict[str, Path], stamp: str) -> ReturnRecord:
    return ReturnRecord(
        sha256=out.sha256,
        file=out.path.name,
        recipient=out.recipient or None,
        cycle=out.cycle or None,
        received_at=stamp,
        outcome=out.status,
        archived=str(archived.get(out.sha256, "")),
        errors=len(out.report.errors),
        warnings=len(out.report.warnings),
        issues=tuple(out.report.issues),
        file_mtime=out.mtime,
        email=str(archived.get(out.email_sha256, "")) or None if out.email_sha256 else None,
    )


def _previous_values(ledger: Ledger, cycle: str) -> dict[Key, dict[str, Any]]:
    """The last cycle's values, the 'old' side of a first change this cycle."""
    prev_cycle = ledger.previous_cycle(cycle)
    return ledger.values_of_cycle(prev_cycle) if prev_cycle else {}


def _merge_values(
    ledger: Ledger, out: Outcome, values: dict[Key, dict[str, Any]], earlier: dict[Key, dict[str, Any]], stamp: str
) -> int:
    """Replace this recipient's values for the cycle whole, auditing every value that changes."""
    current = ledger.entries_of(out.cycle, out.recipient)
    new_rows = {key: {f: plain(v) for f, v in row.items()} for key, row in values.items()}
    audit: dict[Key, Changes] = {}
    changed = 0
    for key in {**current, **new_rows}:
        now_row, new_row, last = current.get(key), new_rows.get(key, {}), earlier.get(key, {})
        if now_row is None:  # the first return for this action this cycle: the common case, kept short
            changes = {f: [last.get(f), new] for f, new in new_row.items() if new is not None and new != last.get(f)}
        else:
            changes = {}
            for fld in {**now_row, **new_row}:
                new, old = new_row.get(fld), now_row[fld] if fld in now_row else last.get(fld)
                if old != new and (fld in now_row or new is not None):
                    changes[fld] = [old, new]
        if changes:  # one audit record per action and return: its changed fields, old and new
            audit[key] = changes
            changed += len(changes)
    ledger.replace_entries(
        out.cycle, out.recipient, new_rows, return_sha=out.sha256, file=out.path.name, at=stamp, changes=audit
    )
    return changed
