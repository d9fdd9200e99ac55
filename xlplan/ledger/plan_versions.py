"""The ledger's record of the plan: each version of plan.xlsx used, and the changes between them."""

from __future__ import annotations

from typing import Any

from xlplan.ledger.base import LedgerBase, now
from xlplan.ledger.records import PlanChange, PlanChangeRecord, PlanVersion, decode_json, encode_json


class PlanVersionsMixin(LedgerBase):
    """The `Ledger`'s versions of the plan and the changes between them."""

    def latest_plan_version(self) -> tuple[PlanVersion, Any] | None:
        """The plan last recorded, and what it said (None before the first)."""
        row = self.db.execute(
            "SELECT id, at, command, cycle, file_sha, digest, plan FROM plan_versions ORDER BY id DESC LIMIT 1"
        ).fetchone()
        if row is None:
            return None
        return PlanVersion(*row[:6]), decode_json(row[6])

    def latest_plan_digest(self) -> tuple[str, str] | None:
        """(file_sha, digest) of the plan last recorded, without reading it."""
        row = self.db.execute("SELECT file_sha, digest FROM plan_versions ORDER BY id DESC LIMIT 1").fetchone()
        return None if row is None else (row[0], row[1])

    def record_plan_version(
        self, command: str, cycle: str, file_sha: str, digest: str, plan: Any, changes: list[PlanChange]
    ) -> PlanVersion:
        """Keep a new version of the plan and the changes since the last one, together. With
        changes, the ledger's state moves on (once something was collected), so the master is rendered again."""
        at = now()
        with self._writing():
            cur = self.db.execute(
                "INSERT INTO plan_versions (at, command, cycle, file_sha, digest, plan) VALUES (?, ?, ?, ?, ?, ?)",
                (at, command, cycle, file_sha, digest, encode_json(plan)),
            )
            version = PlanVersion(int(cur.lastrowid or 0), at, command, cycle, file_sha, digest)
            self.db.executemany(
                "INSERT INTO plan_changes (version, kind, sheet, ref, field, old, new) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (version.id, c.kind, c.sheet, c.ref, c.field, encode_json(c.old), encode_json(c.new))
                    for c in changes
                ],
            )
            if changes and self.state() is not None:
                self.bump_state()
        return version

    def plan_changes(self, cycle: str | None = None) -> list[PlanChangeRecord]:
        """Every change to the plan (found by a generate or collect of `cycle`, or all), oldest first."""
        sql = (
            "SELECT c.id, v.id, v.at, v.command, v.cycle, v.file_sha, v.digest, "
            "c.kind, c.sheet, c.ref, c.field, c.old, c.new "
            "FROM plan_changes c JOIN plan_versions v ON v.id = c.version"
            + (" WHERE v.cycle = ?" if cycle else "")
            + " ORDER BY c.id"
        )
        return [
            PlanChangeRecord(
                r[0], PlanVersion(*r[1:7]), PlanChange(r[7], r[8], r[9], r[10], decode_json(r[11]), decode_json(r[12]))
            )
            for r in self.db.execute(sql, (cycle,) if cycle else ())
        ]
