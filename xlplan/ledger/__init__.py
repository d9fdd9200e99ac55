"""The ledger: xlplan's memory of every cycle, in an embedded SQLite database.

It holds what was sent out (cycles, issued workbooks), what came back (returns
with their hash, outcome and issues), every value merged (entries) and every change
(audit). Each write happens in one transaction, so a crash leaves the ledger as it
was or fully updated, never in between. Values are stored as JSON text so the same
tables serve any template: one row per action (or feedback area) and return, its
fields in one JSON object, which keeps a 50,000-action cycle to 50,000 rows.

It is the only package that runs SQL: the others ask the `Ledger` for operations
(`record_return`, `replace_entries`, `bump_state`, ...) and get typed records back. This
module opens the file and migrates it; the operations are grouped by what they keep, in
`cycles`, `returns`, `entries` and `plan_versions`, on what `base` gives them all.

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

import sqlite3
from collections.abc import Hashable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from xlplan import __version__
from xlplan.errors import LedgerError, ReadOnlyError, XlplanError
from xlplan.ledger.base import now
from xlplan.ledger.cycles import CyclesMixin
from xlplan.ledger.entries import EntriesMixin
from xlplan.ledger.opening import (
    _missing_tables,
    _refuse_newer,
    _says_wal,
    _statements,
    plain_ledger_error,
    schema_of,
    sqlite_uri,
)
from xlplan.ledger.plan_versions import PlanVersionsMixin
from xlplan.ledger.records import (
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
from xlplan.ledger.schema import _AUDIT, _ENTRIES, _ISSUED_PLANS, _PLAN, _REMOVED, _SCHEMA, SCHEMA_VERSION

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


class Ledger(CyclesMixin, EntriesMixin, PlanVersionsMixin):
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

    def counts(self) -> dict[str, int]:
        return {
            table: self.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("cycles", "issued", "returns", "entries", "audit")
        }


# --- opening the file ---------------------------------------------------------------------


class _Connection(sqlite3.Connection):
    """A connection whose errors name the ledger: a full disk, a read-only folder, a damaged
    file become the program's own errors, with the path, wherever they happen."""

    ledger_path: Path = Path("ledger.sqlite")

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        with _named_errors(self.ledger_path):
            return super().execute(sql, parameters)

    def executemany(self, sql: str, parameters: Any, /) -> sqlite3.Cursor:
        with _named_errors(self.ledger_path):
            return super().executemany(sql, parameters)


@contextmanager
def _named_errors(path: Path) -> Iterator[None]:
    """SQLite's errors as the program's own, naming the ledger (`plain_ledger_error`); any
    other is raised as it is."""
    try:
        yield
    except sqlite3.Error as exc:
        plain = plain_ledger_error(exc, path)
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
