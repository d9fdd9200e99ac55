"""Problems in the program or its environment.

Bad *data* in a return is never an exception: it becomes an `Issue` in a `Report`.
These exceptions are for things the officer must fix before the tool can run at all;
only `xlplan.cli` turns them into ``Error: ...`` and an exit code.
"""

from __future__ import annotations


class XlplanError(Exception):
    """Base class: the message is written for the planning officer."""

    exit_code = 1


class UsageError(XlplanError):
    """The command was asked for something it cannot do as given."""

    exit_code = 2


class PlanError(XlplanError):
    """The plan folder or plan.xlsx is missing or broken."""


class TemplateError(XlplanError):
    """A template spec in templates/ is malformed."""


class LedgerError(XlplanError):
    """The ledger database cannot be opened or written."""


class OutputError(XlplanError):
    """A file we write cannot be written (locked by Excel, read-only folder...)."""


class StorageError(XlplanError):
    """The disk or drive under the plan folder failed us: full, read-only, not allowed,
    a path too long, a file held by another program, a network drive gone."""


class DiskFullError(StorageError):
    """No space left where a file had to be written."""


class ReadOnlyError(StorageError):
    """The plan folder (or the ledger) cannot be written: a write command cannot run there."""


class BusyError(XlplanError):
    """Another xlplan command is writing to the plan folder (on this PC or another)."""


class LedgerLostError(LedgerError):
    """The ledger is missing, empty or unreadable in a folder that has history: restore a backup."""


class LedgerVersionError(LedgerError):
    """The ledger was written by a newer xlplan than this one."""
