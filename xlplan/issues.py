"""Problems found in data: issues collected into a report, never raised.

Every issue names the file, sheet and cell, the value found and what to do about
it, in words a sponsor can act on.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Literal

Severity = Literal["error", "warning", "note"]


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
    code: str = ""  # a stable name for the kind of issue, for scripts and tests

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
        return cls(**{k: v for k, v in data.items() if k in _ISSUE_FIELDS})


_ISSUE_FIELDS = frozenset(f.name for f in fields(Issue))


@dataclass
class Report:
    """What was found in one file."""

    file: str
    issues: list[Issue] = field(default_factory=list)

    def add(self, severity: Severity, message: str, **where: Any) -> None:
        self.issues.append(Issue(file=self.file, severity=severity, message=message, **where))

    def error(self, message: str, **where: Any) -> None:
        self.add("error", message, **where)

    def warning(self, message: str, **where: Any) -> None:
        self.add("warning", message, **where)

    def note(self, message: str, **where: Any) -> None:
        self.add("note", message, **where)

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
