"""The ledger's storage: a ledger written by an earlier xlplan opens, and reads the same."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from xlplan.errors import LedgerError
from xlplan.export import rows
from xlplan.issues import Issue
from xlplan.ledger import SCHEMA_VERSION, Ledger, ReturnRecord

# The tables as xlplan 0.1 (schema 1) created them: one entries row per field, no file_mtime.
SCHEMA_1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE cycles (cycle TEXT PRIMARY KEY, spg_date TEXT, deadline TEXT NOT NULL, generated_at TEXT NOT NULL);
CREATE TABLE returns (
    sha256 TEXT PRIMARY KEY, file TEXT NOT NULL, archived TEXT, recipient TEXT, cycle TEXT,
    received_at TEXT NOT NULL, outcome TEXT NOT NULL, errors INTEGER NOT NULL DEFAULT 0,
    warnings INTEGER NOT NULL DEFAULT 0, issues TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE entries (
    cycle TEXT NOT NULL, recipient TEXT NOT NULL, sheet TEXT NOT NULL, ref TEXT NOT NULL,
    field TEXT NOT NULL, value TEXT, return_sha TEXT NOT NULL, merged_at TEXT NOT NULL,
    PRIMARY KEY (cycle, recipient, sheet, ref, field)
);
CREATE TABLE audit (
    id INTEGER PRIMARY KEY, at TEXT NOT NULL, cycle TEXT NOT NULL, recipient TEXT NOT NULL,
    sheet TEXT NOT NULL, ref TEXT NOT NULL, field TEXT NOT NULL, old TEXT, new TEXT,
    return_sha TEXT NOT NULL, file TEXT NOT NULL
);
INSERT INTO meta VALUES ('schema_version', '1');
INSERT INTO cycles VALUES ('2025-Q2', NULL, '2025-06-01', '2025-05-01T09:00:00+01:00');
INSERT INTO cycles VALUES ('2025-Q3', NULL, '2025-09-01', '2025-08-01T09:00:00+01:00');
"""

ROWS_1 = [  # cycle, recipient, ref, field, value (JSON), sha
    ("2025-Q2", "Helen", "BA1.01", "rag", '"Amber"', "h2"),
    ("2025-Q2", "Helen", "BA1.01", "actual", "94.0", "h2"),
    ("2025-Q2", "Helen", "BA1.01", "comments", None, "h2"),
    ("2025-Q3", "Sharon", "BA1.01", "rag", '"Red"', "s3"),
    ("2025-Q3", "Sharon", "BA1.01", "revised_due", '"2026-03-31"', "s3"),
    # Helen (a joint sponsor) merged after Sharon: her status is the latest for BA1.01.
    ("2025-Q3", "Helen", "BA1.01", "rag", '"Green"', "h3"),
    ("2025-Q3", "Helen", "BA1.01", "progress", '"Caf\\u00e9 opened"', "h3"),
]


AUDIT_1 = [  # at, recipient, ref, field, old, new (JSON; before 1.1, plain text), sha
    ("2025-09-01T10:00", "Helen", "BA1.01", "rag", '"Amber"', '"Green"', "h3"),
    ("2025-09-01T10:00", "Helen", "BA1.01", "progress", None, '"Caf\u00e9 opened"', "h3"),
    ("2025-09-01T10:00", "Helen", "BA1.02", "actual", "94.0", "101.0", "h3"),
    ("2025-09-02T09:00", "Sharon", "BA1.01", "rag", "Green", "Red", "s3"),  # plain text, as 1.0 kept it
]


def make_schema_1(path: Path) -> None:
    db = sqlite3.connect(path)
    db.executescript(SCHEMA_1)
    db.executemany(
        "INSERT INTO audit (at, cycle, recipient, sheet, ref, field, old, new, return_sha, file) "
        "VALUES (?, '2025-Q3', ?, 'Actions', ?, ?, ?, ?, ?, 'f.xlsx')",
        AUDIT_1,
    )
    db.executemany(
        "INSERT INTO entries VALUES (?, ?, 'Actions', ?, ?, ?, ?, '2025-09-01T10:00:00+01:00')",
        [(c, who, ref, f, v, sha) for c, who, ref, f, v, sha in ROWS_1],
    )
    db.commit()
    db.close()


