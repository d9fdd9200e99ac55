"""Problems found in data: issues collected into a report, never raised.

Every issue names the file, sheet and cell, the value found and what to do about
it, in words a sponsor can act on, and its kind: a `Code` from the catalogue in
xlplan/codes.py.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields
from typing import Any

from xlplan.codes import Code, Severity

__all__ = ["Code", "Issue", "Report", "Severity"]


@dataclass(frozen=True)
class Issue:
    file: str
    severity: Severity
    message: str
    sheet: str = ""
    cell: str = ""  # "J7"; with sheet it reads Actions!J7
    ref: str = ""
    field: str = ""
    value: str = ""
    recipient: str = ""
    # The kind of issue (xlplan/codes.py), for scripts and tests. An issue read back from the
    # ledger keeps, as text, a code this version does not know. (`field` is a field name here.)
    code: Code | str = dataclasses.field(kw_only=True)

    @property
    def where(self) -> str:
        if self.sheet and self.cell:
            return f"{self.sheet}!{self.cell}"
        return self.sheet

    def as_dict(self) -> dict[str, Any]:
        # Not dataclasses.asdict: it deep-copies every field, and a national run has tens of thousands.
        return {f.name: getattr(self, f.name) for f in fields(self)} | {"where": self.where}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Issue:
        """The issue `as_dict` gave (`where` is worked out again, as are fields it lacks)."""
        known = {k: v for k, v in data.items() if k in _ISSUE_FIELDS}
        return cls(**known | {"code": _code(known.get("code", ""))})


_ISSUE_FIELDS = frozenset(f.name for f in fields(Issue))
_CODES: dict[str, Code] = {c.value: c for c in Code}


def _code(text: str) -> Code | str:
    """The catalogue's `Code` for a code read as text; the text itself if it is not one."""
    return _CODES.get(text, text)


@dataclass
class Report:
    """What was found in one file."""

    file: str
    issues: list[Issue] = field(default_factory=list)

    def add(self, severity: Severity, message: str, *, code: Code, **where: Any) -> None:
        self.issues.append(Issue(file=self.file, severity=severity, message=message, code=code, **where))

    def error(self, message: str, *, code: Code, **where: Any) -> None:
        self.add("error", message, code=code, **where)

    def warning(self, message: str, *, code: Code, **where: Any) -> None:
        self.add("warning", message, code=code, **where)

    def note(self, message: str, *, code: Code, **where: Any) -> None:
        self.add("note", message, code=code, **where)

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "warning"]

    @property
    def notes(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "note"]

    @property
    def valid(self) -> bool:
        return not self.errors
