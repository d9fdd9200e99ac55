"""The ledger's full history as CSV or JSON, for analysts and archives.

The master tracker shows what the SPG reads; everything else (every value of every
cycle, every change) stays in the ledger and leaves through here. CSV is written so
Excel opens it safely: UTF-8 with a byte-order mark, and any cell that a spreadsheet
would take for a formula (= + - @, tab, CR) prefixed with an apostrophe (OWASP's advice).
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from xlplan.ledger import Ledger

TABLES = ("entries", "audit", "returns")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def rows(ledger: Ledger, table: str, cycle: str | None = None) -> list[dict[str, Any]]:
    if table not in TABLES:
        raise ValueError(table)
    if table == "audit":  # one record per changed field
        return ledger.audit(cycle)
    where = " WHERE cycle = ?" if cycle else ""
    cur = ledger.db.execute(f"SELECT * FROM {table}{where} ORDER BY rowid", (cycle,) if cycle else ())
    names = [d[0] for d in cur.description]
    out = []
    for row in cur:
        record = dict(zip(names, row, strict=True))
        if table == "entries":  # one record per field, as a spreadsheet user expects
            fields = json.loads(record.pop("fields"))
            out += [_entry(record, name, value) for name, value in fields.items()]
            continue
        if table == "returns":
            record["issues"] = json.loads(record["issues"])
        out.append(record)
    return out


def _entry(record: dict[str, Any], name: str, value: Any) -> dict[str, Any]:
    head = {k: v for k, v in record.items() if k not in ("return_sha", "merged_at")}
    return {**head, "field": name, "value": value, "return_sha": record["return_sha"], "merged_at": record["merged_at"]}


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
