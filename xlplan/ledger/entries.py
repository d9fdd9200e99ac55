"""The ledger's values: every entry merged (one row per action and return, its fields as one
JSON object), and the audit of every change."""

from __future__ import annotations

from typing import Any

from xlplan.ledger.base import LedgerBase
from xlplan.ledger.records import AuditRecord, Changes, EntryRecord, Key, decode_json, encode_json


class EntriesMixin(LedgerBase):
    """The `Ledger`'s merged values and their audit."""

    def replace_entries(
        self,
        cycle: str,
        recipient: str,
        rows: dict[Key, dict[str, Any]],
        *,
        return_sha: str,
        file: str,
        at: str,
        changes: dict[Key, Changes] | None = None,
    ) -> None:
        """Make `rows` ({(sheet, ref): {field: plain value}}) the recipient's whole return for the
        cycle, from the file `file` (hash `return_sha`) merged `at`; audit `changes`, one record
        per (sheet, ref)."""
        with self._writing():
            self.db.execute("DELETE FROM entries WHERE cycle = ? AND recipient = ?", (cycle, recipient))
            self.db.executemany(  # the rows are plain already: encoded as they are
                "INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(cycle, recipient, s, r, encode_json(row), return_sha, at) for (s, r), row in rows.items()],
            )
            self.db.executemany(
                "INSERT INTO audit (at, cycle, recipient, sheet, ref, changes, return_sha, file) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (at, cycle, recipient, s, r, encode_json(c), return_sha, file)
                    for (s, r), c in (changes or {}).items()
                ],
            )

    def entries_of(self, cycle: str, recipient: str) -> dict[Key, dict[str, Any]]:
        """{(sheet, ref): {field: value}} of one recipient's merged return for the cycle."""
        sql = "SELECT sheet, ref, fields FROM entries WHERE cycle = ? AND recipient = ?"
        return {(s, r): decode_json(f) for s, r, f in self.db.execute(sql, (cycle, recipient))}

    def values_of_cycle(self, cycle: str) -> dict[Key, dict[str, Any]]:
        """{(sheet, ref): {field: value}} of every sheet for one cycle, the latest merge winning."""
        sql = "SELECT sheet, ref, fields FROM entries WHERE cycle = ? ORDER BY rowid"
        return {(s, r): decode_json(f) for s, r, f in self.db.execute(sql, (cycle,))}

    def entries(self, cycle: str, sheet: str) -> dict[tuple[str, str], dict[str, Any]]:
        """{(recipient, ref): {field: value}} merged for one cycle and sheet (remembered
        until the next write: callers must not modify it)."""
        return self.remembered(("entries", cycle, sheet), lambda: self._read_entries(cycle, sheet))

    def _read_entries(self, cycle: str, sheet: str) -> dict[tuple[str, str], dict[str, Any]]:
        rows = self.db.execute(
            "SELECT recipient, ref, fields FROM entries WHERE cycle = ? AND sheet = ? ORDER BY rowid",
            (cycle, sheet),
        )
        return {(who, ref): decode_json(fields) for who, ref, fields in rows}

    def entry_records(self, cycle: str | None = None) -> list[EntryRecord]:
        """Every entry (of one cycle, or all) as stored, in the order merged."""
        sql = (
            "SELECT cycle, recipient, sheet, ref, fields, return_sha, merged_at FROM entries"
            + (" WHERE cycle = ?" if cycle else "")
            + " ORDER BY rowid"
        )
        return [
            EntryRecord(cyc, who, sheet, ref, decode_json(fields), sha, at)
            for cyc, who, sheet, ref, fields, sha, at in self.db.execute(sql, (cycle,) if cycle else ())
        ]

    def statuses(self, sheet: str, field: str) -> list[tuple[str, str, str, Any]]:
        """(cycle, recipient, ref, value of `field`) of every entry on a sheet, by cycle:
        who said what, every cycle, without decoding any entry in Python."""
        rows = self.db.execute(
            "SELECT cycle, recipient, ref, json_extract(fields, ?) FROM entries WHERE sheet = ? ORDER BY cycle, rowid",
            (f'$."{field}"', sheet),
        )
        return list(rows)

    def audit(self, cycle: str | None = None) -> list[AuditRecord]:
        """Every value changed, one record per field, oldest first."""
        sql = (
            "SELECT id, at, cycle, recipient, sheet, ref, changes, return_sha, file FROM audit"
            + (" WHERE cycle = ?" if cycle else "")
            + " ORDER BY id"
        )
        return [
            AuditRecord(n, at, cyc, who, sheet, ref, name, old, new, sha, file)
            for n, at, cyc, who, sheet, ref, changes, sha, file in self.db.execute(sql, (cycle,) if cycle else ())
            for name, (old, new) in decode_json(changes).items()
        ]
