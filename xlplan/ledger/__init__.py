"""The ledger: xlplan's memory of every cycle, in an embedded SQLite database.

It holds what was sent out (cycles, issued workbooks), what came back (returns
with their hash, outcome and issues), every value merged (entries) and every change
(audit). Each write happens in one transaction, so a crash leaves the ledger as it
was or fully updated, never in between. Values are stored as JSON text so the same
tables serve any template: one row per action (or feedback area) and return, its
fields in one JSON object, which keeps a 50,000-action cycle to 50,000 rows.

It is the only module that runs SQL: the others ask the `Ledger` for operations
(`record_return`, `replace_entries`, `bump_state`, ...) and get typed records back.

The file is kept for years on network drives and in OneDrive or SharePoint folders, so
it uses a rollback journal, not WAL ("WAL does not work over a network filesystem",
sqlite.org/wal.html), with full synchronous writes: between commands it is one
self-contained file that can be copied. It records its schema version and the xlplan
that last wrote it; a newer ledger is refused, an older one is migrated in one
transaction by a command that writes (after `xlplan.access` has backed it up), and read
as a migrated copy in memory by one that only reads. Read-only opens use SQLite's
`mode=ro`, so a read-only folder can still be read.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager, suppress
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal, TypeVar, cast

from xlplan import __version__
from xlplan.errors import (
    LedgerError,
    ReadOnlyError,
    UsageError,
    XlplanError,
)
from xlplan.issues import Issue
from xlplan.ledger.opening import (
    _missing_tables,
    _refuse_newer,
    _says_wal,
    _statements,
    plain_ledger_error,
    schema_of,
    sqlite_uri,
)
from xlplan.ledger.records import (
    _RETURN_COLUMNS,
    AuditRecord,
    Changes,
    CycleInfo,
    CycleOverview,
    EntryRecord,
    IssuedPlan,
    Key,
    PlanChange,
    PlanChangeRecord,
    PlanVersion,
    RemovedCycle,
    ReturnRecord,
    decode_json,
    encode_json,
    plain,
)
from xlplan.ledger.schema import (
    _AUDIT,
    _ENTRIES,
    _ISSUED_PLANS,
    _PLAN,
    _REMOVED,
    _SCHEMA,
    SCHEMA_VERSION,
)

__all__ = [
    "SCHEMA_VERSION",
    "AuditRecord",
    "Changes",
    "CycleInfo",
    "CycleOverview",
    "EntryRecord",
    "IssuedPlan",
    "Key",
    "Ledger",
    "PlanChange",
    "PlanChangeRecord",
    "PlanVersion",
    "RemovedCycle",
    "ReturnRecord",
    "decode_json",
    "encode_json",
    "now",
    "plain",
    "plain_ledger_error",
    "schema_of",
    "sqlite_uri",
]

T = TypeVar("T")


class Ledger:
    """A thin, typed face on the SQLite file, and the only code that runs SQL. Use as a context manager.

    Each write method is one transaction of its own, or part of the caller's when it runs
    inside `transaction()` (as merge does: every write of a run commits together).
    """

    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        """Open the ledger at `path`: to write (created when missing, migrated when older), or
        `readonly` (never changed: an older ledger is read as a copy migrated in memory)."""
        self.path = path
        self.readonly = readonly
        self.upgraded_from: int | None = None  # the schema version a write open migrated from
        self.file_schema: int | None = None  # the schema version of the file as found
        self._file_db: _Connection | None = None  # the file itself, when an older one is read migrated in memory
        self._memo: dict[Hashable, Any] = {}
        try:
            if readonly:
                self.db = self._open_readonly(path)
            else:
                self.db = self._open_for_writing(path)
        except XlplanError:
            self._close_quietly()
            raise
        except sqlite3.Error as exc:
            self._close_quietly()
            raise plain_ledger_error(exc, path) or LedgerError(f"Cannot open the ledger {path}: {exc}") from exc

    def _open_for_writing(self, path: Path) -> _Connection:
        self.db = db = _connect(str(path), path)
        db.execute("PRAGMA journal_mode=DELETE")  # one file at rest: no -wal or -shm beside it
        db.execute("PRAGMA synchronous=FULL")
        self.file_schema = version = schema_of(db)
        _refuse_newer(db, version, path)
        if version != SCHEMA_VERSION or _missing_tables(db):
            with self.transaction():  # created, or migrated, in one transaction
                self._migrate()
                self._set_meta([("schema_version", str(SCHEMA_VERSION)), ("xlplan_version", __version__)])
            self.upgraded_from = version
        elif self._meta("xlplan_version") != __version__:
            self._set_meta([("xlplan_version", __version__)])
        return db

    def _open_readonly(self, path: Path) -> _Connection:
        journal = path.with_name(path.name + "-journal")
        if journal.exists() and journal.stat().st_size > 0:
            _settle_journal(path, journal)
        wal = path.with_name(path.name + "-wal")
        # A ledger of an earlier xlplan may still say WAL: read with no pending -wal, it is read
        # as an immutable file, so no -wal and -shm are left beside it (in a synced folder, too).
        immutable = _says_wal(path) and not (wal.exists() and wal.stat().st_size > 0)
        db = _connect(sqlite_uri(str(path), immutable=immutable), path, uri=True)
        db.execute("PRAGMA query_only=1")
        self.file_schema = version = schema_of(db)
        _refuse_newer(db, version, path)
        if version == SCHEMA_VERSION and not _missing_tables(db):
            return db
        self.db = memory = _connect(":memory:", path)
        db.backup(memory)
        self._file_db = db  # kept for `snapshot`: a backup is of the file as it is, not of the copy
        with self.transaction():
            self._migrate()
        memory.execute("PRAGMA query_only=1")
        return memory

    def _close_quietly(self) -> None:
        for db in (getattr(self, "db", None), self._file_db):
            if db is not None:
                with suppress(sqlite3.Error):
                    db.close()

    def _migrate(self) -> None:
        """Create the tables, or bring a ledger written by an earlier xlplan up to this schema,
        inside the caller's transaction."""
        for statement in _statements(_SCHEMA + _ENTRIES + _AUDIT + _REMOVED + _PLAN + _ISSUED_PLANS):
            self.db.execute(statement)
        columns = {row[1] for row in self.db.execute("PRAGMA table_info(returns)")}
        if "file_mtime" not in columns:
            self.db.execute("ALTER TABLE returns ADD COLUMN file_mtime REAL")
        if "email" not in columns:
            self.db.execute("ALTER TABLE returns ADD COLUMN email TEXT")
        if "field" in {row[1] for row in self.db.execute("PRAGMA table_info(entries)")}:
            self._entries_to_objects()
        if "field" in {row[1] for row in self.db.execute("PRAGMA table_info(audit)")}:
            self._audit_to_objects()
        self.db.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))

    def _entries_to_objects(self) -> None:
        """Schema 1 kept one row per field: fold each action's rows into one.

        Rows keep their order (first rowid), which is what "the latest merge wins" reads.
        """
        self.db.execute("ALTER TABLE entries RENAME TO entries_v1")
        self.db.execute(_ENTRIES)
        self.db.execute(
            "INSERT INTO entries SELECT cycle, recipient, sheet, ref, "
            "json_group_object(field, json(value)), max(return_sha), max(merged_at) "
            "FROM (SELECT rowid AS n, * FROM entries_v1 ORDER BY n) "
            "GROUP BY cycle, recipient, sheet, ref ORDER BY min(n)"
        )
        self.db.execute("DROP TABLE entries_v1")

    def _audit_to_objects(self) -> None:
        """Schema 1 kept one audit row per field: fold the fields of one action changed by one
        return into one row. Ledgers before 1.1 kept plain text there."""
        value = "CASE WHEN {0} IS NULL THEN NULL WHEN json_valid({0}) THEN json({0}) ELSE json_quote({0}) END"
        self.db.execute("ALTER TABLE audit RENAME TO audit_v1")
        self.db.execute(_AUDIT)
        self.db.execute(
            "INSERT INTO audit (at, cycle, recipient, sheet, ref, changes, return_sha, file) "
            f"SELECT at, cycle, recipient, sheet, ref, json_group_object(field, json_array({value.format('old')}, "
            f"{value.format('new')})), return_sha, file FROM (SELECT * FROM audit_v1 ORDER BY id) "
            "GROUP BY at, cycle, recipient, sheet, ref, return_sha, file ORDER BY min(id)"
        )
        self.db.execute("DROP TABLE audit_v1")

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.db.close()
        if self._file_db is not None:
            self._file_db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All writes inside happen together or not at all."""
        self._memo.clear()  # whatever is written, remembered reads may be stale
        self.db.execute("BEGIN IMMEDIATE")  # a BusyError naming the ledger when another program holds it
        try:
            yield
        except BaseException:
            if self.db.in_transaction:  # SQLite has rolled back already after a full disk or an I/O error
                with suppress(XlplanError):
                    self.db.execute("ROLLBACK")
            raise
        else:
            self.db.execute("COMMIT")

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """One write: part of the caller's transaction when one is open, else a transaction of its own."""
        self._memo.clear()
        if self.db.in_transaction:
            yield
        else:
            with self.transaction():
                yield

    # --- cycles ------------------------------------------------------------

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

    # --- returns -----------------------------------------------------------

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

    # --- values ------------------------------------------------------------

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

    def remembered(self, key: Hashable, make: Callable[[], T]) -> T:
        """`make()`, computed once until the next write. The gaps, the summary and the master
        all read the same standings, and at 50,000 actions each read of a cycle's entries
        costs most of a second. Callers must not modify what they get."""
        if key not in self._memo:
            self._memo[key] = make()
        return cast(T, self._memo[key])

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

    # --- the plan's versions and changes ---------------------------------------

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

    # --- the ledger's state, and the master tracker that shows it ------------

    def bump_state(self) -> None:
        """Count one more change to the ledger: the master shows an older state until rendered again."""
        with self._writing():
            self.db.execute(
                "INSERT INTO meta VALUES ('state', '1') "
                "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
            )

    def state(self) -> str | None:
        """The ledger's state (None before the first collect)."""
        return self._meta("state")

    def master_state(self) -> str | None:
        """The state the master tracker last rendered shows (None if never rendered)."""
        return self._meta("master_state")

    def master_cycle(self) -> str | None:
        """The cycle the master tracker last rendered shows (None if never rendered, or by an
        xlplan that did not note it)."""
        return self._meta("master_cycle")

    def mark_master_rendered(self, state: str, cycle: str | None = None) -> None:
        """The master tracker now shows ledger `state` (and `cycle`, when given)."""
        marks = [("master_state", state)] + ([("master_cycle", cycle)] if cycle is not None else [])
        with self._writing():
            self.db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", marks)

    def _meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    # --- the file ------------------------------------------------------------

    def copy_to(self, path: Path) -> Ledger:
        """A private copy of the ledger (SQLite's backup API): for dry runs that change nothing."""
        copy = Ledger(path)
        try:
            self.db.backup(copy.db)
        except sqlite3.Error as exc:
            copy.close()
            raise plain_ledger_error(exc, path) or exc from exc
        return copy

    def snapshot(self, target: Path) -> None:
        """A consistent copy of the ledger in the new file `target`, taken with SQLite's backup
        API (never a file copy: that could catch a transaction half-way), with a rollback
        journal, so that it is one self-contained file."""
        try:
            copy = _connect(str(target), target)
            try:
                (self._file_db or self.db).backup(copy)
                copy.execute("PRAGMA journal_mode=DELETE")
            finally:
                copy.close()
        except sqlite3.Error as exc:
            raise plain_ledger_error(exc, target) or exc from exc

    def integrity(self) -> list[str]:
        """SQLite's integrity check: ["ok"], or what is wrong with the file."""
        return [str(row[0]) for row in self.db.execute("PRAGMA integrity_check")]

    def versions(self) -> tuple[int, str | None]:
        """(schema version, the xlplan version that last wrote the ledger; None before 0.1's versions)."""
        return SCHEMA_VERSION, self._meta("xlplan_version")

    def journal_mode(self) -> str:
        return str(self.db.execute("PRAGMA journal_mode").fetchone()[0])

    def file_says_wal(self) -> bool:
        """Whether the file still says WAL, as ledgers of earlier xlplan did (until written again)."""
        return _says_wal(self.path)

    def forget_master_render(self) -> None:
        """The master tracker no longer shows this ledger (it was restored from a backup): the
        next collect renders it again."""
        with self._writing():
            self.db.execute("DELETE FROM meta WHERE key IN ('master_state', 'master_cycle')")

    def _set_meta(self, values: list[tuple[str, str]]) -> None:
        with self._writing():
            self.db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", values)

    def counts(self) -> dict[str, int]:
        return {
            table: self.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("cycles", "issued", "returns", "entries", "audit")
        }


