"""The ledger's returns log: every file collected, with its hash, outcome and issues."""

from __future__ import annotations

import json
from typing import Any, Literal

from xlplan.issues import Issue
from xlplan.ledger.base import LedgerBase
from xlplan.ledger.records import _RETURN_COLUMNS, ReturnRecord, decode_json


class ReturnsMixin(LedgerBase):
    """The `Ledger`'s log of the files collected."""

    def record_return(self, ret: ReturnRecord) -> None:
        """Log one collected file (a file collected again replaces its earlier record)."""
        issues = json.dumps([i.as_dict() for i in ret.issues], ensure_ascii=False)
        with self._writing():
            self.db.execute(
                f"INSERT OR REPLACE INTO returns ({', '.join(_RETURN_COLUMNS)}) VALUES ({', '.join('?' * 12)})",
                (ret.sha256, ret.file, ret.archived, ret.recipient, ret.cycle, ret.received_at, ret.outcome,
                 ret.errors, ret.warnings, issues, ret.file_mtime, ret.email),
            )  # fmt: skip

    def supersede_returns(self, cycle: str, recipient: str, kept: str) -> None:
        """The return `kept` (a hash) replaces any other merged for this recipient and cycle."""
        with self._writing():
            self.db.execute(
                "UPDATE returns SET outcome = 'superseded' WHERE cycle = ? AND recipient = ? "
                "AND outcome = 'merged' AND sha256 != ?",
                (cycle, recipient, kept),
            )

    def return_by_hash(self, sha256: str) -> ReturnRecord | None:
        cur = self.db.execute(f"SELECT {', '.join(_RETURN_COLUMNS)} FROM returns WHERE sha256 = ?", (sha256,))
        row = cur.fetchone()
        return _return_record(row) if row else None

    def returns(
        self, cycle: str | None = None, *, order: Literal["received", "recorded"] = "received"
    ) -> list[ReturnRecord]:
        """The files collected (for one cycle, or all), by time received or in the order recorded."""
        sql = (
            f"SELECT {', '.join(_RETURN_COLUMNS)} FROM returns"
            + (" WHERE cycle = ?" if cycle else "")
            + (" ORDER BY received_at, file" if order == "received" else " ORDER BY rowid")
        )
        return [_return_record(row) for row in self.db.execute(sql, (cycle,) if cycle else ())]


def _return_record(row: tuple[Any, ...]) -> ReturnRecord:
    """A `returns` row, its columns in `_RETURN_COLUMNS` order."""
    sha, file, archived, who, cycle, at, outcome, errors, warnings, issues, mtime, email = row
    found = tuple(Issue.from_dict(i) for i in decode_json(issues))
    return ReturnRecord(sha, file, who, cycle, at, outcome, archived, errors, warnings, found, mtime, email)
