"""The ledger's cycles: each cycle generated, the workbooks issued and what each was sent, and
removing a cycle nothing was merged into."""

from __future__ import annotations

from datetime import date

from xlplan.errors import UsageError
from xlplan.ledger.base import now
from xlplan.ledger.records import CycleInfo, CycleOverview, IssuedPlan, RemovedCycle, decode_json, encode_json
from xlplan.ledger.returns import ReturnsMixin


class CyclesMixin(ReturnsMixin):
    """The `Ledger`'s cycles and the workbooks issued in each."""

    def record_cycle(
        self,
        cycle: str,
        spg_date: date | None,
        deadline: date,
        issued: list[tuple[str, str, int]],
        at: str | None = None,
    ) -> None:
        """Note a cycle generated `at` (default: now) and the workbooks issued: (recipient, file, items)."""
        stamp = at or now()
        with self._writing():
            self.db.execute(
                "INSERT INTO cycles VALUES (?, ?, ?, ?) ON CONFLICT(cycle) DO UPDATE SET "
                "spg_date=excluded.spg_date, deadline=excluded.deadline, generated_at=excluded.generated_at",
                (cycle, spg_date.isoformat() if spg_date else None, deadline.isoformat(), stamp),
            )
            # Reissuing one workbook (generate --sponsor X) must not forget the others.
            self.db.executemany(
                "INSERT OR REPLACE INTO issued VALUES (?, ?, ?, ?, ?)",
                [(cycle, who, file, n, stamp) for who, file, n in issued],
            )

    def cycle(self, cycle: str) -> CycleInfo | None:
        row = self.db.execute("SELECT * FROM cycles WHERE cycle = ?", (cycle,)).fetchone()
        if row is None:
            return None
        return CycleInfo(
            row[0],
            date.fromisoformat(row[1]) if row[1] else None,
            date.fromisoformat(row[2]),
            row[3],
        )

    def cycles(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT cycle FROM cycles ORDER BY cycle")]

    def generated(self) -> list[tuple[str, str]]:
        """(cycle, generated_at) of every cycle, in order."""
        return [(r[0], r[1]) for r in self.db.execute("SELECT cycle, generated_at FROM cycles ORDER BY cycle")]

    def latest_cycle(self) -> str | None:
        row = self.db.execute("SELECT max(cycle) FROM cycles").fetchone()
        return row[0]

    def previous_cycle(self, cycle: str) -> str | None:
        # Two indexed look-ups (both tables lead with cycle) rather than a scan of a UNION.
        found = [
            self.db.execute(f"SELECT max(cycle) FROM {table} WHERE cycle < ?", (cycle,)).fetchone()[0]
            for table in ("entries", "cycles")
        ]
        return max((c for c in found if c), default=None)

    def cycle_overview(self) -> list[CycleOverview]:
        """Every cycle, in order, with its counts of workbooks issued and returns merged or quarantined."""
        rows = self.db.execute(
            "SELECT c.cycle, c.spg_date, c.deadline, c.generated_at, "
            "(SELECT count(*) FROM issued i WHERE i.cycle = c.cycle), "
            "(SELECT count(DISTINCT recipient) FROM returns r WHERE r.cycle = c.cycle AND r.outcome = 'merged'), "
            "(SELECT count(DISTINCT recipient) FROM returns q WHERE q.cycle = c.cycle AND q.outcome = 'quarantined' "
            " AND q.recipient NOT IN (SELECT recipient FROM returns m WHERE m.cycle = c.cycle "
            "  AND m.outcome = 'merged' AND m.recipient IS NOT NULL)) "
            "FROM cycles c ORDER BY c.cycle"
        )
        return [
            CycleOverview(cyc, date.fromisoformat(spg) if spg else None, date.fromisoformat(dl), at, n, m, q)
            for cyc, spg, dl, at, n, m, q in rows
        ]

    def remove_cycle(self, cycle: str) -> RemovedCycle:
        """Take a cycle that nothing was merged into out of the ledger, and record what it held.

        Its issued workbooks and any quarantined returns go with it (the archive keeps the
        files); the check and the removal are one transaction, so a collect cannot merge in between.
        """
        with self._writing():
            row = self.db.execute("SELECT * FROM cycles WHERE cycle = ?", (cycle,)).fetchone()
            if row is None:
                known = ", ".join(self.cycles()) or "none"
                raise UsageError(f"Cycle {cycle} is not in the ledger (known cycles: {known}).")
            merged = [
                r[0]
                for r in self.db.execute(
                    "SELECT DISTINCT recipient FROM returns WHERE cycle = ? AND outcome IN ('merged', 'superseded') "
                    "ORDER BY recipient",
                    (cycle,),
                )
            ]
            if merged or self.db.execute("SELECT 1 FROM entries WHERE cycle = ? LIMIT 1", (cycle,)).fetchone():
                who = f" (from {', '.join(r for r in merged if r)})" if any(merged) else ""
                raise UsageError(
                    f"Cycle {cycle} cannot be removed: returns were merged into it{who}. "
                    "A cycle with merged returns is part of the plan's history and stays in the ledger."
                )
            issued = self.db.execute(
                "SELECT recipient, file, items, generated_at FROM issued WHERE cycle = ?", (cycle,)
            )
            held = {
                "cycle": dict(zip(("cycle", "spg_date", "deadline", "generated_at"), row, strict=True)),
                "issued": [dict(zip(("recipient", "file", "items", "generated_at"), r, strict=True)) for r in issued],
                "returns": [r.as_dict() for r in self.returns(cycle)],
            }
            removed = RemovedCycle(now(), cycle, held)
            for table in ("issued", "issued_plans", "returns", "cycles"):
                self.db.execute(f"DELETE FROM {table} WHERE cycle = ?", (cycle,))
            self.db.execute(
                "INSERT INTO removed_cycles (removed_at, cycle, held) VALUES (?, ?, ?)",
                (removed.removed_at, cycle, encode_json(held)),
            )
        return removed

    def removed_cycles(self) -> list[RemovedCycle]:
        rows = self.db.execute("SELECT removed_at, cycle, held FROM removed_cycles ORDER BY id")
        return [RemovedCycle(at, cycle, decode_json(held)) for at, cycle, held in rows]

    def issued(self, cycle: str) -> dict[str, tuple[str, int]]:
        rows = self.db.execute("SELECT recipient, file, items FROM issued WHERE cycle = ?", (cycle,))
        return {r[0]: (r[1], r[2]) for r in rows}

    def record_issued_plans(self, plans: list[IssuedPlan]) -> None:
        """Keep what each workbook generated was sent (a workbook made again at the same second replaces it)."""
        with self._writing():
            self.db.executemany(
                "INSERT OR REPLACE INTO issued_plans VALUES (?, ?, ?, ?, ?)",
                [
                    (p.cycle, p.recipient, p.generated_at, encode_json(p.items), encode_json(list(p.groups)))
                    for p in plans
                ],
            )

    def issued_plans(self, cycle: str) -> list[IssuedPlan]:
        """Every workbook's plan as issued for the cycle, oldest first ([] in a ledger from before they were kept)."""
        rows = self.db.execute(
            "SELECT cycle, recipient, generated_at, items, groups FROM issued_plans WHERE cycle = ? "
            "ORDER BY generated_at, recipient",
            (cycle,),
        )
        return [
            IssuedPlan(c, who, at, decode_json(items), tuple(decode_json(groups))) for c, who, at, items, groups in rows
        ]
