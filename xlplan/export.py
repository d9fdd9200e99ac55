"""The ledger's full history as CSV or JSON, for analysts and archives.

The audit lists every value a return changed, then every change to the plan itself (logged
by generate and collect: no recipient, the file plan.xlsx, the sheet "plan: Actions" and
the like; SPG decisions are "plan: Decisions" rows). The master tracker shows what the SPG reads; everything else (every value of every
cycle, every change) stays in the ledger and leaves through here. CSV is written so
Excel opens it safely: UTF-8 with a byte-order mark, and any cell that a spreadsheet
would take for a formula (= + - @, tab, CR) prefixed with an apostrophe (OWASP's advice).
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from xlplan.ledger import EntryRecord, Ledger
from xlplan.plan import Plan
from xlplan.standing import Standing, standings

TABLES = ("entries", "audit", "returns", "standing")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def rows(ledger: Ledger, table: str, cycle: str | None = None, plan: Plan | None = None) -> list[dict[str, Any]]:
    """The records of one ledger table (of one cycle, or all), in the order they were written;
    `standing` (which needs the `plan`): where each item stood at each cycle, as the SPG saw it."""
    if table not in TABLES:
        raise ValueError(table)
    if table == "standing":
        if plan is None:
            raise ValueError("the standing table needs the plan")
        return _standings(plan, ledger, cycle)
    if table == "audit":  # one record per changed field; then the plan's own changes (no recipient)
        return [a.as_dict() for a in ledger.audit(cycle)] + [c.as_audit() for c in ledger.plan_changes(cycle)]
    if table == "returns":
        return [r.as_dict() for r in ledger.returns(cycle, order="recorded")]
    # One record per field, as a spreadsheet user expects.
    return [_entry(e, name, value) for e in ledger.entry_records(cycle) for name, value in e.fields.items()]


def _entry(e: EntryRecord, name: str, value: Any) -> dict[str, Any]:
    return {
        "cycle": e.cycle, "recipient": e.recipient, "sheet": e.sheet, "ref": e.ref,
        "field": name, "value": value, "return_sha": e.return_sha, "merged_at": e.merged_at,
    }  # fmt: skip


def _standings(plan: Plan, ledger: Ledger, cycle: str | None) -> list[dict[str, Any]]:
    cycles = [cycle] if cycle else ledger.cycles()
    status_key = plan.template.status_column
    return [_standing(s, status_key) for per in standings(plan, ledger, cycles).values() for s in per.values()]


def _standing(s: Standing, status_key: str | None) -> dict[str, Any]:
    return {
        "cycle": s.cycle, "ref": s.ref, "status": s.status, "source": s.source, "as_of": s.as_of,
        "cycles_without_update": s.cycles_without_update, "reported_by": "; ".join(s.reporters),
        "disagreement": s.disagreement, "statuses": s.entry_statuses(status_key), "note": s.note,
    }  # fmt: skip


def safe_cell(value: Any) -> Any:
    """A value a spreadsheet will show as text, never run as a formula."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def to_csv(records: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    if records:
        writer = csv.DictWriter(buffer, fieldnames=list(records[0]), lineterminator="\r\n")
        writer.writeheader()
        for record in records:
            flat = {
                k: json.dumps(v, ensure_ascii=False) if isinstance(v, list | dict) else v for k, v in record.items()
            }
            writer.writerow({k: safe_cell(v) for k, v in flat.items()})
    return "\ufeff" + buffer.getvalue()


def to_json(records: list[dict[str, Any]]) -> str:
    return json.dumps(records, indent=2, ensure_ascii=False, default=str) + "\n"
