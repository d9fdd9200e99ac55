"""What every part of the `Ledger` stands on: its connection, transactions, reads remembered
until the next write, and the meta table (the ledger's state, and the state and cycle the
master tracker shows)."""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from typing import Any, TypeVar, cast

from xlplan.errors import XlplanError

T = TypeVar("T")


class LedgerBase:
    """The connection and its transactions; the `Ledger` opens the file (`xlplan.ledger`)."""

    db: sqlite3.Connection
    _memo: dict[Hashable, Any]

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

    def remembered(self, key: Hashable, make: Callable[[], T]) -> T:
        """`make()`, computed once until the next write. The gaps, the summary and the master
        all read the same standings, and at 50,000 actions each read of a cycle's entries
        costs most of a second. Callers must not modify what they get."""
        if key not in self._memo:
            self._memo[key] = make()
        return cast(T, self._memo[key])

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

    def forget_master_render(self) -> None:
        """The master tracker no longer shows this ledger (it was restored from a backup): the
        next collect renders it again."""
        with self._writing():
            self.db.execute("DELETE FROM meta WHERE key IN ('master_state', 'master_cycle')")

    def seal_key(self, *, create: bool) -> str | None:
        """The plan folder's key for sealing workbooks (`xlplan.seal`), made on first need when
        `create` (a command that writes). It stays in this table: never exported or reported."""
        key = self._meta("seal_key")
        if key is None and create:
            key = secrets.token_hex(32)  # 256 random bits
            with self._writing():
                self.db.execute("INSERT OR IGNORE INTO meta VALUES ('seal_key', ?)", (key,))
            key = self._meta("seal_key")
        return key

    def _set_meta(self, values: list[tuple[str, str]]) -> None:
        with self._writing():
            self.db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", values)


def now() -> str:
    """The ledger's timestamps: local time with its offset, to the second."""
    return datetime.now().astimezone().isoformat(timespec="seconds")
