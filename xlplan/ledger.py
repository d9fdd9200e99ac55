"""The ledger: xlplan's memory of every cycle, in an embedded SQLite database.

It holds what was sent out (cycles, issued workbooks), what came back (returns
with their hash, outcome and issues), every value merged (entries) and every change
(audit). Each write happens in one transaction, so a crash leaves the ledger as it
was or fully updated, never in between. Values are stored as JSON text so the same
tables serve any template: one row per action (or feedback area) and return, its
fields in one JSON object, which keeps a 50,000-action cycle to 50,000 rows.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import orjson

from xlplan.errors import LedgerError

SCHEMA_VERSION = 2  # 2: one row per (cycle, recipient, sheet, ref) in entries, and per change set in audit
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cycles (
    cycle TEXT PRIMARY KEY,
    spg_date TEXT,
    deadline TEXT NOT NULL,
    generated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS issued (
    cycle TEXT NOT NULL,
    recipient TEXT NOT NULL,
    file TEXT NOT NULL,
    items INTEGER NOT NULL,
    generated_at TEXT NOT NULL,
    PRIMARY KEY (cycle, recipient)
);
CREATE TABLE IF NOT EXISTS returns (
    sha256 TEXT PRIMARY KEY,
    file TEXT NOT NULL,
    archived TEXT,
    recipient TEXT,
    cycle TEXT,
    received_at TEXT NOT NULL,
    outcome TEXT NOT NULL,          -- merged | quarantined | superseded
    errors INTEGER NOT NULL DEFAULT 0,
    warnings INTEGER NOT NULL DEFAULT 0,
    issues TEXT NOT NULL DEFAULT '[]',
    file_mtime REAL                 -- the file's own modification time, for --prefer newest
);
"""
_ENTRIES = """
CREATE TABLE IF NOT EXISTS entries (
    cycle TEXT NOT NULL,
    recipient TEXT NOT NULL,
    sheet TEXT NOT NULL,
    ref TEXT NOT NULL,
    fields TEXT NOT NULL,           -- JSON object: field -> value (null when blank)
    return_sha TEXT NOT NULL,
    merged_at TEXT NOT NULL,
    PRIMARY KEY (cycle, recipient, sheet, ref)
);
"""
_AUDIT = """
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    cycle TEXT NOT NULL,
    recipient TEXT NOT NULL,
    sheet TEXT NOT NULL,
    ref TEXT NOT NULL,
    changes TEXT NOT NULL,          -- JSON object: field -> [old, new], values as in entries.fields
    return_sha TEXT NOT NULL,
    file TEXT NOT NULL
);
"""


def plain(value: Any) -> Any:
    """A value as the ledger keeps it: blank is None, a date is its ISO text."""
    if value is None or value == "":
        return None
    if type(value) in (str, float, int):  # nearly all values: no isinstance walk
        return value
    if isinstance(value, date):
        return value.isoformat()
    return value


# The ledger's JSON is written and read with orjson: a national cycle encodes and decodes
# its 50,000 rows several times, and json took most of a second of it. json remains for
# what orjson refuses: integers past 64 bits, and NaN in a ledger that json wrote.
_JSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY  # a pandas value that kept its numpy type


def encode_json(value: Any) -> str:
    """Plain values as JSON text."""
    try:
        return orjson.dumps(value, option=_JSON_OPTIONS).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value, ensure_ascii=False)


def decode_json(text: str) -> Any:
    """What `encode_json` wrote (or, in an older ledger, the json module)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def fields_json(fields: dict[str, Any]) -> str:
    """One entry's fields as the JSON object the ledger stores."""
    return encode_json({k: plain(v) for k, v in fields.items()})


@dataclass(frozen=True)
class CycleInfo:
    cycle: str
    spg_date: date | None
    deadline: date
    generated_at: str