def test_a_schema_1_ledger_is_migrated_in_place_and_reads_the_same(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    make_schema_1(path)
    with Ledger(path) as ledger:
        assert ledger.entries("2025-Q2", "Actions") == {
            ("Helen", "BA1.01"): {"rag": "Amber", "actual": 94.0, "comments": None}
        }
        assert ledger.entries("2025-Q3", "Actions") == {
            ("Sharon", "BA1.01"): {"rag": "Red", "revised_due": "2026-03-31"},
            ("Helen", "BA1.01"): {"rag": "Green", "progress": "Café opened"},
        }
        # Every sponsor's status, in the order merged (first rowid): Sharon's before Helen's.
        assert ledger.statuses("Actions", "rag") == [
            ("2025-Q2", "Helen", "BA1.01", "Amber"),
            ("2025-Q3", "Sharon", "BA1.01", "Red"),
            ("2025-Q3", "Helen", "BA1.01", "Green"),
        ]
        assert ledger.previous_cycle("2025-Q3") == "2025-Q2"
        version = ledger.db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0]
        assert version == str(SCHEMA_VERSION) == "4"
        columns = {r[1] for r in ledger.db.execute("PRAGMA table_info(returns)")}
        assert "file_mtime" in columns
        tables = {r[0] for r in ledger.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert "entries_v1" not in tables
        # The export still gives one record per field, with its return.
        exported = [(r["recipient"], r["field"], r["value"], r["return_sha"]) for r in rows(ledger, "entries")]
        assert ("Helen", "actual", 94.0, "h2") in exported and ("Sharon", "revised_due", "2026-03-31", "s3") in exported
        assert len(exported) == len(ROWS_1)
        # The audit trail: one row per action and return now, one record per field as before.
        assert [(a.id, a.recipient, a.ref, a.field, a.old, a.new) for a in ledger.audit()] == [
            (1, "Helen", "BA1.01", "rag", "Amber", "Green"),
            (1, "Helen", "BA1.01", "progress", None, "Café opened"),
            (2, "Helen", "BA1.02", "actual", 94.0, 101.0),
            (3, "Sharon", "BA1.01", "rag", "Green", "Red"),
        ]
        exported = rows(ledger, "audit", "2025-Q3")
        assert [(a["field"], a["new"], a["return_sha"], a["file"]) for a in exported][-1] == (
            "rag",
            "Red",
            "s3",
            "f.xlsx",
        )
    # Opening it again changes nothing more.
    with Ledger(path) as ledger:
        assert ledger.counts()["entries"] == 3 and ledger.counts()["audit"] == 3


def test_a_ledger_that_cannot_be_migrated_is_left_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    make_schema_1(path)
    db = sqlite3.connect(path)
    db.execute("UPDATE entries SET value = 'not json' WHERE field = 'actual'")
    db.commit()
    db.close()
    with pytest.raises(LedgerError, match="Cannot open the ledger"):
        Ledger(path)
    db = sqlite3.connect(path)
    assert db.execute("SELECT count(*) FROM entries WHERE field = 'actual'").fetchone()[0] == 1
    db.close()


# --- the operations: what merge, collect and the tests ask of the ledger ----------------

SHA = "a" * 64
WARNING = Issue("helen.xlsx", "warning", "Late", sheet="Actions", cell="K5", ref="BA1.01", code="overdue")


def test_a_return_comes_back_typed_with_its_issues(tmp_path: Path) -> None:
    ret = ReturnRecord(
        SHA, "helen.xlsx", "Helen", "2025-Q3", "2025-09-01T10:00:00+01:00", "merged", "", 0, 1, (WARNING,)
    )
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        ledger.record_return(ret)
        assert ledger.return_by_hash(SHA) == ret and ledger.returns("2025-Q3") == [ret]
        assert ledger.return_by_hash("b" * 64) is None
        # Exported as the table's columns, issues as the JSON they are stored as.
        assert list(ret.as_dict()) == [
            "sha256", "file", "archived", "recipient", "cycle", "received_at",
            "outcome", "errors", "warnings", "issues", "file_mtime", "email",
        ]  # fmt: skip
        assert ret.as_dict()["issues"] == [WARNING.as_dict()]


def test_writes_inside_a_transaction_are_undone_together(tmp_path: Path) -> None:
    ret = ReturnRecord(SHA, "helen.xlsx", "Helen", "2025-Q3", "2025-09-01T10:00:00+01:00", "merged")
    rows = {("Actions", "BA1.01"): {"rag": "Green"}}
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        with pytest.raises(RuntimeError), ledger.transaction():
            ledger.record_return(ret)
            ledger.replace_entries("2025-Q3", "Helen", rows, return_sha=SHA, file="helen.xlsx", at="t")
            ledger.bump_state()
            raise RuntimeError("crash")
        assert ledger.counts() == dict.fromkeys(("cycles", "issued", "returns", "entries", "audit"), 0)
        assert ledger.state() is None
        # Alone, each write is a transaction of its own.
        changes = {("Actions", "BA1.01"): {"rag": [None, "Green"]}}
        ledger.replace_entries("2025-Q3", "Helen", rows, return_sha=SHA, file="helen.xlsx", at="t", changes=changes)
        assert ledger.entries_of("2025-Q3", "Helen") == rows == ledger.values_of_cycle("2025-Q3")
        (change,) = ledger.audit()
        assert (change.ref, change.field, change.old, change.new, change.file) == (
            "BA1.01",
            "rag",
            None,
            "Green",
            "helen.xlsx",
        )


def test_the_master_state_follows_the_ledger_state(tmp_path: Path) -> None:
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        assert (ledger.state(), ledger.master_state()) == (None, None)
        ledger.bump_state()
        ledger.bump_state()
        ledger.mark_master_rendered("1")
        assert (ledger.state(), ledger.master_state()) == ("2", "1")
