"""The ledger's tables: the SQL that creates them, and the schema version they make."""

from __future__ import annotations

# 2: one row per (cycle, recipient, sheet, ref) in entries, and per change set in audit
# 3: removed_cycles, plan_versions, plan_changes, issued_plans; the xlplan version that last wrote the
#    ledger in meta; a rollback journal, not WAL
# 4: returns.email, the archived email a return was attached to (collected from a saved .eml or .msg)
SCHEMA_VERSION = 4
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
    file_mtime REAL,                -- the file's own modification time, for --prefer newest
    email TEXT                      -- the email it came attached to, archived (a relative path), or NULL
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
_PLAN = """
CREATE TABLE IF NOT EXISTS plan_versions (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    command TEXT NOT NULL,          -- generate | collect: the command that found it
    cycle TEXT NOT NULL,
    file_sha TEXT NOT NULL,         -- sha256 of plan.xlsx as read
    digest TEXT NOT NULL,           -- sha256 of `plan`: what the plan says, however the file was saved
    plan TEXT NOT NULL              -- JSON: settings, sponsors, items (the plan's own values), decisions
);
CREATE TABLE IF NOT EXISTS plan_changes (
    id INTEGER PRIMARY KEY,
    version INTEGER NOT NULL,       -- the plan_versions row that made the change
    kind TEXT NOT NULL,             -- e.g. action added, action moved, sponsor replaced, decision recorded
    sheet TEXT NOT NULL,            -- the sheet of plan.xlsx: Settings, Sponsors, Actions, Decisions
    ref TEXT NOT NULL,              -- the action's ref, the sponsor's name or the setting
    field TEXT NOT NULL,
    old TEXT,                       -- JSON
    new TEXT                        -- JSON
);
"""
_REMOVED = """
CREATE TABLE IF NOT EXISTS removed_cycles (
    id INTEGER PRIMARY KEY,
    removed_at TEXT NOT NULL,
    cycle TEXT NOT NULL,
    held TEXT NOT NULL              -- JSON: the cycle's row, its issued workbooks and its returns, as they were
);
"""
# What each recipient was sent: the plan as issued to them (each item's plan values, the group
# names), one row per workbook generated, so a return is checked against the workbook it answers.
_ISSUED_PLANS = """
CREATE TABLE IF NOT EXISTS issued_plans (
    cycle TEXT NOT NULL,
    recipient TEXT NOT NULL,
    generated_at TEXT NOT NULL,     -- as in the workbook's metadata
    items TEXT NOT NULL,            -- JSON object: ref -> {plan column: value}, in plan order
    groups TEXT NOT NULL,           -- JSON array: the group (Big Action) names, in plan order
    PRIMARY KEY (cycle, recipient, generated_at)
);
"""