class Ledger:
    """A thin, typed face on the SQLite file. Use as a context manager."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._latest: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
        try:
            self.db = sqlite3.connect(path, isolation_level=None, timeout=10)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.executescript(_SCHEMA + _ENTRIES + _AUDIT)
            self._migrate()
            self.db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        except sqlite3.DatabaseError as exc:
            raise LedgerError(f"Cannot open the ledger {path}: {exc}") from exc

    def _migrate(self) -> None:
        """Bring a ledger written by an earlier xlplan up to this schema, in place."""
        columns = {row[1] for row in self.db.execute("PRAGMA table_info(returns)")}
        if "file_mtime" not in columns:
            self.db.execute("ALTER TABLE returns ADD COLUMN file_mtime REAL")
        if "field" in {row[1] for row in self.db.execute("PRAGMA table_info(entries)")}:
            self._entries_to_objects()
        if "field" in {row[1] for row in self.db.execute("PRAGMA table_info(audit)")}:
            self._audit_to_objects()

    def _entries_to_objects(self) -> None:
        """Schema 1 kept one row per field: fold each action's rows into one, in one transaction.

        Rows keep their order (first rowid), which is what "the latest merge wins" reads.
        """
        with self.transaction() as db:
            db.execute("ALTER TABLE entries RENAME TO entries_v1")
            db.execute(_ENTRIES)
            db.execute(
                "INSERT INTO entries SELECT cycle, recipient, sheet, ref, "
                "json_group_object(field, json(value)), max(return_sha), max(merged_at) "
                "FROM (SELECT rowid AS n, * FROM entries_v1 ORDER BY n) "
                "GROUP BY cycle, recipient, sheet, ref ORDER BY min(n)"
            )
            db.execute("DROP TABLE entries_v1")
            db.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))

    def _audit_to_objects(self) -> None:
        """Schema 1 kept one audit row per field: fold the fields of one action changed by one
        return into one row, in one transaction. Ledgers before 1.1 kept plain text there."""
        value = "CASE WHEN {0} IS NULL THEN NULL WHEN json_valid({0}) THEN json({0}) ELSE json_quote({0}) END"
        with self.transaction() as db:
            db.execute("ALTER TABLE audit RENAME TO audit_v1")
            db.execute(_AUDIT)
            db.execute(
                "INSERT INTO audit (at, cycle, recipient, sheet, ref, changes, return_sha, file) "
                f"SELECT at, cycle, recipient, sheet, ref, json_group_object(field, json_array({value.format('old')}, "
                f"{value.format('new')})), return_sha, file FROM (SELECT * FROM audit_v1 ORDER BY id) "
                "GROUP BY at, cycle, recipient, sheet, ref, return_sha, file ORDER BY min(id)"
            )
            db.execute("DROP TABLE audit_v1")

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """All writes inside happen together or not at all."""
        self._latest.clear()  # whatever is written, cached reads may be stale
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise LedgerError(f"The ledger {self.path} is busy or locked: {exc}") from exc
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        else:
            self.db.execute("COMMIT")

    # --- cycles ------------------------------------------------------------

    def record_cycle(
        self, cycle: str, spg_date: date | None, deadline: date, issued: list[tuple[str, str, int]]
    ) -> None:
        now = _now()
        with self.transaction() as db:
            db.execute(
                "INSERT INTO cycles VALUES (?, ?, ?, ?) ON CONFLICT(cycle) DO UPDATE SET "
                "spg_date=excluded.spg_date, deadline=excluded.deadline, generated_at=excluded.generated_at",
                (cycle, spg_date.isoformat() if spg_date else None, deadline.isoformat(), now),
            )
            # Reissuing one workbook (generate --sponsor X) must not forget the others.
            db.executemany(
                "INSERT OR REPLACE INTO issued VALUES (?, ?, ?, ?, ?)",
                [(cycle, who, file, n, now) for who, file, n in issued],
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

    def issued(self, cycle: str) -> dict[str, tuple[str, int]]:
        rows = self.db.execute("SELECT recipient, file, items FROM issued WHERE cycle = ?", (cycle,))
        return {r[0]: (r[1], r[2]) for r in rows}

    # --- returns -----------------------------------------------------------

    def return_by_hash(self, sha256: str) -> dict[str, Any] | None:
        cur = self.db.execute("SELECT * FROM returns WHERE sha256 = ?", (sha256,))
        row = cur.fetchone()
        return dict(zip([d[0] for d in cur.description], row, strict=True)) if row else None

    def returns(self, cycle: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM returns" + (" WHERE cycle = ?" if cycle else "") + " ORDER BY received_at, file"
        cur = self.db.execute(sql, (cycle,) if cycle else ())
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur]

    # --- values ------------------------------------------------------------

    def entries(self, cycle: str, sheet: str) -> dict[tuple[str, str], dict[str, Any]]:
        """{(recipient, ref): {field: value}} merged for one cycle and sheet."""
        rows = self.db.execute(
            "SELECT recipient, ref, fields FROM entries WHERE cycle = ? AND sheet = ? ORDER BY rowid",
            (cycle, sheet),
        )
        return {(who, ref): decode_json(fields) for who, ref, fields in rows}

    def latest_by_ref(self, cycle: str, sheet: str) -> dict[str, dict[str, Any]]:
        """{ref: {field: value}} for one cycle, the most recently merged recipient winning.

        Joint sponsors both return a shared action; the later return is its status.
        Read once until the next write: gaps, summary and the master all ask for it, and
        at 50,000 actions each read costs most of a second. Callers must not modify it.
        """
        key = (cycle, sheet)
        if key not in self._latest:
            self._latest[key] = self._read_latest(cycle, sheet)
        return self._latest[key]

    def latest_before(self, cycle: str, sheet: str) -> dict[str, dict[str, Any]]:
        """`latest_by_ref` of the cycle before `cycle` ({} when it is the first)."""
        previous = self.previous_cycle(cycle)
        return self.latest_by_ref(previous, sheet) if previous else {}

    def _read_latest(self, cycle: str, sheet: str) -> dict[str, dict[str, Any]]:
        # rowid follows insertion, and each merge replaces a recipient's rows whole: the
        # recipient whose row for a ref came last is the one merged most recently.
        rows = self.db.execute(
            "SELECT ref, fields FROM entries WHERE cycle = ? AND sheet = ? ORDER BY rowid", (cycle, sheet)
        )
        return {ref: decode_json(fields) for ref, fields in rows}

    def history(self, sheet: str, field: str) -> dict[str, dict[str, Any]]:
        """{ref: {cycle: value}} of one field across all cycles (last merged wins)."""
        out: dict[str, dict[str, Any]] = {}
        rows = self.db.execute(  # json_extract in SQLite: no object is decoded in Python
            "SELECT ref, cycle, json_extract(fields, ?) FROM entries WHERE sheet = ? ORDER BY rowid",
            (f'$."{field}"', sheet),
        )
        for ref, cycle, value in rows:
            out.setdefault(ref, {})[cycle] = value
        return out

    def audit(self, cycle: str | None = None) -> list[dict[str, Any]]:
        """Every value changed, one record per field (id, at, cycle, recipient, sheet, ref,
        field, old, new, return_sha, file), oldest first."""
        sql = (
            "SELECT id, at, cycle, recipient, sheet, ref, changes, return_sha, file FROM audit"
            + (" WHERE cycle = ?" if cycle else "")
            + " ORDER BY id"
        )
        out = []
        for n, at, cyc, who, sheet, ref, changes, sha, file in self.db.execute(sql, (cycle,) if cycle else ()):
            for field, (old, new) in decode_json(changes).items():
                out.append(
                    {"id": n, "at": at, "cycle": cyc, "recipient": who, "sheet": sheet, "ref": ref,
                     "field": field, "old": old, "new": new, "return_sha": sha, "file": file}
                )  # fmt: skip
        return out

    def copy_to(self, path: Path) -> Ledger:
        """A private copy of the ledger (SQLite's backup API): for dry runs that change nothing."""
        copy = Ledger(path)
        self.db.backup(copy.db)
        return copy

    def counts(self) -> dict[str, int]:
        return {
            table: self.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("cycles", "issued", "returns", "entries", "audit")
        }


def _now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


now = _now  # the ledger's timestamps, for merge.py