def _return_record(row: tuple[Any, ...]) -> ReturnRecord:
    """A `returns` row, its columns in `_RETURN_COLUMNS` order."""
    sha, file, archived, who, cycle, at, outcome, errors, warnings, issues, mtime, email = row
    found = tuple(Issue.from_dict(i) for i in decode_json(issues))
    return ReturnRecord(sha, file, who, cycle, at, outcome, archived, errors, warnings, found, mtime, email)


# --- opening the file ---------------------------------------------------------------------


class _Connection(sqlite3.Connection):
    """A connection whose errors name the ledger: a full disk, a read-only folder, a damaged
    file become the program's own errors, with the path, wherever they happen."""

    ledger_path: Path = Path("ledger.sqlite")

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        try:
            return super().execute(sql, parameters)
        except sqlite3.Error as exc:
            plain = plain_ledger_error(exc, self.ledger_path)
            if plain is None:
                raise
            raise plain from exc

    def executemany(self, sql: str, parameters: Any, /) -> sqlite3.Cursor:
        try:
            return super().executemany(sql, parameters)
        except sqlite3.Error as exc:
            plain = plain_ledger_error(exc, self.ledger_path)
            if plain is None:
                raise
            raise plain from exc


def _connect(database: str, path: Path, *, uri: bool = False) -> _Connection:
    db = sqlite3.connect(database, uri=uri, isolation_level=None, timeout=10, factory=_Connection)
    assert isinstance(db, _Connection)
    db.ledger_path = path
    return db


def _settle_journal(path: Path, journal: Path) -> None:
    """A journal beside the ledger is a change in progress, or one a killed run left ("hot"):
    SQLite undoes a hot one when the ledger is next opened, which needs write access, so a
    read-only open cannot. Open it once to write and read nothing: SQLite undoes it (or, while
    another run holds it, leaves it alone)."""
    try:
        db = _connect(str(path), path)
        try:
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        finally:
            db.close()
    except ReadOnlyError as exc:
        raise ReadOnlyError(
            f"The ledger {path} has an unfinished change from an interrupted run ({journal.name}), and undoing it "
            "needs write access to the plan folder. Run the command where the folder can be written (or ask for "
            f"write access), then try again. Keep {journal.name} beside the ledger: deleting it could damage the ledger."
        ) from exc


def now() -> str:
    """The ledger's timestamps: local time with its offset, to the second."""
    return datetime.now().astimezone().isoformat(timespec="seconds")
