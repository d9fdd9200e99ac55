"""Problems in the program or its environment.

Bad *data* in a return is never an exception: it becomes an `Issue` in a `Report`.
These exceptions are for things the officer must fix before the tool can run at all;
only `cli.py` turns them into ``Error: ...`` and an exit code.
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
